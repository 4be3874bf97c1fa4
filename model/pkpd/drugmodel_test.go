package pkpd_test

import (
	"math"
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
