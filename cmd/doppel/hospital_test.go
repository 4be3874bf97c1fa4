package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/des"
	"github.com/doppelhealth/doppel/hospital"
	"github.com/doppelhealth/doppel/internal/scenario"
)

var (
	hospitalED       = filepath.Join("..", "..", "examples", "hospital_ed.yaml")
	hospitalSurge    = filepath.Join("..", "..", "examples", "hospital_surge.yaml")
	hospitalUnstable = filepath.Join("..", "..", "examples", "hospital_unstable.yaml")
)

// TestHospitalIssueExample runs the configuration of issue 5 as written
// (examples/hospital_ed.yaml) and checks that --json prints exactly what
// the hospital package computes for the configuration the file describes,
// under the field names of the issue.
func TestHospitalIssueExample(t *testing.T) {
	code, stdout, stderr := doppel(t, "hospital", hospitalED, "--json")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	ed := got["ed"].(map[string]any)
	for _, k := range []string{"mean_occupancy", "mean_occupancy_hw95", "p_full", "p_full_hw95", "mean_boarding_hours", "mean_boarding_hours_hw95"} {
		if _, ok := ed[k].(float64); !ok {
			t.Errorf("ed.%s missing or not a number", k)
		}
	}
	units := got["units"].([]any)
	if len(units) != 2 {
		t.Fatalf("%d units, want ward and icu", len(units))
	}
	for _, u := range units {
		for _, k := range []string{"name", "mean_occupancy", "mean_occupancy_hw95", "p_full", "p_full_hw95"} {
			if _, ok := u.(map[string]any)[k]; !ok {
				t.Errorf("units[].%s missing", k)
			}
		}
	}

	// The same model built by hand from the issue's text.
	tx, _ := des.NewExponential(3)
	wl, _ := des.NewLogNormal(96, 72)
	il, _ := des.NewLogNormal(72, 48)
	cfg := &hospital.Config{
		Horizon: 365 * 24, Warmup: 30 * 24, Replications: 20, Seed: 1,
		Arrivals: hospital.Arrivals{RatePerHour: 10},
		ED:       hospital.ED{Cubicles: 40, Treatment: tx},
		Units: []hospital.Unit{
			{Name: "ward", Beds: 210, LOS: wl, Route: 0.20},
			{Name: "icu", Beds: 44, LOS: il, Route: 0.05},
		},
	}
	res, err := hospital.Run(context.Background(), cfg, nil, hospital.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := writeJSON(&want, hospitalJSON{File: hospitalED, Seed: 1, HorizonDays: 365, WarmupDays: 30, Result: res}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.String(), stdout); diff != "" {
		t.Errorf("doppel hospital --json differs from the hand-built model (-want +got):\n%.2000s", diff)
	}
}

// TestHospitalCensus: a census in the file is the start State of the run.
func TestHospitalCensus(t *testing.T) {
	const file = `horizon: 3d
replications: 4
arrivals: {rate_per_hour: 2}
ed: {cubicles: 5, treatment: {dist: exponential, mean: 3h}}
routes: {ward: 0.5}
units:
  ward: {beds: 20, los: {dist: gamma, mean: 2d, sd: 1d}}
  icu: {beds: 2, los: {dist: exponential, mean: 1d}}
census:
  icu: [1d, 2h, 30m]
  ward: [{patients: 2, elapsed: 1d}, 3h]
  ed: {in_treatment: [1h], boarding: {ward: [2h], icu: [1h]}, waiting: 2}
`
	dir := t.TempDir()
	path := filepath.Join(dir, "census.yaml")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	hf, err := parseHospital(path, []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	cfg, st := hf.cfg, hf.census
	want := &hospital.State{
		Inpatients:  []hospital.Inpatient{{Unit: 0, Elapsed: 24}, {Unit: 0, Elapsed: 24}, {Unit: 0, Elapsed: 3}, {Unit: 1, Elapsed: 24}, {Unit: 1, Elapsed: 2}, {Unit: 1, Elapsed: 0.5}},
		InTreatment: []hospital.EDPatient{{Elapsed: 1}},
		Boarding:    []hospital.Boarder{{Unit: 0, Waited: 2}, {Unit: 1, Waited: 1}},
		Waiting:     2,
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("census (-want +got):\n%s", diff)
	}
	code, stdout, stderr := doppel(t, "hospital", path, "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	res, err := hospital.Run(context.Background(), cfg, want, hospital.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writeJSON(&b, hospitalJSON{File: path, Seed: 1, HorizonDays: 3, Result: res}); err != nil {
		t.Fatal(err)
	}
	if b.String() != stdout {
		t.Error("doppel hospital did not start from the census")
	}
}

// TestHospitalWhatIf: a branch meets the same patients as the base (the
// same arrivals) and its differences are those hospital.Compare gives.
func TestHospitalWhatIf(t *testing.T) {
	const file = `horizon: 20d
warmup: 5d
replications: 6
arrivals: {rate_per_hour: 10}
ed: {cubicles: 40, treatment: {dist: exponential, mean: 3h}}
routes: {ward: 0.20, icu: 0.05}
units:
  ward: {beds: 210, los: {dist: lognormal, mean: 4d, sd: 3d}}
  icu:  {beds: 36,  los: {dist: lognormal, mean: 3d, sd: 2d}}
what_if:
  - name: more ICU beds
    units:
      ward: {beds: 210, los: {dist: lognormal, mean: 4d, sd: 3d}}
      icu:  {beds: 46,  los: {dist: lognormal, mean: 3d, sd: 2d}}
`
	path := filepath.Join(t.TempDir(), "whatif.yaml")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := doppel(t, "hospital", path, "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var got hospitalJSON
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.WhatIf) != 1 || got.WhatIf[0].Name != "more ICU beds" {
		t.Fatalf("what_if %+v", got.WhatIf)
	}
	b := got.WhatIf[0]
	if b.Result.ArrivalsPerDay != got.ArrivalsPerDay || b.Result.Units[1].Capacity != 46 || b.Result.Replications != 6 {
		t.Errorf("branch: arrivals %v (base %v), ICU beds %d, %d replications", b.Result.ArrivalsPerDay, got.ArrivalsPerDay, b.Result.Units[1].Capacity, b.Result.Replications)
	}
	for _, d := range b.Differences {
		if d.Name == "icu" && d.Metric == "p_full" && !(d.Mean+d.HW < 0) {
			t.Errorf("ICU P(full) change %v ± %v, want a clear fall", d.Mean, d.HW)
		}
	}
}

func TestHospitalTextAndPlot(t *testing.T) {
	dir := t.TempDir()
	fan := filepath.Join(dir, "fan.png")
	code, stdout, stderr := doppel(t, "hospital", hospitalSurge, "--plot", fan, "--workers", "1")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"40 replications × 42 days (14-day warm-up)", "ward  230", "ED boarding: mean", "electives cancelled"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	data, err := os.ReadFile(fan)
	if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Errorf("fan chart: %v, %d bytes", err, len(data))
	}
	// Any number of workers gives the same numbers.
	_, again, _ := doppel(t, "hospital", hospitalSurge, "--workers", "3")
	if again != stdout {
		t.Errorf("--workers 3 output differs from --workers 1")
	}
}

func TestHospitalUnstableWarns(t *testing.T) {
	code, stdout, stderr := doppel(t, "hospital", hospitalUnstable, "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stderr, "doppel: warning: ward: offered load 192 ≥ 60 beds") {
		t.Errorf("stderr %q lacks the ward warning", stderr)
	}
	var got struct{ Warnings []string }
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Warnings) != 3 {
		t.Errorf("warnings %q, want ed, ward and icu", got.Warnings)
	}
}

