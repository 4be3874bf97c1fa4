package fhirpath

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// callNode is a function invocation on the focus.
type callNode struct {
	name string
	args []node
	typ  string         // the type argument of is, as, ofType
	re   *regexp.Regexp // the compiled pattern of matches/replaceMatches when constant
	fn   func(e *env, n *callNode, focus []item) ([]item, error)
}

func (n *callNode) eval(e *env, focus []item) ([]item, error) { return n.fn(e, n, focus) }

type funcSpec struct {
	min, max int
	fn       func(e *env, n *callNode, focus []item) ([]item, error)
}

// lookupFunc returns the implementation of the named function.
func lookupFunc(name string) (funcSpec, bool) {
	switch name {
	case "empty":
		return funcSpec{0, 0, func(_ *env, _ *callNode, f []item) ([]item, error) { return boolean(len(f) == 0), nil }}, true
	case "exists":
		return funcSpec{0, 1, fnExists}, true
	case "all":
		return funcSpec{1, 1, fnAll}, true
	case "allTrue", "anyTrue", "allFalse", "anyFalse":
		return funcSpec{0, 0, fnBoolAgg}, true
	case "count":
		return funcSpec{0, 0, func(_ *env, _ *callNode, f []item) ([]item, error) { return intItem(len(f)), nil }}, true
	case "distinct":
		return funcSpec{0, 0, func(_ *env, _ *callNode, f []item) ([]item, error) { return union(f, nil), nil }}, true
	case "isDistinct":
		return funcSpec{0, 0, func(_ *env, _ *callNode, f []item) ([]item, error) { return boolean(len(union(f, nil)) == len(f)), nil }}, true
	case "subsetOf", "supersetOf":
		return funcSpec{1, 1, fnSubset}, true
	case "where":
		return funcSpec{1, 1, fnWhere}, true
	case "select":
		return funcSpec{1, 1, fnSelect}, true
	case "repeat":
		return funcSpec{1, 1, fnRepeat}, true
	case "ofType":
		return funcSpec{1, 1, func(_ *env, n *callNode, f []item) ([]item, error) { return ofType(f, n.typ), nil }}, true
	case "as":
		return funcSpec{1, 1, fnAs}, true
	case "is":
		return funcSpec{1, 1, fnIs}, true
	case "single", "first", "last", "tail":
		return funcSpec{0, 0, fnSubsetting}, true
	case "skip", "take":
		return funcSpec{1, 1, fnSkipTake}, true
	case "intersect", "exclude", "union", "combine":
		return funcSpec{1, 1, fnCombining}, true
	case "iif":
		return funcSpec{2, 3, fnIif}, true
	case "not":
		return funcSpec{0, 0, fnNot}, true
	case "toBoolean", "convertsToBoolean", "toInteger", "convertsToInteger", "toDecimal", "convertsToDecimal",
		"toString", "convertsToString", "toDate", "convertsToDate", "toDateTime", "convertsToDateTime",
		"toTime", "convertsToTime", "toQuantity", "convertsToQuantity":
		return funcSpec{0, 1, fnConvert}, true
	case "upper", "lower", "length", "toChars", "trim":
		return funcSpec{0, 0, fnString}, true
	case "startsWith", "endsWith", "contains", "matches", "matchesFull", "indexOf", "split",
		"encode", "decode", "escape", "unescape":
		return funcSpec{1, 1, fnString}, true
	case "join":
		return funcSpec{0, 1, fnString}, true
	case "substring":
		return funcSpec{1, 2, fnString}, true
	case "replace", "replaceMatches":
		return funcSpec{2, 2, fnString}, true
	case "abs", "ceiling", "floor", "truncate", "sqrt", "exp", "ln":
		return funcSpec{0, 0, fnMath}, true
	case "round":
		return funcSpec{0, 1, fnMath}, true
	case "log", "power":
		return funcSpec{1, 1, fnMath}, true
	case "children", "descendants":
		return funcSpec{0, 0, fnTree}, true
	case "now", "today", "timeOfDay":
		return funcSpec{0, 0, fnNow}, true
	case "type":
		return funcSpec{0, 0, fnType}, true
	case "aggregate":
		return funcSpec{1, 2, fnAggregate}, true
	case "sort":
		return funcSpec{0, 8, fnSort}, true
	case "conformsTo":
		return funcSpec{1, 1, fnConformsTo}, true
	case "comparable":
		return funcSpec{1, 1, fnComparable}, true
	case "lowBoundary", "highBoundary":
		return funcSpec{0, 1, fnBoundary}, true
	case "precision":
		return funcSpec{0, 0, fnPrecision}, true
	case "trace":
		return funcSpec{1, 2, func(_ *env, _ *callNode, f []item) ([]item, error) { return f, nil }}, true
	case "extension":
		return funcSpec{1, 1, fnExtension}, true
	case "resolve":
		return funcSpec{0, 0, fnResolve}, true
	case "hasValue":
		return funcSpec{0, 0, func(_ *env, _ *callNode, f []item) ([]item, error) {
			return boolean(len(f) == 1 && isPrimitiveValue(f[0].v)), nil
		}}, true
	}
	return funcSpec{}, false
}

