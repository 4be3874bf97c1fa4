package fhirobs_test

import (
	"fmt"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/clinical/fhirobs"
)

func ExampleResource() {
	o := clinical.Observation{Patient: "p1", Device: "oxi-1", Code: clinical.CodeSpO2, Value: &clinical.Quantity{Value: 97, Unit: "%"}, Effective: at}
	typ, b, err := fhirobs.Resource(o, fhirobs.Meta{})
	fmt.Println(typ, err)
	fmt.Println(string(b))
	// Output:
	// Observation <nil>
	// {"resourceType":"Observation","identifier":[{"system":"urn:doppel:device-observation","value":"320419153d2e61ef36bd33dda94f6c73"}],"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"59408-5","display":"Oxygen saturation in Arterial blood by Pulse oximetry"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-11-25T10:05:00Z","device":{"reference":"Device/oxi-1"},"valueQuantity":{"value":97,"unit":"%","system":"http://unitsofmeasure.org","code":"%"}}
}
