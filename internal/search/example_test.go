package search_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/doppelhealth/doppel/internal/search"
)

func ExampleRegistry_Extract() {
	r, err := search.NewRegistry()
	if err != nil {
		panic(err)
	}
	d := json.NewDecoder(strings.NewReader(`{"resourceType": "Observation", "id": "bp1", "status": "final",
		"code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
		"subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2024-03-01T08:30:00+01:00",
		"valueQuantity": {"value": 72, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min"}}`))
	d.UseNumber() // numbers as json.Number, as internal/fhir parses them
	var tree map[string]any
	if err := d.Decode(&tree); err != nil {
		panic(err)
	}
	entries, err := r.Extract("Observation", tree)
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		switch e.Type {
		case search.Token:
			fmt.Printf("%s %s: %s|%s %q\n", e.Type, e.Param, e.System, e.Code, e.Text)
		case search.Reference:
			fmt.Printf("%s %s: %s/%s\n", e.Type, e.Param, e.RefType, e.RefID)
		case search.Date:
			fmt.Printf("%s %s: [%.0f, %.0f]\n", e.Type, e.Param, e.Lo, e.Hi)
		case search.Quantity:
			fmt.Printf("%s %s: %g %s|%s\n", e.Type, e.Param, e.Num, e.System, e.Code)
		}
	}
	// Output:
	// token _id: |bp1 ""
	// token code: http://loinc.org|8867-4 "Heart rate"
	// token combo-code: http://loinc.org|8867-4 "Heart rate"
	// quantity combo-value-quantity: 72 http://unitsofmeasure.org|/min
	// date date: [1709278200000, 1709278200999]
	// reference patient: Patient/p1
	// token status: |final ""
	// reference subject: Patient/p1
	// quantity value-quantity: 72 http://unitsofmeasure.org|/min
}

func ExampleRegistry_ParseQuery() {
	r, err := search.NewRegistry()
	if err != nil {
		panic(err)
	}
	vals, _ := url.ParseQuery("subject=Patient/123&code=http://loinc.org|8302-2&date=ge2013-01&_count=500")
	q, issues, err := r.ParseQuery("Observation", vals, true, search.Limits{DefaultCount: 20, MaxCount: 100})
	if err != nil {
		panic(err)
	}
	for _, c := range q.Clauses {
		v := c.Values[0]
		fmt.Printf("%s (%s): %s system=%q code=%q ref=%s/%s range=[%.0f, %.0f]\n", c.Param, c.Type, v.Prefix, v.System, v.Code, v.RefType, v.RefID, v.Lo, v.Hi)
	}
	fmt.Println("count:", q.Count)
	fmt.Println("issue:", issues[0])
	fmt.Println("next:", q.Encode().Encode())
	// Output:
	// code (token): eq system="http://loinc.org" code="8302-2" ref=/ range=[0, 0]
	// date (date): ge system="" code="" ref=/ range=[1356998400000, 1359676799999]
	// subject (reference): eq system="" code="" ref=Patient/123 range=[0, 0]
	// count: 100
	// issue: parameter "_count" value "500": page size lowered to the maximum 100
	// next: _count=100&code=http%3A%2F%2Floinc.org%7C8302-2&date=ge2013-01&subject=Patient%2F123
}
