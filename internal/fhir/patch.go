package fhir

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
)

// ApplyJSONPatch applies an RFC 6902 JSON Patch (an array of add, remove,
// replace, move, copy and test operations) to the JSON document doc and
// returns the patched document, encoded like [Resource.MarshalJSON].
// Operations apply in order and the patch is atomic: on any error nothing
// is returned. Members of an operation other than op, path, from and value
// are ignored (RFC 6902 §4).
//
// A malformed document or patch gives an *Error with status 400; a patch
// that cannot be applied to this document (a missing target, a failed
// test) gives status 422. Diagnostics name the operation's index and JSON
// Pointer, never the values.
func ApplyJSONPatch(doc, patch []byte) ([]byte, error) {
	root, serr := decodeTree(doc)
	if serr != nil {
		return nil, serr.toError(doc)
	}
	pv, serr := decodeTree(patch)
	if serr != nil {
		return nil, serr.toError(patch)
	}
	ops, ok := pv.([]any)
	if !ok {
		return nil, badRequest("structure", "a JSON Patch must be a JSON array of operations")
	}
	budget := maxCopiedNodes
	for i, o := range ops {
		var err error
		root, err = applyOp(root, o, &budget)
		if err != nil {
			return nil, err.(*patchError).toError(i)
		}
	}
	return appendJSON(nil, root), nil
}

// patchError is a failed operation; invalid marks a malformed operation
// (400) as opposed to one that does not apply to the document (422).
type patchError struct {
	invalid bool
	op, ptr string
	msg     string
}

func (e *patchError) Error() string { return e.msg }

func (e *patchError) toError(i int) *Error {
	diag := fmt.Sprintf("JSON Patch operation %d", i)
	if e.op != "" {
		diag += " (" + e.op + " " + strconv.Quote(clip(e.ptr, 200)) + ")"
	}
	diag += ": " + e.msg
	if e.invalid {
		return badRequest("structure", diag)
	}
	return &Error{Status: http.StatusUnprocessableEntity, Issues: []Issue{{Severity: "error", Code: "processing", Diagnostics: diag}}}
}

// maxCopiedNodes bounds the JSON values that copy operations may create in
// one patch, so that a short patch cannot double a document again and
// again.
const maxCopiedNodes = 1 << 20

func applyOp(root, o any, budget *int) (any, error) {
	m, ok := o.(map[string]any)
	if !ok {
		return nil, &patchError{invalid: true, msg: "an operation must be a JSON object"}
	}
	op, _ := m["op"].(string)
	ps, ok := m["path"].(string)
	if !ok {
		return nil, &patchError{invalid: true, msg: "path is missing or not a string"}
	}
	e := &patchError{op: op, ptr: ps}
	fail := func(invalid bool, msg string) error {
		e.invalid, e.msg = invalid, msg
		return e
	}
	path, err := parsePointer(ps)
	if err != nil {
		return nil, fail(true, err.Error())
	}
	value, hasValue := m["value"]
	var from []string
	if op == "move" || op == "copy" {
		fs, ok := m["from"].(string)
		if !ok {
			return nil, fail(true, "from is missing or not a string")
		}
		if from, err = parsePointer(fs); err != nil {
			return nil, fail(true, "from: "+err.Error())
		}
	}
	if !hasValue && (op == "add" || op == "replace" || op == "test") {
		return nil, fail(true, "value is missing")
	}
	var res any
	switch op {
	case "add":
		res, err = pointerAdd(root, path, value)
	case "remove":
		res, _, err = pointerRemove(root, path)
	case "replace":
		if _, err = pointerGet(root, path); err == nil {
			res, _, err = pointerRemoveOrRoot(root, path)
			if err == nil {
				res, err = pointerAdd(res, path, value)
			}
		}
	case "move":
		if len(from) < len(path) && isPrefix(from, path) {
			return nil, fail(true, "a value cannot be moved into one of its children")
		}
		var v any
		if res, v, err = pointerRemoveOrRoot(root, from); err == nil {
			res, err = pointerAdd(res, path, v)
		}
	case "copy":
		var v any
		if v, err = pointerGet(root, from); err == nil {
			if v, err = deepCopy(v, budget); err == nil {
				res, err = pointerAdd(root, path, v)
			}
		}
	case "test":
		var v any
		if v, err = pointerGet(root, path); err == nil {
			if !jsonEqual(v, value) {
				return nil, fail(false, "test failed: the value differs")
			}
			res = root
		}
	default:
		return nil, fail(true, "unknown op (want add, remove, replace, move, copy or test)")
	}
	if err != nil {
		return nil, fail(false, err.Error())
	}
	return res, nil
}

func isPrefix(pre, p []string) bool {
	for i := range pre {
		if pre[i] != p[i] {
			return false
		}
	}
	return true
}

