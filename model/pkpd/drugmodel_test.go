package pkpd_test

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/model/pkpd"
)

// ptr returns a pointer to x (for the optional fields of CovariateDef).
func ptr(x float64) *float64 { return &x }

// gotiVancomycin is the vancomycin model of Goti V, Chaturvedula A, Fossler
// MJ, Mok S, Jacob JT, Ther Drug Monit 2018;40(2):212–221, Table 2, as used
// by reference e (testdata/README_dosing.md): CL = 4.5·(CRCL/120)^0.8·0.7^HD
// (CRCL capped at 150 mL/min), Vc = 58.4·(WT/70)·0.5^HD, Vp = 38.4·(WT/70),
// Q = 6.5; IIV %CV 39.8, 81.6, 57.1 with ω² = ln(CV²+1); residual 3.4 mg/L
// + 22.7 %.
func gotiVancomycin() *pkpd.DrugModel {
	return &pkpd.DrugModel{
		Name:      "vancomycin-goti2018",
		Drug:      "vancomycin",
		Citation:  "Goti V et al. Ther Drug Monit 2018;40(2):212-221",
		Structure: pkpd.Structure{Compartments: 2, Route: pkpd.RouteIV},
		Parameters: []pkpd.Parameter{
			{Name: "CL", Typical: 4.5, Effects: []pkpd.CovariateEffectSpec{
				{Covariate: "CRCL", Model: pkpd.EffectPower, Ref: 120, Theta: 0.8},
				{Covariate: "HD", Model: pkpd.EffectCategorical, Theta: 0.7},
			}},
			{Name: "Vc", Typical: 58.4, Effects: []pkpd.CovariateEffectSpec{
				{Covariate: "WT", Model: pkpd.EffectPower, Ref: 70, Theta: 1},
				{Covariate: "HD", Model: pkpd.EffectCategorical, Theta: 0.5},
			}},
			{Name: "Q", Typical: 6.5},
			{Name: "Vp", Typical: 38.4, Effects: []pkpd.CovariateEffectSpec{
				{Covariate: "WT", Model: pkpd.EffectPower, Ref: 70, Theta: 1},
			}},
		},
		Covariates: []pkpd.CovariateDef{
			{Name: "WT", Unit: "kg"},
			{Name: "CRCL", Unit: "mL/min", Max: ptr(150)},
			{Name: "HD", Default: ptr(0)},
		},
		IIV: pkpd.Variability{
			Params:     []string{"CL", "Vc", "Vp"},
			CV:         []float64{0.398, 0.816, 0.571},
			Convention: pkpd.LogNormalCV,
		},
		Error: pkpd.ResidualError{Model: pkpd.CombinedError, Add: 3.4, Prop: 0.227},
	}
}

// eTable reads a reference CSV of testdata: header and numeric rows (the
// first column may be a label, returned in labels).
func eTable(tb testing.TB, name string) (header []string, rows [][]float64, labels []string) {
	tb.Helper()
	recs := pkpd.RefCSV(tb, name)
	for _, rec := range recs[1:] {
		row := make([]float64, len(rec))
		for j, s := range rec {
			v, err := strconv.ParseFloat(s, 64)
			if j == 0 {
				labels = append(labels, s)
			} else if err != nil {
				tb.Fatalf("%s: %q: %v", name, s, err)
			}
			row[j] = v
		}
		rows = append(rows, row)
	}
	return recs[0], rows, labels
}

