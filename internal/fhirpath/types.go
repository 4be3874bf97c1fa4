package fhirpath

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"strings"
	"sync"
)

//go:generate go run ./gen -out types.txt.gz

// typesGz is the element type table written by gen/ from the R4
// StructureDefinitions; see gen/main.go for its format.
//
//go:embed types.txt.gz
var typesGz []byte

// typeTable is the parsed table.
type typeTable struct {
	elems    map[elemKey]elemInfo // (type or backbone path, element name) -> element
	backbone map[string]string    // backbone element path -> BackboneElement or Element
	base     map[string]string    // type -> base type ("" for none)
}

type elemKey struct{ def, name string }

type elemInfo struct {
	typ      string   // type name; "" for a choice element
	childDef string   // key of its children when not typ (backbone elements)
	choices  []choice // the forms of a choice element name[x]
}

// choice is one type of a choice element and its JSON keys (valueQuantity,
// _valueQuantity).
type choice struct{ typ, key, ext string }

// table parses the embedded table on first use; the result is never
// modified afterwards.
var table = sync.OnceValue(func() *typeTable {
	t := &typeTable{
		elems:    make(map[elemKey]elemInfo, 5000),
		backbone: make(map[string]string, 500),
		base:     make(map[string]string, 256),
	}
	zr, err := gzip.NewReader(bytes.NewReader(typesGz))
	if err != nil {
		panic("fhirpath: corrupt embedded type table: " + err.Error())
	}
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		path, v, _ := strings.Cut(sc.Text(), " ")
		if name, ok := strings.CutPrefix(path, "^"); ok {
			t.base[name] = v
			continue
		}
		i := strings.LastIndexByte(path, '.')
		k := elemKey{path[:i], path[i+1:]}
		switch {
		case strings.HasSuffix(k.name, "[x]"):
			k.name = strings.TrimSuffix(k.name, "[x]")
			var cs []choice
			for _, typ := range strings.Split(v, "|") {
				key := k.name + upperFirst(typ)
				cs = append(cs, choice{typ, key, "_" + key})
			}
			t.elems[k] = elemInfo{choices: cs}
		case strings.HasPrefix(v, "#"):
			t.elems[k] = elemInfo{typ: "BackboneElement", childDef: v[1:]}
			t.backbone[path] = "BackboneElement"
		case v == "BackboneElement" || v == "Element":
			t.elems[k] = elemInfo{typ: v, childDef: path}
			t.backbone[path] = v
		default:
			t.elems[k] = elemInfo{typ: v}
		}
	}
	if err := sc.Err(); err != nil {
		panic("fhirpath: corrupt embedded type table: " + err.Error())
	}
	return t
})

// lookup finds element name of def (a type or backbone path), walking up
// from a backbone element to BackboneElement and from a type to its bases.
func (t *typeTable) lookup(def, name string) (elemInfo, bool) {
	for d := def; d != ""; {
		if e, ok := t.elems[elemKey{d, name}]; ok {
			return e, true
		}
		if b, ok := t.backbone[d]; ok {
			d = b
		} else {
			d = t.base[d]
		}
	}
	return elemInfo{}, false
}

// elementType gives the type of element name of a value whose type-table
// key is def, and the key under which its own children are found ("" when
// it is the type itself). Choice elements give "".
func elementType(def, name string) (typ, childDef string) {
	e, _ := table().lookup(def, name)
	return e.typ, e.childDef
}

// knownDef reports whether def is in the type table, so that a missing
// element is known to be absent rather than unknown.
func knownDef(def string) bool {
	t := table()
	_, ok := t.backbone[def]
	if !ok {
		_, ok = t.base[def]
	}
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
