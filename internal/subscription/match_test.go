package subscription

import (
	"net/url"
	"testing"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// TestMayMatch: the index pre-check never refuses a version the filter's
// search would match, and refuses the plain misses.
func TestMayMatch(t *testing.T) {
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"resourceType":"Observation","id":"o1","status":"final",
	  "code":{"coding":[{"system":"http://loinc.org","code":"99504-3"}]},
	  "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-11-25T10:00:00Z"}`)
	r, err := fhir.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	index, err := reg.Extract(r.Type, r.Tree)
	if err != nil {
		t.Fatal(err)
	}
	v := store.Version{Type: "Observation", ID: "o1", Body: body, Index: index}
	for _, c := range []struct {
		filter string
		want   bool
	}{
		{"patient=Patient/p1", true},
		{"patient=p1", true},
		{"subject=Patient/p1", true},
		{"patient=Patient/p2", false},
		{"patient=Patient/p2,Patient/p1", true},
		{"patient=Patient/p1&patient=Patient/p2", false}, // ANDed
		{"code=http://loinc.org|99504-3", true},
		{"code=99504-3", true},
		{"code=|99504-3", true},
		{"code=8867-4", false},
		{"code=8867-4,99504-3", true},
		{"status=final", true},
		{"status=amended", false},
		{"patient=Patient/p1&code=8867-4", false},
		{"subject:Patient=p2", true},                    // a modifier: left to the search
		{"patient=https://x.org/fhir/Patient/p2", true}, // a URL: left to the search
		{"date=ge2026-01-01", true},                     // not a reference or token
		{"code:text=glucose", true},
	} {
		f, err := url.ParseQuery(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := mayMatch(reg, f, v); got != c.want {
			t.Errorf("%s: %v, want %v", c.filter, got, c.want)
		}
	}
}
