package pkpd_test

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/model/pkpd"
	"github.com/doppelhealth/doppel/ode"
)

// Reference case d (testdata/README_pd.md): R 4.2.2 + deSolve 1.34 lsoda at
// rtol 1e-10, atol 1e-12, PD driven by the PK of case a.
const (
	pdDose = 320.0 // mg, oral at t = 0
	pdKa   = 1.5   // 1/h
	pdKe   = 0.08  // 1/h
	pdV    = 40.0  // L
)

// pdBateman is the analytic plasma concentration of case a in mg/L at t in h:
// the one-compartment model with first-order absorption (Bateman function,
// pk_common.R c1_oral).
func pdBateman(t float64) float64 {
	if t < 0 {
		return 0
	}
	return pdDose * pdKa / (pdV * (pdKa - pdKe)) * (math.Exp(-pdKe*t) - math.Exp(-pdKa*t))
}

// Settings of the reference comparisons: tighter than R's lsoda (rtol 1e-10)
// so that the difference measures R's error rather than ours.
var pdTight = ode.Settings{RelTol: 1e-12, AbsTol: 1e-14}

// The PD parameters of case d (d_pd_models.R).
var (
	pdEmax    = pkpd.Emax{E0: 10, Emax: 100, EC50: 2, Hill: 1}
	pdSigmoid = pkpd.Emax{E0: 10, Emax: 100, EC50: 2, Hill: 2}
	pdLink    = pkpd.EffectCompartment{Ke0: 0.3}
)

// pdReadCSV reads a reference table from testdata into columns by header.
func pdReadCSV(t *testing.T, name string) map[string][]float64 {
	t.Helper()
	rows := pkpd.RefCSV(t, name)
	cols := make(map[string][]float64)
	for _, row := range rows[1:] {
		for j, h := range rows[0] {
			v, err := strconv.ParseFloat(row[j], 64)
			if err != nil {
				t.Fatalf("%s: column %s: %v", name, h, err)
			}
			cols[h] = append(cols[h], v)
		}
	}
	return cols
}

// pdMaxErr returns the largest |got − want| / (rel·|want| + abs) and where it
// occurs; a result <= 1 means every point is within tolerance.
func pdMaxErr(got, want []float64, rel, abs float64) (worst float64, at int) {
	for i := range want {
		e := math.Abs(got[i]-want[i]) / (rel*math.Abs(want[i]) + abs)
		if !(e <= worst) { // NaN counts as worst
			worst, at = e, i
			if math.IsNaN(e) {
				return math.Inf(1), i
			}
		}
	}
	return worst, at
}

// pdColumn is a computed series compared with a column of a reference
// table read by pdReadCSV, within rel·|want| + abs at every time.
type pdColumn struct {
	name     string
	got      []float64
	col      string
	rel, abs float64
}

// pdCompareColumns checks each series of cols against its column of d and
// logs the worst error as a fraction of the tolerance.
func pdCompareColumns(t *testing.T, d map[string][]float64, cols []pdColumn) {
	t.Helper()
	for _, tc := range cols {
		if want := d[tc.col]; len(want) == 0 || len(want) != len(tc.got) {
			t.Errorf("%s: %d values, reference column %q has %d", tc.name, len(tc.got), tc.col, len(want))
			continue
		}
		e, i := pdMaxErr(tc.got, d[tc.col], tc.rel, tc.abs)
		t.Logf("%s: worst error %.3g of tolerance at t = %g h", tc.name, e, d["time"][i])
		if e > 1 {
			t.Errorf("%s: t = %g h: got %.15g, want %.15g", tc.name, d["time"][i], tc.got[i], d[tc.col][i])
		}
	}
}

// TestEmaxFormula applies Effect to the concentrations printed in d_emax.csv
// and compares with the effects R computed from them. The CSV carries 12
// significant digits, so an effect is known to about 5e-13 relative and
// the inputs add γ·5e-13 (dE/E <= γ·dC/C): tolerance 1e-11 relative.
func TestEmaxFormula(t *testing.T) {
	d := pdReadCSV(t, "d_emax.csv")
	for _, tc := range []struct {
		name  string
		m     pkpd.Emax
		input string
		want  string
	}{
		{"hyperbolic", pdEmax, "C", "E_direct_emax"},
		{"sigmoid", pdSigmoid, "C", "E_direct_sigmoid"},
		{"sigmoid of Ce", pdSigmoid, "Ce", "E_effect_cmt_sigmoid"},
	} {
		got := make([]float64, len(d[tc.input]))
		for i, c := range d[tc.input] {
			got[i] = tc.m.Effect(c)
		}
		e, i := pdMaxErr(got, d[tc.want], 1e-11, 0)
		t.Logf("%s: worst error %.3g of tolerance at t = %g h", tc.name, e, d["time"][i])
		if e > 1 {
			t.Errorf("%s: t = %g h: Effect(%g) = %.15g, want %.15g", tc.name, d["time"][i], d[tc.input][i], got[i], d[tc.want][i])
		}
	}
}

