package fhir

//go:generate go run ./gen -defs ../../../shared/refs/fhir/r4-definitions -o r4_gen.go

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// elementDef describes one child element of a resource, backbone element or
// datatype, as generated from the R4 StructureDefinitions.
type elementDef struct {
	name    string   // JSON name; for a choice element the prefix ("value")
	min     int      // minimum cardinality
	many    bool     // max > 1: the JSON value is an array
	choice  bool     // name[x]: the JSON name is name + a type name ("valueQuantity")
	ref     string   // contentReference: the children are those of this path
	types   []string // type codes ("string", "CodeableConcept", "BackboneElement", "Reference", ...)
	keys    []string // choice elements: the JSON names, one per type
	targets []string // Reference target resource types; nil means any
}

// Validate checks the structural rules of R4 that matter for storage and
// search, in the resource and in every resource it contains (contained
// resources, Bundle entries, Parameters):
//
//   - resourceType is a concrete R4 resource type and matches r.Type;
//   - ids match [A-Za-z0-9\-\.]{1,64};
//   - elements with max 1 are not arrays and repeating elements are arrays;
//   - elements with min >= 1 are present (a primitive given only by its
//     "_name" extension sidecar counts as present);
//   - primitives have the JSON type of their FHIR type (booleans, numbers
//     and strings), integers have no fraction and fit 32 bits, strings are
//     not empty, string-based types match their R4 regular expression
//     (date, dateTime, instant, time, code, uri, oid, uuid, ...), and null
//     appears only inside arrays;
//   - Reference.reference is a relative reference Type/id (optionally with
//     _history/vid), a conditional reference Type?query (resolved inside
//     a transaction), an absolute URL, urn:uuid:, urn:oid: or a #fragment;
//     where the type can be read from it, it is one of the targets the
//     element allows.
//
// Elements unknown to R4 are kept and not reported. The error is an *Error
// with status 400 and one Issue per problem, in document order.
func Validate(r *Resource) error {
	v := validator{}
	if rt, _ := r.Tree["resourceType"].(string); rt != r.Type {
		v.add("invariant", "resourceType does not match the resource's type", r.Type+".resourceType")
	}
	v.resource(r.Tree, r.Type)
	return errStatus(http.StatusBadRequest, v.issues)
}

type validator struct {
	issues []Issue
}

func (v *validator) add(code, diag, expr string) {
	v.issues = append(v.issues, Issue{Severity: "error", Code: code, Diagnostics: diag, Expression: []string{expr}})
}

// resource validates a (possibly nested) resource object; expr is its
// location, which for a top-level resource is its type.
func (v *validator) resource(m map[string]any, expr string) {
	rt, ok := m["resourceType"].(string)
	switch {
	case !ok:
		v.add("required", "resourceType is missing or not a string", joinPath(expr, "resourceType"))
		return
	case !IsResourceType(rt):
		v.add("not-supported", "unknown resource type "+strconv.Quote(clip(rt, 64)), joinPath(expr, "resourceType"))
		return
	}
	if idv, ok := m["id"]; ok {
		if id, ok := idv.(string); !ok || !ValidID(id) {
			v.add("value", "id must be 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'", joinPath(expr, "id"))
		}
	}
	v.object(m, rt, expr)
}

// ValidID reports whether id is a valid FHIR logical id:
// [A-Za-z0-9\-\.]{1,64}.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// object validates the members of m against the children of the
// definition path def.
func (v *validator) object(m map[string]any, def, expr string) {
	if ext, ok := m["extension"]; ok {
		v.extensions(ext, joinPath(expr, "extension"))
	}
	if ext, ok := m["modifierExtension"]; ok {
		v.extensions(ext, joinPath(expr, "modifierExtension"))
	}
	for i := range elementTable[def] {
		el := &elementTable[def][i]
		found := false
		if el.choice {
			for j, key := range el.keys {
				if v.member(m, key, el, el.types[j], def, expr) {
					found = true
				}
			}
		} else {
			typ := ""
			if len(el.types) > 0 {
				typ = el.types[0]
			}
			found = v.member(m, el.name, el, typ, def, expr)
		}
		if !found && el.min > 0 {
			name := el.name
			if el.choice {
				name += "[x]"
			}
			v.add("required", "required element is missing", joinPath(expr, name))
		}
	}
}

