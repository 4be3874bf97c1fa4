package search

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/doppelhealth/doppel/internal/fhirpath"
)

// Extract evaluates every supported parameter of resourceType on tree (the
// resource as parsed by internal/fhir: json.Number for numbers) and returns
// the index entries, grouped by parameter in code order, without
// duplicates. Composite parameters are not indexed (see Param.Supported).
// A date, dateTime or instant that does not parse is an error naming the
// parameter; a plain string where a date parameter's expression allows one
// (Immunization.occurrenceString) is not indexed.
func (r *Registry) Extract(resourceType string, tree map[string]any) ([]Entry, error) {
	if rt, _ := tree["resourceType"].(string); rt != resourceType {
		return nil, fmt.Errorf("search: extract: resource is a %q, not a %q", rt, resourceType)
	}
	idx := r.index[resourceType]
	if idx == nil {
		return nil, nil
	}
	out := make([]Entry, 0, 32) // a Synthea Observation has about 20 entries
	present := elementNames(tree)
	results := make([]struct {
		done  bool
		nodes []fhirpath.Node
	}, len(idx.branches))
	for i, p := range idx.params {
		start := len(out)
		for _, b := range idx.uses[i] {
			res := &results[b]
			if br := idx.branches[b]; !res.done && (br.root == "" || present[br.root]) {
				nodes, err := br.expr.Evaluate(tree)
				if err != nil {
					return nil, fmt.Errorf("search: extract %s parameter %s: %w", resourceType, p.Code, err)
				}
				res.nodes = nodes
			}
			res.done = true
			for _, n := range res.nodes {
				var err error
				if out, err = appendEntries(out, p.Code, p.Type, n); err != nil {
					return nil, fmt.Errorf("search: extract %s parameter %s: %w", resourceType, p.Code, err)
				}
			}
		}
		out = dedupe(out, start)
	}
	return out, nil
}

// elementNames returns the set of the resource's top-level element names,
// with the choice elements also under their base name ("valueQuantity"
// also as "value").
func elementNames(tree map[string]any) map[string]bool {
	names := make(map[string]bool, 2*len(tree))
	for k := range tree {
		names[k] = true
		for i := 1; i < len(k); i++ {
			if k[i] >= 'A' && k[i] <= 'Z' {
				names[k[:i]] = true
				break
			}
		}
	}
	return names
}

// dedupe removes repeated entries from out[start:] (one parameter's entries;
// usually a handful, so a quadratic scan is cheapest).
func dedupe(out []Entry, start int) []Entry {
	n := start
	for i := start; i < len(out); i++ {
		dup := false
		for j := start; j < n; j++ {
			if out[j] == out[i] {
				dup = true
				break
			}
		}
		if !dup {
			out[n] = out[i]
			n++
		}
	}
	return out[:n]
}

// appendEntries appends the entries of one FHIRPath result node.
func appendEntries(out []Entry, code string, typ ParamType, n fhirpath.Node) ([]Entry, error) {
	e := Entry{Param: code, Type: typ}
	m, isMap := n.Value.(map[string]any)
	switch typ {
	case String:
		if !isMap {
			return appendText(out, e, n.Value), nil
		}
		// the parts of a HumanName or Address that a string search looks at
		parts := []string{"text", "family", "given", "prefix", "suffix"}
		if n.Type == "Address" || (n.Type != "HumanName" && (m["line"] != nil || m["city"] != nil || m["postalCode"] != nil || m["country"] != nil)) {
			parts = []string{"text", "line", "city", "district", "state", "postalCode", "country"}
		}
		for _, k := range parts {
			switch v := m[k].(type) {
			case []any:
				for _, x := range v {
					out = appendText(out, e, x)
				}
			default:
				out = appendText(out, e, v)
			}
		}
	case URI:
		if s, ok := n.Value.(string); ok && s != "" {
			e.Text = s
			out = append(out, e)
		}
	case Token:
		return appendToken(out, e, n), nil
	case Reference:
		if isMap {
			s, _ := m["reference"].(string)
			return appendReference(out, e, s), nil
		}
		s, _ := n.Value.(string)
		return appendReference(out, e, s), nil
	case Date:
		return appendDate(out, e, n)
	case Number, Quantity:
		return appendQuantity(out, e, n)
	}
	return out, nil
}

