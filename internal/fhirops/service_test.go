package fhirops_test

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/fhirops"
)

const patientDoe = `{"resourceType":"Patient","id":"ignored","identifier":[{"system":"http://x","value":"1"}],"name":[{"family":"Doe"}]}`

func TestCreateRead(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	o, err := s.Create(ctx, "Patient", []byte(patientDoe), "")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != 201 || !o.Created || o.Location != "Patient/id1/_history/1" {
		t.Errorf("create: status %d created %v location %q; want 201 true Patient/id1/_history/1", o.Status, o.Created, o.Location)
	}
	// The server id replaces the body's; meta is set (R4 http.html §3.1.0.8.1).
	want := map[string]any{
		"resourceType": "Patient", "id": "id1",
		"meta":       map[string]any{"versionId": "1", "lastUpdated": "2026-01-02T03:04:06.000Z"},
		"identifier": []any{map[string]any{"system": "http://x", "value": "1"}},
		"name":       []any{map[string]any{"family": "Doe"}},
	}
	if d := cmp.Diff(want, tree(t, o.Version.Body)); d != "" {
		t.Errorf("created body (-want +got):\n%s", d)
	}
	v, err := s.Read(ctx, "Patient", "id1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, tree(t, v.Body)); d != "" {
		t.Errorf("read body (-want +got):\n%s", d)
	}
	if v.VersionID != 1 || v.LastUpdated != t0.Add(1e9) {
		t.Errorf("read version %d at %v", v.VersionID, v.LastUpdated)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		do   func(s sv) error
		want int
	}{
		{"create malformed JSON", func(s sv) error { _, err := s.Create(ctx, "Patient", []byte(`{"resourceType":`), ""); return err }, 400},
		{"create wrong type", func(s sv) error {
			_, err := s.Create(ctx, "Observation", []byte(patientDoe), "")
			return err
		}, 400},
		{"create unknown type", func(s sv) error { _, err := s.Create(ctx, "Nope", []byte(patientDoe), ""); return err }, 404},
		{"create invalid", func(s sv) error {
			_, err := s.Create(ctx, "Patient", []byte(`{"resourceType":"Patient","gender":1}`), "")
			return err
		}, 400},
		{"read missing", func(s sv) error { _, err := s.Read(ctx, "Patient", "nope"); return err }, 404},
		{"read deleted", func(s sv) error { _, err := s.Read(ctx, "Patient", "gone"); return err }, 410},
		{"vread missing version", func(s sv) error { _, err := s.VRead(ctx, "Patient", "p1", "9"); return err }, 404},
		{"vread bad version", func(s sv) error { _, err := s.VRead(ctx, "Patient", "p1", "x"); return err }, 404},
		{"vread deletion", func(s sv) error { _, err := s.VRead(ctx, "Patient", "gone", "2"); return err }, 410},
		{"update id mismatch", func(s sv) error {
			_, err := s.Update(ctx, "Patient", "p1", []byte(`{"resourceType":"Patient","id":"p2"}`), "")
			return err
		}, 400},
		{"update without id", func(s sv) error {
			_, err := s.Update(ctx, "Patient", "p1", []byte(`{"resourceType":"Patient"}`), "")
			return err
		}, 400},
		{"update stale If-Match", func(s sv) error {
			_, err := s.Update(ctx, "Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1"}`), `W/"2"`)
			return err
		}, 412},
		{"update bad If-Match", func(s sv) error {
			_, err := s.Update(ctx, "Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1"}`), `3`)
			return err
		}, 400},
		{"If-Match on a missing resource", func(s sv) error {
			_, err := s.Update(ctx, "Patient", "p9", []byte(`{"resourceType":"Patient","id":"p9"}`), `W/"1"`)
			return err
		}, 412},
		{"patch missing", func(s sv) error {
			_, err := s.Patch(ctx, "Patient", "nope", []byte(`[]`), "")
			return err
		}, 404},
		{"patch malformed", func(s sv) error {
			_, err := s.Patch(ctx, "Patient", "p1", []byte(`[{"op":"jump"}]`), "")
			return err
		}, 400},
		{"patch makes it invalid", func(s sv) error {
			_, err := s.Patch(ctx, "Patient", "p1", []byte(`[{"op":"add","path":"/gender","value":7}]`), "")
			return err
		}, 400},
		{"patch changes the id", func(s sv) error {
			_, err := s.Patch(ctx, "Patient", "p1", []byte(`[{"op":"replace","path":"/id","value":"p2"}]`), "")
			return err
		}, 400},
		{"conditional create, two matches", func(s sv) error {
			_, err := s.Create(ctx, "Patient", []byte(patientDoe), "family=twin")
			return err
		}, 412},
		{"conditional create, bad query", func(s sv) error {
			_, err := s.Create(ctx, "Patient", []byte(patientDoe), "nonsense=1")
			return err
		}, 400},
		{"conditional update, two matches", func(s sv) error {
			_, err := s.ConditionalUpdate(ctx, "Patient", url.Values{"family": {"twin"}}, []byte(`{"resourceType":"Patient"}`))
			return err
		}, 412},
		{"conditional update, other id", func(s sv) error {
			_, err := s.ConditionalUpdate(ctx, "Patient", url.Values{"_id": {"p1"}}, []byte(`{"resourceType":"Patient","id":"p3"}`))
			return err
		}, 400},
		{"history of a missing resource", func(s sv) error { _, err := s.History(ctx, "Patient", "nope", nil, ""); return err }, 404},
		{"search unknown parameter (strict)", func(s sv) error {
			_, err := s.Search(ctx, "Patient", url.Values{"nope": {"1"}}, true, "")
			return err
		}, 400},
		{"search bad date", func(s sv) error {
			_, err := s.Search(ctx, "Patient", url.Values{"birthdate": {"yesterday"}}, false, "")
			return err
		}, 400},
		{"everything of a missing patient", func(s sv) error { _, err := s.Everything(ctx, "nope", nil, ""); return err }, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sv{newService(t)}
			s.mustUpdate(t, "Patient", "p1", `{"resourceType":"Patient","id":"p1"}`)
			s.mustUpdate(t, "Patient", "gone", `{"resourceType":"Patient","id":"gone"}`)
			s.mustUpdate(t, "Patient", "t1", `{"resourceType":"Patient","id":"t1","name":[{"family":"Twin"}]}`)
			s.mustUpdate(t, "Patient", "t2", `{"resourceType":"Patient","id":"t2","name":[{"family":"Twin"}]}`)
			if _, err := s.Delete(ctx, "Patient", "gone"); err != nil {
				t.Fatal(err)
			}
			err := tc.do(s)
			if got := status(err); got != tc.want {
				t.Errorf("status %d (%v), want %d", got, err, tc.want)
			}
		})
	}
}