// parsePointer splits an RFC 6901 JSON Pointer into unescaped tokens.
func parsePointer(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if s[0] != '/' {
		return nil, fmt.Errorf("a JSON Pointer must be empty or start with '/'")
	}
	toks := strings.Split(s[1:], "/")
	for i, t := range toks {
		if !strings.Contains(t, "~") {
			continue
		}
		var b strings.Builder
		for j := 0; j < len(t); j++ {
			if t[j] != '~' {
				b.WriteByte(t[j])
				continue
			}
			if j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1') {
				return nil, fmt.Errorf("'~' must be followed by 0 or 1 in a JSON Pointer")
			}
			b.WriteByte("~/"[t[j+1]-'0'])
			j++
		}
		toks[i] = b.String()
	}
	return toks, nil
}

// arrayIndex parses an array index token: "0" or digits without a
// leading zero, below n (or equal to n when end is allowed).
func arrayIndex(tok string, n int, end bool) (int, error) {
	if tok == "-" && end {
		return n, nil
	}
	if tok == "" || (len(tok) > 1 && tok[0] == '0') || strings.Trim(tok, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not an array index", clip(tok, 20))
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i > n || (i == n && !end) {
		return 0, fmt.Errorf("array index %s is out of range", clip(tok, 20))
	}
	return i, nil
}

func pointerGet(root any, path []string) (any, error) {
	v := root
	for _, tok := range path {
		switch c := v.(type) {
		case map[string]any:
			e, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("the path does not exist")
			}
			v = e
		case []any:
			i, err := arrayIndex(tok, len(c), false)
			if err != nil {
				return nil, err
			}
			v = c[i]
		default:
			return nil, fmt.Errorf("the path does not exist")
		}
	}
	return v, nil
}

// setAt replaces the value at path (which exists) and returns the root.
func setAt(root any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	parent, err := pointerGet(root, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch c := parent.(type) {
	case map[string]any:
		c[last] = v
	case []any:
		i, err := arrayIndex(last, len(c), false)
		if err != nil {
			return nil, err
		}
		c[i] = v
	}
	return root, nil
}

func pointerAdd(root any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	parent, err := pointerGet(root, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch c := parent.(type) {
	case map[string]any:
		c[last] = v
		return root, nil
	case []any:
		i, err := arrayIndex(last, len(c), true)
		if err != nil {
			return nil, err
		}
		grown := make([]any, 0, len(c)+1)
		grown = append(append(append(grown, c[:i]...), v), c[i:]...)
		return setAt(root, path[:len(path)-1], grown)
	default:
		return nil, fmt.Errorf("the parent of the path is not an object or array")
	}
}

// pointerRemove removes the value at path and returns the new root and the
// removed value. The root itself cannot be removed.
func pointerRemove(root any, path []string) (any, any, error) {
	if len(path) == 0 {
		return nil, nil, fmt.Errorf("the whole document cannot be removed")
	}
	return pointerRemoveOrRoot(root, path)
}

// pointerRemoveOrRoot is pointerRemove where the empty path takes the whole
// document (leaving nil), as replace and move need.
func pointerRemoveOrRoot(root any, path []string) (any, any, error) {
	if len(path) == 0 {
		return nil, root, nil
	}
	parent, err := pointerGet(root, path[:len(path)-1])
	if err != nil {
		return nil, nil, err
	}
	last := path[len(path)-1]
	switch c := parent.(type) {
	case map[string]any:
		v, ok := c[last]
		if !ok {
			return nil, nil, fmt.Errorf("the path does not exist")
		}
		delete(c, last)
		return root, v, nil
	case []any:
		i, err := arrayIndex(last, len(c), false)
		if err != nil {
			return nil, nil, err
		}
		v := c[i]
		shrunk := append(append(make([]any, 0, len(c)-1), c[:i]...), c[i+1:]...)
		root, err = setAt(root, path[:len(path)-1], shrunk)
		return root, v, err
	default:
		return nil, nil, fmt.Errorf("the path does not exist")
	}
}

// deepCopy copies a tree value, charging one unit of budget per value.
func deepCopy(v any, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("the patch copies more than %d values", maxCopiedNodes)
	}
	var err error
	switch c := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(c))
		for k, e := range c {
			if m[k], err = deepCopy(e, budget); err != nil {
				return nil, err
			}
		}
		return m, nil
	case []any:
		a := make([]any, len(c))
		for i, e := range c {
			if a[i], err = deepCopy(e, budget); err != nil {
				return nil, err
			}
		}
		return a, nil
	default:
		return v, nil
	}
}

// jsonEqual compares two tree values as RFC 6902 §4.6 asks: numbers by
// value, strings, booleans and null exactly, arrays element by element and
// objects member by member regardless of order.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !jsonEqual(e, f) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		if hugeExponent(x) || hugeExponent(y) {
			return false // exact rationals of such numbers would be enormous
		}
		var p, q big.Rat
		_, okx := p.SetString(string(x))
		_, oky := q.SetString(string(y))
		return okx && oky && p.Cmp(&q) == 0
	default:
		return a == b
	}
}

// hugeExponent reports whether a number has an exponent beyond ±1000.
func hugeExponent(n json.Number) bool {
	i := strings.IndexAny(string(n), "eE")
	if i < 0 {
		return false
	}
	e, err := strconv.Atoi(strings.TrimPrefix(string(n[i+1:]), "+"))
	return err != nil || e > 1000 || e < -1000
}
