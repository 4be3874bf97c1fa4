package fhirops_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"

	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

// A transaction creates a Patient and an Observation that refers to it by
// its urn:uuid; the search then finds the Observation by the Patient's
// server-assigned id.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "fhirops-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "fhir.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	reg, err := search.NewRegistry()
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	svc := fhirops.New(st, reg, fhirops.Options{NewID: func() string { n++; return fmt.Sprint("ex", n) }})

	resp, err := svc.Transaction(ctx, []byte(`{"resourceType":"Bundle","type":"transaction","entry":[
	  {"fullUrl":"urn:uuid:4c1ee1d6-2b5b-4c1e-9e6f-0d7e0c1a0001","resource":{"resourceType":"Patient","name":[{"family":"Example"}]},
	   "request":{"method":"POST","url":"Patient"}},
	  {"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
	   "subject":{"reference":"urn:uuid:4c1ee1d6-2b5b-4c1e-9e6f-0d7e0c1a0001"},"valueQuantity":{"value":72,"unit":"/min"}},
	   "request":{"method":"POST","url":"Observation"}}]}`), "")
	if err != nil {
		log.Fatal(err)
	}
	var tr struct {
		Entry []struct {
			Response struct{ Status, Location string }
		}
	}
	json.Unmarshal(resp, &tr)
	for _, e := range tr.Entry {
		fmt.Println(e.Response.Status, e.Response.Location)
	}

	bundle, err := svc.Search(ctx, "Observation", url.Values{"patient": {"Patient/ex1"}, "code": {"http://loinc.org|8867-4"}}, true, "http://localhost/fhir")
	if err != nil {
		log.Fatal(err)
	}
	var sb struct {
		Total int
		Entry []struct {
			FullURL  string
			Resource struct{ Subject struct{ Reference string } }
		}
	}
	json.Unmarshal(bundle, &sb)
	fmt.Println(sb.Total, sb.Entry[0].FullURL, sb.Entry[0].Resource.Subject.Reference)
	// Output:
	// 201 Created Patient/ex1/_history/1
	// 201 Created Observation/ex2/_history/1
	// 1 http://localhost/fhir/Observation/ex2 Patient/ex1
}