func newCall(name string, args []node) (node, error) {
	spec, ok := lookupFunc(name)
	if !ok {
		return nil, fmt.Errorf("fhirpath: unknown function %s()", name)
	}
	if len(args) < spec.min || len(args) > spec.max {
		return nil, fmt.Errorf("fhirpath: %s() takes %d to %d arguments, got %d", name, spec.min, spec.max, len(args))
	}
	n := &callNode{name: name, args: args, fn: spec.fn}
	switch name {
	case "is", "as", "ofType":
		t, ok := typeArg(args[0])
		if !ok {
			return nil, fmt.Errorf("fhirpath: %s() needs a type name", name)
		}
		if !knownType(t) {
			return nil, fmt.Errorf("fhirpath: unknown type %s", t)
		}
		n.typ = t
	case "matches", "matchesFull", "replaceMatches":
		if len(args) == 0 {
			return nil, fmt.Errorf("fhirpath: %s() needs a pattern", name)
		}
		if lit, ok := args[0].(*literalNode); ok {
			s, _ := lit.it.v.(string)
			re, err := compilePattern(name, s)
			if err != nil {
				return nil, err
			}
			n.re = re
		}
	}
	return n, nil
}

// compilePattern compiles a regular expression argument: '.' matches new
// lines (FHIRPath single-line mode) and matchesFull anchors the pattern.
func compilePattern(fn, pat string) (*regexp.Regexp, error) {
	if fn == "matchesFull" {
		pat = "^(?:" + pat + ")$"
	}
	re, err := regexp.Compile("(?s)" + pat)
	if err != nil {
		return nil, fmt.Errorf("fhirpath: bad pattern: %v", err)
	}
	return re, nil
}

// typeArg reads a type name given as a function argument (Patient,
// FHIR.Patient, System.String).
func typeArg(n node) (string, bool) {
	switch n := n.(type) {
	case *memberNode:
		return n.name, true
	case *pathNode:
		l, ok1 := n.l.(*memberNode)
		r, ok2 := n.r.(*memberNode)
		if ok1 && ok2 {
			return l.name + "." + r.name, true
		}
	}
	return "", false
}

func intItem(n int) []item { return []item{{v: json.Number(strconv.Itoa(n)), typ: tInt}} }

