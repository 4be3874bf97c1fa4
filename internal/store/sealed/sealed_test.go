package sealed_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sealed"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/doppelhealth/doppel/internal/store/storetest"
)

// testKey is a fixed key; keyB another.
var (
	testKey = bytes.Repeat([]byte{0x5a}, sealed.KeySize)
	keyB    = bytes.Repeat([]byte{0xa5}, sealed.KeySize)
)

// openSealed opens the SQLite store at path sealed with key.
func openSealed(path string, key []byte) (store.Store, error) {
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		return nil, err
	}
	s, err := sealed.New(context.Background(), st, key)
	if err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// fresh is a sealed SQLite store in a temporary directory.
func fresh(tb testing.TB) storetest.Target {
	path := filepath.Join(tb.TempDir(), "doppel.db")
	return storetest.Target{
		Open: func() (store.Store, error) { return openSealed(path, testKey) },
		Corrupt: func(typ, id string) error {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = db.Exec(`UPDATE resources SET body = zeroblob(length(body)) WHERE type = ? AND id = ? AND t_end IS NULL`, typ, id)
			return err
		},
		Hashed: true,
	}
}

// TestConformance: the sealed store passes the store suite, but for the
// searches that need texts.
func TestConformance(t *testing.T) { storetest.Run(t, fresh) }

// registry is built once per test binary.
var registry = sync.OnceValues(search.NewRegistry)

// syntheaDir holds Synthea R4 transaction Bundles (synthetic patients),
// fhirops' test data, in the order they load.
const syntheaDir = "../../fhirops/testdata/synthea"

var syntheaFiles = []string{
	"hospitalInformation1559319163815.json",
	"practitionerInformation1559319163815.json",
	"Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json",
	"Paris_Casper_826f1b71-0205-4543-b019-ce6583b77fc5.json",
}

// add puts the strings of at least 4 bytes into set.
func add(set map[string]bool, ss ...string) {
	for _, s := range ss {
		if len(s) >= 4 {
			set[s] = true
		}
	}
}

