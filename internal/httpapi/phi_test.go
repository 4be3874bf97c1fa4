package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/internal/fhirops"
)

// syntheaDir holds Synthea R4 transaction Bundles (synthetic patients),
// fhirops' test data: hospitals and practitioners first, since the patient
// Bundles refer to them by conditional references.
const syntheaDir = "../fhirops/testdata/synthea"

var syntheaFiles = []string{
	"hospitalInformation1559319163815.json",
	"practitionerInformation1559319163815.json",
	"Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json",
	"Paris_Casper_826f1b71-0205-4543-b019-ce6583b77fc5.json",
}

// identifying collects, from any JSON value, the parts of every HumanName
// (given, family) and of every Address (line, city) in it.
func identifying(v any, into map[string]bool) {
	add := func(s any) {
		if s, ok := s.(string); ok && len(s) >= 3 {
			into[s] = true
		}
	}
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			switch k {
			case "family", "city":
				add(c)
			case "given", "line":
				if l, ok := c.([]any); ok {
					for _, s := range l {
						add(s)
					}
				}
			}
			identifying(c, into)
		}
	case []any:
		for _, c := range v {
			identifying(c, into)
		}
	}
}

// TestNoPHIInLogs (SEC-17, SEC-37): the Synthea Bundles are ingested as
// transactions, their patients searched by name, read, and their
// $everything fetched; names are sent in bad requests too. The server's
// log (JSON, every level) holds none of the names or address parts.
func TestNoPHIInLogs(t *testing.T) {
	reg, err := registry()
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, t.TempDir())
	var logbuf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&syncWriter{w: &logbuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := New(logger, fhirops.New(st, reg, fhirops.Options{}), st, reg, Options{RateLimit: -1})
	e := &testEnv{t: t, st: st, srv: srv, log: &logbuf}

	secrets := map[string]bool{}
	type name struct{ family, given string }
	var patients []name
	for _, f := range syntheaFiles {
		body, err := os.ReadFile(filepath.Join(syntheaDir, f))
		if err != nil {
			t.Fatal(err)
		}
		var tree any
		if err := json.Unmarshal(body, &tree); err != nil {
			t.Fatal(err)
		}
		identifying(tree, secrets)
		var b struct {
			Entry []struct {
				Resource struct {
					ResourceType string
					Name         json.RawMessage // a string in Organization
				}
			}
		}
		if err := json.Unmarshal(body, &b); err != nil {
			t.Fatal(err)
		}
		for _, en := range b.Entry {
			if en.Resource.ResourceType != "Patient" {
				continue
			}
			var ns []struct {
				Family string
				Given  []string
			}
			if err := json.Unmarshal(en.Resource.Name, &ns); err != nil {
				t.Fatal(err)
			}
			patients = append(patients, name{ns[0].Family, ns[0].Given[0]})
		}
		if w := e.do("POST", "/fhir", string(body)); w.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %.500s", f, w.Code, w.Body)
		}
	}
	if len(patients) != 2 || len(secrets) < 200 {
		t.Fatalf("%d patients, %d identifying strings: the test data is not what it was", len(patients), len(secrets))
	}

	for _, p := range patients {
		q := url.Values{"family": {p.family}, "given": {p.given}}.Encode()
		w := e.do("GET", "/fhir/Patient?"+q, "")
		b := decodeBundle(t, w)
		if len(b.Entry) != 1 || !strings.Contains(string(b.Entry[0].Resource), p.family) {
			t.Fatalf("search %s: %d entries: the names did not reach the server", q, len(b.Entry))
		}
		id := strings.TrimPrefix(b.Entry[0].FullURL, "http://example.com/fhir/Patient/")
		for _, target := range []string{
			"/fhir/Patient/" + id,
			"/fhir/Patient/" + id + "/$everything?_count=1000",
			"/fhir/Patient?name=" + url.QueryEscape(p.given) + "&_revinclude=Observation:subject",
			"/fhir/Patient?name:exact=" + url.QueryEscape(p.family) + "&_sort=family",
			"/fhir/Patient/" + url.PathEscape(p.family),                          // 404 with a name in the path
			"/fhir/" + url.PathEscape(p.family),                                  // 404: no such type
			"/fhir/Patient?birthdate=" + url.QueryEscape(p.family),               // 400: bad date
			"/fhir/Patient?" + url.QueryEscape(p.given) + "=" + p.family,         // unknown parameter
			"/fhir/Patient?family=" + url.QueryEscape(p.family) + "&_format=xml", // 415
		} {
			if w := e.do("GET", target, ""); w.Code >= 500 {
				t.Errorf("GET %s: status %d", target, w.Code)
			}
		}
		for _, tc := range []struct{ method, target, body string }{
			{"POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"` + p.family + `"}],"birthDate":"` + p.given + `"}`},
			{"POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"` + p.family + `"}]`},
			{"PUT", "/fhir/Patient/" + id, `{"resourceType":"Patient","id":"other","name":[{"family":"` + p.family + `"}]}`},
			{"POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","name":[{"given":["` + p.given + `"]}]},"request":{"method":"POST","url":"Nope"}}]}`},
			{"POST", "/fhir/Patient/_search", "family=" + url.QueryEscape(p.family)},
		} {
			w := e.do(tc.method, tc.target, tc.body, "Content-Type", "application/fhir+json")
			if w.Code >= 500 {
				t.Errorf("%s %s: status %d", tc.method, tc.target, w.Code)
			}
		}
	}

	log := logbuf.String()
	if !strings.Contains(log, `"route":"POST /fhir"`) {
		t.Fatalf("the log does not hold the requests:\n%.2000s", log)
	}
	var leaked []string
	for s := range secrets {
		if strings.Contains(log, s) {
			leaked = append(leaked, s)
		}
	}
	slices.Sort(leaked)
	if len(leaked) > 0 {
		t.Errorf("the log holds %d names or address parts: %q", len(leaked), leaked)
	}
}