// TestEmaxReference drives the direct models with the analytic plasma
// profile. R's C comes from lsoda at rtol 1e-10 (case a: max relative error
// 2.3e-11 against the closed form); 1e-9 relative plus 1e-12 mg/L absolute
// (for C(0) = 0) covers it with margin, and the effects inherit at most γ
// times the relative error of C.
func TestEmaxReference(t *testing.T) {
	d := pdReadCSV(t, "d_emax.csv")
	n := len(d["time"])
	c := make([]float64, n)
	eh := make([]float64, n)
	es := make([]float64, n)
	for i, tt := range d["time"] {
		c[i] = pdBateman(tt)
		eh[i] = pdEmax.Effect(c[i])
		es[i] = pdSigmoid.Effect(c[i])
	}
	pdCompareColumns(t, d, []pdColumn{
		{"C analytic column", c, "C_analytic", 1e-11, 1e-15},
		{"C lsoda column", c, "C", 1e-9, 1e-12},
		{"Emax", eh, "E_direct_emax", 1e-9, 0},
		{"sigmoid Emax", es, "E_direct_sigmoid", 2e-9, 0},
	})
}

// TestEffectCompartmentReference integrates the link model along the
// analytic plasma profile and compares with R's lsoda solution (rtol 1e-10,
// atol 1e-12, solved jointly with the PK ODE) and R's closed form.
//
// Tolerances: R reports its own Ce within 4.1e-10 mg/L of the closed form
// (d_pd_summary.csv), so the lsoda column is trusted to 1e-8 relative +
// 1e-9 mg/L. Our DoPri5 at RelTol 1e-12 and the closed form are held to 1e-10
// relative + 1e-12 mg/L against the closed-form column, which is exact to its
// 12 printed digits (its t = 0 value, -1.6e-15, is rounding in R).
func TestEffectCompartmentReference(t *testing.T) {
	d := pdReadCSV(t, "d_emax.csv")
	times := d["time"]
	sim, err := pdLink.Simulate(pdBateman, 0, times, pdTight)
	if err != nil {
		t.Fatal(err)
	}
	closed := make([]float64, len(times))
	effect := make([]float64, len(times))
	for i, tt := range times {
		closed[i] = pdLink.OneCompartmentOral(pdDose, pdKa, pdKe, pdV, tt)
		effect[i] = pdSigmoid.Effect(sim[i])
	}
	pdCompareColumns(t, d, []pdColumn{
		{"Simulate vs lsoda", sim, "Ce", 1e-8, 1e-9},
		{"Simulate vs closed form", sim, "Ce_analytic", 1e-10, 1e-12},
		{"OneCompartmentOral vs closed form", closed, "Ce_analytic", 1e-11, 1e-14},
		{"OneCompartmentOral vs lsoda", closed, "Ce", 1e-8, 1e-9},
		{"sigmoid Emax of Ce", effect, "E_effect_cmt_sigmoid", 1e-8, 1e-9},
	})

	// Grid maximum of Ce (d_pd_summary.csv: 4.912632585 mg/L at 7 h).
	s := pkpd.RefSummary(t, "d_pd_summary.csv")
	imax := 0
	for i := range sim {
		if sim[i] > sim[imax] {
			imax = i
		}
	}
	if times[imax] != s["t_Ce_max_grid"] || math.Abs(sim[imax]-s["Ce_max_grid"]) > 1e-8*s["Ce_max_grid"] {
		t.Errorf("grid max Ce = %.12g mg/L at %g h, want %.12g at %g h", sim[imax], times[imax], s["Ce_max_grid"], s["t_Ce_max_grid"])
	}
}

