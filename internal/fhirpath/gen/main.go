// Command gen writes the element type table of package fhirpath from the
// R4 StructureDefinitions (profiles-resources.json.gz and
// profiles-types.json.gz of the hl7.fhir.r4.examples 4.0.1 package).
//
//	go run ./internal/fhirpath/gen -defs /work/shared/refs/fhir/r4-definitions -out internal/fhirpath/types.txt.gz
//
// The table is gzip-compressed text, one fact per line:
//
//	^Age Quantity                        Age derives from Quantity
//	^Resource                            a type without a base
//	Observation.code CodeableConcept     the type of an element
//	Observation.value[x] Quantity|string choice element and its types
//	Questionnaire.item.item #Questionnaire.item  content reference
//
// Only the elements a type defines itself are listed; inherited ones are
// found through the ^ lines.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

type bundle struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type structureDefinition struct {
	ResourceType   string `json:"resourceType"`
	Kind           string `json:"kind"`
	Type           string `json:"type"`
	Derivation     string `json:"derivation"`
	BaseDefinition string `json:"baseDefinition"`
	Snapshot       struct {
		Element []element `json:"element"`
	} `json:"snapshot"`
}

type element struct {
	Path             string `json:"path"`
	ContentReference string `json:"contentReference"`
	Base             struct {
		Path string `json:"path"`
	} `json:"base"`
	Type []struct {
		Code      string `json:"code"`
		Extension []struct {
			URL      string `json:"url"`
			ValueURL string `json:"valueUrl"`
		} `json:"extension"`
	} `json:"type"`
}

func main() {
	defs := flag.String("defs", "/work/shared/refs/fhir/r4-definitions", "folder with profiles-*.json.gz")
	out := flag.String("out", "internal/fhirpath/types.txt.gz", "table to write")
	flag.Parse()
	var lines []string
	for _, f := range []string{"profiles-types.json.gz", "profiles-resources.json.gz"} {
		l, err := table(filepath.Join(*defs, f))
		if err != nil {
			log.Fatal(err)
		}
		lines = append(lines, l...)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d lines, %d bytes\n", len(lines), buf.Len())
}

func table(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var b bundle
	if err := json.NewDecoder(zr).Decode(&b); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var lines []string
	for _, e := range b.Entry {
		var sd structureDefinition
		if !bytes.Contains(e.Resource[:min(len(e.Resource), 64)], []byte(`"StructureDefinition"`)) {
			continue
		}
		if err := json.Unmarshal(e.Resource, &sd); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if sd.ResourceType != "StructureDefinition" || sd.Kind == "logical" || sd.Derivation == "constraint" {
			continue
		}
		base := sd.BaseDefinition[strings.LastIndexByte(sd.BaseDefinition, '/')+1:]
		lines = append(lines, "^"+sd.Type+" "+base)
		if sd.Kind == "primitive-type" {
			continue
		}
		for _, el := range sd.Snapshot.Element {
			own, _, _ := strings.Cut(el.Base.Path, ".")
			if !strings.Contains(el.Path, ".") || own != sd.Type {
				continue
			}
			if el.ContentReference != "" {
				lines = append(lines, el.Path+" "+el.ContentReference)
				continue
			}
			var types []string
			for _, t := range el.Type {
				code := t.Code
				for _, x := range t.Extension {
					if strings.HasSuffix(x.URL, "structuredefinition-fhir-type") {
						code = x.ValueURL
					}
				}
				types = append(types, code)
			}
			if len(types) > 0 {
				lines = append(lines, el.Path+" "+strings.Join(types, "|"))
			}
		}
	}
	return lines, nil
}
