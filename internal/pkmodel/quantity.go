package pkmodel

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// dim is the dimension of a unit: exponents of mass, volume and time.
// Volume is a base dimension because no PK quantity needs length alone.
type dim struct{ mass, vol, time int }

// atom is a unit symbol: its dimension and its size in the base units mg,
// L and h, as a ratio num/den of whole numbers (exact in float64), so that
// conversions multiply and divide exact integers.
type atom struct {
	d        dim
	num, den float64
}

// atoms are the UCUM unit symbols accepted (case-sensitive, as UCUM; "l"
// is UCUM's alternative for L). UCUM writes the microgram ug, the year a
// and multiplication with a dot: mg.h/L.
var atoms = map[string]atom{
	"kg":  {dim{1, 0, 0}, 1e6, 1},
	"g":   {dim{1, 0, 0}, 1e3, 1},
	"mg":  {dim{1, 0, 0}, 1, 1},
	"ug":  {dim{1, 0, 0}, 1, 1e3},
	"ng":  {dim{1, 0, 0}, 1, 1e6},
	"L":   {dim{0, 1, 0}, 1, 1},
	"l":   {dim{0, 1, 0}, 1, 1},
	"dL":  {dim{0, 1, 0}, 1, 10},
	"mL":  {dim{0, 1, 0}, 1, 1e3},
	"uL":  {dim{0, 1, 0}, 1, 1e6},
	"s":   {dim{0, 0, 1}, 1, 3600},
	"min": {dim{0, 0, 1}, 1, 60},
	"h":   {dim{0, 0, 1}, 1, 1},
	"d":   {dim{0, 0, 1}, 24, 1},
	"wk":  {dim{0, 0, 1}, 24 * 7, 1},
	"mo":  {dim{0, 0, 1}, 24 * 36525, 1200}, // UCUM mean Julian month
	"a":   {dim{0, 0, 1}, 24 * 36525, 100},  // UCUM mean Julian year
	"1":   {dim{}, 1, 1},
	"%":   {dim{}, 1, 100},
}

// hints explain common non-UCUM spellings.
var hints = map[string]string{
	"lb":      "pounds are not accepted; give the weight in kg",
	"lbs":     "pounds are not accepted; give the weight in kg",
	"[lb_av]": "pounds are not accepted; give the weight in kg",
	"mcg":     "write micrograms as ug (UCUM)",
	"µg":      "write micrograms as ug (UCUM)",
	"μg":      "write micrograms as ug (UCUM)",
	"hr":      "write hours as h (UCUM)",
	"hrs":     "write hours as h (UCUM)",
	"hour":    "write hours as h (UCUM)",
	"hours":   "write hours as h (UCUM)",
	"y":       "write years as a (UCUM)",
	"yr":      "write years as a (UCUM)",
	"years":   "write years as a (UCUM)",
	"ml":      "write millilitres as mL (UCUM)",
	"dl":      "write decilitres as dL (UCUM)",
}

// Unit is a parsed unit: a dimension and its size in base units (mg, L, h).
type Unit struct {
	Symbol   string
	d        dim
	num, den float64 // size in base units, num/den
}

// ParseUnit parses a UCUM unit term made of the symbols kg g mg ug ng, L
// dL mL uL, s min h d wk mo a, 1 and %, and annotations in braces (which
// are dimensionless: {1.73_m2}), joined by "." (multiply) and "/" (divide),
// e.g. mg/L, mL/min, mg.h/L, mL/min/{1.73_m2}.
func ParseUnit(s string) (Unit, error) {
	if s == "" {
		return Unit{}, fmt.Errorf("pkmodel: missing unit")
	}
	u := Unit{Symbol: s, num: 1, den: 1}
	sign := 1
	start := 0
	depth := 0 // inside a UCUM annotation {...}
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			switch s[i] {
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth > 0 || (s[i] != '.' && s[i] != '/') {
				continue
			}
		}
		sym := s[start:i]
		a, ok := atoms[sym]
		if len(sym) > 2 && sym[0] == '{' && sym[len(sym)-1] == '}' && depth == 0 {
			a, ok = atom{dim{}, 1, 1}, true // an annotation is dimensionless: {1.73_m2}
		}
		if !ok {
			if h, ok := hints[sym]; ok {
				return Unit{}, fmt.Errorf("pkmodel: unknown unit %q: %s", s, h)
			}
			return Unit{}, fmt.Errorf("pkmodel: unknown unit %q (UCUM symbols kg g mg ug ng, L dL mL, s min h d wk a, %%, joined by . and /)", s)
		}
		u.d.mass += sign * a.d.mass
		u.d.vol += sign * a.d.vol
		u.d.time += sign * a.d.time
		if sign > 0 {
			u.num, u.den = u.num*a.num, u.den*a.den
		} else {
			u.num, u.den = u.num*a.den, u.den*a.num
		}
		if i < len(s) && s[i] == '/' {
			sign = -1
		}
		start = i + 1
	}
	return u, nil
}

// Compatible reports whether u converts to v.
func (u Unit) Compatible(v Unit) bool { return u.d == v.d }

// Quantity is a number with a unit.
type Quantity struct {
	Value float64
	Unit  Unit
	text  string // the number as written, for exact decimal conversions
}

// ParseQuantity parses "<number> <UCUM unit>" such as "80 kg", "2 h",
// "39.8 mg/L" or "500 mg.h/L"; the space is required.
func ParseQuantity(s string) (Quantity, error) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return Quantity{}, fmt.Errorf("pkmodel: %q has no unit", s)
		}
		return Quantity{}, fmt.Errorf("pkmodel: %q is not a number and a unit such as \"80 kg\"", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return Quantity{}, fmt.Errorf("pkmodel: %q is not a number and a unit such as \"80 kg\"", s)
	}
	u, err := ParseUnit(strings.TrimSpace(unit))
	if err != nil {
		return Quantity{}, err
	}
	return Quantity{v, u, num}, nil
}

// In returns q in unit to, or an error if the dimensions differ.
func (q Quantity) In(to Unit) (float64, error) {
	if !q.Unit.Compatible(to) {
		return 0, fmt.Errorf("pkmodel: %s does not convert to %s", q.Unit.Symbol, to.Symbol)
	}
	num, den := q.Unit.num*to.den, q.Unit.den*to.num // exact products of whole numbers
	r := num / den
	// A power-of-ten factor shifts the decimal point of the number as
	// written, so that 19.4 % is the double nearest 0.194 (19.4·0.01 and
	// 19.4/100 are not).
	if k := math.Round(math.Log10(r)); math.Abs(r/math.Pow(10, k)-1) < 1e-12 && q.text != "" {
		if v, err := strconv.ParseFloat(q.text+"e"+strconv.Itoa(int(k)), 64); err == nil {
			return v, nil
		}
	}
	return q.Value * num / den, nil
}

// mustUnit parses a unit known to be valid.
func mustUnit(s string) Unit {
	u, err := ParseUnit(s)
	if err != nil {
		panic(err)
	}
	return u
}

// Units of the model: amounts mg, volumes L, times h, concentrations mg/L.
var (
	unitMg    = mustUnit("mg")
	unitL     = mustUnit("L")
	unitH     = mustUnit("h")
	unitMgL   = mustUnit("mg/L")
	unitLh    = mustUnit("L/h")
	unitPerH  = mustUnit("1/h")
	unitAUC   = mustUnit("mg.h/L")
	unitRatio = mustUnit("1")
)
