package fhirpath

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strings"
)

type binaryNode struct {
	op   string
	l, r node
}

func (n *binaryNode) eval(e *env, focus []item) ([]item, error) {
	l, err := n.l.eval(e, focus)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "and", "or", "xor", "implies":
		return n.logic(e, focus, l)
	}
	r, err := n.r.eval(e, focus)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "|":
		return union(l, r), nil
	case "=", "!=":
		b, ok := equalColl(l, r)
		if !ok {
			return nil, nil
		}
		return boolean(b == (n.op == "=")), nil
	case "~", "!~":
		return boolean(equivColl(l, r) == (n.op == "~")), nil
	case "&":
		var x, y string
		if len(l) == 1 {
			x = str(l[0])
		}
		if len(r) == 1 {
			y = str(r[0])
		}
		if len(l) > 1 || len(r) > 1 {
			return nil, fmt.Errorf("fhirpath: operator '&' needs single items")
		}
		return []item{{v: x + y, typ: tString}}, nil
	case "in", "contains":
		if n.op == "contains" {
			l, r = r, l
		}
		if len(l) == 0 {
			return nil, nil
		}
		if len(l) > 1 {
			return nil, fmt.Errorf("fhirpath: %q needs a single item", n.op)
		}
		for _, x := range r {
			if b, ok := equal(l[0], x); ok && b {
				return boolean(true), nil
			}
		}
		return boolean(false), nil
	}
	if len(l) == 0 || len(r) == 0 {
		return nil, nil
	}
	if len(l) > 1 || len(r) > 1 {
		return nil, fmt.Errorf("fhirpath: operator %q needs single items", n.op)
	}
	switch n.op {
	case "<", ">", "<=", ">=":
		c, ok, err := compare(l[0], r[0])
		if err != nil || !ok {
			return nil, err
		}
		switch n.op {
		case "<":
			return boolean(c < 0), nil
		case ">":
			return boolean(c > 0), nil
		case "<=":
			return boolean(c <= 0), nil
		}
		return boolean(c >= 0), nil
	}
	return arith(n.op, l[0], r[0])
}

// logic evaluates the three-valued boolean operators.
func (n *binaryNode) logic(e *env, focus []item, l []item) ([]item, error) {
	a, err := toBool(l)
	if err != nil {
		return nil, err
	}
	// Short cuts that do not need the right operand.
	switch {
	case n.op == "and" && a == bFalse:
		return boolean(false), nil
	case n.op == "or" && a == bTrue:
		return boolean(true), nil
	case n.op == "implies" && a == bFalse:
		return boolean(true), nil
	}
	r, err := n.r.eval(e, focus)
	if err != nil {
		return nil, err
	}
	b, err := toBool(r)
	if err != nil {
		return nil, err
	}
	var res tri
	switch n.op {
	case "and":
		switch {
		case b == bFalse:
			res = bFalse
		case a == bTrue && b == bTrue:
			res = bTrue
		}
	case "or":
		switch {
		case b == bTrue:
			res = bTrue
		case a == bFalse && b == bFalse:
			res = bFalse
		}
	case "xor":
		if a != bEmpty && b != bEmpty {
			res = fromBool(a != b)
		}
	case "implies":
		switch {
		case b == bTrue:
			res = bTrue
		case a == bTrue && b == bFalse:
			res = bFalse
		}
	}
	return res.items(), nil
}

// tri is a three-valued boolean: empty, false or true.
type tri int

const (
	bEmpty tri = iota
	bFalse
	bTrue
)

func fromBool(b bool) tri {
	if b {
		return bTrue
	}
	return bFalse
}

func (t tri) items() []item {
	if t == bEmpty {
		return nil
	}
	return boolean(t == bTrue)
}

// toBool applies singleton evaluation of collections for boolean operands:
// empty is empty, a single boolean is itself, any other single item is true.
func toBool(xs []item) (tri, error) {
	switch len(xs) {
	case 0:
		return bEmpty, nil
	case 1:
		if b, ok := xs[0].v.(bool); ok {
			return fromBool(b), nil
		}
		return bTrue, nil
	}
	return bEmpty, fmt.Errorf("fhirpath: expected a single boolean, got %d items", len(xs))
}