// TestDrugModelGoti checks the typical values and Ω of the Goti model
// against reference e's R script (e_vanco_goti2018_prior.csv and the
// TVCL/TVVc/TVVp of e_vanco_map.csv, 10 significant digits: 1e-9).
func TestDrugModelGoti(t *testing.T) {
	m := gotiVancomycin()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	ref := pkpd.RefSummary(t, "e_vanco_map.csv")
	prior := pkpd.RefSummary(t, "e_vanco_goti2018_prior.csv")
	cov := map[string]float64{"WT": ref["WT_kg"], "CRCL": ref["CRCL_mL_min"], "HD": ref["DIAL"]}
	p, err := m.Typical(cov)
	if err != nil {
		t.Fatal(err)
	}
	om, err := m.Omega()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"TVCL", p.CL, ref["TVCL_L_h"]},
		{"TVVc", p.V1, ref["TVVc_L"]},
		{"TVVp", p.V2, ref["TVVp_L"]},
		{"Q", p.Q2, ref["Q_L_h"]},
		{"omega2 CL", om.At(0, 0), prior["omega2_CL"]},
		{"omega2 Vc", om.At(1, 1), prior["omega2_Vc"]},
		{"omega2 Vp", om.At(2, 2), prior["omega2_Vp"]},
	} {
		if e := pkpd.RelErr(c.got, c.want); e > 1e-9 {
			t.Errorf("%s = %.12g, want %.12g (rel err %.2g)", c.name, c.got, c.want, e)
		}
	}
	if om.At(0, 1) != 0 || om.At(1, 2) != 0 {
		t.Errorf("CV gives a diagonal Ω, got off-diagonal %v, %v", om.At(0, 1), om.At(1, 2))
	}
	// Named uses the model's names.
	want := map[string]float64{"CL": p.CL, "Vc": p.V1, "Q": p.Q2, "Vp": p.V2}
	if diff := cmp.Diff(want, m.Named(p)); diff != "" {
		t.Errorf("Named (-want +got):\n%s", diff)
	}
}

// TestDrugModelCovariateRules checks clamps, defaults and categorical
// effects against the Goti formulas evaluated by hand.
func TestDrugModelCovariateRules(t *testing.T) {
	m := gotiVancomycin()
	for _, c := range []struct {
		name   string
		cov    map[string]float64
		cl, vc float64
	}{
		// CRCL 200 is capped at 150: CL = 4.5·(150/120)^0.8.
		{"crcl cap", map[string]float64{"WT": 70, "CRCL": 200}, 4.5 * math.Pow(150.0/120, 0.8), 58.4},
		{"crcl at cap", map[string]float64{"WT": 70, "CRCL": 150}, 4.5 * math.Pow(150.0/120, 0.8), 58.4},
		{"reference", map[string]float64{"WT": 70, "CRCL": 120, "HD": 0}, 4.5, 58.4},
		{"dialysis", map[string]float64{"WT": 70, "CRCL": 120, "HD": 1}, 4.5 * 0.7, 58.4 * 0.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := m.Typical(c.cov)
			if err != nil {
				t.Fatal(err)
			}
			if pkpd.RelErr(p.CL, c.cl) > 1e-15 || pkpd.RelErr(p.V1, c.vc) > 1e-15 {
				t.Errorf("CL, Vc = %v, %v; want %v, %v", p.CL, p.V1, c.cl, c.vc)
			}
		})
	}
	// Exponential and table effects, a lower clamp and a full Ω.
	oral := &pkpd.DrugModel{
		Name:      "oral",
		Structure: pkpd.Structure{Compartments: 1, Route: pkpd.RouteOral},
		Parameters: []pkpd.Parameter{
			{Name: "cl", Typical: 10, Effects: []pkpd.CovariateEffectSpec{
				{Covariate: "AGE", Model: pkpd.EffectExponential, Ref: 40, Theta: -0.01},
				{Covariate: "PHENO", Model: pkpd.EffectTable, Factors: map[int]float64{0: 0.5, 1: 1, 2: 1.6}},
			}},
			{Name: "V", Typical: 100},
			{Name: "ka", Typical: 1.2},
		},
		Covariates: []pkpd.CovariateDef{{Name: "AGE", Unit: "y", Min: ptr(18)}, {Name: "PHENO"}},
		IIV:        pkpd.Variability{Params: []string{"cl", "V"}, Omega: [][]float64{{0.09, 0.03}, {0.03, 0.04}}},
		Error:      pkpd.ResidualError{Model: pkpd.ProportionalError, Prop: 0.2},
	}
	po, err := oral.Individual(map[string]float64{"AGE": 10, "PHENO": 2}, []float64{0.2, 0})
	if err != nil {
		t.Fatal(err)
	}
	// AGE 10 is clamped to 18.
	if want := 10 * math.Exp(-0.01*(18-40)) * 1.6 * math.Exp(0.2); pkpd.RelErr(po.CL, want) > 1e-15 || po.V1 != 100 || po.KA != 1.2 {
		t.Errorf("oral: CL %v (want %v), V %v, KA %v", po.CL, want, po.V1, po.KA)
	}
	if _, err := oral.Individual(map[string]float64{"AGE": 50, "PHENO": 3}, []float64{0, 0}); err == nil || !strings.Contains(err.Error(), `parameter "cl"`) {
		t.Errorf("unknown table code: error %v", err)
	}
	if got := oral.Named(po); len(got) != 3 || got["cl"] != po.CL || got["V"] != 100 || got["ka"] != 1.2 {
		t.Errorf("Named = %v", got)
	}

	// η scales log-normally.
	eta := []float64{0.1, -0.2, 0.3}
	p0, _ := m.Typical(map[string]float64{"WT": 80, "CRCL": 80})
	p, err := m.Individual(map[string]float64{"WT": 80, "CRCL": 80}, eta)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, want float64 }{
		{p.CL, p0.CL * math.Exp(0.1)}, {p.V1, p0.V1 * math.Exp(-0.2)}, {p.V2, p0.V2 * math.Exp(0.3)}, {p.Q2, p0.Q2},
	} {
		if pkpd.RelErr(c.got, c.want) > 1e-15 {
			t.Errorf("individual %v, want %v", c.got, c.want)
		}
	}
}

