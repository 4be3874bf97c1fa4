package fhirpath

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Node is one item of an evaluation result.
//
// Value is what the JSON tree holds at that place (map[string]any for a
// complex element or resource, string, bool or json.Number for a primitive),
// or for values computed by the expression: string, bool, json.Number,
// Quantity. Type is the FHIR type name when known ("Quantity", "dateTime",
// "Reference", "string", "Patient", "BackboneElement"...), or the FHIRPath
// system type for computed values ("boolean", "integer", "decimal", "string",
// "date", "dateTime", "time", "Quantity"); "" when unknown.
type Node struct {
	Value any
	Type  string
}

// Quantity is a FHIRPath quantity literal or computed quantity: a decimal
// value and a UCUM unit or calendar duration keyword ("year", "day"...).
type Quantity struct {
	Value string
	Unit  string
}

// item is a Node plus the key under which its children are found in the
// type table (a type name, or an element path for backbone elements).
type item struct {
	v   any
	typ string
	def string
}

func (it item) node() Node { return Node{Value: it.v, Type: it.typ} }

// number returns the JSON number for a literal's text.
func number(s string) json.Number { return json.Number(s) }

// env is the evaluation environment.
type env struct {
	root  item
	this  *item
	index int
	total []item
}

// Evaluate runs the expression with root (a resource as a generic JSON tree)
// as both the input and %resource.
func (e *Expr) Evaluate(root map[string]any) ([]Node, error) {
	rt, _ := root["resourceType"].(string)
	r := item{v: root, typ: rt}
	out, err := e.root.eval(&env{root: r, this: &r}, []item{r})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	nodes := make([]Node, len(out))
	for i, it := range out {
		nodes[i] = it.node()
	}
	return nodes, nil
}

type node interface {
	eval(e *env, focus []item) ([]item, error)
}

type literalNode struct{ it item }

func (n *literalNode) eval(*env, []item) ([]item, error) { return []item{n.it}, nil }

type emptyNode struct{}

func (*emptyNode) eval(*env, []item) ([]item, error) { return nil, nil }

type varNode struct{ name string }

func (n *varNode) eval(e *env, focus []item) ([]item, error) {
	switch n.name {
	case "this":
		if e.this == nil {
			return focus, nil
		}
		return []item{*e.this}, nil
	case "index":
		return []item{{v: number(fmt.Sprint(e.index)), typ: "integer"}}, nil
	default:
		return e.total, nil
	}
}

type constNode struct{ name string }

func (n *constNode) eval(e *env, _ []item) ([]item, error) {
	switch n.name {
	case "resource", "context", "rootResource":
		return []item{e.root}, nil
	case "ucum":
		return []item{{v: "http://unitsofmeasure.org", typ: "string"}}, nil
	case "sct":
		return []item{{v: "http://snomed.info/sct", typ: "string"}}, nil
	case "loinc":
		return []item{{v: "http://loinc.org", typ: "string"}}, nil
	}
	if s, ok := strings.CutPrefix(n.name, "vs-"); ok {
		return []item{{v: "http://hl7.org/fhir/ValueSet/" + s, typ: "string"}}, nil
	}
	if s, ok := strings.CutPrefix(n.name, "ext-"); ok {
		return []item{{v: "http://hl7.org/fhir/StructureDefinition/" + s, typ: "string"}}, nil
	}
	return nil, fmt.Errorf("fhirpath: unknown constant %%%s", n.name)
}

// pathNode is l.r: r is evaluated with the result of l as its focus.
type pathNode struct{ l, r node }

func (n *pathNode) eval(e *env, focus []item) ([]item, error) {
	in, err := n.l.eval(e, focus)
	if err != nil {
		return nil, err
	}
	return n.r.eval(e, in)
}

// memberNode navigates to the children called name of every focus item.
// At the start of a path a type name selects the items of that type
// ("Observation.code").
type memberNode struct{ name string }

func (n *memberNode) eval(_ *env, focus []item) ([]item, error) {
	var out []item
	for _, it := range focus {
		before := len(out)
		out = children(out, it, n.name)
		if len(out) == before && isTypeName(n.name) && isType(it, n.name) {
			out = append(out, it)
		}
	}
	return out, nil
}

type indexNode struct{ x, index node }

func (n *indexNode) eval(e *env, focus []item) ([]item, error) {
	xs, err := n.x.eval(e, focus)
	if err != nil {
		return nil, err
	}
	idx, err := n.index.eval(e, focus)
	if err != nil {
		return nil, err
	}
	i, ok, err := singletonInt(idx)
	if err != nil || !ok {
		return nil, err
	}
	if i < 0 || i >= len(xs) {
		return nil, nil
	}
	return xs[i : i+1], nil
}

