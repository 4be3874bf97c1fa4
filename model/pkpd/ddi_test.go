package pkpd

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestReversibleAUCR reproduces refs/pkpd g_ddi_static_reversible.csv
// (Rowland & Matin 1973 formula in R, Ki = 1, 12 significant digits): 1e-11
// relative covers the printing. The fm = 1, [I]/Ki = 1e6 row (AUCR 1e6+1)
// is included; the limit column 1/(1 − fm) is checked as [I] → ∞.
func TestReversibleAUCR(t *testing.T) {
	rows := gReadCSV(t, "g_ddi_static_reversible.csv")
	if len(rows) != 42 {
		t.Fatalf("got %d rows, want 42", len(rows))
	}
	for _, row := range rows {
		fm, ratio := gFloat(t, row, "fm"), gFloat(t, row, "I_over_Ki")
		got, err := ReversibleAUCR(fm, ratio, 1)
		if err != nil {
			t.Fatal(err)
		}
		if want := gFloat(t, row, "AUCR_reversible"); relErr(got, want) > 1e-11 {
			t.Errorf("fm %v, [I]/Ki %v: AUCR %.12g, want %.12g", fm, ratio, got, want)
		}
		// Same ratio with other units: [I] 5 µM vs Ki 5/ratio µM.
		if ratio > 0 {
			got2, err := ReversibleAUCR(fm, 5, 5/ratio)
			if err != nil {
				t.Fatal(err)
			}
			if relErr(got2, got) > 1e-12 {
				t.Errorf("fm %v, [I]/Ki %v: AUCR not scale-invariant: %v vs %v", fm, ratio, got2, got)
			}
		}
		// The limit: at [I]/Ki = 1e12 AUCR equals 1/(1 − fm) within
		// fm/(1−fm)·1e-12 relative.
		lim := gFloat(t, row, "AUCR_limit_1_over_1_minus_fm")
		if fm < 1 {
			big, _ := ReversibleAUCR(fm, 1e12, 1)
			if relErr(big, lim) > 1e-9 {
				t.Errorf("fm %v: AUCR at [I]/Ki 1e12 = %v, want limit %v", fm, big, lim)
			}
		} else if !math.IsInf(lim, 1) {
			t.Errorf("fm 1: limit column %v, want Inf", lim)
		}
	}
}

// TestStaticDDIMSMCases reproduces refs/pkpd g_ddi_msm_cases.csv (Fahmi 2009
// mechanistic static model in R, 10 significant digits; 1e-9 relative):
// reversible (1), time-dependent inhibition (2), induction (3) and a case
// without gut term (4).
func TestStaticDDIMSMCases(t *testing.T) {
	rows := gReadCSV(t, "g_ddi_msm_cases.csv")
	if len(rows) != 4 {
		t.Fatalf("got %d rows, want 4", len(rows))
	}
	for _, row := range rows {
		m := StaticDDI{
			Fm: gFloat(t, row, "fm"), Fg: gFloat(t, row, "Fg"),
			IHepatic: gFloat(t, row, "Ih"), IGut: gFloat(t, row, "Ig"),
			Ki: gFloat(t, row, "Ki"), Kinact: gFloat(t, row, "kinact"), KI: gFloat(t, row, "KI"),
			KdegHepatic: gFloat(t, row, "kdeg_h_per_h"), KdegGut: gFloat(t, row, "kdeg_g_per_h"),
			Emax: gFloat(t, row, "Emax"), EC50: gFloat(t, row, "EC50"), D: gFloat(t, row, "d"),
		}
		r, err := m.Evaluate()
		if err != nil {
			t.Fatalf("case %s: %v", row["case"], err)
		}
		for _, c := range []struct {
			col string
			got float64
		}{{"AUCR", r.AUCR}, {"gut", r.Gut}, {"liver", r.Liver}} {
			if want := gFloat(t, row, c.col); relErr(c.got, want) > 1e-9 {
				t.Errorf("case %s %s = %.10g, want %.10g", row["case"], c.col, c.got, want)
			}
		}
	}
}

// TestStaticDDIReducesToReversible: with only a reversible term and Fg = 1
// the mechanistic static model equals ReversibleAUCR (an identity of the
// formulas), and the CYP3A kdeg constants equal those of the reference.
func TestStaticDDIReducesToReversible(t *testing.T) {
	for _, fm := range []float64{0, 0.3, 0.9, 1} {
		for _, i := range []float64{0, 0.5, 7} {
			r, err := StaticDDI{Fm: fm, Fg: 1, IHepatic: i, IGut: 100, Ki: 2}.Evaluate()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ReversibleAUCR(fm, i, 2)
			if relErr(r.AUCR, want) > 1e-14 {
				t.Errorf("fm %v I %v: %v, want %v", fm, i, r.AUCR, want)
			}
		}
	}
	if CYP3AKdegHepatic != 0.019 || CYP3AKdegGut != 0.03 {
		t.Error("CYP3A kdeg constants differ from g_ddi_msm_cases.csv")
	}
}

