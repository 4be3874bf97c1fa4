package search

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Limits bound a query's page size.
type Limits struct {
	DefaultCount int // page size when _count is absent
	MaxCount     int // larger _count values are lowered to this; 0 = no cap
}

// Issue is a problem with one search parameter: the reason for an *Error,
// or, in lenient mode, a parameter that was ignored (for an
// OperationOutcome warning in the searchset Bundle).
type Issue struct {
	Param   string // the parameter as written in the URL ("subject:Patient.name")
	Value   string // the offending value; "" when the parameter itself is the problem
	Message string
}

func (i Issue) String() string {
	if i.Value == "" {
		return fmt.Sprintf("parameter %q: %s", i.Param, i.Message)
	}
	return fmt.Sprintf("parameter %q value %q: %s", i.Param, i.Value, i.Message)
}

// Error is a search URL the server must reject (HTTP 400).
type Error struct{ Issue }

func (e *Error) Error() string { return "search: " + e.Issue.String() }

// the result parameters, handled by ParseQuery itself; _format and _pretty
// are accepted and left to the HTTP layer.
const (
	pCount      = "_count"
	pOffset     = "_offset"
	pSnapshot   = "_snapshot"
	pSort       = "_sort"
	pInclude    = "_include"
	pRevInclude = "_revinclude"
	pSummary    = "_summary"
	pElements   = "_elements"
	pTotal      = "_total"
)

// ParseQuery parses the search parameters of a search on resourceType (""
// for a search across all types) into a Query.
//
// Filters: every R4 parameter of the type (Registry.Param) with the
// modifiers :missing (all types), :exact and :contains (string), :not and
// :text (token) and :[Type] (reference); one level of chaining
// (subject:Patient.name=x, or subject.name=x when the reference has one
// target type). A repeated parameter is ANDed, comma-separated values ORed.
// Result parameters: _sort, _count (Limits; _count=0 is _summary=count),
// _offset, _snapshot (the store snapshot of a paged search), _include and
// _revinclude (Type:param[:Target], with :iterate), _summary, _elements,
// _total. _format and _pretty are ignored (the HTTP layer handles them).
//
// An unknown or unsupported parameter or modifier is an *Error when strict
// and otherwise ignored and returned as an Issue (Prefer:
// handling=strict|lenient). A malformed value is always an *Error naming the
// parameter and value.
func (r *Registry) ParseQuery(resourceType string, params url.Values, strict bool, lim Limits) (*Query, []Issue, error) {
	if resourceType != "" && !r.IsResourceType(resourceType) {
		return nil, nil, &Error{Issue{Message: fmt.Sprintf("unknown resource type %q", resourceType)}}
	}
	q := &Query{Type: resourceType, Count: lim.DefaultCount}
	p := &queryParser{r: r, q: q, strict: strict}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic clause order and first error
	for _, k := range keys {
		for _, v := range params[k] {
			if err := p.param(k, v, lim); err != nil {
				return nil, nil, err
			}
		}
	}
	return q, p.issues, nil
}

type queryParser struct {
	r      *Registry
	q      *Query
	strict bool
	issues []Issue
}

// unsupported rejects (strict) or records (lenient) a parameter the server
// does not handle.
func (p *queryParser) unsupported(key, msg string) error {
	is := Issue{Param: key, Message: msg}
	if p.strict {
		return &Error{is}
	}
	p.issues = append(p.issues, is)
	return nil
}

func bad(key, value, format string, a ...any) error {
	return &Error{Issue{Param: key, Value: value, Message: fmt.Sprintf(format, a...)}}
}

