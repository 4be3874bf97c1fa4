package fhirops_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/fhirops"
)

// TestTransactionStale checks a transaction whose conditional parts are
// resolved before the write, on the committed data, when that data
// changes before the write: here a Patient matching the Bundle's
// conditional create is stored between the create's search and the write
// (by the second id request, which comes after that search). The write
// must see it, as R4's ifNoneExist says: 200 with the stored Patient, and
// no second Patient.
func TestTransactionStale(t *testing.T) {
	var s sv
	n := 0
	s = sv{newService(t, func(o *fhirops.Options) {
		o.NewID = func() string {
			n++
			if n == 2 {
				s.mustUpdate(t, "Patient", "late", `{"resourceType":"Patient","id":"late","identifier":[{"system":"http://x","value":"k"}]}`)
			}
			return fmt.Sprintf("id%d", n)
		}
	})}
	resp, err := s.transaction(t, `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:0b0e0001-0000-4000-8000-00000000000a","resource":{"resourceType":"Patient","identifier":[{"system":"http://x","value":"k"}]},
	  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=http://x|k"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:0b0e0001-0000-4000-8000-00000000000a"}},
	  "request":{"method":"POST","url":"Observation"}}
	]}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range resp.Entry {
		got = append(got, e.Response.Status+" "+e.Response.Location)
	}
	// Ids 1 and 2 went to the prepare before the write, id 3 to the
	// Observation in the write.
	want := []string{"200 OK Patient/late/_history/1", "201 Created Observation/id3/_history/1"}
	if !cmp.Equal(got, want) {
		t.Errorf("response %q, want %q", got, want)
	}
	if ref := refOf(s.mustRead(t, "Observation", "id3"), "subject"); ref != "Patient/late" {
		t.Errorf("subject %q, want Patient/late", ref)
	}
	if _, err := s.Read(t.Context(), "Patient", "id1"); status(err) != 404 {
		t.Errorf("read Patient/id1: %v, want 404 (not created)", err)
	}
}
