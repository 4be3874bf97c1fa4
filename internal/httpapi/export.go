package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// Bulk Data export (FHIR Bulk Data Access IG v2,
// https://hl7.org/fhir/uv/bulkdata/export.html).
//
// A kick-off request fixes the store snapshot T and saves a job in the
// store; Run works the jobs one at a time, writing one NDJSON file per
// resource type under ExportDir/<job id>/, read at T so that the files are
// consistent with each other. A job Run finds accepted or running when it
// starts (the server stopped while it ran) is started again from scratch at
// the same T, so it produces the same files. Every job ends complete, error
// (the status request answers 500 with an OperationOutcome) or cancelled
// (DELETE; its files and record are removed).

// Job kind and states as saved in store.Job.
const (
	exportKind     = "export"
	stateAccepted  = "accepted"
	stateRunning   = "running"
	stateComplete  = "complete"
	stateError     = "error"
	stateCancelled = "cancelled"
)

// exportPageSize is the number of resources read per store search.
const exportPageSize = 1000

// exportSpec is an export job's request, saved as store.Job.Spec.
type exportSpec struct {
	Request         string    `json:"request"`         // the kick-off URL
	Level           string    `json:"level"`           // "system", "patient" or "group"
	Group           string    `json:"group,omitempty"` // the Group's id (level group)
	Types           []string  `json:"types"`           // the types to export, in order
	Since           time.Time `json:"since,omitzero"`  // only resources updated after
	Deid            string    `json:"deid,omitempty"`  // "safe-harbor": de-identified (export_deid.go)
	T               int64     `json:"t"`               // the store snapshot
	TransactionTime time.Time `json:"transactionTime"`
}

// exportFile is one file of a finished job.
type exportFile struct {
	Type  string `json:"type"`
	Name  string `json:"name"` // in the job's directory
	Count int    `json:"count"`
}

// exportResult is a finished job's result, saved as store.Job.Result.
type exportResult struct {
	Output  []exportFile    `json:"output"`
	Outcome json.RawMessage `json:"outcome,omitempty"` // a failed job's OperationOutcome
}

// manifest is the complete-status response body.
type manifest struct {
	TransactionTime     string         `json:"transactionTime"`
	Request             string         `json:"request"`
	RequiresAccessToken bool           `json:"requiresAccessToken"`
	Output              []manifestFile `json:"output"`
	Error               []manifestFile `json:"error"`
	Extension           map[string]any `json:"extension,omitempty"`
}

type manifestFile struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int    `json:"count"`
}

// outputFormats are the accepted values of _outputFormat.
var outputFormats = []string{"application/fhir+ndjson", "application/ndjson", "ndjson"}

// kickOff starts an export: GET [base]/$export, [base]/Patient/$export,
// [base]/Group/[id]/$export.
func (s *Server) kickOff(w http.ResponseWriter, r *http.Request) error {
	if !preferAsync(r) {
		return errorf(http.StatusBadRequest, "required", "$export needs the header Prefer: respond-async")
	}
	q := r.URL.Query()
	spec := exportSpec{Request: s.base(r) + strings.TrimPrefix(r.URL.RequestURI(), "/fhir"), Level: "system", TransactionTime: s.opts.Now().UTC()}
	for k, vs := range q {
		switch k {
		case "_type", "_since", "_format", "_deid":
		case "_outputFormat":
			if !slices.Contains(outputFormats, vs[0]) {
				return errorf(http.StatusBadRequest, "not-supported", "_outputFormat %q is not supported: use application/fhir+ndjson", clip(vs[0]))
			}
		default:
			if strict(r) {
				return errorf(http.StatusBadRequest, "not-supported", "$export parameter %q is not supported", clip(k))
			}
		}
	}
	switch r.PathValue("id") {
	case "":
		if strings.HasPrefix(r.URL.Path, "/fhir/Patient/") {
			spec.Level = "patient"
		}
	default:
		spec.Level, spec.Group = "group", r.PathValue("id")
	}
	if v := q.Get("_since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return errorf(http.StatusBadRequest, "value", "_since %q is not a FHIR instant (2024-01-31T12:00:00Z)", clip(v))
		}
		spec.Since = t
	}
	types, err := s.exportTypes(spec.Level, q["_type"])
	if err != nil {
		return err
	}
	spec.Types = types
	if spec.Deid, err = s.deidParam(q, types); err != nil {
		return err
	}
	page, err := s.st.Search(r.Context(), &search.Query{Type: "Patient", Count: 1, Total: "none"}, 0)
	if err != nil {
		return err
	}
	spec.T = page.T
	if spec.Level == "group" {
		if _, err := s.groupMembers(r.Context(), spec.Group, spec.T); err != nil {
			return err
		}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	now := s.opts.Now().UTC()
	j := store.Job{ID: randomHex(16), Kind: exportKind, State: stateAccepted, Spec: b, Created: now, Updated: now}
	if err := s.st.SaveJob(r.Context(), j); err != nil {
		return err
	}
	s.wakeWorker()
	w.Header().Set("Content-Location", s.base(r)+"/_export/"+j.ID+"/status")
	writeJSON(w, http.StatusAccepted, fhir.OperationOutcome(fhir.Issue{Severity: "information", Code: "informational", Diagnostics: "export accepted; poll the Content-Location URL"}))
	return nil
}

