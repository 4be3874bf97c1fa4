package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/store"
)

// etag returns a version's weak ETag, W/"3".
func etag(v store.Version) string { return `W/"` + strconv.FormatInt(v.VersionID, 10) + `"` }

// setVersionHeaders sets ETag and Last-Modified from a version.
func setVersionHeaders(h http.Header, v store.Version) {
	if v.VersionID > 0 {
		h.Set("ETag", etag(v))
	}
	if !v.LastUpdated.IsZero() {
		h.Set("Last-Modified", v.LastUpdated.UTC().Format(http.TimeFormat))
	}
}

// sendVersion answers a read or vread: 304 with no body when the client's
// copy is current (conditional read: If-None-Match, else
// If-Modified-Since), else the resource.
func sendVersion(w http.ResponseWriter, r *http.Request, v store.Version) {
	setVersionHeaders(w.Header(), v)
	if notModified(r, v) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, v.Body)
}

// notModified evaluates If-None-Match (weak comparison, RFC 9110 §13.1.2)
// or, without it, If-Modified-Since against v.
func notModified(r *http.Request, v store.Version) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		want := strings.TrimPrefix(etag(v), "W/")
		for tag := range strings.SplitSeq(inm, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == want {
				return true
			}
		}
		return false
	}
	since, err := http.ParseTime(r.Header.Get("If-Modified-Since"))
	return err == nil && !v.LastUpdated.Truncate(time.Second).After(since)
}

// sendOutcome answers a write as the Prefer return= header asks:
// representation (the default) sends the resource, minimal nothing,
// OperationOutcome an informational outcome.
func (s *Server) sendOutcome(w http.ResponseWriter, r *http.Request, o fhirops.Outcome) {
	h := w.Header()
	setVersionHeaders(h, o.Version)
	if o.Location != "" {
		loc := s.base(r) + "/" + o.Location
		if o.Created {
			h.Set("Location", loc)
		}
		h.Set("Content-Location", loc)
	}
	status := o.Status
	body := o.Version.Body
	switch prefer(r, "return") {
	case "minimal":
		body = nil
	case "OperationOutcome":
		body = fhir.OperationOutcome(fhir.Issue{Severity: "information", Code: "informational", Diagnostics: http.StatusText(status)})
	}
	if body == nil {
		if status == http.StatusOK && o.Version.Body == nil {
			status = http.StatusNoContent
		}
		w.WriteHeader(status)
		return
	}
	if status == http.StatusNoContent {
		status = http.StatusOK
	}
	writeJSON(w, status, body)
}

func (s *Server) read(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.Read(r.Context(), r.PathValue("type"), r.PathValue("id"))
	if err != nil {
		return err
	}
	auditResource(r.Context(), v)
	sendVersion(w, r, v)
	return nil
}

func (s *Server) vread(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.VRead(r.Context(), r.PathValue("type"), r.PathValue("id"), r.PathValue("vid"))
	if err != nil {
		return err
	}
	auditResource(r.Context(), v)
	sendVersion(w, r, v)
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r, "")
	if err != nil {
		return err
	}
	o, err := s.svc.Create(r.Context(), r.PathValue("type"), body, r.Header.Get("If-None-Exist"))
	if err != nil {
		return err
	}
	s.sendOutcome(w, r, o)
	return nil
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r, "")
	if err != nil {
		return err
	}
	o, err := s.svc.Update(r.Context(), r.PathValue("type"), r.PathValue("id"), body, r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	s.sendOutcome(w, r, o)
	return nil
}

func (s *Server) conditionalUpdate(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	q.Del("_format")
	if len(q) == 0 {
		return errorf(http.StatusBadRequest, "required", "PUT on a type needs search parameters (conditional update) or an id in the URL")
	}
	body, err := s.readBody(w, r, "")
	if err != nil {
		return err
	}
	o, err := s.svc.ConditionalUpdate(r.Context(), r.PathValue("type"), q, body)
	if err != nil {
		return err
	}
	s.sendOutcome(w, r, o)
	return nil
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r, jsonPatchType)
	if err != nil {
		return err
	}
	o, err := s.svc.Patch(r.Context(), r.PathValue("type"), r.PathValue("id"), body, r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	s.sendOutcome(w, r, o)
	return nil
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) error {
	o, err := s.svc.Delete(r.Context(), r.PathValue("type"), r.PathValue("id"))
	if err != nil {
		return err
	}
	if prefer(r, "return") == "OperationOutcome" {
		s.sendOutcome(w, r, o)
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// strict reports whether the client asked for strict handling of unknown
// search parameters (Prefer: handling=strict); lenient is the default.
func strict(r *http.Request) bool { return prefer(r, "handling") == "strict" }

// searchParams returns a search's parameters: the query string, plus the
// form body of POST _search.
func (s *Server) searchParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		body, err := s.readBody(w, r, "application/x-www-form-urlencoded")
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "structure", "the form body of _search is not valid")
		}
		for k, vs := range form {
			q[k] = append(q[k], vs...)
		}
	}
	q.Del("_format")
	return q, nil
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) error {
	q, err := s.searchParams(w, r)
	if err != nil {
		return err
	}
	auditSearch(r, q)
	b, err := s.svc.Search(r.Context(), r.PathValue("type"), q, strict(r), s.base(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	q.Del("_format")
	b, err := s.svc.History(r.Context(), r.PathValue("type"), r.PathValue("id"), q, s.base(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) transaction(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r, "")
	if err != nil {
		return err
	}
	if err := refuseAuditWrites(body); err != nil {
		return err
	}
	b, err := s.svc.Transaction(r.Context(), body, s.base(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) everything(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	q.Del("_format")
	b, err := s.svc.Everything(r.Context(), r.PathValue("id"), q, s.base(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}
