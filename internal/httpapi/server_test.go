package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/fhir"
)

const patientJSON = `{"resourceType":"Patient","name":[{"family":"Chalmers","given":["Peter"]}],"gender":"male","birthDate":"1974-12-25"}`

// TestCRUD walks one resource through create, read, vread, update, patch,
// delete and history, checking the headers R4 http.html asks for.
func TestCRUD(t *testing.T) {
	e := newEnv(t, Options{})

	w := e.do("POST", "/fhir/Patient", patientJSON, "Content-Type", "application/fhir+json")
	if w.Code != http.StatusCreated {
		t.Fatalf("create: status %d: %s", w.Code, w.Body)
	}
	var p struct {
		ID   string `json:"id"`
		Meta struct {
			VersionID   string `json:"versionId"`
			LastUpdated string `json:"lastUpdated"`
		} `json:"meta"`
		Gender string `json:"gender"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	loc := "http://example.com/fhir/Patient/" + p.ID + "/_history/1"
	lu, err := time.Parse(time.RFC3339Nano, p.Meta.LastUpdated)
	if err != nil {
		t.Fatalf("meta.lastUpdated %q: %v", p.Meta.LastUpdated, err)
	}
	wantHdr := map[string]string{
		"Location":      loc,
		"Etag":          `W/"1"`,
		"Last-Modified": lu.UTC().Format(http.TimeFormat),
		"Content-Type":  "application/fhir+json; charset=utf-8",
	}
	checkHeaders(t, "create", w.Header(), wantHdr)
	created := w.Body.String()

	w = e.do("GET", "/fhir/Patient/"+p.ID, "")
	if w.Code != http.StatusOK || w.Body.String() != created {
		t.Errorf("read: status %d body %s, want 200 and the created body", w.Code, w.Body)
	}
	delete(wantHdr, "Location")
	checkHeaders(t, "read", w.Header(), wantHdr)

	for _, tc := range []struct {
		hdr  []string
		want int
	}{
		{[]string{"If-None-Match", `W/"1"`}, http.StatusNotModified},
		{[]string{"If-None-Match", `W/"0", "1"`}, http.StatusNotModified},
		{[]string{"If-None-Match", `W/"2"`}, http.StatusOK},
		{[]string{"If-Modified-Since", lu.Add(time.Second).UTC().Format(http.TimeFormat)}, http.StatusNotModified},
		{[]string{"If-Modified-Since", lu.Add(-time.Second).UTC().Format(http.TimeFormat)}, http.StatusOK},
		{[]string{"If-None-Match", `W/"2"`, "If-Modified-Since", lu.Add(time.Second).UTC().Format(http.TimeFormat)}, http.StatusOK},
	} {
		w := e.do("GET", "/fhir/Patient/"+p.ID, "", tc.hdr...)
		if w.Code != tc.want || w.Header().Get("ETag") != `W/"1"` || (w.Code == http.StatusNotModified) != (w.Body.Len() == 0) {
			t.Errorf("conditional read %q: status %d ETag %q body %d bytes, want %d", tc.hdr, w.Code, w.Header().Get("ETag"), w.Body.Len(), tc.want)
		}
	}

	w = e.do("GET", "/fhir/Patient/"+p.ID+"/_history/1", "", "Accept", "application/fhir+json")
	if w.Code != http.StatusOK || w.Body.String() != created {
		t.Errorf("vread: status %d body %s", w.Code, w.Body)
	}

	upd := strings.Replace(patientJSON, `"resourceType":"Patient"`, `"resourceType":"Patient","id":"`+p.ID+`"`, 1)
	upd = strings.Replace(upd, "male", "other", 1)
	w = e.do("PUT", "/fhir/Patient/"+p.ID, upd, "If-Match", `W/"1"`)
	if w.Code != http.StatusOK || w.Header().Get("ETag") != `W/"2"` {
		t.Errorf("update: status %d ETag %q: %s", w.Code, w.Header().Get("ETag"), w.Body)
	}
	w = e.do("PUT", "/fhir/Patient/"+p.ID, upd, "If-Match", `W/"1"`)
	if w.Code != http.StatusPreconditionFailed {
		t.Errorf("update with a stale If-Match: status %d, want 412", w.Code)
	}
	outcome(t, w)

	w = e.do("PATCH", "/fhir/Patient/"+p.ID, `[{"op":"replace","path":"/gender","value":"female"}]`, "Content-Type", "application/json-patch+json")
	if w.Code != http.StatusOK || w.Header().Get("ETag") != `W/"3"` || !strings.Contains(w.Body.String(), `"gender":"female"`) {
		t.Errorf("patch: status %d ETag %q: %s", w.Code, w.Header().Get("ETag"), w.Body)
	}

	w = e.do("DELETE", "/fhir/Patient/"+p.ID, "")
	if w.Code != http.StatusNoContent {
		t.Errorf("delete: status %d: %s", w.Code, w.Body)
	}
	w = e.do("GET", "/fhir/Patient/"+p.ID, "")
	if w.Code != http.StatusGone {
		t.Errorf("read after delete: status %d, want 410", w.Code)
	}
	outcome(t, w)

	w = e.do("GET", "/fhir/Patient/"+p.ID+"/_history", "")
	if w.Code != http.StatusOK {
		t.Fatalf("history: status %d: %s", w.Code, w.Body)
	}
	b := decodeBundle(t, w)
	if b.Type != "history" || len(b.Entry) != 4 {
		t.Errorf("history: type %q with %d entries, want history with 4 (create, update, patch, delete)", b.Type, len(b.Entry))
	}
	for _, path := range []string{"/fhir/Patient/_history", "/fhir/_history"} {
		w = e.do("GET", path, "")
		if b := decodeBundle(t, w); w.Code != http.StatusOK || b.Type != "history" || len(b.Entry) != 4 {
			t.Errorf("%s: status %d, %d entries, want 200 and 4", path, w.Code, len(b.Entry))
		}
	}
}

func checkHeaders(t *testing.T, what string, h http.Header, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for k := range want {
		got[k] = h.Get(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: headers (-want +got):\n%s", what, diff)
	}
}

// TestPrefer checks Prefer: return=minimal|representation|OperationOutcome
// on create.
func TestPrefer(t *testing.T) {
	e := newEnv(t, Options{})
	for _, tc := range []struct {
		prefer string
		want   string // "" empty body, else the resourceType of the body
	}{
		{"", "Patient"},
		{"return=representation", "Patient"},
		{"return=minimal", ""},
		{"return=OperationOutcome", "OperationOutcome"},
	} {
		w := e.do("POST", "/fhir/Patient", patientJSON, "Prefer", tc.prefer)
		if w.Code != http.StatusCreated || w.Header().Get("Location") == "" {
			t.Errorf("Prefer %q: status %d Location %q", tc.prefer, w.Code, w.Header().Get("Location"))
		}
		var r struct{ ResourceType string }
		if w.Body.Len() > 0 {
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
				t.Errorf("Prefer %q: body %s", tc.prefer, w.Body)
			}
		}
		if r.ResourceType != tc.want {
			t.Errorf("Prefer %q: body %q, want resourceType %q", tc.prefer, w.Body, tc.want)
		}
	}
}

// TestBadInput sends bad requests of every kind: each gets an
// OperationOutcome with the right status, and nothing is stored.
func TestBadInput(t *testing.T) {
	e := newEnv(t, Options{MaxBodyBytes: 4096})
	id := e.create("Patient", patientJSON)
	entry := `{"fullUrl":"urn:uuid:%d","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}`
	var entries []string
	for i := range maxEntries + 1 {
		entries = append(entries, strings.Replace(entry, "%d", "0000000"+string(rune('a'+i%26))+"-0000-4000-8000-00000000000"+string(rune('0'+i%10)), 1))
	}
	tooMany := `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
	big := `{"resourceType":"Patient","name":[{"family":"` + strings.Repeat("x", 5000) + `"}]}`
	tests := []struct {
		name, method, target, body string
		hdr                        []string
		status                     int
	}{
		{"malformed JSON", "POST", "/fhir/Patient", `{"resourceType":"Patient",`, nil, 400},
		{"not an object", "POST", "/fhir/Patient", `[1,2]`, nil, 400},
		{"empty body", "POST", "/fhir/Patient", ``, nil, 400},
		{"wrong resourceType for the URL", "POST", "/fhir/Patient", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, nil, 400},
		{"invalid reference", "POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"not a reference"}}`, nil, 400},
		{"update id differs from the URL", "PUT", "/fhir/Patient/" + id, `{"resourceType":"Patient","id":"other"}`, nil, 400},
		{"body over MaxBodyBytes", "POST", "/fhir/Patient", big, nil, 413},
		{"bundle over MaxBodyBytes", "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Repeat(" ", 5000) + `]}`, nil, 413},
		{"bundle over MaxBundleEntries", "POST", "/fhir", tooMany, nil, 413},
		{"XML body", "POST", "/fhir/Patient", `<Patient xmlns="http://hl7.org/fhir"/>`, []string{"Content-Type", "application/fhir+xml"}, 415},
		{"XML wanted", "GET", "/fhir/Patient/" + id, ``, []string{"Accept", "application/fhir+xml"}, 415},
		{"_format=xml", "GET", "/fhir/Patient/" + id + "?_format=xml", ``, nil, 415},
		{"patch as FHIR JSON", "PATCH", "/fhir/Patient/" + id, `[]`, []string{"Content-Type", "application/fhir+json"}, 415},
		{"malformed patch", "PATCH", "/fhir/Patient/" + id, `[{"op":"jump"}]`, []string{"Content-Type", "application/json-patch+json"}, 400},
		{"unknown search parameter, strict", "GET", "/fhir/Patient?nonsense=1", ``, []string{"Prefer", "handling=strict"}, 400},
		{"malformed search value", "GET", "/fhir/Patient?birthdate=notadate", ``, nil, 400},
		{"unknown type", "GET", "/fhir/Unicorn/1", ``, nil, 404},
		{"unknown type create", "POST", "/fhir/Unicorn", `{"resourceType":"Unicorn"}`, nil, 404},
		{"read of a missing resource", "GET", "/fhir/Patient/nobody", ``, nil, 404},
		{"vread of a missing version", "GET", "/fhir/Patient/" + id + "/_history/9", ``, nil, 404},
		{"unknown path", "GET", "/nothing/here", ``, nil, 404},
		{"method not allowed", "DELETE", "/fhir/Patient", ``, nil, 405},
		{"method not allowed on metadata", "POST", "/fhir/metadata", `{}`, nil, 405},
		{"conditional update without a query", "PUT", "/fhir/Patient", patientJSON, nil, 400},
		{"stale If-Match", "PUT", "/fhir/Patient/" + id, `{"resourceType":"Patient","id":"` + id + `"}`, []string{"If-Match", `W/"7"`}, 412},
		{"transaction with a bad entry", "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Patient","birthDate":"yesterday"},"request":{"method":"POST","url":"Patient"}}]}`, nil, 400},
		{"bundle that is not a transaction or batch", "POST", "/fhir", `{"resourceType":"Bundle","type":"collection"}`, nil, 400},
		{"$everything of a missing patient", "GET", "/fhir/Patient/nobody/$everything", ``, nil, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(tc.method, tc.target, tc.body, tc.hdr...)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d: %s\nlog:\n%s", w.Code, tc.status, w.Body, e.log)
			}
			outcome(t, w)
		})
	}
	if n := e.count("Patient"); n != 1 {
		t.Errorf("%d patients stored, want 1 (only the one created first)", n)
	}
	if n := e.count("Observation"); n != 0 {
		t.Errorf("%d observations stored, want 0", n)
	}
	w := e.do("GET", "/fhir/Patient/"+id, "")
	if w.Header().Get("ETag") != `W/"1"` {
		t.Errorf("patient changed by a failed request: ETag %q", w.Header().Get("ETag"))
	}
}

// TestMethodNotAllowed checks the Allow header of a 405.
func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, Options{})
	w := e.do("DELETE", "/fhir/metadata", "")
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("status %d Allow %q, want 405 and GET, HEAD", w.Code, w.Header().Get("Allow"))
	}
}

// TestLenientSearch: an unknown parameter is ignored with a warning in the
// searchset's OperationOutcome entry (Prefer: handling=lenient, the
// default).
func TestLenientSearch(t *testing.T) {
	e := newEnv(t, Options{})
	e.create("Patient", patientJSON)
	for _, hdr := range [][]string{nil, {"Prefer", "handling=lenient"}} {
		w := e.do("GET", "/fhir/Patient?nonsense=1&family=Chalmers", "", hdr...)
		if w.Code != http.StatusOK {
			t.Fatalf("%v: status %d: %s", hdr, w.Code, w.Body)
		}
		b := decodeBundle(t, w)
		var modes []string
		warned := false
		for _, en := range b.Entry {
			if en.Search != nil {
				modes = append(modes, en.Search.Mode)
			}
			if en.Search != nil && en.Search.Mode == "outcome" {
				warned = strings.Contains(string(en.Resource), `"warning"`) && strings.Contains(string(en.Resource), "nonsense")
			}
		}
		if diff := cmp.Diff([]string{"match", "outcome"}, modes); diff != "" || !warned {
			t.Errorf("%v: entries (-want +got):\n%s\nwarning about nonsense: %v", hdr, diff, warned)
		}
	}
}

// TestSearch runs searches by GET and POST _search.
func TestSearch(t *testing.T) {
	e := newEnv(t, Options{})
	e.create("Patient", patientJSON)
	e.create("Patient", `{"resourceType":"Patient","name":[{"family":"Windsor"}]}`)
	for _, tc := range []struct {
		method, target, body string
		hdr                  []string
		want                 int
	}{
		{"GET", "/fhir/Patient", "", nil, 2},
		{"GET", "/fhir/Patient?family=chalm", "", nil, 1},
		{"GET", "/fhir/Patient/_search?family=windsor", "", nil, 1},
		{"POST", "/fhir/Patient/_search", "family=Windsor", []string{"Content-Type", "application/x-www-form-urlencoded"}, 1},
		{"POST", "/fhir/Patient/_search?gender=male", "family=Windsor", []string{"Content-Type", "application/x-www-form-urlencoded"}, 0},
		{"GET", "/fhir?_type=Patient", "", nil, 2},
		{"GET", "/fhir/Patient?_format=json", "", []string{"Accept", "application/json"}, 2},
		{"GET", "/fhir/Patient?_format=application/fhir%2Bjson", "", []string{"Accept", "application/fhir+xml;q=0.5, application/fhir+json"}, 2},
	} {
		w := e.do(tc.method, tc.target, tc.body, tc.hdr...)
		if w.Code != http.StatusOK {
			t.Errorf("%s %s: status %d: %s", tc.method, tc.target, w.Code, w.Body)
			continue
		}
		b := decodeBundle(t, w)
		if b.Type != "searchset" || b.Total == nil || *b.Total != tc.want {
			t.Errorf("%s %s %s: %s, want a searchset with total %d", tc.method, tc.target, tc.body, w.Body, tc.want)
		}
	}
}

// TestPaging follows the next links of a search: the pages together hold
// every match once, even when a write comes between two pages.
func TestPaging(t *testing.T) {
	e := newEnv(t, Options{})
	want := []string{e.create("Patient", patientJSON), e.create("Patient", patientJSON), e.create("Patient", patientJSON)}
	var got []string
	target := "/fhir/Patient?_count=2"
	for pages := 0; target != ""; pages++ {
		if pages > 3 {
			t.Fatal("more than 3 pages")
		}
		w := e.do("GET", target, "")
		b := decodeBundle(t, w)
		for _, en := range b.Entry {
			var r struct{ ID string }
			if err := json.Unmarshal(en.Resource, &r); err != nil {
				t.Fatal(err)
			}
			got = append(got, r.ID)
		}
		target = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				var ok bool
				if target, ok = strings.CutPrefix(l.URL, "http://example.com"); !ok {
					t.Fatalf("next link %q is not on the request's base", l.URL)
				}
			}
		}
		e.create("Patient", patientJSON) // not in the snapshot of the first page
	}
	if diff := cmp.Diff(sorted(want...), sorted(got...)); diff != "" {
		t.Errorf("ids over all pages (-want +got):\n%s", diff)
	}
}

// TestConditional: If-None-Exist and conditional update by identifier.
func TestConditional(t *testing.T) {
	e := newEnv(t, Options{})
	p := `{"resourceType":"Patient","identifier":[{"system":"http://x","value":"1"}]}`
	ine := []string{"If-None-Exist", "identifier=http://x|1"}
	if w := e.do("POST", "/fhir/Patient", p, ine...); w.Code != http.StatusCreated {
		t.Fatalf("conditional create: status %d: %s", w.Code, w.Body)
	}
	if w := e.do("POST", "/fhir/Patient", p, ine...); w.Code != http.StatusOK {
		t.Errorf("conditional create matching one: status %d, want 200: %s", w.Code, w.Body)
	}
	w := e.do("PUT", "/fhir/Patient?identifier=http://x|1", p)
	if w.Code != http.StatusOK || w.Header().Get("ETag") != `W/"2"` {
		t.Errorf("conditional update: status %d ETag %q: %s", w.Code, w.Header().Get("ETag"), w.Body)
	}
	if w := e.do("PUT", "/fhir/Patient?identifier=http://x|2", `{"resourceType":"Patient"}`); w.Code != http.StatusCreated {
		t.Errorf("conditional update matching none: status %d, want 201: %s", w.Code, w.Body)
	}
	e.create("Patient", p)
	if w := e.do("POST", "/fhir/Patient", p, ine...); w.Code != http.StatusPreconditionFailed {
		t.Errorf("conditional create matching two: status %d, want 412", w.Code)
	}
}

// TestTransaction posts a transaction Bundle with urn:uuid references.
func TestTransaction(t *testing.T) {
	e := newEnv(t, Options{})
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Patient","name":[{"family":"Tx"}]},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"weight"},"subject":{"reference":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}},"request":{"method":"POST","url":"Observation"}}]}`
	w := e.do("POST", "/fhir", tx)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	b := decodeBundle(t, w)
	if b.Type != "transaction-response" || len(b.Entry) != 2 {
		t.Fatalf("got %s", w.Body)
	}
	pid := strings.Split(b.Entry[0].Response.Location, "/")[1]
	w = e.do("GET", "/fhir/Observation?subject=Patient/"+pid, "")
	if b := decodeBundle(t, w); b.Total == nil || *b.Total != 1 {
		t.Errorf("observation of the new patient: %s", w.Body)
	}
	w = e.do("GET", "/fhir/Patient/"+pid+"/$everything", "")
	if b := decodeBundle(t, w); w.Code != http.StatusOK || len(b.Entry) != 2 {
		t.Errorf("$everything: status %d, %d entries, want 2: %s", w.Code, len(b.Entry), w.Body)
	}
}

