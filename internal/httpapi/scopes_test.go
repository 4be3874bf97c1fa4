package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/auth"
)

// authEnv is a Server behind auth's Middleware and Confine, with the
// Scopes Authorizer, and an instance key to mint tokens with. Patients p1
// and p2 each have an Observation (o1, o2) and an Encounter (e1, e2); o2
// names p2's Encounter... and nothing of p1.
type authEnv struct {
	*testEnv
	a       *auth.Authenticator
	now     time.Time
	handler http.Handler
}

func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	env := &authEnv{testEnv: newEnv(t, Options{Authorizer: Scopes{}, ExportDir: t.TempDir()})}
	key, err := auth.LoadKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env.now = time.Now()
	env.a, err = auth.New(key, auth.Options{Now: func() time.Time { return env.now }})
	if err != nil {
		t.Fatal(err)
	}
	env.handler = env.a.Middleware(Confine(env.srv))
	for _, r := range []struct{ typ, id, body string }{
		{"Patient", "p1", `{"resourceType":"Patient","id":"p1"}`},
		{"Patient", "p2", `{"resourceType":"Patient","id":"p2"}`},
		{"Encounter", "e1", `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p1"}}`},
		{"Encounter", "e2", `{"resourceType":"Encounter","id":"e2","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p2"}}`},
		{"Observation", "o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/e1"}}`},
		{"Observation", "o2", `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/p2"},"encounter":{"reference":"Encounter/e2"}}`},
	} {
		if _, err := env.svc.Update(context.Background(), r.typ, r.id, []byte(r.body), ""); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// token mints a token for g.
func (e *authEnv) token(g auth.Grant) string {
	e.t.Helper()
	if g.Subject == "" {
		g.Subject = "test"
	}
	tok, err := e.a.Mint(g)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// as sends a request with a bearer token ("" for none).
func (e *authEnv) as(token, method, target, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// TestScopesAuthentication: /fhir/metadata is open; every other request
// needs a valid, unexpired token, and is refused with 401 and a
// WWW-Authenticate challenge (SEC-01, SEC-33).
func TestScopesAuthentication(t *testing.T) {
	e := newAuthEnv(t)
	admin := e.token(auth.Grant{Role: "admin"})
	expired := e.token(auth.Grant{Role: "admin", TTL: time.Minute})
	e.now = e.now.Add(10 * time.Minute)
	for _, tc := range []struct {
		name, token, target string
		want                int
		challenge           string
	}{
		{"metadata open", "", "/fhir/metadata", 200, ""},
		{"no token", "", "/fhir/Observation/o1", 401, `Bearer realm="doppel"`},
		{"no token, search", "", "/fhir/Observation", 401, `Bearer realm="doppel"`},
		{"no token, unknown path", "", "/fhir/Nonsense/x/y/z", 401, `Bearer realm="doppel"`},
		{"expired token", expired, "/fhir/Observation/o1", 401, `Bearer realm="doppel", error="invalid_token"`},
		{"forged token", admin[:len(admin)-4] + "AAAA", "/fhir/Observation/o1", 401, `Bearer realm="doppel", error="invalid_token"`},
		{"valid token", admin, "/fhir/Observation/o1", 200, ""},
	} {
		w := e.as(tc.token, "GET", tc.target, "")
		if w.Code != tc.want || w.Header().Get("WWW-Authenticate") != tc.challenge {
			t.Errorf("%s: %d, WWW-Authenticate %q; want %d, %q: %s", tc.name, w.Code, w.Header().Get("WWW-Authenticate"), tc.want, tc.challenge, w.Body)
		}
		if w.Code == 401 {
			outcome(t, w)
		}
	}
}

// TestScopesCompartment: a patient token reaches only its patient's
// compartment over HTTP: reads, searches (whatever their parameters),
// _include and _revinclude, $everything, histories, $export (SEC-02).
func TestScopesCompartment(t *testing.T) {
	e := newAuthEnv(t)
	p1 := e.token(auth.Grant{Role: "patient", Patient: "p1"})
	researcher := e.token(auth.Grant{Role: "researcher"})
	for _, tc := range []struct {
		token, target string
		want          int
		ids           []string // the Bundle's entries, for 200 Bundles
	}{
		// Another patient's data does not exist for p1: 404, not 403, so
		// that a patient cannot probe which ids exist.
		{p1, "/fhir/Observation/o2", 404, nil},
		{p1, "/fhir/Observation/o2/_history/1", 404, nil},
		{p1, "/fhir/Observation/o2/_history", 404, nil},
		{p1, "/fhir/Patient/p2", 404, nil},
		{p1, "/fhir/Observation/o1", 200, nil},
		{p1, "/fhir/Patient/p1", 200, nil},
		{p1, "/fhir/Observation", 200, []string{"Observation/o1"}},
		{p1, "/fhir/Observation?subject=Patient/p2", 200, nil},
		{p1, "/fhir/Observation?_id=o1,o2", 200, []string{"Observation/o1"}},
		{p1, "/fhir/Observation?_include=Observation:encounter", 200, []string{"Observation/o1", "Encounter/e1"}},
		{p1, "/fhir/Encounter?_revinclude=Observation:encounter", 200, []string{"Encounter/e1", "Observation/o1"}},
		{p1, "/fhir/Patient/p1/$everything", 200, []string{"Patient/p1", "Encounter/e1", "Observation/o1"}},
		{p1, "/fhir/Patient/p2/$everything", 403, nil},
		{p1, "/fhir/Observation/_history", 403, nil},
		{p1, "/fhir?_id=o2", 403, nil},
		{p1, "/fhir/Patient/$export", 403, nil},
		{p1, "/fhir/$export", 403, nil},
		{researcher, "/fhir/Observation/o2", 200, nil},
		{researcher, "/fhir/Observation?subject=Patient/p2", 200, []string{"Observation/o2"}},
	} {
		w := e.as(tc.token, "GET", tc.target, "")
		if w.Code != tc.want {
			t.Errorf("GET %s: %d, want %d: %s", tc.target, w.Code, tc.want, w.Body)
			continue
		}
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"Bundle"`) {
			continue
		}
		var ids []string
		for _, en := range decodeBundle(t, w).Entry {
			var r struct{ ResourceType, ID string }
			if err := json.Unmarshal(en.Resource, &r); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ResourceType+"/"+r.ID)
		}
		if diff := cmp.Diff(tc.ids, ids); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tc.target, diff)
		}
	}
}

// TestScopesWrite: writes need write scopes (SEC-03), and a patient token
// writes only in its compartment; a transaction reaching another patient
// is refused whole, naming the entry, and stores nothing (SEC-02).
func TestScopesWrite(t *testing.T) {
	e := newAuthEnv(t)
	p1 := e.token(auth.Grant{Role: "patient", Patient: "p1"}) // patient/*.rs
	p1w := e.token(auth.Grant{Scope: "patient/*.cruds", Patient: "p1"})
	obs := func(pid string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/` + pid + `"}}`
	}
	tx := func(pids ...string) string {
		var es []string
		for _, pid := range pids {
			es = append(es, `{"resource":`+obs(pid)+`,"request":{"method":"POST","url":"Observation"}}`)
		}
		return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(es, ",") + `]}`
	}
	for _, tc := range []struct {
		name, token, method, target, body string
		want                              int
		challenge                         string
		expr                              string
	}{
		{"create without write scope", p1, "POST", "/fhir/Observation", obs("p1"), 403, `Bearer realm="doppel", error="insufficient_scope"`, ""},
		{"delete without write scope", p1, "DELETE", "/fhir/Observation/o1", "", 403, `Bearer realm="doppel", error="insufficient_scope"`, ""},
		{"create for another patient", p1w, "POST", "/fhir/Observation", obs("p2"), 403, "", ""},
		{"update of another patient's Observation", p1w, "PUT", "/fhir/Observation/o2", `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/p1"}}`, 403, "", ""},
		{"transaction reaching another patient", p1w, "POST", "/fhir", tx("p1", "p2"), 403, "", "Bundle.entry[1]"},
		{"transaction without write scope", p1, "POST", "/fhir", tx("p1"), 403, "", "Bundle.entry[0]"},
	} {
		w := e.as(tc.token, tc.method, tc.target, tc.body)
		if w.Code != tc.want || w.Header().Get("WWW-Authenticate") != tc.challenge {
			t.Errorf("%s: %d, WWW-Authenticate %q; want %d, %q: %s", tc.name, w.Code, w.Header().Get("WWW-Authenticate"), tc.want, tc.challenge, w.Body)
			continue
		}
		if tc.expr != "" && !strings.Contains(w.Body.String(), tc.expr) {
			t.Errorf("%s: the outcome does not name %s: %s", tc.name, tc.expr, w.Body)
		}
	}
	if n := e.count("Observation"); n != 2 {
		t.Errorf("%d Observations after the refused writes, want 2", n)
	}
	if w := e.as(p1w, "POST", "/fhir", tx("p1", "p1")); w.Code != 200 {
		t.Errorf("transaction in the own compartment: %d: %s", w.Code, w.Body)
	}
	if w := e.as(p1w, "POST", "/fhir/Observation", obs("p1")); w.Code != 201 {
		t.Errorf("create in the own compartment: %d: %s", w.Code, w.Body)
	}
}

// TestScopesOneType (SEC-03): patient/Observation.rs allows Observation
// read and search, and nothing else: 403 on create, update and delete,
// and on other types, which _include leaves out.
func TestScopesOneType(t *testing.T) {
	e := newAuthEnv(t)
	tok := e.token(auth.Grant{Scope: "patient/Observation.rs", Patient: "p1"})
	o1 := `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/p1"}}`
	for _, tc := range []struct {
		method, target, body string
		want                 int
	}{
		{"GET", "/fhir/Observation/o1", "", 200},
		{"GET", "/fhir/Observation", "", 200},
		{"POST", "/fhir/Observation", o1[:len(`{"resourceType":"Observation",`)] + o1[len(`{"resourceType":"Observation","id":"o1",`):], 403},
		{"PUT", "/fhir/Observation/o1", o1, 403},
		{"DELETE", "/fhir/Observation/o1", "", 403},
		{"GET", "/fhir/Encounter/e1", "", 403},
		{"GET", "/fhir/Encounter", "", 403},
		{"GET", "/fhir/Patient/p1", "", 403},
		{"GET", "/fhir/Patient/p1/$everything", "", 403},
	} {
		if w := e.as(tok, tc.method, tc.target, tc.body); w.Code != tc.want {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.target, w.Code, tc.want, w.Body)
		}
	}
	w := e.as(tok, "GET", "/fhir/Observation?_include=Observation:encounter&_include=Observation:subject", "")
	if b := decodeBundle(t, w); len(b.Entry) != 1 {
		t.Errorf("_include with patient/Observation.rs: %d entries, want o1 alone: %s", len(b.Entry), w.Body)
	}
}
