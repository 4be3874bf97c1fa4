package fhirops_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

// Two CGM samples of a time series and one stored Observation between
// them: a search of the patient's CGM Observations finds all three, by
// date; the samples' Observations have ids that read them back.
func ExampleService_Search_samples() {
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
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	_, err = st.AppendSamples(ctx, []store.Sample{
		{Patient: "p1", Code: "99504-3", Device: "cgm-1", Time: t0, Value: 110, Unit: "mg/dL"},
		{Patient: "p1", Code: "99504-3", Device: "cgm-1", Time: t0.Add(10 * time.Minute), Value: 118, Unit: "mg/dL"},
	})
	if err != nil {
		log.Fatal(err)
	}
	svc := fhirops.New(st, reg, fhirops.Options{Series: st, NewID: func() string { return "lab-1" }})
	_, err = svc.Create(ctx, "Observation", []byte(`{"resourceType":"Observation","status":"final",
	  "code":{"coding":[{"system":"http://loinc.org","code":"99504-3"}]},"subject":{"reference":"Patient/p1"},
	  "effectiveDateTime":"2026-03-01T08:05:00Z","valueQuantity":{"value":115,"unit":"mg/dL"}}`), "")
	if err != nil {
		log.Fatal(err)
	}
	b, err := svc.Search(ctx, "Observation", url.Values{"patient": {"p1"}, "code": {"http://loinc.org|99504-3"}}, true, "")
	if err != nil {
		log.Fatal(err)
	}
	var bundle struct {
		Total int
		Entry []struct {
			Resource struct {
				ID        string
				Effective string                  `json:"effectiveDateTime"`
				Value     struct{ Value float64 } `json:"valueQuantity"`
			}
		}
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		log.Fatal(err)
	}
	fmt.Println("total", bundle.Total)
	for _, e := range bundle.Entry {
		r := e.Resource
		_, err := svc.Read(ctx, "Observation", r.ID)
		fmt.Println(r.ID, r.Effective, r.Value.Value, "read back:", err == nil)
	}
	// Output:
	// total 3
	// ts-1-dgrackjffnk0 2026-03-01T08:00:00Z 110 read back: true
	// lab-1 2026-03-01T08:05:00Z 115 read back: true
	// ts-1-dgrak86bxyio 2026-03-01T08:10:00Z 118 read back: true
}