// denyObservations denies everything on Observation and records what it
// was asked.
type denyObservations struct{ seen []Interaction }

func (d *denyObservations) Authorize(r *http.Request, in Interaction) error {
	d.seen = append(d.seen, in)
	if in.Type == "Observation" {
		return errors.New("no")
	}
	if in.Type == "Group" {
		return &fhir.Error{Status: http.StatusUnauthorized, Issues: []fhir.Issue{{Code: "login", Diagnostics: "log in"}}}
	}
	return nil
}

// TestAuthorizer: every request is put to the Authorizer with its
// interaction, and a denial is an OperationOutcome.
func TestAuthorizer(t *testing.T) {
	a := &denyObservations{}
	e := newEnv(t, Options{Authorizer: a})
	id := e.create("Patient", patientJSON)
	for _, tc := range []struct {
		method, target string
		status         int
		want           Interaction
	}{
		{"GET", "/fhir/Patient/" + id, 200, Interaction{Kind: "read", Type: "Patient", ID: id}},
		{"GET", "/fhir/Patient/" + id + "/$everything", 200, Interaction{Kind: "operation", Type: "Patient", ID: id, Operation: "$everything", Compartment: "Patient/" + id}},
		{"GET", "/fhir/Observation?code=x", 403, Interaction{Kind: "search-type", Type: "Observation"}},
		{"GET", "/fhir/Group/1", 401, Interaction{Kind: "read", Type: "Group", ID: "1"}},
		{"GET", "/fhir/metadata", 200, Interaction{Kind: "capabilities"}},
		{"GET", "/elsewhere", 404, Interaction{Kind: "unknown"}},
	} {
		a.seen = nil
		w := e.do(tc.method, tc.target, "")
		if w.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.target, w.Code, tc.status)
		}
		if tc.status >= 400 {
			outcome(t, w)
		}
		if diff := cmp.Diff([]Interaction{tc.want}, a.seen); diff != "" {
			t.Errorf("%s %s: interactions (-want +got):\n%s", tc.method, tc.target, diff)
		}
	}
}

