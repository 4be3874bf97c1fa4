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
	types   []string // type codes ("string", "CodeableConcept", "BackboneElement", "Reference", ...)
	defs    []int16  // per type, the elementTable index of its definition, or -1
	targets []string // Reference target resource types; nil means any
}

// typeDef is the definition of a resource, backbone element or datatype:
// its child elements and the JSON keys that name them, sorted by key.
type typeDef struct {
	path  string
	elems []elementDef
	keys  []keyRef
}

// keyRef maps a JSON key to its element: elems[elem], type types[typ],
// and whether the key is the "_" sidecar of a primitive.
type keyRef struct {
	key  string
	elem int16
	typ  int8
	side bool
}

// Validate checks the structural rules of R4 that matter for storage and
// search, in the resource and in every resource it contains (contained
// resources, Bundle entries, Parameters):
//
//   - resourceType is a concrete R4 resource type and matches r.Type;
//   - ids match [A-Za-z0-9\-\.]{1,64};
//   - elements with max 1 are not arrays, repeating elements are arrays,
//     and a choice element (value[x]) appears under one name at most;
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
// with status 400 and one Issue per problem, in the order of the
// definitions.
func Validate(r *Resource) error {
	v := validator{}
	root := &loc{name: r.Type}
	if rt, _ := r.Tree["resourceType"].(string); rt != r.Type {
		v.add("invariant", "resourceType does not match the resource's type", &loc{parent: root, name: "resourceType"})
	}
	v.resource(r.Tree, root)
	return errStatus(http.StatusBadRequest, v.issues)
}

// loc is the location of an element, rendered as a FHIRPath-like string
// only when an issue is reported: a name below its parent, or an index
// (name "") into its parent.
type loc struct {
	parent *loc
	name   string
	index  int
}

func (l *loc) String() string {
	if l == nil {
		return ""
	}
	if l.name == "" {
		return l.parent.String() + "[" + strconv.Itoa(l.index) + "]"
	}
	if l.parent == nil {
		return l.name
	}
	return l.parent.String() + "." + l.name
}

type validator struct {
	issues []Issue
	slots  []slot // stack of the members found in the objects being checked
}

// slot holds the members of one object that name one element.
type slot struct {
	key, sideKey string // the JSON keys of the value and of its "_" sidecar
	val, side    any
	typ          int8 // index into the element's types
	count        int8 // how many value keys name the element (choices)
	hasSide      bool
}

func (v *validator) add(code, diag string, at *loc) {
	v.issues = append(v.issues, Issue{Severity: "error", Code: code, Diagnostics: diag, Expression: []string{at.String()}})
}

