package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doppelhealth/doppel/assim/glucose"
	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/clinical/fhirobs"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/doppelhealth/doppel/internal/twin"
)

// putAll creates the resources (JSON with resourceType and id).
func putAll(t *testing.T, svc *fhirops.Service, resources ...string) {
	t.Helper()
	for _, body := range resources {
		var r struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if _, err := svc.Update(context.Background(), r.ResourceType, r.ID, []byte(body), ""); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
	}
}

func weightObs(id, status, at string, value float64, unit string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":%q,"subject":{"reference":"Patient/p1"},"effectiveDateTime":%q,`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"valueQuantity":{"value":%v,"unit":%q,"system":"http://unitsofmeasure.org","code":%q}}`,
		id, status, at, value, unit, unit)
}

func insulinRequest(id, status, authored, med, dosage string) string {
	return fmt.Sprintf(`{"resourceType":"MedicationRequest","id":%q,"status":%q,"intent":"order","subject":{"reference":"Patient/p1"},"authoredOn":%q,`+
		`"medicationCodeableConcept":%s,"dosageInstruction":[%s]}`, id, status, authored, med, dosage)
}

func paramsObs(sens, abs, prod float64) string {
	comp := func(code string, v float64) string {
		return fmt.Sprintf(`{"code":{"coding":[{"system":"urn:doppel:twin","code":%q}]},"valueQuantity":{"value":%v,"unit":"1","system":"http://unitsofmeasure.org","code":"1"}}`, code, v)
	}
	return fmt.Sprintf(`{"resourceType":"Observation","id":"old-params","status":"final","subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-11-01T00:00:00Z",`+
		`"code":{"coding":[{"system":"urn:doppel:twin","code":"glucose-personal-parameters"}]},"component":[%s,%s,%s]}`,
		comp("insulin-sensitivity-multiplier", sens), comp("carbohydrate-absorption-multiplier", abs), comp("glucose-production-multiplier", prod))
}

const (
	aspart    = `{"coding":[{"system":"http://www.whocc.no/atc","code":"A10AB05","display":"insulin aspart"}]}`
	glargine  = `{"text":"Insulin glargine 100 units/mL"}`
	metformin = `{"coding":[{"system":"http://www.whocc.no/atc","code":"A10BA02","display":"metformin"}]}`
)

