package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/httpapi"
	"github.com/doppelhealth/doppel/internal/pkmodel"
	"github.com/doppelhealth/doppel/internal/twin"
	"github.com/doppelhealth/doppel/model/pkpd"
)

func labObs(id, patient, code, at string, value float64, unit string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","subject":{"reference":"Patient/%s"},"effectiveDateTime":%q,`+
		`"code":{"coding":[{"system":"http://loinc.org","code":%q}]},"valueQuantity":{"value":%v,"unit":%q,"system":"http://unitsofmeasure.org","code":%q}}`,
		id, patient, at, code, value, unit, unit)
}

// drugServer serves the twins' routes over a store holding: p1 (80 kg,
// CrCL 80 mL/min by Cockcroft-Gault, as an Observation), p2 (60 kg, a
// woman born 1950-01-01, serum creatinine 1.2 mg/dL on 2020-01-01), p3
// (a weight only), p4 (a glucose twin with one CGM reading).
func drugServer(t *testing.T) http.Handler {
	t.Helper()
	dir := t.TempDir()
	st, reg := openTestStore(t, dir)
	svc := fhirops.New(st, reg, fhirops.Options{})
	putAll(t, svc,
		`{"resourceType":"Patient","id":"p1"}`,
		`{"resourceType":"Patient","id":"p2","gender":"female","birthDate":"1950-01-01"}`,
		`{"resourceType":"Patient","id":"p3"}`,
		labObs("w1", "p1", "29463-7", "2026-11-01T08:00:00Z", 80, "kg"),
		labObs("c1", "p1", "35591-7", "2026-11-01T08:00:00Z", 80, "mL/min"),
		labObs("w2", "p2", "29463-7", "2020-01-01T08:00:00Z", 60, "kg"),
		labObs("s2", "p2", "2160-0", "2020-01-01T08:00:00Z", 1.2, "mg/dL"),
		labObs("w3", "p3", "29463-7", "2026-11-01T08:00:00Z", 70, "kg"),
	)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	mgr, err := twin.New(twin.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Observe(context.Background(), clinical.Observation{Patient: "p4", Device: "cgm-1", Code: clinical.CodeGlucoseCGM,
		Value: &clinical.Quantity{Value: 140, Unit: "mg/dL"}, Effective: now}); err != nil {
		t.Fatal(err)
	}
	return httpapi.New(nil, svc, st, reg, httpapi.Options{Twins: drugTwins{mgr, svc}})
}

func postWhatIf(t *testing.T, h http.Handler, patient, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/twin/"+patient+"/whatif", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

type drugAnswer struct {
	Branches []twin.Branch `json:"branches"`
}

// TestDrugWhatIf: a vancomycin plan's typical curve is pkpd's prediction
// for the patient's covariates and doses; the do-nothing branch is zero;
// the percentiles bracket the median.
func TestDrugWhatIf(t *testing.T) {
	h := drugServer(t)
	const plan = `{"plans":[{"name":"load then q12h","drug":{"model":"vancomycin-goti2018","horizonH":60,"covariates":{"dialysis":0},
		"doses":[{"amountMg":2000,"infusionH":2},{"amountMg":1000,"infusionH":1,"everyH":12,"count":4,"inMin":720}]}}]}`
	code, body := postWhatIf(t, h, "p1", plan)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var got drugAnswer
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Branches) != 2 || got.Branches[0].Drug == nil || got.Branches[1].Drug == nil {
		t.Fatalf("branches %s, want do nothing and the plan, both with a drug forecast", body)
	}
	fc := got.Branches[1].Drug
	m, err := pkmodel.Library("vancomycin-goti2018")
	if err != nil {
		t.Fatal(err)
	}
	cov := map[string]float64{"crcl": 80, "weight": 80, "dialysis": 0}
	p, err := m.PK.Typical(cov)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := pkpd.RegimenRecords(pkpd.Regimen{Time: 0, Amount: 2000, Infusion: 2, Doses: 1},
		pkpd.Regimen{Time: 12, Amount: 1000, Infusion: 1, Every: 12, Doses: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(fc.TimesH) != 241 || fc.TimesH[0] != 0 || fc.TimesH[240] != 60 {
		t.Fatalf("times %v, want 0 to 60 h every 0.25 h", fc.TimesH)
	}
	want, err := m.PK.Predict(p, recs, fc.TimesH)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(fc.Typical[i]-want[i]) > 1e-9 {
			t.Fatalf("typical at %g h = %.12g mg/L, pkpd predicts %.12g", fc.TimesH[i], fc.Typical[i], want[i])
		}
		if !(fc.P5[i] <= fc.P50[i] && fc.P50[i] <= fc.P95[i]) {
			t.Fatalf("at %g h p5 %g, p50 %g, p95 %g: not ordered", fc.TimesH[i], fc.P5[i], fc.P50[i], fc.P95[i])
		}
	}
	if fc.P95[120] <= fc.P5[120] {
		t.Errorf("at 30 h p5 %g = p95 %g: no between-subject variability", fc.P5[120], fc.P95[120])
	}
	if fc.Covariates["crcl"] != 80 || fc.Sources["crcl"] != "Observation LOINC 35591-7 (latest)" || fc.Sources["dialysis"] != "plan" {
		t.Errorf("covariates %v from %v", fc.Covariates, fc.Sources)
	}
	trough, err := m.PK.Predict(p, recs, []float64{48})
	if err != nil {
		t.Fatal(err)
	}
	if x := fc.Summary.Typical; x.TroughMgL == nil || math.Abs(*x.TroughMgL-trough[0]) > 1e-9 || x.AUC24MgHL == nil {
		t.Errorf("typical summary %+v, want the trough %g mg/L at 48 h and an AUC24", x, trough[0])
	}
	for i, c := range got.Branches[0].Drug.Typical {
		if c != 0 {
			t.Fatalf("do nothing at %g h: %g mg/L, want 0", fc.TimesH[i], c)
		}
	}
	_, again := postWhatIf(t, h, "p1", plan)
	if again != body {
		t.Error("the same plan gave another answer: the simulation is not seeded")
	}
}

// TestDrugWhatIfCockcroftGault: without a CrCL Observation the CrCL is
// computed from serum creatinine, age at the measurement, sex and weight.
func TestDrugWhatIfCockcroftGault(t *testing.T) {
	h := drugServer(t)
	code, body := postWhatIf(t, h, "p2", `{"plans":[{"drug":{"model":"vancomycin-goti2018","horizonH":12,"covariates":{"dialysis":0},"doses":[{"amountMg":1000,"infusionH":1}]}}]}`)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var got drugAnswer
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	// 70 years old (to a day): (140 − 70)·60/(72·1.2)·0.85 mL/min.
	want := (140 - 70) * 60 / (72 * 1.2) * 0.85
	if c := got.Branches[1].Drug.Covariates["crcl"]; math.Abs(c-want) > 0.01 {
		t.Errorf("crcl %g mL/min, want %g", c, want)
	}
}

// TestDrugWhatIfErrors: what the PK engine cannot run is refused with an
// OperationOutcome naming why; glucose plans still reach the glucose twin.
func TestDrugWhatIfErrors(t *testing.T) {
	h := drugServer(t)
	for _, tc := range []struct {
		name, patient, body string
		status              int
		want                string
	}{
		{"missing covariate", "p3", `{"plans":[{"drug":{"model":"vancomycin-goti2018","horizonH":24,"covariates":{"dialysis":0},"doses":[{"amountMg":1000}]}}]}`,
			http.StatusUnprocessableEntity, "needs covariate crcl"},
		{"unknown model", "p1", `{"plans":[{"drug":{"model":"vancomycin-nobody","horizonH":24,"doses":[{"amountMg":1000}]}}]}`,
			http.StatusUnprocessableEntity, `drug.model \"vancomycin-nobody\" is not a library model`},
		{"unknown covariate", "p1", `{"plans":[{"drug":{"model":"vancomycin-goti2018","horizonH":24,"covariates":{"height":170},"doses":[{"amountMg":1000}]}}]}`,
			http.StatusUnprocessableEntity, "drug.covariates.height"},
		{"no doses", "p1", `{"plans":[{"drug":{"model":"vancomycin-goti2018","horizonH":24,"covariates":{"dialysis":0},"doses":[]}}]}`,
			http.StatusUnprocessableEntity, "drug.doses has 0 entries"},
		{"bad interval", "p1", `{"plans":[{"drug":{"model":"vancomycin-goti2018","horizonH":24,"covariates":{"dialysis":0},"doses":[{"amountMg":1000,"count":3}]}}]}`,
			http.StatusUnprocessableEntity, "drug.doses[0].everyH 0"},
		{"infused oral drug", "p1", `{"plans":[{"drug":{"model":"ciclosporin-wilhelm2012","horizonH":24,"doses":[{"amountMg":100,"infusionH":2}]}}]}`,
			http.StatusUnprocessableEntity, "oral model"},
		{"mixed", "p4", `{"plans":[{"bolusU":2},{"drug":{"model":"vancomycin-goti2018","horizonH":24,"doses":[{"amountMg":1000}]}}]}`,
			http.StatusUnprocessableEntity, "mix drug and glucose"},
		{"glucose plan", "p4", `{"plans":[{"name":"bolus","bolusU":2}]}`, http.StatusOK, `"name":"bolus"`},
		{"glucose plan, no twin", "p3", `{"plans":[{"bolusU":2}]}`, http.StatusNotFound, "no glucose twin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := postWhatIf(t, h, tc.patient, tc.body)
			if code != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("status %d, body %s; want %d containing %s", code, body, tc.status, tc.want)
			}
			if code != http.StatusOK && !strings.Contains(body, "OperationOutcome") {
				t.Errorf("body %s is not an OperationOutcome", body)
			}
		})
	}
}

// FuzzDrugRecords: any dose entry gives records or an error, never a
// panic, and the records pkpd accepts.
func FuzzDrugRecords(f *testing.F) {
	f.Add(1000.0, 1.0, 12.0, 4, 0.0)
	f.Add(-1.0, math.NaN(), math.Inf(1), -3, 1e300)
	f.Fuzz(func(t *testing.T, amount, infusion, every float64, count int, inMin float64) {
		recs, _, err := drugRecords(twin.DrugPlan{Doses: []twin.DrugDose{{AmountMg: amount, InfusionH: infusion, EveryH: every, Count: count, InMin: inMin}}})
		if err != nil {
			return
		}
		if _, err := (pkpd.Linear{Peripherals: 1}).NewSchedule(recs, pkpd.Dosing{}, pkpd.ScheduleOptions{}); err != nil {
			t.Errorf("accepted dose %v %v %v %v %v gives records pkpd refuses: %v", amount, infusion, every, count, inMin, err)
		}
	})
}