// union merges two collections, removing duplicates.
func union(a, b []item) []item {
	var out []item
	for _, x := range append(append([]item(nil), a...), b...) {
		if !containsItem(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func containsItem(xs []item, x item) bool {
	for _, y := range xs {
		if b, ok := equal(x, y); ok && b {
			return true
		}
	}
	return false
}

// equalColl is collection equality: ok is false when the result is empty.
func equalColl(a, b []item) (eq, ok bool) {
	if len(a) == 0 || len(b) == 0 {
		return false, false
	}
	if len(a) != len(b) {
		return false, true
	}
	for i := range a {
		e, ok := equal(a[i], b[i])
		if !ok {
			return false, false
		}
		if !e {
			return false, true
		}
	}
	return true, true
}

func equivColl(a, b []item) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && equiv(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// kind is the FHIRPath category of a value.
type kind int

const (
	kOther kind = iota
	kBool
	kString
	kInt
	kDec
	kDate
	kTime
	kQuantity
	kComplex
)

func kindOf(it item) kind {
	switch v := it.v.(type) {
	case bool:
		return kBool
	case json.Number:
		switch it.typ {
		case tInt, "integer", "positiveInt", "unsignedInt", "integer64":
			return kInt
		case tDec, "decimal":
			return kDec
		}
		if strings.ContainsAny(string(v), ".eE") {
			return kDec
		}
		return kInt
	case string:
		switch it.typ {
		case tDate, tDateTime, "date", "dateTime", "instant":
			return kDate
		case tTime, "time":
			return kTime
		}
		return kString
	case Quantity:
		return kQuantity
	case map[string]any:
		if isQuantityType(it.typ) {
			return kQuantity
		}
		return kComplex
	}
	return kOther
}

func isQuantityType(t string) bool {
	for ; t != ""; t = baseType(t) {
		if t == "Quantity" {
			return true
		}
	}
	return false
}

// equal is FHIRPath '=' on two items; ok is false when the result is empty
// (dates of different precision).
func equal(a, b item) (eq, ok bool) {
	ka, kb := kindOf(a), kindOf(b)
	switch {
	case isNum(ka) && isNum(kb):
		return rat(a).Cmp(rat(b)) == 0, true
	case ka == kDate || kb == kDate || ka == kTime || kb == kTime:
		c, ok, err := compare(a, b)
		if err != nil {
			return false, true
		}
		return c == 0, ok
	case ka == kQuantity && kb == kQuantity:
		c, ok, err := compare(a, b)
		if err != nil {
			return false, true
		}
		if !ok { // calendar year/month against UCUM units: undetermined
			return false, !calendarMismatch(a, b)
		}
		return c == 0, true
	case ka == kString && kb == kString:
		return a.v.(string) == b.v.(string), true
	case ka != kb:
		return false, true
	}
	return reflect.DeepEqual(a.v, b.v), true
}

// equiv is FHIRPath '~'.
func equiv(a, b item) bool {
	ka, kb := kindOf(a), kindOf(b)
	switch {
	case ka == kString && kb == kString:
		return normSpace(a.v.(string)) == normSpace(b.v.(string))
	case ka == kDec || kb == kDec:
		if !isNum(ka) || !isNum(kb) {
			return false
		}
		p := min(decimals(a), decimals(b))
		return roundRat(rat(a), p).Cmp(roundRat(rat(b), p)) == 0
	case ka == kDate || kb == kDate || ka == kTime || kb == kTime:
		c, ok, err := compare(a, b)
		return err == nil && ok && c == 0
	case ka == kQuantity && kb == kQuantity:
		va, ua := normQuantity(toQuantity(a))
		vb, ub := normQuantity(toQuantity(b))
		p := min(ratDecimals(va), ratDecimals(vb))
		return ua == ub && roundRat(va, p).Cmp(roundRat(vb, p)) == 0
	case ka == kComplex && kb == kComplex:
		ma, mb := a.v.(map[string]any), b.v.(map[string]any)
		if len(ma) != len(mb) {
			return false
		}
		for k, va := range ma {
			vb, ok := mb[k]
			if !ok || !equivColl(appendValues(nil, va, "", ""), appendValues(nil, vb, "", "")) {
				return false
			}
		}
		return true
	}
	e, ok := equal(a, b)
	return ok && e
}

func normSpace(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

func isNum(k kind) bool { return k == kInt || k == kDec }

// rat returns the exact value of a number item.
func rat(it item) *big.Rat {
	r, ok := new(big.Rat).SetString(string(it.v.(json.Number)))
	if !ok {
		return new(big.Rat)
	}
	return r
}

// decimals is the number of digits after the decimal point of a number.
func decimals(it item) int {
	s := string(it.v.(json.Number))
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// ratDecimals is the number of decimal places of r written exactly (at
// most 8).
func ratDecimals(r *big.Rat) int {
	s := string(ratNumber(r))
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// calendarMismatch reports whether one quantity has a calendar year or
// month unit and the other a UCUM time unit: they do not compare.
func calendarMismatch(a, b item) bool {
	ua, ub := toQuantity(a).Unit, toQuantity(b).Unit
	cal := func(u string) bool { return u == "year" || u == "month" }
	return cal(ua) != cal(ub)
}

func roundRat(r *big.Rat, places int) *big.Rat {
	x, _ := new(big.Rat).SetString(r.FloatString(places))
	return x
}

// ratNumber formats r as a json.Number: exact when r is a finite decimal,
// else rounded to 8 decimal places.
func ratNumber(r *big.Rat) json.Number {
	if r.IsInt() {
		return json.Number(r.Num().String())
	}
	for p := 1; p <= 8; p++ {
		s := r.FloatString(p)
		if x, _ := new(big.Rat).SetString(s); x.Cmp(r) == 0 {
			return json.Number(s)
		}
	}
	return json.Number(r.FloatString(8))
}

// compare orders two singleton items; ok is false when the result is
// empty (dates of different precision), err when they are not comparable.
func compare(a, b item) (c int, ok bool, err error) {
	ka, kb := kindOf(a), kindOf(b)
	switch {
	case isNum(ka) && isNum(kb):
		return rat(a).Cmp(rat(b)), true, nil
	case ka == kString && kb == kString:
		return strings.Compare(a.v.(string), b.v.(string)), true, nil
	case (ka == kDate || kb == kDate) && (ka == kDate || ka == kString) && (kb == kDate || kb == kString):
		da, ea := parseDateTime(a.v.(string))
		db, eb := parseDateTime(b.v.(string))
		if ea != nil || eb != nil {
			return 0, false, fmt.Errorf("fhirpath: bad date")
		}
		c, ok := da.cmp(db)
		return c, ok, nil
	case ka == kTime && kb == kTime:
		da, ea := parseTime(a.v.(string))
		db, eb := parseTime(b.v.(string))
		if ea != nil || eb != nil {
			return 0, false, fmt.Errorf("fhirpath: bad time")
		}
		c, ok := da.cmp(db)
		return c, ok, nil
	case ka == kQuantity && kb == kQuantity:
		qa, qb := toQuantity(a), toQuantity(b)
		va, ua := normQuantity(qa)
		vb, ub := normQuantity(qb)
		if ua != ub {
			return 0, false, nil
		}
		return va.Cmp(vb), true, nil
	}
	return 0, false, fmt.Errorf("fhirpath: cannot compare %s with %s", typeName(a), typeName(b))
}

func typeName(it item) string {
	if it.typ != "" {
		return it.typ
	}
	return fmt.Sprintf("%T", it.v)
}

// toQuantity converts a Quantity item (literal or FHIR element) to a Quantity.
func toQuantity(it item) Quantity {
	if q, ok := it.v.(Quantity); ok {
		return q
	}
	m, _ := it.v.(map[string]any)
	var q Quantity
	if n, ok := m["value"].(json.Number); ok {
		q.Value = string(n)
	}
	if c, ok := m["code"].(string); ok {
		q.Unit = c
	} else if u, ok := m["unit"].(string); ok {
		q.Unit = u
	}
	return q
}

// normQuantity returns the value and unit of q in a canonical unit for the
// few unit families the tests and search need (calendar durations, UCUM
// time units, mass and length prefixes).
func normQuantity(q Quantity) (*big.Rat, string) {
	v, ok := new(big.Rat).SetString(q.Value)
	if !ok {
		v = new(big.Rat)
	}
	if f, ok := unitFactors[q.Unit]; ok {
		r, _ := new(big.Rat).SetString(f.factor)
		return v.Mul(v, r), f.base
	}
	return v, q.Unit
}

type unitFactor struct{ factor, base string }

var unitFactors = map[string]unitFactor{
	"week": {"604800", "s"}, "day": {"86400", "s"}, "hour": {"3600", "s"},
	"minute": {"60", "s"}, "second": {"1", "s"}, "millisecond": {"0.001", "s"},
	"wk": {"604800", "s"}, "d": {"86400", "s"}, "h": {"3600", "s"}, "min": {"60", "s"},
	"s": {"1", "s"}, "ms": {"0.001", "s"},
	"g": {"1", "g"}, "mg": {"0.001", "g"}, "kg": {"1000", "g"}, "ug": {"0.000001", "g"},
	"m": {"1", "m"}, "cm": {"0.01", "m"}, "mm": {"0.001", "m"}, "km": {"1000", "m"},
	"[in_i]": {"0.0254", "m"}, "[ft_i]": {"0.3048", "m"}, "[lb_av]": {"453.59237", "g"},
	"year": {"12", "month"}, "month": {"1", "month"},
}

// arith applies + - * / div mod & to two singletons.
func arith(op string, a, b item) ([]item, error) {
	ka, kb := kindOf(a), kindOf(b)
	if op == "+" && ka == kString && kb == kString {
		return []item{{v: str(a) + str(b), typ: tString}}, nil
	}
	if isNum(ka) && isNum(kb) {
		x, y := rat(a), rat(b)
		typ := tInt
		if ka == kDec || kb == kDec {
			typ = tDec
		}
		r := new(big.Rat)
		switch op {
		case "+":
			r.Add(x, y)
		case "-":
			r.Sub(x, y)
		case "*":
			r.Mul(x, y)
		case "/":
			if y.Sign() == 0 {
				return nil, nil
			}
			r.Quo(x, y)
			typ = tDec
		case "div", "mod":
			if y.Sign() == 0 {
				return nil, nil
			}
			q := new(big.Rat).Quo(x, y)
			t := new(big.Int).Quo(q.Num(), q.Denom()) // truncates toward zero
			if op == "div" {
				r.SetInt(t)
				typ = tInt
			} else {
				r.Sub(x, new(big.Rat).Mul(y, new(big.Rat).SetInt(t)))
			}
		}
		return []item{{v: ratNumber(r), typ: typ}}, nil
	}
	if (ka == kDate || ka == kTime) && kb == kQuantity && (op == "+" || op == "-") {
		return dateAdd(a, toQuantity(b), op == "-")
	}
	if ka == kQuantity && kb == kQuantity && (op == "+" || op == "-") {
		qa, qb := toQuantity(a), toQuantity(b)
		if qa.Unit != qb.Unit {
			return nil, nil
		}
		x, _ := new(big.Rat).SetString(qa.Value)
		y, _ := new(big.Rat).SetString(qb.Value)
		if x == nil || y == nil {
			return nil, nil
		}
		if op == "+" {
			x.Add(x, y)
		} else {
			x.Sub(x, y)
		}
		return []item{{v: Quantity{Value: string(ratNumber(x)), Unit: qa.Unit}, typ: tQuantity}}, nil
	}
	if ka == kQuantity && kb == kQuantity && (op == "*" || op == "/") {
		return quantityProduct(op, toQuantity(a), toQuantity(b)), nil
	}
	if ka == kQuantity && isNum(kb) && (op == "*" || op == "/") {
		qa := toQuantity(a)
		x, _ := new(big.Rat).SetString(qa.Value)
		if x == nil || (op == "/" && rat(b).Sign() == 0) {
			return nil, nil
		}
		if op == "*" {
			x.Mul(x, rat(b))
		} else {
			x.Quo(x, rat(b))
		}
		return []item{{v: Quantity{Value: string(ratNumber(x)), Unit: qa.Unit}, typ: tQuantity}}, nil
	}
	return nil, fmt.Errorf("fhirpath: operator %q not defined for %s and %s", op, typeName(a), typeName(b))
}

// quantityProduct multiplies or divides two quantities after converting
// them to base units: cm * m gives m2, g / m gives g/m, m / m gives 1.
func quantityProduct(op string, a, b Quantity) []item {
	va, ua := normQuantity(a)
	vb, ub := normQuantity(b)
	unit := ua + "." + ub
	if op == "*" {
		va.Mul(va, vb)
		if ua == ub {
			unit = ua + "2"
		}
	} else {
		if vb.Sign() == 0 {
			return nil
		}
		va.Quo(va, vb)
		unit = ua + "/" + ub
		if ua == ub {
			unit = "1"
		}
	}
	return []item{{v: Quantity{Value: string(ratNumber(va)), Unit: unit}, typ: tQuantity}}
}

// str is the string form of an item for concatenation (empty for non-strings).
func str(it item) string {
	s, _ := toString(it)
	return s
}
