package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// syntheaBundle is a Synthea patient bundle kept with the de-identifier's
// test data (provenance in internal/deid/testdata/README.md).
var syntheaBundles = []string{
	"../../internal/deid/testdata/synthea/practitionerInformation1559319163815.json",
	"../../internal/deid/testdata/synthea/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json",
}

// importSynthea imports the Synthea bundles into a new data directory.
func importSynthea(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	args := append([]string{"import", "--data", data}, syntheaBundles...)
	if code, _, errOut := doppel(t, args...); code != 0 {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	return data
}

// writeKey writes a 32-byte key file outside the data directory.
func writeKey(t *testing.T) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "deid.key")
	if err := os.WriteFile(key, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return key
}

// TestExportDeid exports a store holding a Synthea patient and checks the
// NDJSON: no name of the input, pseudonymous ids that still link.
// SEC-28: the de-identified export holds none of the patient's names.
// SEC-31: ids are keyed pseudonyms and references follow them.
func TestExportDeid(t *testing.T) {
	data := importSynthea(t)
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, errOut := doppel(t, "export", "--data", data, "--deid", "safe-harbor", "--key-file", writeKey(t), "--out", out)
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, "Patient.ndjson") || !strings.Contains(stdout, "exported ") {
		t.Errorf("stdout:\n%s", stdout)
	}
	names := map[string]bool{}
	for _, b := range syntheaBundles {
		raw, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			Entry []struct {
				Resource struct {
					Name json.RawMessage // HumanNames, or an Organization's string
				}
			}
		}
		if err := json.Unmarshal(raw, &bundle); err != nil {
			t.Fatal(err)
		}
		for _, e := range bundle.Entry {
			var hn []struct {
				Family string
				Given  []string
			}
			_ = json.Unmarshal(e.Resource.Name, &hn) // a string name is not a person's
			for _, n := range hn {
				for _, part := range append(n.Given, n.Family) {
					names[part] = true
				}
			}
		}
	}
	if !names["Clemente"] || !names["Kreiger"] {
		t.Fatalf("names not collected: %d", len(names))
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.ndjson"))
	var patientID string
	subjects := map[string]int{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		for n := range names {
			if strings.Contains(text, `"`+n+`"`) || strings.Contains(text, " "+n) {
				t.Errorf("%s holds the name %q", filepath.Base(f), n)
			}
		}
		for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
			var r struct {
				ResourceType, ID string
				Subject          struct{ Reference string }
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			if r.ResourceType == "Patient" {
				patientID = r.ID
			}
			if r.ResourceType == "Observation" {
				subjects[r.Subject.Reference]++
			}
		}
	}
	if len(patientID) != 32 || len(subjects) != 1 || subjects["Patient/"+patientID] == 0 {
		t.Errorf("patient %q, Observation subjects %v: want one 32-hex pseudonym referred to by every Observation", patientID, subjects)
	}
	if fi, err := os.Stat(filepath.Join(out, "Patient.ndjson")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("Patient.ndjson: %v, mode %v; want 0600", err, fi.Mode())
	}
}

func TestExportUsage(t *testing.T) {
	data := t.TempDir()
	inside := filepath.Join(data, "deid.key")
	if err := os.WriteFile(inside, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(t.TempDir(), "short.key")
	if err := os.WriteFile(short, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := writeKey(t)
	out := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--key-file", key, "--out", out}, `--deid "": want safe-harbor`},
		{[]string{"--deid", "safe-harbor", "--key-file", inside, "--out", out}, "--key-file must be outside the data directory"},
		{[]string{"--deid", "safe-harbor", "--key-file", short, "--out", out}, "at least 32 bytes"},
		{[]string{"--deid", "safe-harbor", "--out", out}, "--key-file is required"},
		{[]string{"--deid", "safe-harbor", "--key-file", key, "--out", out, "--dates", "month"}, `--dates "month"`},
	} {
		code, _, errOut := doppel(t, append([]string{"export", "--data", data}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// TestExportAuditEncrypted (SEC-24, SEC-14): doppel export and doppel
// audit verify read a store encrypted at rest with its key: the export
// holds the patient (de-identified) and its audit record is chained. Without
// the key both refuse the store (exit 2, no output directory), and with
// another key they fail (exit 1).
func TestExportAuditEncrypted(t *testing.T) {
	data, key := importSealed(t)
	out := filepath.Join(t.TempDir(), "out")
	export := []string{"export", "--data", data, "--deid", "safe-harbor", "--key-file", writeKey(t), "--out", out}
	if code, stdout, errOut := doppel(t, append(export, "--encryption-key-file", key)...); code != exitOK || !strings.Contains(stdout, "Patient.ndjson") {
		t.Fatalf("export with the key: exit %d\n%s%s", code, stdout, errOut)
	}
	b, err := os.ReadFile(filepath.Join(out, "Patient.ndjson"))
	if err != nil || bytes.Count(b, []byte("\n")) != 1 || bytes.Contains(b, []byte("Kreiger")) {
		t.Errorf("Patient.ndjson: want one de-identified Patient, got %q, %v", b, err)
	}
	verify := []string{"audit", "verify", "--data", data}
	if code, stdout, errOut := doppel(t, append(verify, "--encryption-key-file", key)...); code != exitOK || !strings.Contains(stdout, "audit chain intact: 1 records, last seq 1") {
		t.Errorf("verify with the key: exit %d\n%s%s", code, stdout, errOut)
	}

	other := storeKey(t, "77")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{export, exitUsage, "the store is encrypted: give --encryption-key-file"},
		{append(export, "--encryption-key-file", other), exitFailure, "not the one this store was written with"},
		{verify, exitUsage, "the store is encrypted: give --encryption-key-file"},
		{append(verify, "--encryption-key-file", other), exitFailure, "not the one this store was written with"},
	} {
		os.RemoveAll(out)
		code, stdout, errOut := doppel(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || stdout != "" {
			t.Errorf("doppel %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, stdout, errOut, c.code, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("doppel %s: the output directory was made", strings.Join(c.args, " "))
		}
	}
}