// TestDrugModelErrors checks that bad models and inputs are errors that
// name the field.
func TestDrugModelErrors(t *testing.T) {
	cov := map[string]float64{"WT": 80, "CRCL": 80}
	for _, c := range []struct {
		name string
		edit func(m *pkpd.DrugModel)
		cov  map[string]float64
		eta  []float64
		want string
	}{
		{"compartments", func(m *pkpd.DrugModel) { m.Structure.Compartments = 4 }, cov, nil, "structure.compartments"},
		{"route", func(m *pkpd.DrugModel) { m.Structure.Route = "im" }, cov, nil, "structure.route"},
		{"unknown parameter", func(m *pkpd.DrugModel) { m.Parameters[2].Name = "K12" }, cov, nil, `parameters[2].name "K12"`},
		{"missing parameter", func(m *pkpd.DrugModel) { m.Parameters = m.Parameters[:3] }, cov, nil, "V2 is missing"},
		{"unused KA", func(m *pkpd.DrugModel) {
			m.Parameters = append(m.Parameters, pkpd.Parameter{Name: "KA", Typical: 1})
		}, cov, nil, `parameter "KA" is not used`},
		{"duplicate", func(m *pkpd.DrugModel) { m.Parameters[3].Name = "Q2" }, cov, nil, `"Q" and "Q2"`},
		{"typical", func(m *pkpd.DrugModel) { m.Parameters[0].Typical = -1 }, cov, nil, `parameter "CL": typical = -1`},
		{"effect covariate", func(m *pkpd.DrugModel) { m.Parameters[0].Effects[0].Covariate = "SCR" }, cov, nil, `effects[0].covariate "SCR"`},
		{"effect model", func(m *pkpd.DrugModel) { m.Parameters[0].Effects[0].Model = "hill" }, cov, nil, `effects[0].model "hill"`},
		{"effect ref", func(m *pkpd.DrugModel) { m.Parameters[0].Effects[0].Ref = 0 }, cov, nil, "ref = 0"},
		{"iiv param", func(m *pkpd.DrugModel) { m.IIV.Params[2] = "V3" }, cov, nil, `iiv.params[2] "V3"`},
		{"iiv cv length", func(m *pkpd.DrugModel) { m.IIV.CV = m.IIV.CV[:2] }, cov, nil, "iiv.cv has 2 values"},
		{"iiv cv", func(m *pkpd.DrugModel) { m.IIV.CV[1] = -0.1 }, cov, nil, "iiv.cv[2] (Vc)"},
		{"omega asymmetric", func(m *pkpd.DrugModel) {
			m.IIV.Omega = [][]float64{{0.1, 0.01, 0}, {0, 0.5, 0}, {0, 0, 0.3}}
		}, cov, nil, "not symmetric"},
		{"omega not PD", func(m *pkpd.DrugModel) {
			m.IIV.Omega = [][]float64{{0.1, 0.5, 0}, {0.5, 0.5, 0}, {0, 0, 0.3}}
		}, cov, nil, "not positive definite"},
		{"error", func(m *pkpd.DrugModel) { m.Error.Add = -1 }, cov, nil, "error:"},
		{"clamp", func(m *pkpd.DrugModel) { m.Covariates[1].Min = ptr(200) }, cov, nil, "min 200 > max 150"},
		{"missing covariate", nil, map[string]float64{"WT": 80}, nil, `covariate "CRCL" is required`},
		{"unknown covariate", nil, map[string]float64{"WT": 80, "CRCL": 80, "AGE": 50}, nil, `unknown covariate "AGE"`},
		{"nan covariate", nil, map[string]float64{"WT": math.NaN(), "CRCL": 80}, nil, `covariate "WT" = NaN`},
		{"negative weight", nil, map[string]float64{"WT": -80, "CRCL": 80}, nil, `parameter "Vc"`},
		{"eta length", nil, cov, []float64{0, 0}, "eta has 2 values"},
		{"eta nan", nil, cov, []float64{0, math.NaN(), 0}, "eta[1] = NaN"},
		{"F > 1", func(m *pkpd.DrugModel) { m.F = 1.2 }, cov, nil, "F = 1.2, want 0 < F ≤ 1"},
		{"F < 0", func(m *pkpd.DrugModel) { m.F = -0.5 }, cov, nil, "F = -0.5"},
		{"F NaN", func(m *pkpd.DrugModel) { m.F = math.NaN() }, cov, nil, "F = NaN"},
		{"ALAG < 0", func(m *pkpd.DrugModel) { m.ALAG = -1 }, cov, nil, "ALAG = -1 h"},
		{"ALAG Inf", func(m *pkpd.DrugModel) { m.ALAG = math.Inf(1) }, cov, nil, "ALAG = +Inf h"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := gotiVancomycin()
			if c.edit != nil {
				c.edit(m)
			}
			eta := c.eta
			if eta == nil {
				eta = make([]float64, 3)
			}
			_, err := m.Individual(c.cov, eta)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "pkpd: ") {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// oralModel is an illustrative two-compartment oral model (parameters chosen
// for the tests, not from a publication).
func oralModel() *pkpd.DrugModel {
	return &pkpd.DrugModel{
		Name:      "oral-2cmt",
		Structure: pkpd.Structure{Compartments: 2, Route: pkpd.RouteOral},
		Parameters: []pkpd.Parameter{
			{Name: "CL", Typical: 5}, {Name: "V1", Typical: 20}, {Name: "Q", Typical: 10},
			{Name: "V2", Typical: 50}, {Name: "KA", Typical: 1.3},
		},
		IIV:   pkpd.Variability{Params: []string{"CL"}, CV: []float64{0.3}},
		Error: pkpd.ResidualError{Add: 0.1},
	}
}

// withDosing returns a copy of m with bioavailability f and lag time alag.
func withDosing(m *pkpd.DrugModel, f, alag float64) *pkpd.DrugModel {
	c := *m
	c.F, c.ALAG = f, alag
	return &c
}

// TestDrugModelBioavailability checks that F scales a dose: by linearity
// the concentrations and AUC of bolus and oral doses are F times those
// without F (to rounding), the steady-state AUC24 is F·Dose/CL·24/τ
// (analytic), and an infusion at a given RATE delivers F·AMT at that rate
// (NONMEM's rule, compared with a record of amount F·AMT).
func TestDrugModelBioavailability(t *testing.T) {
	vanco := gotiVancomycin()
	pV, err := vanco.Typical(map[string]float64{"WT": 80, "CRCL": 90})
	if err != nil {
		t.Fatal(err)
	}
	oral := oralModel()
	pO, err := oral.Typical(nil)
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{0.25, 0.5, 1, 2, 3.5, 6, 11.9, 12, 12.5, 18, 30, 47}
	for _, c := range []struct {
		name string
		m    *pkpd.DrugModel
		p    pkpd.Params
		reg  pkpd.Regimen
	}{
		{"oral 250 mg q12h", oral, pO, pkpd.Regimen{Amount: 250, Every: 12, Doses: 4}},
		{"IV bolus 1000 mg q24h", vanco, pV, pkpd.Regimen{Amount: 1000, Every: 24, Doses: 2}},
	} {
		for _, f := range []float64{1, 0.8, 0.35} {
			t.Run(fmt.Sprintf("%s F=%v", c.name, f), func(t *testing.T) {
				mf := withDosing(c.m, f, 0)
				doses, err := pkpd.RegimenRecords(c.reg)
				if err != nil {
					t.Fatal(err)
				}
				base, err := c.m.Predict(c.p, doses, times)
				if err != nil {
					t.Fatal(err)
				}
				got, err := mf.Predict(c.p, doses, times)
				if err != nil {
					t.Fatal(err)
				}
				for i := range times {
					// Only rounding separates F·C(t) from C(t) of a dose F·AMT.
					if e := pkpd.RelErr(got[i], f*base[i]); e > 1e-13 {
						t.Errorf("C(%v) = %.15g, want F·C = %.15g (rel err %.2g)", times[i], got[i], f*base[i], e)
					}
				}
				aucBase, err := c.m.AUC(c.p, doses, 0, 48)
				if err != nil {
					t.Fatal(err)
				}
				auc, err := mf.AUC(c.p, doses, 0, 48)
				if err != nil {
					t.Fatal(err)
				}
				if e := pkpd.RelErr(auc, f*aucBase); e > 1e-13 {
					t.Errorf("AUC(0, 48) = %.15g, want F·AUC = %.15g (rel err %.2g)", auc, f*aucBase, e)
				}
				ss, err := mf.SteadyState(c.p, c.reg.Amount, c.reg.Every, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				// AUC24 at steady state of a linear model: F·Dose/CL·24/τ;
				// the quadrature is accurate to about 1e-15 relative.
				want := f * c.reg.Amount / c.p.CL * 24 / c.reg.Every
				if e := pkpd.RelErr(ss.AUC24, want); e > 1e-12 {
					t.Errorf("steady-state AUC24 = %.15g, want F·Dose/CL·24/τ = %.15g (rel err %.2g)", ss.AUC24, want, e)
				}
			})
		}
	}

	t.Run("infusion at RATE delivers F·AMT", func(t *testing.T) {
		const f = 0.6
		mf := withDosing(vanco, f, 0)
		doses, err := pkpd.RegimenRecords(pkpd.Regimen{Amount: 1500, Rate: 1000, Every: 12, Doses: 3})
		if err != nil {
			t.Fatal(err)
		}
		scaled, err := pkpd.RegimenRecords(pkpd.Regimen{Amount: f * 1500, Rate: 1000, Every: 12, Doses: 3})
		if err != nil {
			t.Fatal(err)
		}
		got, err := mf.Predict(pV, doses, times)
		if err != nil {
			t.Fatal(err)
		}
		want, err := vanco.Predict(pV, scaled, times)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return pkpd.RelErr(a, b) <= 1e-13 })); diff != "" {
			t.Errorf("F·AMT at RATE differs from a record of F·AMT (-want +got):\n%s", diff)
		}
	})
}

// shifted returns the records with every dose time moved by lag h.
func shifted(recs []pkpd.Record, lag float64) []pkpd.Record {
	out := slices.Clone(recs)
	for i := range out {
		out[i].Time += lag
	}
	return out
}

// TestDrugModelLag checks that ALAG shifts the profile exactly: the model
// with ALAG and doses at TIME predicts what the model without it predicts
// for doses at TIME + ALAG (Predict and AUC), for oral, bolus and infusion
// doses, and Fit's population predictions use the lag too.
func TestDrugModelLag(t *testing.T) {
	vanco := gotiVancomycin()
	pV, err := vanco.Typical(map[string]float64{"WT": 80, "CRCL": 90})
	if err != nil {
		t.Fatal(err)
	}
	oral := oralModel()
	pO, err := oral.Typical(nil)
	if err != nil {
		t.Fatal(err)
	}
	var times []float64
	for k := range 97 {
		times = append(times, 0.5*float64(k))
	}
	for _, c := range []struct {
		name string
		m    *pkpd.DrugModel
		p    pkpd.Params
		reg  pkpd.Regimen
		lag  float64
	}{
		{"oral 250 mg q12h, ALAG 0.75 h", oral, pO, pkpd.Regimen{Amount: 250, Every: 12, Doses: 4}, 0.75},
		{"oral 250 mg q8h at 2 h, ALAG 9.5 h", oral, pO, pkpd.Regimen{Time: 2, Amount: 250, Every: 8, Doses: 5}, 9.5},
		{"IV bolus 1000 mg q24h, ALAG 0.5 h", vanco, pV, pkpd.Regimen{Amount: 1000, Every: 24, Doses: 2}, 0.5},
		{"IV 1250 mg over 2 h q8h, ALAG 0.3 h", vanco, pV, pkpd.Regimen{Amount: 1250, Infusion: 2, Every: 8, Doses: 5}, 0.3},
	} {
		t.Run(c.name, func(t *testing.T) {
			ml := withDosing(c.m, 0, c.lag)
			doses, err := pkpd.RegimenRecords(c.reg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ml.Predict(c.p, doses, times)
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.m.Predict(c.p, shifted(doses, c.lag), times)
			if err != nil {
				t.Fatal(err)
			}
			// The same closed form on the same intervals: equal to
			// rounding (absolute 1e-12 mg/L covers the zero before the
			// first dose arrives).
			tol := cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) <= 1e-12+1e-12*math.Abs(b) })
			if diff := cmp.Diff(want, got, tol); diff != "" {
				t.Errorf("ALAG profile differs from doses shifted by ALAG (-want +got):\n%s", diff)
			}
			if got[1] != 0 && c.lag > 0.5 && c.reg.Time == 0 {
				t.Errorf("C(0.5 h) = %v before the lagged dose arrives, want 0", got[1])
			}
			auc, err := ml.AUC(c.p, doses, 1, 40)
			if err != nil {
				t.Fatal(err)
			}
			aucWant, err := c.m.AUC(c.p, shifted(doses, c.lag), 1, 40)
			if err != nil {
				t.Fatal(err)
			}
			if e := pkpd.RelErr(auc, aucWant); e > 1e-12 {
				t.Errorf("AUC(1, 40) = %.15g, shifted doses %.15g (rel err %.2g)", auc, aucWant, e)
			}
		})
	}

	t.Run("Fit", func(t *testing.T) {
		ml := withDosing(oral, 0.7, 1.2)
		doses, err := pkpd.RegimenRecords(pkpd.Regimen{Amount: 250, Every: 12, Doses: 3})
		if err != nil {
			t.Fatal(err)
		}
		levels := []pkpd.Level{{Time: 2, Value: 3.1}, {Time: 11.5, Value: 2.2}, {Time: 26, Value: 4.8}}
		res, err := pkpd.Fit(ml, nil, doses, levels, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ml.Predict(pO, doses, []float64{2, 11.5, 26})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, res.PRED); diff != "" {
			t.Errorf("Fit PRED differs from Predict with F and ALAG (-want +got):\n%s", diff)
		}
		noDosing, err := oral.Predict(pO, doses, []float64{2, 11.5, 26})
		if err != nil {
			t.Fatal(err)
		}
		if cmp.Equal(noDosing, res.PRED) {
			t.Errorf("Fit PRED %v ignores F and ALAG", res.PRED)
		}
	})
}

