package fhirobs_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/clinical/fhirobs"
	"github.com/google/go-cmp/cmp"
)

var at = time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC)

func TestResource(t *testing.T) {
	cgm := clinical.Observation{Patient: "p1", Device: "d1", Code: clinical.CodeGlucoseCGM, Value: &clinical.Quantity{Value: 104, Unit: "mg/dL"}, Effective: at}
	hr := clinical.Observation{Patient: "p1", Code: clinical.CodeHeartRate, Value: &clinical.Quantity{Value: 61.5, Unit: "/min"}, Effective: at}
	ins := clinical.Observation{Patient: "p1", Device: "pen", Code: clinical.CodeInsulin, Effective: at}
	tests := []struct {
		name     string
		o        clinical.Observation
		m        fhirobs.Meta
		wantType string
		want     string // JSON, compared as a value
		wantErr  string
	}{
		{"cgm, stored", cgm, fhirobs.Meta{}, "Observation", `{"resourceType":"Observation",
			"identifier":[{"system":"urn:doppel:device-observation","value":"` + fhirobs.Identifier(cgm) + `"}],
			"status":"final",
			"code":{"coding":[{"system":"http://loinc.org","code":"99504-3","display":"Glucose [Mass/volume] in Interstitial fluid"}]},
			"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-11-25T10:05:00Z","device":{"reference":"Device/d1"},
			"valueQuantity":{"value":104,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}}`, ""},
		{"heart rate, made on the fly, no device", hr, fhirobs.Meta{ID: "x", LastUpdated: at.Add(time.Second)}, "Observation", `{"resourceType":"Observation","id":"x",
			"meta":{"versionId":"1","lastUpdated":"2026-11-25T10:05:01Z"},
			"identifier":[{"system":"urn:doppel:device-observation","value":"` + fhirobs.Identifier(hr) + `"}],
			"status":"final",
			"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
			"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},
			"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-11-25T10:05:00Z",
			"valueQuantity":{"value":61.5,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`, ""},
		{"insulin without a dose", ins, fhirobs.Meta{}, "", "", "insulin dose without a value"},
		{"unknown code", clinical.Observation{Code: "0000-0"}, fhirobs.Meta{}, "", "", `unknown code "0000-0"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, b, err := fhirobs.Resource(tc.o, tc.m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || typ != tc.wantType {
				t.Fatalf("type %q, err %v; want %q", typ, err, tc.wantType)
			}
			var got, want any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIdentifier(t *testing.T) {
	a := clinical.Observation{Device: "d1", Code: clinical.CodeGlucoseCGM, Effective: at, Value: &clinical.Quantity{Value: 1}}
	b := a
	b.Value = &clinical.Quantity{Value: 2} // a re-sent reading with another value
	c := a
	c.Effective = at.Add(time.Nanosecond)
	if fhirobs.Identifier(a) != fhirobs.Identifier(b) {
		t.Error("the identifier depends on the value; want only device, code and time")
	}
	if fhirobs.Identifier(a) == fhirobs.Identifier(c) {
		t.Error("two times give one identifier")
	}
	if len(fhirobs.Identifier(a)) != 32 {
		t.Errorf("identifier %q: want 32 hex digits", fhirobs.Identifier(a))
	}
}

func TestProvenance(t *testing.T) {
	r := fhirobs.Record{ID: "prov-1", Agent: "cgm-1", Targets: []string{"Observation/tsd-1-k"}, Start: at, End: at.Add(time.Hour), Recorded: at.Add(time.Minute), Message: "abc"}
	b, err := fhirobs.Provenance(r)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	json.Unmarshal(b, &got)
	json.Unmarshal([]byte(`{"resourceType":"Provenance","id":"prov-1","target":[{"reference":"Observation/tsd-1-k"}],
		"occurredPeriod":{"start":"2026-11-25T10:05:00Z","end":"2026-11-25T11:05:00Z"},"recorded":"2026-11-25T10:06:00Z",
		"agent":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/provenance-participant-type","code":"performer","display":"Performer"}]},"who":{"reference":"Device/cgm-1"}}],
		"entity":[{"role":"source","what":{"identifier":{"system":"urn:doppel:device-observation","value":"abc"}}}]}`), &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []fhirobs.Record{{Targets: r.Targets}, {Agent: "x"}} {
		if _, err := fhirobs.Provenance(bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
