package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var pkVancoTrial = filepath.Join("..", "..", "examples", "pk_vanco_trial.yaml")

// smallPKTrial is the example trial cut to 40 subjects.
func smallPKTrial(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(pkVancoTrial)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), "subjects: 1000", "subjects: 40", 1)
	p := filepath.Join(dir, "trial.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPKTrialWorkers checks that the files of a PK trial are byte for byte
// the same on 1 and 4 workers.
func TestPKTrialWorkers(t *testing.T) {
	dir := t.TempDir()
	file := smallPKTrial(t, dir)
	var outs [2]string
	for i, w := range []string{"1", "4"} {
		outs[i] = filepath.Join(dir, "out"+w)
		code, stdout, stderr := doppel(t, "trial", file, "--out", outs[i], "--workers", w, "--format", "svg")
		if code != exitOK {
			t.Fatalf("workers %s: exit %d: %s", w, code, stderr)
		}
		if !strings.Contains(stdout, "Cmax") {
			t.Errorf("summary lacks Cmax:\n%s", stdout)
		}
	}
	want := []string{"percentiles.csv", "subjects.csv", "summary.json", "vpc.svg"}
	if got := entries(t, outs[0]); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	for _, name := range want {
		a, _ := os.ReadFile(filepath.Join(outs[0], name))
		b, _ := os.ReadFile(filepath.Join(outs[1], name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between 1 and 4 workers", name)
		}
	}
	sub, _ := os.ReadFile(filepath.Join(outs[0], "subjects.csv"))
	if n := strings.Count(string(sub), "\n"); n != 41 {
		t.Errorf("subjects.csv: %d lines, want 41", n)
	}
	var sum struct {
		Subjects int                               `json:"subjects"`
		AUC      struct{ Median, P5, P95 float64 } `json:"auc_mg_h_L"`
	}
	js, _ := os.ReadFile(filepath.Join(outs[0], "summary.json"))
	if err := json.Unmarshal(js, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Subjects != 40 || !(sum.AUC.P5 < sum.AUC.Median && sum.AUC.Median < sum.AUC.P95) {
		t.Errorf("summary %+v", sum)
	}
	// A second run replaces the output of the first.
	if code, _, stderr := doppel(t, "trial", file, "--out", outs[0], "--format", "svg"); code != exitOK {
		t.Errorf("rerun: exit %d: %s", code, stderr)
	}
}

func TestPKTrialBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	src := "model: vancomycin-goti2018\nsubjects: 10\npatient: {weight: {mean: 80 kg}, crcl: 80 mL/min, dialysis: false}\ndoses: [{time: 0 h, amount: 1000 mg}]\noutputs: {every: 1 h, until: 24 h}\n"
	os.WriteFile(bad, []byte(src), 0o644)
	out := filepath.Join(dir, "out")
	code, _, stderr := doppel(t, "trial", bad, "--out", out)
	if code != exitUsage || !strings.Contains(stderr, bad+":3: patient.weight") {
		t.Errorf("exit %d, stderr %q; want 2 and %s:3: patient.weight", code, stderr, bad)
	}
	if names := entries(t, dir); !slices.Equal(names, []string{"bad.yaml"}) {
		t.Errorf("files left: %v", names)
	}
}

// TestPKTrialPGxPD runs the genotype/inhibitor/PD example (cut to 60
// subjects): the diplotype counts add up to the subjects, every subject has
// its genotype, CL factor and effect range in subjects.csv, the summary has
// the PD and CL factor rows, and the effect percentiles are written.
func TestPKTrialPGxPD(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "pk_pgx_trial.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "trial.yaml")
	if err := os.WriteFile(file, bytes.Replace(data, []byte("subjects: 500"), []byte("subjects: 60"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := doppel(t, "trial", file, "--out", out, "--format", "svg")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{"CL factor", "effect max (on the grid)", "PD: sigmoid Emax", "CYP2D6:"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("summary lacks %q:\n%s", s, stdout)
		}
	}
	var sum struct {
		Genotypes map[string]map[string]int         `json:"genotypes"`
		CLFactor  struct{ Median, P5, P95 float64 } `json:"cl_factor"`
		PD        struct {
			EffectMax struct{ Median, P5, P95 float64 } `json:"effect_max"`
		} `json:"pd"`
	}
	js, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(js, &sum); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range sum.Genotypes["CYP2D6"] {
		n += c
	}
	// With the inhibitor ([I]/Ki 1) every subject loses clearance.
	if n != 60 || !(sum.CLFactor.P95 < 1) || !(sum.PD.EffectMax.P5 <= sum.PD.EffectMax.Median && sum.PD.EffectMax.Median <= sum.PD.EffectMax.P95 && sum.PD.EffectMax.P95 <= 100) {
		t.Errorf("summary: genotypes %v, CL factor %+v, effect max %+v", sum.Genotypes, sum.CLFactor, sum.PD.EffectMax)
	}
	sub, _ := os.ReadFile(filepath.Join(out, "subjects.csv"))
	lines := strings.Split(strings.TrimSpace(string(sub)), "\n")
	if !strings.HasSuffix(lines[0], ",CYP2D6,cl_factor,effect_min,effect_max") || len(lines) != 61 {
		t.Errorf("subjects.csv: header %q, %d lines", lines[0], len(lines))
	}
	pct, _ := os.ReadFile(filepath.Join(out, "percentiles.csv"))
	if !strings.Contains(string(pct), ",effect_p5,effect_p50,effect_p95\n") {
		t.Errorf("percentiles.csv lacks the effect columns: %s", strings.SplitN(string(pct), "\n", 2)[0])
	}
}
