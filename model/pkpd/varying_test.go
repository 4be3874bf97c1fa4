package pkpd_test

import (
	"math"
	"testing"

	"github.com/doppelhealth/doppel/model/pkpd"
)

// crclModel is a 1-cmt IV model with CL = 5·(CRCL/100) L/h, V = 50·(WT/70)
// L and an η on CL (ω² 0.09), additive error 0.5 mg/L.
func crclModel() *pkpd.DrugModel {
	return &pkpd.DrugModel{
		Name:      "crcl-1cmt",
		Structure: pkpd.Structure{Compartments: 1, Route: pkpd.RouteIV},
		Parameters: []pkpd.Parameter{
			{Name: "CL", Typical: 5, Effects: []pkpd.CovariateEffectSpec{{Covariate: "CRCL", Model: pkpd.EffectPower, Ref: 100, Theta: 1}}},
			{Name: "V", Typical: 50, Effects: []pkpd.CovariateEffectSpec{{Covariate: "WT", Model: pkpd.EffectPower, Ref: 70, Theta: 1}}},
		},
		Covariates: []pkpd.CovariateDef{{Name: "CRCL", Unit: "mL/min"}, {Name: "WT", Unit: "kg"}},
		IIV:        pkpd.Variability{Params: []string{"CL"}, Omega: [][]float64{{0.09}}},
		Error:      pkpd.ResidualError{Model: pkpd.AdditiveError, Add: 0.5},
	}
}

// TestVaryingHandCase: 1000 mg IV bolus q12h (0, 12, 24, 36), CrCL 100
// mL/min until 18 h then 50 mL/min (k = 0.1 then 0.05 /h), V 50 L. The
// expected concentrations are the 1-cmt solution restarted by hand at
// every change (C(t) = C(t0)·exp(−k·(t−t0)), + 20 mg/L at each dose).
func TestVaryingHandCase(t *testing.T) {
	m := crclModel()
	doses := []pkpd.Record{{ID: 1, EVID: 1, AMT: 1000, II: 12, ADDL: 3}}
	base := map[string]float64{"CRCL": 100, "WT": 70}
	recs, err := pkpd.ApplyCovariates(doses, base, []pkpd.CovariateChange{{Time: 18, Values: map[string]float64{"CRCL": 50}}})
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{6, 12, 18, 24, 30, 36, 48}
	conc, _, err := m.PredictRecords(base, []float64{0}, recs, times, pkpd.ScheduleOptions{Carry: pkpd.LOCF})
	if err != nil {
		t.Fatal(err)
	}
	// By hand.
	c12 := 20 * math.Exp(-0.1*12)        // before the dose at 12
	c18 := (c12 + 20) * math.Exp(-0.1*6) // change of CrCL
	c24 := c18 * math.Exp(-0.05*6)
	c36 := (c24 + 20) * math.Exp(-0.05*12)
	want := []float64{
		20 * math.Exp(-0.1*6), c12, c18, c24,
		(c24 + 20) * math.Exp(-0.05*6), c36, (c36 + 20) * math.Exp(-0.05*12),
	}
	for i := range times {
		if e := pkpd.RelErr(conc[i], want[i]); e > 1e-13 {
			t.Errorf("t = %g h: C = %.15g, want %.15g (rel err %.2g)", times[i], conc[i], want[i], e)
		}
	}
}