// member validates m[key] (and its sidecar m["_"+key]) and reports whether
// either is present.
func (v *validator) member(m map[string]any, key string, el *elementDef, typ, def, expr string) bool {
	val, ok := m[key]
	side, sideOK := m["_"+key]
	if !ok && !sideOK {
		return false
	}
	at := joinPath(expr, key)
	if sideOK {
		v.sidecar(side, el.many, joinPath(expr, "_"+key))
	}
	if !ok {
		return true
	}
	if el.many {
		arr, isArr := val.([]any)
		if !isArr {
			v.add("structure", "element repeats and must be a JSON array", at)
			return true
		}
		if len(arr) == 0 {
			v.add("structure", "arrays must not be empty", at)
		}
		for i, item := range arr {
			if item == nil && isPrimitive(typ) && sideOK {
				continue // aligned with an extension in the sidecar array
			}
			v.value(item, el, typ, def, at+"["+strconv.Itoa(i)+"]")
		}
		return true
	}
	if _, isArr := val.([]any); isArr {
		v.add("structure", "element does not repeat and must not be a JSON array", at)
		return true
	}
	v.value(val, el, typ, def, at)
	return true
}

func isPrimitive(typ string) bool {
	return typ != "" && typ[0] >= 'a' && typ[0] <= 'z'
}

// value validates one value of element el with type typ.
func (v *validator) value(val any, el *elementDef, typ, def, at string) {
	if val == nil {
		v.add("structure", "null is allowed only inside arrays of primitives with extensions", at)
		return
	}
	if isPrimitive(typ) {
		v.primitive(val, typ, at)
		return
	}
	obj, ok := val.(map[string]any)
	if !ok {
		v.add("structure", typ+" must be a JSON object", at)
		return
	}
	if len(obj) == 0 {
		v.add("structure", "objects must not be empty", at)
		return
	}
	switch {
	case typ == "Resource":
		v.resource(obj, at)
	case el.ref != "":
		v.object(obj, el.ref, at)
	case typ == "BackboneElement" || typ == "Element":
		v.object(obj, def+"."+el.name, at)
	default:
		v.object(obj, typ, at)
		if typ == "Reference" {
			v.reference(obj, el.targets, at)
		}
	}
}

func (v *validator) primitive(val any, typ, at string) {
	switch typ {
	case "boolean":
		if _, ok := val.(bool); !ok {
			v.add("value", "boolean must be a JSON true or false", at)
		}
	case "integer", "positiveInt", "unsignedInt":
		n, ok := val.(json.Number)
		if !ok || strings.ContainsAny(string(n), ".eE") {
			v.add("value", typ+" must be a JSON integer", at)
			return
		}
		i, err := n.Int64()
		switch {
		case err != nil || i < -2147483648 || i > 2147483647:
			v.add("value", typ+" is out of the 32-bit range", at)
		case typ == "positiveInt" && i < 1, typ == "unsignedInt" && i < 0:
			v.add("value", typ+" is out of range", at)
		}
	case "decimal":
		if _, ok := val.(json.Number); !ok {
			v.add("value", "decimal must be a JSON number", at)
		}
	default:
		s, ok := val.(string)
		switch {
		case !ok:
			v.add("value", typ+" must be a JSON string", at)
		case s == "":
			v.add("value", "strings must not be empty", at)
		case primitiveRegexps[typ] != nil && !primitiveRegexps[typ].MatchString(s):
			v.add("value", "not a valid "+typ+" (R4 pattern "+primitivePatterns[typ]+")", at)
		}
	}
}

// primitiveRegexps are the compiled primitivePatterns, anchored. They are
// read-only after package initialisation.
var primitiveRegexps = func() map[string]*regexp.Regexp {
	m := make(map[string]*regexp.Regexp, len(primitivePatterns))
	for typ, p := range primitivePatterns {
		m[typ] = regexp.MustCompile(`^(?:` + p + `)$`)
	}
	return m
}()