// TestRecordGlucose: a diabetes twin's setup from what the record holds
// (weight, basal insulin, an earlier twin's parameters), with the
// precedence and plausibility rules of serve_twin_params.go; expected
// values by hand (U/h ÷ 60 = U/min; 176.37 lb × 0.45359237 = 80.0001 kg).
func TestRecordGlucose(t *testing.T) {
	def, err := twin.DefaultGlucose()
	if err != nil {
		t.Fatal(err)
	}
	perKg := def.Basal / def.Pop.BW // the population's basal per kg, U/min/kg
	for _, tc := range []struct {
		name      string
		resources []string
		bw, basal float64 // 0: the default's
		prior     [glucose.NumParams]float64
	}{
		{name: "empty record"},
		{name: "latest valid weight", resources: []string{
			weightObs("w1", "final", "2026-01-01T08:00:00Z", 60, "kg"),
			weightObs("w2", "final", "2026-06-01T08:00:00Z", 82.5, "kg"),
			weightObs("w3", "entered-in-error", "2026-09-01T08:00:00Z", 120, "kg"),
		}, bw: 82.5, basal: perKg * 82.5},
		{name: "weight in pounds", resources: []string{weightObs("w1", "final", "2026-06-01T08:00:00Z", 176.37, "[lb_av]")},
			bw: 176.37 * 0.45359237, basal: perKg * 176.37 * 0.45359237},
		{name: "implausible weight", resources: []string{weightObs("w1", "final", "2026-06-01T08:00:00Z", 5000, "kg")}},
		{name: "pump basal, latest active request", resources: []string{
			insulinRequest("m1", "active", "2026-01-01", aspart, `{"doseAndRate":[{"rateQuantity":{"value":0.5,"unit":"U/h","system":"http://unitsofmeasure.org","code":"[IU]/h"}}]}`),
			insulinRequest("m2", "active", "2026-05-01", aspart, `{"doseAndRate":[{"rateQuantity":{"value":0.9,"unit":"U/h","system":"http://unitsofmeasure.org","code":"[IU]/h"}}]}`),
			insulinRequest("m3", "stopped", "2026-08-01", aspart, `{"doseAndRate":[{"rateQuantity":{"value":2,"unit":"U/h","system":"http://unitsofmeasure.org","code":"[IU]/h"}}]}`),
		}, basal: 0.9 / 60},
		{name: "basal as a rate ratio, with weight", resources: []string{
			weightObs("w1", "final", "2026-06-01T08:00:00Z", 70, "kg"),
			insulinRequest("m1", "active", "2026-05-01", aspart, `{"doseAndRate":[{"rateRatio":{"numerator":{"value":1.2,"code":"[IU]"},"denominator":{"value":1,"code":"h"}}}]}`),
		}, bw: 70, basal: 1.2 / 60},
		{name: "long-acting insulin once a day", resources: []string{
			insulinRequest("m1", "active", "2026-05-01", glargine, `{"timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}},"doseAndRate":[{"doseQuantity":{"value":24,"unit":"U","code":"[IU]"}}]}`),
		}, basal: 24.0 / 24 / 60},
		{name: "rapid insulin doses are not basal", resources: []string{
			insulinRequest("m1", "active", "2026-05-01", aspart, `{"timing":{"repeat":{"frequency":3,"period":1,"periodUnit":"d"}},"doseAndRate":[{"doseQuantity":{"value":6,"unit":"U","code":"[IU]"}}]}`),
		}},
		{name: "not an insulin", resources: []string{
			insulinRequest("m1", "active", "2026-05-01", metformin, `{"doseAndRate":[{"rateQuantity":{"value":0.9,"code":"[IU]/h"}}]}`),
		}},
		{name: "basal beyond 10 U/h", resources: []string{
			insulinRequest("m1", "active", "2026-05-01", aspart, `{"doseAndRate":[{"rateQuantity":{"value":40,"code":"[IU]/h"}}]}`),
		}},
		{name: "an earlier twin's parameters", resources: []string{paramsObs(1.3, 0.8, 1.05)},
			prior: [glucose.NumParams]float64{math.Log(1.3), math.Log(0.8), math.Log(1.05)}},
		{name: "parameters beyond the bound", resources: []string{paramsObs(10, 0.8, 1.05)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := twinService(t, t.TempDir())
			putAll(t, svc, append([]string{`{"resourceType":"Patient","id":"p1"}`}, tc.resources...)...)
			rec, err := newRecord(context.Background(), svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := rec.glucose("p1")
			if err != nil {
				t.Fatal(err)
			}
			if tc.bw == 0 && tc.basal == 0 {
				want := def
				want.Options.PriorMean = tc.prior
				if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(glucose.Options{}, "Method"), cmpopts.EquateApprox(0, 1e-12)); diff != "" {
					t.Errorf("setup (-want default +got):\n%s", diff)
				}
				return
			}
			bw := tc.bw
			if bw == 0 {
				bw = def.Pop.BW
			}
			if math.Abs(got.Pop.BW-bw) > 1e-9 || math.Abs(got.Basal-tc.basal) > 1e-12 || math.Abs(got.Pop.U2ss-tc.basal*6000/bw) > 1e-9 {
				t.Errorf("weight %v kg, basal %v U/min, U2ss %v; want %v, %v, %v", got.Pop.BW, got.Basal, got.Pop.U2ss, bw, tc.basal, tc.basal*6000/bw)
			}
			if got.Options.PriorMean != tc.prior {
				t.Errorf("prior mean %v, want %v", got.Options.PriorMean, tc.prior)
			}
		})
	}
}

