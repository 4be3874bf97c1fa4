package census_test

import (
	"context"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/census"
)

// FuzzBuild: any stored Encounter JSON gives a census or an error, never
// a panic, and a census the hospital model accepts.
func FuzzBuild(f *testing.F) {
	z := time.Time{}
	f.Add(encounterJSON("e1", "in-progress", "IMP", hoursBefore(50), z, loc{ref: "Location/w1", status: "active", start: hoursBefore(48)}))
	f.Add(encounterJSON("e2", "arrived", "EMER", hoursBefore(1), z, loc{ref: "Location/ed"}))
	f.Add(encounterJSON("e3", "finished", "IMP", hoursBefore(9), hoursBefore(1), loc{ref: "Location/icu", status: "completed", start: hoursBefore(9)}))
	f.Add([]byte(`{"resourceType":"Encounter","id":"x","status":"in-progress","location":[{"location":{"reference":"w1-b1"},"period":{"start":"2026"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := context.Background()
		src := memSource{"Location": hospitalLocations(), "Encounter": [][]byte{body}}
		r, err := census.NewResolver(ctx, src, units, mapping)
		if err != nil {
			t.Fatal(err)
		}
		st, _, err := r.Build(ctx, src, at)
		if err != nil {
			return
		}
		for _, p := range st.Inpatients {
			if p.Unit < 0 || p.Unit >= len(units) || !(p.Elapsed >= 0) {
				t.Fatalf("bad inpatient %+v", p)
			}
		}
		for _, p := range st.InTreatment {
			if !(p.Elapsed >= 0) {
				t.Fatalf("bad ED patient %+v", p)
			}
		}
	})
}
