// Command gen reduces the official FHIR R4 SearchParameter Bundle and the
// Patient CompartmentDefinition (plus the resource type names from the
// resource StructureDefinitions) to the fields package search needs, and
// writes them as one gzipped JSON file (r4.json.gz) that the package embeds.
//
// Run from internal/search:
//
//	go run ./gen -defs ../../../shared/refs/fhir/r4-definitions -out r4.json.gz
//
// The output is deterministic (sorted, no gzip timestamp), so a rerun on the
// same input gives the same bytes.
package main

import (
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// param is one SearchParameter reduced to what search uses.
type param struct {
	URL         string      `json:"url"`
	Code        string      `json:"code"`
	Base        []string    `json:"base"`
	Type        string      `json:"type"`
	Expression  string      `json:"expression,omitempty"`
	Target      []string    `json:"target,omitempty"`
	Component   []component `json:"component,omitempty"`
	Description string      `json:"description,omitempty"`
}

type component struct {
	Definition string `json:"definition"`
	Expression string `json:"expression"`
}

// file is the embedded document.
type file struct {
	Source      string              `json:"source"`
	Params      []param             `json:"params"`
	Compartment map[string][]string `json:"patientCompartment"`
	// Types lists the concrete resource types; Domain says whether each
	// derives from DomainResource (all but Binary, Bundle and Parameters).
	Types map[string]bool `json:"resourceTypes"`
}

func main() {
	defs := flag.String("defs", "../../../shared/refs/fhir/r4-definitions", "folder with search-parameters.json.gz, CompartmentDefinition-patient.json.gz and profiles-resources.json.gz")
	out := flag.String("out", "r4.json.gz", "output file")
	flag.Parse()
	if err := run(*defs, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(defs, out string) error {
	var bundle struct {
		Entry []struct {
			Resource param `json:"resource"`
		} `json:"entry"`
	}
	if err := readGzipJSON(filepath.Join(defs, "search-parameters.json.gz"), &bundle); err != nil {
		return err
	}
	var comp struct {
		Resource []struct {
			Code  string   `json:"code"`
			Param []string `json:"param"`
		} `json:"resource"`
	}
	if err := readGzipJSON(filepath.Join(defs, "CompartmentDefinition-patient.json.gz"), &comp); err != nil {
		return err
	}
	var profiles struct {
		Entry []struct {
			Resource struct {
				ResourceType   string `json:"resourceType"`
				Name           string `json:"name"`
				Kind           string `json:"kind"`
				Abstract       bool   `json:"abstract"`
				BaseDefinition string `json:"baseDefinition"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := readGzipJSON(filepath.Join(defs, "profiles-resources.json.gz"), &profiles); err != nil {
		return err
	}
	f := file{
		Source:      "npm package hl7.fhir.r4.examples@4.0.1 (tarball sha1 537ea7db3f3c7b3575fe2eaa7808bad21261cca3), files search-parameters.json, CompartmentDefinition-patient.json and profiles-resources.json (resource type names); CC0-1.0",
		Compartment: map[string][]string{},
		Types:       map[string]bool{},
	}
	for _, e := range profiles.Entry {
		r := e.Resource
		if r.ResourceType == "StructureDefinition" && r.Kind == "resource" && !r.Abstract {
			f.Types[r.Name] = r.BaseDefinition == "http://hl7.org/fhir/StructureDefinition/DomainResource"
		}
	}
	for _, e := range bundle.Entry {
		f.Params = append(f.Params, e.Resource)
	}
	sort.Slice(f.Params, func(i, j int) bool { return f.Params[i].URL < f.Params[j].URL })
	for _, r := range comp.Resource {
		if len(r.Param) > 0 {
			f.Compartment[r.Code] = r.Param
		}
	}
	data, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return w.Close()
}

func readGzipJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