// sidecar validates the "_name" object (or array) of a primitive element.
func (v *validator) sidecar(side any, many bool, at string) {
	if many {
		arr, ok := side.([]any)
		if !ok {
			v.add("structure", "the extension sidecar of a repeating primitive must be an array", at)
			return
		}
		for i, s := range arr {
			if s != nil {
				v.sidecar(s, false, at+"["+strconv.Itoa(i)+"]")
			}
		}
		return
	}
	m, ok := side.(map[string]any)
	if !ok {
		v.add("structure", "the extension sidecar of a primitive must be an object", at)
		return
	}
	if ext, ok := m["extension"]; ok {
		v.extensions(ext, joinPath(at, "extension"))
	}
}

func (v *validator) extensions(ext any, at string) {
	arr, ok := ext.([]any)
	if !ok {
		v.add("structure", "extensions must be a JSON array", at)
		return
	}
	el := elementDef{name: "extension", many: true, types: []string{"Extension"}}
	for i, e := range arr {
		v.value(e, &el, "Extension", "", at+"["+strconv.Itoa(i)+"]")
	}
}

// reference checks Reference.reference and, where the reference names a
// resource type, that the type is one of targets (nil: any).
func (v *validator) reference(ref map[string]any, targets []string, at string) {
	s, ok := ref["reference"].(string)
	if !ok || s == "" {
		return // reported as a primitive problem, or a logical reference
	}
	at = joinPath(at, "reference")
	typ, ok := referenceType(s)
	if !ok {
		v.add("value", "reference must be Type/id, Type?query, an absolute URL, urn:uuid:, urn:oid: or #id", at)
		return
	}
	if typ == "" {
		return
	}
	if t, ok := ref["type"].(string); ok && t != typ {
		v.add("value", "Reference.type does not match the type in the reference", at)
	}
	if targets != nil && !slices.Contains(targets, typ) {
		v.add("value", "a reference to "+typ+" is not allowed here (allowed: "+strings.Join(targets, ", ")+")", at)
	}
}

// referenceType checks the form of a literal reference and returns the
// resource type it names, or "" when the form does not name one
// (urn:uuid:, urn:oid:, #contained, or an absolute URL that does not end
// in Type/id).
func referenceType(s string) (string, bool) {
	switch {
	case strings.HasPrefix(s, "#"):
		return "", true
	case strings.HasPrefix(s, "urn:uuid:"):
		return "", isUUID(s[len("urn:uuid:"):])
	case strings.HasPrefix(s, "urn:oid:"):
		return "", isOID(s[len("urn:oid:"):])
	}
	if i := strings.Index(s, "://"); i > 0 && isScheme(s[:i]) {
		if strings.ContainsAny(s, " \t\n") {
			return "", false
		}
		// RESTful absolute URL: [base]/Type/id[/_history/vid]
		path := s[i+3:]
		if q := strings.IndexAny(path, "?#"); q >= 0 {
			path = path[:q]
		}
		segs := strings.Split(path, "/")
		if n := len(segs); n >= 4 && segs[n-2] == "_history" {
			segs = segs[:n-2]
		}
		if n := len(segs); n >= 3 && IsResourceType(segs[n-2]) && ValidID(segs[n-1]) {
			return segs[n-2], true
		}
		return "", true
	}
	if typ, query, ok := strings.Cut(s, "?"); ok {
		return typ, IsResourceType(typ) && query != ""
	}
	segs := strings.Split(s, "/")
	switch {
	case len(segs) == 2:
	case len(segs) == 4 && segs[2] == "_history" && ValidID(segs[3]):
	default:
		return "", false
	}
	return segs[0], IsResourceType(segs[0]) && ValidID(segs[1])
}

func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// isUUID reports whether s is a UUID in the 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// isOID reports whether s is a dotted sequence of decimal numbers.
func isOID(s string) bool {
	if s == "" {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if part == "" || strings.Trim(part, "0123456789") != "" {
			return false
		}
	}
	return true
}