// TestScale2Flag: SpO2 scale 2 applies at a time when an active Flag of
// urn:doppel:news2|spo2-scale-2 covers it; not before its start, after
// its end, when inactive, of another code or of another patient.
func TestScale2Flag(t *testing.T) {
	svc := twinService(t, t.TempDir())
	flag := func(id, patient, status, code, period string) string {
		return fmt.Sprintf(`{"resourceType":"Flag","id":%q,"status":%q,"subject":{"reference":"Patient/%s"},"code":{"coding":[{"system":"urn:doppel:news2","code":%q}]}%s}`,
			id, status, patient, code, period)
	}
	putAll(t, svc,
		`{"resourceType":"Patient","id":"p1"}`, `{"resourceType":"Patient","id":"p2"}`, `{"resourceType":"Patient","id":"p3"}`, `{"resourceType":"Patient","id":"p4"}`,
		flag("f1", "p1", "active", "spo2-scale-2", `,"period":{"start":"2026-11-25T08:00:00Z","end":"2026-11-26"}`),
		flag("f2", "p2", "inactive", "spo2-scale-2", ""),
		flag("f3", "p3", "active", "something-else", ""),
		flag("f4", "p4", "active", "spo2-scale-2", ""),
	)
	rec, err := newRecord(context.Background(), svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		patient string
		at      time.Time
		want    bool
	}{
		{"p1", day.Add(7 * time.Hour), false}, // before the start
		{"p1", day.Add(8 * time.Hour), true},
		{"p1", day.Add(47 * time.Hour), true}, // the end date covers its day
		{"p1", day.Add(48 * time.Hour), false},
		{"p2", day, false},
		{"p3", day, false},
		{"p4", day, true}, // no period: always
		{"p5", day, false},
	} {
		got, err := rec.scale2(tc.patient, tc.at)
		if err != nil || got != tc.want {
			t.Errorf("scale2(%s, %v) = %v, %v; want %v", tc.patient, tc.at, got, err, tc.want)
		}
	}
}

