package census_test

import (
	"context"
	"fmt"
	"time"

	"github.com/doppelhealth/doppel/internal/census"
)

// The census of a ward and an ED at noon: one patient on the ward since
// noon yesterday, one in the ED for half an hour. memSource stands in for
// the store (census.NewStoreSource over a store.Reader in the product).
func Example() {
	src := memSource{
		"Location": {
			[]byte(`{"resourceType":"Location","id":"ed","type":[{"coding":[{"code":"ER"}]}]}`),
			[]byte(`{"resourceType":"Location","id":"w1","name":"Ward 1"}`),
		},
		"Encounter": {
			[]byte(`{"resourceType":"Encounter","id":"a","status":"in-progress","location":[{"location":{"reference":"Location/w1"},"status":"active","period":{"start":"2026-03-01T12:00:00Z"}}]}`),
			[]byte(`{"resourceType":"Encounter","id":"b","status":"arrived","period":{"start":"2026-03-02T11:30:00Z"},"location":[{"location":{"reference":"Location/ed"}}]}`),
		},
	}
	m := census.Mapping{
		ED:    census.Match{Types: []string{"ER"}},
		Units: map[string]census.Match{"ward": {Locations: []string{"Location/w1"}}},
	}
	ctx := context.Background()
	r, err := census.NewResolver(ctx, src, []string{"ward"}, m)
	if err != nil {
		fmt.Println(err)
		return
	}
	st, rep, err := r.Build(ctx, src, time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("inpatients %+v\nED %+v\n%d of %d Encounters in the census\n", st.Inpatients, st.InTreatment, rep.Used, rep.Encounters)
	// Output:
	// inpatients [{Unit:0 Elapsed:24}]
	// ED [{Elapsed:0.5 Decided:false Dest:0}]
	// 2 of 2 Encounters in the census
}
