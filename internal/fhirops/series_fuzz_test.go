package fhirops_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// FuzzSampleIDs checks the decoders of the ids of Observations made from
// samples: any id read, and any _after of a merged search, gives an
// Observation that reads back under the same id or an *fhir.Error with a
// 4xx status; no panic, no internal error.
func FuzzSampleIDs(f *testing.F) {
	svc, _ := seriesService(f)
	for _, seed := range []string{"ts-1-czhyzd7dt6o0", "ts-2-czhz1a43xreo", "tsd-1-jq2", "ts-1--1", "tsd-1--zz", "ts-zzzzzzzzzzzzz-1", "ts-0-0", "ts--1-1", "obs1"} {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, id string) {
		v, err := svc.Read(ctx, "Observation", id)
		switch st := status(err); {
		case err == nil && v.ID != id:
			t.Fatalf("read %q: got id %q", id, v.ID)
		case err == nil && !strings.Contains(string(v.Body), `"id":"`+id+`"`):
			t.Fatalf("read %q: body %s", id, v.Body)
		case err != nil && (st < 400 || st > 499):
			t.Fatalf("read %q: status %d: %v", id, st, err)
		}
		_, err = svc.Search(ctx, "Observation", url.Values{"patient": {"p1"}, "_after": {id}}, true, "")
		if st := status(err); err != nil && (st < 400 || st > 499) {
			t.Fatalf("_after=%q: status %d: %v", id, st, err)
		}
	})
}
