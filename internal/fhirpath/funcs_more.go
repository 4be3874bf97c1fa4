package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// transcode implements encode, decode, escape and unescape; ok is false
// for an unknown format or undecodable input.
func transcode(fn, format, s string) (string, bool) {
	switch fn + ":" + format {
	case "encode:base64":
		return base64.StdEncoding.EncodeToString([]byte(s)), true
	case "encode:urlbase64":
		return base64.URLEncoding.EncodeToString([]byte(s)), true
	case "encode:hex":
		return hex.EncodeToString([]byte(s)), true
	case "decode:base64", "decode:urlbase64", "decode:hex":
		var b []byte
		var err error
		switch format {
		case "base64":
			b, err = base64.StdEncoding.DecodeString(s)
		case "urlbase64":
			b, err = base64.URLEncoding.DecodeString(s)
		default:
			b, err = hex.DecodeString(s)
		}
		return string(b), err == nil
	case "escape:html":
		return htmlEscaper.Replace(s), true
	case "unescape:html":
		return htmlUnescaper.Replace(s), true
	case "escape:json":
		var b strings.Builder
		for _, r := range s {
			switch {
			case r == '"' || r == '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case r < 0x20:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteRune(r)
			}
		}
		return b.String(), true
	case "unescape:json":
		// Quote bare double quotes so that s reads as a JSON string body.
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '\\':
				b.WriteByte(s[i])
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				b.WriteString(`\"`)
			default:
				b.WriteByte(s[i])
			}
		}
		var out string
		if err := json.Unmarshal([]byte(`"`+b.String()+`"`), &out); err != nil {
			return "", false
		}
		return out, true
	}
	return "", false
}

var (
	htmlEscaper   = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
	htmlUnescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&apos;", "'")
)

// fnNow implements now(), today() and timeOfDay() from the evaluation time.
func fnNow(e *env, n *callNode, _ []item) ([]item, error) {
	if e.now.IsZero() {
		*e.now = time.Now()
	}
	switch n.name {
	case "today":
		return []item{{v: e.now.Format("2006-01-02"), typ: tDate}}, nil
	case "timeOfDay":
		return []item{{v: e.now.Format("15:04:05.000"), typ: tTime}}, nil
	}
	return []item{{v: e.now.Format("2006-01-02T15:04:05.000Z07:00"), typ: tDateTime}}, nil
}

// fnType returns the type of each item as {namespace, name}.
func fnType(_ *env, _ *callNode, f []item) ([]item, error) {
	var out []item
	for _, it := range f {
		ns, name, ok := strings.Cut(it.typ, ".")
		switch {
		case it.typ == "":
			continue
		case ok && ns == "System":
		default:
			ns, name = "FHIR", it.typ
		}
		out = append(out, item{v: map[string]any{"namespace": ns, "name": name}, typ: "System.SimpleTypeInfo"})
	}
	return out, nil
}

// fnAggregate folds the focus with $this and $total.
func fnAggregate(e *env, n *callNode, f []item) ([]item, error) {
	var total []item
	if len(n.args) == 2 {
		var err error
		if total, err = n.args[1].eval(e, e.thisFocus()); err != nil {
			return nil, err
		}
	}
	for i := range f {
		var err error
		if total, err = n.args[0].eval(e.with(&f[i], i, total), f[i:i+1]); err != nil {
			return nil, err
		}
	}
	return total, nil
}

// fnSort orders the focus by its value or by the given keys; a key
// written with a unary minus sorts descending.
func fnSort(e *env, n *callNode, f []item) ([]item, error) {
	type keyed struct {
		it   item
		keys [][]item
	}
	rows := make([]keyed, len(f))
	for i := range f {
		rows[i].it = f[i]
		if len(n.args) == 0 {
			rows[i].keys = [][]item{f[i : i+1]}
		}
		for _, a := range n.args {
			if neg, ok := a.(*negNode); ok {
				a = neg.x
			}
			k, err := a.eval(e.with(&f[i], i, nil), f[i:i+1])
			if err != nil {
				return nil, err
			}
			rows[i].keys = append(rows[i].keys, k)
		}
	}
	var sortErr error
	slices.SortStableFunc(rows, func(a, b keyed) int {
		for k := range a.keys {
			desc := false
			if k < len(n.args) {
				_, desc = n.args[k].(*negNode)
			}
			ka, kb := a.keys[k], b.keys[k]
			switch { // empty keys first, in both orders
			case len(ka) == 0 && len(kb) == 0:
				continue
			case len(ka) == 0:
				return -1
			case len(kb) == 0:
				return 1
			}
			c := compareKeys(ka, kb, &sortErr)
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	out := make([]item, len(rows))
	for i, r := range rows {
		out[i] = r.it
	}
	return out, sortErr
}

// compareKeys orders two non-empty sort keys by their first item.
func compareKeys(a, b []item, errp *error) int {
	c, _, err := compare(a[0], b[0])
	if err != nil && *errp == nil {
		*errp = err
	}
	return c
}

// fnComparable reports whether two quantities have units of the same
// dimension (among the units this package converts).
func fnComparable(e *env, n *callNode, f []item) ([]item, error) {
	other, err := n.args[0].eval(e, e.thisFocus())
	if err != nil || len(f) == 0 || len(other) == 0 {
		return nil, err
	}
	if len(f) > 1 || len(other) > 1 || kindOf(f[0]) != kQuantity || kindOf(other[0]) != kQuantity {
		return nil, fmt.Errorf("fhirpath: comparable() needs two quantities")
	}
	_, ua := normQuantity(toQuantity(f[0]))
	_, ub := normQuantity(toQuantity(other[0]))
	return boolean(ua == ub), nil
}

// fnConformsTo checks conformance to a core StructureDefinition (the base
// definition of a type): profiles are not validated, so any other URL is
// an error.
func fnConformsTo(e *env, n *callNode, f []item) ([]item, error) {
	url, ok, err := argString(e, n, 0)
	if err != nil || !ok || len(f) == 0 {
		return nil, err
	}
	if len(f) > 1 {
		return nil, fmt.Errorf("fhirpath: conformsTo() on a collection")
	}
	t, core := strings.CutPrefix(url, "http://hl7.org/fhir/StructureDefinition/")
	if !core || !hasType(t) {
		return nil, fmt.Errorf("fhirpath: conformsTo(): cannot check profile %q", url)
	}
	return boolean(isType(f[0], t)), nil
}

// fnPrecision gives the number of decimal places of a decimal, or the
// number of digits of a date, dateTime or time.
func fnPrecision(_ *env, _ *callNode, f []item) ([]item, error) {
	if len(f) != 1 {
		if len(f) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("fhirpath: precision() on a collection")
	}
	switch kindOf(f[0]) {
	case kInt, kDec:
		return intItem(decimals(f[0])), nil
	case kDate, kTime:
		s := f[0].v.(string)
		if i := strings.IndexAny(s, "Z+"); i >= 0 {
			s = s[:i]
		}
		if i := strings.LastIndexByte(s, '-'); i > 7 {
			s = s[:i]
		}
		n := 0
		for _, r := range s {
			if unicode.IsDigit(r) {
				n++
			}
		}
		return intItem(n), nil
	}
	return nil, fmt.Errorf("fhirpath: precision() on %s", typeName(f[0]))
}