// each evaluates arg once per focus item with $this and $index set.
func each(e *env, arg node, focus []item, f func(i int, it item, res []item) (bool, error)) error {
	for i, it := range focus {
		sub := e.with(&focus[i], i, e.total)
		res, err := arg.eval(sub, []item{it})
		if err != nil {
			return err
		}
		more, err := f(i, it, res)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func fnExists(e *env, n *callNode, f []item) ([]item, error) {
	if len(n.args) == 0 {
		return boolean(len(f) > 0), nil
	}
	w, err := fnWhere(e, n, f)
	return boolean(len(w) > 0), err
}

func fnWhere(e *env, n *callNode, f []item) ([]item, error) {
	var out []item
	err := each(e, n.args[0], f, func(_ int, it item, res []item) (bool, error) {
		b, err := toBool(res)
		if b == bTrue {
			out = append(out, it)
		}
		return true, err
	})
	return out, err
}

func fnAll(e *env, n *callNode, f []item) ([]item, error) {
	all := true
	err := each(e, n.args[0], f, func(_ int, _ item, res []item) (bool, error) {
		b, err := toBool(res)
		all = b == bTrue
		return all, err
	})
	return boolean(all), err
}

func fnSelect(e *env, n *callNode, f []item) ([]item, error) {
	var out []item
	err := each(e, n.args[0], f, func(_ int, _ item, res []item) (bool, error) {
		out = append(out, res...)
		return true, nil
	})
	return out, err
}

func fnRepeat(e *env, n *callNode, f []item) ([]item, error) {
	var out []item
	queue := f
	for len(queue) > 0 {
		var next []item
		err := each(e, n.args[0], queue, func(_ int, _ item, res []item) (bool, error) {
			for _, r := range res {
				if !containsItem(out, r) {
					out = append(out, r)
					next = append(next, r)
				}
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
		queue = next
	}
	return out, nil
}

func fnBoolAgg(_ *env, n *callNode, f []item) ([]item, error) {
	want := n.name == "allTrue" || n.name == "anyTrue"
	any := n.name == "anyTrue" || n.name == "anyFalse"
	for _, it := range f {
		b, ok := it.v.(bool)
		if !ok {
			return nil, fmt.Errorf("fhirpath: %s() on a non-boolean", n.name)
		}
		if any && b == want {
			return boolean(true), nil
		}
		if !any && b != want {
			return boolean(false), nil
		}
	}
	return boolean(!any), nil
}

func fnSubset(e *env, n *callNode, f []item) ([]item, error) {
	other, err := n.args[0].eval(e, e.thisFocus())
	if err != nil {
		return nil, err
	}
	a, b := f, other
	if n.name == "supersetOf" {
		a, b = other, f
	}
	for _, x := range a {
		if !containsItem(b, x) {
			return boolean(false), nil
		}
	}
	return boolean(true), nil
}

func fnIs(_ *env, n *callNode, f []item) ([]item, error) {
	if len(f) == 0 {
		return nil, nil
	}
	if len(f) > 1 {
		return nil, fmt.Errorf("fhirpath: is() on a collection of %d items", len(f))
	}
	return boolean(isType(f[0], n.typ)), nil
}

func fnAs(_ *env, n *callNode, f []item) ([]item, error) {
	if len(f) > 1 {
		return nil, fmt.Errorf("fhirpath: as() on a collection of %d items", len(f))
	}
	return ofType(f, n.typ), nil
}

func fnSubsetting(_ *env, n *callNode, f []item) ([]item, error) {
	if len(f) == 0 {
		return nil, nil
	}
	switch n.name {
	case "single":
		if len(f) > 1 {
			return nil, fmt.Errorf("fhirpath: single() on %d items", len(f))
		}
		return f, nil
	case "first":
		return f[:1], nil
	case "last":
		return f[len(f)-1:], nil
	}
	return f[1:], nil
}

func fnSkipTake(e *env, n *callNode, f []item) ([]item, error) {
	arg, err := n.args[0].eval(e, e.thisFocus())
	if err != nil {
		return nil, err
	}
	k, ok, err := singletonInt(arg)
	if err != nil || !ok {
		return nil, err
	}
	k = max(0, min(k, len(f)))
	if n.name == "skip" {
		return f[k:], nil
	}
	return f[:k], nil
}

func fnCombining(e *env, n *callNode, f []item) ([]item, error) {
	other, err := n.args[0].eval(e, e.thisFocus())
	if err != nil {
		return nil, err
	}
	switch n.name {
	case "union":
		return union(f, other), nil
	case "combine":
		return append(append([]item(nil), f...), other...), nil
	}
	var out []item
	for _, x := range f {
		if containsItem(other, x) == (n.name == "intersect") {
			if n.name == "intersect" && containsItem(out, x) {
				continue
			}
			out = append(out, x)
		}
	}
	return out, nil
}

func fnIif(e *env, n *callNode, f []item) ([]item, error) {
	if len(f) > 1 {
		return nil, fmt.Errorf("fhirpath: iif() on a collection")
	}
	sub := e
	if len(f) == 1 {
		sub = e.with(&f[0], e.index, e.total)
	}
	c, err := n.args[0].eval(sub, f)
	if err != nil {
		return nil, err
	}
	b, err := toBool(c)
	if err != nil {
		return nil, err
	}
	if b == bTrue {
		return n.args[1].eval(sub, f)
	}
	if len(n.args) == 3 {
		return n.args[2].eval(sub, f)
	}
	return nil, nil
}

func fnNot(_ *env, _ *callNode, f []item) ([]item, error) {
	b, err := toBool(f)
	switch b {
	case bTrue:
		return boolean(false), err
	case bFalse:
		return boolean(true), err
	}
	return nil, err
}

// singletonInt reads a single integer argument; ok is false when empty.
func singletonInt(xs []item) (int, bool, error) {
	if len(xs) == 0 {
		return 0, false, nil
	}
	if len(xs) > 1 || kindOf(xs[0]) != kInt {
		return 0, false, fmt.Errorf("fhirpath: expected a single integer")
	}
	i, err := strconv.Atoi(string(xs[0].v.(json.Number)))
	return i, err == nil, err
}

// argString evaluates argument i as a single string (ok false when empty).
func argString(e *env, n *callNode, i int) (string, bool, error) {
	xs, err := n.args[i].eval(e, e.thisFocus())
	if err != nil || len(xs) == 0 {
		return "", false, err
	}
	s, ok := xs[0].v.(string)
	if len(xs) > 1 || !ok {
		return "", false, fmt.Errorf("fhirpath: %s() expects a string argument", n.name)
	}
	return s, true, nil
}

func fnString(e *env, n *callNode, f []item) ([]item, error) {
	if len(f) == 0 {
		return nil, nil
	}
	if n.name == "join" {
		sep := ""
		if len(n.args) > 0 {
			s, _, err := argString(e, n, 0)
			if err != nil {
				return nil, err
			}
			sep = s
		}
		parts := make([]string, len(f))
		for i, it := range f {
			parts[i] = str(it)
		}
		return []item{{v: strings.Join(parts, sep), typ: tString}}, nil
	}
	if len(f) > 1 {
		return nil, fmt.Errorf("fhirpath: %s() on a collection of %d items", n.name, len(f))
	}
	s, ok := f[0].v.(string)
	if !ok {
		return nil, fmt.Errorf("fhirpath: %s() on a non-string", n.name)
	}
	if n.name == "substring" {
		return substring(e, n, s)
	}
	args := make([]string, len(n.args))
	for i := range n.args {
		if i == 0 && n.re != nil {
			continue
		}
		a, ok, err := argString(e, n, i)
		if err != nil || !ok {
			return nil, err
		}
		args[i] = a
	}
	text := func(v string) []item { return []item{{v: v, typ: tString}} }
	switch n.name {
	case "startsWith":
		return boolean(strings.HasPrefix(s, args[0])), nil
	case "endsWith":
		return boolean(strings.HasSuffix(s, args[0])), nil
	case "contains":
		return boolean(strings.Contains(s, args[0])), nil
	case "indexOf":
		i := strings.Index(s, args[0])
		if i > 0 {
			i = utf8.RuneCountInString(s[:i])
		}
		return intItem(i), nil
	case "matches", "matchesFull", "replaceMatches":
		re := n.re
		if re == nil {
			var err error
			if re, err = compilePattern(n.name, args[0]); err != nil {
				return nil, err
			}
		}
		if n.name != "replaceMatches" {
			return boolean(re.MatchString(s)), nil
		}
		if re.String() == "(?s)" {
			return text(s), nil
		}
		return text(re.ReplaceAllString(s, args[1])), nil
	case "replace":
		return text(strings.ReplaceAll(s, args[0], args[1])), nil
	case "upper":
		return text(strings.ToUpper(s)), nil
	case "lower":
		return text(strings.ToLower(s)), nil
	case "trim":
		return text(strings.TrimSpace(s)), nil
	case "length":
		return intItem(utf8.RuneCountInString(s)), nil
	case "toChars":
		var out []item
		for _, r := range s {
			out = append(out, item{v: string(r), typ: tString})
		}
		return out, nil
	case "split":
		var out []item
		for _, p := range strings.Split(s, args[0]) {
			out = append(out, item{v: p, typ: tString})
		}
		return out, nil
	case "encode", "decode", "escape", "unescape":
		r, ok := transcode(n.name, args[0], s)
		if !ok {
			return nil, nil
		}
		return text(r), nil
	}
	return nil, fmt.Errorf("fhirpath: %s() is not supported", n.name)
}

func substring(e *env, n *callNode, s string) ([]item, error) {
	r := []rune(s)
	var idx [2]int
	idx[1] = len(r)
	for i, a := range n.args {
		xs, err := a.eval(e, e.thisFocus())
		if err != nil {
			return nil, err
		}
		k, ok, err := singletonInt(xs)
		if err != nil {
			return nil, err
		}
		if !ok {
			if i == 0 {
				return nil, nil
			}
			continue
		}
		if i == 0 {
			idx[0] = k
		} else {
			idx[1] = idx[0] + max(k, 0)
		}
	}
	if idx[0] < 0 || idx[0] >= len(r) {
		return nil, nil
	}
	return []item{{v: string(r[idx[0]:min(idx[1], len(r))]), typ: tString}}, nil
}

func fnMath(e *env, n *callNode, f []item) ([]item, error) {
	if len(f) == 0 {
		return nil, nil
	}
	if len(f) > 1 {
		return nil, fmt.Errorf("fhirpath: %s() on a collection", n.name)
	}
	k := kindOf(f[0])
	if k == kQuantity && n.name == "abs" {
		q := toQuantity(f[0])
		q.Value = strings.TrimPrefix(q.Value, "-")
		return []item{{v: q, typ: tQuantity}}, nil
	}
	if !isNum(k) {
		return nil, fmt.Errorf("fhirpath: %s() on a non-number", n.name)
	}
	x := rat(f[0])
	fl, _ := x.Float64()
	dec := func(v float64) ([]item, error) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil
		}
		return []item{{v: json.Number(strconv.FormatFloat(v, 'f', -1, 64)), typ: tDec}}, nil
	}
	integer := func(v float64) ([]item, error) {
		return []item{{v: json.Number(strconv.FormatFloat(v, 'f', 0, 64)), typ: tInt}}, nil
	}
	switch n.name {
	case "abs":
		return []item{{v: ratNumber(new(big.Rat).Abs(x)), typ: f[0].typ}}, nil
	case "ceiling":
		return integer(math.Ceil(fl))
	case "floor":
		return integer(math.Floor(fl))
	case "truncate":
		return integer(math.Trunc(fl))
	case "round":
		p := 0
		if len(n.args) == 1 {
			xs, err := n.args[0].eval(e, e.thisFocus())
			if err != nil {
				return nil, err
			}
			if p, _, err = singletonInt(xs); err != nil {
				return nil, err
			}
		}
		return []item{{v: json.Number(x.FloatString(p)), typ: tDec}}, nil
	case "sqrt":
		return dec(math.Sqrt(fl))
	case "exp":
		return dec(math.Exp(fl))
	case "ln":
		return dec(math.Log(fl))
	}
	ys, err := n.args[0].eval(e, e.thisFocus())
	if err != nil || len(ys) == 0 {
		return nil, err
	}
	if !isNum(kindOf(ys[0])) {
		return nil, fmt.Errorf("fhirpath: %s() needs a number", n.name)
	}
	y, _ := rat(ys[0]).Float64()
	if n.name == "log" {
		return dec(math.Log(fl) / math.Log(y))
	}
	r := math.Pow(fl, y)
	if k == kInt && kindOf(ys[0]) == kInt && r == math.Trunc(r) {
		return integer(r)
	}
	return dec(r)
}

// fnTree implements children() and descendants().
func fnTree(_ *env, n *callNode, f []item) ([]item, error) {
	var out []item
	queue := f
	for len(queue) > 0 {
		var next []item
		for _, it := range queue {
			m, ok := it.v.(map[string]any)
			if !ok {
				continue
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				if k != "resourceType" && !strings.HasPrefix(k, "_") {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				next = children(next, it, k)
			}
		}
		out = append(out, next...)
		if n.name == "children" {
			break
		}
		queue = next
	}
	return out, nil
}

func fnExtension(e *env, n *callNode, f []item) ([]item, error) {
	url, ok, err := argString(e, n, 0)
	if err != nil || !ok {
		return nil, err
	}
	var out []item
	for _, x := range f {
		for _, it := range children(nil, x, "extension") {
			if m, ok := it.v.(map[string]any); ok && m["url"] == url {
				out = append(out, it)
			}
		}
	}
	return out, nil
}

func isPrimitiveValue(v any) bool {
	switch v.(type) {
	case string, bool, json.Number:
		return true
	}
	return false
}
