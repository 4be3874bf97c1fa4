package fhirops_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

// BenchmarkSearchSamples: the first page (20) of a patient's CGM
// Observations when the patient has 30 or 365 days of 5-minute CGM
// samples and 20 stored CGM Observations: every sample in range is read
// and counted (for the total) on each page; date narrows that.
func BenchmarkSearchSamples(b *testing.B) {
	for _, days := range []int{30, 365} {
		b.Run(fmt.Sprintf("days=%d", days), func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "fhir.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			for d := range days {
				var ss []store.Sample
				for i := range 288 {
					ss = append(ss, store.Sample{Patient: "p1", Code: "99504-3", Device: "cgm-1", Time: t0.Add(time.Duration(d*288+i) * 5 * time.Minute), Value: float64(100 + i%50), Unit: "mg/dL"})
				}
				if _, err := st.AppendSamples(ctx, ss); err != nil {
					b.Fatal(err)
				}
			}
			svc := fhirops.New(st, registry(b), fhirops.Options{Series: st})
			for i := range 20 {
				body := fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"99504-3"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"%s","valueQuantity":{"value":100,"unit":"mg/dL"}}`,
					t0.Add(time.Duration(i)*time.Hour+time.Minute).Format(time.RFC3339))
				if _, err := svc.Create(ctx, "Observation", []byte(body), ""); err != nil {
					b.Fatal(err)
				}
			}
			for _, q := range []string{"patient=p1&code=99504-3", "patient=p1&code=99504-3&date=ge2025-01-01&date=lt2025-01-02"} {
				vals, _ := url.ParseQuery(q)
				b.Run(q, func(b *testing.B) {
					for b.Loop() {
						if _, err := svc.Search(ctx, "Observation", vals, true, ""); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
