package main

import (
	"bytes"
	"context"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
)

// writeFiles writes name -> content into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// openService opens the store of sf for checks.
func openService(t *testing.T, sf storeFlags) *fhirops.Service {
	t.Helper()
	st, _, err := openStore(context.Background(), sf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return fhirops.New(st, reg, fhirops.Options{})
}

// count runs a search and returns its total.
func count(t *testing.T, s *fhirops.Service, typ, query string) int {
	t.Helper()
	vals, _ := url.ParseQuery(query + "&_summary=count")
	data, err := s.Search(context.Background(), typ, vals, true, "")
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, query, err)
	}
	_, rest, ok := strings.Cut(string(data), `"total":`)
	if !ok {
		t.Fatalf("no total in %s", data)
	}
	n := 0
	for _, c := range rest {
		if c < '0' || c > '9' {
			break
		}
		n = 10*n + int(c-'0')
	}
	return n
}

func TestImport(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	writeFiles(t, in, map[string]string{
		// Named to sort before the Organization's file: the patient Bundle
		// refers to it by a conditional reference, so import must load
		// the Organization-only file first.
		"a_patient.json": `{"resourceType":"Bundle","type":"transaction","entry":[
		  {"fullUrl":"urn:uuid:0b0e0001-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","name":[{"family":"Imported"}]},"request":{"method":"POST","url":"Patient"}},
		  {"resource":{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"urn:uuid:0b0e0001-0000-4000-8000-000000000001"},
		    "serviceProvider":{"reference":"Organization?identifier=http://x|org1"}},"request":{"method":"POST","url":"Encounter"}}]}`,
		"b_hospital.json": `{"resourceType":"Bundle","type":"transaction","entry":[
		  {"fullUrl":"urn:uuid:0b0e0001-0000-4000-8000-000000000002","resource":{"resourceType":"Organization","identifier":[{"system":"http://x","value":"org1"}]},"request":{"method":"POST","url":"Organization"}}]}`,
		"c.ndjson": `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/elsewhere"}}

{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"y"}}
`,
		"d_collection.json": `{"resourceType":"Bundle","type":"collection","entry":[
		  {"resource":{"resourceType":"Practitioner","id":"dr1"}},{"resource":{"resourceType":"Practitioner","id":"dr2"}}]}`,
		"notes.txt": "not imported",
	})
	code, out, errOut := doppel(t, "import", in, "--data", data)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, want := range []string{"imported 7 resources from 4 of 4 files", "Encounter", "Observation", "Organization", "Patient", "Practitioner"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	s := openService(t, storeFlags{data: data, kind: "sqlite"})
	for _, c := range []struct {
		typ, query string
		want       int
	}{
		{"Patient", "family=imported", 1},
		{"Encounter", "status=finished&service-provider:Organization.identifier=http://x|org1", 1},
		{"Encounter", "subject:Patient.family=imported", 1},
		{"Observation", "_id=o1,o2", 2},
		{"Practitioner", "_id=dr1,dr2", 2},
	} {
		if got := count(t, s, c.typ, c.query); got != c.want {
			t.Errorf("%s?%s: %d, want %d", c.typ, c.query, got, c.want)
		}
	}
}

func TestImportBadFiles(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	writeFiles(t, in, map[string]string{
		"bad.json": `{"resourceType":"Bundle","type":"transaction","entry":[
		  {"resource":{"resourceType":"Patient","name":[{"family":"Bad"}]},"request":{"method":"POST","url":"Patient"}},
		  {"resource":{"resourceType":"Observation","status":false,"code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}]}`,
		"bad.ndjson": `{"resourceType":"Patient","id":"n1","name":[{"family":"Bad"}]}
{"resourceType":"Patient","id":"n2","birthDate":"yesterday"}
`,
		"broken.json": `{"resourceType":"Bundle",`,
		"good.json":   `{"resourceType":"Patient","id":"g1","name":[{"family":"Good"}]}`,
		"single.json": `{"resourceType":"Patient","id":"s1","gender":3}`,
		"batch.json": `{"resourceType":"Bundle","type":"batch","entry":[
		  {"resource":{"resourceType":"Patient","name":[{"family":"Good"}]},"request":{"method":"POST","url":"Patient"}},
		  {"resource":{"resourceType":"Patient","gender":4},"request":{"method":"POST","url":"Patient"}}]}`,
	})
	code, out, errOut := doppel(t, "import", in, "--data", data)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailure, errOut)
	}
	for _, want := range []string{
		"bad.json: fhir: Bundle.entry[1].resource.status",
		"bad.ndjson: fhir: line 2: birthDate",
		"broken.json: not a JSON resource",
		"single.json: fhir: Patient.gender",
		"batch.json: fhir: Bundle.entry[1].resource.gender: 400 Bad Request",
		"5 of 6 files not imported",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "imported 1 resources from 1 of 6 files") {
		t.Errorf("stdout:\n%s", out)
	}
	s := openService(t, storeFlags{data: data, kind: "sqlite"})
	if n := count(t, s, "Patient", "family=bad"); n != 0 {
		t.Errorf("%d Patients of the bad files stored, want 0", n)
	}
	if n := count(t, s, "Patient", "family=good"); n != 2 {
		t.Errorf("%d Patients of the good file and the batch's good entry stored, want 2", n)
	}
}

func TestImportUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"import"}, "requires at least 1 arg"},
		{[]string{"import", filepath.Join(dir, "missing")}, "no such file or directory"},
		{[]string{"import", dir, "--store", "mongo"}, `--store "mongo": want sqlite or postgres`},
		{[]string{"import", dir, "--store", "postgres"}, "--store postgres needs --dsn"},
	} {
		code, _, errOut := doppel(t, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("doppel %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), code, errOut, c.want)
		}
	}
}

// storeKey writes a store encryption key file (hex, mode 0600) outside
// any data directory.
func storeKey(t *testing.T, hexByte string) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "store.key")
	if err := os.WriteFile(key, []byte(strings.Repeat(hexByte, 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return key
}

// importSealed imports the Synthea bundles into a new data directory
// encrypted with a new key, and returns both.
func importSealed(t *testing.T) (data, key string) {
	t.Helper()
	data, key = t.TempDir(), storeKey(t, "5a")
	args := append([]string{"import", "--data", data, "--encryption-key-file", key}, syntheaBundles...)
	if code, _, errOut := doppel(t, args...); code != exitOK {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	return data, key
}

// TestImportEncrypted (SEC-24): doppel import with --encryption-key-file
// writes an encrypted store: the files under the data directory hold no
// name of the Synthea bundles, and the store opened with the key finds the
// patient by name. Without the key or with another one, import refuses the
// store (exit 2 and 1) and writes nothing; a key is refused for a clear
// store that holds data.
func TestImportEncrypted(t *testing.T) {
	data, key := importSealed(t)
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		for _, name := range []string{"Kreiger", "Clemente", "Kassulke", "Dibbert", "Gleason"} {
			if bytes.Contains(b, []byte(name)) {
				t.Errorf("%s holds the name %s", path, name)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	in := t.TempDir()
	writeFiles(t, in, map[string]string{"p.json": `{"resourceType":"Patient","id":"late","name":[{"family":"Latecomer"}]}`})
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "the store is encrypted: give --encryption-key-file"},
		{[]string{"--encryption-key-file", storeKey(t, "77")}, exitFailure, "--encryption-key-file: sealed: the encryption key is not the one this store was written with"},
	} {
		code, out, errOut := doppel(t, append([]string{"import", in, "--data", data}, c.args...)...)
		if code != c.code || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("import %q: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errOut, c.code, c.want)
		}
	}

	s := openService(t, storeFlags{data: data, kind: "sqlite", keyFile: key})
	for _, c := range []struct {
		typ, query string
		want       int
	}{
		{"Patient", "family=Kreiger", 1},
		{"Patient", "_id=late", 0},
		{"Practitioner", "family=Dibbert", 1},
	} {
		if got := count(t, s, c.typ, c.query); got != c.want {
			t.Errorf("%s?%s: %d, want %d", c.typ, c.query, got, c.want)
		}
	}

	clear := t.TempDir()
	if code, _, errOut := doppel(t, "import", in, "--data", clear); code != exitOK {
		t.Fatalf("import in clear: exit %d: %s", code, errOut)
	}
	code, _, errOut := doppel(t, "import", in, "--data", clear, "--encryption-key-file", key)
	if code != exitFailure || !strings.Contains(errOut, "holds data written without encryption") {
		t.Errorf("import with a key into a clear store: exit %d, stderr %q", code, errOut)
	}
}
