package pkpd_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/model/pkpd"
	"github.com/doppelhealth/doppel/ode"
)

// pdIDR returns the indirect response model of case d (d_pd_models.R) of
// the given type: kin 10/h, kout 0.5/h, Imax 0.9, IC50 2 mg/L, Smax 2,
// SC50 2 mg/L.
func pdIDR(typ pkpd.IDRType) pkpd.IndirectResponse {
	m := pkpd.IndirectResponse{Type: typ, Kin: 10, Kout: 0.5}
	if typ == pkpd.InhibitKin || typ == pkpd.InhibitKout {
		m.Imax, m.IC50 = 0.9, 2
	} else {
		m.Smax, m.SC50 = 2, 2
	}
	return m
}

// TestIndirectResponseReference integrates the four models along the
// analytic plasma profile of case a and compares with R's lsoda solution
// (rtol 1e-10, atol 1e-12, solved jointly with the PK ODE) at every grid
// point, and the grid extrema with d_pd_summary.csv.
//
// Tolerance 1e-8 relative: lsoda's global error at rtol 1e-10 over 72 h is
// of order 1e-10 to 1e-9 relative (its Ce in the same run is within 4.1e-10
// mg/L of the closed form, and its C of case a within 2.3e-11 relative), the
// CSV carries 12 significant digits, and our DoPri5 runs at RelTol 1e-12.
func TestIndirectResponseReference(t *testing.T) {
	d := pdReadCSV(t, "d_indirect_response.csv")
	s := pkpd.RefSummary(t, "d_pd_summary.csv")
	times := d["time"]
	for _, tc := range []struct {
		typ     pkpd.IDRType
		col     string
		extreme string // "min" or "max"
		key     string // summary quantity prefix
	}{
		{pkpd.InhibitKin, "R_typeI", "min", "typeI"},
		{pkpd.InhibitKout, "R_typeII", "max", "typeII"},
		{pkpd.StimulateKin, "R_typeIII", "max", "typeIII"},
		{pkpd.StimulateKout, "R_typeIV", "min", "typeIV"},
	} {
		m := pdIDR(tc.typ)
		if m.Baseline() != s["R0"] {
			t.Errorf("type %v: Baseline = %g, want %g", tc.typ, m.Baseline(), s["R0"])
		}
		got, err := m.Simulate(pdBateman, m.Baseline(), times, pdTight)
		if err != nil {
			t.Fatalf("type %v: %v", tc.typ, err)
		}
		e, i := pdMaxErr(got, d[tc.col], 1e-8, 0)
		t.Logf("%s: worst error %.3g of tolerance at t = %g h", "type "+tc.typ.String(), e, times[i])
		if e > 1 {
			t.Errorf("type %v: t = %g h: R = %.15g, want %.15g", tc.typ, times[i], got[i], d[tc.col][i])
		}

		// Grid extremum, e.g. type I: min 7.25358815783 at 7 h.
		best := 0
		for i := range got {
			if (tc.extreme == "min" && got[i] < got[best]) || (tc.extreme == "max" && got[i] > got[best]) {
				best = i
			}
		}
		wantR := s[tc.key+"_"+tc.extreme+"_R_grid"]
		wantT := s[tc.key+"_t_at_"+tc.extreme+"_grid"]
		if times[best] != wantT || math.Abs(got[best]-wantR) > 1e-8*wantR {
			t.Errorf("type %v: grid %s R = %.12g at %g h, want %.12g at %g h", tc.typ, tc.extreme, got[best], times[best], wantR, wantT)
		}
	}
}

