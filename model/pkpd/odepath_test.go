package pkpd

import (
	"math"
	"strings"
	"testing"
)

// TestCaseBODE runs reference case b on the ODE path (DoPri5, RelTol
// 1e-10, AbsTol 1e-12) against R's lsoda amounts and closed-form
// concentration. 1e-8 relative: the two integrators each err by a few
// 1e-10 (README: lsoda 3.1e-10 relative).
func TestCaseBODE(t *testing.T) {
	ref := readRef(t, "b_2cmt_multidose.csv")
	m, err := LinearODE(caseBModel, caseBParams)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSchedule(caseBRecs, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	times := ref.column(t, "time")
	prof, err := m.Simulate(s, times)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range times {
		if got, want := prof.Amount(i, 2)/caseBParams.V1, ref.get(i, "conc_central_analytic"); !closeTo(got, want, 1e-8, 1e-11) {
			t.Errorf("C(%g) = %.12g, want %.12g", tt, got, want)
		}
		for k, name := range []string{"amt_depot_lsoda", "amt_central_lsoda", "amt_periph_lsoda"} {
			if got, want := prof.Amount(i, k+1), ref.get(i, name); !closeTo(got, want, 1e-8, 1e-9) {
				t.Errorf("%s(%g) = %.12g, want %.12g", name, tt, got, want)
			}
		}
	}
}

// TestODEMatchesClosedForm runs 1-, 2- and 3-compartment models, with and
// without a depot, on both paths under a schedule that exercises every
// event kind: a bolus, an infusion with ADDL, a lagged dose with F, an
// SS=1 and an SS=2 record, a reset and a modelled-duration infusion. The
// closed form is exact; the ODE path runs at RelTol 1e-10, AbsTol 1e-12,
// so both agree to 1e-8 relative (1e-10 mg absolute for amounts near 0).
func TestODEMatchesClosedForm(t *testing.T) {
	p := Params{CL: 4, V1: 15, Q2: 8, V2: 40, Q3: 1.5, V3: 90, KA: 0.9}
	recs := []Record{
		{ID: 1, Time: 0, EVID: 1, AMT: 150, CMT: 1, II: 8, ADDL: 2},
		{ID: 1, Time: 4, EVID: 0},
		{ID: 1, Time: 6, EVID: 1, AMT: 80, CMT: 0, RATE: 40, II: 12, ADDL: 1},
		{ID: 1, Time: 30, EVID: 1, AMT: 60, CMT: 1},
		{ID: 1, Time: 50, EVID: 1, AMT: 100, CMT: 1, II: 12, SS: 2},
		{ID: 1, Time: 70, EVID: 3},
		{ID: 1, Time: 72, EVID: 1, AMT: 100, CMT: 1, RATE: -2, II: 24, SS: 1, ADDL: 0},
		{ID: 1, Time: 80, EVID: 0},
		{ID: 1, Time: 100, EVID: 4, AMT: 50, CMT: 1, RATE: 20},
	}
	d := Dosing{F: map[int]float64{1: 0.7}, Lag: map[int]float64{1: 0.5}, Duration: map[int]float64{1: 3}}
	var times []float64
	for tt := 0.0; tt <= 130; tt += 0.75 {
		times = append(times, tt)
	}
	for _, m := range []Linear{{0, false}, {0, true}, {1, false}, {1, true}, {2, false}, {2, true}} {
		cf, err := m.NewSchedule(recs, d, ScheduleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.Simulate(p, cf, times)
		if err != nil {
			t.Fatal(err)
		}
		om, err := LinearODE(m, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, linear := range []bool{true, false} { // steady state by solve and by iteration
			om.Linear = linear
			got, err := om.Simulate(cf, times)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for i := range want.Amounts {
				if !closeTo(got.Amounts[i], want.Amounts[i], 1e-8, 1e-10) {
					t.Errorf("%+v linear=%v: amount %d at %g = %.12g, closed form %.12g", m, linear, i%m.NumCmt()+1, times[i/m.NumCmt()], got.Amounts[i], want.Amounts[i])
				}
				if want.Amounts[i] > 1e-6 {
					worst = math.Max(worst, math.Abs(got.Amounts[i]/want.Amounts[i]-1))
				}
			}
			for i := range want.ObsAmounts {
				if !closeTo(got.ObsAmounts[i], want.ObsAmounts[i], 1e-8, 1e-10) {
					t.Errorf("%+v: observation amount %d = %.12g, closed form %.12g", m, i, got.ObsAmounts[i], want.ObsAmounts[i])
				}
			}
			t.Logf("%+v linear=%v: max relative difference %.2g", m, linear, worst)
		}
	}
}

// TestMichaelisMenten checks the ODE path on a nonlinear model with an
// implicit analytic solution: after an IV bolus giving C0, C(t) satisfies
// Km·ln(C/C0) + C − C0 + (Vmax/V)·t = 0 (e.g. Rowland & Tozer, Clinical
// Pharmacokinetics and Pharmacodynamics, 4th ed., ch. 20). The residual of
// that equation, divided by its derivative Km/C + 1, is the error in C.
func TestMichaelisMenten(t *testing.T) {
	p := MichaelisMenten{Vmax: 50, Km: 4, V: 20}
	m, err := p.ODE()
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSchedule([]Record{{ID: 1, EVID: 1, AMT: 400}}, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{0.5, 1, 2, 4, 6, 8, 12}
	c, err := m.Predict(s, times)
	if err != nil {
		t.Fatal(err)
	}
	c0 := 400 / p.V
	for i, tt := range times {
		r := p.Km*math.Log(c[i]/c0) + c[i] - c0 + p.Vmax/p.V*tt
		errC := r / (p.Km/c[i] + 1)
		// RelTol 1e-10 on amounts: 1e-8 relative error in C is 100 times
		// the local tolerance accumulated over the run.
		if math.Abs(errC) > 1e-8*c[i]+1e-11 {
			t.Errorf("C(%g) = %.12g: error %.3g mg/L from the implicit solution", tt, c[i], errC)
		}
	}
	// Zero-order phase: while C >> Km the decline is nearly Vmax/V per h.
	if c[0] > c0-p.Vmax/p.V*0.5*0.8 || c[0] < c0-p.Vmax/p.V*0.5 {
		t.Errorf("C(0.5) = %g, want close to the zero-order decline from %g", c[0], c0)
	}
	// Saturation makes the model nonlinear: double the dose, more than
	// double the concentration at 8 h.
	s2, err := m.NewSchedule([]Record{{ID: 1, EVID: 1, AMT: 800}}, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := m.Predict(s2, []float64{8})
	if err != nil {
		t.Fatal(err)
	}
	if c2[0] <= 2*c[5] {
		t.Errorf("C(8 h) after 800 mg = %g, not more than twice %g after 400 mg", c2[0], c[5])
	}
}

// TestMichaelisMentenSteadyState: at steady state of a constant infusion R
// (AMT=0, RATE=R, SS=1, II=0) the elimination equals the input:
// Vmax·C/(Km+C) = R, so C = Km·R/(Vmax − R).
func TestMichaelisMentenSteadyState(t *testing.T) {
	p := MichaelisMenten{Vmax: 50, Km: 4, V: 20}
	m, err := p.ODE()
	if err != nil {
		t.Fatal(err)
	}
	const r = 30.0
	s, err := m.NewSchedule([]Record{{ID: 1, EVID: 1, RATE: r, SS: 1}, {ID: 1, Time: 0, EVID: 0}, {ID: 1, Time: 5, EVID: 0}}, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	prof, err := m.Simulate(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := p.Km * r / (p.Vmax - r)
	for i := range prof.Obs {
		if c := prof.ObsAmount(i, 1) / p.V; !closeTo(c, want, 1e-8, 0) {
			t.Errorf("observation %d: C = %.12g, want %.12g", i, c, want)
		}
	}
}

// TestTransit checks the transit chain against Savic et al. 2007, eq. 3:
// after a dose D at 0, the flux into the absorption compartment is
// D·ktr·(ktr·t)^N·e^(−ktr·t)/N!, so the amount in the last chain
// compartment is D·(ktr·t)^N·e^(−ktr·t)/N!. Also mass balance: what has
// left the body, CL·∫C dt, plus what remains, equals D.
func TestTransit(t *testing.T) {
	p := Transit{N: 4, MTT: 2.5, KA: 1.2, CL: 6, V: 30}
	m, err := p.ODE()
	if err != nil {
		t.Fatal(err)
	}
	const dose = 500.0
	s, err := m.NewSchedule([]Record{{ID: 1, EVID: 1, AMT: dose}}, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var times []float64
	for tt := 0.25; tt <= 12; tt += 0.25 {
		times = append(times, tt)
	}
	prof, err := m.Simulate(s, times)
	if err != nil {
		t.Fatal(err)
	}
	ktr := p.Ktr()
	lnFact := 0.0
	for i := 2; i <= p.N; i++ {
		lnFact += math.Log(float64(i))
	}
	for i, tt := range times {
		want := dose * math.Exp(float64(p.N)*math.Log(ktr*tt)-ktr*tt-lnFact)
		if got := prof.Amount(i, p.N+1); !closeTo(got, want, 1e-8, 1e-10) {
			t.Errorf("A_N(%g) = %.12g, want %.12g", tt, got, want)
		}
	}
	// The peak of the chain's output is at t = N/ktr.
	tp := float64(p.N) / ktr
	pr, err := m.Simulate(s, []float64{tp * 0.99, tp, tp * 1.01})
	if err != nil {
		t.Fatal(err)
	}
	if a := pr.Amount(1, p.N+1); a < pr.Amount(0, p.N+1) || a < pr.Amount(2, p.N+1) {
		t.Errorf("the last transit compartment does not peak at N/ktr = %g", tp)
	}
}

// TestODEErrors: bad models and parameters are errors naming the field.
func TestODEErrors(t *testing.T) {
	if _, err := (MichaelisMenten{Vmax: -1, Km: 1, V: 1}).ODE(); err == nil || !strings.Contains(err.Error(), "Vmax") {
		t.Errorf("negative Vmax: %v", err)
	}
	if _, err := (Transit{N: 2, MTT: 0, KA: 1, CL: 1, V: 1}).ODE(); err == nil || !strings.Contains(err.Error(), "MTT") {
		t.Errorf("zero MTT: %v", err)
	}
	s := &Schedule{NumCmt: 1}
	if _, err := (ODEModel{NumCmt: 1}).Simulate(s, nil); err == nil || !strings.Contains(err.Error(), "RHS") {
		t.Errorf("nil RHS: %v", err)
	}
	if _, err := LinearODE(Linear{}, Params{CL: 1}); err == nil || !strings.Contains(err.Error(), "V1") {
		t.Errorf("zero V1: %v", err)
	}
	rhs := func(dy []float64, _ float64, a []float64) { dy[0] = -a[0] }
	if _, err := (ODEModel{NumCmt: 1, RHS: rhs, MaxRate: math.NaN()}).Simulate(s, nil); err == nil || !strings.Contains(err.Error(), "MaxRate") {
		t.Errorf("NaN MaxRate: %v", err)
	}
}

// TestODEPathSparseOutputs: with outputs every 24 h, DOP853 takes long
// steps through the terminal phase of case f, where the absorption and
// distribution modes have decayed. Its steps bounded by 5/MaxRate, the
// first 200 subjects agree with the closed form to 1e-9 relative where
// C > 1e-3 mg/L (observed 7.6e-12; without the bound 1.7e-8, beyond R's
// lsoda, 8.4e-9, and 4.3e-8 over all 1000), and to 1e-12 mg/L below.
func TestODEPathSparseOutputs(t *testing.T) {
	ps, s, _, _ := popsimSetup(t)
	times := []float64{0, 24, 48, 72, 96, 120, 144, 168}
	want := make([]float64, len(times))
	var worst float64
	for i, p := range ps[:200] {
		if err := caseBModel.PredictInto(want, p, s, times); err != nil {
			t.Fatal(err)
		}
		m, err := LinearODE(caseBModel, p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Predict(s, times)
		if err != nil {
			t.Fatal(err)
		}
		for k := range times {
			if !closeTo(got[k], want[k], 1e-9, 1e-12) {
				t.Errorf("subject %d, C(%g): ODE %.12g, closed form %.12g", i+1, times[k], got[k], want[k])
			}
			if want[k] > 1e-3 {
				worst = math.Max(worst, math.Abs(got[k]/want[k]-1))
			}
		}
	}
	t.Logf("max relative difference %.2g where C > 1e-3 mg/L", worst)
}

// TestStiffPath: the Rodas4 path gives the same Michaelis-Menten profile as
// the non-stiff path (DOP853), with oral absorption and multiple doses (both at RelTol 1e-10;
// Rodas4 is of order 4 with a finite-difference Jacobian: 1e-7 relative).
func TestStiffPath(t *testing.T) {
	p := MichaelisMenten{Vmax: 30, Km: 2, V: 25, CL: 0.5, KA: 1.3, Depot: true}
	m, err := p.ODE()
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSchedule([]Record{{ID: 1, EVID: 1, AMT: 300, II: 12, ADDL: 3}}, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{1, 5, 11.9, 12, 12.5, 30, 47, 60}
	want, err := m.Predict(s, times)
	if err != nil {
		t.Fatal(err)
	}
	m.Stiff = true
	got, err := m.Predict(s, times)
	if err != nil {
		t.Fatal(err)
	}
	for i := range times {
		if !closeTo(got[i], want[i], 1e-7, 1e-10) {
			t.Errorf("C(%g): Rodas4 %.12g, DOP853 %.12g", times[i], got[i], want[i])
		}
	}
}
