package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vancoTDM is the contract file of `doppel fit` and `doppel dose`.
var vancoTDM = filepath.Join("..", "..", "examples", "vanco_tdm.yaml")

// TestFitContract checks `doppel fit --json` on the contract file against
// the R reference e (refs/pkpd/e_vanco_map.csv, e_vanco_map.R: optim BFGS
// confirmed by Nelder-Mead to 1e-7): CL 2.555133256 L/h, Vc 48.02995686 L,
// Vp 38.78372359 L, η (−0.2416009329, −0.329022365, −0.1235881887), OFV
// 9.063514102 (12.40264126 at η = 0), Laplace SE(η) 0.2215444379,
// 0.4535320765, 0.4774115449, PRED and IPRED at the levels.
//
// Tolerances: parameters and OFV 1e-6 relative (the issue asks 1e-3; the
// optimisers agree to about 1e-7), η 1e-6 absolute, SE 1e-4 relative
// (finite-difference Hessians on both sides), predictions 1e-6 relative.
func TestFitContract(t *testing.T) {
	code, stdout, stderr := doppel(t, "fit", vancoTDM, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Parameters map[string]float64 `json:"parameters"`
		Population map[string]float64 `json:"population"`
		Eta        []float64          `json:"eta"`
		EtaNames   []string           `json:"eta_names"`
		SE         []float64          `json:"se_eta"`
		OFV        float64            `json:"ofv"`
		OFVPop     float64            `json:"ofv_population"`
		Converged  bool               `json:"converged"`
		Levels     []struct {
			Time, Observed, PRED, IPRED float64
		} `json:"-"`
		RawLevels []map[string]float64 `json:"levels"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	rel := func(name string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*math.Abs(want) {
			t.Errorf("%s = %.10g, want %.10g (rel tol %g)", name, got, want, tol)
		}
	}
	rel("CL", got.Parameters["CL"], 2.555133256, 1e-6)
	rel("Vc", got.Parameters["Vc"], 48.02995686, 1e-6)
	rel("Vp", got.Parameters["Vp"], 38.78372359, 1e-6)
	rel("Q", got.Parameters["Q"], 6.5, 1e-15)
	rel("population CL", got.Population["CL"], 3.253415314, 1e-9)
	rel("population Vc", got.Population["Vc"], 66.74285714, 1e-9)
	rel("OFV", got.OFV, 9.063514102, 1e-6)
	rel("OFV at η = 0", got.OFVPop, 12.40264126, 1e-9)
	wantEta := []float64{-0.2416009329, -0.329022365, -0.1235881887}
	wantSE := []float64{0.2215444379, 0.4535320765, 0.4774115449}
	if len(got.Eta) != 3 || len(got.SE) != 3 || strings.Join(got.EtaNames, ",") != "CL,Vc,Vp" {
		t.Fatalf("eta %v (%v), se %v", got.Eta, got.EtaNames, got.SE)
	}
	for i := range wantEta {
		if math.Abs(got.Eta[i]-wantEta[i]) > 1e-6 {
			t.Errorf("eta[%d] = %.10g, want %.10g", i, got.Eta[i], wantEta[i])
		}
		rel("SE", got.SE[i], wantSE[i], 1e-4)
	}
	if !got.Converged {
		t.Error("not converged")
	}
	want := []map[string]float64{
		{"time_h": 38, "observed_mg_L": 39.8, "pred_mg_L": 27.05277895, "ipred_mg_L": 34.94910208},
		{"time_h": 47.5, "observed_mg_L": 24.5, "pred_mg_L": 17.31521373, "ipred_mg_L": 21.9417524},
	}
	if len(got.RawLevels) != 2 {
		t.Fatalf("levels %v", got.RawLevels)
	}
	for i, w := range want {
		for k, v := range w {
			rel(k, got.RawLevels[i][k], v, 1e-6)
		}
	}
}

func TestFitText(t *testing.T) {
	code, stdout, stderr := doppel(t, "fit", vancoTDM)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{
		"vancomycin-goti2018, MAP Bayes fit to 2 level(s)",
		"doi:10.1097/FTD.0000000000000490",
		"CL         3.253415    2.555133    L/h",
		"Vc         66.74286    48.02996    L",
		"Vp         43.88571    38.78372    L",
		"η(CL)  -0.241601",
		"OFV 9.063514 at the MAP estimate, 12.40264 at η = 0 (converged)",
		"38             39.8        27.05         34.95",
	} {
		if !strings.Contains(stdout, s) {
			t.Errorf("output lacks %q:\n%s", s, stdout)
		}
	}
}

// badTDM are broken dosing files, each with the message doppel fit and
// doppel dose must give (file:line: field: message).
var badTDM = []struct {
	name, old, new, want string
}{
	{"unknown model", "model: vancomycin-goti2018", "model: vancomycin-goti",
		`:1: model: unknown model "vancomycin-goti"; valid: amikacin-jin2020, ciclosporin-wilhelm2012, gentamicin-hodiamont2017, vancomycin-goti2018 (or a model file ending in .yaml)`},
	{"unknown covariate", "dialysis: false}", "dialysis: false, height: 180 cm}",
		":2: patient.height: unknown covariate of the model vancomycin-goti2018 (did you mean weight?); valid: crcl, weight, dialysis"},
	{"missing covariate", "weight: 80 kg, ", "",
		":2: patient: missing covariate weight of the model vancomycin-goti2018; add weight: ... kg"},
	{"pounds", "80 kg", "176 lb",
		`:2: patient.weight: unknown unit "lb": pounds are not accepted; give the weight in kg`},
	{"wrong units", "80 mL/min", "80 mL",
		":2: patient.crcl: wrong unit mL: want a unit that converts to mL/min"},
	{"negative time", "time: 47.5 h", "time: -47.5 h",
		":8: levels[1].time: must be >= 0 (times are from the first dose), got -47.5 h"},
	{"level at the first dose", "time: 38 h", "time: 0 h",
		":7: levels[0].time: 0 h is not after the first dose (0 h): a level before any dose carries no information"},
}

// writeBad writes the contract file with one edit into dir.
func writeBad(t *testing.T, dir, old, new string) string {
	t.Helper()
	src, err := os.ReadFile(vancoTDM)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), old) {
		t.Fatalf("%s has no %q", vancoTDM, old)
	}
	path := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(src), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFitBadInput(t *testing.T) {
	for _, tt := range badTDM {
		t.Run(tt.name, func(t *testing.T) {
			path := writeBad(t, t.TempDir(), tt.old, tt.new)
			code, stdout, stderr := doppel(t, "fit", path, "--json")
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if want := path + tt.want + "\n"; stderr != want {
				t.Errorf("stderr\n got %q\nwant %q", stderr, want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

func TestFitDoseHelp(t *testing.T) {
	for _, cmd := range []string{"fit", "dose"} {
		code, out, stderr := doppel(t, cmd, "--help")
		if code != exitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "doppel "+cmd+" examples/vanco_tdm.yaml") {
			t.Errorf("doppel %s --help: exit %d, %s\n%s", cmd, code, stderr, out)
		}
	}
	code, _, stderr := doppel(t, "fit", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != exitUsage || !strings.Contains(stderr, "no such file or directory") {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
}

// TestFitCovariateChanges: a CrCL of 120 mL/min changed to 80 at 0 h
// gives the whole course at 80, so η̂ and the OFV are those of reference e
// (as TestFitContract); a CrCL that falls to 45 mL/min at 24 h
// (pk_vanco_crcl_tdm.yaml) changes the fit, and `doppel dose` then
// recommends less than the 750 mg q12h of the contract for the same AUC24.
func TestFitCovariateChanges(t *testing.T) {
	src, err := os.ReadFile(vancoTDM)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	at0 := filepath.Join(dir, "at0_tdm.yaml")
	s := strings.Replace(string(src), "crcl: 80 mL/min", "crcl: 120 mL/min", 1) + "covariates: [{time: 0 h, crcl: 80 mL/min}]\n"
	if err := os.WriteFile(at0, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Eta []float64 `json:"eta"`
		OFV float64   `json:"ofv"`
	}
	code, stdout, stderr := doppel(t, "fit", at0, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	for i, w := range []float64{-0.2416009329, -0.329022365, -0.1235881887} {
		if math.Abs(got.Eta[i]-w) > 1e-6 {
			t.Errorf("η[%d] = %.10g, want %.10g", i, got.Eta[i], w)
		}
	}
	if math.Abs(got.OFV-9.063514102) > 1e-6*9.063514102 {
		t.Errorf("OFV %.10g, want 9.063514102", got.OFV)
	}

	falls := filepath.Join("..", "..", "examples", "pk_vanco_crcl_tdm.yaml")
	code, stdout, stderr = doppel(t, "dose", falls, "--json")
	if code != exitOK {
		t.Fatalf("dose: exit %d: %s", code, stderr)
	}
	var dose struct {
		Recommended struct {
			Amount float64 `json:"dose_mg"`
			Every  float64 `json:"every_h"`
		} `json:"recommended"`
	}
	if err := json.Unmarshal([]byte(stdout), &dose); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if dose.Recommended.Every != 12 || !(dose.Recommended.Amount > 0 && dose.Recommended.Amount < 750) {
		t.Errorf("recommended %g mg q%gh, want less than 750 mg q12h", dose.Recommended.Amount, dose.Recommended.Every)
	}
	code, stdout, stderr = doppel(t, "fit", falls, "--json")
	if code != exitOK {
		t.Fatalf("fit: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, `"covariate_changes"`) {
		t.Errorf("fit JSON without covariate_changes:\n%s", stdout)
	}
	if math.Abs(got.Eta[0]-(-0.2416009329)) < 1e-3 {
		t.Errorf("the falling CrCL left η̂_CL at %g", got.Eta[0])
	}
}
