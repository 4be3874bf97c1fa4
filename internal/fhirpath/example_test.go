package fhirpath_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/doppelhealth/doppel/internal/fhirpath"
)

func Example() {
	d := json.NewDecoder(strings.NewReader(`{
		"resourceType": "Observation",
		"status": "final",
		"subject": {"reference": "Patient/p1"},
		"valueQuantity": {"value": 72.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}
	}`))
	d.UseNumber()
	var obs map[string]any
	if err := d.Decode(&obs); err != nil {
		panic(err)
	}
	for _, src := range []string{
		"Observation.subject.where(resolve() is Patient)",
		"(Observation.value as Quantity).value",
		"Observation.value",
	} {
		e, err := fhirpath.Compile(src)
		if err != nil {
			panic(err)
		}
		nodes, err := e.Evaluate(obs)
		if err != nil {
			panic(err)
		}
		for _, n := range nodes {
			fmt.Printf("%s: %v (%s)\n", src, n.Value, n.Type)
		}
	}
	// Output:
	// Observation.subject.where(resolve() is Patient): map[reference:Patient/p1] (Reference)
	// (Observation.value as Quantity).value: 72.5 (decimal)
	// Observation.value: map[code:kg system:http://unitsofmeasure.org unit:kg value:72.5] (Quantity)
}
