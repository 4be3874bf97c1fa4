package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/internal/auth"
)

// TestServeMetrics: GET /metrics needs a token that may search the whole
// system, and counts the requests served before it and the
// store writes.
func TestServeMetrics(t *testing.T) {
	dir := t.TempDir()
	base, stop := startServe(t, dir)
	defer stop()
	root := strings.TrimSuffix(base, "/fhir")
	send(t, "GET", root+"/healthz", "")
	if code, _, _ := send(t, "GET", root+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: status %d, want 401", code)
	}
	patient := mintToken(t, dir, auth.Grant{Subject: "p", Patient: "p1", Scope: "patient/*.rs"})
	if code, _, _ := send(t, "GET", root+"/metrics", "", "Authorization", "Bearer "+patient); code != http.StatusForbidden {
		t.Errorf("patient token: status %d, want 403", code)
	}
	admin := "Bearer " + adminToken(t, dir)
	if code, _, body := send(t, "POST", base+"/Patient", `{"resourceType":"Patient"}`, "Authorization", admin); code != http.StatusCreated {
		t.Fatalf("create: status %d: %s", code, body)
	}
	code, _, body := send(t, "GET", root+"/metrics", "", "Authorization", admin)
	if code != http.StatusOK || !strings.Contains(string(body), `doppel_http_requests_total{method="GET",code="200"} 1`) ||
		!strings.Contains(string(body), "doppel_store_write_duration_seconds_count 1\n") {
		t.Errorf("admin token: status %d:\n%s", code, body)
	}
}
