package fhirpath

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"strings"
	"sync"
)

// typesGz is the element type table written by gen/ from the R4
// StructureDefinitions; see gen/main.go for its format.
//
//go:embed types.txt.gz
var typesGz []byte

// typeTable is the parsed table: element path -> type(s), type -> base type.
type typeTable struct {
	elems map[string]string
	base  map[string]string
}

// table parses the embedded table on first use; the result is never
// modified afterwards.
var table = sync.OnceValue(func() *typeTable {
	t := &typeTable{elems: make(map[string]string, 5000), base: make(map[string]string, 256)}
	zr, err := gzip.NewReader(bytes.NewReader(typesGz))
	if err != nil {
		panic("fhirpath: corrupt embedded type table: " + err.Error())
	}
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		if name, ok := strings.CutPrefix(k, "^"); ok {
			t.base[name] = v
		} else {
			t.elems[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		panic("fhirpath: corrupt embedded type table: " + err.Error())
	}
	return t
})

// lookup finds key def.name, walking up from a backbone element to
// BackboneElement and from a type to its base types.
func (t *typeTable) lookup(def, name string) (path, typ string, ok bool) {
	for d := def; d != ""; {
		p := d + "." + name
		if v, ok := t.elems[p]; ok {
			return p, v, true
		}
		if strings.Contains(d, ".") {
			d = t.elems[d]
			if strings.HasPrefix(d, "#") {
				d = "BackboneElement"
			}
		} else {
			d = t.base[d]
		}
	}
	return "", "", false
}

// elementType gives the type of element name of a value whose type-table
// key is def, and the key under which its own children are found ("" when
// it is the type itself).
func elementType(def, name string) (typ, childDef string) {
	if def == "" {
		return "", ""
	}
	p, v, ok := table().lookup(def, name)
	switch {
	case !ok:
		return "", ""
	case strings.HasPrefix(v, "#"):
		return "BackboneElement", v[1:]
	case v == "BackboneElement" || v == "Element":
		return v, p
	case strings.Contains(v, "|"):
		return "", ""
	}
	return v, ""
}

// choiceTypes lists the types of the choice element name[x], or nil.
func choiceTypes(def, name string) []string {
	if def == "" {
		return nil
	}
	if _, v, ok := table().lookup(def, name+"[x]"); ok {
		return strings.Split(v, "|")
	}
	return nil
}

// knownDef reports whether def is in the type table, so that a missing
// element is known to be absent rather than unknown.
func knownDef(def string) bool {
	t := table()
	if strings.Contains(def, ".") {
		_, ok := t.elems[def]
		return ok
	}
	_, ok := t.base[def]
	return ok
}

// hasType reports whether t is a FHIR type (data type or resource).
func hasType(t string) bool {
	_, ok := table().base[t]
	return ok
}

// baseType gives the parent of a type ("Age" -> "Quantity", "Patient" ->
// "DomainResource"), or "".
func baseType(t string) string { return table().base[t] }

var primitives = map[string]bool{
	"boolean": true, "integer": true, "string": true, "decimal": true, "uri": true, "url": true,
	"canonical": true, "base64Binary": true, "instant": true, "date": true, "dateTime": true,
	"time": true, "code": true, "oid": true, "id": true, "markdown": true, "unsignedInt": true,
	"positiveInt": true, "uuid": true, "xhtml": true,
}

func isPrimitive(t string) bool { return primitives[t] }
