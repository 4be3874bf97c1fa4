package httpapi

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSecurityHeaders (SEC-39, SEC-19): every response, success or error,
// carries the CSP, nosniff, frame and referrer headers; every response
// but the CapabilityStatement is no-store; HSTS goes out over TLS only.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.create("Patient", patientJSON)
	always := map[string]string{
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	}
	for _, tc := range []struct {
		name, target string
		tls          bool
		status       int
		noStore      bool
	}{
		{"read", "/fhir/Patient/" + id, false, 200, true},
		{"search", "/fhir/Patient?family=Chalmers", false, 200, true},
		{"not found", "/fhir/Patient/nope", false, 404, true},
		{"no route", "/elsewhere", false, 404, true},
		{"bad request", "/fhir/Patient?birthdate=notadate", false, 400, true},
		{"metadata", "/fhir/metadata", false, 200, false},
		{"read over TLS", "/fhir/Patient/" + id, true, 200, true},
	} {
		r := httptest.NewRequest("GET", tc.target, nil)
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, r)
		if w.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.status)
		}
		h := w.Header()
		for k, v := range always {
			if got := h.Get(k); got != v {
				t.Errorf("%s: %s %q, want %q", tc.name, k, got, v)
			}
		}
		if got, want := h.Get("Cache-Control") == "no-store", tc.noStore; got != want {
			t.Errorf("%s: Cache-Control %q, want no-store: %v", tc.name, h.Get("Cache-Control"), want)
		}
		if got := h.Get("Strict-Transport-Security"); (got == hsts) != tc.tls || (got != "" && !tc.tls) {
			t.Errorf("%s: Strict-Transport-Security %q over TLS %v", tc.name, got, tc.tls)
		}
	}
}

// TestSecurityHeadersOnPanic: a 500 from a panic has the headers too.
func TestSecurityHeadersOnPanic(t *testing.T) {
	e := newEnv(t, Options{Authorizer: panicker{}})
	w := e.do("GET", "/fhir/Patient/1", "")
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	for _, k := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Cache-Control"} {
		if w.Header().Get(k) == "" {
			t.Errorf("500 lacks %s", k)
		}
	}
}
