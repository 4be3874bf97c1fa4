package fhir

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readBundle(t *testing.T, path string) *Bundle {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

func TestBundleTransaction(t *testing.T) {
	// testdata/bundles/Bundle-bundle-transaction.json, entries read from the file.
	b := readBundle(t, "testdata/bundles/Bundle-bundle-transaction.json")
	if b.Type != "transaction" || b.ID != "bundle-transaction" || len(b.Entry) != 10 {
		t.Fatalf("type %q id %q, %d entries; want transaction, bundle-transaction, 10", b.Type, b.ID, len(b.Entry))
	}
	wantReq := []BundleRequest{
		{Method: "POST", URL: "Patient"},
		{Method: "POST", URL: "Patient", IfNoneExist: "identifier=http:/example.org/fhir/ids|234234"},
		{Method: "PUT", URL: "Patient/123"},
		{Method: "PUT", URL: "Patient?identifier=http:/example.org/fhir/ids|456456"},
		{Method: "PUT", URL: "Patient/123a", IfMatch: `W/"2"`},
		{Method: "DELETE", URL: "Patient/234"},
		{Method: "DELETE", URL: "Patient?identifier=123456"},
		{Method: "POST", URL: "ValueSet/$lookup"},
		{Method: "GET", URL: "Patient?name=peter"},
		{Method: "GET", URL: "Patient/12334", IfNoneMatch: `W/"4"`, IfModifiedSince: "2015-08-31T08:14:33+10:00"},
	}
	var gotReq []BundleRequest
	for _, e := range b.Entry {
		gotReq = append(gotReq, *e.Request)
	}
	if diff := cmp.Diff(wantReq, gotReq); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if e := b.Entry[0]; e.FullURL != "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a" || e.Resource.Type != "Patient" || e.Resource.ID != "" {
		t.Errorf("entry[0]: fullUrl %q resource %+v", e.FullURL, e.Resource)
	}
	if e := b.Entry[2]; e.Resource.ID != "123" || e.FullURL != "http://example.org/fhir/Patient/123" {
		t.Errorf("entry[2]: fullUrl %q id %q", e.FullURL, e.Resource.ID)
	}
	if b.Entry[5].Resource != nil || b.Entry[7].Resource.Type != "Parameters" {
		t.Errorf("entry[5] resource %v, entry[7] resource type %q", b.Entry[5].Resource, b.Entry[7].Resource.Type)
	}
}

func TestBundleResponse(t *testing.T) {
	// testdata/bundles/Bundle-bundle-response.json
	b := readBundle(t, "testdata/bundles/Bundle-bundle-response.json")
	if b.Type != "transaction-response" || len(b.Entry) != 10 {
		t.Fatalf("type %q, %d entries", b.Type, len(b.Entry))
	}
	r := b.Entry[0].Response
	want := BundleResponse{Status: "201 Created", Location: "Patient/12423/_history/1", Etag: `W/"1"`, LastModified: "2014-08-18T01:43:33Z"}
	if diff := cmp.Diff(want, *r, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Outcome" }, cmp.Ignore())); diff != "" {
		t.Errorf("entry[0].response (-want +got):\n%s", diff)
	}
	if r.Outcome == nil || r.Outcome.Type != "OperationOutcome" {
		t.Errorf("entry[0].response.outcome = %+v", r.Outcome)
	}
	if got := b.Entry[9].Response.Status; got != "304 Not Modified" {
		t.Errorf("entry[9].response.status = %q", got)
	}
}

func TestBundleSynthea(t *testing.T) {
	// The smallest Synthea bundle: 70 POST entries with urn:uuid fullUrls
	// (refs README), the first a Patient.
	b := readBundle(t, "testdata/synthea/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json")
	if b.Type != "transaction" || len(b.Entry) != 70 {
		t.Fatalf("type %q, %d entries; want transaction, 70", b.Type, len(b.Entry))
	}
	for i, e := range b.Entry {
		if e.Request.Method != "POST" || e.Request.URL != e.Resource.Type || !strings.HasPrefix(e.FullURL, "urn:uuid:") {
			t.Errorf("entry[%d]: %s %s fullUrl %q", i, e.Request.Method, e.Request.URL, e.FullURL)
		}
	}
	if e := b.Entry[0]; e.Resource.Type != "Patient" || e.FullURL != "urn:uuid:d78af07c-9cb9-4f31-9b11-c45a28f2eec8" {
		t.Errorf("entry[0]: %s %q", e.Resource.Type, e.FullURL)
	}
}

func TestBundleErrors(t *testing.T) {
	issue := func(code, diag, expr string) Issue {
		return Issue{Severity: "error", Code: code, Diagnostics: diag, Expression: []string{expr}}
	}
	entry := `{"request":{"method":"GET","url":"Patient"}}`
	tests := []struct {
		name, in string
		want     []Issue
	}{
		{"not a bundle", `{"resourceType":"Patient"}`, []Issue{issue("invalid", "expected a Bundle, got a Patient", "Patient")}},
		{"missing type", `{"resourceType":"Bundle"}`, []Issue{issue("required", "required element is missing", "Bundle.type")}},
		{"unknown type", `{"resourceType":"Bundle","type":"bag"}`, []Issue{issue("value", "unknown bundle type (want one of document, message, transaction, transaction-response, batch, batch-response, history, searchset, collection)", "Bundle.type")}},
		{"bad method", `{"resourceType":"Bundle","type":"batch","entry":[` + entry + `,` + entry + `,` + entry + `,{"request":{"method":"get","url":"Patient"}}]}`,
			[]Issue{issue("value", "unknown method (want one of GET, HEAD, POST, PUT, DELETE, PATCH)", "Bundle.entry[3].request.method")}},
		{"missing method and url", `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{}}]}`, []Issue{
			issue("required", "required element is missing", "Bundle.entry[0].request.method"),
			issue("required", "required element is missing", "Bundle.entry[0].request.url"),
		}},
		{"method not a string", `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":1,"url":"Patient"}}]}`,
			[]Issue{issue("structure", "method must be a non-empty string", "Bundle.entry[0].request.method")}},
		{"missing request", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:x","resource":{"resourceType":"Patient"}}]}`,
			[]Issue{issue("required", "every entry of a transaction needs a request", "Bundle.entry[0].request")}},
		{"POST without resource", `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Patient"}}]}`,
			[]Issue{issue("required", "POST entries need a resource", "Bundle.entry[0].resource")}},
		{"bad resource", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Pateint"},"request":{"method":"POST","url":"Patient"}},{"resource":[],"request":{"method":"PUT","url":"Patient/1"}}]}`, []Issue{
			issue("not-supported", `unknown resource type "Pateint"`, "Bundle.entry[0].resource.resourceType"),
			issue("structure", "resource must be a JSON object", "Bundle.entry[1].resource"),
		}},
		{"duplicate fullUrl", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`,
			[]Issue{issue("invariant", "fullUrl repeats that of entry 0", "Bundle.entry[1].fullUrl")}},
		{"response without status", `{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{}},{}]}`, []Issue{
			issue("required", "required element is missing", "Bundle.entry[0].response.status"),
			issue("required", "every entry of a batch-response needs a response", "Bundle.entry[1].response"),
		}},
		{"entries not objects", `{"resourceType":"Bundle","type":"collection","entry":[1],"link":{}}`, []Issue{
			issue("structure", "link must be a JSON array", "Bundle.link"),
			issue("structure", "entry items must be JSON objects", "Bundle.entry[0]"),
		}},
		{"negative total", `{"resourceType":"Bundle","type":"searchset","total":-1}`, []Issue{issue("value", "total must be a non-negative integer", "Bundle.total")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBundle([]byte(tt.in))
			var fe *Error
			if !errors.As(err, &fe) || fe.Status != 400 {
				t.Fatalf("ParseBundle error %v, want *Error with status 400", err)
			}
			if diff := cmp.Diff(tt.want, fe.Issues); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBundleMarshal(t *testing.T) {
	p, err := Parse([]byte(`{"resourceType":"Patient","id":"p1"}`))
	if err != nil {
		t.Fatal(err)
	}
	total := 1
	b := &Bundle{Type: "searchset", Total: &total,
		Link:  []BundleLink{{Relation: "self", URL: "http://x/fhir/Patient?_count=1"}},
		Entry: []BundleEntry{{FullURL: "http://x/fhir/Patient/p1", Resource: p, Search: &BundleSearch{Mode: "match"}}},
	}
	got, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Bundle","entry":[{"fullUrl":"http://x/fhir/Patient/p1","resource":{"resourceType":"Patient","id":"p1"},"search":{"mode":"match"}}],"link":[{"relation":"self","url":"http://x/fhir/Patient?_count=1"}],"total":1,"type":"searchset"}`
	if string(got) != want {
		t.Errorf("MarshalJSON =\n%s\nwant\n%s", got, want)
	}
	// And back: the written bundle reads as the same view.
	back, err := ParseBundle(got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b, back); diff != "" {
		t.Errorf("re-read bundle (-want +got):\n%s", diff)
	}
}

// TestBundleRefs reads every official example bundle and Synthea bundle.
func TestBundleRefs(t *testing.T) {
	if _, err := os.Stat(refsDir); err != nil {
		t.Skipf("shared FHIR corpus %s not present (only on the project's machines): %v", refsDir, err)
	}
	for _, dir := range []string{refsDir + "/r4-examples/bundles", refsDir + "/synthea-r4"} {
		for _, f := range jsonFiles(t, dir) {
			readBundle(t, f)
		}
	}
}