// TestParamsWritten: a twin's adapted parameters are written to the
// record at a snapshot (an Observation whose id names no patient), at
// most once per hour of readings, and a new twin of the patient reads
// them as its prior.
func TestParamsWritten(t *testing.T) {
	dir := t.TempDir()
	svc, series := twinStore(t, dir)
	ctx := context.Background()
	putAll(t, svc, `{"resourceType":"Patient","id":"p1"}`)
	lt, err := startTwins(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), svc, dir, twinFlags{on: true, mqttAddr: "127.0.0.1:0"}, nil, twinDeps{series: series})
	if err != nil {
		t.Fatal(err)
	}
	defer lt.Close(ctx)
	start := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
	observe := func(from, to int) {
		for m := from; m < to; m += 5 {
			o := clinical.Observation{Patient: "p1", Device: "cgm-1", Code: clinical.CodeGlucoseCGM, Effective: start.Add(time.Duration(m) * time.Minute),
				Value: &clinical.Quantity{Value: 150 + 40*math.Sin(float64(m)/30), Unit: "mg/dL"}}
			if err := lt.mgr.Observe(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	version := func() int64 {
		v, err := svc.Read(ctx, "Observation", paramsID("p1"))
		if err != nil {
			t.Fatal(err)
		}
		return v.VersionID
	}
	observe(0, 90)
	if err := lt.mgr.SaveAll(ctx); err != nil {
		t.Fatal(err)
	}
	observe(90, 120) // 30 min more: not yet due
	if err := lt.mgr.SaveAll(ctx); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != 1 {
		t.Errorf("parameters written %d times within an hour of readings, want once", v)
	}
	observe(120, 160) // more than an hour after the first write
	if err := lt.mgr.SaveAll(ctx); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != 2 {
		t.Errorf("parameters written %d times, want twice", v)
	}
	if strings.Contains(paramsID("p1"), "p1") {
		t.Errorf("id %s names the patient", paramsID("p1"))
	}
	st, _, err := lt.mgr.State(ctx, "p1")
	if err != nil || st.Glucose == nil {
		t.Fatal(st, err)
	}
	rec, err := newRecord(ctx, svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	setup, err := rec.glucose("p1")
	if err != nil {
		t.Fatal(err)
	}
	var want [glucose.NumParams]float64
	for k, m := range st.Glucose.Estimate.Multipliers {
		want[k] = math.Log(m)
	}
	if diff := cmp.Diff(want, setup.Options.PriorMean, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("prior of a new twin vs the written parameters (-want +got):\n%s", diff)
	}
}

// FuzzMedicationRequest: any MedicationRequest JSON gives a basal rate
// without panicking; what basal would accept is finite and positive.
func FuzzMedicationRequest(f *testing.F) {
	f.Add([]byte(insulinRequest("m1", "active", "2026-05-01", aspart, `{"doseAndRate":[{"rateQuantity":{"value":0.9,"code":"[IU]/h"}}]}`)))
	f.Add([]byte(insulinRequest("m1", "active", "2026-05-01", glargine, `{"timing":{"repeat":{"frequency":1,"period":0,"periodUnit":"d"}},"doseAndRate":[{"doseQuantity":{"value":24,"code":"[IU]"}}]}`)))
	f.Add([]byte(insulinRequest("m1", "active", "2026-05-01", aspart, `{"doseAndRate":[{"rateRatio":{"numerator":{"value":0,"code":"[IU]"},"denominator":{"value":0,"code":"h"}}}]}`)))
	f.Fuzz(func(t *testing.T, body []byte) {
		var m medicationRequest
		if json.Unmarshal(body, &m) != nil {
			return
		}
		if u := m.basalRate(); u >= minBasalUh && u <= maxBasalUh && (math.IsInf(u, 0) || math.IsNaN(u)) {
			t.Errorf("basal %v U/h accepted", u)
		}
	})
}

// FuzzInsulinFromFHIR: any MedicationAdministration JSON maps to a dose
// that clinical.Normalize leaves as it is, or to none, without panicking.
func FuzzInsulinFromFHIR(f *testing.F) {
	o := clinical.Observation{Patient: "p1", Device: "pump-1", Code: clinical.CodeInsulin, Effective: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		Value: &clinical.Quantity{Value: 2, Unit: "[IU]"}}
	typ, body, err := fhirobs.Resource(o, fhirobs.Meta{})
	if err != nil || typ != "MedicationAdministration" {
		f.Fatal(typ, err)
	}
	f.Add(body)
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := insulinFromFHIR(body)
		if !ok {
			return
		}
		if n, err := clinical.Normalize(got); err != nil || !cmp.Equal(n, got) || got.Patient == "" {
			t.Errorf("dose %+v: normalised %+v, %v", got, n, err)
		}
	})
}

// TestParamsWriteFailsQuietly: a snapshot is saved, and reported saved,
// even when writing the parameters to the record fails (here: the store
// is closed), so one failed write cannot stop the other twins' snapshots.
func TestParamsWriteFailsQuietly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := newRecord(ctx, fhirops.New(st, reg, fhirops.Options{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if rec.mgr, err = twin.New(twin.Options{Now: time.Now}); err != nil {
		t.Fatal(err)
	}
	o := clinical.Observation{Patient: "p1", Device: "cgm-1", Code: clinical.CodeGlucoseCGM, Effective: time.Now().UTC(), Value: &clinical.Quantity{Value: 120, Unit: "mg/dL"}}
	if err := rec.mgr.Observe(ctx, o); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := rec.writeParams(ctx, "p1"); err == nil {
		t.Fatal("writing to a closed store succeeded; the test shows nothing")
	}
	files, err := newFileSnapshots(filepath.Join(dir, "twins"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.snapshots(files).Save(ctx, "p1", []byte(`{"version":1}`)); err != nil {
		t.Errorf("Save = %v, want nil", err)
	}
	if got, err := files.Load(ctx, "p1"); err != nil || string(got) != `{"version":1}` {
		t.Errorf("snapshot after a failed parameters write: %q, %v", got, err)
	}
}