// TestEffectCompartmentClosedFormEqualRates checks the closed forms where two
// or three rate constants are equal or nearly equal (the textbook
// expressions are 0/0 there) against the ODE solution driven by the matching
// plasma profile, computed independently here, at RelTol 1e-12: agreement to
// 1e-9 relative + 1e-13 mg/L (measured: below 5e-11 relative). The
// rounding-level accuracy of the closed form is checked by
// TestEffectCompartmentClosedFormHighPrecision.
func TestEffectCompartmentClosedFormEqualRates(t *testing.T) {
	const dose, v = 100.0, 10.0 // mg, L
	// oralCp is the Bateman function with its ka = ke limit, D·k·t·exp(−k·t)/V.
	oralCp := func(ka, ke float64) func(float64) float64 {
		return func(t float64) float64 {
			if ka == ke {
				return dose / v * ka * t * math.Exp(-ka*t)
			}
			// exp(−ke·t) − exp(−ka·t) without cancellation for ka ≈ ke.
			return dose * ka / (v * (ka - ke)) * -math.Exp(-ke*t) * math.Expm1(-(ka-ke)*t)
		}
	}
	times := []float64{0, 0.01, 0.1, 0.5, 1, 2, 4, 8, 16, 24, 48, 96}
	for _, tc := range []struct {
		name        string
		ka, ke, ke0 float64
	}{
		{"distinct", 1.2, 0.1, 0.5},
		{"ka = ke0", 0.7, 0.1, 0.7},
		{"ke = ke0", 1.2, 0.3, 0.3},
		{"ka = ke", 0.4, 0.4, 1.5},
		{"all equal", 0.5, 0.5, 0.5},
		{"ka ≈ ke0 (1e-7)", 0.7 * (1 + 1e-7), 0.1, 0.7},
		{"ke ≈ ke0 (1e-9)", 1.2, 0.3, 0.3 * (1 - 1e-9)},
		{"all near (1e-6)", 0.5, 0.5 * (1 + 1e-6), 0.5 * (1 - 1e-6)},
		{"gap at series threshold", 0.5, 0.5 + 1e-3, 0.5 + 2e-3},
	} {
		link := pkpd.EffectCompartment{Ke0: tc.ke0}
		ref, err := link.Simulate(oralCp(tc.ka, tc.ke), 0, times, pdTight)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := make([]float64, len(times))
		for i, tt := range times {
			got[i] = link.OneCompartmentOral(dose, tc.ka, tc.ke, v, tt)
		}
		e, i := pdMaxErr(got, ref, 1e-9, 1e-13)
		t.Logf("%s: worst error %.3g of tolerance at t = %g h", "oral "+tc.name, e, times[i])
		if e > 1 {
			t.Errorf("oral %s: t = %g h: OneCompartmentOral = %.15g, ODE %.15g", tc.name, times[i], got[i], ref[i])
		}

		// Bolus: Cp = c0·exp(−ke·t).
		const c0 = 10.0 // mg/L
		ke := tc.ke
		ref, err = link.Simulate(func(t float64) float64 { return c0 * math.Exp(-ke*t) }, 0, times, pdTight)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for i, tt := range times {
			got[i] = link.OneCompartmentBolus(c0, ke, tt)
		}
		e, i = pdMaxErr(got, ref, 1e-9, 1e-13)
		t.Logf("%s: worst error %.3g of tolerance at t = %g h", "bolus "+tc.name, e, times[i])
		if e > 1 {
			t.Errorf("bolus %s: t = %g h: OneCompartmentBolus = %.15g, ODE %.15g", tc.name, times[i], got[i], ref[i])
		}
	}
	if got := pdLink.OneCompartmentOral(pdDose, pdKa, pdKe, pdV, -1); got != 0 {
		t.Errorf("OneCompartmentOral before the dose = %g, want 0", got)
	}
	if got := pdLink.OneCompartmentBolus(10, pdKe, -1); got != 0 {
		t.Errorf("OneCompartmentBolus before the dose = %g, want 0", got)
	}
}

