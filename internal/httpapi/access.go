package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"
)

// Interaction is what a request asks to do, as the access check sees it.
type Interaction struct {
	// Kind is the FHIR interaction: "capabilities", "read", "vread",
	// "update", "patch", "delete", "create", "search-type",
	// "history-instance", "history-type", "history-system", "transaction"
	// (a transaction or batch Bundle; the entries are not checked one by one
	// here), or "operation".
	Kind string
	// Type and ID name the resource type and id the URL names, if any.
	Type, ID string
	// Operation is the operation's name with its "$" ("$everything",
	// "$export", "$export-status") when Kind is "operation".
	Operation string
	// Compartment is "Patient/123" when the request is confined to one
	// patient's compartment (Patient/123/$everything).
	Compartment string
}

// Authorizer decides whether a request may perform an interaction. A nil
// error allows it. A denial is sent as an OperationOutcome: with the status
// of a *fhir.Error (401, 403), else 403.
type Authorizer interface {
	Authorize(r *http.Request, in Interaction) error
}

// allowAll is the default Authorizer.
type allowAll struct{}

func (allowAll) Authorize(*http.Request, Interaction) error { return nil }

// requestKey is the context key of a request's *requestInfo.
type requestKey struct{}

// requestInfo is what the request log learns about a request while it is
// served.
type requestInfo struct {
	id      string
	pattern string
}

// requestID returns the id the request log gave the request ("" outside it).
func requestID(ctx context.Context) string {
	if ri, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// statusWriter records the status a handler sent.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests gives each request an id (sent back as X-Request-Id), turns
// panics into a 500 OperationOutcome, and logs one line per request with no
// patient data: method, route pattern, status, duration, bytes, id.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: randomHex(8)}
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Request-Id", ri.id)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "request_id", ri.id, "panic", p)
				if sw.status == 0 {
					s.internalError(sw, r)
				}
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method),
				slog.String("route", ri.pattern),
				slog.Int("status", sw.status),
				slog.Duration("duration", time.Since(start)),
				slog.Int64("bytes", sw.bytes),
				slog.String("request_id", ri.id))
		}()
		next.ServeHTTP(sw, r)
	})
}
