package fhirpath

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Node is one item of an evaluation result.
//
// Value is what the JSON tree holds at that place: map[string]any for a
// complex element or resource; string, bool or json.Number for a primitive;
// nil for a primitive that has only an id or extensions ("_given" in JSON).
// Values computed by the expression are string, bool, json.Number or
// Quantity.
//
// Type is the FHIR type name of an element when known ("Quantity",
// "dateTime", "Reference", "string", "code", "Patient", "BackboneElement"...;
// a choice element's type comes from its suffix: valueQuantity is
// "Quantity", valueString "string"), or the FHIRPath system type of a
// computed value ("System.Boolean", "System.String", "System.Integer",
// "System.Decimal", "System.Date", "System.DateTime", "System.Time",
// "System.Quantity"), or "" when unknown.
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

// The FHIRPath system types of computed values.
const (
	tBool     = "System.Boolean"
	tString   = "System.String"
	tInt      = "System.Integer"
	tDec      = "System.Decimal"
	tDate     = "System.Date"
	tDateTime = "System.DateTime"
	tTime     = "System.Time"
	tQuantity = "System.Quantity"
)

// item is a Node plus what navigation needs: the key under which its
// children are found in the type table (a type name, or an element path for
// backbone elements), and for a primitive the JSON "_name" object holding
// its id and extensions.
type item struct {
	v   any
	typ string
	def string
	ext map[string]any
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
	now   *time.Time // shared by the whole evaluation; zero until now() needs it
}

// thisFocus is the input of a function argument that is evaluated once:
// the current $this (the root at the top level).
func (e *env) thisFocus() []item {
	if e.this == nil || e.this.v == nil && e.this.ext == nil {
		return nil
	}
	return []item{*e.this}
}

// with returns a copy of e for evaluating an argument on one item.
func (e *env) with(this *item, index int, total []item) *env {
	return &env{root: e.root, this: this, index: index, total: total, now: e.now}
}

// Evaluate runs the expression with root (a resource as a generic JSON tree)
// as both the input and %resource. now() and today() use the current time.
func (e *Expr) Evaluate(root map[string]any) ([]Node, error) {
	return e.EvaluateAt(root, time.Time{})
}

