package main

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestServeAudit serves a session of requests with a token, stops the
// server (the buffered records are flushed), finds the records by patient
// on a second server, passes doppel audit verify, then edits one record's
// outcome behind the store's back, with its content hash recomputed as a
// careful intruder would, and expects verify to fail naming it.
// SEC-12, SEC-16: every request recorded and searchable by patient.
// SEC-15: a request without a token (401) is recorded as a failed login.
// SEC-14: tampering with one record is detected end to end.
func TestServeAudit(t *testing.T) {
	dir := t.TempDir()
	code, tok, errOut := doppel(t, "token", "--data", dir, "--scope", "user/*.cruds", "--sub", "e2e-user")
	if code != exitOK {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	bearer := "Bearer " + strings.TrimSpace(tok)
	base, stop := startServe(t, dir)
	code, loc, body := send(t, "POST", base+"/Patient", `{"resourceType":"Patient","name":[{"family":"Auditserve"}]}`, "Authorization", bearer)
	if code != http.StatusCreated {
		stop()
		t.Fatalf("create: %d %s", code, body)
	}
	id := strings.Split(strings.TrimPrefix(loc, base+"/Patient/"), "/")[0]
	for _, target := range []string{"/Patient/" + id, "/Observation?patient=Patient/" + id, "/Patient/" + id + "/$everything"} {
		if code, _, body := send(t, "GET", base+target, "", "Authorization", bearer); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", target, code, body)
		}
	}
	if code, _, _ := send(t, "GET", base+"/Patient/"+id, ""); code != http.StatusUnauthorized {
		t.Errorf("read without a token: %d, want 401", code)
	}
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("serve exit %d: %s", code, stderr)
	}

	base, stop = startServe(t, dir)
	code, _, body = send(t, "GET", base+"/AuditEvent?patient=Patient/"+id+"&_count=100", "", "Authorization", bearer)
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("serve exit %d: %s", code, stderr)
	}
	var b struct {
		Entry []struct {
			Resource struct {
				ID      string
				Subtype []struct{ Code string }
			}
		}
	}
	if err := json.Unmarshal(body, &b); err != nil || code != http.StatusOK {
		t.Fatalf("AuditEvent search: %d %s", code, body)
	}
	got := map[string]string{} // subtype by id
	for _, e := range b.Entry {
		got[e.Resource.ID] = e.Resource.Subtype[0].Code
	}
	want := map[string]string{"audit-1": "create", "audit-2": "read", "audit-3": "search-type", "audit-4": "operation", "audit-5": "110122"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AuditEvent?patient=Patient/%s (-want +got):\n%s", id, diff)
	}

	code, out, errOut := doppel(t, "audit", "verify", "--data", dir)
	if code != exitOK || !strings.Contains(out, "audit chain intact: 6 records, last seq 6") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ev []byte
	if err := db.QueryRow("SELECT body FROM resources WHERE type = 'AuditEvent' AND id = 'audit-2'").Scan(&ev); err != nil {
		t.Fatal(err)
	}
	forged := bytes.Replace(ev, []byte(`"outcome":"0"`), []byte(`"outcome":"4"`), 1)
	if bytes.Equal(forged, ev) {
		t.Fatalf("audit-2 has no outcome 0: %s", ev)
	}
	sum := sha256.Sum256(forged)
	if _, err := db.Exec("UPDATE resources SET body = ?, hash = ? WHERE type = 'AuditEvent' AND id = 'audit-2'", forged, sum[:]); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = doppel(t, "audit", "verify", "--data", dir)
	if code != exitFailure || !strings.Contains(out, "seq 2: edited") {
		t.Errorf("verify after editing seq 2: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit.head")); err != nil {
		t.Errorf("head file: %v", err)
	}
}

// TestServeDeidKeyPolicy refuses a --deid-key-file inside --data.
func TestServeDeidKeyPolicy(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "deid.key")
	if err := os.WriteFile(key, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := doppel(t, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--deid-key-file", key)
	if code != exitUsage || !strings.Contains(errOut, "--deid-key-file must be outside the data directory") {
		t.Errorf("key inside --data: exit %d: %s", code, errOut)
	}
}

// TestServeExportDeid exports with _deid=safe-harbor from a server given
// --deid-key-file and finds no name of the input in the files.
// SEC-28: the de-identified export holds none of the patient's names.
func TestServeExportDeid(t *testing.T) {
	dir := t.TempDir()
	code, tok, errOut := doppel(t, "token", "--data", dir, "--scope", "user/*.cruds", "--sub", "researcher-1")
	if code != exitOK {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	auth := []string{"Authorization", "Bearer " + strings.TrimSpace(tok)}
	base, stop := startServe(t, dir, "--deid-key-file", writeKey(t))
	defer stop()
	if code, _, body := send(t, "POST", base+"/Patient", `{"resourceType":"Patient","name":[{"family":"Deidserve","given":["Ottoline"]}]}`, auth...); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	code, status, body := send(t, "GET", base+"/$export?_deid=safe-harbor", "", append(auth, "Prefer", "respond-async")...)
	if code != http.StatusAccepted {
		t.Fatalf("kick-off: %d %s", code, body)
	}
	for code == http.StatusAccepted {
		time.Sleep(10 * time.Millisecond)
		code, _, body = send(t, "GET", status, "", auth...)
	}
	var m struct{ Output []struct{ URL string } }
	if err := json.Unmarshal(body, &m); err != nil || code != http.StatusOK || len(m.Output) != 1 {
		t.Fatalf("manifest: %d %s", code, body)
	}
	code, _, body = send(t, "GET", m.Output[0].URL, "", auth...)
	if code != http.StatusOK || !strings.Contains(string(body), `"resourceType":"Patient"`) || strings.Contains(string(body), "Deidserve") || strings.Contains(string(body), "Ottoline") {
		t.Errorf("Patient file: %d, want a Patient without its names: %s", code, body)
	}
}

// TestAuditVerifyEncrypted verifies the audit trail of a store serve
// encrypts at rest: with the key it is intact, without it refused.
// SEC-14, SEC-24: the chain is checked on the encrypted store too.
func TestAuditVerifyEncrypted(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(key, []byte(strings.Repeat("cd", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, dir, "--encryption-key-file", key)
	if code, _, body := send(t, "POST", base+"/Patient", `{"resourceType":"Patient"}`, "Authorization", "Bearer "+adminToken(t, dir)); code != http.StatusCreated {
		t.Errorf("create: %d %s", code, body)
	}
	send(t, "GET", base+"/Patient", "")
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("serve exit %d: %s", code, stderr)
	}
	if code, out, errOut := doppel(t, "audit", "verify", "--data", dir, "--encryption-key-file", key); code != exitOK || !strings.Contains(out, "audit chain intact: 2 records") {
		t.Errorf("verify with the key: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := doppel(t, "audit", "verify", "--data", dir); code != exitUsage || !strings.Contains(errOut, "--encryption-key-file") {
		t.Errorf("verify without the key: exit %d: %s", code, errOut)
	}
}
