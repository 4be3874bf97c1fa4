package pkpd

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// refTable is a numeric CSV reference file from testdata (see
// testdata/README.md for provenance).
type refTable struct {
	col  map[string]int
	rows [][]float64
}

func (r *refTable) get(row int, name string) float64 { return r.rows[row][r.col[name]] }

func (r *refTable) column(t *testing.T, name string) []float64 {
	t.Helper()
	j, ok := r.col[name]
	if !ok {
		t.Fatalf("reference has no column %q", name)
	}
	out := make([]float64, len(r.rows))
	for i, row := range r.rows {
		out[i] = row[j]
	}
	return out
}

func readRef(t testing.TB, name string) *refTable {
	t.Helper()
	recs := readCSV(t, name)
	tab := &refTable{col: map[string]int{}}
	for j, h := range recs[0] {
		tab.col[h] = j
	}
	for _, rec := range recs[1:] {
		row := make([]float64, len(rec))
		for j, s := range rec {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				v = math.NaN() // a text column (e.g. a quantity name)
			}
			row[j] = v
		}
		tab.rows = append(tab.rows, row)
	}
	return tab
}

// close reports whether got agrees with want to rel relative or abs
// absolute tolerance.
func closeTo(got, want, rel, abs float64) bool {
	return math.Abs(got-want) <= math.Max(abs, rel*math.Abs(want))
}

// caseB is reference case b: 2-compartment model with a depot, 100 mg PO
// q12h × 5 (NONMEM AMT=100 CMT=1 II=12 ADDL=4) and 200 mg IV over 1 h at
// 72 h (CMT=2 RATE=200).
var (
	caseBModel  = Linear{Peripherals: 1, Depot: true}
	caseBParams = Params{CL: 5, V1: 20, Q2: 10, V2: 50, KA: 1}
	caseBRecs   = []Record{
		{ID: 1, Time: 0, EVID: 1, AMT: 100, CMT: 1, II: 12, ADDL: 4, MDV: 1},
		{ID: 1, Time: 72, EVID: 1, AMT: 200, CMT: 2, RATE: 200, MDV: 1},
	}
)

