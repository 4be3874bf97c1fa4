package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/audit"
	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/fhirops"
)

// appendNow is an Auditor that appends each record at once, so that a
// test finds it with the next request.
type appendNow struct {
	t   testing.TB
	log *audit.Log
}

func (a appendNow) Record(r audit.Record) {
	if err := a.log.Append(context.Background(), []audit.Record{r}); err != nil {
		a.t.Errorf("audit append: %v", err)
	}
}

// tokenCheck is the access check of a server behind auth's Middleware, as
// auth's Example wires it: a token is needed, its scopes decide.
type tokenCheck struct{}

func (tokenCheck) Authorize(r *http.Request, in Interaction) error {
	if in.Kind == "capabilities" {
		return nil
	}
	p, err := auth.FromContext(r.Context())
	if err != nil {
		return err
	}
	kind := in.Kind
	if kind == "operation" {
		kind = in.Operation
	}
	return p.Check(kind, in.Type, in.ID, in.Compartment)
}

// auditEnv is a server with an audit trail on a SQLite store, behind
// bearer-token authentication with an instance key.
type auditEnv struct {
	*testEnv
	log     *audit.Log
	handler http.Handler // auth's Middleware around the server
	authn   *auth.Authenticator
}

func newAuditEnv(t *testing.T) *auditEnv {
	t.Helper()
	dir := t.TempDir()
	st := openStore(t, dir)
	reg, err := registry()
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(st, reg, audit.Options{HeadFile: filepath.Join(dir, "audit.head")})
	svc := fhirops.New(log.Wrap(st), reg, fhirops.Options{MaxBundleEntries: maxEntries})
	srv := New(nil, svc, st, reg, Options{
		RateLimit: -1, Authorizer: tokenCheck{}, Audit: appendNow{t, log},
		ExportDir: filepath.Join(dir, "export"), BaseURL: testBase,
	})
	key, err := auth.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(key, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &auditEnv{testEnv: &testEnv{t: t, st: st, svc: svc, srv: srv}, log: log, handler: a.Middleware(srv), authn: a}
}

// token mints a token for sub with scope (and patient, for patient-level
// scopes).
func (e *auditEnv) token(sub, scope, patient string) string {
	e.t.Helper()
	tok, err := e.authn.Mint(auth.Grant{Subject: sub, Scope: scope, Patient: patient})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// as sends a request with a bearer token ("" for none).
func (e *auditEnv) as(token, method, target, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	switch {
	case strings.HasSuffix(r.URL.Path, "/_search"):
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case body != "":
		r.Header.Set("Content-Type", "application/fhir+json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// auditLine is what a test checks of an AuditEvent.
type auditLine struct {
	Seq      int
	Subtype  string // restful interaction, or "110122" (login)
	Action   string
	Outcome  string
	Who      string
	Address  string
	Patient  string
	Entities []string // the other entities' references
	Query    string   // decoded
	Op       string   // outcomeDesc
}

// auditLines decodes the AuditEvents of a search Bundle, by sequence.
func auditLines(t *testing.T, w *httptest.ResponseRecorder) []auditLine {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("AuditEvent search: status %d: %s", w.Code, w.Body)
	}
	var lines []auditLine
	for _, en := range decodeBundle(t, w).Entry {
		var ev struct {
			ID      string
			Subtype []struct{ Code string }
			Action  string
			Outcome string
			Desc    string `json:"outcomeDesc"`
			Agent   []struct {
				Requestor bool
				Who       struct{ Identifier struct{ Value string } }
				Network   struct{ Address string }
			}
			Entity []struct {
				What  struct{ Reference string }
				Role  struct{ Code string }
				Query string
			}
		}
		if err := json.Unmarshal(en.Resource, &ev); err != nil {
			t.Fatal(err)
		}
		seq, _ := strconv.Atoi(strings.TrimPrefix(ev.ID, "audit-"))
		l := auditLine{Seq: seq, Action: ev.Action, Outcome: ev.Outcome, Op: ev.Desc}
		if len(ev.Subtype) > 0 {
			l.Subtype = ev.Subtype[0].Code
		}
		for _, a := range ev.Agent {
			if a.Requestor {
				l.Who, l.Address = a.Who.Identifier.Value, a.Network.Address
			}
		}
		for _, en := range ev.Entity {
			switch en.Role.Code {
			case "1":
				l.Patient = en.What.Reference
			case "24":
				q, _ := base64.StdEncoding.DecodeString(en.Query)
				l.Query = string(q)
			default:
				l.Entities = append(l.Entities, en.What.Reference)
			}
		}
		lines = append(lines, l)
	}
	slices.SortFunc(lines, func(a, b auditLine) int { return a.Seq - b.Seq })
	return lines
}

// TestAuditTrail makes requests of every kind, allowed and refused, and
// finds their AuditEvents by patient and by date.
// SEC-12: reads, searches, writes and operations are recorded with who
// (the token's subject), from where, what, the patient and the outcome.
// SEC-15: a refused token (401) and a refused scope (403) are recorded.
// SEC-16: the records are searchable by patient and by time.
func TestAuditTrail(t *testing.T) {
	e := newAuditEnv(t)
	start := time.Now().UTC().Add(-time.Second)
	admin := e.token("admin-1", "user/*.cruds", "")
	const addr = "192.0.2.1:1234" // httptest's peer address

	w := e.as(admin, "POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"Auditpatient"}]}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create Patient: %d %s", w.Code, w.Body)
	}
	var pat struct{ ID string }
	json.Unmarshal(w.Body.Bytes(), &pat)
	pref := "Patient/" + pat.ID
	w = e.as(admin, "POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"`+pref+`"}}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create Observation: %d %s", w.Code, w.Body)
	}
	var obs struct{ ID string }
	json.Unmarshal(w.Body.Bytes(), &obs)
	oref := "Observation/" + obs.ID
	other := e.token("patient-9", "patient/*.rs", "someone-else")
	for _, c := range []struct {
		token, method, target, body string
		want                        int
	}{
		{admin, "GET", "/fhir/" + oref, "", http.StatusOK},
		{admin, "GET", "/fhir/Observation?patient=" + pref, "", http.StatusOK},
		{admin, "POST", "/fhir/Observation/_search", "patient=" + pref, http.StatusOK},
		{admin, "GET", "/fhir/" + pref + "/$everything", "", http.StatusOK},
		{admin, "GET", "/fhir/" + oref + "/_history", "", http.StatusOK},
		{"", "GET", "/fhir/" + pref, "", http.StatusUnauthorized},
		{"not-a-token", "GET", "/fhir/" + pref, "", http.StatusUnauthorized},
		{other, "GET", "/fhir/" + pref, "", http.StatusForbidden},
		{admin, "DELETE", "/fhir/" + oref, "", http.StatusNoContent},
		{admin, "GET", "/fhir/metadata", "", http.StatusOK}, // not audited
	} {
		if w := e.as(c.token, c.method, c.target, c.body); w.Code != c.want {
			t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.target, w.Code, c.want, w.Body)
		}
	}

	got := auditLines(t, e.as(admin, "GET", "/fhir/AuditEvent?patient="+pref, ""))
	want := []auditLine{
		{Seq: 1, Subtype: "create", Action: "C", Outcome: "0", Who: "admin-1", Address: addr, Patient: pref},
		{Seq: 2, Subtype: "create", Action: "C", Outcome: "0", Who: "admin-1", Address: addr, Patient: pref, Entities: []string{oref}},
		{Seq: 3, Subtype: "read", Action: "R", Outcome: "0", Who: "admin-1", Address: addr, Patient: pref, Entities: []string{oref}},
		{Seq: 4, Subtype: "search-type", Action: "E", Outcome: "0", Who: "admin-1", Address: addr, Patient: pref, Query: "patient=" + pref},
		{Seq: 5, Subtype: "search-type", Action: "E", Outcome: "0", Who: "admin-1", Address: addr, Patient: pref, Query: "patient=" + url.QueryEscape(pref)},
		{Seq: 6, Subtype: "operation", Action: "E", Outcome: "0", Who: "admin-1", Address: addr, Patient: pref, Op: "$everything"},
		// 7: the Observation's history, which names no patient
		{Seq: 8, Subtype: "110122", Action: "E", Outcome: "4", Who: "anonymous", Address: addr, Patient: pref},
		{Seq: 9, Subtype: "110122", Action: "E", Outcome: "4", Who: "anonymous", Address: addr, Patient: pref},
		{Seq: 10, Subtype: "read", Action: "R", Outcome: "4", Who: "patient-9", Address: addr, Patient: pref},
		{Seq: 11, Subtype: "delete", Action: "D", Outcome: "0", Who: "admin-1", Address: addr, Patient: pref, Entities: []string{oref}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AuditEvent?patient=%s (-want +got):\n%s", pref, diff)
	}

	// By time: every record so far is recorded after start, none before.
	// The search above is record 12.
	if n := len(auditLines(t, e.as(admin, "GET", "/fhir/AuditEvent?date=ge"+start.Format(time.RFC3339), ""))); n != 12 {
		t.Errorf("AuditEvent?date=ge%s: %d records, want 12", start.Format(time.RFC3339), n)
	}
	if n := len(auditLines(t, e.as(admin, "GET", "/fhir/AuditEvent?date=lt"+start.Format(time.RFC3339), ""))); n != 0 {
		t.Errorf("AuditEvent?date=lt%s: %d records, want 0", start.Format(time.RFC3339), n)
	}
	rep, err := e.log.Verify(context.Background())
	if err != nil || !rep.OK() || rep.Records != 14 {
		t.Errorf("Verify: %+v, %v; want 14 records intact", rep, err)
	}
}

// TestAuditTransaction checks that a transaction's one record names every
// resource it wrote, committed with them.
// SEC-12: a transaction's record names the resources written.
func TestAuditTransaction(t *testing.T) {
	e := newAuditEnv(t)
	admin := e.token("admin-1", "user/*.cruds", "")
	w := e.as(admin, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		{"fullUrl":"urn:uuid:0b8a2d0e-1c1b-4d4e-9f0a-000000000001","resource":{"resourceType":"Patient","id":"tx1"},"request":{"method":"PUT","url":"Patient/tx1"}},
		{"resource":{"resourceType":"Observation","id":"tx2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/tx1"}},"request":{"method":"PUT","url":"Observation/tx2"}}]}`)
	if w.Code != http.StatusOK {
		t.Fatalf("transaction: %d %s", w.Code, w.Body)
	}
	got := auditLines(t, e.as(admin, "GET", "/fhir/AuditEvent?patient=Patient/tx1", ""))
	want := []auditLine{{Seq: 1, Subtype: "transaction", Action: "E", Outcome: "0", Who: "admin-1", Address: "192.0.2.1:1234", Patient: "Patient/tx1", Entities: []string{"Observation/tx2"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transaction record (-want +got):\n%s", diff)
	}
}

// TestAuditEventReadOnly refuses every write of an AuditEvent, directly
// and in Bundles, with 405, and leaves the chain intact.
// SEC-14: the audit trail cannot be changed through the API.
func TestAuditEventReadOnly(t *testing.T) {
	e := newAuditEnv(t)
	admin := e.token("admin-1", "user/*.cruds", "")
	e.as(admin, "GET", "/fhir/Patient", "") // audit-1
	ev := `{"resourceType":"AuditEvent","id":"audit-1","type":{"code":"rest"},"recorded":"2026-01-01T00:00:00Z","agent":[{"requestor":true}],"source":{"observer":{"display":"x"}}}`
	for _, c := range []struct{ method, target, body string }{
		{"POST", "/fhir/AuditEvent", ev},
		{"PUT", "/fhir/AuditEvent/audit-1", ev},
		{"PUT", "/fhir/AuditEvent?_id=audit-1", ev},
		{"PATCH", "/fhir/AuditEvent/audit-1", `[{"op":"replace","path":"/outcome","value":"0"}]`},
		{"DELETE", "/fhir/AuditEvent/audit-1", ""},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"AuditEvent/audit-1"}}]}`},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + ev + `,"request":{"method":"PUT","url":"AuditEvent/audit-1"}}]}`},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + ev + `,"request":{"method":"POST","url":"AuditEvent"}}]}`},
	} {
		w := e.as(admin, c.method, c.target, c.body)
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: status %d, want 405: %s", c.method, c.target, w.Code, w.Body)
			continue
		}
		if iss := outcome(t, w); iss[0].Code != "not-supported" {
			t.Errorf("%s %s: issue %+v", c.method, c.target, iss)
		}
	}
	if w := e.as(admin, "GET", "/fhir/AuditEvent/audit-1", ""); w.Code != http.StatusOK || w.Header().Get("ETag") != `W/"1"` {
		t.Errorf("audit-1 after the refusals: status %d ETag %s", w.Code, w.Header().Get("ETag"))
	}
	rep, err := e.log.Verify(context.Background())
	if err != nil || !rep.OK() {
		t.Errorf("Verify: %+v, %v", rep, err)
	}
}

