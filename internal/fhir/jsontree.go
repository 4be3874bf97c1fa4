package fhir

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of JSON values. FHIR resources nest a few
// dozen levels at most; the bound keeps hostile input from using deep
// recursion.
const maxDepth = 512

// syntaxError is a JSON error at byte offset off. path holds the object
// keys and array indexes leading to the failing value, innermost first:
// each parse frame appends its own segment while the error bubbles up, so
// the success path pays nothing for locations.
type syntaxError struct {
	off  int
	msg  string
	path []string
	root string // resourceType of the top-level object when it was read before the error
}

// decodeTree parses one JSON value from data into the generic tree form
// (map[string]any, []any, string, json.Number, bool, nil). It rejects
// duplicate object keys, invalid UTF-8 and trailing data.
func decodeTree(data []byte) (any, *syntaxError) {
	d := treeDecoder{data: data}
	d.skipSpace()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, &syntaxError{off: d.pos, msg: "unexpected data after the top-level value"}
	}
	return v, nil
}

type treeDecoder struct {
	data []byte
	pos  int
	keys map[string]string // object keys seen so far, to share their strings
}

func (d *treeDecoder) errorf(format string, args ...any) *syntaxError {
	return &syntaxError{off: d.pos, msg: fmt.Sprintf(format, args...)}
}

func (d *treeDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *treeDecoder) value(depth int) (any, *syntaxError) {
	if d.pos >= len(d.data) {
		return nil, d.errorf("unexpected end of JSON input")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		return d.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	default:
		return nil, d.errorf("invalid character %q looking for the beginning of a value", c)
	}
}

func (d *treeDecoder) literal(lit string) *syntaxError {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return d.errorf("invalid literal, expected %s", lit)
	}
	d.pos += len(lit)
	return nil
}

func (d *treeDecoder) object(depth int) (any, *syntaxError) {
	if depth > maxDepth {
		return nil, d.errorf("JSON nested deeper than %d levels", maxDepth)
	}
	d.pos++ // '{'
	m := make(map[string]any)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return m, nil
	}
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.errorf("expected a string object key")
		}
		kpos := d.pos
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			err := &syntaxError{off: kpos, msg: "duplicate object key", path: []string{k}}
			if rt, ok := m["resourceType"].(string); ok && depth == 1 {
				err.root = rt
			}
			return nil, err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errorf("expected ':' after an object key")
		}
		d.pos++
		d.skipSpace()
		v, err := d.value(depth)
		if err != nil {
			err.path = append(err.path, k)
			if rt, ok := m["resourceType"].(string); ok && depth == 1 {
				err.root = rt
			}
			return nil, err
		}
		m[k] = v
		if end, err := d.next('}', "an object member"); err != nil || end {
			return m, err
		}
	}
}

func (d *treeDecoder) array(depth int) (any, *syntaxError) {
	if depth > maxDepth {
		return nil, d.errorf("JSON nested deeper than %d levels", maxDepth)
	}
	d.pos++ // '['
	a := make([]any, 0, 4)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return a, nil
	}
	for {
		v, err := d.value(depth)
		if err != nil {
			err.path = append(err.path, "["+strconv.Itoa(len(a))+"]")
			return nil, err
		}
		a = append(a, v)
		if end, err := d.next(']', "an array element"); err != nil || end {
			return a, err
		}
	}
}

// next reads what follows a member or element: ',' (end false) or the
// closing byte (end true); anything else is an error naming what came
// before.
func (d *treeDecoder) next(closing byte, after string) (end bool, err *syntaxError) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return false, d.errorf("unexpected end of JSON input")
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		d.skipSpace()
		return false, nil
	case closing:
		d.pos++
		return true, nil
	}
	return false, d.errorf("expected ',' or '%c' after %s", closing, after)
}

// number scans a JSON number and keeps its text as a json.Number.
func (d *treeDecoder) number() (any, *syntaxError) {
	start := d.pos
	p := d.pos
	data := d.data
	if data[p] == '-' {
		p++
	}
	digits := func() int {
		s := p
		for p < len(data) && data[p] >= '0' && data[p] <= '9' {
			p++
		}
		return p - s
	}
	switch {
	case p < len(data) && data[p] == '0':
		p++
	case digits() == 0:
		d.pos = p
		return nil, d.errorf("invalid number")
	}
	if p < len(data) && data[p] == '.' {
		p++
		if digits() == 0 {
			d.pos = p
			return nil, d.errorf("invalid number: no digits after the decimal point")
		}
	}
	if p < len(data) && (data[p] == 'e' || data[p] == 'E') {
		p++
		if p < len(data) && (data[p] == '+' || data[p] == '-') {
			p++
		}
		if digits() == 0 {
			d.pos = p
			return nil, d.errorf("invalid number: no digits in the exponent")
		}
	}
	d.pos = p
	return json.Number(data[start:p]), nil
}

