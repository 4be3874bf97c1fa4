package pkmodel

import (
	"math"
	"strings"
	"testing"
)

func TestQuantityIn(t *testing.T) {
	// Conversion factors are exact by definition (SI prefixes; UCUM h = 60
	// min, d = 24 h, a = 365.25 d), so the tolerance is rounding: 1e-15
	// relative.
	tests := []struct {
		in, to string
		want   float64
	}{
		{"80 kg", "kg", 80},
		{"80000 g", "kg", 80},
		{"2 h", "h", 2},
		{"90 min", "h", 1.5},
		{"1 d", "h", 24},
		{"70 a", "d", 70 * 365.25},
		{"80 mL/min", "mL/min", 80},
		{"80 mL/min", "L/h", 4.8},
		{"39.8 mg/L", "mg/L", 39.8},
		{"39.8 ug/mL", "mg/L", 39.8},
		{"3980 ug/dL", "mg/L", 39.8},
		{"500 mg.h/L", "mg.h/L", 500},
		{"500 ug.h/mL", "mg.h/L", 500},
		{"250 mg", "mg", 250},
		{"1 g", "mg", 1000},
		{"22.7 %", "1", 0.227},
		{"0.5 1/h", "1/h", 0.5},
		{"91.1 mL/min/{1.73_m2}", "mL/min", 91.1},
		{"-3 h", "h", -3},
	}
	for _, tt := range tests {
		q, err := ParseQuantity(tt.in)
		if err != nil {
			t.Errorf("ParseQuantity(%q): %v", tt.in, err)
			continue
		}
		u, err := ParseUnit(tt.to)
		if err != nil {
			t.Fatal(err)
		}
		got, err := q.In(u)
		if err != nil {
			t.Errorf("%q in %s: %v", tt.in, tt.to, err)
			continue
		}
		if math.Abs(got-tt.want) > 1e-15*math.Abs(tt.want) {
			t.Errorf("%q in %s = %.17g, want %.17g", tt.in, tt.to, got, tt.want)
		}
	}
}

func TestQuantityErrors(t *testing.T) {
	tests := []struct {
		in, to, want string
	}{
		{"80 lb", "kg", "pounds are not accepted; give the weight in kg"},
		{"80", "kg", `"80" has no unit`},
		{"80kg", "kg", `is not a number and a unit`},
		{"eighty kg", "kg", `is not a number and a unit`},
		{"2 hr", "h", "write hours as h (UCUM)"},
		{"5 mcg/mL", "mg/L", "write micrograms as ug (UCUM)"},
		{"80 furlong", "kg", `unknown unit "furlong"`},
		{"80 mL/min", "kg", "mL/min does not convert to kg"},
		{"2 h", "mg/L", "h does not convert to mg/L"},
		{"NaN h", "h", "is not a number and a unit"},
	}
	for _, tt := range tests {
		q, err := ParseQuantity(tt.in)
		if err == nil {
			_, err = q.In(mustUnit(tt.to))
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q in %s: error %v, want one containing %q", tt.in, tt.to, err, tt.want)
		}
	}
}
