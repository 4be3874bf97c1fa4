package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDoseContract checks `doppel dose` on the contract file against the R
// reference e (e_vanco_map.R): for an AUC24,ss target of 500 mg·h/L with
// doses rounded to 250 mg q12h, 500·CL/2 = 639 mg → 750 mg q12h, whose
// steady-state AUC24 is 24/12·750/CL = 587.0535309 mg·h/L (analytic,
// e_vanco_map.csv AUC24_ss_analytic_new_regimen). Tolerance 1e-6 relative:
// CL itself is matched to about 1e-7.
func TestDoseContract(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := doppel(t, "dose", vancoTDM, "--json", "--plot", filepath.Join(dir, "dose.png"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Basis       string `json:"basis"`
		Recommended struct {
			Dose     float64 `json:"dose_mg"`
			Every    float64 `json:"every_h"`
			Infusion float64 `json:"infusion_h"`
			AUC24    float64 `json:"auc24_mg_h_L"`
		} `json:"recommended"`
		Start        float64            `json:"start_h"`
		Parameters   map[string]float64 `json:"parameters"`
		Alternatives []json.RawMessage  `json:"alternatives"`
		Target       struct {
			Metric string  `json:"metric"`
			Value  float64 `json:"value"`
		} `json:"target"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	r := got.Recommended
	if r.Dose != 750 || r.Every != 12 || r.Infusion != 1 {
		t.Errorf("recommended %g mg q%gh over %g h, want 750 mg q12h over 1 h (the last dose's infusion)", r.Dose, r.Every, r.Infusion)
	}
	if want := 587.0535309; math.Abs(r.AUC24-want) > 1e-6*want {
		t.Errorf("AUC24 %.10g, want %.10g", r.AUC24, want)
	}
	if got.Start != 60 || got.Target.Metric != "auc24" || got.Target.Value != 500 || !strings.HasPrefix(got.Basis, "individual") {
		t.Errorf("start %g h, target %+v, basis %q", got.Start, got.Target, got.Basis)
	}
	if len(got.Alternatives) == 0 {
		t.Error("no alternatives")
	}
	b, err := os.ReadFile(filepath.Join(dir, "dose.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("dose.png: %v", err)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("dir holds %q, want dose.png only", names)
	}
}

func TestDoseText(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := doppel(t, "dose", vancoTDM, "--plot", filepath.Join(dir, "dose.svg"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{
		"target auc24 500 mg.h/L, from the individual (MAP Bayes) parameters",
		"Recommended: 750 mg every 12 h (over 1 h), from 60 h after the first dose",
		"AUC24 587.1 mg.h/L",
	} {
		if !strings.Contains(stdout, s) {
			t.Errorf("output lacks %q:\n%s", s, stdout)
		}
	}
	svg, err := os.ReadFile(filepath.Join(dir, "dose.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Concentration (mg/L)", "measured level", "recommended 750 mg q12h from 60 h"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("dose.svg lacks %q", s)
		}
	}
}

// TestDoseTargets checks trough windows, several intervals and a dosing
// file without levels (population parameters): the recommendation must
// meet the rule of pkpd.Dose, which its own tests check in detail; here
// the file's target reaches it.
func TestDoseTargets(t *testing.T) {
	tests := []struct {
		name, old, new string
		check          func(t *testing.T, rec map[string]any)
	}{
		{"trough window", "target: {auc24: 500 mg.h/L, round_to: 250 mg, every: 12 h}",
			"target: {trough: [10 mg/L, 15 mg/L], round_to: 250 mg, every: [8 h, 12 h, 24 h]}",
			func(t *testing.T, rec map[string]any) {
				if tr := rec["trough_mg_L"].(float64); tr < 10 || tr > 15 || rec["in_target"] != true {
					t.Errorf("trough %g mg/L, in target %v", tr, rec["in_target"])
				}
			}},
		{"no levels", "levels:\n  - {time: 38 h, value: 39.8 mg/L}\n  - {time: 47.5 h, value: 24.5 mg/L}\n", "",
			func(t *testing.T, rec map[string]any) {
				// Population CL 3.253415314 L/h: 500·CL/2 = 813 mg → 750 mg.
				if rec["dose_mg"] != 750.0 {
					t.Errorf("dose %v mg, want 750", rec["dose_mg"])
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeBad(t, t.TempDir(), tt.old, tt.new)
			code, stdout, stderr := doppel(t, "dose", path, "--json")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got struct {
				Recommended map[string]any `json:"recommended"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatal(err)
			}
			tt.check(t, got.Recommended)
		})
	}
}

// TestDoseBadInput runs the broken dosing files of fit_test.go through
// doppel dose: exit 2, the same one-line message, no plot file.
func TestDoseBadInput(t *testing.T) {
	cases := append(badTDM, struct{ name, old, new, want string }{
		"no target", "target: {auc24: 500 mg.h/L, round_to: 250 mg, every: 12 h}\n", "",
		":1: target: missing; doppel dose needs one, e.g. target: {auc24: 500 mg.h/L, round_to: 250 mg, every: 12 h}",
	})
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeBad(t, dir, tt.old, tt.new)
			out := filepath.Join(dir, "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := doppel(t, "dose", path, "--plot", filepath.Join(out, "dose.png"))
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if want := path + tt.want + "\n"; stderr != want {
				t.Errorf("stderr\n got %q\nwant %q", stderr, want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if names := entries(t, out); len(names) != 0 {
				t.Errorf("left %q behind", names)
			}
		})
	}
	code, _, stderr := doppel(t, "dose", vancoTDM, "--plot", "dose.pdf")
	if code != exitUsage || !strings.Contains(stderr, `unknown image type ".pdf"`) {
		t.Errorf("--plot dose.pdf: exit %d, stderr %q", code, stderr)
	}
}

// TestTDMExamples runs doppel fit and dose on every examples/*_tdm.yaml.
func TestTDMExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*_tdm.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no TDM examples: %v", err)
	}
	for _, f := range files {
		for _, cmd := range []string{"fit", "dose"} {
			if code, _, stderr := doppel(t, cmd, f); code != exitOK {
				t.Errorf("doppel %s %s: exit %d, %s", cmd, f, code, stderr)
			}
		}
	}
}