// TestSteadyStateWithLag checks SteadyState of a model with ALAG (and F)
// against the last interval of many explicit doses, as
// TestSteadyStateMatchesRepeatedDoses does without them.
func TestSteadyStateWithLag(t *testing.T) {
	vanco := gotiVancomycin()
	pV, err := vanco.Typical(map[string]float64{"WT": 80, "CRCL": 90})
	if err != nil {
		t.Fatal(err)
	}
	oral := oralModel()
	pO, err := oral.Typical(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name                  string
		m                     *pkpd.DrugModel
		p                     pkpd.Params
		f, lag                float64
		amount, tau, inf, rte float64
		cmaxTol               float64
	}{
		{"oral 100 mg q12h, F 0.8, ALAG 1.5 h", oral, pO, 0.8, 1.5, 100, 12, 0, 0, 1e-7},
		{"oral 100 mg q6h, ALAG 7 h (> τ)", oral, pO, 0, 7, 100, 6, 0, 0, 1e-7},
		{"IV bolus 1000 mg q24h, ALAG 0.5 h", vanco, pV, 0, 0.5, 1000, 24, 0, 0, 1e-9},
		{"IV 1250 mg over 2 h q8h, ALAG 0.25 h", vanco, pV, 0, 0.25, 1250, 8, 2, 0, 1e-9},
		{"IV 750 mg at 1000 mg/h q12h, F 0.9, ALAG 3 h", vanco, pV, 0.9, 3, 750, 12, 0, 1000, 1e-9},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := withDosing(c.m, c.f, c.lag)
			ss, err := m.SteadyState(c.p, c.amount, c.tau, c.inf, c.rte)
			if err != nil {
				t.Fatal(err)
			}
			const n = 300
			doses, err := pkpd.RegimenRecords(pkpd.Regimen{Amount: c.amount, Infusion: c.inf, Rate: c.rte, Every: c.tau, Doses: n + 1})
			if err != nil {
				t.Fatal(err)
			}
			t0 := float64(n-1) * c.tau // the last full interval before the dose at n·τ
			var times []float64
			for k := 0; k <= 12000; k++ {
				times = append(times, t0+c.tau*float64(k)/12000)
			}
			got, err := m.Predict(c.p, doses, times)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, x := range got[1:] {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
			f := c.f
			if f == 0 {
				f = 1
			}
			if c.inf == 0 && c.rte == 0 && c.m.Structure.Route != pkpd.RouteOral {
				// The bolus enters at t0 + ALAG: the peak is the
				// concentration just before plus F·Dose/V1.
				pre, err := m.Predict(c.p, doses, []float64{t0 + c.lag})
				if err != nil {
					t.Fatal(err)
				}
				hi = pre[0] + f*c.amount/c.p.V1
			}
			auc, err := m.AUC(c.p, doses, t0, t0+c.tau)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []struct {
				name      string
				got, want float64
				tol       float64
			}{
				{"trough", ss.Trough, got[len(got)-1], 1e-9},
				{"Cmin", ss.Cmin, lo, 1e-9},
				{"Cmax", ss.Cmax, hi, c.cmaxTol},
				{"AUC24", ss.AUC24, auc * 24 / c.tau, 1e-9},
				{"AUC24 analytic", ss.AUC24, f * c.amount / c.p.CL * 24 / c.tau, 1e-12},
			} {
				// The oral Cmax of the 12000-point grid is below the true
				// maximum by about (τ/24000)²·|C''|/2, within 1e-7.
				if e := pkpd.RelErr(q.got, q.want); e > q.tol {
					t.Errorf("%s = %.12g, explicit doses %.12g (rel err %.2g > %g)", q.name, q.got, q.want, e, q.tol)
				}
			}
			if c.lag > 0 && ss.Cmin >= ss.Trough {
				t.Errorf("Cmin %v ≥ trough %v: with a lag the minimum comes after the dose time", ss.Cmin, ss.Trough)
			}
		})
	}
}

// TestDrugModelDosing checks the Dosing the model hands to NewSchedule.
func TestDrugModelDosing(t *testing.T) {
	for _, c := range []struct {
		f, alag float64
		want    pkpd.Dosing
	}{
		{0, 0, pkpd.Dosing{}},
		{1, 0, pkpd.Dosing{}},
		{0.8, 0.5, pkpd.Dosing{F: map[int]float64{1: 0.8}, Lag: map[int]float64{1: 0.5}}},
	} {
		got, err := withDosing(oralModel(), c.f, c.alag).Dosing()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("F %v, ALAG %v: Dosing (-want +got):\n%s", c.f, c.alag, diff)
		}
	}
}