// resource validates a (possibly nested) resource object at location at.
func (v *validator) resource(m map[string]any, at *loc) {
	rt, ok := m["resourceType"].(string)
	switch {
	case !ok:
		v.add("required", "resourceType is missing or not a string", &loc{parent: at, name: "resourceType"})
		return
	}
	ti, known := slices.BinarySearch(resourceTypes[:], rt)
	if !known {
		v.add("not-supported", "unknown resource type "+strconv.Quote(clip(rt, 64)), &loc{parent: at, name: "resourceType"})
		return
	}
	if idv, ok := m["id"]; ok {
		if id, ok := idv.(string); !ok || !ValidID(id) {
			v.add("value", "id must be 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'", &loc{parent: at, name: "id"})
		}
	}
	v.object(m, &elementTable[resourceDefs[ti]], at)
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

// object validates the members of m against the definition td (nil when
// the element has no children beyond extensions). It looks up each member
// once, then checks the elements in definition order.
func (v *validator) object(m map[string]any, td *typeDef, at *loc) {
	if ext, ok := m["extension"]; ok {
		v.extensions(ext, &loc{parent: at, name: "extension"})
	}
	if ext, ok := m["modifierExtension"]; ok {
		v.extensions(ext, &loc{parent: at, name: "modifierExtension"})
	}
	if td == nil {
		return
	}
	base := len(v.slots)
	v.slots = slices.Grow(v.slots, len(td.elems))[:base+len(td.elems)]
	clear(v.slots[base:])
	for key, val := range m {
		i, found := slices.BinarySearchFunc(td.keys, key, func(k keyRef, key string) int { return strings.Compare(k.key, key) })
		if !found {
			continue
		}
		k := &td.keys[i]
		s := &v.slots[base+int(k.elem)]
		if k.side {
			s.sideKey, s.side, s.hasSide = key, val, true
			continue
		}
		s.key, s.val, s.typ = key, val, k.typ
		s.count++
	}
	for i := range td.elems {
		el := &td.elems[i]
		s := v.slots[base+i] // a copy: nested objects may grow v.slots
		if s.count == 0 && !s.hasSide {
			if el.min > 0 {
				name := el.name
				if el.choice {
					name += "[x]"
				}
				v.add("required", "required element is missing", &loc{parent: at, name: name})
			}
			continue
		}
		if s.count > 1 {
			v.add("structure", "only one type of "+el.name+"[x] may be present", &loc{parent: at, name: el.name + "[x]"})
		}
		if s.hasSide {
			v.sidecar(s.side, el.many, &loc{parent: at, name: s.sideKey})
		}
		if s.count > 0 {
			v.member(s.val, s.hasSide, el, int(s.typ), &loc{parent: at, name: s.key})
		}
	}
	v.slots = v.slots[:base]
}

// member validates the value of element el (with its type number ti) at
// location at.
func (v *validator) member(val any, hasSide bool, el *elementDef, ti int, at *loc) {
	if el.many {
		arr, isArr := val.([]any)
		if !isArr {
			v.add("structure", "element repeats and must be a JSON array", at)
			return
		}
		if len(arr) == 0 {
			v.add("structure", "arrays must not be empty", at)
		}
		for i, item := range arr {
			if item == nil && isPrimitive(el.types[ti]) && hasSide {
				continue // aligned with an extension in the sidecar array
			}
			v.value(item, el, ti, &loc{parent: at, index: i})
		}
		return
	}
	if _, isArr := val.([]any); isArr {
		v.add("structure", "element does not repeat and must not be a JSON array", at)
		return
	}
	v.value(val, el, ti, at)
}

func isPrimitive(typ string) bool {
	return typ != "" && typ[0] >= 'a' && typ[0] <= 'z'
}

// value validates one value of element el with its type number ti.
func (v *validator) value(val any, el *elementDef, ti int, at *loc) {
	typ := el.types[ti]
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
	switch def := el.defs[ti]; {
	case typ == "Resource":
		v.resource(obj, at)
	case def < 0:
		v.object(obj, nil, at)
	default:
		v.object(obj, &elementTable[def], at)
		if typ == "Reference" {
			v.reference(obj, el.targets, at)
		}
	}
}

func (v *validator) primitive(val any, typ string, at *loc) {
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
		case !validPrimitive(typ, s):
			v.add("value", "not a valid "+typ+" (R4 pattern "+primitivePatterns[typ]+")", at)
		}
	}
}

