package fhirops_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
)

// txResponse is the part of a transaction-response the tests look at.
type txResponse struct {
	Type  string
	Entry []struct {
		Resource json.RawMessage
		Response struct {
			Status, Location, Etag string
			Outcome                json.RawMessage
		}
	}
}

func (s sv) transaction(t *testing.T, bundle string) (txResponse, error) {
	t.Helper()
	data, err := s.Transaction(context.Background(), []byte(bundle), "http://x/fhir")
	var r txResponse
	if err == nil {
		if jerr := json.Unmarshal(data, &r); jerr != nil {
			t.Fatal(jerr)
		}
	}
	return r, err
}

func (s sv) mustRead(t *testing.T, typ, id string) map[string]any {
	t.Helper()
	v, err := s.Read(context.Background(), typ, id)
	if err != nil {
		t.Fatalf("read %s/%s: %v", typ, id, err)
	}
	return tree(t, v.Body)
}

// refOf returns the reference string at path (keys and indexes) in m.
func refOf(m any, path ...any) string {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m = m.(map[string]any)[k]
		case int:
			m = m.([]any)[k]
		}
	}
	return m.(map[string]any)["reference"].(string)
}

func TestTransactionReferences(t *testing.T) {
	s := sv{newService(t)}
	// The Observation comes before the Patient it refers to; the
	// Encounter's reference is nested; the Patient keeps its id under PUT.
	resp, err := s.transaction(t, `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:0b0e0001-0000-4000-8000-000000000001","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},
	   "subject":{"reference":"urn:uuid:0b0e0001-0000-4000-8000-000000000002"},"encounter":{"reference":"urn:uuid:0b0e0001-0000-4000-8000-000000000003"}},
	  "request":{"method":"POST","url":"Observation"}},
	 {"fullUrl":"urn:uuid:0b0e0001-0000-4000-8000-000000000002","resource":{"resourceType":"Patient","id":"p7"},"request":{"method":"PUT","url":"Patient/p7"}},
	 {"fullUrl":"urn:uuid:0b0e0001-0000-4000-8000-000000000003","resource":{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},
	   "subject":{"reference":"urn:uuid:0b0e0001-0000-4000-8000-000000000002"},
	   "participant":[{"individual":{"reference":"Practitioner/unchanged"}}]},"request":{"method":"POST","url":"Encounter"}},
	 {"request":{"method":"GET","url":"Patient/p7"}}
	]}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range resp.Entry {
		got = append(got, e.Response.Status+" "+e.Response.Location)
	}
	want := []string{"201 Created Observation/id1/_history/1", "201 Created Patient/p7/_history/1", "201 Created Encounter/id2/_history/1", "200 OK Patient/p7/_history/1"}
	if resp.Type != "transaction-response" || !cmp.Equal(got, want) {
		t.Errorf("response %s %q, want transaction-response %q", resp.Type, got, want)
	}
	if !strings.Contains(string(resp.Entry[3].Resource), `"id":"p7"`) {
		t.Errorf("GET entry resource %s", resp.Entry[3].Resource)
	}
	obs := s.mustRead(t, "Observation", "id1")
	enc := s.mustRead(t, "Encounter", "id2")
	for _, c := range []struct{ got, want string }{
		{refOf(obs, "subject"), "Patient/p7"},
		{refOf(obs, "encounter"), "Encounter/id2"},
		{refOf(enc, "subject"), "Patient/p7"},
		{refOf(enc, "participant", 0, "individual"), "Practitioner/unchanged"},
	} {
		if c.got != c.want {
			t.Errorf("reference %q, want %q", c.got, c.want)
		}
	}
}

func TestTransactionAtomic(t *testing.T) {
	good := `{"fullUrl":"urn:uuid:0b0e0001-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","name":[{"family":"Atom"}]},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:0b0e0001-0000-4000-8000-000000000001"}},"request":{"method":"POST","url":"Observation"}},
	 {"resource":{"resourceType":"Patient","id":"p1","active":false},"request":{"method":"PUT","url":"Patient/p1"}}`
	tests := []struct {
		name, last string
		status     int
		expr       string
	}{
		{"invalid resource", `{"resource":{"resourceType":"Observation","status":7},"request":{"method":"POST","url":"Observation"}}`, 400, "Bundle.entry[3].resource.status"},
		{"type does not match the URL", `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Observation"}}`, 400, "Bundle.entry[3].resource.resourceType"},
		{"bad method", `{"resource":{"resourceType":"Patient"},"request":{"method":"JUMP","url":"Patient"}}`, 400, "Bundle.entry[3].request.method"},
		{"stale If-Match", `{"resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"PUT","url":"Patient/p2","ifMatch":"W/\"7\""}}`, 412, "Bundle.entry[3].resource"},
		{"GET of a missing resource", `{"request":{"method":"GET","url":"Patient/nope"}}`, 404, "Bundle.entry[3].request.url"},
		{"unresolved conditional reference", `{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=http://x|none"}},"request":{"method":"POST","url":"Observation"}}`, 400, "Bundle.entry[3].resource.subject.reference"},
		{"the same resource twice", `{"resource":{"resourceType":"Patient","id":"p1"},"request":{"method":"PUT","url":"Patient/p1"}}`, 400, "Bundle.entry[3].request.url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sv{newService(t)}
			s.mustUpdate(t, "Patient", "p1", `{"resourceType":"Patient","id":"p1","active":true}`)
			s.mustUpdate(t, "Patient", "p2", `{"resourceType":"Patient","id":"p2"}`)
			_, err := s.transaction(t, `{"resourceType":"Bundle","type":"transaction","entry":[`+good+`,`+tc.last+`]}`)
			fe, ok := err.(*fhir.Error)
			if !ok || fe.Status != tc.status {
				t.Fatalf("error %v, want status %d", err, tc.status)
			}
			if !strings.HasPrefix(fe.Issues[0].Expression[0], tc.expr) {
				t.Errorf("expression %q, want it to start with %q", fe.Issues[0].Expression, tc.expr)
			}
			// Nothing stored: no Atom patient, no Observation, p1 unchanged.
			if b := doSearch(t, s.Service, "Patient", "family=atom"); len(b.Entry) != 0 {
				t.Errorf("the Bundle's Patient was stored: %v", b.ids())
			}
			if b := doSearch(t, s.Service, "Observation", ""); len(b.Entry) != 0 {
				t.Errorf("the Bundle's Observation was stored: %v", b.ids())
			}
			if p1 := s.mustRead(t, "Patient", "p1"); p1["active"] != true {
				t.Errorf("Patient/p1 was updated: %v", p1)
			}
		})
	}
}

