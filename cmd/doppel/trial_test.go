package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doppelhealth/doppel/internal/plot"
	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/internal/trial"
)

// smallTrial is 2 patients x 3 arms x 1 day with sensor noise on: the third
// arm eats the same meals twice as large.
const smallTrial = `model: t1d
name: small
seed: 7
days: 1
cohort: ["adult#001", "child#002"]
sensor: {name: GuardianRT, noise: true}
pump: Insulet
arms:
  - name: standard
    controller: basal-bolus
  - name: CR x0.8
    controller: {name: basal-bolus, cr_scale: 0.8}
  - name: double meals
    controller: basal-bolus
    meals: {scale: 2}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTrialEndToEnd(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "small.yaml", smallTrial)
	out := filepath.Join(dir, "results")
	code, stdout, stderr := doppel(t, "trial", file, "--out", out, "--workers", "2")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"small: 2 patients x 3 arms x 1 days", "median [IQR]", "time in range 70-180", "CR x0.8", "basal-bolus cr_scale=0.8", "random x2"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "trial: 6 runs (2 patients x 3 arms x 1 days) on 2 workers") {
		t.Errorf("stderr: %s", stderr)
	}
	if diff := cmp.Diff([]string{"agp.csv", "agp.png", "metrics.csv", "summary.json", "tir.png"}, entries(t, out)); diff != "" {
		t.Errorf("output files (-want +got):\n%s", diff)
	}
	if names := entries(t, dir); len(names) != 2 {
		t.Errorf("temporary files left beside the output: %q", names)
	}

	rows := readCSV(t, filepath.Join(out, "metrics.csv"))
	if diff := cmp.Diff(append([]string{"patient", "arm"}, metricNames()...), rows[0]); diff != "" {
		t.Errorf("metrics.csv header (-want +got):\n%s", diff)
	}
	if len(rows) != 7 {
		t.Fatalf("metrics.csv has %d rows, want 1 + 2 patients x 3 arms", len(rows))
	}
	col := func(name string) []float64 { return column(t, rows, name) }
	tir, tbr, tar, carbs := col("tir"), col("tbr70"), col("tar180"), col("carbs")
	for i := range tir {
		if s := tir[i] + tbr[i] + tar[i]; math.Abs(s-100) > 1e-9 {
			t.Errorf("row %d: TIR + TBR + TAR = %v %%, want 100", i+1, s)
		}
	}
	// Common random numbers: rows are arm by arm, patients in cohort order.
	// Arms 0 and 1 eat the same meals; arm 2 the same meals doubled.
	for p := range 2 {
		if carbs[p] != carbs[2+p] || carbs[4+p] != 2*carbs[p] || carbs[p] == 0 {
			t.Errorf("patient %d: carbs/day %v, %v, %v; want equal in the first two arms, doubled in the third", p, carbs[p], carbs[2+p], carbs[4+p])
		}
	}
	if carbs[0] == carbs[1] {
		t.Errorf("two patients ate the same %v g/day: meals do not depend on the patient", carbs[0])
	}

	var sum trialSummary
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &struct {
		Arms *[]armSummary `json:"arms"`
	}{&sum.Arms}); err != nil {
		t.Fatal(err)
	}
	if len(sum.Arms) != 3 || sum.Arms[1].Name != "CR x0.8" || sum.Arms[0].Metrics[0].Name != "tir" || sum.Arms[0].Metrics[0].N != 2 {
		t.Errorf("summary.json arms: %+v", sum.Arms)
	}
	// The median TIR of an arm is the mean of its two patients' TIR.
	if got, want := float64(sum.Arms[0].Metrics[0].Median), (tir[0]+tir[1])/2; math.Abs(got-want) > 1e-9 {
		t.Errorf("median TIR of arm 0 = %v, want %v", got, want)
	}

	agp := readCSV(t, filepath.Join(out, "agp.csv"))
	if len(agp) != 1+3*trial.Bins {
		t.Errorf("agp.csv has %d rows, want %d", len(agp), 1+3*trial.Bins)
	}
	// GuardianRT samples every 5 min: each 5-min bin holds one sample per
	// patient and day.
	if agp[1][2] != "2" {
		t.Errorf("agp.csv first row %v: want 2 samples in the bin", agp[1])
	}

	// A second run replaces the earlier output, with the same content.
	code, _, stderr = doppel(t, "trial", file, "--out", out, "--workers", "1", "--format", "svg", "--json")
	if code != exitOK {
		t.Fatalf("second run: exit %d, stderr:\n%s", code, stderr)
	}
	if diff := cmp.Diff([]string{"agp.csv", "agp.svg", "metrics.csv", "summary.json", "tir.svg"}, entries(t, out)); diff != "" {
		t.Errorf("output files of the second run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(rows, readCSV(t, filepath.Join(out, "metrics.csv"))); diff != "" {
		t.Errorf("metrics.csv differs between 2 workers and 1 (-2 +1):\n%s", diff)
	}
}

// TestTrialDeterministic runs the same trial on 1 and 4 workers and compares
// every metric and every profile count.
func TestTrialDeterministic(t *testing.T) {
	spec, err := scenario.ParseTrial("small.yaml", []byte(strings.Replace(smallTrial, "days: 1", "days: 2", 1)), scenario.T1D())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := newT1DTrial(spec)
	if err != nil {
		t.Fatal(err)
	}
	cfg := trial.Config{Patients: spec.Cohort, Arms: []string{"a", "b", "c"}, Metrics: metricNames()}
	var results []*trial.Result
	for _, w := range []int{1, 4} {
		cfg.Workers = w
		res, err := trial.Run(context.Background(), cfg, tr.run)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	if diff := cmp.Diff(results[0], results[1], cmpopts.EquateNaNs(), cmpopts.IgnoreFields(trial.Result{}, "Profiles")); diff != "" {
		t.Errorf("results differ between 1 and 4 workers (-1 +4):\n%s", diff)
	}
	for a := range results[0].Profiles {
		if *results[0].Profiles[a] != *results[1].Profiles[a] {
			t.Errorf("arm %d: glucose profile differs between 1 and 4 workers", a)
		}
	}
	// The runs differ from one another (the test would pass trivially if
	// every run were the same).
	if v := results[0].Values; v[0][0][0] == v[0][1][0] || v[0][0][0] == v[1][0][0] {
		t.Errorf("TIR identical across patients or arms: %v", v)
	}
}

func TestTrialBadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", smallTrial)
	foreign := filepath.Join(dir, "foreign")
	if err := os.Mkdir(foreign, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, foreign, "notes.txt", "mine")
	for _, tc := range []struct {
		name    string
		content string // trial file, if not good.yaml
		args    []string
		want    string
	}{
		{"unknown field", strings.Replace(smallTrial, "days: 1", "days: 1\nweeks: 2", 1), nil, "bad.yaml:5: weeks: unknown field"},
		{"unknown patient", strings.Replace(smallTrial, `"child#002"`, `"child#011"`, 1), nil, `bad.yaml:5: cohort[1]: unknown patient or group "child#011"`},
		{"unknown group", strings.Replace(smallTrial, `["adult#001", "child#002"]`, "teens", 1), nil, `bad.yaml:5: cohort: unknown patient or group "teens"`},
		{"unknown controller", strings.Replace(smallTrial, "controller: basal-bolus\n  - name: CR", "controller: mpc\n  - name: CR", 1), nil, `bad.yaml:10: arms[0].controller: unknown controller "mpc"`},
		{"controller setting", strings.Replace(smallTrial, "cr_scale: 0.8", "cr_scale: 0", 1), nil, "bad.yaml:12: arms[1].controller.cr_scale: must be >= 0.1, got 0"},
		{"negative carbs", strings.Replace(smallTrial, "meals: {scale: 2}", `meals: {daily: [{at: "07:00", carbs: -5}]}`, 1), nil, "bad.yaml:15: arms[2].meals.daily[0].carbs: must be >= 0 g, got -5"},
		{"malformed", "model: t1d\narms: [\n", nil, "bad.yaml:3: malformed YAML"},
		{"missing file", "", []string{"trial", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"format", "", []string{"--format", "gif"}, `--format "gif": want png or svg`},
		{"workers", "", []string{"--workers", "-1"}, "--workers -1: want 0 (all cores) or more"},
		{"out is a file", "", []string{"--out", good}, "exists and is not a directory"},
		{"out holds other files", "", []string{"--out", foreign}, "holds notes.txt, which doppel trial did not write"},
		{"out parent missing", "", []string{"--out", filepath.Join(dir, "a", "b")}, "--out " + filepath.Join(dir, "a", "b")},
		{"two files", "", []string{good}, "accepts 1 arg(s), received 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"trial", good}
			switch {
			case tc.content != "":
				args = []string{"trial", writeFile(t, dir, "bad.yaml", tc.content)}
			case len(tc.args) > 0 && tc.args[0] == "trial":
				args = nil
			}
			args = append(args, tc.args...)
			if !strings.Contains(strings.Join(args, " "), "--out") {
				args = append(args, "--out", filepath.Join(dir, "results"))
			}
			code, stdout, stderr := doppel(t, args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr\n%s\nwant it to contain\n%s", stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout: %s", stdout)
			}
			if diff := cmp.Diff([]string{"bad.yaml", "foreign", "good.yaml"}, withoutBad(entries(t, dir))); diff != "" {
				t.Errorf("files in the directory (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"notes.txt"}, entries(t, foreign)); diff != "" {
				t.Errorf("the foreign directory changed (-want +got):\n%s", diff)
			}
		})
	}
}

// withoutBad adds bad.yaml to names if absent, so that the listing does not
// depend on whether a case wrote it.
func withoutBad(names []string) []string {
	for _, n := range names {
		if n == "bad.yaml" {
			return names
		}
	}
	return append([]string{"bad.yaml"}, names...)
}

// TestTrialCancel stops a trial with a cancelled context: a failure (exit
// 1) and no output directory.
func TestTrialCancel(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "t.yaml", smallTrial)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb strings.Builder
	code := run(ctx, []string{"trial", file, "--out", filepath.Join(dir, "results")}, &out, &errb)
	if code != exitFailure || !strings.Contains(errb.String(), "context canceled") {
		t.Errorf("exit %d, stderr %s; want %d and a cancellation", code, errb.String(), exitFailure)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("left %q behind", names)
	}
}

func TestHypoEvents(t *testing.T) {
	// 5-min samples: 15 min = 3 samples.
	for _, tc := range []struct {
		name string
		g    []float64
		want int
	}{
		{"none", []float64{100, 90, 80, 75}, 0},
		{"too short", []float64{100, 65, 60, 100, 100, 100}, 0},
		{"one", []float64{100, 65, 60, 55, 100, 100, 100}, 1},
		{"brief recovery is the same event", []float64{65, 60, 55, 75, 80, 60, 60, 60, 100, 100, 100}, 1},
		{"recovery of 15 min splits events", []float64{65, 60, 55, 75, 80, 85, 60, 60, 60}, 2},
		{"70 is not below", []float64{70, 70, 70, 70}, 0},
		{"NaN ignored", []float64{65, math.NaN(), 60, 55}, 1},
	} {
		if got := hypoEvents(tc.g, 5, 70, 15); got != tc.want {
			t.Errorf("%s: %d events, want %d", tc.name, got, tc.want)
		}
	}
	// At 1-min sampling an event needs 15 samples.
	g := make([]float64, 30)
	for i := range g {
		g[i] = 60
	}
	if got := hypoEvents(g[:14], 1, 70, 15); got != 0 {
		t.Errorf("14 min below 70: %d events, want 0", got)
	}
	if got := hypoEvents(g[:15], 1, 70, 15); got != 1 {
		t.Errorf("15 min below 70: %d events, want 1", got)
	}
}

func TestJSONFloat(t *testing.T) {
	b, err := json.Marshal([]jsonFloat{1.5, jsonFloat(math.NaN()), 100})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "[1.5,null,100]" {
		t.Errorf("got %s", b)
	}
}

// TestExampleTrials runs the example trial files shortened to one day.
func TestExampleTrials(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "trial*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples/trial*.yaml")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := scenario.ParseTrial(f, data, scenario.T1D())
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		short := writeFile(t, t.TempDir(), filepath.Base(f), strings.Replace(string(data), "days: "+strconv.Itoa(spec.Days), "days: 1", 1))
		code, stdout, stderr := doppel(t, "trial", short, "--json")
		if code != exitOK {
			t.Errorf("%s: exit %d, stderr %s", f, code, stderr)
			continue
		}
		var sum struct {
			Days int `json:"days"`
			Arms []struct {
				Metrics []struct {
					N int `json:"n"`
				} `json:"metrics"`
			} `json:"arms"`
		}
		if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if sum.Days != 1 || len(sum.Arms) != len(spec.Arms) || sum.Arms[0].Metrics[0].N != len(spec.Cohort) {
			t.Errorf("%s: summary %+v", f, sum)
		}
	}
}

// BenchmarkTrial runs 3 patients x 2 arms x 1 day (6 patient-days) on all
// cores.
func BenchmarkTrial(b *testing.B) {
	src := strings.Replace(smallTrial, `["adult#001", "child#002"]`, `["adult#001", "adolescent#001", "child#001"]`, 1)
	src = strings.Replace(src, "  - name: double meals\n    controller: basal-bolus\n    meals: {scale: 2}\n", "", 1)
	spec, err := scenario.ParseTrial("bench.yaml", []byte(src), scenario.T1D())
	if err != nil {
		b.Fatal(err)
	}
	tr, err := newT1DTrial(spec)
	if err != nil {
		b.Fatal(err)
	}
	cfg := trial.Config{Patients: spec.Cohort, Arms: []string{"a", "b"}, Metrics: metricNames()}
	for b.Loop() {
		if _, err := trial.Run(context.Background(), cfg, tr.run); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/6/1e6, "ms/patient-day")
}

func TestMetricIndices(t *testing.T) {
	for i, want := range map[int]string{mTIR: "tir", mTBR70: "tbr70", mTBR54: "tbr54", mTAR180: "tar180", mTAR250: "tar250",
		mMean: "mean", mSD: "sd", mCV: "cv", mGMI: "gmi", mLBGI: "lbgi", mHBGI: "hbgi", mRisk: "risk",
		mHypo: "hypo_events", mInsulin: "insulin", mCarbs: "carbs", mOutOfRange: "out_of_range"} {
		if trialMetrics[i].Name != want {
			t.Errorf("trialMetrics[%d] = %s, want %s", i, trialMetrics[i].Name, want)
		}
	}
	if len(trialMetrics) != mOutOfRange+1 {
		t.Errorf("%d metrics, want %d", len(trialMetrics), mOutOfRange+1)
	}
}

// TestTIRArms checks the stacked time-in-ranges bars: disjoint ranges from
// the nested consensus metrics, means across patients, NaN runs left out.
func TestTIRArms(t *testing.T) {
	row := func(tir, tbr70, tbr54, tar180, tar250 float64) []float64 {
		v := make([]float64, len(trialMetrics))
		v[mTIR], v[mTBR70], v[mTBR54], v[mTAR180], v[mTAR250] = tir, tbr70, tbr54, tar180, tar250
		return v
	}
	nan := math.NaN()
	res := &trial.Result{
		Arms: []string{"a"},
		Values: [][][]float64{{
			row(70, 10, 4, 20, 5),
			row(90, 2, 0, 8, 1),
			row(nan, nan, nan, nan, nan),
		}},
	}
	want := []plot.TIRArm{{Name: "a", VeryLow: 2, Low: 4, InRange: 80, High: 11, VeryHigh: 3}}
	if diff := cmp.Diff(want, tirArms(res)); diff != "" {
		t.Errorf("tirArms (-want +got):\n%s", diff)
	}
}

// TestTrialSevereHypo drives a child to a glucose of 0 with ten-fold meal
// boluses (cr_scale 0.1): the run is flagged, and its glucose metrics stay
// defined (samples at or below 0 count as 0 mg/dL) so that the worst runs
// are not dropped from the summary.
func TestTrialSevereHypo(t *testing.T) {
	src := strings.Replace(smallTrial, `["adult#001", "child#002"]`, `"child#003"`, 1)
	src = strings.Replace(src, "cr_scale: 0.8", "cr_scale: 0.1", 1)
	spec, err := scenario.ParseTrial("hypo.yaml", []byte(src), scenario.T1D())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := newT1DTrial(spec)
	if err != nil {
		t.Fatal(err)
	}
	var trace trial.Trace
	m, err := tr.run(context.Background(), trial.Job{Patient: 0, Arm: 1}, &trace)
	if err != nil {
		t.Fatal(err)
	}
	if m[mOutOfRange] != 1 {
		t.Fatalf("ten-fold boluses did not take BG below 10 mg/dL: metrics %v", m)
	}
	for i := mTIR; i <= mRisk; i++ {
		if math.IsNaN(m[i]) {
			t.Errorf("%s is NaN", trialMetrics[i].Name)
		}
	}
	if m[mTBR54] < 10 || m[mLBGI] < 10 {
		t.Errorf("TBR<54 %v %%, LBGI %v: want a severe hypoglycaemia", m[mTBR54], m[mLBGI])
	}
	if slices.Min(trace.Glucose) != 0 {
		t.Errorf("lowest glucose %v, want 0 (clamped)", slices.Min(trace.Glucose))
	}
}
