package fhirpath

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// toString gives the string form of a primitive item; ok is false for
// complex values.
func toString(it item) (string, bool) {
	switch v := it.v.(type) {
	case string:
		return v, true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	case json.Number:
		return string(v), true
	case Quantity:
		u := v.Unit
		if _, cal := calendarUnits[u]; !cal {
			u = "'" + u + "'"
		}
		return v.Value + " " + u, true
	}
	return "", false
}

var (
	reInteger  = regexp.MustCompile(`^[+-]?[0-9]+$`)
	reDecimal  = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)
	reQuantity = regexp.MustCompile(`^([+-]?[0-9]+(?:\.[0-9]+)?)\s*(?:'([^']+)'|([a-z]+))?$`)
)

// fnConvert implements toX() and convertsToX().
func fnConvert(_ *env, n *callNode, f []item) ([]item, error) {
	if len(f) == 0 {
		return nil, nil
	}
	if len(f) > 1 {
		return nil, fmt.Errorf("fhirpath: %s() on a collection", n.name)
	}
	target, check := strings.CutPrefix(n.name, "convertsTo")
	if !check {
		target = strings.TrimPrefix(n.name, "to")
	}
	out, ok := convert(f[0], target)
	if check {
		return boolean(ok), nil
	}
	if !ok {
		return nil, nil
	}
	return []item{out}, nil
}

func convert(it item, target string) (item, bool) {
	k := kindOf(it)
	s, isStr := it.v.(string)
	switch target {
	case "String":
		s, ok := toString(it)
		if k == kComplex || !ok {
			return item{}, false
		}
		return item{v: s, typ: tString}, true
	case "Boolean":
		switch {
		case k == kBool:
			return it, true
		case k == kInt || k == kDec:
			switch rat(it).RatString() {
			case "1":
				return item{v: true, typ: tBool}, true
			case "0":
				return item{v: false, typ: tBool}, true
			}
		case k == kString:
			switch strings.ToLower(s) {
			case "true", "t", "yes", "y", "1", "1.0":
				return item{v: true, typ: tBool}, true
			case "false", "f", "no", "n", "0", "0.0":
				return item{v: false, typ: tBool}, true
			}
		}
	case "Integer":
		switch {
		case k == kInt:
			return item{v: it.v, typ: tInt}, true
		case k == kBool:
			if it.v.(bool) {
				return item{v: json.Number("1"), typ: tInt}, true
			}
			return item{v: json.Number("0"), typ: tInt}, true
		case k == kString && reInteger.MatchString(s):
			return item{v: json.Number(strings.TrimPrefix(s, "+")), typ: tInt}, true
		}
	case "Decimal":
		switch {
		case k == kInt || k == kDec:
			return item{v: it.v, typ: tDec}, true
		case k == kBool:
			if it.v.(bool) {
				return item{v: json.Number("1.0"), typ: tDec}, true
			}
			return item{v: json.Number("0.0"), typ: tDec}, true
		case k == kString && reDecimal.MatchString(s):
			return item{v: json.Number(strings.TrimPrefix(s, "+")), typ: tDec}, true
		}
	case "Date", "DateTime":
		if !isStr || (k != kString && k != kDate) {
			return item{}, false
		}
		d, err := parseDateTime(s)
		if err != nil {
			return item{}, false
		}
		if target == "Date" {
			d.prec = min(d.prec, 3)
			d.tz = false
			return item{v: d.format(), typ: tDate}, true
		}
		return item{v: s, typ: tDateTime}, true
	case "Time":
		if !isStr || (k != kString && k != kTime) {
			return item{}, false
		}
		if _, err := parseTime(s); err != nil {
			return item{}, false
		}
		return item{v: s, typ: tTime}, true
	case "Quantity":
		switch {
		case k == kQuantity:
			return item{v: toQuantity(it), typ: tQuantity}, true
		case k == kInt || k == kDec:
			return item{v: Quantity{Value: string(it.v.(json.Number)), Unit: "1"}, typ: tQuantity}, true
		case k == kBool:
			v := "0.0"
			if it.v.(bool) {
				v = "1.0"
			}
			return item{v: Quantity{Value: v, Unit: "1"}, typ: tQuantity}, true
		case k == kString:
			m := reQuantity.FindStringSubmatch(s)
			if m == nil {
				return item{}, false
			}
			u := m[2]
			if m[3] != "" {
				if u = calendarUnits[m[3]]; u == "" {
					return item{}, false
				}
			}
			if u == "" {
				u = "1"
			}
			return item{v: Quantity{Value: m[1], Unit: u}, typ: tQuantity}, true
		}
	}
	return item{}, false
}

// fnResolve resolves references from their text without loading the
// target: a contained reference ("#id") gives the contained resource, any
// other reference ("Patient/1", "http://x/fhir/Patient/1/_history/2") a
// stub resource {resourceType, id} of the type named in it.
func fnResolve(e *env, _ *callNode, f []item) ([]item, error) {
	var out []item
	for _, it := range f {
		var ref string
		switch v := it.v.(type) {
		case string:
			ref = v
		case map[string]any:
			ref, _ = v["reference"].(string)
		}
		if ref == "" {
			continue
		}
		if id, ok := strings.CutPrefix(ref, "#"); ok {
			root, _ := e.root.v.(map[string]any)
			for _, c := range appendValues(nil, root["contained"], "", "") {
				if m, ok := c.v.(map[string]any); ok && m["id"] == id {
					out = append(out, c)
				}
			}
			continue
		}
		if typ, id, ok := splitReference(ref); ok {
			out = append(out, item{v: map[string]any{"resourceType": typ, "id": id}, typ: typ})
		}
	}
	return out, nil
}

// splitReference finds Type/id in a relative or absolute reference,
// ignoring a trailing _history/vid.
func splitReference(ref string) (typ, id string, ok bool) {
	ref, _, _ = strings.Cut(ref, "?")
	segs := strings.Split(ref, "/")
	if n := len(segs); n >= 4 && segs[n-2] == "_history" {
		segs = segs[:n-2]
	}
	n := len(segs)
	if n < 2 {
		return "", "", false
	}
	typ, id = segs[n-2], segs[n-1]
	if !isTypeName(typ) || id == "" {
		return "", "", false
	}
	for _, c := range typ {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "", "", false
		}
	}
	return typ, id, true
}