// TestEffectCompartmentClosedFormHighPrecision compares OneCompartmentOral
// with the textbook sum evaluated in 60-digit arithmetic (mpmath 1.3.0,
// testdata/README_pd.md), for distinct, nearly equal and widely spread rate
// constants. The function is well conditioned in its inputs, so the bar is
// rounding error: 1e-13 relative (the error analysis of the two branches in
// pd.go gives about 1e-13 at worst).
func TestEffectCompartmentClosedFormHighPrecision(t *testing.T) {
	for _, tc := range []struct {
		dose, ka, ke, v, ke0, t, want float64
	}{
		{100, 1.2, 0.1, 10, 0.5, 3, 5.5336181940164945209},
		{100, 0.7000001, 0.1, 10, 0.7, 3, 5.4164088924805244723},
		{100, 0.5, 0.5000005, 10, 0.4999995, 2, 1.8393953664601590337},
		{100, 0.5, 0.5000005, 10, 0.4999995, 200, 1.8600361295224600782e-39},
		{100, 0.5, 0.501, 10, 0.502, 5, 2.562577225484461911},
		{100, 0.5, 0.5001, 10, 0.5002, 50, 4.320073039812490844e-8},
		{100, 3, 0.05, 10, 0.0500001, 24, 3.6236782237315923997},
		{100, 30, 0.01, 10, 2, 0.01, 0.027026304777721009852},
		{100, 30, 0.01, 10, 2, 500, 0.067740640505818191625},
	} {
		m := pkpd.EffectCompartment{Ke0: tc.ke0}
		got := m.OneCompartmentOral(tc.dose, tc.ka, tc.ke, tc.v, tc.t)
		if math.Abs(got-tc.want) > 1e-13*tc.want {
			t.Errorf("ka %g, ke %g, ke0 %g, t %g h: OneCompartmentOral = %.17g, want %.17g (rel err %.2g)",
				tc.ka, tc.ke, tc.ke0, tc.t, got, tc.want, math.Abs(got-tc.want)/tc.want)
		}
	}
}

// TestEffectCompartmentSteadyState: with a constant plasma concentration the
// link model has the solution Ce = Cp·(1 − exp(−ke0·t)).
func TestEffectCompartmentSteadyState(t *testing.T) {
	const cp = 3.0 // mg/L
	times := []float64{0, 0.5, 1, 2, 5, 10, 50}
	got, err := pdLink.Simulate(func(float64) float64 { return cp }, 0, times, pdTight)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(times))
	for i, tt := range times {
		want[i] = cp * -math.Expm1(-pdLink.Ke0*tt)
	}
	e, i := pdMaxErr(got, want, 1e-10, 1e-13)
	t.Logf("%s: worst error %.3g of tolerance at t = %g h", "constant Cp", e, times[i])
	if e > 1 {
		t.Errorf("t = %g h: Ce = %.15g, want %.15g", times[i], got[i], want[i])
	}
}

// TestDirectEffects checks the direct models at points where they have
// exact values.
func TestDirectEffects(t *testing.T) {
	inh := pkpd.Imax{E0: 80, Imax: 60, IC50: 4, Hill: 3}
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"Emax at C = 0", pdEmax.Effect(0), 10},
		{"Emax at negative C (round-off)", pdSigmoid.Effect(-1e-15), 10},
		{"Emax at EC50", pdEmax.Effect(2), 60},
		{"sigmoid Emax at EC50", pdSigmoid.Effect(2), 60},
		{"Emax at 3·EC50", pdEmax.Effect(6), 10 + 100*0.75},
		{"sigmoid Emax at 2·EC50", pdSigmoid.Effect(4), 10 + 100*0.8},
		{"sigmoid Emax at EC50/2", pdSigmoid.Effect(1), 10 + 100*0.2},
		{"Emax at +Inf", pdSigmoid.Effect(math.Inf(1)), 110},
		{"Emax with Hill 0 (means 1)", pkpd.Emax{E0: 10, Emax: 100, EC50: 2}.Effect(6), 85},
		{"decreasing Emax", pkpd.Emax{E0: 10, Emax: -8, EC50: 2}.Effect(2), 6},
		{"Imax at C = 0", inh.Effect(0), 80},
		{"Imax at IC50", inh.Effect(4), 50},
		{"Imax at 2·IC50", inh.Effect(8), 80 - 60*8.0/9},
		{"Imax at +Inf", inh.Effect(math.Inf(1)), 20},
	} {
		if math.Abs(tc.got-tc.want) > 1e-13*math.Abs(tc.want) {
			t.Errorf("%s = %.17g, want %.17g", tc.name, tc.got, tc.want)
		}
	}
	if got := pdEmax.Effect(math.NaN()); !math.IsNaN(got) {
		t.Errorf("Emax at NaN = %g, want NaN", got)
	}
}