// TestVaryingNOCB checks NONMEM's rule on records: the covariates of a
// record apply to the advance that ends at it, so an EVID 2 record at 24 h
// with CRCL 50 sets k = 0.05 /h on (0, 24] and a later observation record
// (CRCL 100) sets k = 0.1 /h on (24, 36].
func TestVaryingNOCB(t *testing.T) {
	m := crclModel()
	recs := []pkpd.Record{
		{ID: 1, EVID: 1, AMT: 1000, MDV: 1, Covariates: map[string]float64{"CRCL": 100}},
		{ID: 1, Time: 24, EVID: 2, MDV: 1, Covariates: map[string]float64{"CRCL": 50}},
		{ID: 1, Time: 36, EVID: 0, Covariates: map[string]float64{"CRCL": 100}},
	}
	base := map[string]float64{"WT": 70}
	_, obs, err := m.PredictRecords(base, []float64{0}, recs, nil, pkpd.ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := 20 * math.Exp(-0.05*24) * math.Exp(-0.1*12)
	if len(obs) != 1 || pkpd.RelErr(obs[0], want) > 1e-13 {
		t.Errorf("NOCB: obs %v, want [%.15g]", obs, want)
	}
	_, obs, err = m.PredictRecords(base, []float64{0}, recs, nil, pkpd.ScheduleOptions{Carry: pkpd.LOCF})
	if err != nil {
		t.Fatal(err)
	}
	want = 20 * math.Exp(-0.1*24) * math.Exp(-0.05*12)
	if len(obs) != 1 || pkpd.RelErr(obs[0], want) > 1e-13 {
		t.Errorf("LOCF: obs %v, want [%.15g]", obs, want)
	}
}

// TestVaryingVsODE runs a 2-cmt model whose CL (CrCL) and volumes (weight)
// change at 30 h against the ODE path run in two legs: 0–30 h with the
// first parameters, then from the amounts at 30 h (Schedule.Initial) with
// the second. Concentrations are amounts over the V1 in effect.
func TestVaryingVsODE(t *testing.T) {
	m := &pkpd.DrugModel{
		Name:      "vary-2cmt",
		Structure: pkpd.Structure{Compartments: 2},
		Parameters: []pkpd.Parameter{
			{Name: "CL", Typical: 4, Effects: []pkpd.CovariateEffectSpec{{Covariate: "CRCL", Model: pkpd.EffectPower, Ref: 100, Theta: 0.8}}},
			{Name: "Vc", Typical: 40, Effects: []pkpd.CovariateEffectSpec{{Covariate: "WT", Model: pkpd.EffectPower, Ref: 70, Theta: 1}}},
			{Name: "Q", Typical: 6},
			{Name: "Vp", Typical: 30},
		},
		Covariates: []pkpd.CovariateDef{{Name: "CRCL"}, {Name: "WT"}},
		Error:      pkpd.ResidualError{Model: pkpd.AdditiveError, Add: 1},
	}
	base := map[string]float64{"CRCL": 110, "WT": 80}
	later := map[string]float64{"CRCL": 45, "WT": 72}
	// 1000 mg over 1 h every 12 h, 6 doses; the change at 30 h falls
	// between infusions.
	doses := []pkpd.Record{{ID: 1, EVID: 1, AMT: 1000, RATE: 1000, II: 12, ADDL: 5}}
	recs, err := pkpd.ApplyCovariates(doses, base, []pkpd.CovariateChange{{Time: 30, Values: later}})
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{0.5, 1, 6, 12.5, 29, 30, 30.5, 36.5, 40, 48, 60, 72}
	got, _, err := m.PredictRecords(base, nil, recs, times, pkpd.ScheduleOptions{Carry: pkpd.LOCF})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := m.Typical(base)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := m.Typical(later)
	if err != nil {
		t.Fatal(err)
	}
	lin := pkpd.Linear{Peripherals: 1}
	ode1, err := pkpd.LinearODE(lin, p1)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := ode1.NewSchedule(doses, pkpd.Dosing{}, pkpd.ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	leg1, err := ode1.Simulate(s1, []float64{0.5, 1, 6, 12.5, 29, 30})
	if err != nil {
		t.Fatal(err)
	}
	ode2, err := pkpd.LinearODE(lin, p2)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ode2.NewSchedule([]pkpd.Record{{ID: 1, Time: 36, EVID: 1, AMT: 1000, RATE: 1000, II: 12, ADDL: 2}}, pkpd.Dosing{}, pkpd.ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s2.Initial = []float64{leg1.Amount(5, 1), leg1.Amount(5, 2)}
	// Initial is the state at the first output time, 30 h.
	leg2, err := ode2.Simulate(s2, []float64{30, 30.5, 36.5, 40, 48, 60, 72})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(times))
	// 30 h is a left limit: the old parameters still apply.
	for i := range 6 {
		want[i] = leg1.Amount(i, 1) / p1.V1
	}
	for i := range 6 {
		want[6+i] = leg2.Amount(i+1, 1) / p2.V1
	}
	for i := range times {
		if e := pkpd.RelErr(got[i], want[i]); e > 1e-6 {
			t.Errorf("t = %g h: closed form %.10g, ODE path %.10g (rel err %.2g)", times[i], got[i], want[i], e)
		}
	}
}

// TestFitVarying checks that Fit uses the changing CrCL: its η̂ minimises
// the MAP objective written out by hand with the restarted 1-cmt solution
// (OFV(η) = Σ (y − f)²/σ² + ln σ² + η²/ω²), and its OFV is that objective
// at η̂.
func TestFitVarying(t *testing.T) {
	m := crclModel()
	base := map[string]float64{"CRCL": 100, "WT": 70}
	doses, err := pkpd.ApplyCovariates([]pkpd.Record{{ID: 1, EVID: 1, AMT: 1000}}, base,
		[]pkpd.CovariateChange{{Time: 10, Values: map[string]float64{"CRCL": 40}}})
	if err != nil {
		t.Fatal(err)
	}
	levels := []pkpd.Level{{Time: 4, Value: 13.1}, {Time: 20, Value: 4.9}, {Time: 30, Value: 3.2}}
	// f(η) by hand: CL = 5·e^η before 10 h, 2·e^η after; V 50 L.
	f := func(eta, t float64) float64 {
		k1, k2 := 0.1*math.Exp(eta), 0.04*math.Exp(eta)
		if t <= 10 {
			return 20 * math.Exp(-k1*t)
		}
		return 20 * math.Exp(-k1*10) * math.Exp(-k2*(t-10))
	}
	ofv := func(eta float64) float64 {
		s := eta * eta / 0.09
		for _, l := range levels {
			r := l.Value - f(eta, l.Time)
			s += r*r/0.25 + math.Log(0.25)
		}
		return s
	}
	res, err := pkpd.Fit(m, base, doses, levels, &pkpd.FitSettings{Schedule: pkpd.ScheduleOptions{Carry: pkpd.LOCF}})
	if err != nil {
		t.Fatal(err)
	}
	eta := res.Eta[0]
	if e := pkpd.RelErr(res.OFV, ofv(eta)); e > 1e-10 {
		t.Errorf("OFV %.12g, hand objective at η̂ %.12g", res.OFV, ofv(eta))
	}
	for _, d := range []float64{-1e-4, 1e-4} {
		if ofv(eta+d) < ofv(eta) {
			t.Errorf("η̂ = %g is not a minimum of the hand objective: OFV(η̂%+g) = %.12g < %.12g", eta, d, ofv(eta+d), ofv(eta))
		}
	}
	for i, l := range levels {
		if e := pkpd.RelErr(res.IPRED[i], f(eta, l.Time)); e > 1e-12 {
			t.Errorf("IPRED at %g h: %.12g, hand %.12g", l.Time, res.IPRED[i], f(eta, l.Time))
		}
	}
}

func TestApplyCovariates(t *testing.T) {
	recs, err := pkpd.ApplyCovariates(
		[]pkpd.Record{{ID: 3, EVID: 1, AMT: 100}, {ID: 3, Time: 24, EVID: 1, AMT: 100}},
		map[string]float64{"A": 1, "B": 2},
		[]pkpd.CovariateChange{{Time: 30, Values: map[string]float64{"B": 5}}, {Time: 24, Values: map[string]float64{"A": 3}}})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		time float64
		evid int
		a, b float64
	}
	want := []row{{0, 1, 1, 2}, {24, 1, 3, 2}, {24, 2, 3, 2}, {30, 2, 3, 5}}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[i]
		if r.ID != 3 || r.Time != w.time || r.EVID != w.evid || r.Covariates["A"] != w.a || r.Covariates["B"] != w.b {
			t.Errorf("record %d: %+v, want %+v", i, r, w)
		}
	}
	if _, err := pkpd.ApplyCovariates(nil, nil, []pkpd.CovariateChange{{Time: -1}}); err == nil {
		t.Error("negative time: no error")
	}
}