// EvaluateAt is Evaluate with the time that now(), today() and
// timeOfDay() return; the zero time means the current time.
func (e *Expr) EvaluateAt(root map[string]any, now time.Time) ([]Node, error) {
	var in []item
	r := item{}
	if root != nil {
		rt, _ := root["resourceType"].(string)
		r = item{v: root, typ: rt}
		in = []item{r}
	}
	out, err := e.root.eval(&env{root: r, this: &r, now: &now}, in)
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

func (n *varNode) eval(e *env, _ []item) ([]item, error) {
	switch n.name {
	case "this":
		return e.thisFocus(), nil
	case "index":
		return intItem(e.index), nil
	default:
		return e.total, nil
	}
}

type constNode struct{ name string }

func (n *constNode) eval(e *env, _ []item) ([]item, error) {
	switch n.name {
	case "resource", "context", "rootResource":
		if e.root.v == nil {
			return nil, nil
		}
		return []item{e.root}, nil
	case "ucum":
		return []item{{v: "http://unitsofmeasure.org", typ: tString}}, nil
	case "sct":
		return []item{{v: "http://snomed.info/sct", typ: tString}}, nil
	case "loinc":
		return []item{{v: "http://loinc.org", typ: tString}}, nil
	}
	if s, ok := strings.CutPrefix(n.name, "vs-"); ok {
		return []item{{v: "http://hl7.org/fhir/ValueSet/" + s, typ: tString}}, nil
	}
	if s, ok := strings.CutPrefix(n.name, "ext-"); ok {
		return []item{{v: "http://hl7.org/fhir/StructureDefinition/" + s, typ: tString}}, nil
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
type memberNode struct{ name, ext string } // ext: "_" + name, the JSON key of primitive extensions

func (n *memberNode) eval(_ *env, focus []item) ([]item, error) {
	var out []item
	if isTypeName(n.name) {
		// FHIR element names start in lower case: this is a type.
		for _, it := range focus {
			if isType(it, n.name) {
				out = append(out, it)
			}
		}
		return out, nil
	}
	for _, it := range focus {
		out = childrenKeyed(out, it, n.name, n.ext)
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
	if n, ok := xs[0].v.(json.Number); ok && isNum(kindOf(xs[0])) {
		// Negate the text so that the number keeps its decimal places.
		s, neg := strings.CutPrefix(string(n), "-")
		if !neg {
			s = "-" + s
		}
		return []item{{v: json.Number(s), typ: xs[0].typ}}, nil
	}
	return arith("*", xs[0], item{v: number("-1"), typ: tInt})
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
		// R4 search parameters apply the "as" operator to collections
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
		if asType(it, typ) {
			out = append(out, it)
		}
	}
	return out
}

func boolean(b bool) []item { return []item{{v: b, typ: tBool}} }

// children appends to out the children called name of it.
func children(out []item, it item, name string) []item {
	return childrenKeyed(out, it, name, "_"+name)
}

// childrenKeyed is children with the key of name's extensions given.
func childrenKeyed(out []item, it item, name, ext string) []item {
	def := it.def
	if def == "" {
		def = it.typ
	}
	m, ok := it.v.(map[string]any)
	if !ok {
		if it.ext == nil {
			return out
		}
		m, def = it.ext, "Element" // a primitive's id and extensions
	}
	info, known := table().lookup(def, name)
	if known && info.choices != nil {
		// A choice element: value -> valueQuantity, valueString...
		for _, c := range info.choices {
			out = appendElem(out, m[c.key], m[c.ext], c.typ, "")
		}
		return out
	}
	v, has := m[name]
	x, hasExt := m[ext]
	if has || hasExt {
		return appendElem(out, v, x, info.typ, info.childDef)
	}
	if known {
		return out
	}
	if def != "" && knownDef(def) {
		return out
	}
	keys := make([]string, 0, 2)
	for k := range m {
		if len(k) > len(name) && strings.HasPrefix(k, name) && k[len(name)] >= 'A' && k[len(name)] <= 'Z' {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = appendElem(out, m[k], m["_"+k], suffixType(k[len(name):]), "")
	}
	return out
}

// appendElem appends the values of an element: v is its JSON value and x
// the "_name" object(s) with the id and extensions of primitives.
func appendElem(out []item, v, x any, typ, def string) []item {
	va, arr := v.([]any)
	xa, xarr := x.([]any)
	if !arr && !xarr {
		xm, _ := x.(map[string]any)
		return appendOne(out, v, xm, typ, def)
	}
	for i := range max(len(va), len(xa)) {
		var vi any
		var xi map[string]any
		if i < len(va) {
			vi = va[i]
		}
		if i < len(xa) {
			xi, _ = xa[i].(map[string]any)
		}
		out = appendOne(out, vi, xi, typ, def)
	}
	return out
}

func appendOne(out []item, v any, ext map[string]any, typ, def string) []item {
	switch v := v.(type) {
	case nil:
		if ext == nil {
			return out
		}
	case []any:
		return appendElem(out, v, nil, typ, def)
	case map[string]any:
		if rt, ok := v["resourceType"].(string); ok {
			typ, def = rt, ""
		}
	}
	return append(out, item{v: v, typ: typ, def: def, ext: ext})
}

// appendValues appends the values of an element without extensions.
func appendValues(out []item, v any, typ, def string) []item {
	return appendElem(out, v, nil, typ, def)
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

// isType reports whether it is of type t or a type derived from it (an Age
// is a Quantity, a Patient a Resource, a code a string). t may be qualified
// with FHIR. or System.; unqualified, it names a FHIR type for model values
// and a system type for computed values.
func isType(it item, t string) bool { return typeMatch(it, t, false) }

// asType is isType for as() and ofType(), where the official suite treats
// the FHIR primitive types as distinct: a code is not a string there.
func asType(it item, t string) bool { return typeMatch(it, t, true) }

func typeMatch(it item, t string, exactPrimitive bool) bool {
	if strings.HasPrefix(t, "System.") {
		return it.typ == t
	}
	fhirOnly := strings.HasPrefix(t, "FHIR.")
	t = strings.TrimPrefix(t, "FHIR.")
	if strings.HasPrefix(it.typ, "System.") {
		return !fhirOnly && it.typ == "System."+t
	}
	if it.typ == t {
		return true
	}
	if exactPrimitive && isPrimitive(it.typ) {
		return false
	}
	for typ := baseType(it.typ); typ != ""; typ = baseType(typ) {
		if typ == t {
			return true
		}
	}
	return false
}

// knownType reports whether t names a FHIR or system type.
func knownType(t string) bool {
	if strings.HasPrefix(t, "System.") {
		return true
	}
	fhirOnly := strings.HasPrefix(t, "FHIR.")
	t = strings.TrimPrefix(t, "FHIR.")
	return isPrimitive(t) || hasType(t) || (!fhirOnly && systemTypes[t])
}

var systemTypes = map[string]bool{
	"Boolean": true, "String": true, "Integer": true, "Decimal": true,
	"Date": true, "DateTime": true, "Time": true, "Quantity": true,
}
