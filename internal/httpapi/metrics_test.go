package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/httpapi"
	"github.com/doppelhealth/doppel/internal/metrics"
)

// TestMetrics: Instrument counts requests by method and status; Metrics
// serves the registry only to a token that may search the whole system.
func TestMetrics(t *testing.T) {
	reg := metrics.NewRegistry()
	teapot := httpapi.Instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/tea" {
			w.WriteHeader(http.StatusTeapot)
		}
	}), reg)
	for _, target := range []string{"/tea", "/tea", "/Patient/secret-id"} {
		teapot.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", target, nil))
	}
	teapot.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/tea", nil))

	scopes := func(s ...auth.Scope) *auth.Principal { return &auth.Principal{Subject: "s", Scopes: s} }
	tests := []struct {
		name string
		p    *auth.Principal // nil: no token
		want int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"patient", &auth.Principal{Patient: "p1", Scopes: []auth.Scope{{Level: "patient", Type: "*", Perms: "rs"}}}, http.StatusForbidden},
		{"one type", scopes(auth.Scope{Level: "user", Type: "Observation", Perms: "rs"}), http.StatusForbidden},
		{"user/*.rs", scopes(auth.Scope{Level: "user", Type: "*", Perms: "rs"}), http.StatusOK},
		{"system/*.rs", scopes(auth.Scope{Level: "system", Type: "*", Perms: "rs"}), http.StatusOK},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if tc.p != nil {
			r = r.WithContext(auth.NewContext(r.Context(), tc.p))
		}
		rec := httptest.NewRecorder()
		httpapi.Metrics(reg).ServeHTTP(rec, r)
		if rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, rec.Code, tc.want)
		}
		if tc.want != http.StatusOK {
			continue
		}
		body := rec.Body.String()
		for _, line := range []string{
			`doppel_http_requests_total{method="GET",code="418"} 2`,
			`doppel_http_requests_total{method="GET",code="200"} 1`,
			`doppel_http_requests_total{method="other",code="418"} 1`,
			`doppel_http_request_duration_seconds_count{method="GET"} 3`,
		} {
			if !strings.Contains(body, line+"\n") {
				t.Errorf("%s: no line %q in\n%s", tc.name, line, body)
			}
		}
		if strings.Contains(body, "secret-id") {
			t.Errorf("%s: a path is in the metrics", tc.name)
		}
	}
}
