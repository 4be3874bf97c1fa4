package fhirpath

import (
	"encoding/json"
	"fmt"
	"math/big"
	"time"
)

// fnBoundary implements lowBoundary(precision) and highBoundary(precision):
// the least or greatest value that the input could stand for given its
// precision, written with the requested precision (decimal places for
// numbers, digits for dates and times).
func fnBoundary(e *env, n *callNode, f []item) ([]item, error) {
	if len(f) == 0 {
		return nil, nil
	}
	if len(f) > 1 {
		return nil, fmt.Errorf("fhirpath: %s() on a collection", n.name)
	}
	prec, hasPrec := -1, false
	if len(n.args) == 1 {
		xs, err := n.args[0].eval(e, e.thisFocus())
		if err != nil {
			return nil, err
		}
		if prec, hasPrec, err = singletonInt(xs); err != nil {
			return nil, err
		}
	}
	high := n.name == "highBoundary"
	it := f[0]
	switch kindOf(it) {
	case kInt, kDec:
		if !hasPrec {
			prec = 8
		}
		v, ok := numBoundary(rat(it), decimals(it), prec, high)
		if !ok {
			return nil, nil
		}
		return []item{{v: v, typ: tDec}}, nil
	case kQuantity:
		q := toQuantity(it)
		if !hasPrec {
			prec = 8
		}
		r, ok := new(big.Rat).SetString(q.Value)
		if !ok {
			return nil, nil
		}
		v, ok := numBoundary(r, decimals(item{v: json.Number(q.Value)}), prec, high)
		if !ok {
			return nil, nil
		}
		return []item{{v: Quantity{Value: string(v), Unit: q.Unit}, typ: tQuantity}}, nil
	case kDate, kTime:
		var d dateTime
		var err error
		if kindOf(it) == kTime {
			d, err = parseTime(it.v.(string))
		} else {
			d, err = parseDateTime(it.v.(string))
		}
		if err != nil {
			return nil, err
		}
		v, ok := dateBoundary(d, prec, hasPrec, high)
		if !ok {
			return nil, nil
		}
		return []item{{v: v, typ: it.typ}}, nil
	}
	return nil, fmt.Errorf("fhirpath: %s() on %s", n.name, typeName(it))
}

// numBoundary widens x by half a unit of its last decimal place (places)
// and rounds the result down (low) or up (high) to prec places.
func numBoundary(x *big.Rat, places, prec int, high bool) (json.Number, bool) {
	if prec < 0 || prec > 31 {
		return "", false
	}
	half := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Mul(big.NewInt(2), pow10(places)))
	b := new(big.Rat).Set(x)
	if high {
		b.Add(b, half)
	} else {
		b.Sub(b, half)
	}
	// Round to prec places: floor for the low boundary, ceiling for the high.
	scale := new(big.Rat).SetInt(pow10(prec))
	scaled := new(big.Rat).Mul(b, scale)
	q, m := new(big.Int).DivMod(scaled.Num(), scaled.Denom(), new(big.Int)) // floor
	if high && m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	r := new(big.Rat).SetFrac(q, pow10(prec))
	s := r.FloatString(prec)
	if r.Sign() == 0 && b.Sign() < 0 {
		s = "-" + s
	}
	return json.Number(s), true
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// dateBoundary fills the parts a date, dateTime or time leaves out with
// their least or greatest values, up to prec digits (4 year, 6 month,
// 8 day, 10 hour, 12 minute, 14 second, 17 millisecond; times 2 to 9).
func dateBoundary(d dateTime, prec int, hasPrec, high bool) (string, bool) {
	digits := []int{4, 6, 8, 10, 12, 14, 17}
	if d.first == 3 {
		digits = []int{0, 0, 0, 2, 4, 6, 9}
	}
	target := 7
	if hasPrec {
		target = 0
		for i, n := range digits {
			if n == prec && i >= d.first {
				target = i + 1
			}
		}
		if target == 0 {
			return "", false
		}
	} else if d.first == 0 && d.prec <= 3 {
		target = 3 // a date's boundary is a date
	}
	if d.prec == 4 { // an hour alone is read as hh:00
		d.prec = 5
	}
	for i := d.prec; i < 7; i++ {
		switch {
		case !high && (i == 1 || i == 2):
			d.parts[i] = 1
		case !high:
			d.parts[i] = 0
		case i == 1:
			d.parts[i] = 12
		case i == 2:
			d.parts[i] = time.Date(d.parts[0], time.Month(d.parts[1]+1), 0, 0, 0, 0, 0, time.UTC).Day()
		default:
			d.parts[i] = []int{0, 0, 0, 23, 59, 59, 999}[i]
		}
	}
	if d.first == 0 && !d.tz && target > 3 {
		d.tz, d.off = true, 14*60
		if high {
			d.off = -12 * 60
		}
	}
	d.prec = target
	return d.format(), true
}