// TestPDValidate checks that every invalid field is reported by name.
func TestPDValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name string
		err  error
		want string // substring of the error; "" means valid
	}{
		{"Emax ok", pdSigmoid.Validate(), ""},
		{"Emax hyperbolic zero Hill", pkpd.Emax{EC50: 1}.Validate(), ""},
		{"Emax zero EC50", pkpd.Emax{E0: 1, Emax: 1}.Validate(), "Emax.EC50 = 0"},
		{"Emax negative EC50", pkpd.Emax{EC50: -2}.Validate(), "Emax.EC50 = -2"},
		{"Emax infinite EC50", pkpd.Emax{EC50: inf}.Validate(), "Emax.EC50 = +Inf"},
		{"Emax NaN E0", pkpd.Emax{E0: nan, EC50: 1}.Validate(), "Emax.E0 = NaN"},
		{"Emax NaN Emax", pkpd.Emax{Emax: nan, EC50: 1}.Validate(), "Emax.Emax = NaN"},
		{"Emax negative Hill", pkpd.Emax{EC50: 1, Hill: -1}.Validate(), "Emax.Hill = -1"},
		{"Imax ok", pkpd.Imax{E0: 1, Imax: 1, IC50: 1}.Validate(), ""},
		{"Imax negative Imax", pkpd.Imax{Imax: -1, IC50: 1}.Validate(), "Imax.Imax = -1"},
		{"Imax zero IC50", pkpd.Imax{Imax: 1}.Validate(), "Imax.IC50 = 0"},
		{"Imax NaN Hill", pkpd.Imax{Imax: 1, IC50: 1, Hill: nan}.Validate(), "Imax.Hill = NaN"},
		{"Imax Inf E0", pkpd.Imax{E0: inf, Imax: 1, IC50: 1}.Validate(), "Imax.E0 = +Inf"},
		{"link ok", pdLink.Validate(), ""},
		{"link zero Ke0", pkpd.EffectCompartment{}.Validate(), "EffectCompartment.Ke0 = 0"},
		{"link NaN Ke0", pkpd.EffectCompartment{Ke0: nan}.Validate(), "EffectCompartment.Ke0 = NaN"},
	} {
		switch {
		case tc.want == "" && tc.err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, tc.err)
		case tc.want != "" && (tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || !strings.HasPrefix(tc.err.Error(), "pkpd: ")):
			t.Errorf("%s: error %v, want one starting \"pkpd: \" containing %q", tc.name, tc.err, tc.want)
		}
	}
}

// TestPDSimulateBadInput checks the errors of EffectCompartment.Simulate
// (IndirectResponse.Simulate shares the integration code).
func TestPDSimulateBadInput(t *testing.T) {
	cp := func(float64) float64 { return 1 }
	for _, tc := range []struct {
		name  string
		m     pkpd.EffectCompartment
		cp    func(float64) float64
		ce0   float64
		times []float64
		want  string
	}{
		{"invalid model", pkpd.EffectCompartment{Ke0: -1}, cp, 0, []float64{0, 1}, "Ke0 = -1"},
		{"nil cp", pdLink, nil, 0, []float64{0, 1}, "nil plasma concentration function cp"},
		{"NaN ce0", pdLink, cp, math.NaN(), []float64{0, 1}, "ce0 = NaN"},
		{"repeated time", pdLink, cp, 0, []float64{0, 1, 1}, "times[2] = 1 h is not after times[1] = 1 h"},
		{"decreasing time", pdLink, cp, 0, []float64{0, 2, 1}, "times[2] = 1 h is not after"},
		{"NaN time", pdLink, cp, 0, []float64{0, math.NaN()}, "times[1] = NaN h; must be finite"},
		{"infinite time", pdLink, cp, 0, []float64{0, math.Inf(1)}, "times[1] = +Inf h; must be finite"},
	} {
		_, err := tc.m.Simulate(tc.cp, tc.ce0, tc.times, ode.Settings{})
		if err == nil || !strings.HasPrefix(err.Error(), "pkpd: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one starting \"pkpd: \" containing %q", tc.name, err, tc.want)
		}
	}

	// A concentration that is not finite stops the integration with
	// ode.ErrNotFinite.
	_, err := pdLink.Simulate(func(t float64) float64 {
		if t > 1 {
			return math.NaN()
		}
		return 1
	}, 0, []float64{0, 2}, ode.Settings{})
	if !errors.Is(err, ode.ErrNotFinite) || !strings.HasPrefix(err.Error(), "pkpd: EffectCompartment.Simulate: ") {
		t.Errorf("NaN concentration: error %v, want pkpd-prefixed ode.ErrNotFinite", err)
	}
	// Invalid settings are reported by ode, naming the field.
	_, err = pdLink.Simulate(cp, 0, []float64{0, 1}, ode.Settings{RelTol: -1})
	if err == nil || !strings.Contains(err.Error(), "RelTol") {
		t.Errorf("negative RelTol: error %v, want one naming RelTol", err)
	}

	// Zero and one output times need no integration.
	for _, times := range [][]float64{nil, {5}} {
		got, err := pdLink.Simulate(cp, 0.25, times, ode.Settings{})
		if err != nil || len(got) != len(times) || (len(got) == 1 && got[0] != 0.25) {
			t.Errorf("times %v: got %v, %v; want the initial state at each time", times, got, err)
		}
	}
}

