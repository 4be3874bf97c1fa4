package fhir_test

import (
	"fmt"

	"github.com/doppelhealth/doppel/internal/fhir"
)

func Example() {
	data := []byte(`{
  "resourceType": "Observation",
  "id": "hr-1",
  "status": "final",
  "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
  "subject": {"reference": "Encounter/e1"},
  "valueQuantity": {"value": 72.50, "unit": "/min"},
  "_status": {"extension": [{"url": "http://example.org/note", "valueString": "kept"}]}
}`)
	r, err := fhir.Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := r.MarshalJSON()
	fmt.Println(string(out))

	if err := fhir.Validate(r); err != nil {
		fmt.Println(err)
		fmt.Println(string(fhir.OperationOutcome(err.(*fhir.Error).Issues...)))
	}

	var obs fhir.Observation
	if err := r.Decode(&obs); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(obs.Code.Has("http://loinc.org", "8867-4"), obs.ValueQuantity.Value, obs.ValueQuantity.Unit)
	// Output:
	// {"resourceType":"Observation","_status":{"extension":[{"url":"http://example.org/note","valueString":"kept"}]},"code":{"coding":[{"code":"8867-4","system":"http://loinc.org"}]},"id":"hr-1","status":"final","subject":{"reference":"Encounter/e1"},"valueQuantity":{"unit":"/min","value":72.50}}
	// fhir: Observation.subject.reference: a reference to Encounter is not allowed here (allowed: Patient, Group, Device, Location)
	// {"resourceType":"OperationOutcome","issue":[{"code":"value","diagnostics":"a reference to Encounter is not allowed here (allowed: Patient, Group, Device, Location)","expression":["Observation.subject.reference"],"severity":"error"}]}
	// true 72.50 /min
}

func ExampleApplyJSONPatch() {
	doc := []byte(`{"resourceType":"Patient","id":"p1","active":false,"name":[{"family":"Chalmers"}]}`)
	patch := []byte(`[
  {"op": "test", "path": "/active", "value": false},
  {"op": "replace", "path": "/active", "value": true},
  {"op": "add", "path": "/name/0/given", "value": ["Peter"]}
]`)
	out, err := fhir.ApplyJSONPatch(doc, patch)
	fmt.Println(string(out), err)
	// Output:
	// {"resourceType":"Patient","active":true,"id":"p1","name":[{"family":"Chalmers","given":["Peter"]}]} <nil>
}
