package pkpd

import (
	"fmt"
	"testing"
)

// TestSteadyStateMatchesExplicitDoses checks the NONMEM definition of
// SS=1: the state is that of the dose pattern given since −∞. The SS record
// at 500 h is compared with the same pattern given explicitly from 0 h (over
// 40 half-lives of the slowest exponential: the missing doses weigh less
// than 1e-12), on both paths, for boluses and infusions, lag times shorter
// and longer than II, and infusions longer than II (overlapping).
func TestSteadyStateMatchesExplicitDoses(t *testing.T) {
	p := Params{CL: 6, V1: 25, Q2: 5, V2: 30, KA: 0.8}
	m := Linear{Peripherals: 1, Depot: true}
	const tss = 500.0
	tests := []struct {
		amt, rate, ii, lag float64
		cmt                int
	}{
		{100, 0, 12, 0, 1},
		{100, 0, 12, 3, 1},
		{100, 0, 12, 30, 1},  // lag > II: earlier doses arrive after TIME
		{100, 50, 8, 0, 2},   // 2 h infusion
		{100, 10, 8, 0, 2},   // 10 h infusion, longer than II
		{100, 10, 8, 5, 2},   // and lagged
		{100, 40, 6, 13, 1},  // infusion into the depot, lag > II
		{100, 100, 12, 0, 2}, // 1 h infusion, as reference h
	}
	var times []float64
	for tt := tss - 1; tt <= tss+30; tt += 0.5 {
		times = append(times, tt)
	}
	for _, tc := range tests {
		name := fmt.Sprintf("amt%g_rate%g_ii%g_lag%g_cmt%d", tc.amt, tc.rate, tc.ii, tc.lag, tc.cmt)
		t.Run(name, func(t *testing.T) {
			d := Dosing{Lag: map[int]float64{tc.cmt: tc.lag}}
			n := int(tss / tc.ii)
			explicit := []Record{{ID: 1, Time: tss - float64(n)*tc.ii, EVID: 1, AMT: tc.amt, RATE: tc.rate, CMT: tc.cmt, II: tc.ii, ADDL: n + 2}}
			ss := []Record{{ID: 1, Time: tss, EVID: 1, AMT: tc.amt, RATE: tc.rate, CMT: tc.cmt, II: tc.ii, ADDL: 2, SS: 1}}
			if tc.rate != 0 {
				// ADDL must be 0 with an SS infusion: continue with a
				// second record.
				ss[0].ADDL = 0
				ss = append(ss, Record{ID: 1, Time: tss + tc.ii, EVID: 1, AMT: tc.amt, RATE: tc.rate, CMT: tc.cmt, II: tc.ii, ADDL: 1})
			}
			se, err := m.NewSchedule(explicit, d, ScheduleOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sss, err := m.NewSchedule(ss, d, ScheduleOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Output times just after TIME: a requested time at TIME itself
			// is the left limit, before the SS record.
			out := times[3:] // from 500.5 h
			want, err := m.Simulate(p, se, out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Simulate(p, sss, out)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want.Amounts {
				// Closed form on both sides; 1e-9 relative covers the
				// rounding of 40+ superposed doses against the solve.
				if !closeTo(got.Amounts[i], want.Amounts[i], 1e-9, 1e-9) {
					t.Errorf("CMT %d at %g: SS %.12g, explicit doses %.12g", i%3+1, out[i/3], got.Amounts[i], want.Amounts[i])
				}
			}
			om, err := LinearODE(m, p)
			if err != nil {
				t.Fatal(err)
			}
			om.Linear = false // steady state by repeated intervals
			gotODE, err := om.Simulate(sss, out)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want.Amounts {
				if !closeTo(gotODE.Amounts[i], want.Amounts[i], 1e-7, 1e-8) {
					t.Errorf("ODE: CMT %d at %g: SS %.12g, explicit doses %.12g", i%3+1, out[i/3], gotODE.Amounts[i], want.Amounts[i])
				}
			}
		})
	}
}

// TestSteadyStateAdds: SS=2 adds the steady state of its pattern to the
// current state (NONMEM Users Guide VI §V.F.2), so an SS=2 record on top of
// an SS=1 record of another pattern gives the sum of both steady states.
func TestSteadyStateAdds(t *testing.T) {
	m := caseBModel
	p := caseBParams
	a := Record{ID: 1, Time: 10, EVID: 1, AMT: 100, CMT: 1, II: 12, SS: 1}
	b := Record{ID: 1, Time: 10, EVID: 1, AMT: 300, CMT: 2, RATE: 150, II: 24, SS: 2}
	out := []float64{10.5, 11, 15, 20}
	sim := func(recs ...Record) *Profile {
		s, err := m.NewSchedule(recs, Dosing{}, ScheduleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pr, err := m.Simulate(p, s, out)
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}
	both := sim(a, b)
	onlyA := sim(a)
	bAlone := b
	bAlone.SS = 1
	onlyB := sim(bAlone)
	for i := range both.Amounts {
		if want := onlyA.Amounts[i] + onlyB.Amounts[i]; !closeTo(both.Amounts[i], want, 1e-12, 1e-12) {
			t.Errorf("amount %d: %.15g, want %.15g", i, both.Amounts[i], want)
		}
	}
	// And SS=1 after SS=2 resets: only the second pattern remains.
	a2 := a
	a2.SS = 2
	b2 := b
	b2.SS = 1
	reset := sim(a2, b2)
	for i := range reset.Amounts {
		if !closeTo(reset.Amounts[i], onlyB.Amounts[i], 1e-12, 1e-12) {
			t.Errorf("amount %d after SS=1: %.15g, want %.15g", i, reset.Amounts[i], onlyB.Amounts[i])
		}
	}
}

// TestSteadyStateNonlinear: on a nonlinear model (Michaelis-Menten with
// absorption) SS=1 is found by repeating the interval until the state
// settles; it matches 80 explicit doses (the slowest decay, CL/V at low
// concentration, is (Vmax/Km + CL)/V = 0.52/h, so 80 × 12 h is ample).
// Both are integrated at RelTol 1e-10: 1e-8 relative.
func TestSteadyStateNonlinear(t *testing.T) {
	p := MichaelisMenten{Vmax: 30, Km: 2, V: 25, CL: 1, KA: 1.3, Depot: true}
	m, err := p.ODE()
	if err != nil {
		t.Fatal(err)
	}
	const tss = 960.0
	out := []float64{tss + 0.5, tss + 2, tss + 6, tss + 11.5}
	explicit, err := m.NewSchedule([]Record{{ID: 1, EVID: 1, AMT: 150, II: 12, ADDL: 81}}, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := m.NewSchedule([]Record{{ID: 1, Time: tss, EVID: 1, AMT: 150, II: 12, SS: 1, ADDL: 1}}, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Simulate(explicit, out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Simulate(ss, out)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Amounts {
		if !closeTo(got.Amounts[i], want.Amounts[i], 1e-8, 1e-10) {
			t.Errorf("amount %d at %g: SS %.12g, explicit doses %.12g", i%2+1, out[i/2], got.Amounts[i], want.Amounts[i])
		}
	}
}