// TestPDValidationCases runs the exported validation of case d (the same
// comparisons as the tests above, on the embedded copies of the reference
// files) and requires every check to pass.
func TestPDValidationCases(t *testing.T) {
	checks, err := pkpd.PDValidationCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 15 {
		t.Errorf("%d checks, want 15 (6 effect, 1 Ce extremum, 4×2 indirect response)", len(checks))
	}
	seen := make(map[string]bool)
	for _, c := range checks {
		t.Logf("%-75s max err %.2g at %g h (tol %g)", c.Name, c.MaxError, c.At, c.Tolerance)
		if !c.Pass() {
			t.Errorf("%s: max error %g at %g h exceeds %g", c.Name, c.MaxError, c.At, c.Tolerance)
		}
		if seen[c.Name] || c.Reference == "" || !(c.Tolerance > 0) {
			t.Errorf("check %q: duplicate name, empty reference or no tolerance", c.Name)
		}
		seen[c.Name] = true
	}
	if (pkpd.PDCheck{MaxError: 2, Tolerance: 1}).Pass() || (pkpd.PDCheck{MaxError: math.NaN(), Tolerance: 1}).Pass() {
		t.Error("Pass accepts an error above tolerance or NaN")
	}
}

// An effect-compartment (link) model turns a plasma profile into a delayed
// effect: plasma concentration peaks at about 2 h after an oral dose, the
// effect-site concentration and the effect at about 7 h.
func ExampleEffectCompartment() {
	// 320 mg orally into a one-compartment model: ka 1.5/h, ke 0.08/h, V 40 L.
	cp := func(t float64) float64 {
		return 320 * 1.5 / (40 * (1.5 - 0.08)) * (math.Exp(-0.08*t) - math.Exp(-1.5*t))
	}
	link := pkpd.EffectCompartment{Ke0: 0.3}                 // 1/h
	effect := pkpd.Emax{E0: 10, Emax: 100, EC50: 2, Hill: 2} // % of maximal response, mg/L
	times := []float64{0, 1, 2, 4, 7, 12, 24}
	ce, err := link.Simulate(cp, 0, times, ode.Settings{RelTol: 1e-10, AbsTol: 1e-12})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("t/h  Cp mg/L  Ce mg/L  closed form  E")
	for i, t := range times {
		fmt.Printf("%3g %8.4f %8.4f %12.4f %6.2f\n", t, cp(t), ce[i],
			link.OneCompartmentOral(320, 1.5, 0.08, 40, t), effect.Effect(ce[i]))
	}
	// Output:
	// t/h  Cp mg/L  Ce mg/L  closed form  E
	//   0   0.0000   0.0000       0.0000  10.00
	//   1   5.9154   1.0070       1.0070  30.23
	//   2   6.7805   2.4412       2.4412  69.84
	//   4   6.1155   4.2660       4.2660  91.98
	//   7   4.8269   4.9126       4.9126  95.78
	//  12   3.2357   4.0397       4.0397  90.31
	//  24   1.2389   1.6793       1.6793  51.35
}

// The direct models as pure functions of concentration.
func ExampleEmax() {
	m := pkpd.Emax{E0: 10, Emax: 100, EC50: 2, Hill: 2} // effect units, mg/L
	if err := m.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range []float64{0, 1, 2, 4, 20} {
		fmt.Printf("C = %2g mg/L: E = %.2f\n", c, m.Effect(c))
	}
	fmt.Println(pkpd.Emax{EC50: -1}.Validate())
	// Output:
	// C =  0 mg/L: E = 10.00
	// C =  1 mg/L: E = 30.00
	// C =  2 mg/L: E = 60.00
	// C =  4 mg/L: E = 90.00
	// C = 20 mg/L: E = 109.01
	// pkpd: Emax.EC50 = -1 mg/L; must be positive and finite
}
