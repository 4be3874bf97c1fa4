package pkmodel

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/model/pkpd"
)

// contract is the dosing file of the contract (examples/vanco_tdm.yaml).
const contract = `model: vancomycin-goti2018
patient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}
doses:
  - {time: 0 h, amount: 2000 mg, infusion: 2 h}
  - {time: 12 h, amount: 1000 mg, infusion: 1 h, every: 12 h, doses: 4}
levels:
  - {time: 38 h, value: 39.8 mg/L}
  - {time: 47.5 h, value: 24.5 mg/L}
target: {auc24: 500 mg.h/L, round_to: 250 mg, every: 12 h}
`

func TestParseRequestContract(t *testing.T) {
	r, err := ParseRequest("vanco.yaml", []byte(contract), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.Name != "vancomycin-goti2018" {
		t.Errorf("model %q", r.Model.Name)
	}
	if diff := cmp.Diff(map[string]float64{"weight": 80, "crcl": 80, "dialysis": 0}, r.Covariates); diff != "" {
		t.Errorf("covariates (-want +got):\n%s", diff)
	}
	wantDoses := []Dose{
		{Time: 0, Amount: 2000, Infusion: 2, Count: 1, Line: 4},
		{Time: 12, Amount: 1000, Infusion: 1, Every: 12, Count: 4, Line: 5},
	}
	if diff := cmp.Diff(wantDoses, r.Doses); diff != "" {
		t.Errorf("doses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]pkpd.Level{{Time: 38, Value: 39.8}, {Time: 47.5, Value: 24.5}}, r.Levels); diff != "" {
		t.Errorf("levels (-want +got):\n%s", diff)
	}
	want := &Target{Metric: "auc24", Lo: 500, Hi: 500, RoundTo: 250, Every: []float64{12}}
	if diff := cmp.Diff(want, r.Target); diff != "" {
		t.Errorf("target (-want +got):\n%s", diff)
	}
	if last, d := r.LastDose(); last != 48 || d.Every != 12 {
		t.Errorf("last dose at %g h (every %g), want 48 (12)", last, d.Every)
	}
	// The same regimen in NONMEM records (refs e_vanco_regimen.csv: 2000 mg
	// at rate 1000 mg/h, then 1000 mg at 1000 mg/h every 12 h from 12 h).
	recs := r.Records()
	wantRecs := []pkpd.Record{
		{Time: 0, EVID: 1, AMT: 2000, RATE: 1000, MDV: 1, Line: 4},
		{Time: 12, EVID: 1, AMT: 1000, RATE: 1000, II: 12, ADDL: 3, MDV: 1, Line: 5},
	}
	if diff := cmp.Diff(wantRecs, recs); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// edit returns the contract with old replaced by new (which must occur).
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(contract, old) {
		t.Fatalf("contract has no %q", old)
	}
	return strings.Replace(contract, old, new, 1)
}

func TestParseRequestErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"unknown model", edit(t, "model: vancomycin-goti2018", "model: vancomycin"),
			`f.yaml:1: model: unknown model "vancomycin"; valid: amikacin-jin2020, ciclosporin-wilhelm2012, gentamicin-hodiamont2017, vancomycin-goti2018 (or a model file ending in .yaml)`},
		{"model file not allowed", edit(t, "model: vancomycin-goti2018", "model: mine.yaml"),
			"f.yaml:1: model: model files are not allowed here; use a library model: amikacin-jin2020, ciclosporin-wilhelm2012, gentamicin-hodiamont2017, vancomycin-goti2018"},
		{"unknown covariate", edit(t, "dialysis: false}", "dialysis: false, age: 70 a}"),
			"f.yaml:2: patient.age: unknown covariate of the model vancomycin-goti2018; valid: crcl, weight, dialysis"},
		{"missing covariate", edit(t, "crcl: 80 mL/min, ", ""),
			"f.yaml:2: patient: missing covariate crcl of the model vancomycin-goti2018; add crcl: ... mL/min"},
		{"pounds", edit(t, "80 kg", "176 lb"),
			"f.yaml:2: patient.weight: unknown unit \"lb\": pounds are not accepted; give the weight in kg"},
		{"wrong unit", edit(t, "80 mL/min", "80 mg/L"),
			"f.yaml:2: patient.crcl: wrong unit mg/L: want a unit that converts to mL/min"},
		{"bare number", edit(t, "80 kg", "80"),
			`f.yaml:2: patient.weight: must be a quantity with a unit, such as "80 kg", got the bare number 80`},
		{"boolean", edit(t, "dialysis: false", "dialysis: no-thanks"),
			`f.yaml:2: patient.dialysis: must be true or false, got the string "no-thanks"`},
		{"negative weight", edit(t, "80 kg", "-80 kg"),
			"f.yaml:2: patient.weight: must be > 0, got -80 kg"},
		{"negative time", edit(t, "time: 12 h", "time: -12 h"),
			"f.yaml:5: doses[1].time: must be >= 0 (times are from the first dose), got -12 h"},
		{"level before first dose", strings.NewReplacer("time: 0 h", "time: 40 h", "time: 12 h", "time: 52 h").Replace(contract),
			"f.yaml:7: levels[0].time: 38 h is not after the first dose (40 h): a level before any dose carries no information"},
		{"level at the first dose", edit(t, "time: 38 h", "time: 0 h"),
			"f.yaml:7: levels[0].time: 0 h is not after the first dose (0 h): a level before any dose carries no information"},
		{"every without doses", edit(t, ", doses: 4}", "}"),
			"f.yaml:5: doses[1].doses: missing; with every, give the number of doses, e.g. doses: 4"},
		{"overlapping infusions", edit(t, "infusion: 1 h, every: 12 h", "infusion: 13 h, every: 12 h"),
			"f.yaml:5: doses[1].every: 12 h is shorter than the infusion (13 h): the infusions would overlap"},
		{"level unit", edit(t, "39.8 mg/L", "39.8 mg"),
			"f.yaml:7: levels[0].value: wrong unit mg: want a unit that converts to mg/L"},
		{"two targets", edit(t, "auc24: 500 mg.h/L,", "auc24: 500 mg.h/L, trough: 15 mg/L,"),
			"f.yaml:9: target.trough: give one of auc24, trough or peak, not both auc24 and trough"},
		{"no target metric", edit(t, "auc24: 500 mg.h/L, ", ""),
			"f.yaml:9: target: missing the target: add one of auc24 (e.g. auc24: 500 mg.h/L), trough (e.g. trough: [10 mg/L, 15 mg/L]) or peak"},
		{"unknown field", edit(t, "levels:", "level:"),
			"f.yaml:6: level: unknown field (did you mean levels?); valid: model, patient, covariates, doses, levels, target"},
		{"missing doses", "model: vancomycin-goti2018\npatient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}\n",
			"f.yaml:1: doses: missing; add it, e.g. doses: [{time: 0 h, amount: 1000 mg, infusion: 1 h}]"},
		{"empty", "", "f.yaml: empty file: expected a mapping of dosing fields (model, patient, covariates, doses, levels, target)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRequest("f.yaml", []byte(tt.data), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

// TestLoadRequestModelFile checks a dosing file naming its own model file,
// read relative to the dosing file.
func TestLoadRequestModelFile(t *testing.T) {
	dir := t.TempDir()
	src, err := library.ReadFile("library/gentamicin-hodiamont2017.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/genta.yaml", src, 0o644); err != nil {
		t.Fatal(err)
	}
	req := "model: genta.yaml\npatient: {}\ndoses:\n  - {time: 0 h, amount: 400 mg, infusion: 0.5 h}\nlevels:\n  - {time: 1 h, value: 15 mg/L}\n"
	if err := os.WriteFile(dir+"/req.yaml", []byte(req), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := LoadRequest(dir + "/req.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.Name != "gentamicin-hodiamont2017" || len(r.Covariates) != 0 || r.Target != nil {
		t.Errorf("got model %q, covariates %v, target %v", r.Model.Name, r.Covariates, r.Target)
	}
}

// TestRequestCovariateChanges checks covariates: in a dosing file: the
// changes in model units (dialysis as 1), the latest values, and the
// records WithCovariates writes for LOCF (each dose record with the values
// at its time, an EVID 2 record at each change).
func TestRequestCovariateChanges(t *testing.T) {
	src := strings.Replace(contract, "doses:", "covariates:\n  - {time: 24 h, crcl: 50 mL/min}\n  - {time: 30 h, dialysis: true, weight: 78000 g}\ndoses:", 1)
	r, err := ParseRequest("vanco.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []pkpd.CovariateChange{
		{Time: 24, Values: map[string]float64{"crcl": 50}},
		{Time: 30, Values: map[string]float64{"dialysis": 1, "weight": 78}},
	}
	if diff := cmp.Diff(want, r.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]float64{"weight": 78, "crcl": 50, "dialysis": 1}, r.LatestCovariates()); diff != "" {
		t.Errorf("latest (-want +got):\n%s", diff)
	}
	recs, opt, err := r.WithCovariates(r.Records())
	if err != nil {
		t.Fatal(err)
	}
	if opt.Carry != pkpd.LOCF || len(recs) != 4 {
		t.Fatalf("carry %v, %d records, want LOCF and 4", opt.Carry, len(recs))
	}
	for i, w := range []struct {
		time       float64
		evid       int
		crcl, dial float64
	}{{0, 1, 80, 0}, {12, 1, 80, 0}, {24, 2, 50, 0}, {30, 2, 50, 1}} {
		if r := recs[i]; r.Time != w.time || r.EVID != w.evid || r.Covariates["crcl"] != w.crcl || r.Covariates["dialysis"] != w.dial {
			t.Errorf("record %d: %+v, want %+v", i, r, w)
		}
	}
}
