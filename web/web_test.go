package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/auth"
)

// testEnv is a dashboard in front of a stand-in API that answers with
// the principal each request reaches it with.
type testEnv struct {
	now  time.Time
	a    *auth.Authenticator
	d    *Dashboard
	srv  http.Handler
	seen []string // "METHOD PATH SUBJECT COMPARTMENT" of the API's requests
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	env := &testEnv{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return env.now }
	key, err := auth.LoadKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if env.a, err = auth.New(key, auth.Options{Now: clock}); err != nil {
		t.Fatal(err)
	}
	if env.d, err = New(Options{Auth: env.a, Now: clock}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/fhir/", func(w http.ResponseWriter, r *http.Request) {
		p, err := auth.FromContext(r.Context())
		if err != nil {
			env.seen = append(env.seen, r.Method+" "+r.URL.Path+" -")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		env.seen = append(env.seen, r.Method+" "+r.URL.Path+" "+p.Subject+" "+p.Compartment())
	})
	mux.Handle("/", env.d)
	env.srv = env.d.Sessions(env.a.Middleware(mux))
	return env
}

// do sends a request with the cookie (if any) and headers.
func (env *testEnv) do(method, target, cookie string, body string, hdr ...string) *http.Response {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	env.srv.ServeHTTP(w, r)
	return w.Result()
}

func sessionCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", CookieName, res.Header)
	return nil
}

// signInByLink follows a fresh one-time link and returns the cookie.
func (env *testEnv) signInByLink(t *testing.T) *http.Cookie {
	t.Helper()
	u, err := url.Parse(env.d.SignInLink("http://example.test"))
	if err != nil {
		t.Fatal(err)
	}
	res := env.do("GET", u.RequestURI(), "", "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("one-time link: %d to %q, want 303 to /", res.StatusCode, res.Header.Get("Location"))
	}
	return sessionCookie(t, res)
}

func TestSignInLink(t *testing.T) {
	env := newTestEnv(t)
	link := env.d.SignInLink("http://127.0.0.1:8080/")
	if !strings.HasPrefix(link, "http://127.0.0.1:8080/signin?code=") {
		t.Fatalf("link %q", link)
	}
	u, _ := url.Parse(link)
	res := env.do("GET", u.RequestURI(), "", "")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %d, want 303", res.StatusCode)
	}
	c := sessionCookie(t, res)
	got := [4]any{c.HttpOnly, c.Secure, c.SameSite, c.Path}
	if want := [4]any{true, false, http.SameSiteStrictMode, "/"}; got != want {
		t.Errorf("cookie HttpOnly, Secure, SameSite, Path = %v, want %v", got, want)
	}
	if res := env.do("GET", "/fhir/Patient", c.Value, ""); res.StatusCode != http.StatusOK {
		t.Errorf("API with the session: %d", res.StatusCode)
	}
	if diff := cmp.Diff([]string{"GET /fhir/Patient local-admin "}, env.seen); diff != "" {
		t.Errorf("API saw (-want +got):\n%s", diff)
	}
	// Used once: refused the second time, without a cookie.
	res = env.do("GET", u.RequestURI(), "", "")
	if res.StatusCode != http.StatusUnauthorized || len(res.Cookies()) != 0 {
		t.Errorf("second use: %d with cookies %v, want 401 and none", res.StatusCode, res.Cookies())
	}
	// Expired.
	u2, _ := url.Parse(env.d.SignInLink("http://x"))
	env.now = env.now.Add(DefaultCodeTTL + time.Second)
	if res := env.do("GET", u2.RequestURI(), "", ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired code: %d, want 401", res.StatusCode)
	}
	if res := env.do("GET", "/signin?code=made-up", "", ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown code: %d, want 401", res.StatusCode)
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	env := newTestEnv(t)
	u, _ := url.Parse(env.d.SignInLink("https://x"))
	r := httptest.NewRequest("GET", "https://x"+u.RequestURI(), nil)
	w := httptest.NewRecorder()
	env.srv.ServeHTTP(w, r)
	if c := sessionCookie(t, w.Result()); !c.Secure {
		t.Error("cookie over TLS is not Secure")
	}
}