// key scans an object key. Plain keys are shared through d.keys: a
// resource repeats a few dozen keys ("system", "code", ...) many times.
func (d *treeDecoder) key() (string, *syntaxError) {
	start := d.pos + 1
	for p := start; p < len(d.data) && p-start <= 64; p++ {
		c := d.data[p]
		if c == '"' {
			d.pos = p + 1
			raw := d.data[start:p]
			if k, ok := d.keys[string(raw)]; ok {
				return k, nil
			}
			if d.keys == nil {
				d.keys = make(map[string]string)
			}
			k := string(raw)
			d.keys[k] = k
			return k, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	return d.str()
}

// str scans a JSON string starting at the opening quote.
func (d *treeDecoder) str() (string, *syntaxError) {
	d.pos++ // opening quote
	start := d.pos
	// Fast path: plain ASCII without escapes.
	for p := start; p < len(d.data); p++ {
		c := d.data[p]
		if c == '"' {
			d.pos = p + 1
			return string(d.data[start:p]), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	var b []byte
	p := start
	for {
		if p >= len(d.data) {
			d.pos = p
			return "", d.errorf("unexpected end of JSON input in a string")
		}
		c := d.data[p]
		switch {
		case c == '"':
			d.pos = p + 1
			return string(b), nil
		case c < 0x20:
			d.pos = p
			return "", d.errorf("control character %#02x in a string", c)
		case c == '\\':
			if p+1 >= len(d.data) {
				d.pos = p
				return "", d.errorf("unexpected end of JSON input in a string")
			}
			p++
			switch e := d.data[p]; e {
			case '"', '\\', '/':
				b = append(b, e)
				p++
			case 'b':
				b = append(b, '\b')
				p++
			case 'f':
				b = append(b, '\f')
				p++
			case 'n':
				b = append(b, '\n')
				p++
			case 'r':
				b = append(b, '\r')
				p++
			case 't':
				b = append(b, '\t')
				p++
			case 'u':
				r, ok := hex4(d.data, p+1)
				if !ok {
					d.pos = p
					return "", d.errorf("invalid \\u escape in a string")
				}
				p += 5
				if utf16.IsSurrogate(r) {
					if r2, ok := hex4(d.data, p+2); ok && p+1 < len(d.data) && d.data[p] == '\\' && d.data[p+1] == 'u' {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							p += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				d.pos = p
				return "", d.errorf("invalid escape %q in a string", e)
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			p++
		default:
			r, size := utf8.DecodeRune(d.data[p:])
			if r == utf8.RuneError && size == 1 {
				d.pos = p
				return "", d.errorf("invalid UTF-8 in a string")
			}
			b = append(b, d.data[p:p+size]...)
			p += size
		}
	}
}

func hex4(data []byte, p int) (rune, bool) {
	if p+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[p : p+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendJSON appends the JSON encoding of a tree value. Object keys are
// written in sorted order except that "resourceType" comes first, as FHIR
// JSON recommends. HTML characters are not escaped. Values outside the tree
// types are encoded with encoding/json.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, v)
	case json.Number:
		if v == "" {
			return append(b, '0')
		}
		return append(b, v...)
	case bool:
		return strconv.AppendBool(b, v)
	case map[string]any:
		return appendObject(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	default:
		enc, err := json.Marshal(v)
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, enc...)
	}
}

func appendObject(b []byte, m map[string]any) []byte {
	b = append(b, '{')
	first := true
	if rt, ok := m["resourceType"]; ok {
		b = appendString(b, "resourceType")
		b = append(b, ':')
		b = appendJSON(b, rt)
		first = false
	}
	var small [32]string
	keys := small[:0]
	for k := range m {
		if k != "resourceType" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		b = appendJSON(b, m[k])
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028 and U+2029 are escaped so the output is also valid JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case utf8.RuneError:
				b = append(b, `\ufffd`...)
			default:
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