// appendText appends a string entry for v when it is a non-empty string.
func appendText(out []Entry, e Entry, v any) []Entry {
	s, ok := v.(string)
	if !ok || s == "" {
		return out
	}
	e.Text, e.Norm = s, Fold(s)
	return append(out, e)
}

func appendToken(out []Entry, e Entry, n fhirpath.Node) []Entry {
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	coding := func(out []Entry, m map[string]any) []Entry {
		c := e
		c.System, c.Code, c.Text = str(m, "system"), str(m, "code"), str(m, "display")
		c.Norm = Fold(c.Text)
		if c.Code == "" && c.Text == "" {
			return out
		}
		return append(out, c)
	}
	switch v := n.Value.(type) {
	case string:
		if v != "" {
			e.Code = v
			out = append(out, e)
		}
		return out
	case bool:
		e.Code = "false"
		if v {
			e.Code = "true"
		}
		return append(out, e)
	case map[string]any:
		kind := n.Type
		if kind == "" {
			switch {
			case v["coding"] != nil || (v["text"] != nil && v["value"] == nil):
				kind = "CodeableConcept"
			case v["value"] != nil && (v["rank"] != nil || isContactSystem(str(v, "system"))):
				kind = "ContactPoint"
			case v["value"] != nil:
				kind = "Identifier"
			default:
				kind = "Coding"
			}
		}
		switch kind {
		case "CodeableConcept":
			start := len(out)
			codings, _ := v["coding"].([]any)
			for _, c := range codings {
				if cm, ok := c.(map[string]any); ok {
					out = coding(out, cm)
				}
			}
			// the text gets its own entry unless a coding's display says it
			if t := str(v, "text"); t != "" {
				e.Text, e.Norm = t, Fold(t)
				if !slices.ContainsFunc(out[start:], func(c Entry) bool { return c.Norm == e.Norm }) {
					out = append(out, e)
				}
			}
		case "Identifier", "ContactPoint":
			e.System, e.Code = str(v, "system"), str(v, "value")
			if t, ok := v["type"].(map[string]any); ok {
				e.Text = str(t, "text")
				e.Norm = Fold(e.Text)
			}
			if e.Code != "" {
				out = append(out, e)
			}
		default: // Coding and anything else with system/code/display
			out = coding(out, v)
		}
	}
	return out
}

// isContactSystem reports whether s is a ContactPoint.system code.
func isContactSystem(s string) bool {
	switch s {
	case "phone", "fax", "email", "pager", "url", "sms", "other":
		return true
	}
	return false
}

func appendReference(out []Entry, e Entry, s string) []Entry {
	switch {
	case s == "" || strings.HasPrefix(s, "#"):
		return out
	case isAbsolute(s):
		e.Text = s
		e.RefType, e.RefID = splitRef(s)
	default:
		e.RefType, e.RefID = splitRef(s)
		if e.RefID == "" {
			return out
		}
	}
	return append(out, e)
}

// splitRef returns the Type and id a reference ends in ("Patient/1",
// "http://x/fhir/Patient/1/_history/2", "http://x/Questionnaire/q|1.0"),
// or "", "". The type is only checked to look like a type name (upper case
// first letter); search values are checked against the registry instead.
func splitRef(s string) (typ, id string) {
	if strings.HasPrefix(s, "urn:") {
		return "", ""
	}
	s, _, _ = strings.Cut(s, "|")
	if i := strings.Index(s, "/_history/"); i >= 0 {
		s = s[:i]
	}
	j := strings.LastIndexByte(s, '/')
	if j <= 0 {
		return "", ""
	}
	typ, id = s[:j], s[j+1:]
	if k := strings.LastIndexByte(typ, '/'); k >= 0 {
		typ = typ[k+1:]
	}
	if typ == "" || typ[0] < 'A' || typ[0] > 'Z' || !isID(id) {
		return "", ""
	}
	return typ, id
}