// TestAuditWithoutAuth audits a server without authentication: the
// records name no subject but "anonymous".
func TestAuditWithoutAuth(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	reg, err := registry()
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(st, reg, audit.Options{})
	e := newEnvOn(t, st, Options{Audit: appendNow{t, log}})
	e.svc = fhirops.New(log.Wrap(st), reg, fhirops.Options{})
	e.srv = New(nil, e.svc, st, reg, Options{Audit: appendNow{t, log}, RateLimit: -1})
	id := e.create("Patient", `{"resourceType":"Patient"}`)
	e.do("GET", "/fhir/Patient/"+id, "")
	got := auditLines(t, e.do("GET", "/fhir/AuditEvent?patient=Patient/"+id, ""))
	want := []auditLine{
		{Seq: 1, Subtype: "create", Action: "C", Outcome: "0", Who: "anonymous", Address: "192.0.2.1:1234", Patient: "Patient/" + id},
		{Seq: 2, Subtype: "read", Action: "R", Outcome: "0", Who: "anonymous", Address: "192.0.2.1:1234", Patient: "Patient/" + id},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// BenchmarkReadAudited is BenchmarkRead with the audit trail of doppel
// serve: each read's record goes through an audit.Buffer to the store.
// Reads sent back to back outrun the appends, so this measures the
// sustained rate the audit trail allows (the Buffer's back-pressure), not
// the latency of a lone read.
func BenchmarkReadAudited(b *testing.B) {
	dir := b.TempDir()
	st := openStore(b, dir)
	reg, err := registry()
	if err != nil {
		b.Fatal(err)
	}
	log := audit.New(st, reg, audit.Options{HeadFile: filepath.Join(dir, "audit.head")})
	buf := audit.NewBuffer(log, audit.BufferOptions{})
	defer buf.Close()
	e := newEnvOn(b, st, Options{Audit: buf})
	id := e.create("Patient", patientJSON)
	benchLatency(b, e.srv, func() *http.Request { return httptest.NewRequest("GET", "/fhir/Patient/"+id, nil) })
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

// TestAuditCapabilityParams checks that the CapabilityStatement lists as
// AuditEvent search parameters exactly those the audit trail indexes of
// the supported R4 ones (the others would find none of its records).
func TestAuditCapabilityParams(t *testing.T) {
	e := newEnv(t, Options{})
	w := e.do("GET", "/fhir/metadata", "")
	var cs capabilityStatement
	if err := json.Unmarshal(w.Body.Bytes(), &cs); err != nil || len(cs.Rest) != 1 {
		t.Fatalf("metadata: %v: %.300s", err, w.Body)
	}
	var got []string
	for _, r := range cs.Rest[0].Resource {
		if r.Type == auditEventType {
			for _, p := range r.SearchParam {
				got = append(got, p.Name)
			}
		}
	}
	reg, err := registry()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range reg.Params(auditEventType) {
		if p.Supported() && audit.Indexed(p.Code) {
			want = append(want, p.Code)
		}
	}
	if len(want) == 0 || !slices.Contains(want, "patient") || !slices.Contains(want, "date") {
		t.Fatalf("indexed AuditEvent parameters %v lack patient or date", want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AuditEvent searchParam (-want +got):\n%s", diff)
	}
}
