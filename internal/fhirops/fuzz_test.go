package fhirops_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzTransaction checks that any input to Transaction gives either a
// valid response Bundle or an *fhir.Error with a 4xx status: no panic, and
// no internal error for bad input. Seeds: the Synthea Bundles of testdata
// and small Bundles of every entry kind.
func FuzzTransaction(f *testing.F) {
	files, _ := filepath.Glob("testdata/synthea/*.json")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient?name=x"}},{"request":{"method":"DELETE","url":"Patient/p1"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"p1"},"request":{"method":"PUT","url":"Patient/p1"}},` +
			`{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:1"}},"request":{"method":"POST","url":"Observation","ifNoneExist":"code=x"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"W10="},"request":{"method":"PATCH","url":"Patient/p1"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient?identifier=a|b"}},"request":{"method":"POST","url":"Encounter"}}]}`,
	} {
		f.Add([]byte(seed))
	}
	s := newService(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, err := s.Transaction(ctx, data, "http://x/fhir")
		if err != nil {
			if st := status(err); st < 400 || st > 499 {
				t.Fatalf("status %d: %v", st, err)
			}
			return
		}
		var b struct{ Type string }
		if err := json.Unmarshal(resp, &b); err != nil || (b.Type != "transaction-response" && b.Type != "batch-response") {
			t.Fatalf("response %.200s: %v", resp, err)
		}
	})
}
