package pkmodel

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doppelhealth/doppel/model/pkpd"
)

// TestLibraryDecodes checks that every library file decodes into a valid
// model with a citation and DOI, under the name of its file.
func TestLibraryDecodes(t *testing.T) {
	names := Names()
	if len(names) < 3 {
		t.Errorf("library has %d models, want at least 3: %v", len(names), names)
	}
	for _, name := range names {
		m, err := Library(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := m.PK.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if m.Citation.Reference == "" || m.Citation.DOI == "" || m.Drug == "" || m.Title == "" {
			t.Errorf("%s: missing citation, DOI, drug or title", name)
		}
	}
	if _, err := Library("vancomycin"); err == nil {
		t.Error("Library(vancomycin): no error for an unknown name")
	}
}

// prior reads testdata/e_vanco_goti2018_prior.csv (refs e).
func prior(t *testing.T) map[string]float64 {
	t.Helper()
	f, err := os.Open("testdata/e_vanco_goti2018_prior.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		out[r[0]] = v
	}
	return out
}

// TestVancomycinGoti2018 checks the library file against the reference
// prior (refs e) and golden typical values computed by hand from the
// paper's equations, CL = 4.5·(min(CrCL,150)/120)^0.8·0.7^HD,
// Vc = 58.4·(WT/70)·0.5^HD, Vp = 38.4·(WT/70), Q = 6.5:
//   - 80 kg, CrCL 80, no HD: CL 4.5·(2/3)^0.8 = 3.253415314 L/h (refs e
//     TVCL_L_h), Vc 58.4·8/7 = 66.74285714 L, Vp 38.4·8/7 = 43.88571429 L;
//   - 80 kg, CrCL 80, HD: CL 3.253415314·0.7 = 2.277390720, Vc 33.37142857;
//   - CrCL 200 (capped at 150): CL 4.5·1.25^0.8 = 5.379482811 L/h.
//
// Tolerance 1e-9 relative: the hand values are given to 10 digits.
func TestVancomycinGoti2018(t *testing.T) {
	m, err := Library("vancomycin-goti2018")
	if err != nil {
		t.Fatal(err)
	}
	p := prior(t)
	tv := map[string]float64{}
	for _, q := range m.Params {
		tv[q.Name] = q.Value
	}
	want := map[string]float64{"CL": p["CL_L_h_ref_CRCL120_nonHD"], "Vc": p["Vc_L_ref_70kg_nonHD"], "Q": p["Q_L_h"], "Vp": p["Vp_L_ref_70kg"]}
	if diff := cmp.Diff(want, tv); diff != "" {
		t.Errorf("typical values (-want +got):\n%s", diff)
	}
	// ω² = ln(CV²+1); the reference writes 10 digits.
	wantOmega := [][]float64{{p["omega2_CL"], 0, 0}, {0, p["omega2_Vc"], 0}, {0, 0, p["omega2_Vp"]}}
	if diff := cmp.Diff(wantOmega, m.Omega, cmpopts.EquateApprox(1e-9, 0)); diff != "" {
		t.Errorf("Ω (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"CL", "Vc", "Vp"}, m.IIVNames); diff != "" {
		t.Errorf("IIV parameters (-want +got):\n%s", diff)
	}
	wantErr := pkpd.ResidualError{Model: pkpd.CombinedError, Add: p["add_err_SD_mg_L"], Prop: p["prop_err_CV"]}
	if m.Residual != wantErr {
		t.Errorf("residual %+v, want %+v", m.Residual, wantErr)
	}

	golden := []struct {
		cov  map[string]float64
		want pkpd.Params
	}{
		{map[string]float64{"weight": 80, "crcl": 80, "dialysis": 0}, pkpd.Params{CL: 3.253415314, V1: 66.74285714, Q2: 6.5, V2: 43.88571429}},
		{map[string]float64{"weight": 80, "crcl": 80, "dialysis": 1}, pkpd.Params{CL: 2.277390720, V1: 33.37142857, Q2: 6.5, V2: 43.88571429}},
		{map[string]float64{"weight": 70, "crcl": 200, "dialysis": 0}, pkpd.Params{CL: 5.379482811, V1: 58.4, Q2: 6.5, V2: 38.4}},
	}
	for _, g := range golden {
		got, err := m.PK.Typical(g.cov)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(g.want, got, cmpopts.EquateApprox(1e-9, 0)); diff != "" {
			t.Errorf("typical values at %v (-want +got):\n%s", g.cov, diff)
		}
	}
}

// TestGentamicinHodiamont2017 checks the library file against Hodiamont
// 2017 Table 2 as transcribed by nlmixr2lib: CL 2.3 L/h, V1 21.6 L, Q 1.3
// L/h, V2 10.2 L; CV 75.0 % (CL) and 27.0 % (V1), ω² = ln(1 + CV²) =
// 0.446287 and 0.070365, correlation 0.21 → covariance
// 0.21·sqrt(0.446287·0.070365) = 0.037214; residual 0.13 mg/L + 19.4 %.
// Tolerance 1e-6 absolute on Ω: the hand values have six decimals.
func TestGentamicinHodiamont2017(t *testing.T) {
	m, err := Library("gentamicin-hodiamont2017")
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.PK.Typical(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (pkpd.Params{CL: 2.3, V1: 21.6, Q2: 1.3, V2: 10.2}); got != want {
		t.Errorf("typical values %+v, want %+v", got, want)
	}
	want := [][]float64{{0.446287, 0.037214}, {0.037214, 0.070365}}
	if diff := cmp.Diff(want, m.Omega, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("Ω (-want +got):\n%s", diff)
	}
	if r := (pkpd.ResidualError{Model: pkpd.CombinedError, Add: 0.13, Prop: 0.194}); m.Residual != r {
		t.Errorf("residual %+v, want %+v", m.Residual, r)
	}
	if math.IsNaN(m.Omega[0][1]) {
		t.Error("NaN covariance")
	}
}

// TestAmikacinJin2020 checks golden typical values computed by hand from
// Jin 2020's Table 2 footnote, CL = 3.52·(eGFR/91.1)^0.229 and
// V1 = 14.4·(WT/51.1)^0.702, for eGFR 60 mL/min/1.73 m² and 70 kg:
// CL = 3.198965759 L/h, V1 = 17.96014524 L (Q 0.464, V2 14.2 unchanged).
// Tolerance 1e-9 relative (10-digit hand values).
func TestAmikacinJin2020(t *testing.T) {
	m, err := Library("amikacin-jin2020")
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.PK.Typical(map[string]float64{"egfr": 60, "weight": 70})
	if err != nil {
		t.Fatal(err)
	}
	want := pkpd.Params{CL: 3.198965759, V1: 17.96014524, Q2: 0.464, V2: 14.2}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(1e-9, 0)); diff != "" {
		t.Errorf("typical values (-want +got):\n%s", diff)
	}
	wantOmega := [][]float64{{0.07496, -0.0135}, {-0.0135, 0.03189}}
	if diff := cmp.Diff(wantOmega, m.Omega); diff != "" {
		t.Errorf("Ω (-want +got):\n%s", diff)
	}
}

// TestCiclosporinWilhelm2012 checks the oral model with F and ALAG
// against Wilhelm 2012's Table 3 (as transcribed in nlmixr2lib): typical
// values, F 0.710 and ALAG 0.440 h, Ω = ln(CV² + 1) of the Table 3 CVs
// (22.2, 26.9, 28.2, 30.6, 43.8 %; nlmixr2lib's printed values 0.04812,
// 0.06988, 0.07650, 0.08947, 0.17559 agree to 5e-4), the residual error in
// mg/L; and, through the simulation, that
// nothing is absorbed before the lag time and that the AUC of one dose is
// F·Dose/CL (0.71·100/21.9 mg·h/L) whatever the disposition.
func TestCiclosporinWilhelm2012(t *testing.T) {
	m, err := Library("ciclosporin-wilhelm2012")
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.PK.Typical(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := pkpd.Params{CL: 21.9, V1: 16.6, Q2: 24.2, V2: 59.0, KA: 0.280}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("typical values (-want +got):\n%s", diff)
	}
	if m.F != 0.710 || m.ALAG != 0.440 {
		t.Errorf("F %g, ALAG %g h, want 0.710 and 0.440 h", m.F, m.ALAG)
	}
	for i, cv := range []float64{0.222, 0.269, 0.282, 0.306, 0.438} {
		if w := math.Log(cv*cv + 1); math.Abs(m.Omega[i][i]-w) > 1e-12*w {
			t.Errorf("ω²[%d] (%s) = %.6g, want %g", i, m.IIVNames[i], m.Omega[i][i], w)
		}
	}
	if m.Residual.Add != 0.065 || m.Residual.Prop != 0.088 {
		t.Errorf("residual %+v, want additive 0.065 mg/L, proportional 0.088", m.Residual)
	}
	recs := []pkpd.Record{{ID: 1, EVID: 1, AMT: 100, MDV: 1}}
	p, err := Simulate(m, nil, nil, recs, []float64{0.2, 0.44, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if p.Conc[0] != 0 || p.Conc[1] != 0 || !(p.Conc[2] > 0) {
		t.Errorf("C at 0.2, 0.44, 0.5 h = %v, want 0, 0, > 0 (lag 0.44 h)", p.Conc)
	}
	w, err := p.Window(0, 500)
	if err != nil {
		t.Fatal(err)
	}
	if auc := 0.71 * 100 / 21.9; math.Abs(w.AUC-auc) > 1e-9*auc {
		t.Errorf("AUC0-500 %.12g, want F·D/CL = %.12g", w.AUC, auc)
	}
	if !(w.Tmax > 0.44) {
		t.Errorf("tmax %g h, want after the lag time", w.Tmax)
	}
}
