package pkpd_test

import (
	"math"
	"testing"

	"github.com/doppelhealth/doppel/model/pkpd"
)

// constParams is a ParamsFunc of fixed parameters.
func constParams(p pkpd.Params) pkpd.ParamsFunc {
	return func(map[string]float64) (pkpd.Params, error) { return p, nil }
}

// TestWindowOralCaseA checks Cmax/tmax off the output grid against the
// analytic 1-cmt oral peak tmax = ln(ka/ke)/(ka−ke) and against reference
// case a (R, testdata/a_1cmt_oral_summary.csv): ka 1.5/h, ke 0.08/h, V 40 L,
// 320 mg at 0, window 0–24 h.
func TestWindowOralCaseA(t *testing.T) {
	ref := pkpd.RefSummary(t, "a_1cmt_oral_summary.csv")
	const ka, ke, v, dose = 1.5, 0.08, 40.0, 320.0
	lin := pkpd.Linear{Depot: true}
	p := pkpd.Params{CL: ke * v, V1: v, KA: ka}
	s, err := lin.NewSchedule([]pkpd.Record{{ID: 1, EVID: 1, AMT: dose, CMT: 1}}, pkpd.Dosing{}, pkpd.ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := lin.Window(constParams(p), s, 0, 24)
	if err != nil {
		t.Fatal(err)
	}
	tmax := math.Log(ka/ke) / (ka - ke)
	cmax := dose * ka / (v * (ka - ke)) * (math.Exp(-ke*tmax) - math.Exp(-ka*tmax))
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"tmax vs ln(ka/ke)/(ka-ke)", w.Tmax, tmax, 1e-7},
		{"tmax vs ref a", w.Tmax, ref["tmax_h"], 1e-7},
		{"Cmax vs analytic", w.Cmax, cmax, 1e-12},
		{"Cmax vs ref a", w.Cmax, ref["Cmax_mg_per_L"], 1e-9},
		{"AUC0-24 vs ref a", w.AUC, ref["AUC0_24_mg_h_per_L"], 1e-9},
		{"Cmin (0 before absorption)", w.Cmin, 0, 0},
		{"tmin", w.Tmin, 0, 0},
	} {
		if e := pkpd.RelErr(c.got, c.want); e > c.tol {
			t.Errorf("%s: got %.12g, want %.12g (rel err %.2g > %g)", c.name, c.got, c.want, e, c.tol)
		}
	}
}

// TestWindowIV checks the extrema at events: an IV bolus peaks just after
// the dose (reported at the dose time) and troughs just before the next;
// an infusion peaks at its end. Expected values are the 1-cmt formulas.
func TestWindowIV(t *testing.T) {
	const cl, v = 5.0, 50.0 // k = 0.1/h
	k := cl / v
	lin := pkpd.Linear{}
	p := constParams(pkpd.Params{CL: cl, V1: v})
	// 1000 mg bolus q12h, 3 doses (0, 12, 24); window [12, 24].
	bolus := []pkpd.Record{{ID: 1, EVID: 1, AMT: 1000, II: 12, ADDL: 2}}
	c0 := 1000 / v
	pre12 := c0 * math.Exp(-k*12)
	post12 := pre12 + c0
	pre24 := post12 * math.Exp(-k*12)
	// 600 mg infused over 2 h at 0: peak at 2 h.
	inf := []pkpd.Record{{ID: 1, EVID: 1, AMT: 600, RATE: 300}}
	peakInf := 300 / cl * (1 - math.Exp(-k*2))
	for _, c := range []struct {
		name                   string
		recs                   []pkpd.Record
		t1, t2                 float64
		cmax, tmax, cmin, tmin float64
	}{
		{"bolus window 12-24", bolus, 12, 24, post12, 12, pre24, 24},
		{"bolus window 0-30", bolus, 0, 30, pre24 + c0, 24, pre12, 12},
		{"infusion 0-10", inf, 0, 10, peakInf, 2, 0, 0},
		{"infusion 1-10", inf, 1, 10, peakInf, 2, peakInf * math.Exp(-k*8), 10},
	} {
		s, err := lin.NewSchedule(c.recs, pkpd.Dosing{}, pkpd.ScheduleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := lin.Window(p, s, c.t1, c.t2)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if pkpd.RelErr(w.Cmax, c.cmax) > 1e-8 || w.Tmax != c.tmax {
			t.Errorf("%s: Cmax %.10g at %g h, want %.10g at %g h", c.name, w.Cmax, w.Tmax, c.cmax, c.tmax)
		}
		if pkpd.RelErr(w.Cmin, c.cmin) > 1e-12 || w.Tmin != c.tmin {
			t.Errorf("%s: Cmin %.10g at %g h, want %.10g at %g h", c.name, w.Cmin, w.Tmin, c.cmin, c.tmin)
		}
	}
}

func TestWindowErrors(t *testing.T) {
	lin := pkpd.Linear{}
	s, err := lin.NewSchedule([]pkpd.Record{{ID: 1, EVID: 1, AMT: 100}}, pkpd.Dosing{}, pkpd.ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := constParams(pkpd.Params{CL: 1, V1: 10})
	for _, w := range [][2]float64{{-1, 2}, {3, 3}, {0, math.Inf(1)}, {math.NaN(), 1}} {
		if _, err := lin.Window(p, s, w[0], w[1]); err == nil {
			t.Errorf("window %v: no error", w)
		}
	}
}