func TestSignInToken(t *testing.T) {
	env := newTestEnv(t)
	patientTok, err := env.a.Mint(auth.Grant{Subject: "pat", Role: "patient", Patient: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := env.a.Mint(auth.Grant{Subject: "old", Role: "clinician", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	env.now = env.now.Add(3 * time.Minute) // past the leeway
	defer func() { env.now = env.now.Add(-3 * time.Minute) }()
	fresh, err := env.a.Mint(auth.Grant{Subject: "doc", Role: "clinician", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	json := "application/json"
	tests := []struct {
		name, body string
		hdr        []string
		status     int
		wantErr    string
	}{
		{"form", "token=" + fresh, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "JSON"},
		{"other site", `{"token":"` + fresh + `"}`, []string{"Content-Type", json, "Origin", "https://evil.test"}, 403, "another site"},
		{"not JSON", `{"token":`, []string{"Content-Type", json}, 400, "the body must be"},
		{"unknown field", `{"token":"x","role":"admin"}`, []string{"Content-Type", json}, 400, "the body must be"},
		{"empty", `{"token":"  "}`, []string{"Content-Type", json}, 400, "empty"},
		{"garbage", `{"token":"abc"}`, []string{"Content-Type", json}, 401, "not a JWS"},
		{"expired", `{"token":"` + expired + `"}`, []string{"Content-Type", json}, 401, "expired"},
		{"clinician", `{"token":"` + fresh + `"}`, []string{"Content-Type", json, "Origin", "http://example.com"}, 204, ""},
		{"patient", `{"token":"` + patientTok + `"}`, []string{"Content-Type", json}, 204, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := env.do("POST", "/signin", "", tc.body, tc.hdr...)
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status || !strings.Contains(string(b), tc.wantErr) {
				t.Fatalf("status %d body %s, want %d with %q", res.StatusCode, b, tc.status, tc.wantErr)
			}
			if tc.status != 204 {
				return
			}
			c := sessionCookie(t, res)
			env.seen = nil
			env.do("GET", "/fhir/Observation", c.Value, "")
			if tc.name == "patient" && (len(env.seen) != 1 || env.seen[0] != "GET /fhir/Observation pat Patient/p1") {
				t.Errorf("patient session reached the API as %q, want confined to Patient/p1", env.seen)
			}
		})
	}
}

func TestSessionExpiresWithToken(t *testing.T) {
	env := newTestEnv(t)
	tok, err := env.a.Mint(auth.Grant{Subject: "doc", Role: "clinician", TTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	res := env.do("POST", "/signin", "", `{"token":"`+tok+`"}`, "Content-Type", "application/json")
	c := sessionCookie(t, res)
	if want := env.now.Add(10 * time.Minute); !c.Expires.Equal(want) {
		t.Errorf("cookie expires %v, want the token's expiry %v", c.Expires, want)
	}
	if res := env.do("GET", "/", c.Value, ""); res.StatusCode != http.StatusOK {
		t.Fatalf("page within the session: %d", res.StatusCode)
	}
	env.now = env.now.Add(10 * time.Minute)
	if res := env.do("GET", "/", c.Value, ""); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Errorf("page after the session: %d to %q, want 303 to /signin", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestCSRF(t *testing.T) {
	env := newTestEnv(t)
	c := env.signInByLink(t)
	res := env.do("GET", "/session", c.Value, "")
	var info SessionInfo
	decodeJSON(t, res, &info)
	if info.Subject != "local-admin" || info.Role != "admin" || !info.Audit || info.Patient != "" || len(info.CSRF) != 64 {
		t.Fatalf("session info %+v", info)
	}
	tests := []struct {
		name, method, token string
		status              int
		reached             bool
	}{
		{"GET needs none", "GET", "", 200, true},
		{"POST without", "POST", "", 403, false},
		{"POST wrong", "POST", strings.Repeat("0", 64), 403, false},
		{"POST right", "POST", info.CSRF, 200, true},
		{"DELETE without", "DELETE", "", 403, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env.seen = nil
			res := env.do(tc.method, "/fhir/Observation", c.Value, "{}", CSRFHeader, tc.token)
			if res.StatusCode != tc.status || (len(env.seen) == 1) != tc.reached {
				t.Errorf("status %d, reached the API %v; want %d, %v", res.StatusCode, len(env.seen) == 1, tc.status, tc.reached)
			}
		})
	}
	// A bearer token of the client's own is used as it is, without CSRF.
	tok, _ := env.a.Mint(auth.Grant{Subject: "api", Role: "researcher"})
	env.seen = nil
	env.do("POST", "/fhir/Observation", c.Value, "{}", "Authorization", "Bearer "+tok)
	if diff := cmp.Diff([]string{"POST /fhir/Observation api "}, env.seen); diff != "" {
		t.Errorf("bearer request (-want +got):\n%s", diff)
	}
	// Sign-out needs the CSRF token too, then ends the session.
	if res := env.do("POST", "/signout", c.Value, ""); res.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out without CSRF: %d, want 403", res.StatusCode)
	}
	if res := env.do("POST", "/signout", c.Value, "", CSRFHeader, info.CSRF); res.StatusCode != http.StatusNoContent {
		t.Errorf("sign-out: %d, want 204", res.StatusCode)
	}
	if res := env.do("GET", "/session", c.Value, ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("session after sign-out: %d, want 401", res.StatusCode)
	}
}

func TestPages(t *testing.T) {
	env := newTestEnv(t)
	c := env.signInByLink(t)
	tests := []struct {
		name, path, cookie string
		status             int
		location, ctype    string
	}{
		{"app signed out", "/", "", 303, "/signin", ""},
		{"other page signed out", "/patients", "", 303, "/signin", ""},
		{"sign-in page", "/signin", "", 200, "", "text/html; charset=utf-8"},
		{"static signed out", "/static/js/app.js", "", 200, "", "text/javascript; charset=utf-8"},
		{"uPlot", "/static/vendor/uplot/uPlot.min.css", "", 200, "", "text/css; charset=utf-8"},
		{"app", "/", c.Value, 200, "", "text/html; charset=utf-8"},
		{"unknown page", "/nope", c.Value, 404, "", "text/plain; charset=utf-8"},
		{"missing file", "/static/nope.js", "", 404, "", "text/plain; charset=utf-8"},
		{"session signed out", "/session", "", 401, "", "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := env.do("GET", tc.path, tc.cookie, "")
			got := [3]any{res.StatusCode, res.Header.Get("Location"), res.Header.Get("Content-Type")}
			want := [3]any{tc.status, tc.location, tc.ctype}
			if tc.ctype == "" {
				want[2] = res.Header.Get("Content-Type")
			}
			if got != want {
				t.Errorf("status, location, type = %v, want %v", got, want)
			}
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") || res.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("security headers: CSP %q, X-Frame-Options %q", csp, res.Header.Get("X-Frame-Options"))
			}
		})
	}
}

// TestStaticFilesAreSafe holds the pages to the CSP and the escaping
// rule: no inline script or style in the HTML, and no script that parses
// strings as HTML.
func TestStaticFilesAreSafe(t *testing.T) {
	inlineScript := regexp.MustCompile(`(?is)<script(?:[^>]*)>\s*[^<\s]`)
	bad := []*regexp.Regexp{
		regexp.MustCompile(`<style`), regexp.MustCompile(`\sstyle=`), regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function`),
		regexp.MustCompile(`https?://(?:[a-z0-9-]+\.)+[a-z]{2,}/`), // nothing from the network (loinc.org system URI aside)
	}
	err := fs.WalkDir(embedded, "static", func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || strings.HasPrefix(path, "static/vendor/") {
			return err
		}
		b, err := fs.ReadFile(embedded, path)
		if err != nil {
			return err
		}
		text := strings.ReplaceAll(string(b), "http://loinc.org", "")
		if strings.HasSuffix(path, ".html") && inlineScript.MatchString(text) {
			t.Errorf("%s: inline script", path)
		}
		for _, re := range bad {
			if loc := re.FindStringIndex(text); loc != nil {
				t.Errorf("%s: %q", path, text[loc[0]:loc[1]])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSessionOffers: GET /session tells the pages what the token may do:
// the hospital page needs read and search on Encounter and Location
// outside a patient's compartment, as POST /twin/hospital/forecast does.
func TestSessionOffers(t *testing.T) {
	env := newTestEnv(t)
	tests := []struct {
		name            string
		grant           auth.Grant
		audit, hospital bool
	}{
		{"clinician", auth.Grant{Subject: "doc", Role: "clinician"}, true, true},
		{"bed manager", auth.Grant{Subject: "beds", Scope: "user/Encounter.rs user/Location.rs"}, false, true},
		{"no Location", auth.Grant{Subject: "enc", Scope: "user/Encounter.rs"}, false, false},
		{"read only", auth.Grant{Subject: "ro", Scope: "user/Encounter.r user/Location.r"}, false, false},
		{"patient", auth.Grant{Subject: "pat", Role: "patient", Patient: "p1"}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := env.a.Mint(tc.grant)
			if err != nil {
				t.Fatal(err)
			}
			c := sessionCookie(t, env.do("POST", "/signin", "", `{"token":"`+tok+`"}`, "Content-Type", "application/json"))
			var info SessionInfo
			decodeJSON(t, env.do("GET", "/session", c.Value, ""), &info)
			if info.Audit != tc.audit || info.Hospital != tc.hospital {
				t.Errorf("audit %v, hospital %v; want %v, %v", info.Audit, info.Hospital, tc.audit, tc.hospital)
			}
		})
	}
}