// identifying collects the patients' name parts (given, family) and
// address parts (line, city, postal code), their phone numbers and
// identifier values (SSN, MRN, driver's licence) from a Bundle.
func identifying(t *testing.T, bundle []byte, into map[string]bool) {
	var b struct {
		Entry []struct{ Resource json.RawMessage }
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b.Entry {
		var r struct {
			ResourceType string
			Name         []struct {
				Family string
				Given  []string
			}
			Address []struct {
				Line       []string
				City       string
				PostalCode string
			}
			Telecom    []struct{ Value string }
			Identifier []struct{ Value string }
		}
		if json.Unmarshal(e.Resource, &r) != nil || r.ResourceType != "Patient" {
			continue // an Organization's name is a string
		}
		for _, n := range r.Name {
			add(into, n.Family)
			add(into, n.Given...)
		}
		for _, a := range r.Address {
			add(into, a.City, a.PostalCode)
			add(into, a.Line...)
		}
		for _, c := range r.Telecom {
			add(into, c.Value)
		}
		for _, id := range r.Identifier {
			add(into, id.Value)
		}
	}
}

// load imports the Synthea Bundles into st as transactions and returns
// the identifying strings of their patients.
func load(t *testing.T, st store.Store) map[string]bool {
	t.Helper()
	reg, err := registry()
	if err != nil {
		t.Fatal(err)
	}
	svc := fhirops.New(st, reg, fhirops.Options{})
	secrets := map[string]bool{}
	for _, f := range syntheaFiles {
		b, err := os.ReadFile(filepath.Join(syntheaDir, f))
		if err != nil {
			t.Fatal(err)
		}
		identifying(t, b, secrets)
		if _, err := svc.Transaction(context.Background(), b, "http://example.com/fhir"); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if len(secrets) < 20 {
		t.Fatalf("%d identifying strings: the test data is not what it was", len(secrets))
	}
	return secrets
}

// onDisk returns which of secrets occur in the files under dir, read raw.
func onDisk(t *testing.T, dir string, secrets map[string]bool) []string {
	t.Helper()
	var raw [][]byte
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		raw = append(raw, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for s := range secrets {
		for _, b := range raw {
			if bytes.Contains(b, []byte(s)) {
				found = append(found, s)
				break
			}
		}
	}
	slices.Sort(found)
	return found
}

// TestNoPlaintextOnDisk (SEC-24): with a key, the database files (WAL and
// shared memory included) hold none of the patients' names, addresses,
// phone numbers or identifiers after the Synthea Bundles are imported;
// without one they hold them all, so the grep can fail.
func TestNoPlaintextOnDisk(t *testing.T) {
	for _, key := range [][]byte{nil, testKey} {
		dir := t.TempDir()
		path := filepath.Join(dir, "fhir.db")
		var st store.Store
		var err error
		if key == nil {
			st, err = sqlite.Open(context.Background(), path)
		} else {
			st, err = openSealed(path, key)
		}
		if err != nil {
			t.Fatal(err)
		}
		secrets := load(t, st)
		// Read the files while the store is open (the WAL not yet folded
		// into the database), then after closing it.
		openFound := onDisk(t, dir, secrets)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		found := onDisk(t, dir, secrets)
		if key == nil {
			if len(found) != len(secrets) {
				t.Errorf("without a key, %d of %d identifying strings are on disk: the grep does not work", len(found), len(secrets))
			}
			continue
		}
		if len(found)+len(openFound) > 0 {
			t.Errorf("with a key, on disk: %q (open), %q (closed)", openFound, found)
		}
	}
}

// TestSealedSearch: on a sealed store the searches a FHIR client makes by
// name, identifier and reference work; those that need the text are a 400.
func TestSealedSearch(t *testing.T) {
	st, err := openSealed(filepath.Join(t.TempDir(), "fhir.db"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	load(t, st)
	reg, err := registry()
	if err != nil {
		t.Fatal(err)
	}
	svc := fhirops.New(st, reg, fhirops.Options{})
	for _, tc := range []struct {
		typ, query string
		want       int // matches; -1: a 400
	}{
		{"Patient", "family=Kreiger", 1},
		{"Patient", "family=kre", 1},
		{"Patient", "name=CLEMENTE", 1},
		{"Patient", "family:exact=Kreiger", 1},
		{"Patient", "family:exact=kreiger", 0},
		{"Patient", "family=Kreigerx", 0},
		{"Patient", "address-city=Wilmington", 1},
		{"Patient", "identifier=http://hl7.org/fhir/sid/us-ssn|999-48-8934", 1},
		{"Patient", "identifier=999-48-8934", 1},
		{"Patient", "identifier=http://hl7.org/fhir/sid/us-ssn|999-48-8935", 0},
		{"Patient", "gender=male", 2},
		{"Patient", "family=casper&gender:not=male", 0},
		{"Patient", "birthdate=ge1980&_sort=birthdate", 1},
		{"Practitioner", "identifier=http://hl7.org/fhir/sid/us-npi|0", 1},
		{"Patient", "family:contains=eige", -1},
		{"Patient", "_sort=family", -1},
		{"Observation", "code:text=height", -1},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		b, err := svc.Search(context.Background(), tc.typ, q, true, "http://example.com/fhir")
		if tc.want < 0 {
			var fe *fhir.Error
			if !errors.As(err, &fe) || fe.Status != http.StatusBadRequest || !strings.Contains(fe.Error(), "encrypted") {
				t.Errorf("%s?%s: err %v, want a 400 that says the index is encrypted", tc.typ, tc.query, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s?%s: %v", tc.typ, tc.query, err)
			continue
		}
		var bundle struct{ Total int }
		if err := json.Unmarshal(b, &bundle); err != nil || bundle.Total != tc.want {
			t.Errorf("%s?%s: total %d, want %d", tc.typ, tc.query, bundle.Total, tc.want)
		}
	}
}

// TestKeyCheck: a store opens only with its own key, a clear store with
// data does not open sealed, and IsSealed tells the two apart.
func TestKeyCheck(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sealedPath, clearPath := filepath.Join(dir, "sealed.db"), filepath.Join(dir, "clear.db")
	st, err := openSealed(sealedPath, testKey)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := openSealed(sealedPath, keyB); !errors.Is(err, sealed.ErrWrongKey) {
		t.Errorf("another key: err %v, want ErrWrongKey", err)
	}
	st, err = openSealed(sealedPath, testKey)
	if err != nil {
		t.Fatalf("the same key again: %v", err)
	}
	st.Close()

	cl, err := sqlite.Open(ctx, clearPath)
	if err != nil {
		t.Fatal(err)
	}
	err = cl.Write(ctx, func(w store.Writer) error {
		_, err := w.Put(ctx, store.Version{Type: "Patient", ID: "p", VersionID: 1, Body: []byte(`{}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if _, err := openSealed(clearPath, testKey); !errors.Is(err, sealed.ErrClear) {
		t.Errorf("a clear store with data: err %v, want ErrClear", err)
	}
	for path, want := range map[string]bool{sealedPath: true, clearPath: false} {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sealed.IsSealed(ctx, s)
		s.Close()
		if err != nil || got != want {
			t.Errorf("IsSealed(%s) = %v, %v; want %v", filepath.Base(path), got, err, want)
		}
	}
}

// TestKeyFile: raw and hex key files load; a file others can read, or of
// the wrong size, does not.
func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	hexKey := strings.Repeat("5a", sealed.KeySize)
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		ok            bool
	}{
		{"raw", string(testKey), 0o600, true},
		{"hex", hexKey + "\n", 0o600, true},
		{"read-only", hexKey, 0o400, true},
		{"group-readable", hexKey, 0o640, false},
		{"world-readable", hexKey, 0o644, false},
		{"short", "abc", 0o600, false},
		{"not hex", strings.Repeat("zz", sealed.KeySize), 0o600, false},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.content), tc.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		k, err := sealed.ReadKeyFile(path)
		if (err == nil) != tc.ok || tc.ok && !bytes.Equal(k, testKey) {
			t.Errorf("%s: key %x, err %v; want ok %v", tc.name, k, err, tc.ok)
		}
	}
}
