package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// syntheaDir holds Synthea R4 transaction Bundles (synthetic patients),
// fhirops' test data, in the order they load.
const syntheaDir = "../../internal/fhirops/testdata/synthea"

var syntheaFiles = []string{
	"hospitalInformation1559319163815.json",
	"practitionerInformation1559319163815.json",
	"Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json",
	"Paris_Casper_826f1b71-0205-4543-b019-ce6583b77fc5.json",
}

// humanNames returns the given and family names of the Patients and
// Practitioners of a Bundle, and the patients' first family and given name.
func humanNames(t *testing.T, bundle []byte) (all []string, patients [][2]string) {
	t.Helper()
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
		}
		if json.Unmarshal(e.Resource, &r) != nil || r.ResourceType != "Patient" && r.ResourceType != "Practitioner" {
			continue // an Organization's name is a string
		}
		for _, n := range r.Name {
			all = append(all, n.Family)
			all = append(all, n.Given...)
		}
		if r.ResourceType == "Patient" {
			patients = append(patients, [2]string{r.Name[0].Family, r.Name[0].Given[0]})
		}
	}
	return all, patients
}

// TestServeLogsNoNames (SEC-17, SEC-37): doppel serve, with authentication
// and the audit trail on, ingests the Synthea Bundles, is searched by the
// patients' names, reads them, is sent names in failing requests (bad
// bodies, no token, a bad token); its log holds none of the names.
func TestServeLogsNoNames(t *testing.T) {
	dir := t.TempDir()
	base, stop := startServe(t, dir)
	tok := adminToken(t, dir)
	bearer := []string{"Authorization", "Bearer " + tok}
	var names []string
	var patients [][2]string
	for _, f := range syntheaFiles {
		b, err := os.ReadFile(filepath.Join(syntheaDir, f))
		if err != nil {
			t.Fatal(err)
		}
		all, ps := humanNames(t, b)
		names, patients = append(names, all...), append(patients, ps...)
		if code, _, body := send(t, "POST", base, string(b), bearer...); code != http.StatusOK {
			stop()
			t.Fatalf("%s: status %d: %.300s", f, code, body)
		}
	}
	if len(patients) != 2 || len(names) < 100 {
		t.Fatalf("%d patients, %d names: the test data is not what it was", len(patients), len(names))
	}
	for _, p := range patients {
		q := url.Values{"family": {p[0]}, "given": {p[1]}}.Encode()
		code, _, body := send(t, "GET", base+"/Patient?"+q, "", bearer...)
		var b struct {
			Entry []struct{ Resource struct{ ID string } }
		}
		if err := json.Unmarshal(body, &b); err != nil || code != http.StatusOK || len(b.Entry) != 1 {
			t.Fatalf("search %s: status %d: %.300s", q, code, body)
		}
		id := b.Entry[0].Resource.ID
		for _, r := range []struct{ method, target, body string }{
			{"GET", "/Patient/" + id, ""},
			{"GET", "/Patient/" + id + "/$everything", ""},
			{"GET", "/Patient?name=" + url.QueryEscape(p[1]) + "&_revinclude=Encounter:subject", ""},
			{"GET", "/Patient/" + url.PathEscape(p[0]), ""},
			{"GET", "/Patient?birthdate=" + url.QueryEscape(p[0]), ""},
			{"POST", "/Patient", `{"resourceType":"Patient","name":[{"family":"` + p[0] + `"}],"birthDate":"` + p[1] + `"}`},
			{"POST", "/Patient", `{"resourceType":"Patient","name":[{"family":"` + p[0] + `"}]`},
		} {
			if code, _, body := send(t, r.method, base+r.target, r.body, bearer...); code >= 500 {
				t.Errorf("%s %s: status %d: %.300s", r.method, r.target, code, body)
			}
		}
		for _, hdr := range [][]string{nil, {"Authorization", "Bearer " + p[0]}} {
			if code, _, _ := send(t, "GET", base+"/Patient?family="+url.QueryEscape(p[0]), "", hdr...); code != http.StatusUnauthorized {
				t.Errorf("search without a valid token: status %d, want 401", code)
			}
		}
	}
	code, stderr := stop()
	if code != exitOK || !strings.Contains(stderr, `route="POST /fhir"`) {
		t.Fatalf("serve exit %d; the log does not hold the requests:\n%.2000s", code, stderr)
	}
	var leaked []string
	for _, n := range names {
		if len(n) >= 3 && strings.Contains(stderr, n) && !slices.Contains(leaked, n) {
			leaked = append(leaked, n)
		}
	}
	if len(leaked) > 0 {
		t.Errorf("the log holds %d names: %q", len(leaked), leaked)
	}
}