// panicker panics, as a bug would.
type panicker struct{}

func (panicker) Authorize(*http.Request, Interaction) error {
	panic("secret detail: Peter Chalmers")
}

// TestInternalError: a 500 names only the request id; the detail goes to
// the log with that id.
func TestInternalError(t *testing.T) {
	e := newEnv(t, Options{Authorizer: panicker{}})
	w := e.do("GET", "/fhir/Patient/1", "")
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	is := outcome(t, w)
	rid := w.Header().Get("X-Request-Id")
	if rid == "" || !strings.Contains(is[0].Diagnostics, rid) || strings.Contains(w.Body.String(), "secret") {
		t.Errorf("500 body %s with request id %q: want the id and no detail", w.Body, rid)
	}
	if !strings.Contains(e.log.String(), "secret detail") || !strings.Contains(e.log.String(), rid) {
		t.Errorf("log lacks the detail and request id: %s", e.log)
	}
}

// TestRequestLog: one line per request with method, route, status, and no
// query string or body (which hold names).
func TestRequestLog(t *testing.T) {
	e := newEnv(t, Options{})
	e.do("POST", "/fhir/Patient", patientJSON)
	e.do("GET", "/fhir/Patient?family=Chalmers&given=Peter", "")
	log := e.log.String()
	for _, secret := range []string{"Chalmers", "Peter", "family", "1974"} {
		if strings.Contains(log, secret) {
			t.Errorf("log contains %q:\n%s", secret, log)
		}
	}
	for _, want := range []string{`method=POST route="POST /fhir/{type}" status=201`, `method=GET route="GET /fhir/{type}" status=200`, "request_id=", "duration="} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
