package httpapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/internal/deid"
)

// exportFiles runs an export kicked off by send and returns its manifest
// and the text of each file by type.
func exportFiles(t *testing.T, send func(target string, hdr ...string) *httptest.ResponseRecorder, target string) (manifest, map[string]string) {
	t.Helper()
	w := send(target, "Prefer", "respond-async")
	status, ok := strings.CutPrefix(w.Header().Get("Content-Location"), testBase)
	if w.Code != http.StatusAccepted || !ok {
		t.Fatalf("kick-off %s: status %d: %s", target, w.Code, w.Body)
	}
	for w = send("/fhir" + status); w.Code == http.StatusAccepted; w = send("/fhir" + status) {
	}
	if w.Code != http.StatusOK {
		t.Fatalf("export %s: status %d: %s", target, w.Code, w.Body)
	}
	var m manifest
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range m.Output {
		fw := send(strings.Replace(f.URL, testBase, "/fhir", 1))
		if fw.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d", f.URL, fw.Code)
		}
		files[f.Type] = fw.Body.String()
	}
	return m, files
}

// TestExportDeid exports a patient's data with _deid=safe-harbor and
// finds none of the patient's names, address, telephone or ids in it.
// SEC-28: a de-identified export holds none of the input's names.
// SEC-31: ids are replaced by keyed pseudonyms.
func TestExportDeid(t *testing.T) {
	d, err := deid.New([]byte("0123456789abcdef0123456789abcdef"), deid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Options{ExportDir: filepath.Join(t.TempDir(), "export"), BaseURL: testBase, Deid: d})
	startRun(t, e.srv)
	pid := e.create("Patient", `{"resourceType":"Patient","name":[{"family":"Quasimodo","given":["Esmeralda"]}],
		"telecom":[{"system":"phone","value":"555-0199"}],"birthDate":"1970-03-04",
		"address":[{"line":["12 Rue Notre-Dame"],"city":"Parisville","state":"MA","postalCode":"02139"}]}`)
	oid := e.create("Observation", `{"resourceType":"Observation","status":"final","code":{"text":"weight"},
		"subject":{"reference":"Patient/`+pid+`","display":"Esmeralda Quasimodo"},"valueQuantity":{"value":61,"unit":"kg"}}`)
	send := func(target string, hdr ...string) *httptest.ResponseRecorder { return e.do("GET", target, "", hdr...) }

	m, files := exportFiles(t, send, "/fhir/$export?_deid=safe-harbor")
	if m.Extension[deidURL] != "safe-harbor" || !strings.Contains(m.Request, "_deid=safe-harbor") {
		t.Errorf("manifest: extension %v, request %q: want the _deid method in both", m.Extension, m.Request)
	}
	var types []string
	for typ := range files {
		types = append(types, typ)
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"Observation", "Patient"}) {
		t.Errorf("exported types %v, want Observation, Patient", types)
	}
	all := files["Patient"] + files["Observation"]
	for _, s := range []string{"Quasimodo", "Esmeralda", "555-0199", "Notre-Dame", "Parisville", "02139", pid, oid} {
		if strings.Contains(all, s) {
			t.Errorf("the de-identified export holds %q:\n%s", s, all)
		}
	}
	if !strings.Contains(files["Observation"], `"value":61`) {
		t.Errorf("the Observation lost its value:\n%s", files["Observation"])
	}
}

// TestExportDeidRefused checks the _deid requests a server refuses, and
// that without a key it says how to give one.
func TestExportDeidRefused(t *testing.T) {
	d, err := deid.New([]byte("0123456789abcdef0123456789abcdef"), deid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keyed := newEnv(t, Options{ExportDir: t.TempDir(), Deid: d})
	plain := newEnv(t, Options{ExportDir: t.TempDir()})
	for _, c := range []struct {
		e      *testEnv
		target string
		want   string // in the diagnostics
	}{
		{plain, "/fhir/$export?_deid=safe-harbor", "--deid-key-file"},
		{keyed, "/fhir/$export?_deid=limited", "safe-harbor"},
		{keyed, "/fhir/$export?_deid=safe-harbor&_deid=safe-harbor", "safe-harbor"},
		{keyed, "/fhir/$export?_deid=safe-harbor&_type=Patient,AuditEvent", "AuditEvent"},
	} {
		w := c.e.do("GET", c.target, "", "Prefer", "respond-async")
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", c.target, w.Code)
			continue
		}
		if iss := outcome(t, w); !strings.Contains(iss[0].Diagnostics, c.want) {
			t.Errorf("%s: diagnostics %q, want %q in them", c.target, iss[0].Diagnostics, c.want)
		}
	}
}

// TestExportAuditEvents checks that an export leaves the audit trail out
// unless _type names AuditEvent.
func TestExportAuditEvents(t *testing.T) {
	e := newAuditEnv(t)
	startRun(t, e.srv)
	admin := e.token("admin-1", "user/*.cruds", "")
	send := func(target string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", target, nil)
		r.Header.Set("Authorization", "Bearer "+admin)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		return w
	}
	e.as(admin, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`)
	if _, files := exportFiles(t, send, "/fhir/$export"); files["Patient"] == "" || files["AuditEvent"] != "" {
		t.Errorf("$export: types %v, want Patient and no AuditEvent", slices.Sorted(maps.Keys(files)))
	}
	if _, files := exportFiles(t, send, "/fhir/$export?_type=AuditEvent"); !strings.Contains(files["AuditEvent"], `"id":"audit-1"`) {
		t.Errorf("$export?_type=AuditEvent: %v, want the audit trail", files)
	}
	// SEC-12: the kick-offs and the file downloads are recorded, the
	// status polls are not.
	var ops []string
	for _, l := range auditLines(t, send("/fhir/AuditEvent?_count=100")) {
		if l.Op != "" {
			ops = append(ops, l.Op+" "+strings.Split(l.Query, "/")[0]+" "+l.Outcome)
		}
	}
	want := []string{"$export  0", "$export-file _export 0", "$export _type=AuditEvent 0", "$export-file _export 0"}
	if !slices.Equal(ops, want) {
		t.Errorf("export records %q, want %q", ops, want)
	}
}