// TestBasicModels reproduces refs/pkpd g_ddi_basic_model.csv (FDA 2020
// basic models in R, 10 significant digits; 1e-9 relative).
func TestBasicModels(t *testing.T) {
	rows := gReadCSV(t, "g_ddi_basic_model.csv")
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3", len(rows))
	}
	for i, row := range rows {
		imax, ki := gFloat(t, row, "Imax_u"), gFloat(t, row, "Ki_u")
		dose, mw := gFloat(t, row, "dose_mg"), gFloat(t, row, "MW")
		igut, err1 := GutConc(dose, mw)
		r1, err2 := BasicR1(imax, ki)
		r1g, err3 := BasicR1Gut(dose, mw, ki)
		r2, err4 := BasicR2(gFloat(t, row, "kinact"), gFloat(t, row, "KI_u"), gFloat(t, row, "kdeg"), imax)
		r3, err5 := BasicR3(1, gFloat(t, row, "Emax"), gFloat(t, row, "EC50_u"), imax)
		for _, err := range []error{err1, err2, err3, err4, err5} {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			col string
			got float64
		}{{"Igut_uM", igut}, {"R1", r1}, {"R1_gut", r1g}, {"R2", r2}, {"R3", r3}} {
			if want := gFloat(t, row, c.col); relErr(c.got, want) > 1e-9 {
				t.Errorf("row %d %s = %.10g, want %.10g", i+1, c.col, c.got, want)
			}
		}
	}
	// The reference rows straddle the R1 cut-off: 1.01 below, 1.05 above.
	if r, _ := BasicR1(0.01, 1); r >= BasicR1Cutoff {
		t.Errorf("R1 %v flagged", r)
	}
	if r, _ := BasicR1(0.05, 1); r < BasicR1Cutoff {
		t.Errorf("R1 %v not flagged", r)
	}
}

func TestDDIErrors(t *testing.T) {
	valid := StaticDDI{Fm: 0.9, Fg: 0.5, IHepatic: 1, IGut: 10, Ki: 1}
	for _, tc := range []struct {
		name   string
		mod    func(*StaticDDI)
		errHas string
	}{
		{"fm", func(m *StaticDDI) { m.Fm = 1.5 }, "Fm"},
		{"fg zero", func(m *StaticDDI) { m.Fg = 0 }, "Fg"},
		{"fg nan", func(m *StaticDDI) { m.Fg = math.NaN() }, "Fg"},
		{"Ih", func(m *StaticDDI) { m.IHepatic = -1 }, "IHepatic"},
		{"Ig", func(m *StaticDDI) { m.IGut = math.Inf(1) }, "IGut"},
		{"Ki", func(m *StaticDDI) { m.Ki = -1 }, "Ki"},
		{"KI", func(m *StaticDDI) { m.Kinact = 1 }, "KI"},
		{"kdeg", func(m *StaticDDI) { m.Kinact, m.KI = 1, 1 }, "KdegHepatic"},
		{"kdeg gut", func(m *StaticDDI) { m.Kinact, m.KI, m.KdegHepatic = 1, 1, 0.019 }, "KdegGut"},
		{"EC50", func(m *StaticDDI) { m.Emax = 2 }, "EC50"},
	} {
		m := valid
		tc.mod(&m)
		_, err := m.Evaluate()
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error = %v, want one naming %q", tc.name, err, tc.errHas)
		}
	}
	if _, err := valid.Evaluate(); err != nil {
		t.Errorf("valid input: %v", err)
	}
	for _, tc := range []struct {
		name, errHas string
		err          error
	}{
		{"reversible fm", "fm", ddiErr(ReversibleAUCR(-0.1, 1, 1))},
		{"reversible Ki", "Ki", ddiErr(ReversibleAUCR(0.5, 1, 0))},
		{"reversible I", "inhibitor concentration", ddiErr(ReversibleAUCR(0.5, math.NaN(), 1))},
		{"R1 Ki", "Ki,u", ddiErr(BasicR1(1, 0))},
		{"R1gut MW", "molecular weight", ddiErr(BasicR1Gut(100, 0, 1))},
		{"R1gut dose", "dose", ddiErr(BasicR1Gut(-1, 500, 1))},
		{"R2 kdeg", "kdeg", ddiErr(BasicR2(0.01, 5, 0, 1))},
		{"R2 KI", "KI,u", ddiErr(BasicR2(0.01, -5, 0.0003, 1))},
		{"R3 EC50", "EC50,u", ddiErr(BasicR3(1, 2, 0, 1))},
		{"R3 Emax", "Emax", ddiErr(BasicR3(1, -2, 5, 1))},
		{"activity", "activity", ddiErr(RelativeClearance(0.5, -1))},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.errHas) || !strings.HasPrefix(tc.err.Error(), "pkpd: ") {
			t.Errorf("%s: error = %v, want one naming %q", tc.name, tc.err, tc.errHas)
		}
	}
}

func ddiErr(_ float64, err error) error { return err }

// ExampleReversibleAUCR: a victim cleared 90 % by CYP3A with an inhibitor at
// ten times its Ki (research/pkpd.md §7).
func ExampleReversibleAUCR() {
	aucr, err := ReversibleAUCR(0.9, 10, 1)
	if err != nil {
		panic(err)
	}
	fmt.Printf("AUC ratio %.2f\n", aucr)
	// Output: AUC ratio 5.50
}

// ExampleStaticDDI_Evaluate is case 1 of refs/pkpd g_ddi_msm_cases.csv:
// reversible CYP3A inhibition in gut and liver.
func ExampleStaticDDI_Evaluate() {
	r, err := StaticDDI{
		Fm: 0.9, Fg: 0.5, // victim: 90 % of hepatic CL by CYP3A, Fg 0.5
		IHepatic: 1, IGut: 50, Ki: 0.1, // µM
	}.Evaluate()
	if err != nil {
		panic(err)
	}
	fmt.Printf("AUCR %.3f = gut %.3f × liver %.3f\n", r.AUCR, r.Gut, r.Liver)
	// Output: AUCR 10.978 = gut 1.996 × liver 5.500
}

// ExampleBasicR1Gut: 100 mg of a 500 g/mol inhibitor in 250 mL is 800 µM;
// against Ki,u = 1 µM R1,gut = 801, far above the cut-off of 11.
func ExampleBasicR1Gut() {
	r, err := BasicR1Gut(100, 500, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println(r, r >= BasicR1GutCutoff)
	// Output: 801 true
}
