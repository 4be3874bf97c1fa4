package fhirpath

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestEvaluate checks the constructs the search parameters use, with the
// expected values read from the example resources by hand.
func TestEvaluate(t *testing.T) {
	obs := loadResource(t, "testdata/examples/Observation-example.json")
	pat := loadResource(t, "testdata/examples/Patient-example.json")
	bp := loadResource(t, "testdata/examples/Observation-blood-pressure.json")
	ref := func(s string) map[string]any { return map[string]any{"reference": s} }
	tests := []struct {
		expr string
		res  map[string]any
		want []Node
	}{
		{"Observation.subject", obs, []Node{{ref("Patient/example"), "Reference"}}},
		{"Observation.subject.where(resolve() is Patient)", obs, []Node{{ref("Patient/example"), "Reference"}}},
		{"Observation.subject.where(resolve() is Group)", obs, nil},
		{"Observation.value.value", obs, []Node{{json.Number("185"), "decimal"}}},
		{"(Observation.value as Quantity).unit", obs, []Node{{"lbs", "string"}}},
		{"Observation.value.as(Quantity).code", obs, []Node{{"[lb_av]", "code"}}},
		{"(Observation.value as string)", obs, nil},
		{"Observation.value is Quantity", obs, []Node{{true, "System.Boolean"}}},
		{"Observation.value.ofType(Quantity).system", obs, []Node{{"http://unitsofmeasure.org", "uri"}}},
		{"Observation.component.value.value", bp, []Node{{json.Number("107"), "decimal"}, {json.Number("60"), "decimal"}}},
		{"Patient.birthDate", pat, []Node{{"1974-12-25", "date"}}},
		{"Patient.deceased", pat, []Node{{false, "boolean"}}},
		{"Patient.deceased.exists() and Patient.deceased != false", pat, []Node{{false, "System.Boolean"}}},
		{"Patient.telecom.where(system='phone').value", pat, []Node{{"(03) 5555 6473", "string"}, {"(03) 3410 5613", "string"}, {"(03) 5555 8834", "string"}}},
		{"Patient.name.given.first()", pat, []Node{{"Peter", "string"}}},
		{"Patient.name[1].use", pat, []Node{{"usual", "code"}}},
		{"Patient.gender | Patient.active", pat, []Node{{"male", "code"}, {true, "boolean"}}},
		{"Resource.id", pat, []Node{{"example", "string"}}},
		{"Observation.id", pat, nil},
	}
	for _, tt := range tests {
		e, err := Compile(tt.expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.expr, err)
			continue
		}
		got, err := e.Evaluate(tt.res)
		if err != nil {
			t.Errorf("%q: %v", tt.expr, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.expr, diff)
		}
	}
}

func TestResolve(t *testing.T) {
	res := map[string]any{
		"resourceType": "Observation",
		"contained":    []any{map[string]any{"resourceType": "Patient", "id": "p1"}},
		"performer": []any{
			map[string]any{"reference": "#p1"},
			map[string]any{"reference": "http://example.org/fhir/Practitioner/7/_history/2"},
			map[string]any{"reference": "Organization/o"},
			map[string]any{"identifier": map[string]any{"value": "x"}},
		},
	}
	tests := []struct {
		expr string
		want int
	}{
		{"Observation.performer.where(resolve() is Patient)", 1},
		{"Observation.performer.where(resolve() is Practitioner)", 1},
		{"Observation.performer.where(resolve() is Organization)", 1},
		{"Observation.performer.where(resolve() is Location)", 0},
		{"Observation.performer.resolve()", 3},
	}
	for _, tt := range tests {
		e, err := Compile(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Evaluate(res)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.want {
			t.Errorf("%q: %d nodes, want %d: %v", tt.expr, len(got), tt.want, got)
		}
	}
}

func TestEvaluateAt(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600))
	tests := map[string]string{
		"now()":       "2026-03-04T05:06:07.000+01:00",
		"today()":     "2026-03-04",
		"timeOfDay()": "05:06:07.000",
	}
	for src, want := range tests {
		e, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.EvaluateAt(nil, now)
		if err != nil || len(got) != 1 || got[0].Value != want {
			t.Errorf("%s = %v, %v; want %s", src, got, err, want)
		}
	}
}