// TestHospitalBadInput: every broken file exits 2 with one line naming
// file, line and field, and leaves no plot behind.
func TestHospitalBadInput(t *testing.T) {
	const good = `horizon: 30d
arrivals: {rate_per_hour: 10}
ed: {cubicles: 40, treatment: {dist: exponential, mean: 3h}}
routes: {ward: 0.20, icu: 0.05}
units:
  ward: {beds: 210, los: {dist: lognormal, mean: 4d, sd: 3d}}
  icu:  {beds: 44,  los: {dist: lognormal, mean: 3d, sd: 2d}}
`
	tests := []struct {
		name, file, want string
	}{
		{"examples routes", filepath.Join("..", "..", "examples", "bad", "hospital_routes_over_one.yaml"), ":4: routes: the probabilities sum to 1.05; they must sum to at most 1"},
		{"examples beds", filepath.Join("..", "..", "examples", "bad", "hospital_negative_beds.yaml"), ":7: units.icu.beds: must be between 0 and 1000000, got -4"},
		{"examples dist", filepath.Join("..", "..", "examples", "bad", "hospital_unknown_dist.yaml"), `:3: ed.treatment.dist: unknown distribution "weibull"; valid: exponential, lognormal, gamma, empirical`},
		{"negative cubicles", strings.Replace(good, "cubicles: 40", "cubicles: -1", 1), ":3: ed.cubicles: must be between 0"},
		{"unknown field", good + "wramup: 3d\n", ":8: wramup: unknown field (did you mean warmup?)"},
		{"bare number", strings.Replace(good, "mean: 3h", "mean: 3", 1), ":3: ed.treatment.mean: must be a duration such as 90m, 36h or 3d, got the bare number 3 (give a unit)"},
		{"route to unknown unit", strings.Replace(good, "icu: 0.05}", "iccu: 0.05}", 1), ":4: routes.iccu: unknown unit (did you mean icu?)"},
		{"sd for exponential", strings.Replace(good, "mean: 3h}", "mean: 3h, sd: 1h}", 1), ":3: ed.treatment.sd: not a parameter of the exponential distribution"},
		{"missing los", strings.Replace(good, "beds: 44,  los: {dist: lognormal, mean: 3d, sd: 2d}", "beds: 44", 1), ":7: units.icu.los: missing"},
		{"transfer to itself", strings.Replace(good, "sd: 2d}}", "sd: 2d}, transfer: {to: icu, p: 1}}", 1), ":7: units.icu.transfer.to: a unit cannot transfer to itself"},
		{"warmup too long", good + "warmup: 30d\n", ":8: warmup: must be shorter than the horizon"},
		{"one replication", good + "replications: 1\n", ":8: replications: must be between 2"},
		{"bad weekday", good + "electives: [{unit: ward, per_day: 2, hour: 8, weekdays: [mon, fry]}]\n", ":8: electives[0].weekdays[1]: unknown weekday \"fry\""},
		{"surge mix", good + "surges: [{at: 1d, duration: 2h, patients: 10, mix: {ward: 0.7, icu: 0.5}}]\n", ":8: surges[0].mix: the probabilities sum to 1.2"},
		{"capacity change unit", good + "capacity_changes: [{unit: er, at: 1d, capacity: 3}]\n", ":8: capacity_changes[0].unit: unknown unit \"er\"; valid: ed, ward, icu"},
		{"profile length", strings.Replace(good, "{rate_per_hour: 10}", "{rate_per_hour: 10, day_of_week: [1, 1]}", 1), ":2: arrivals.day_of_week: must have 7 multipliers, got 2"},
		{"unit named ed", good + "  ed: {beds: 1, los: {dist: exponential, mean: 1h}}\n", ":8: units.ed: the ED is configured under ed:"},
		{"empty", "", "empty file"},
		{"census unit", good + "census: {wrd: [1d]}\n", ":8: census.wrd: unknown unit; valid: ed, ward, icu"},
		{"census number", good + "census: {icu: [1d, 5]}\n", ":8: census.icu[1]: must be a duration"},
		{"what-if shared field", good + "what_if: [{name: x, seed: 3}]\n", ":8: what_if[0].seed: unknown field; valid: name, arrivals"},
		{"what-if units renamed", good + "what_if: [{name: x, units: {ward: {beds: 1, los: {dist: exponential, mean: 1h}}}}]\n", ":8: what_if[0].units: must name the same units in the same order as the base (ward, icu)"},
		{"what-if bad value", good + "what_if:\n  - name: x\n    routes: {ward: 2}\n", ":10: routes.ward: must be <= 1, got 2"},
		{"census waiting", good + "census: {ed: {waiting: -1}}\n", ":8: census.ed.waiting: must be between 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := tc.file
			if !strings.HasSuffix(file, ".yaml") {
				file = filepath.Join(dir, "h.yaml")
				if err := os.WriteFile(file, []byte(tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := doppel(t, "hospital", file, "--plot", filepath.Join(dir, "fan.png"))
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if !strings.HasPrefix(stderr, file) || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("stderr %q, want one line %s...%s", stderr, file, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if _, err := os.Stat(filepath.Join(dir, "fan.png")); err == nil {
				t.Error("a plot was left behind")
			}
		})
	}
	if code, _, stderr := doppel(t, "hospital", hospitalED, "--plot", "fan.pdf"); code != exitUsage || !strings.Contains(stderr, `unknown image type ".pdf"`) {
		t.Errorf("--plot fan.pdf: exit %d, stderr %q", code, stderr)
	}
}

// FuzzParseHospital: the decoder never panics, its errors are located
// (*scenario.Error), and whatever it accepts is a valid configuration.
func FuzzParseHospital(f *testing.F) {
	for _, pat := range []string{"hospital_*.yaml", filepath.Join("bad", "hospital_*.yaml")} {
		files, err := filepath.Glob(filepath.Join("..", "..", "examples", pat))
		if err != nil || len(files) == 0 {
			f.Fatalf("no seed files %s: %v", pat, err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		hf, err := parseHospital("fuzz.yaml", data)
		if err != nil {
			var se *scenario.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *scenario.Error", err)
			}
			return
		}
		for _, w := range append([]whatIf{{cfg: hf.cfg}}, hf.whatIf...) {
			if err := w.cfg.Validate(); err != nil {
				t.Fatalf("accepted an invalid configuration: %v", err)
			}
		}
		if err := hf.census.Validate(hf.cfg); err != nil {
			t.Fatalf("accepted an invalid census: %v", err)
		}
	})
}
