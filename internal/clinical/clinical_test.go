package clinical

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func q(v float64, u string) *Quantity { return &Quantity{Value: v, Unit: u} }

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   Observation
		want *Quantity // canonical value, when accepted with a quantity
		tol  float64
		kind Kind // 0: accepted
	}{
		{name: "cgm mg/dL", in: Observation{Device: "cgm-1", Code: "99504-3", Value: q(123, "mg/dL")}, want: q(123, "mg/dL")},
		// 5.5 mmol/L x 18.016 (mg/dL per mmol/L, glucose 180.16 g/mol) = 99.088 mg/dL.
		{name: "cgm mmol/L", in: Observation{Device: "cgm-1", Code: "99504-3", Value: q(5.5, "mmol/L")}, want: q(99.088, "mg/dL"), tol: 1e-9},
		{name: "cgm molar code", in: Observation{Device: "cgm-1", Code: "105272-9", Value: q(5.5, "mmol/L")}, want: q(99.088, "mg/dL"), tol: 1e-9},
		{name: "glucose 5000 (issue 7)", in: Observation{Device: "cgm-1", Code: "99504-3", Value: q(5000, "mg/dL")}, kind: OutOfRange},
		{name: "glucose NaN", in: Observation{Device: "cgm-1", Code: "99504-3", Value: q(math.NaN(), "mg/dL")}, kind: OutOfRange},
		{name: "glucose +Inf", in: Observation{Device: "cgm-1", Code: "99504-3", Value: q(math.Inf(1), "mg/dL")}, kind: OutOfRange},
		{name: "glucose wrong unit", in: Observation{Device: "cgm-1", Code: "99504-3", Value: q(123, "mg/dl")}, kind: BadUnit},
		{name: "blood glucose code not accepted for CGM", in: Observation{Device: "cgm-1", Code: "2339-0", Value: q(123, "mg/dL")}, kind: UnknownCode},
		{name: "short name is not a code", in: Observation{Device: "cgm-1", Code: "cgm", Value: q(123, "mg/dL")}, kind: UnknownCode},
		{name: "negative heart rate", in: Observation{Device: "w-1", Code: "8867-4", Value: q(-60, "/min")}, kind: OutOfRange},
		{name: "heart rate", in: Observation{Device: "w-1", Code: "8867-4", Value: q(72, "/min")}, want: q(72, "/min")},
		{name: "heart rate beats", in: Observation{Device: "w-1", Code: "8867-4", Value: q(72, "{beats}/min")}, want: q(72, "/min")},
		{name: "apnoea", in: Observation{Device: "w-1", Code: "9279-1", Value: q(0, "/min")}, want: q(0, "/min")},
		{name: "negative resp rate", in: Observation{Device: "w-1", Code: "9279-1", Value: q(-1, "/min")}, kind: OutOfRange},
		{name: "SaO2 alias", in: Observation{Device: "w-1", Code: "2708-6", Value: q(97, "%")}, want: q(97, "%")},
		{name: "SpO2 above 100", in: Observation{Device: "w-1", Code: "59408-5", Value: q(101, "%")}, kind: OutOfRange},
		// 98.6 degF is 37 Cel exactly: (98.6 - 32) x 5/9.
		{name: "temp degF", in: Observation{Device: "t-1", Code: "8310-5", Value: q(98.6, "[degF]")}, want: q(37, "Cel"), tol: 1e-12},
		{name: "temp 50 Cel", in: Observation{Device: "t-1", Code: "8310-5", Value: q(50, "Cel")}, kind: OutOfRange},
		{name: "oxygen flow", in: Observation{Device: "o2-1", Code: "3151-8", Value: q(2, "L/min")}, want: q(2, "L/min")},
		{name: "oxygen off", in: Observation{Device: "o2-1", Code: "3151-8", Value: q(0, "L/min")}, want: q(0, "L/min")},
		{name: "negative oxygen flow", in: Observation{Device: "o2-1", Code: "3151-8", Value: q(-1, "L/min")}, kind: OutOfRange},
		{name: "oxygen flow in mL/min", in: Observation{Device: "o2-1", Code: "3151-8", Value: q(2000, "mL/min")}, kind: BadUnit},
		{name: "FiO2 room air", in: Observation{Device: "o2-1", Code: "3150-0", Value: q(21, "%")}, want: q(21, "%")},
		{name: "FiO2 below air", in: Observation{Device: "o2-1", Code: "3150-0", Value: q(15, "%")}, kind: OutOfRange},
		{name: "FiO2 above 100", in: Observation{Device: "o2-1", Code: "3150-0", Value: q(101, "%")}, kind: OutOfRange},
		{name: "SpO2 on 2 L/min (US Core pulse oximetry)", in: Observation{Device: "w-1", Code: "59408-5", Value: q(95, "%"), Components: []Component{
			{Code: "3151-8", Value: Quantity{2, "L/min"}}, {Code: "3150-0", Value: Quantity{28, "%"}}}}, want: q(95, "%")},
		{name: "SpO2 with a negative oxygen flow", in: Observation{Device: "w-1", Code: "59408-5", Value: q(95, "%"), Components: []Component{
			{Code: "3151-8", Value: Quantity{-2, "L/min"}}}}, kind: OutOfRange},
		{name: "SpO2 with a blood pressure component", in: Observation{Device: "w-1", Code: "59408-5", Value: q(95, "%"), Components: []Component{
			{Code: "8480-6", Value: Quantity{120, "mm[Hg]"}}}}, kind: Malformed},
		{name: "SpO2 with two oxygen flows", in: Observation{Device: "w-1", Code: "59408-5", Value: q(95, "%"), Components: []Component{
			{Code: "3151-8", Value: Quantity{2, "L/min"}}, {Code: "3151-8", Value: Quantity{4, "L/min"}}}}, kind: Malformed},
		{name: "heart rate with an oxygen flow", in: Observation{Device: "w-1", Code: "8867-4", Value: q(72, "/min"), Components: []Component{
			{Code: "3151-8", Value: Quantity{2, "L/min"}}}}, kind: Malformed},
		{name: "carbs", in: Observation{Device: "app-1", Code: "9059-7", Value: q(45, "g")}, want: q(45, "g")},
		{name: "negative insulin", in: Observation{Device: "pump-1", Code: "A10A", Value: q(-2, "[IU]")}, kind: OutOfRange},
		{name: "insulin", in: Observation{Device: "pump-1", Code: "A10A", Value: q(2.5, "[IU]")}, want: q(2.5, "[IU]")},
		{name: "acvpu", in: Observation{Device: "m-1", Code: "67775-7", ValueCode: "C"}},
		{name: "acvpu bad letter", in: Observation{Device: "m-1", Code: "67775-7", ValueCode: "X"}, kind: OutOfRange},
		{name: "acvpu with quantity", in: Observation{Device: "m-1", Code: "67775-7", Value: q(1, "1")}, kind: OutOfRange},
		{name: "quantity missing", in: Observation{Device: "w-1", Code: "8867-4"}, kind: Malformed},
		{name: "bad device id", in: Observation{Device: "a|b", Code: "8867-4", Value: q(72, "/min")}, kind: Malformed},
		{name: "bp", in: Observation{Device: "bp-1", Code: "85354-9", Components: []Component{
			{Code: "8462-4", Value: Quantity{80, "mm[Hg]"}}, {Code: "8480-6", Value: Quantity{120, "mm[Hg]"}}}}},
		{name: "bp diastolic above systolic", in: Observation{Device: "bp-1", Code: "85354-9", Components: []Component{
			{Code: "8480-6", Value: Quantity{80, "mm[Hg]"}}, {Code: "8462-4", Value: Quantity{120, "mm[Hg]"}}}}, kind: OutOfRange},
		{name: "bp systolic 400", in: Observation{Device: "bp-1", Code: "85354-9", Components: []Component{
			{Code: "8480-6", Value: Quantity{400, "mm[Hg]"}}, {Code: "8462-4", Value: Quantity{80, "mm[Hg]"}}}}, kind: OutOfRange},
		{name: "bp one component", in: Observation{Device: "bp-1", Code: "85354-9", Components: []Component{
			{Code: "8480-6", Value: Quantity{120, "mm[Hg]"}}}}, kind: Malformed},
		{name: "bp duplicate component", in: Observation{Device: "bp-1", Code: "85354-9", Components: []Component{
			{Code: "8480-6", Value: Quantity{120, "mm[Hg]"}}, {Code: "8480-6", Value: Quantity{120, "mm[Hg]"}}}}, kind: Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Effective = t0.In(time.FixedZone("x", 3600))
			got, err := Normalize(in)
			if tt.kind != 0 {
				var e *Error
				if !errors.As(err, &e) || e.Kind != tt.kind {
					t.Fatalf("Normalize error = %v, want kind %v", err, tt.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Effective.Equal(t0) || got.Effective.Location() != time.UTC {
				t.Errorf("Effective = %v, want %v in UTC", got.Effective, t0)
			}
			if tt.want != nil {
				if got.Value == nil || got.Value.Unit != tt.want.Unit || math.Abs(got.Value.Value-tt.want.Value) > tt.tol {
					t.Errorf("Value = %+v, want %+v (tol %g)", got.Value, tt.want, tt.tol)
				}
			}
		})
	}
}

func TestBPComponentsCanonicalOrder(t *testing.T) {
	got, err := Normalize(Observation{Device: "bp-1", Code: "85354-9", Effective: t0, Components: []Component{
		{Code: "8462-4", Value: Quantity{80, "mm[Hg]"}}, {Code: "8480-6", Value: Quantity{120, "mm[Hg]"}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Component{{Code: "8480-6", Value: Quantity{120, "mm[Hg]"}}, {Code: "8462-4", Value: Quantity{80, "mm[Hg]"}}}
	if diff := cmp.Diff(want, got.Components); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
}

func TestKey(t *testing.T) {
	a := Observation{Device: "cgm-1", Code: "99504-3", Effective: t0, Value: q(100, "mg/dL")}
	b := a
	b.Value = q(101, "mg/dL")
	b.Effective = t0.In(time.FixedZone("x", -7200))
	if a.Key() != b.Key() {
		t.Errorf("same device, code and instant: keys %q and %q differ", a.Key(), b.Key())
	}
	if want := "cgm-1|99504-3|1795600800000000000"; a.Key() != want {
		t.Errorf("Key = %q, want %q", a.Key(), want)
	}
	for _, c := range []Observation{
		{Device: "cgm-2", Code: a.Code, Effective: t0},
		{Device: a.Device, Code: "8867-4", Effective: t0},
		{Device: a.Device, Code: a.Code, Effective: t0.Add(time.Nanosecond)},
	} {
		if c.Key() == a.Key() {
			t.Errorf("%+v has the key of %+v", c, a)
		}
	}
}

func TestCodesTable(t *testing.T) {
	for _, c := range Codes() {
		for _, key := range []string{c.Name, c.Code} {
			got, ok := Lookup(key)
			if !ok || got.Code != c.Code {
				t.Errorf("Lookup(%q) = %q, %v; want %q", key, got.Code, ok, c.Code)
			}
		}
		kinds := 0
		for _, n := range []int{len(c.Units), len(c.Values), len(c.Components)} {
			if n > 0 {
				kinds++
			}
		}
		if kinds != 1 {
			t.Errorf("%s: %d kinds of result, want 1", c.Code, kinds)
		}
		if len(c.Units) > 0 && !(c.Min < c.Max) {
			t.Errorf("%s: empty range [%g, %g]", c.Code, c.Min, c.Max)
		}
	}
}

func TestErrorHasNoValue(t *testing.T) {
	_, err := Normalize(Observation{Device: "cgm-1", Code: "99504-3", Effective: t0, Value: q(5123, "mg/dL")})
	if want := "clinical: value: value outside the plausible range 20 to 600 mg/dL"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