// TestFitRecords fits the DV of a data set's observation records with
// file-order semantics: at 12 h one observation is listed before the dose
// (pre-dose, 20·e^(−12k) mg/L) and one after it (+20 mg/L); an
// observation with MDV 1 is ignored. η̂ minimises the hand objective
// (additive error 0.5 mg/L, ω² 0.09, k = 0.1·e^η /h, V 50 L).
func TestFitRecords(t *testing.T) {
	m := crclModel()
	cov := map[string]float64{"CRCL": 100, "WT": 70}
	recs := []pkpd.Record{
		{ID: 1, EVID: 1, AMT: 1000, MDV: 1},
		{ID: 1, Time: 6, EVID: 0, MDV: 1, DV: 99},
		{ID: 1, Time: 12, EVID: 0, DV: 5.3},
		{ID: 1, Time: 12, EVID: 1, AMT: 1000, MDV: 1},
		{ID: 1, Time: 12, EVID: 0, DV: 26.1},
		{ID: 1, Time: 24, EVID: 0, DV: 7.4},
	}
	f := func(eta float64) []float64 {
		e := math.Exp(-0.1 * math.Exp(eta) * 12)
		return []float64{20 * e, 20*e + 20, (20*e + 20) * e}
	}
	y := []float64{5.3, 26.1, 7.4}
	ofv := func(eta float64) float64 {
		s := eta * eta / 0.09
		for i, fi := range f(eta) {
			s += (y[i]-fi)*(y[i]-fi)/0.25 + math.Log(0.25)
		}
		return s
	}
	res, err := pkpd.FitRecords(m, cov, recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	eta := res.Eta[0]
	if e := pkpd.RelErr(res.OFV, ofv(eta)); e > 1e-10 {
		t.Errorf("OFV %.12g, hand objective at η̂ %.12g", res.OFV, ofv(eta))
	}
	for _, d := range []float64{-1e-4, 1e-4} {
		if ofv(eta+d) < ofv(eta) {
			t.Errorf("η̂ = %g is not a minimum of the hand objective", eta)
		}
	}
	if len(res.IPRED) != 3 || pkpd.RelErr(res.IPRED[1], f(eta)[1]) > 1e-12 {
		t.Errorf("IPRED %v, want %v", res.IPRED, f(eta))
	}
}