// exportTypes returns the types an export writes: those of _type (comma
// separated, maybe repeated), or all but the audit trail (AuditEvent is
// exported only when _type names it); at patient and group level only the
// types of the Patient compartment.
func (s *Server) exportTypes(level string, param []string) ([]string, error) {
	var types []string
	for _, p := range param {
		for t := range strings.SplitSeq(p, ",") {
			t = strings.TrimSpace(t)
			if !fhir.IsResourceType(t) {
				return nil, errorf(http.StatusBadRequest, "value", "_type: unknown resource type %q", clip(t))
			}
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	if len(types) == 0 {
		types = defaultExportTypes()
	}
	if level == "system" {
		return types, nil
	}
	return slices.DeleteFunc(types, func(t string) bool {
		return t != "Patient" && len(s.reg.CompartmentParams(t)) == 0
	}), nil
}

// wakeWorker tells Run to look at the jobs.
func (s *Server) wakeWorker() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// exportJob returns the export job the URL names; a cancelled one is gone.
func (s *Server) exportJob(ctx context.Context, id string) (store.Job, error) {
	j, err := s.st.Job(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (j.Kind != exportKind || j.State == stateCancelled) {
		return store.Job{}, errorf(http.StatusNotFound, "not-found", "no export job %q", clip(id))
	}
	return j, err
}

// exportStatus answers a status request: 202 with X-Progress while the
// job runs, 200 with the manifest when it is complete, 500 with its
// OperationOutcome when it failed.
func (s *Server) exportStatus(w http.ResponseWriter, r *http.Request) error {
	j, err := s.exportJob(r.Context(), r.PathValue("job"))
	if err != nil {
		return err
	}
	var res exportResult
	if j.State == stateComplete || j.State == stateError {
		if err := json.Unmarshal(j.Result, &res); err != nil {
			return fmt.Errorf("httpapi: export job %s: result: %w", j.ID, err)
		}
	}
	switch j.State {
	case stateComplete:
		var spec exportSpec
		if err := json.Unmarshal(j.Spec, &spec); err != nil {
			return fmt.Errorf("httpapi: export job %s: spec: %w", j.ID, err)
		}
		_, open := s.opts.Authorizer.(allowAll)
		m := manifest{
			TransactionTime: spec.TransactionTime.Format(time.RFC3339Nano),
			Request:         spec.Request,
			// The file URLs pass the Authorizer like any other.
			RequiresAccessToken: !open,
			Output:              []manifestFile{},
			Error:               []manifestFile{},
		}
		if spec.Deid != "" {
			m.Extension = map[string]any{deidURL: spec.Deid}
		}
		for _, f := range res.Output {
			m.Output = append(m.Output, manifestFile{Type: f.Type, URL: s.base(r) + "/_export/" + j.ID + "/file/" + f.Name, Count: f.Count})
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	case stateError:
		writeJSON(w, http.StatusInternalServerError, res.Outcome)
	default:
		s.mu.Lock()
		p := s.progress[j.ID]
		s.mu.Unlock()
		if p == "" {
			p = j.State
		}
		w.Header().Set("X-Progress", p)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusAccepted)
	}
	return nil
}

// exportCancel cancels a job (DELETE on the status URL): 202, and the job
// and its files are removed.
func (s *Server) exportCancel(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.exportJob(r.Context(), r.PathValue("job"))
	if err != nil {
		return err
	}
	j.State, j.Updated = stateCancelled, s.opts.Now().UTC()
	if err := s.st.SaveJob(r.Context(), j); err != nil {
		return err
	}
	if cancel := s.cancels[j.ID]; cancel != nil {
		cancel()
	}
	s.wakeWorker()
	writeJSON(w, http.StatusAccepted, fhir.OperationOutcome(fhir.Issue{Severity: "information", Code: "informational", Diagnostics: "export cancelled"}))
	return nil
}

// exportFile serves one file of a complete job as NDJSON.
func (s *Server) exportFile(w http.ResponseWriter, r *http.Request) error {
	j, err := s.exportJob(r.Context(), r.PathValue("job"))
	if err != nil {
		return err
	}
	var res exportResult
	if j.State == stateComplete {
		if err := json.Unmarshal(j.Result, &res); err != nil {
			return fmt.Errorf("httpapi: export job %s: result: %w", j.ID, err)
		}
	}
	name := r.PathValue("name")
	if !slices.ContainsFunc(res.Output, func(f exportFile) bool { return f.Name == name }) {
		return errorf(http.StatusNotFound, "not-found", "export job %s has no file %q", j.ID, clip(name))
	}
	path := filepath.Join(s.opts.ExportDir, j.ID, name)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", fhirNDJSON)
	if s.opts.ExportSealer == nil {
		http.ServeContent(w, r, "", j.Updated, f)
		return nil
	}
	// A sealed file is decrypted as it is sent (no ranges): a chunk that
	// does not open before the first byte is sent is a 500, after it the
	// connection is cut so that the client sees a broken download.
	sr := newSealReader(f, s.opts.ExportSealer, fileAD(path))
	first := make([]byte, 1)
	if _, err := io.ReadFull(sr, first); err != nil {
		return err
	}
	w.Header().Set("Last-Modified", j.Updated.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	w.Write(first)
	if _, err := io.Copy(w, sr); err != nil {
		s.log.Error("export file", "request_id", requestID(r.Context()), "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// fileAD is the additional data of a sealed export file: its job and name,
// so that a file moved to another job or name does not open.
func fileAD(path string) string {
	return "export/" + filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
}

// Run works the export jobs until ctx is done: first those a previous run
// left unfinished, then each new one. It returns nil when ctx is done; a
// job it was working on then is left running in the store, for the next
// Run. Without an ExportDir it only waits for ctx.
func (s *Server) Run(ctx context.Context) error {
	if s.opts.ExportDir == "" {
		<-ctx.Done()
		return nil
	}
	for {
		retry := make(<-chan time.Time)
		if err := s.workJobs(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("export jobs", "err", err)
			retry = time.After(5 * time.Second)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-retry:
		}
	}
}

// workJobs runs the unfinished jobs, oldest first, and removes cancelled
// ones.
func (s *Server) workJobs(ctx context.Context) error {
	jobs, err := s.st.ListJobs(ctx)
	if err != nil {
		return err
	}
	slices.SortFunc(jobs, func(a, b store.Job) int { return a.Created.Compare(b.Created) })
	for _, j := range jobs {
		if ctx.Err() != nil {
			return nil
		}
		if j.Kind != exportKind {
			continue
		}
		switch j.State {
		case stateCancelled:
			err = s.removeJob(ctx, j.ID)
		case stateAccepted, stateRunning:
			err = s.runJob(ctx, j.ID)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// removeJob deletes a job's files and record.
func (s *Server) removeJob(ctx context.Context, id string) error {
	if err := os.RemoveAll(filepath.Join(s.opts.ExportDir, id)); err != nil {
		return err
	}
	return s.st.DeleteJob(ctx, id)
}

// runJob runs one job to its end: complete, error, or cancelled. If ctx
// ends first the job stays running.
func (s *Server) runJob(ctx context.Context, id string) error {
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	j, err := s.st.Job(ctx, id)
	if err == nil && j.State != stateCancelled {
		j.State, j.Updated = stateRunning, s.opts.Now().UTC()
		err = s.st.SaveJob(ctx, j)
	}
	if err != nil || j.State == stateCancelled {
		s.mu.Unlock()
		return err // a cancelled job is removed by the next workJobs
	}
	s.cancels[id] = cancel
	s.progress[id] = "started"
	s.mu.Unlock()

	res, xerr := s.export(jctx, j)

	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cancels, id)
	delete(s.progress, id)
	if ctx.Err() != nil {
		return nil // stopping: the next Run starts the job again
	}
	cur, err := s.st.Job(ctx, id)
	if err != nil {
		return err
	}
	if cur.State == stateCancelled {
		return s.removeJob(ctx, id)
	}
	j.State = stateComplete
	if xerr != nil {
		s.log.Error("export failed", "job", id, "err", xerr)
		j.State = stateError
		res = exportResult{Outcome: fhir.OperationOutcome(fhir.Issue{
			Severity: "error", Code: "exception", Diagnostics: "export failed; job " + id,
		})}
	}
	if j.Result, err = json.Marshal(res); err != nil {
		return err
	}
	j.Updated = s.opts.Now().UTC()
	return s.st.SaveJob(ctx, j)
}

// export writes a job's files, from scratch.
func (s *Server) export(ctx context.Context, j store.Job) (exportResult, error) {
	var spec exportSpec
	if err := json.Unmarshal(j.Spec, &spec); err != nil {
		return exportResult{}, fmt.Errorf("httpapi: export job %s: spec: %w", j.ID, err)
	}
	dir := filepath.Join(s.opts.ExportDir, j.ID)
	if err := os.RemoveAll(dir); err != nil {
		return exportResult{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return exportResult{}, err
	}
	var patients []string // the patients of a patient or group export
	var err error
	switch spec.Level {
	case "group":
		patients, err = s.groupMembers(ctx, spec.Group, spec.T)
	case "patient":
		patients, err = s.allPatients(ctx, spec.T)
	}
	if err != nil {
		return exportResult{}, err
	}
	res := exportResult{Output: []exportFile{}}
	for i, t := range spec.Types {
		s.mu.Lock()
		s.progress[j.ID] = fmt.Sprintf("%s (type %d of %d)", t, i+1, len(spec.Types))
		s.mu.Unlock()
		queries, err := s.exportQueries(t, spec.Level, patients)
		if err != nil {
			return exportResult{}, err
		}
		if len(queries) == 0 {
			continue
		}
		name := t + ".ndjson"
		n, err := s.writeNDJSON(ctx, filepath.Join(dir, name), queries, spec)
		if err != nil {
			return exportResult{}, err
		}
		if n > 0 {
			res.Output = append(res.Output, exportFile{Type: t, Name: name, Count: n})
		}
	}
	return res, nil
}

// exportQueries returns the searches whose union is what an export writes
// of type t: all of t, or for the given patients the resources of t in
// their compartments (one search per compartment parameter and batch of
// 100 patients).
func (s *Server) exportQueries(t, level string, patients []string) ([]*search.Query, error) {
	if level == "system" {
		return []*search.Query{{Type: t}}, nil
	}
	var qs []*search.Query
	for batch := range slices.Chunk(patients, 100) {
		refs := make([]string, len(batch))
		for i, id := range batch {
			refs[i] = "Patient/" + id
		}
		params := map[string]string{}
		if t == "Patient" {
			params["_id"] = strings.Join(batch, ",")
		} else {
			for _, p := range s.reg.CompartmentParams(t) {
				params[p] = strings.Join(refs, ",")
			}
		}
		for p, v := range params {
			q, _, err := s.reg.ParseQuery(t, url.Values{p: {v}}, true, search.Limits{})
			if err != nil {
				return nil, fmt.Errorf("httpapi: export query %s?%s: %w", t, p, err)
			}
			qs = append(qs, q)
		}
	}
	return qs, nil
}

// writeNDJSON writes the resources the queries find at the job's snapshot
// (each once, updated after _since) to one file, and syncs it.
func (s *Server) writeNDJSON(ctx context.Context, path string, queries []*search.Query, spec exportSpec) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var out io.Writer = f
	var sw *sealWriter
	if s.opts.ExportSealer != nil {
		sw = newSealWriter(f, s.opts.ExportSealer, fileAD(path))
		out = sw
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	seen := map[string]bool{}
	n := 0
	for _, q := range queries {
		q.Count, q.Total = exportPageSize, "none"
		for q.Offset = 0; ; {
			p, err := s.st.Search(ctx, q, spec.T)
			if err != nil {
				return 0, err
			}
			for _, v := range p.Matches {
				if !v.LastUpdated.After(spec.Since) || len(queries) > 1 && seen[v.ID] {
					continue
				}
				if len(queries) > 1 {
					seen[v.ID] = true
				}
				body, err := s.exportBody(v.Body, spec)
				if err != nil {
					return 0, err
				}
				if err := writeLine(bw, body); err != nil {
					return 0, err
				}
				n++
			}
			if len(p.Matches) == 0 {
				break
			}
			q.Offset += len(p.Matches)
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if sw != nil {
		if err := sw.Close(); err != nil {
			return 0, err
		}
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, os.Remove(path)
	}
	return n, f.Close()
}

// writeLine writes a resource as one NDJSON line.
func writeLine(w *bufio.Writer, body []byte) error {
	if bytes.ContainsAny(body, "\r\n") {
		var b bytes.Buffer
		if err := json.Compact(&b, body); err != nil {
			return err
		}
		body = b.Bytes()
	}
	w.Write(body)
	return w.WriteByte('\n')
}

// groupMembers returns the ids of the patients Group id lists as members
// at snapshot t (member.entity references of the form Patient/id).
func (s *Server) groupMembers(ctx context.Context, id string, t int64) ([]string, error) {
	q, _, err := s.reg.ParseQuery("Group", url.Values{"_id": {id}}, true, search.Limits{})
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "value", "invalid Group id %q", clip(id))
	}
	p, err := s.st.Search(ctx, q, t)
	if err != nil {
		return nil, err
	}
	if len(p.Matches) == 0 {
		return nil, errorf(http.StatusNotFound, "not-found", "Group/%s not found", clip(id))
	}
	var g struct {
		Member []struct {
			Entity struct {
				Reference string `json:"reference"`
			} `json:"entity"`
		} `json:"member"`
	}
	if err := json.Unmarshal(p.Matches[0].Body, &g); err != nil {
		return nil, fmt.Errorf("httpapi: Group/%s: %w", id, err)
	}
	var ids []string
	for _, m := range g.Member {
		if pid, ok := strings.CutPrefix(m.Entity.Reference, "Patient/"); ok && pid != "" && !strings.Contains(pid, "/") && !slices.Contains(ids, pid) {
			ids = append(ids, pid)
		}
	}
	return ids, nil
}

// allPatients returns the ids of all patients at snapshot t.
func (s *Server) allPatients(ctx context.Context, t int64) ([]string, error) {
	var ids []string
	q := &search.Query{Type: "Patient", Count: exportPageSize, Total: "none"}
	for {
		p, err := s.st.Search(ctx, q, t)
		if err != nil {
			return nil, err
		}
		if len(p.Matches) == 0 {
			return ids, nil
		}
		for _, v := range p.Matches {
			ids = append(ids, v.ID)
		}
		q.Offset += len(p.Matches)
	}
}