// sidecar validates the "_name" object (or array) of a primitive element.
func (v *validator) sidecar(side any, many bool, at *loc) {
	if many {
		arr, ok := side.([]any)
		if !ok {
			v.add("structure", "the extension sidecar of a repeating primitive must be an array", at)
			return
		}
		for i, s := range arr {
			if s != nil {
				v.sidecar(s, false, &loc{parent: at, index: i})
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
		v.extensions(ext, &loc{parent: at, name: "extension"})
	}
}

func (v *validator) extensions(ext any, at *loc) {
	arr, ok := ext.([]any)
	if !ok {
		v.add("structure", "extensions must be a JSON array", at)
		return
	}
	el := elementDef{name: "extension", many: true, types: []string{"Extension"}, defs: []int16{extensionDef}}
	for i, e := range arr {
		v.value(e, &el, 0, &loc{parent: at, index: i})
	}
}

// reference checks Reference.reference and, where the reference names a
// resource type, that the type is one of targets (nil: any).
func (v *validator) reference(ref map[string]any, targets []string, at *loc) {
	s, ok := ref["reference"].(string)
	if !ok || s == "" {
		return // reported as a primitive problem, or a logical reference
	}
	at = &loc{parent: at, name: "reference"}
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

// validPrimitive reports whether s has the form of the string-based
// primitive type typ. The common types are checked by hand (the tests
// compare these checks with the R4 regular expressions); the rare ones
// use the compiled expressions.
func validPrimitive(typ, s string) bool {
	switch typ {
	case "string", "markdown", "xhtml":
		return true
	case "code":
		return validCode(s)
	case "uri", "url", "canonical":
		return !strings.ContainsAny(s, " \t\n\f\r")
	case "id":
		return ValidID(s)
	case "date":
		n, ok := datePrefix(s)
		return ok && n == len(s)
	case "dateTime":
		n, ok := datePrefix(s)
		if !ok {
			return false
		}
		return n == len(s) || (n == 10 && s[n] == 'T' && validTimeZone(s[n+1:], true))
	case "instant":
		n, ok := datePrefix(s)
		return ok && n == 10 && len(s) > 10 && s[n] == 'T' && validTimeZone(s[n+1:], true)
	case "time":
		return validTimeZone(s, false)
	case "base64Binary":
		return validBase64(s)
	}
	re, ok := primitiveRegexps[typ]
	return !ok || re.MatchString(s)
}

// validCode: no leading, trailing or repeated whitespace ([^\s]+(\s[^\s]+)*).
func validCode(s string) bool {
	space := true // at the start, as after a space
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\f', '\r':
			if space {
				return false
			}
			space = true
		default:
			space = false
		}
	}
	return !space
}

// validBase64: groups of four characters of the base64 alphabet (with
// '=' anywhere, as the R4 pattern allows), whitespace only between groups.
func validBase64(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
			n++
		case c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r':
			if n%4 != 0 {
				return false
			}
		default:
			return false
		}
	}
	return n > 0 && n%4 == 0
}

// datePrefix reads YYYY, YYYY-MM or YYYY-MM-DD at the start of s and
// returns its length (4, 7 or 10). The year 0000 is not allowed.
func datePrefix(s string) (int, bool) {
	if len(s) < 4 || !digits(s[:4]) || s[:4] == "0000" {
		return 0, false
	}
	if len(s) == 4 || s[4] != '-' {
		return 4, true
	}
	if len(s) < 7 || !digits(s[5:7]) || s[5:7] < "01" || s[5:7] > "12" {
		return 0, false
	}
	if len(s) == 7 || s[7] != '-' {
		return 7, true
	}
	if len(s) < 10 || !digits(s[8:10]) || s[8:10] < "01" || s[8:10] > "31" {
		return 0, false
	}
	return 10, true
}

// validTimeZone checks hh:mm:ss(.fff)? and, when zone is set, the zone
// that must follow: Z or +hh:mm / -hh:mm from -13:59 to +14:00.
func validTimeZone(s string, zone bool) bool {
	if len(s) < 8 || !digits(s[0:2]) || s[2] != ':' || !digits(s[3:5]) || s[5] != ':' || !digits(s[6:8]) ||
		s[0:2] > "23" || s[3:5] > "59" || s[6:8] > "60" {
		return false
	}
	s = s[8:]
	if len(s) > 0 && s[0] == '.' {
		n := 1
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		s = s[n:]
	}
	if !zone {
		return s == ""
	}
	if s == "Z" {
		return true
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || !digits(s[1:3]) || s[3] != ':' || !digits(s[4:6]) {
		return false
	}
	return s[1:] == "14:00" || (s[1:3] <= "13" && s[4:6] <= "59")
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// primitiveRegexps are the compiled patterns of the primitive types that
// validPrimitive does not check by hand. They are read-only.
var primitiveRegexps = map[string]*regexp.Regexp{
	"oid":  anchored("oid"),
	"uuid": anchored("uuid"),
}

// anchored compiles the R4 pattern of a primitive type to match whole
// strings.
func anchored(typ string) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + primitivePatterns[typ] + `)$`)
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
