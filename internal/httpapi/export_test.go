package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/store/sealed"
)

const testBase = "http://example.com/fhir"

// startRun runs srv's job worker until the test ends and returns a
// function that stops it and waits for it.
func startRun(t *testing.T, srv *Server) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var err error
	go func() {
		err = srv.Run(ctx)
		close(done)
	}()
	stop = func() {
		cancel()
		<-done
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// kickOff starts an export and returns its status URL's path.
func (e *testEnv) kickOff(target string) string {
	e.t.Helper()
	w := e.do("GET", target, "", "Prefer", "respond-async", "Accept", "application/fhir+json")
	loc, ok := strings.CutPrefix(w.Header().Get("Content-Location"), "http://example.com")
	if w.Code != http.StatusAccepted || !ok {
		e.t.Fatalf("kick-off %s: status %d Content-Location %q: %s", target, w.Code, w.Header().Get("Content-Location"), w.Body)
	}
	return loc
}

// waitExport polls a status URL until the job is no longer running.
func (e *testEnv) waitExport(status string) *httptest.ResponseRecorder {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		w := e.do("GET", status, "")
		if w.Code != http.StatusAccepted {
			return w
		}
		if w.Header().Get("X-Progress") == "" {
			e.t.Errorf("202 without X-Progress")
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("export %s still running after a minute", status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exported is a finished export's content: ids by type, read from the
// files the manifest lists.
func (e *testEnv) exported(w *httptest.ResponseRecorder, request string) map[string][]string {
	e.t.Helper()
	if w.Code != http.StatusOK {
		e.t.Fatalf("export status %d: %s", w.Code, w.Body)
	}
	var m manifest
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		e.t.Fatal(err)
	}
	if m.Request != testBase+request || m.RequiresAccessToken || m.Error == nil {
		e.t.Errorf("manifest %s: want request %q, requiresAccessToken false, an error list", w.Body, testBase+request)
	}
	if _, err := time.Parse(time.RFC3339Nano, m.TransactionTime); err != nil {
		e.t.Errorf("transactionTime: %v", err)
	}
	got := map[string][]string{}
	for _, f := range m.Output {
		path, ok := strings.CutPrefix(f.URL, "http://example.com")
		if !ok {
			e.t.Fatalf("file URL %q", f.URL)
		}
		fw := e.do("GET", path, "")
		if fw.Code != http.StatusOK || fw.Header().Get("Content-Type") != fhirNDJSON {
			e.t.Fatalf("GET %s: status %d, Content-Type %q", path, fw.Code, fw.Header().Get("Content-Type"))
		}
		lines := strings.Split(strings.TrimSuffix(fw.Body.String(), "\n"), "\n")
		for _, l := range lines {
			var r struct{ ResourceType, ID string }
			if err := json.Unmarshal([]byte(l), &r); err != nil || r.ResourceType != f.Type {
				e.t.Fatalf("%s: line %q: want a %s", path, l, f.Type)
			}
			got[f.Type] = append(got[f.Type], r.ID)
		}
		if len(lines) != f.Count {
			e.t.Errorf("%s: %d lines, manifest count %d", path, len(lines), f.Count)
		}
	}
	for _, ids := range got {
		slices.Sort(ids)
	}
	return got
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// TestExport runs system, type-filtered, _since, Patient and Group exports
// and checks the files hold exactly the resources of the snapshot taken at
// kick-off.
func TestExport(t *testing.T) {
	t.Run("clear", func(t *testing.T) { testExport(t, nil) })
	c, err := sealed.NewCipher(bytes.Repeat([]byte{1}, sealed.KeySize), "export")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("sealed", func(t *testing.T) { testExport(t, c) })
}

// testExport is TestExport with export files sealed by sealer (nil: in
// clear). Sealed files hold no name on disk (SEC-25).
func testExport(t *testing.T, sealer Sealer) {
	dir := t.TempDir()
	e := newEnv(t, Options{ExportDir: dir, ExportSealer: sealer})
	p1 := e.create("Patient", patientJSON)
	p2 := e.create("Patient", `{"resourceType":"Patient","name":[{"family":"Two"}]}`)
	o1 := e.create("Observation", `{"resourceType":"Observation","status":"final","code":{"text":"weight"},"subject":{"reference":"Patient/`+p1+`"}}`)
	o2 := e.create("Observation", `{"resourceType":"Observation","status":"final","code":{"text":"weight"},"subject":{"reference":"Patient/`+p2+`"}}`)
	pr := e.create("Practitioner", `{"resourceType":"Practitioner","name":[{"family":"Doc"}]}`)
	g := e.create("Group", `{"resourceType":"Group","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/`+p2+`"}}]}`)

	if w := e.do("GET", "/fhir/$export", ""); w.Code != http.StatusBadRequest {
		t.Errorf("kick-off without Prefer: respond-async: status %d, want 400", w.Code)
	}
	if w := e.do("GET", "/fhir/$export?_type=Unicorn", "", "Prefer", "respond-async"); w.Code != http.StatusBadRequest {
		t.Errorf("kick-off with an unknown _type: status %d, want 400", w.Code)
	}
	if w := e.do("GET", "/fhir/Group/nope/$export", "", "Prefer", "respond-async"); w.Code != http.StatusNotFound {
		t.Errorf("kick-off of a missing Group: status %d, want 404", w.Code)
	}

	// Kicked off before Run starts and before p3 exists: the export is of
	// the snapshot at kick-off.
	requests := []string{"/$export", "/$export?_type=Patient,Group", "/$export?_since=2999-01-01T00:00:00Z", "/Patient/$export", "/Group/" + g + "/$export"}
	status := make([]string, len(requests))
	for i, r := range requests {
		status[i] = e.kickOff("/fhir" + r)
	}
	e.create("Patient", `{"resourceType":"Patient","name":[{"family":"Late"}]}`)
	startRun(t, e.srv)
	want := []map[string][]string{
		{"Patient": sorted(p1, p2), "Observation": sorted(o1, o2), "Practitioner": {pr}, "Group": {g}},
		{"Patient": sorted(p1, p2), "Group": {g}},
		{},
		// The Group is in p2's compartment (R4 CompartmentDefinition
		// Patient: Group.member).
		{"Patient": sorted(p1, p2), "Observation": sorted(o1, o2), "Group": {g}},
		{"Patient": {p2}, "Observation": {o2}, "Group": {g}},
	}
	for i, r := range requests {
		got := e.exported(e.waitExport(status[i]), r)
		if diff := cmp.Diff(want[i], got); diff != "" {
			t.Errorf("%s: exported ids (-want +got):\n%s", r, diff)
		}
	}
	if w := e.do("GET", "/fhir/_export/nosuchjob/status", ""); w.Code != http.StatusNotFound {
		t.Errorf("status of an unknown job: %d, want 404", w.Code)
	}
	clear := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if bytes.Contains(b, []byte("Chalmers")) {
			clear++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if sealer == nil && clear == 0 || sealer != nil && clear > 0 {
		t.Errorf("%d export files hold the name Chalmers in clear; sealed: %v", clear, sealer != nil)
	}
}

// TestExportResume: a job left running by a server that stopped is
// finished by the next server on the same store and directory, with the
// files of its own snapshot (the partial file of the first run replaced).
func TestExportResume(t *testing.T) {
	dir, exportDir := t.TempDir(), t.TempDir()
	st := openStore(t, dir)
	e1 := newEnvOn(t, st, Options{ExportDir: exportDir})
	p1 := e1.create("Patient", patientJSON)

	// First server: one job stopped at once by cancelling Run, another
	// left as a crash mid-job would leave it (running, a partial file).
	stop := startRun(t, e1.srv)
	s1 := e1.kickOff("/fhir/$export?_type=Patient")
	stop()
	s2 := e1.kickOff("/fhir/$export?_type=Patient")
	id2 := strings.TrimSuffix(strings.TrimPrefix(s2, "/fhir/_export/"), "/status")
	j, err := st.Job(context.Background(), id2)
	if err != nil {
		t.Fatal(err)
	}
	j.State = stateRunning
	if err := st.SaveJob(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(exportDir, id2), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(exportDir, id2, "Patient.ndjson"), []byte(`{"resourceType":"Patient","id":"partial"`), 0o600); err != nil {
		t.Fatal(err)
	}
	p2 := e1.create("Patient", `{"resourceType":"Patient","name":[{"family":"After"}]}`)

	e2 := newEnvOn(t, st, Options{ExportDir: exportDir})
	startRun(t, e2.srv)
	if got := e2.exported(e2.waitExport(s2), "/$export?_type=Patient"); !cmp.Equal(got, map[string][]string{"Patient": {p1}}) {
		t.Errorf("resumed job: exported %v, want only %s (not the partial line, not %s)", got, p1, p2)
	}
	w := e2.waitExport(s1)
	if got := e2.exported(w, "/$export?_type=Patient"); !cmp.Equal(got, map[string][]string{"Patient": {p1}}) {
		t.Errorf("job stopped with Run: exported %v, want only %s", got, p1)
	}
}

// TestExportCancel: DELETE on the status URL cancels a job; its status and
// files are gone, and the worker removes its record.
func TestExportCancel(t *testing.T) {
	exportDir := t.TempDir()
	e := newEnv(t, Options{ExportDir: exportDir})
	e.create("Patient", patientJSON)
	pending := e.kickOff("/fhir/$export")
	if w := e.do("DELETE", pending, ""); w.Code != http.StatusAccepted {
		t.Errorf("DELETE of an accepted job: status %d, want 202", w.Code)
	}
	if w := e.do("GET", pending, ""); w.Code != http.StatusNotFound {
		t.Errorf("status after DELETE: %d, want 404", w.Code)
	}
	if w := e.do("DELETE", pending, ""); w.Code != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", w.Code)
	}
	startRun(t, e.srv)
	done := e.kickOff("/fhir/$export")
	w := e.waitExport(done)
	var m manifest
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || len(m.Output) == 0 {
		t.Fatalf("export: %s", w.Body)
	}
	file := strings.TrimPrefix(m.Output[0].URL, "http://example.com")
	if w := e.do("DELETE", done, ""); w.Code != http.StatusAccepted {
		t.Errorf("DELETE of a complete job: status %d, want 202", w.Code)
	}
	if w := e.do("GET", file, ""); w.Code != http.StatusNotFound {
		t.Errorf("file of a deleted job: status %d, want 404", w.Code)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		jobs, err := e.st.ListJobs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		left, _ := os.ReadDir(exportDir)
		if len(jobs) == 0 && len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cancelled jobs not removed: %d jobs, %d directories", len(jobs), len(left))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestExportError: a job that cannot be done ends in error: its status is
// a 500 OperationOutcome naming the job and no detail, and the detail is
// logged.
func TestExportError(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Options{ExportDir: notDir})
	e.create("Patient", patientJSON)
	status := e.kickOff("/fhir/$export")
	startRun(t, e.srv)
	w := e.waitExport(status)
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %s", w.Code, w.Body)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(status, "/fhir/_export/"), "/status")
	is := outcome(t, w)
	if !strings.Contains(is[0].Diagnostics, id) || strings.Contains(w.Body.String(), notDir) {
		t.Errorf("outcome %s: want the job id %s and not the path", w.Body, id)
	}
	if !strings.Contains(e.log.String(), "export failed") || !strings.Contains(e.log.String(), notDir) {
		t.Errorf("log lacks the failure detail:\n%s", e.log)
	}
}