func (p *queryParser) param(key, value string, lim Limits) error {
	q := p.q
	name, mod, _ := strings.Cut(key, ":")
	switch name {
	case "_format", "_pretty":
		return nil
	case pCount, pOffset, pSnapshot:
		if mod != "" {
			return p.unsupported(key, "no modifiers allowed")
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 || n > math.MaxInt32 {
			return bad(key, value, "want a non-negative integer")
		}
		switch name {
		case pCount:
			q.Count = int(n)
			if n == 0 {
				q.Count, q.Summary = lim.DefaultCount, "count"
			}
			if lim.MaxCount > 0 && q.Count > lim.MaxCount {
				q.Count = lim.MaxCount
				p.issues = append(p.issues, Issue{Param: key, Value: value, Message: fmt.Sprintf("page size lowered to the maximum %d", lim.MaxCount)})
			}
		case pOffset:
			q.Offset = int(n)
		case pSnapshot:
			q.Snapshot = n
		}
		return nil
	case pSort, pSummary, pTotal, pElements:
		if mod != "" {
			return p.unsupported(key, "no modifiers allowed")
		}
	}
	switch name {
	case pSort:
		return p.sort(key, value)
	case pInclude, pRevInclude:
		return p.include(key, name, mod, value)
	case pSummary:
		if !slices.Contains([]string{"true", "false", "text", "data", "count"}, value) {
			return bad(key, value, "want true, false, text, data or count")
		}
		q.Summary = value
		return nil
	case pTotal:
		if !slices.Contains([]string{"none", "estimate", "accurate"}, value) {
			return bad(key, value, "want none, estimate or accurate")
		}
		q.Total = value
		return nil
	case pElements:
		for e := range strings.SplitSeq(value, ",") {
			e = strings.TrimSpace(e)
			if !isElementName(e) {
				return bad(key, value, "%q is not an element name", e)
			}
			q.Elements = append(q.Elements, e)
		}
		return nil
	}
	c, err := p.clause(q.Type, key, key, value, true)
	if err != nil || c == nil {
		return err
	}
	q.Clauses = append(q.Clauses, *c)
	return nil
}

// clause parses one filter parameter key of resourceType; nil, nil when it
// was ignored (lenient). full is the parameter as written, for messages (key
// is its tail in a chain).
func (p *queryParser) clause(resourceType, key, full, value string, chainable bool) (*Clause, error) {
	head, tail, chained := strings.Cut(key, ".")
	code, mod, _ := strings.Cut(head, ":")
	prm, ok := p.r.lookup(resourceType, code)
	if !ok {
		on := resourceType
		if on == "" {
			on = "all resource types"
		}
		return nil, p.unsupported(full, fmt.Sprintf("unknown search parameter %q for %s", code, on))
	}
	if !prm.Supported() {
		return nil, p.unsupported(full, fmt.Sprintf("search parameter %q (%s) is not supported", code, prm.Type))
	}
	c := &Clause{Param: code, Type: prm.Type}
	if chained {
		if !chainable {
			return nil, p.unsupported(full, "only one level of chaining is supported")
		}
		if prm.Type != Reference {
			return nil, bad(full, "", "%q is a %s parameter; only reference parameters chain", code, prm.Type)
		}
		target := mod
		switch {
		case target == "" && len(prm.Target) == 1:
			target = prm.Target[0]
		case target == "" && len(prm.Target) == 0:
			return nil, bad(full, "", "%q has no target types: name the type (%s:Type.%s)", code, code, tail)
		case target == "":
			return nil, bad(full, "", "%q may refer to %s: name the type (%s:%s.%s)", code, strings.Join(prm.Target, ", "), code, prm.Target[0], tail)
		case !p.r.IsResourceType(target) || (len(prm.Target) > 0 && !slices.Contains(prm.Target, target)):
			return nil, bad(full, "", "%q cannot refer to %s", code, target)
		}
		inner, err := p.clause(target, tail, full, value, false)
		if err != nil || inner == nil {
			return nil, err
		}
		c.Modifier = target
		c.Chain = &Chained{TargetType: target, Clause: *inner}
		return c, nil
	}
	if err := p.modifier(c, prm, full, mod); err != nil || (mod != "" && c.Modifier == "") {
		return nil, err
	}
	if c.Modifier == "missing" {
		if value != "true" && value != "false" {
			return nil, bad(full, value, "want true or false")
		}
		c.Values = []Value{{Raw: value, Missing: value == "true"}}
		return c, nil
	}
	for _, raw := range splitUnescaped(value, ',') {
		if raw == "" {
			continue
		}
		v, err := p.value(c, prm, raw)
		if err != nil {
			return nil, bad(full, raw, "%v", err)
		}
		c.Values = append(c.Values, v)
	}
	if len(c.Values) == 0 {
		p.issues = append(p.issues, Issue{Param: full, Value: value, Message: "empty value; parameter ignored"})
		return nil, nil
	}
	return c, nil
}

// modifier checks mod against the parameter's type and sets c.Modifier; it
// leaves c.Modifier empty (and returns nil) when a lenient parse ignores it.
func (p *queryParser) modifier(c *Clause, prm *compiled, key, mod string) error {
	ok := false
	switch mod {
	case "", "missing":
		ok = true
	case "exact", "contains":
		ok = prm.Type == String
	case "not", "text":
		ok = prm.Type == Token
	default:
		ok = prm.Type == Reference && p.r.IsResourceType(mod)
		if ok && len(prm.Target) > 0 && !slices.Contains(prm.Target, mod) {
			return bad(key, "", "%q cannot refer to %s", prm.Code, mod)
		}
	}
	if !ok {
		return p.unsupported(key, fmt.Sprintf("modifier %q is not supported on %s parameter %q", mod, prm.Type, prm.Code))
	}
	c.Modifier = mod
	return nil
}

// isPrefix reports whether s is an R4 comparison prefix (§3.1.1.4); ap is
// accepted too.
func isPrefix(s string) bool {
	switch s {
	case "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap":
		return true
	}
	return false
}

// value parses one (escaped) value of clause c.
func (p *queryParser) value(c *Clause, prm *compiled, raw string) (Value, error) {
	v := Value{Prefix: "eq", Raw: raw}
	s := raw
	if c.Type == Date || c.Type == Number || c.Type == Quantity {
		if len(s) > 2 && isPrefix(s[:2]) {
			v.Prefix, s = s[:2], s[2:]
		}
	}
	switch c.Type {
	case String, URI:
		v.Text = unescape(s)
		v.Norm = Fold(v.Text)
	case Token:
		if c.Modifier == "text" {
			v.Text = unescape(s)
			v.Norm = Fold(v.Text)
			break
		}
		parts := splitUnescaped(s, '|')
		switch len(parts) {
		case 1:
			v.Code = unescape(parts[0])
		case 2:
			v.System, v.Code, v.HasSystem = unescape(parts[0]), unescape(parts[1]), true
			if v.System == "" && v.Code == "" {
				return v, fmt.Errorf("want code, system|code, |code or system|")
			}
		default:
			return v, fmt.Errorf("want code, system|code, |code or system|")
		}
	case Reference:
		return v, p.reference(&v, c, prm, unescape(s))
	case Date:
		lo, hi, err := parseDate(s)
		if err != nil {
			return v, err
		}
		v.Lo, v.Hi = float64(lo), float64(hi)
	case Number, Quantity:
		parts := splitUnescaped(s, '|')
		switch {
		case c.Type == Quantity && len(parts) == 3:
			v.System, v.Code = unescape(parts[1]), unescape(parts[2])
		case len(parts) != 1:
			return v, fmt.Errorf("want [prefix]number or, for a quantity, [prefix]number|system|code")
		}
		num, lo, hi, err := parseNumber(parts[0])
		if err != nil {
			return v, err
		}
		v.Num, v.Lo, v.Hi = num, lo, hi
		switch v.Prefix {
		case "gt", "lt", "ge", "le", "sa", "eb":
			v.Lo, v.Hi = num, num // compared with the exact value (R4 §3.1.1.4.2 examples)
		case "ap":
			d := math.Abs(num) / 10
			v.Lo, v.Hi = num-d, num+d
		}
	}
	return v, nil
}

// reference parses a reference search value: id, Type/id, an absolute URL
// (Text; and Type/id when it ends in them) or a canonical/URN (Text).
func (p *queryParser) reference(v *Value, c *Clause, prm *compiled, s string) error {
	if isAbsolute(s) {
		v.Text = s
		v.RefType, v.RefID = typeAndID(p.r, s)
		return nil
	}
	if i := strings.Index(s, "/_history/"); i >= 0 {
		s = s[:i] // a version-specific reference searches the resource
	}
	typ, id, found := strings.Cut(s, "/")
	if !found {
		typ, id = "", s
	}
	if found && !p.r.IsResourceType(typ) {
		return fmt.Errorf("%q is not a resource type", typ)
	}
	if !isID(id) {
		return fmt.Errorf("%q is not a resource id", id)
	}
	switch {
	case c.Modifier != "" && typ != "" && typ != c.Modifier:
		return fmt.Errorf("type %s contradicts the modifier :%s", typ, c.Modifier)
	case typ == "" && c.Modifier != "":
		typ = c.Modifier
	case typ == "" && len(prm.Target) == 1:
		typ = prm.Target[0]
	}
	if typ != "" && len(prm.Target) > 0 && !slices.Contains(prm.Target, typ) {
		return fmt.Errorf("%q cannot refer to %s", prm.Code, typ)
	}
	v.RefType, v.RefID = typ, id
	return nil
}

func (p *queryParser) sort(key, value string) error {
	for k := range strings.SplitSeq(value, ",") {
		desc := strings.HasPrefix(k, "-")
		code := strings.TrimPrefix(k, "-")
		prm, ok := p.r.lookup(p.q.Type, code)
		switch {
		case !ok:
			if err := p.unsupported(key, fmt.Sprintf("unknown sort parameter %q", code)); err != nil {
				return err
			}
			continue
		case !prm.Supported():
			if err := p.unsupported(key, fmt.Sprintf("sort parameter %q (%s) is not supported", code, prm.Type)); err != nil {
				return err
			}
			continue
		}
		p.q.Sort = append(p.q.Sort, Sort{Param: code, Type: prm.Type, Desc: desc})
	}
	return nil
}

func (p *queryParser) include(key, name, mod, value string) error {
	inc := Include{}
	switch mod {
	case "":
	case "iterate", "recurse":
		inc.Iterate = true
	default:
		return p.unsupported(key, fmt.Sprintf("modifier %q is not supported", mod))
	}
	parts := strings.Split(value, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return bad(key, value, "want SourceType:param[:TargetType]")
	}
	inc.SourceType, inc.Param = parts[0], parts[1]
	if !p.r.IsResourceType(inc.SourceType) {
		return bad(key, value, "%q is not a resource type", inc.SourceType)
	}
	if name == pInclude && !inc.Iterate && p.q.Type != "" && inc.SourceType != p.q.Type {
		return bad(key, value, "the source type must be %s (or use %s:iterate)", p.q.Type, pInclude)
	}
	prm, ok := p.r.lookup(inc.SourceType, inc.Param)
	if !ok || prm.Type != Reference {
		return bad(key, value, "%q is not a reference parameter of %s", inc.Param, inc.SourceType)
	}
	if len(parts) == 3 {
		inc.TargetType = parts[2]
		if !p.r.IsResourceType(inc.TargetType) || (len(prm.Target) > 0 && !slices.Contains(prm.Target, inc.TargetType)) {
			return bad(key, value, "%s:%s cannot refer to %q", inc.SourceType, inc.Param, inc.TargetType)
		}
	}
	if name == pInclude {
		p.q.Include = append(p.q.Include, inc)
	} else {
		p.q.RevInclude = append(p.q.RevInclude, inc)
	}
	return nil
}

// Encode writes q back as URL parameters (for self and next links):
// ParseQuery of the result gives q again.
func (q *Query) Encode() url.Values {
	out := url.Values{}
	for _, c := range q.Clauses {
		key, vals := c.Param, c.Values
		if c.Chain != nil {
			key += ":" + c.Chain.TargetType + "." + c.Chain.Clause.Param
			if c.Chain.Clause.Modifier != "" {
				key += ":" + c.Chain.Clause.Modifier
			}
			vals = c.Chain.Clause.Values
		} else if c.Modifier != "" {
			key += ":" + c.Modifier
		}
		raws := make([]string, len(vals))
		for i, v := range vals {
			raws[i] = v.Raw
		}
		out.Add(key, strings.Join(raws, ","))
	}
	if len(q.Sort) > 0 {
		keys := make([]string, len(q.Sort))
		for i, s := range q.Sort {
			keys[i] = s.Param
			if s.Desc {
				keys[i] = "-" + s.Param
			}
		}
		out.Set(pSort, strings.Join(keys, ","))
	}
	if q.Count > 0 {
		out.Set(pCount, strconv.Itoa(q.Count))
	}
	if q.Offset > 0 {
		out.Set(pOffset, strconv.Itoa(q.Offset))
	}
	if q.Snapshot > 0 {
		out.Set(pSnapshot, strconv.FormatInt(q.Snapshot, 10))
	}
	for _, inc := range q.Include {
		out.Add(inc.key(pInclude), inc.value())
	}
	for _, inc := range q.RevInclude {
		out.Add(inc.key(pRevInclude), inc.value())
	}
	if q.Summary != "" {
		out.Set(pSummary, q.Summary)
	}
	if len(q.Elements) > 0 {
		out.Set(pElements, strings.Join(q.Elements, ","))
	}
	if q.Total != "" {
		out.Set(pTotal, q.Total)
	}
	return out
}

func (inc Include) key(name string) string {
	if inc.Iterate {
		return name + ":iterate"
	}
	return name
}

func (inc Include) value() string {
	s := inc.SourceType + ":" + inc.Param
	if inc.TargetType != "" {
		s += ":" + inc.TargetType
	}
	return s
}

// splitUnescaped splits s at sep where it is not preceded by a backslash
// (R4 §3.1.1.5.7 escaping); the parts keep their escapes.
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unescape removes the backslash of "\,", "\|", "\$" and "\\".
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`,|$\`, s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isAbsolute reports whether s is an absolute URL, URN or canonical.
func isAbsolute(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "urn:")
}

// typeAndID returns the resource type and id that an absolute URL ends in,
// or "", "".
func typeAndID(r *Registry, s string) (string, string) {
	typ, id := splitRef(s)
	if !r.IsResourceType(typ) {
		return "", ""
	}
	return typ, id
}

// isID reports whether s is a FHIR id: [A-Za-z0-9\-\.]{1,64}.
func isID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// isElementName reports whether s is a top-level element name for
// _elements ([A-Za-z][A-Za-z0-9_]*; "Type.element" is accepted too).
func isElementName(s string) bool {
	if _, after, ok := strings.Cut(s, "."); ok {
		s = after
	}
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