func appendDate(out []Entry, e Entry, n fhirpath.Node) ([]Entry, error) {
	bound := func(v any, lo bool) (int64, bool, error) {
		s, ok := v.(string)
		if !ok || s == "" {
			return 0, false, nil
		}
		l, h, err := parseDate(s)
		if lo {
			return l, true, err
		}
		return h, true, err
	}
	switch v := n.Value.(type) {
	case string:
		lo, hi, err := parseDate(v)
		switch {
		case err != nil && (n.Type == "date" || n.Type == "dateTime" || n.Type == "instant"):
			return out, err
		case err != nil:
			// a string-valued choice the definition does not exclude
			// (Immunization.occurrenceString "January 2012")
			return out, nil
		}
		e.Lo, e.Hi = float64(lo), float64(hi)
		return append(out, e), nil
	case map[string]any:
		if events, ok := v["event"].([]any); ok { // Timing
			for _, ev := range events {
				var err error
				if out, err = appendDate(out, e, fhirpath.Node{Value: ev, Type: "dateTime"}); err != nil {
					return out, err
				}
			}
			return out, nil
		}
		lo, okLo, err := bound(v["start"], true) // Period
		if err != nil {
			return out, err
		}
		hi, okHi, err := bound(v["end"], false)
		if err != nil {
			return out, err
		}
		if !okLo && !okHi {
			return out, nil
		}
		if !okLo {
			lo = DateMin
		}
		if !okHi {
			hi = DateMax
		}
		e.Lo, e.Hi = float64(min(lo, hi)), float64(max(lo, hi)) // an end before the start (invalid) as if reversed
		return append(out, e), nil
	}
	return out, nil
}

func appendQuantity(out []Entry, e Entry, n fhirpath.Node) ([]Entry, error) {
	switch v := n.Value.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return out, fmt.Errorf("%q is not a number", v)
		}
		e.Num, e.Lo, e.Hi = f, f, f
		return append(out, e), nil
	case map[string]any:
		if v["low"] != nil || v["high"] != nil { // Range
			low, _ := v["low"].(map[string]any)
			high, _ := v["high"].(map[string]any)
			l, okL, err := quantity(&e, low)
			if err != nil {
				return out, err
			}
			h, okH, err := quantity(&e, high)
			if err != nil {
				return out, err
			}
			e.Lo, e.Hi, e.Num = NumMin, NumMax, h
			if okH {
				e.Hi = h
			}
			if okL {
				e.Lo, e.Num = l, l
			}
			if !okL && !okH {
				return out, nil
			}
			e.Lo, e.Hi = min(e.Lo, e.Hi), max(e.Lo, e.Hi) // high below low (invalid) as if reversed
			return append(out, e), nil
		}
		f, ok, err := quantity(&e, v)
		if err != nil || !ok {
			return out, err
		}
		e.Num, e.Lo, e.Hi = f, f, f
		switch v["comparator"] {
		case "<", "<=":
			e.Lo = NumMin
		case ">", ">=":
			e.Hi = NumMax
		}
		return append(out, e), nil
	}
	return out, nil
}

// quantity reads a Quantity's (or Money's) value and sets e's unit from it
// when e has none yet; ok is false when there is no value.
func quantity(e *Entry, m map[string]any) (float64, bool, error) {
	num, ok := m["value"].(json.Number)
	if !ok {
		return 0, false, nil
	}
	f, err := num.Float64()
	if err != nil {
		return 0, false, fmt.Errorf("%q is not a number", num)
	}
	if e.System == "" && e.Code == "" && e.Text == "" {
		if cur, ok := m["currency"].(string); ok {
			e.System, e.Code = "urn:iso:std:iso:4217", cur
		} else {
			e.System, _ = m["system"].(string)
			e.Code, _ = m["code"].(string)
			e.Text, _ = m["unit"].(string)
		}
	}
	return f, true, nil
}