type negNode struct{ x node }

func (n *negNode) eval(e *env, focus []item) ([]item, error) {
	xs, err := n.x.eval(e, focus)
	if err != nil || len(xs) == 0 {
		return nil, err
	}
	if len(xs) > 1 {
		return nil, fmt.Errorf("fhirpath: unary minus on a collection")
	}
	return arith("*", xs[0], item{v: number("-1"), typ: "integer"})
}

// typeOpNode is "x is T" or "x as T".
type typeOpNode struct {
	op  string
	x   node
	typ string
}

func (n *typeOpNode) eval(e *env, focus []item) ([]item, error) {
	xs, err := n.x.eval(e, focus)
	if err != nil {
		return nil, err
	}
	if n.op == "as" {
		// R4 search parameters apply "as" to collections
		// (useContext.value as Quantity), so it filters like ofType.
		return ofType(xs, n.typ), nil
	}
	if len(xs) == 0 {
		return nil, nil
	}
	if len(xs) > 1 {
		return nil, fmt.Errorf("fhirpath: 'is' on a collection of %d items", len(xs))
	}
	return boolean(isType(xs[0], n.typ)), nil
}

func ofType(xs []item, typ string) []item {
	var out []item
	for _, it := range xs {
		if isType(it, typ) {
			out = append(out, it)
		}
	}
	return out
}

func boolean(b bool) []item { return []item{{v: b, typ: "boolean"}} }

// children appends to out the children called name of it.
func children(out []item, it item, name string) []item {
	m, ok := it.v.(map[string]any)
	if !ok {
		return out
	}
	def := it.def
	if def == "" {
		def = it.typ
	}
	if v, ok := m[name]; ok {
		typ, cdef := elementType(def, name)
		return appendValues(out, v, typ, cdef)
	}
	// A choice element: value -> valueQuantity, valueString...
	if choices := choiceTypes(def, name); choices != nil {
		for _, t := range choices {
			if v, ok := m[name+upperFirst(t)]; ok {
				out = appendValues(out, v, t, "")
			}
		}
		return out
	}
	if def != "" && knownDef(def) {
		return out
	}
	for k, v := range m {
		if len(k) > len(name) && strings.HasPrefix(k, name) && k[len(name)] >= 'A' && k[len(name)] <= 'Z' {
			out = appendValues(out, v, suffixType(k[len(name):]), "")
		}
	}
	return out
}

func appendValues(out []item, v any, typ, def string) []item {
	switch v := v.(type) {
	case nil:
	case []any:
		for _, x := range v {
			out = appendValues(out, x, typ, def)
		}
	case map[string]any:
		if rt, ok := v["resourceType"].(string); ok {
			typ, def = rt, ""
		}
		out = append(out, item{v: v, typ: typ, def: def})
	default:
		out = append(out, item{v: v, typ: typ, def: def})
	}
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// suffixType gives the type named by a choice element's suffix
// ("Quantity", "String" -> "string", "DateTime" -> "dateTime").
func suffixType(s string) string {
	l := strings.ToLower(s[:1]) + s[1:]
	if isPrimitive(l) {
		return l
	}
	return s
}

func isTypeName(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }

// isType reports whether it is of type t or a type derived from it. t may be
// qualified with FHIR. or System.
func isType(it item, t string) bool {
	if s, ok := strings.CutPrefix(t, "System."); ok {
		return isSystemType(it, s)
	}
	t = strings.TrimPrefix(t, "FHIR.")
	for typ := it.typ; typ != ""; typ = baseType(typ) {
		if typ == t {
			return true
		}
	}
	if it.typ == "" {
		return isSystemType(it, t) || isSystemType(it, upperFirst(t))
	}
	return false
}

// isSystemType reports whether it is a FHIRPath system value of type t
// (Boolean, String, Integer, Decimal, Date, DateTime, Time, Quantity).
func isSystemType(it item, t string) bool {
	switch t {
	case "Boolean":
		_, ok := it.v.(bool)
		return ok && it.typ == "boolean"
	case "String":
		_, ok := it.v.(string)
		return ok && it.typ == "string"
	case "Integer", "Decimal", "Date", "DateTime", "Time":
		return it.typ == strings.ToLower(t[:1])+t[1:]
	case "Quantity":
		_, ok := it.v.(Quantity)
		return ok
	}
	return false
}