// TestIndirectResponseConstantConcentration checks each model against its
// analytic solution for a constant concentration C: R' = a − k·R, so
// R(t) = Rss + (R0 − Rss)·exp(−k·t) with Rss = a/k, where (a, k) is
// (kin·(1 − I), kout), (kin, kout·(1 − I)), (kin·(1 + S), kout),
// (kin, kout·(1 + S)) for types I to IV. Tolerance 1e-10 relative at
// RelTol 1e-12. Zero drug must leave R at its baseline.
func TestIndirectResponseConstantConcentration(t *testing.T) {
	times := []float64{0, 0.1, 0.5, 1, 2, 4, 8, 12, 24, 48}
	for _, c := range []float64{0, 1, 2, 7.5} {
		for _, typ := range []pkpd.IDRType{pkpd.InhibitKin, pkpd.InhibitKout, pkpd.StimulateKin, pkpd.StimulateKout} {
			m := pdIDR(typ)
			m.Hill = 1.5
			inh := 0.9 * math.Pow(c, 1.5) / (math.Pow(2, 1.5) + math.Pow(c, 1.5))
			sti := 2 * math.Pow(c, 1.5) / (math.Pow(2, 1.5) + math.Pow(c, 1.5))
			var a, k float64 // R' = a − k·R
			switch typ {
			case pkpd.InhibitKin:
				a, k = 10*(1-inh), 0.5
			case pkpd.InhibitKout:
				a, k = 10, 0.5*(1-inh)
			case pkpd.StimulateKin:
				a, k = 10*(1+sti), 0.5
			case pkpd.StimulateKout:
				a, k = 10, 0.5*(1+sti)
			}
			r0 := m.Baseline()
			want := make([]float64, len(times))
			for i, tt := range times {
				want[i] = a/k + (r0-a/k)*math.Exp(-k*tt)
			}
			got, err := m.Simulate(func(float64) float64 { return c }, r0, times, pdTight)
			if err != nil {
				t.Fatalf("type %v, C = %g: %v", typ, c, err)
			}
			e, i := pdMaxErr(got, want, 1e-10, 0)
			if e > 1 {
				t.Errorf("type %v, C = %g mg/L: t = %g h: R = %.15g, want %.15g", typ, c, times[i], got[i], want[i])
			}
			if c == 0 {
				for i := range got {
					if got[i] != r0 {
						t.Errorf("type %v without drug: R(%g h) = %.17g, want baseline %g exactly", typ, times[i], got[i], r0)
						break
					}
				}
			}
		}
	}
}

// TestIndirectResponseRate checks Rate against the equations of Dayneka,
// Garg & Jusko 1993 at C = IC50 = SC50 (half-maximal drug effect) and R = 30.
func TestIndirectResponseRate(t *testing.T) {
	for _, tc := range []struct {
		typ  pkpd.IDRType
		want float64
	}{
		{pkpd.InhibitKin, 10*(1-0.45) - 0.5*30},
		{pkpd.InhibitKout, 10 - 0.5*(1-0.45)*30},
		{pkpd.StimulateKin, 10*(1+1) - 0.5*30},
		{pkpd.StimulateKout, 10 - 0.5*(1+1)*30},
	} {
		if got := pdIDR(tc.typ).Rate(2, 30); math.Abs(got-tc.want) > 1e-14*math.Abs(tc.want) {
			t.Errorf("type %v: Rate(2, 30) = %.17g, want %.17g", tc.typ, got, tc.want)
		}
	}
	if got := (pkpd.IndirectResponse{Kin: 1, Kout: 1}).Rate(1, 1); !math.IsNaN(got) {
		t.Errorf("Rate of the zero Type = %g, want NaN", got)
	}
}

// TestIndirectResponseValidate checks that every invalid field is reported
// by name.
func TestIndirectResponseValidate(t *testing.T) {
	with := func(typ pkpd.IDRType, f func(*pkpd.IndirectResponse)) error {
		m := pdIDR(typ)
		f(&m)
		return m.Validate()
	}
	for _, tc := range []struct {
		name string
		err  error
		want string // substring of the error; "" means valid
	}{
		{"type I ok", pdIDR(pkpd.InhibitKin).Validate(), ""},
		{"type IV ok", pdIDR(pkpd.StimulateKout).Validate(), ""},
		{"Imax 1 ok", with(pkpd.InhibitKout, func(m *pkpd.IndirectResponse) { m.Imax = 1 }), ""},
		{"zero value", pkpd.IndirectResponse{}.Validate(), "IndirectResponse.Type = 0"},
		{"type 5", with(pkpd.IDRType(5), func(*pkpd.IndirectResponse) {}), "IndirectResponse.Type = 5"},
		{"zero Kin", with(pkpd.InhibitKin, func(m *pkpd.IndirectResponse) { m.Kin = 0 }), "IndirectResponse.Kin = 0"},
		{"NaN Kout", with(pkpd.InhibitKin, func(m *pkpd.IndirectResponse) { m.Kout = math.NaN() }), "IndirectResponse.Kout = NaN"},
		{"Imax above 1", with(pkpd.InhibitKin, func(m *pkpd.IndirectResponse) { m.Imax = 1.2 }), "IndirectResponse.Imax = 1.2"},
		{"zero Imax", with(pkpd.InhibitKout, func(m *pkpd.IndirectResponse) { m.Imax = 0 }), "IndirectResponse.Imax = 0"},
		{"zero IC50", with(pkpd.InhibitKin, func(m *pkpd.IndirectResponse) { m.IC50 = 0 }), "IndirectResponse.IC50 = 0"},
		{"Smax on type I", with(pkpd.InhibitKin, func(m *pkpd.IndirectResponse) { m.Smax = 2 }), "Smax = 2, SC50 = 0 set for inhibitory type I"},
		{"zero Smax", with(pkpd.StimulateKin, func(m *pkpd.IndirectResponse) { m.Smax = 0 }), "IndirectResponse.Smax = 0"},
		{"Inf SC50", with(pkpd.StimulateKout, func(m *pkpd.IndirectResponse) { m.SC50 = math.Inf(1) }), "IndirectResponse.SC50 = +Inf"},
		{"IC50 on type III", with(pkpd.StimulateKin, func(m *pkpd.IndirectResponse) { m.IC50 = 2 }), "Imax = 0, IC50 = 2 set for stimulatory type III"},
		{"negative Hill", with(pkpd.StimulateKin, func(m *pkpd.IndirectResponse) { m.Hill = -2 }), "IndirectResponse.Hill = -2"},
	} {
		switch {
		case tc.want == "" && tc.err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, tc.err)
		case tc.want != "" && (tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || !strings.HasPrefix(tc.err.Error(), "pkpd: ")):
			t.Errorf("%s: error %v, want one starting \"pkpd: \" containing %q", tc.name, tc.err, tc.want)
		}
	}

	m := pdIDR(pkpd.InhibitKin)
	if _, err := m.Simulate(nil, 20, []float64{0, 1}, ode.Settings{}); err == nil || !strings.Contains(err.Error(), "IndirectResponse.Simulate: nil plasma concentration function") {
		t.Errorf("nil cp: error %v", err)
	}
	if _, err := m.Simulate(pdBateman, math.Inf(-1), []float64{0, 1}, ode.Settings{}); err == nil || !strings.Contains(err.Error(), "r0 = -Inf") {
		t.Errorf("infinite r0: error %v", err)
	}
	if _, err := (pkpd.IndirectResponse{}).Simulate(pdBateman, 20, []float64{0, 1}, ode.Settings{}); err == nil || !strings.Contains(err.Error(), "Type = 0") {
		t.Errorf("zero model: error %v", err)
	}
}

