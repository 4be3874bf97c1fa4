package main

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditVerify audits two exports, checks that doppel audit verify
// passes, deletes the first AuditEvent row behind the store's back and
// expects a non-zero exit naming seq 1.
// SEC-14: the audit trail is hash-chained and a deleted entry is detected.
func TestAuditVerify(t *testing.T) {
	data := importSynthea(t)
	key := writeKey(t)
	for range 2 {
		if code, _, errOut := doppel(t, "export", "--data", data, "--deid", "safe-harbor", "--key-file", key, "--out", t.TempDir()); code != 0 {
			t.Fatalf("export: exit %d: %s", code, errOut)
		}
	}
	code, out, errOut := doppel(t, "audit", "verify", "--data", data)
	if code != 0 || !strings.Contains(out, "audit chain intact: 2 records, last seq 2") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	db, err := sql.Open("sqlite", filepath.Join(data, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM resources WHERE type = 'AuditEvent' AND id = 'audit-1'"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errOut = doppel(t, "audit", "verify", "--data", data)
	if code != exitFailure || !strings.Contains(out, "seq 1: missing") || !strings.Contains(errOut, "audit chain broken") {
		t.Errorf("verify after deleting seq 1: exit %d\n%s%s", code, out, errOut)
	}
}
