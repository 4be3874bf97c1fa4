package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/store"
)

// Media types.
const (
	fhirJSON      = "application/fhir+json; charset=utf-8"
	fhirNDJSON    = "application/fhir+ndjson"
	jsonPatchType = "application/json-patch+json"
)

// errorf returns an *fhir.Error with one error issue.
func errorf(status int, code, format string, args ...any) *fhir.Error {
	return &fhir.Error{Status: status, Issues: []fhir.Issue{{
		Severity: "error", Code: code, Diagnostics: fmt.Sprintf(format, args...),
	}}}
}

// statusOf maps the store's errors to FHIR errors; it returns nil for
// errors the server did not expect.
func statusOf(err error) *fhir.Error {
	var fe *fhir.Error
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "not-found", "resource not found")
	case errors.Is(err, store.ErrDeleted):
		return errorf(http.StatusGone, "deleted", "resource deleted")
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, "conflict", "version conflict: the resource was changed by another request")
	case errors.Is(err, context.Canceled):
		// The client went away: nobody reads the answer.
		return errorf(499, "timeout", "request cancelled")
	}
	return nil
}

// writeError sends err as an OperationOutcome. An error the server did not
// expect is logged with the request id and the client gets only that id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	fe := statusOf(err)
	if fe == nil || fe.Status >= 500 {
		s.log.Error("internal error", "request_id", requestID(r.Context()), "err", err)
		s.internalError(w, r)
		return
	}
	writeJSON(w, fe.Status, fhir.OperationOutcome(fe.Issues...))
}

// internalError sends a 500 OperationOutcome that names only the request id.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusInternalServerError, fhir.OperationOutcome(fhir.Issue{
		Severity:    "error",
		Code:        "exception",
		Diagnostics: "internal server error; request id " + requestID(r.Context()),
	}))
}

// writeJSON sends a FHIR JSON body.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", fhirJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// isXML reports whether a media type is an XML one.
func isXML(mt string) bool {
	return mt == "xml" || strings.HasSuffix(mt, "/xml") || strings.HasSuffix(mt, "+xml")
}

// isJSON reports whether a media type is one of the JSON ones we serve.
func isJSON(mt string) bool {
	switch mt {
	case "json", "application/json", "application/fhir+json", "application/json+fhir":
		return true
	}
	return false
}

// negotiate checks the response format the client asks for (_format, then
// Accept): JSON or anything is fine, XML alone is refused with 415.
func negotiate(r *http.Request) error {
	if f := r.URL.Query().Get("_format"); f != "" {
		mt, _, err := mime.ParseMediaType(f)
		if err != nil || !isJSON(mt) {
			return errorf(http.StatusUnsupportedMediaType, "not-supported", "_format %q is not supported: this server speaks application/fhir+json only", f)
		}
		return nil
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return nil
	}
	xml := false
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if !isXML(mt) {
			return nil // JSON, */* or something we answer with JSON anyway
		}
		xml = true
	}
	if xml {
		return errorf(http.StatusUnsupportedMediaType, "not-supported", "XML is not supported: this server speaks application/fhir+json only")
	}
	return nil
}

// checkBodyType checks a request body's Content-Type: FHIR JSON (or plain
// JSON, or none) unless want names another type.
func checkBodyType(r *http.Request, want string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == want || want == "" && isJSON(mt)) {
		return nil
	}
	if want == "" {
		want = "application/fhir+json"
	}
	return errorf(http.StatusUnsupportedMediaType, "not-supported", "Content-Type %q is not supported here: send %s", ct, want)
}

// readBody reads a request body up to the server's limit; a longer body is
// a 413.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, want string) ([]byte, error) {
	if err := checkBodyType(r, want); err != nil {
		return nil, err
	}
	if r.ContentLength > s.opts.MaxBodyBytes {
		return nil, s.tooLarge()
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, s.tooLarge()
		}
		return nil, errorf(http.StatusBadRequest, "structure", "reading the request body failed")
	}
	return buf.Bytes(), nil
}

func (s *Server) tooLarge() error {
	return errorf(http.StatusRequestEntityTooLarge, "too-costly", "request body larger than %d bytes", s.opts.MaxBodyBytes)
}