// TestCaseB compares the closed form with ../shared/refs/pkpd b (R 4.2.2):
// the concentration with R's own closed-form superposition (an independent
// implementation of the same formulas, written with 15 significant digits),
// and the amounts of all three compartments with lsoda at rtol 1e-10,
// atol 1e-12 (the README gives lsoda's error as 3.1e-10 relative).
func TestCaseB(t *testing.T) {
	ref := readRef(t, "b_2cmt_multidose.csv")
	s, err := caseBModel.NewSchedule(caseBRecs, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	times := ref.column(t, "time")
	prof, err := caseBModel.Simulate(caseBParams, s, times)
	if err != nil {
		t.Fatal(err)
	}
	conc, err := caseBModel.Predict(caseBParams, s, times)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i, tt := range times {
		want := ref.get(i, "conc_central_analytic")
		// Closed form vs closed form: both exact to rounding; 1e-10
		// relative covers the 15-digit CSV and the cancellation between
		// exponentials of opposite sign; 1e-13 mg/L absolute at t = 0.
		if !closeTo(conc[i], want, 1e-10, 1e-13) {
			t.Errorf("C(%g) = %.15g, want %.15g", tt, conc[i], want)
		}
		if want > 0 {
			worst = math.Max(worst, math.Abs(conc[i]/want-1))
		}
		if c := prof.Amount(i, 2) / caseBParams.V1; c != conc[i] {
			t.Errorf("Simulate and Predict disagree at %g: %g vs %g", tt, c, conc[i])
		}
		for k, name := range []string{"amt_depot_lsoda", "amt_central_lsoda", "amt_periph_lsoda"} {
			// lsoda at rtol 1e-10: 1e-8 relative leaves a margin of 30 over
			// its stated error; 1e-9 mg absolute for the depot's e^-t tail.
			want := ref.get(i, name)
			if got := prof.Amount(i, k+1); !closeTo(got, want, 1e-8, 1e-9) {
				t.Errorf("%s(%g) = %.12g, want %.12g", name, tt, got, want)
			}
		}
	}
	t.Logf("max relative difference from R's closed form: %.2g", worst)

	sum := readSummary(t, "b_2cmt_multidose_summary.csv")
	lam, err := caseBModel.Macro(caseBParams)
	if err != nil {
		t.Fatal(err)
	}
	if !closeTo(lam[0], sum["alpha"], 1e-13, 0) || !closeTo(lam[1], sum["beta"], 1e-13, 0) {
		t.Errorf("macro-constants %v, want alpha %v beta %v", lam, sum["alpha"], sum["beta"])
	}
	mc := caseBModel.Micro(caseBParams)
	if mc.K10 != sum["k10"] || mc.K12 != sum["k12"] || mc.K21 != sum["k21"] {
		t.Errorf("micro-constants %+v, want k10 %v k12 %v k21 %v", mc, sum["k10"], sum["k12"], sum["k21"])
	}
}

// TestCaseA compares the 1-compartment oral model with reference case a
// (analytic concentration and depot amount from R, 15 digits) and its
// summary (tmax, Cmax at tmax).
func TestCaseA(t *testing.T) {
	ref := readRef(t, "a_1cmt_oral.csv")
	sum := readSummary(t, "a_1cmt_oral_summary.csv")
	m := Linear{Depot: true}
	p := Params{CL: 0.08 * 40, V1: 40, KA: 1.5}
	s, err := m.NewSchedule([]Record{{ID: 1, EVID: 1, AMT: 320, CMT: 1}}, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	times := ref.column(t, "time")
	// Output at t = 0 is the left limit (0); the reference's depot column
	// at 0 is the post-dose amount, so ask for 0 after the dose as well.
	prof, err := m.Simulate(p, s, times)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range times {
		want := ref.get(i, "conc_analytic")
		got := prof.Amount(i, 2) / p.V1
		if !closeTo(got, want, 1e-10, 1e-14) {
			t.Errorf("C(%g) = %.15g, want %.15g", tt, got, want)
		}
		if tt > 0 {
			if got, want := prof.Amount(i, 1), ref.get(i, "depot_amt_analytic"); !closeTo(got, want, 1e-10, 1e-14) {
				t.Errorf("depot(%g) = %.15g, want %.15g", tt, got, want)
			}
		}
		// lsoda at rtol 1e-10 (README: max rel err 2.3e-11).
		if got, want := got, ref.get(i, "conc_lsoda_rtol1e10"); !closeTo(got, want, 1e-9, 1e-12) {
			t.Errorf("C(%g) = %.15g, lsoda %.15g", tt, got, want)
		}
	}
	tmax := sum["tmax_h"]
	c, err := m.Predict(p, s, []float64{tmax})
	if err != nil {
		t.Fatal(err)
	}
	if !closeTo(c[0], sum["Cmax_mg_per_L"], 1e-12, 0) {
		t.Errorf("Cmax = %.15g, want %.15g", c[0], sum["Cmax_mg_per_L"])
	}
}

// TestSteadyStateRefs checks NONMEM SS=1 records against reference case h:
// 1-cmt oral 320 mg q12h (AMT=320 II=12 SS=1 CMT=1) and 2-cmt 100 mg over
// 1 h q8h (AMT=100 RATE=100 II=8 SS=1 CMT=2), closed form in R (12
// significant digits: tolerance 1e-10 relative) and 80/120 explicit doses
// with lsoda (README: max rel diff 1.2e-11 / 8.9e-11; tolerance 1e-9).
func TestSteadyStateRefs(t *testing.T) {
	tests := []struct {
		file   string
		m      Linear
		p      Params
		rec    Record
		odeCol string
	}{
		{"h_ss_1cmt_oral.csv", Linear{Depot: true}, Params{CL: 3.2, V1: 40, KA: 1.5},
			Record{ID: 1, EVID: 1, AMT: 320, II: 12, SS: 1, CMT: 1}, "conc_ode_80_doses"},
		{"h_ss_2cmt_infusion.csv", caseBModel, caseBParams,
			Record{ID: 1, EVID: 1, AMT: 100, RATE: 100, II: 8, SS: 1, CMT: 2}, "conc_ode_120_doses"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ref := readRef(t, tc.file)
			times := ref.column(t, "t_after_dose")
			for _, ss := range []int{1, 2} {
				// SS=2 on an empty system gives the same state as SS=1.
				// The observations are records after the dose record, so
				// the one at TIME 0 sees the steady state (a requested output
				// time at 0 would be the left limit, before the SS record).
				rec := tc.rec
				rec.SS = ss
				recs := []Record{rec}
				for _, tt := range times {
					recs = append(recs, Record{ID: 1, Time: tt, EVID: 0})
				}
				s, err := tc.m.NewSchedule(recs, Dosing{}, ScheduleOptions{})
				if err != nil {
					t.Fatal(err)
				}
				c, err := tc.m.PredictObs(tc.p, s)
				if err != nil {
					t.Fatal(err)
				}
				for i, tt := range times {
					if want := ref.get(i, "conc_ss_analytic"); !closeTo(c[i], want, 1e-10, 0) {
						t.Errorf("SS=%d: C(%g) = %.12g, want %.12g", ss, tt, c[i], want)
					}
					if want := ref.get(i, tc.odeCol); !closeTo(c[i], want, 1e-9, 0) {
						t.Errorf("SS=%d: C(%g) = %.12g, explicit doses %.12g", ss, tt, c[i], want)
					}
				}
			}
		})
	}
}

// TestNearEqualRateConstants checks the guard for ka ≈ λ: with ka = ke
// exactly the 1-compartment oral model is C = D·k·t·e^(−kt)/V (the limit
// of the Bateman function), and ka = ke(1 ± δ) must approach it smoothly,
// without the cancellation of the textbook formula
// D·ka/(V(ka−ke))·(e^(−ke t) − e^(−ka t)).
func TestNearEqualRateConstants(t *testing.T) {
	const k, v, dose = 0.3, 10.0, 100.0
	m := Linear{Depot: true}
	s, err := m.NewSchedule([]Record{{ID: 1, EVID: 1, AMT: dose}}, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{0.5, 1, 3.33, 10, 40}
	limit := func(t float64) float64 { return dose * k * t * math.Exp(-k*t) / v }
	for _, delta := range []float64{0, 1e-15, 1e-12, 1e-9, 1e-6, -1e-9, -1e-6} {
		ka := k * (1 + delta)
		c, err := m.Predict(Params{CL: k * v, V1: v, KA: ka}, s, times)
		if err != nil {
			t.Fatal(err)
		}
		for i, tt := range times {
			// First-order Taylor term in δ: ∂C/∂ka at ka = k is
			// C·(1/k − t/2)… bounded here by |δ|·(1 + k t)·C; plus 1e-14
			// relative for rounding.
			want := limit(tt)
			tol := math.Abs(delta)*(1+k*tt)*2 + 1e-14
			if !closeTo(c[i], want, tol, 0) {
				t.Errorf("ka = k(1%+g): C(%g) = %.17g, want %.17g (tol %g)", delta, tt, c[i], want, tol)
			}
		}
	}
	// The 2-compartment model with ka equal to α and to β: against the
	// limit of the superposition sum, computed with ka = λ(1 ± 1e-7) and
	// averaged (the error of the average is O(1e-14)).
	m2 := Linear{Peripherals: 1, Depot: true}
	s2, err := m2.NewSchedule([]Record{{ID: 1, EVID: 1, AMT: dose}}, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lam, err := m2.Macro(caseBParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lam {
		p := caseBParams
		p.KA = l
		c, err := m2.Predict(p, s2, times)
		if err != nil {
			t.Fatal(err)
		}
		for i, tt := range times {
			want := (bateman2(tt, dose, l*(1+1e-5), caseBParams) + bateman2(tt, dose, l*(1-1e-5), caseBParams)) / 2
			if !closeTo(c[i], want, 1e-8, 0) {
				t.Errorf("ka = %g: C(%g) = %.15g, want %.15g", l, tt, c[i], want)
			}
		}
	}
}

// bateman2 is the textbook 2-compartment oral concentration after a dose
// into the depot (Gibaldi & Perrier ch. 2), written independently of the
// package's formulas.
func bateman2(t, dose, ka float64, p Params) float64 {
	k10, k12, k21 := p.CL/p.V1, p.Q2/p.V1, p.Q2/p.V2
	s := k10 + k12 + k21
	a := (s + math.Sqrt(s*s-4*k10*k21)) / 2
	b := k10 * k21 / a
	return dose * ka / p.V1 * ((k21-a)/((ka-a)*(b-a))*math.Exp(-a*t) +
		(k21-b)/((ka-b)*(a-b))*math.Exp(-b*t) +
		(k21-ka)/((a-ka)*(b-ka))*math.Exp(-ka*t))
}

// TestMacroConstants checks the macro-constants of the 3-compartment model
// against the invariants of the characteristic polynomial (Bertrand &
// Mentré 2008, §2.3): Σλ = k10+k12+k13+k21+k31, Πλ = k10·k21·k31, and the
// sum of pairwise products; and that they interlace k21 and k31.
func TestMacroConstants(t *testing.T) {
	for _, p := range []Params{
		{CL: 4, V1: 15, Q2: 8, V2: 40, Q3: 1.5, V3: 90},
		{CL: 0.01, V1: 100, Q2: 50, V2: 5, Q3: 0.001, V3: 1000},
		{CL: 30, V1: 3, Q2: 0.5, V2: 0.5, Q3: 0.5, V3: 0.5001},
	} {
		m := Linear{Peripherals: 2}
		lam, err := m.Macro(p)
		if err != nil {
			t.Fatal(err)
		}
		mc := m.Micro(p)
		a2 := mc.K10 + mc.K12 + mc.K13 + mc.K21 + mc.K31
		a1 := mc.K10*mc.K31 + mc.K21*mc.K31 + mc.K21*mc.K13 + mc.K10*mc.K21 + mc.K31*mc.K12
		a0 := mc.K10 * mc.K21 * mc.K31
		if s := lam[0] + lam[1] + lam[2]; !closeTo(s, a2, 1e-14, 0) {
			t.Errorf("%+v: Σλ = %g, want %g", p, s, a2)
		}
		if s := lam[0]*lam[1] + lam[0]*lam[2] + lam[1]*lam[2]; !closeTo(s, a1, 1e-13, 0) {
			t.Errorf("%+v: Σλλ = %g, want %g", p, s, a1)
		}
		if s := lam[0] * lam[1] * lam[2]; !closeTo(s, a0, 1e-12, 0) {
			t.Errorf("%+v: Πλ = %g, want %g", p, s, a0)
		}
		lo, hi := math.Min(mc.K21, mc.K31), math.Max(mc.K21, mc.K31)
		if !(lam[0] > hi && hi >= lam[1] && lam[1] >= lo && lo > lam[2]) {
			t.Errorf("%+v: λ = %v do not interlace k21, k31 = %g, %g", p, lam, mc.K21, mc.K31)
		}
	}
}

// TestLinearErrors: bad parameters and models are errors naming the field.
func TestLinearErrors(t *testing.T) {
	s, err := caseBModel.NewSchedule(caseBRecs, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m    Linear
		p    Params
		want string
	}{
		{caseBModel, Params{CL: 0, V1: 20, Q2: 10, V2: 50, KA: 1}, "parameter CL is 0"},
		{caseBModel, Params{CL: 5, V1: math.NaN(), Q2: 10, V2: 50, KA: 1}, "parameter V1 is NaN"},
		{caseBModel, Params{CL: 5, V1: 20, Q2: 10, V2: 50}, "parameter KA is 0"},
		{caseBModel, Params{CL: 5, V1: 20, V2: 50, KA: 1}, "parameter Q2 is 0"},
		{Linear{Peripherals: 3, Depot: true}, caseBParams, "Linear.Peripherals is 3"},
		{Linear{Peripherals: 2, Depot: true}, Params{CL: 5, V1: 20, Q2: 10, V2: 50, Q3: 1, V3: 1, KA: 1}, "schedule has 3 compartments, the model 4"},
	} {
		_, err := tc.m.Predict(tc.p, s, []float64{1})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v %+v: error %v, want %q", tc.m, tc.p, err, tc.want)
		}
	}
	if _, err := caseBModel.Predict(caseBParams, s, []float64{2, 1}); err == nil || !strings.Contains(err.Error(), "non-decreasing") {
		t.Errorf("decreasing times: %v", err)
	}
	big := []Record{{ID: 1, EVID: 1, AMT: 1, RATE: 1e-9, II: 1, SS: 1}}
	if _, err := caseBModel.NewSchedule(big, Dosing{}, ScheduleOptions{}); err == nil || !strings.Contains(err.Error(), "dose intervals") {
		t.Errorf("SS infusion over 1e9 intervals: %v", err)
	}
}

// TestSnapshot: a simulation continued from the amounts of a snapshot at
// 50 h (Schedule.Initial) gives what the whole run gives after 50 h, on
// both paths.
func TestSnapshot(t *testing.T) {
	full, err := caseBModel.NewSchedule(caseBRecs, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{50, 60, 72, 72.5, 73, 100, 120}
	want, err := caseBModel.Simulate(caseBParams, full, times)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := caseBModel.Simulate(caseBParams, full, []float64{50})
	if err != nil {
		t.Fatal(err)
	}
	rest, err := caseBModel.NewSchedule(caseBRecs[1:], Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rest.Initial = snap.Amounts
	got, err := caseBModel.Simulate(caseBParams, rest, times)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(got.Amounts, want.Amounts, cmpopts.EquateApprox(1e-13, 1e-15)) {
		t.Errorf("continued from a snapshot: %v\nwhole run: %v", got.Amounts, want.Amounts)
	}
	om, err := LinearODE(caseBModel, caseBParams)
	if err != nil {
		t.Fatal(err)
	}
	gotODE, err := om.Simulate(rest, times)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(gotODE.Amounts, want.Amounts, cmpopts.EquateApprox(1e-8, 1e-10)) {
		t.Errorf("ODE path continued from a snapshot: %v\nwhole run: %v", gotODE.Amounts, want.Amounts)
	}
	rest.Initial = []float64{1, 2}
	if _, err := caseBModel.Simulate(caseBParams, rest, times); err == nil || !strings.Contains(err.Error(), "Initial") {
		t.Errorf("wrong Initial length: %v", err)
	}
}

// TestFarEvents: events beyond the last output time are not simulated, so
// an II so large that later doses lie at +Inf is harmless.
func TestFarEvents(t *testing.T) {
	s, err := oneCmtIV.NewSchedule([]Record{{ID: 1, EVID: 1, AMT: 100, II: 1e308, ADDL: 3}}, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := oneCmtIV.Predict(oneCmtP, s, []float64{1, 10})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{bolusConc(1, [2]float64{0, 100}), bolusConc(10, [2]float64{0, 100})}; !cmp.Equal(c, want, cmpopts.EquateApprox(1e-14, 0)) {
		t.Errorf("C = %v, want %v", c, want)
	}
}