func TestTransactionConditional(t *testing.T) {
	s := sv{newService(t)}
	const npi = "http://hl7.org/fhir/sid/us-npi"
	s.mustUpdate(t, "Practitioner", "dr1", `{"resourceType":"Practitioner","id":"dr1","identifier":[{"system":"`+npi+`","value":"1"}]}`)
	s.mustUpdate(t, "Patient", "known", `{"resourceType":"Patient","id":"known","identifier":[{"system":"http://x","value":"k"}]}`)
	// Synthea 3 style: a conditional create of a Practitioner in the Bundle
	// and conditional references to it and to one already stored; a
	// conditional create of a Patient that exists.
	resp, err := s.transaction(t, `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:0b0e0001-0000-4000-8000-00000000000a","resource":{"resourceType":"Patient","identifier":[{"system":"http://x","value":"k"}]},
	  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=http://x|k"}},
	 {"resource":{"resourceType":"Practitioner","identifier":[{"system":"`+npi+`","value":"2"}]},
	  "request":{"method":"POST","url":"Practitioner","ifNoneExist":"identifier=`+npi+`|2"}},
	 {"resource":{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"urn:uuid:0b0e0001-0000-4000-8000-00000000000a"},
	   "participant":[{"individual":{"reference":"Practitioner?identifier=`+npi+`|1"}},{"individual":{"reference":"Practitioner?identifier=`+npi+`|2"}}]},
	  "request":{"method":"POST","url":"Encounter"}}
	]}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range resp.Entry {
		got = append(got, e.Response.Status+" "+e.Response.Location)
	}
	want := []string{"200 OK Patient/known/_history/1", "201 Created Practitioner/id1/_history/1", "201 Created Encounter/id2/_history/1"}
	if !cmp.Equal(got, want) {
		t.Errorf("response %q, want %q", got, want)
	}
	enc := s.mustRead(t, "Encounter", "id2")
	if g := []string{refOf(enc, "subject"), refOf(enc, "participant", 0, "individual"), refOf(enc, "participant", 1, "individual")}; !cmp.Equal(g, []string{"Patient/known", "Practitioner/dr1", "Practitioner/id1"}) {
		t.Errorf("references %q", g)
	}
	// Two matches: 412.
	s.mustUpdate(t, "Practitioner", "dr1b", `{"resourceType":"Practitioner","id":"dr1b","identifier":[{"system":"`+npi+`","value":"1"}]}`)
	_, err = s.transaction(t, `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"participant":[{"individual":{"reference":"Practitioner?identifier=`+npi+`|1"}}]},
	  "request":{"method":"POST","url":"Encounter"}}]}`)
	if fe, ok := err.(*fhir.Error); !ok || fe.Status != 412 || !cmp.Equal(fe.Issues[0].Expression, []string{"Bundle.entry[0].resource.participant[0].individual.reference"}) {
		t.Errorf("ambiguous conditional reference: %v, want 412 at Bundle.entry[0].resource.participant[0].individual.reference", err)
	}
}

func TestTransactionOrder(t *testing.T) {
	s := sv{newService(t)}
	s.mustUpdate(t, "Patient", "old", `{"resourceType":"Patient","id":"old"}`)
	// R4 order: DELETE, POST, PUT, GET, whatever the Bundle order.
	resp, err := s.transaction(t, `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"request":{"method":"GET","url":"Patient?_id=old,new"}},
	 {"resource":{"resourceType":"Patient","id":"new"},"request":{"method":"PUT","url":"Patient/new"}},
	 {"request":{"method":"DELETE","url":"Patient/old"}}
	]}`)
	if err != nil {
		t.Fatal(err)
	}
	var b searchBundle
	if err := json.Unmarshal(resp.Entry[0].Resource, &b); err != nil {
		t.Fatal(err)
	}
	if got := b.ids(); !cmp.Equal(got, []string{"Patient/new"}) {
		t.Errorf("GET sees %q, want the PUT and not the deleted Patient", got)
	}
	if resp.Entry[2].Response.Status != "204 No Content" {
		t.Errorf("DELETE status %q", resp.Entry[2].Response.Status)
	}
}

func TestBatch(t *testing.T) {
	s := sv{newService(t)}
	resp, err := s.transaction(t, `{"resourceType":"Bundle","type":"batch","entry":[
	 {"resource":{"resourceType":"Patient","name":[{"family":"One"}]},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Patient","gender":5},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Observation"}},
	 {"request":{"method":"GET","url":"Patient/nope"}},
	 {"resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"PUT","url":"Patient/p2"}}
	]}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range resp.Entry {
		got = append(got, e.Response.Status)
		if !strings.HasPrefix(e.Response.Status, "2") && !strings.Contains(string(e.Response.Outcome), `"OperationOutcome"`) {
			t.Errorf("failed entry without an OperationOutcome: %s", e.Response.Outcome)
		}
	}
	want := []string{"201 Created", "400 Bad Request", "400 Bad Request", "404 Not Found", "201 Created"}
	if resp.Type != "batch-response" || !cmp.Equal(got, want) {
		t.Errorf("batch-response %s %q, want %q", resp.Type, got, want)
	}
	if b := doSearch(t, s.Service, "Patient", ""); len(b.Entry) != 2 {
		t.Errorf("stored %v, want the two good Patients", b.ids())
	}
}

func TestBundleLimits(t *testing.T) {
	s := sv{newService(t, func(o *fhirops.Options) { o.MaxBundleEntries = 2 })}
	entry := `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}`
	tests := []struct {
		name, bundle string
		want         int
	}{
		{"too many entries", `{"resourceType":"Bundle","type":"transaction","entry":[` + entry + `,` + entry + `,` + entry + `]}`, 413},
		{"not a Bundle", `{"resourceType":"Patient"}`, 400},
		{"a collection", `{"resourceType":"Bundle","type":"collection"}`, 400},
		{"malformed", `{"resourceType":"Bundle","type":"transaction","entry":[`, 400},
		{"no request", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"}}]}`, 400},
		{"conditional delete", `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient?name=x"}}]}`, 400},
	}
	for _, tc := range tests {
		_, err := s.transaction(t, tc.bundle)
		if got := status(err); got != tc.want {
			t.Errorf("%s: status %d (%v), want %d", tc.name, got, err, tc.want)
		}
	}
}