func TestIDRTypeString(t *testing.T) {
	for typ, want := range map[pkpd.IDRType]string{
		pkpd.InhibitKin: "I", pkpd.InhibitKout: "II", pkpd.StimulateKin: "III", pkpd.StimulateKout: "IV", 0: "IDRType(0)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("IDRType(%d).String() = %q, want %q", int(typ), got, want)
		}
	}
}

// The four indirect response models of Dayneka, Garg & Jusko 1993 after
// 320 mg orally (one compartment: ka 1.5/h, ke 0.08/h, V 40 L), with
// kin 10/h and kout 0.5/h (baseline 20): inhibition of production (I) or
// stimulation of loss (IV) lowers the response, the other two raise it.
func ExampleIndirectResponse() {
	cp := func(t float64) float64 { // mg/L
		return 320 * 1.5 / (40 * (1.5 - 0.08)) * (math.Exp(-0.08*t) - math.Exp(-1.5*t))
	}
	times := []float64{0, 4, 7, 10, 24, 72} // h
	models := []pkpd.IndirectResponse{
		{Type: pkpd.InhibitKin, Kin: 10, Kout: 0.5, Imax: 0.9, IC50: 2},
		{Type: pkpd.InhibitKout, Kin: 10, Kout: 0.5, Imax: 0.9, IC50: 2},
		{Type: pkpd.StimulateKin, Kin: 10, Kout: 0.5, Smax: 2, SC50: 2},
		{Type: pkpd.StimulateKout, Kin: 10, Kout: 0.5, Smax: 2, SC50: 2},
	}
	fmt.Print("type")
	for _, t := range times {
		fmt.Printf(" %6s", fmt.Sprintf("%gh", t))
	}
	fmt.Println()
	for _, m := range models {
		r, err := m.Simulate(cp, m.Baseline(), times, ode.Settings{RelTol: 1e-10, AbsTol: 1e-12})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-4v", m.Type)
		for _, v := range r {
			fmt.Printf(" %6.2f", v)
		}
		fmt.Println()
	}
	// Output:
	// type     0h     4h     7h    10h    24h    72h
	// I     20.00   8.33   7.25   7.72  12.42  19.72
	// II    20.00  39.65  47.07  48.98  33.80  20.29
	// III   20.00  45.94  48.33  47.30  36.85  20.62
	// IV    20.00   8.03   8.20   8.55  11.07  19.40
}

// BenchmarkIndirectResponseSimulate: type I along the case-d plasma profile,
// 0..72 h hourly (73 output times), at RelTol 1e-12 and at ode's default 1e-6.
func BenchmarkIndirectResponseSimulate(b *testing.B) {
	m := pdIDR(pkpd.InhibitKin)
	times := make([]float64, 73)
	for i := range times {
		times[i] = float64(i)
	}
	for _, bc := range []struct {
		name string
		s    ode.Settings
	}{{"rtol1e-12", pdTight}, {"default", ode.Settings{}}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Simulate(pdBateman, m.Baseline(), times, bc.s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
