package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/doppelhealth/doppel/internal/audit"
	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/store"
)

// Audit trail (SEC-12, SEC-15, SEC-16).
//
// Every routed request but /fhir/metadata and the polls of an export's
// status is recorded as an audit.Record: the interaction the route names,
// who (the token's subject, "anonymous" without authentication), from
// where (the peer address), the patient (the compartment, the resource's
// patient, or the patient a search names), the query string, and the
// outcome from the response status: 2xx and 3xx success, 4xx minor
// failure, 5xx serious failure. A 401 is recorded as a failed login; a 403
// as the interaction it refused. Requests no route serves are recorded
// only when they are refused (401, 403).
//
// A write's record is committed with the write, in the same store
// transaction: the request's context carries it (audit.WithRecord) to the
// store that the fhirops.Service was given, wrapped by audit.Log.Wrap. A
// write that did not commit (refused, invalid, failed), and every other
// request, goes to Options.Audit.

// Auditor takes the records of requests that committed no write
// (*audit.Buffer).
type Auditor interface {
	Record(audit.Record)
}

// auditKey is the context key of a request's *auditState.
type auditKey struct{}

// auditState is what the audit trail learns about a request as it is
// served.
type auditState struct {
	rec     audit.Record
	pending *audit.Pending // for writes
	sw      *statusWriter
	quiet   bool // record only a refusal (401, 403)
}

// isWrite reports whether an interaction kind may write.
func isWrite(kind string) bool {
	switch kind {
	case "create", "update", "patch", "delete", "transaction":
		return true
	}
	return false
}

// auditStart begins the record of a request for in. It returns the
// writer and request to serve it with, and the function that sends the
// record once it is served. Without Options.Audit it changes nothing.
func (s *Server) auditStart(w http.ResponseWriter, r *http.Request, in Interaction) (http.ResponseWriter, *http.Request, func()) {
	if s.opts.Audit == nil || in.Kind == "capabilities" {
		return w, r, func() {}
	}
	a := &auditState{
		rec: audit.Record{
			Time:        s.opts.Now(),
			Interaction: in.Kind,
			Address:     r.RemoteAddr,
			Patient:     in.Compartment,
			Query:       r.URL.RawQuery,
		},
		sw:    &statusWriter{ResponseWriter: w},
		quiet: in.Kind == "unknown" || in.Operation == "$export-status",
	}
	if in.Kind == "operation" {
		a.rec.Operation = in.Operation
	}
	if in.Operation == "$export-file" {
		// The file is named by the path: record which one left.
		a.rec.Query = strings.TrimPrefix(r.URL.Path, "/fhir/")
	}
	if in.Type != "" && in.ID != "" && in.Kind != "operation" {
		a.rec.Resources = []string{in.Type + "/" + in.ID}
	}
	if a.rec.Patient == "" && in.Type == "Patient" && in.ID != "" {
		a.rec.Patient = "Patient/" + in.ID
	}
	if p, err := auth.FromContext(r.Context()); err == nil {
		a.rec.Who, a.rec.Client = p.Subject, p.ClientID
		if a.rec.Patient == "" {
			a.rec.Patient = p.Compartment()
		}
	} else {
		a.rec.Who = "anonymous"
	}
	if a.rec.Patient == "" && strings.HasPrefix(in.Kind, "search") {
		a.rec.Patient = searchPatient(in.Type, r.URL.Query())
	}
	ctx := context.WithValue(r.Context(), auditKey{}, a)
	if isWrite(in.Kind) {
		ctx, a.pending = audit.WithRecord(ctx, a.rec)
	}
	return a.sw, r.WithContext(ctx), func() { s.auditDone(a) }
}

// auditDone sends a served request's record, unless its write committed it.
func (s *Server) auditDone(a *auditState) {
	if a.pending != nil && a.pending.Written() {
		return
	}
	status := a.sw.status
	refused := status == http.StatusUnauthorized || status == http.StatusForbidden
	if a.quiet && !refused {
		return
	}
	rec := a.rec
	switch {
	case status == 0 || status >= 500: // 0: the handler panicked
		rec.Outcome = audit.SeriousFail
	case status == http.StatusUnauthorized:
		rec.Interaction, rec.Operation, rec.Outcome = audit.Login, "", audit.MinorFailure
	case status >= 400:
		rec.Outcome = audit.MinorFailure
	default:
		rec.Outcome = audit.Success
	}
	s.opts.Audit.Record(rec)
}

// auditResource notes the resource a read sent, for its patient.
func auditResource(ctx context.Context, v store.Version) {
	if a, ok := ctx.Value(auditKey{}).(*auditState); ok && a.rec.Patient == "" {
		a.rec.Patient = audit.PatientOf(v)
	}
}

// auditSearch notes the parameters of a POST _search, whose form body
// holds them, as its query and, if it names one, its patient.
func auditSearch(r *http.Request, q url.Values) {
	a, ok := r.Context().Value(auditKey{}).(*auditState)
	if !ok || r.Method != http.MethodPost {
		return
	}
	a.rec.Query = q.Encode()
	if a.rec.Patient == "" {
		a.rec.Patient = searchPatient(r.PathValue("type"), q)
	}
}

// searchPatient returns the one patient a search names, "Patient/ID", or
// "": Patient?_id=ID, or a patient or subject parameter with one Patient
// reference.
func searchPatient(typ string, q url.Values) string {
	one := func(p string) string {
		if vs := q[p]; len(vs) == 1 && vs[0] != "" && !strings.Contains(vs[0], ",") {
			return vs[0]
		}
		return ""
	}
	if typ == "Patient" {
		if id := one("_id"); id != "" {
			return "Patient/" + id
		}
		return ""
	}
	if v := one("patient"); v != "" {
		if !strings.Contains(v, "/") {
			return "Patient/" + v
		}
		if strings.HasPrefix(v, "Patient/") {
			return v
		}
	}
	if v := one("subject"); strings.HasPrefix(v, "Patient/") {
		return v
	}
	return ""
}

// refuseAuditWrite refuses to create, update, patch or delete an
// AuditEvent (405, Allow: GET, HEAD) and reports whether it did: the audit
// trail is written by the server alone, and a record changed through the
// API would break its hash chain.
func (s *Server) refuseAuditWrite(w http.ResponseWriter, r *http.Request, in Interaction) bool {
	if in.Type != auditEventType || !isWrite(in.Kind) {
		return false
	}
	w.Header().Set("Allow", "GET, HEAD")
	s.writeError(w, r, auditWriteError())
	return true
}

// auditEventType is the resource type of the audit trail.
const auditEventType = "AuditEvent"

func auditWriteError() error {
	return errorf(http.StatusMethodNotAllowed, "not-supported", "AuditEvents are written by the server only: they cannot be created, updated, patched or deleted")
}

// refuseAuditWrites refuses a transaction or batch Bundle with an entry
// that would write an AuditEvent.
func refuseAuditWrites(body []byte) error {
	if !bytes.Contains(body, []byte(auditEventType)) {
		return nil
	}
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
			Request struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil // the service says what is wrong with it
	}
	for _, e := range b.Entry {
		if strings.EqualFold(e.Request.Method, http.MethodGet) || strings.EqualFold(e.Request.Method, http.MethodHead) {
			continue
		}
		u := strings.TrimPrefix(e.Request.URL, "/")
		if e.Resource.ResourceType == auditEventType || u == auditEventType || strings.HasPrefix(u, auditEventType+"/") || strings.HasPrefix(u, auditEventType+"?") {
			return auditWriteError()
		}
	}
	return nil
}