func TestUpdatePatchDelete(t *testing.T) {
	s := sv{newService(t)}
	ctx := context.Background()
	// Update as create.
	o, err := s.Update(ctx, "Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1","active":true}`), "")
	if err != nil || o.Status != 201 || !o.Created || o.Version.VersionID != 1 {
		t.Fatalf("update as create: %+v, %v", o, err)
	}
	o, err = s.Update(ctx, "Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1","active":false}`), `W/"1"`)
	if err != nil || o.Status != 200 || o.Created || o.Location != "Patient/p1/_history/2" {
		t.Fatalf("update: %+v, %v", o, err)
	}
	o, err = s.Patch(ctx, "Patient", "p1", []byte(`[{"op":"replace","path":"/active","value":true},{"op":"add","path":"/gender","value":"other"}]`), `W/"2"`)
	if err != nil || o.Status != 200 || o.Version.VersionID != 3 {
		t.Fatalf("patch: %+v, %v", o, err)
	}
	got := tree(t, o.Version.Body)
	if got["active"] != true || got["gender"] != "other" || got["meta"].(map[string]any)["versionId"] != "3" {
		t.Errorf("patched body %v", got)
	}
	// Every version stays readable.
	for vid, active := range map[string]bool{"1": true, "2": false, "3": true} {
		v, err := s.VRead(ctx, "Patient", "p1", vid)
		if err != nil {
			t.Fatal(err)
		}
		if tree(t, v.Body)["active"] != active {
			t.Errorf("version %s: %s", vid, v.Body)
		}
	}
	// Delete, twice (idempotent), then update re-creates.
	for range 2 {
		o, err = s.Delete(ctx, "Patient", "p1")
		if err != nil || o.Status != 204 {
			t.Fatalf("delete: %+v, %v", o, err)
		}
	}
	if _, err := s.Delete(ctx, "Patient", "never"); err != nil {
		t.Errorf("delete of a missing resource: %v", err)
	}
	o, err = s.Update(ctx, "Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1"}`), "")
	if err != nil || o.Status != 201 || o.Version.VersionID != 5 {
		t.Errorf("update after delete: %+v, %v; want 201 version 5", o, err)
	}
}

func TestConditional(t *testing.T) {
	s := sv{newService(t)}
	ctx := context.Background()
	// If-None-Exist: no match creates, one match returns it.
	o, err := s.Create(ctx, "Patient", []byte(patientDoe), "identifier=http://x|1")
	if err != nil || o.Status != 201 {
		t.Fatalf("first conditional create: %+v, %v", o, err)
	}
	o, err = s.Create(ctx, "Patient", []byte(patientDoe), "identifier=http://x|1")
	if err != nil || o.Status != 200 || o.Created || o.Version.ID != "id1" {
		t.Fatalf("second conditional create: %+v, %v; want 200 with id1", o, err)
	}
	// Conditional update: one match updates it, no match creates.
	body := `{"resourceType":"Patient","identifier":[{"system":"http://x","value":"1"}],"active":true}`
	o, err = s.ConditionalUpdate(ctx, "Patient", url.Values{"identifier": {"http://x|1"}}, []byte(body))
	if err != nil || o.Status != 200 || o.Version.ID != "id1" || o.Version.VersionID != 2 {
		t.Fatalf("conditional update: %+v, %v", o, err)
	}
	o, err = s.ConditionalUpdate(ctx, "Patient", url.Values{"identifier": {"http://x|2"}}, []byte(body))
	if err != nil || o.Status != 201 || o.Version.ID != "id2" {
		t.Fatalf("conditional update as create: %+v, %v", o, err)
	}
	if b := doSearch(t, s.Service, "Patient", ""); len(b.Entry) != 2 {
		t.Errorf("%d patients, want 2", len(b.Entry))
	}
}

// Concurrent writers: every create and transaction is stored once, with
// distinct server-assigned ids (the default random UUIDs).
func TestConcurrentWrites(t *testing.T) {
	s := sv{newService(t, func(o *fhirops.Options) { o.NewID, o.Now = nil, nil })}
	ctx := context.Background()
	const workers, each = 4, 5
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				_, err := s.Create(ctx, "Patient", []byte(`{"resourceType":"Patient","name":[{"family":"Many"}]}`), "")
				errs <- err
				_, err = s.Transaction(ctx, []byte(`{"resourceType":"Bundle","type":"transaction","entry":[
				  {"fullUrl":"urn:uuid:0b0e0001-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","name":[{"family":"Many"}]},"request":{"method":"POST","url":"Patient"}},
				  {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:0b0e0001-0000-4000-8000-000000000001"}},"request":{"method":"POST","url":"Observation"}}]}`), "")
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if b := doSearch(t, s.Service, "Patient", "family=many&_summary=count"); b.Total == nil || *b.Total != 2*workers*each {
		t.Errorf("%s Patients, want %d", totalString(b.Total), 2*workers*each)
	}
	// Each Observation refers to its own transaction's Patient: the
	// includes are as many as the Observations.
	b := doSearch(t, s.Service, "Observation", "_include=Observation:subject&_count=100")
	modes := map[string]int{}
	for _, e := range b.Entry {
		modes[e.Search.Mode]++
	}
	if want := map[string]int{"match": workers * each, "include": workers * each}; !cmp.Equal(modes, want) {
		t.Errorf("Observations and their subjects: %v, want %v", modes, want)
	}
}
