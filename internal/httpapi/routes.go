package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/fhir"
)

// route is one ServeMux pattern with the FHIR interaction it serves. The
// table of routes is both the mux's configuration and the source of the
// CapabilityStatement, so the two cannot disagree.
type route struct {
	pattern string // "GET /fhir/{type}/{id}"
	kind    string // Interaction.Kind
	op      string // Interaction.Operation, for Kind "operation"
	typ     string // the resource type when the pattern fixes it ("Patient")
	handle  func(w http.ResponseWriter, r *http.Request) error
}

// routeTable lists the routes the server serves.
func (s *Server) routeTable() []route {
	rs := []route{
		{pattern: "GET /fhir/metadata", kind: "capabilities", handle: s.capabilities},
		{pattern: "POST /fhir", kind: "transaction", handle: s.transaction},
		{pattern: "GET /fhir", kind: "search-system", handle: s.search},
		{pattern: "GET /fhir/_history", kind: "history-system", handle: s.history},
		{pattern: "POST /fhir/{type}", kind: "create", handle: s.create},
		{pattern: "PUT /fhir/{type}", kind: "update", handle: s.conditionalUpdate},
		{pattern: "GET /fhir/{type}", kind: "search-type", handle: s.search},
		{pattern: "GET /fhir/{type}/_search", kind: "search-type", handle: s.search},
		{pattern: "POST /fhir/{type}/_search", kind: "search-type", handle: s.search},
		{pattern: "GET /fhir/{type}/_history", kind: "history-type", handle: s.history},
		{pattern: "GET /fhir/{type}/{id}", kind: "read", handle: s.read},
		{pattern: "PUT /fhir/{type}/{id}", kind: "update", handle: s.update},
		{pattern: "PATCH /fhir/{type}/{id}", kind: "patch", handle: s.patch},
		{pattern: "DELETE /fhir/{type}/{id}", kind: "delete", handle: s.delete},
		{pattern: "GET /fhir/{type}/{id}/_history", kind: "history-instance", handle: s.history},
		{pattern: "GET /fhir/{type}/{id}/_history/{vid}", kind: "vread", handle: s.vread},
		{pattern: "GET /fhir/Patient/{id}/$everything", kind: "operation", op: "$everything", typ: "Patient", handle: s.everything},
	}
	if s.opts.Series != nil {
		rs = append(rs, route{pattern: "GET /fhir/Patient/{patient}/$samples", kind: "search-type", op: "$samples", typ: "Observation", handle: s.samples}) // samples.go
	}
	if s.opts.ExportDir != "" {
		rs = append(rs,
			route{pattern: "GET /fhir/$export", kind: "operation", op: "$export", handle: s.kickOff},
			route{pattern: "GET /fhir/Patient/$export", kind: "operation", op: "$export", typ: "Patient", handle: s.kickOff},
			route{pattern: "GET /fhir/Group/{id}/$export", kind: "operation", op: "$export", typ: "Group", handle: s.kickOff},
			route{pattern: "GET /fhir/_export/{job}/status", kind: "operation", op: "$export-status", handle: s.exportStatus},
			route{pattern: "DELETE /fhir/_export/{job}/status", kind: "operation", op: "$export-cancel", handle: s.exportCancel},
			route{pattern: "GET /fhir/_export/{job}/file/{name}", kind: "operation", op: "$export-file", handle: s.exportFile},
		)
	}
	rs = append(rs, s.subscriptionRoutes()...) // subscription.go
	rs = append(rs, s.patientTwinRoutes()...)  // twinapi.go
	return append(rs, s.twinRoutes()...)       // twin.go
}

// route wraps a route's handler: every request passes here, and here only,
// to be authorized, after which its response format is checked.
func (s *Server) route(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri, ok := r.Context().Value(requestKey{}).(*requestInfo); ok {
			ri.pattern = rt.pattern
		}
		in := Interaction{Kind: rt.kind, Operation: rt.op, Type: rt.typ, ID: r.PathValue("id")}
		if in.Type == "" {
			in.Type = r.PathValue("type")
		}
		if rt.op == "$everything" {
			in.Compartment = "Patient/" + in.ID
		}
		if rt.op == "$samples" {
			in.Compartment = "Patient/" + r.PathValue("patient") // samples.go
		}
		if isTwinOp(rt.op) {
			in.Compartment = "Patient/" + r.PathValue("patient") // twinapi.go
		}
		w, r, audited := s.auditStart(w, r, in)
		defer audited()
		if !s.authorize(w, r, in) || s.refuseAuditWrite(w, r, in) {
			return
		}
		if in.Type != "" && !fhir.IsResourceType(in.Type) {
			s.notFound(w, r, errorf(http.StatusNotFound, "not-supported", "unknown resource type %q", clip(in.Type)))
			return
		}
		if err := negotiate(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := rt.handle(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// authorize asks the Authorizer about in and sends the denial if it says
// no.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, in Interaction) bool {
	err := s.opts.Authorizer.Authorize(r, in)
	if err == nil {
		return true
	}
	fe := statusOf(err)
	if fe == nil || fe.Status < 400 || fe.Status >= 500 {
		fe = errorf(http.StatusForbidden, "forbidden", "access denied")
	}
	if c := auth.Challenge(err); c != "" {
		w.Header().Set("WWW-Authenticate", c) // RFC 6750 §3
	}
	s.writeError(w, r, fe)
	return false
}

// allMethods are the methods routes use, for the Allow header of a 405.
var allMethods = [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// noRoute answers requests no route matches.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	w, r, audited := s.auditStart(w, r, Interaction{Kind: "unknown"})
	defer audited()
	if !s.authorize(w, r, Interaction{Kind: "unknown"}) {
		return
	}
	s.notFound(w, r, errorf(http.StatusNotFound, "not-found", "no FHIR endpoint at this path"))
}

// notFound answers a request for a path the server does not serve with
// this method: 405 with Allow if it serves the path with other methods,
// else err (a 404).
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, err error) {
	// A route with {type} serves the path only if its segment is a type.
	segs := strings.Split(r.URL.Path, "/")
	typeOK := len(segs) > 2 && fhir.IsResourceType(segs[2])
	var allow []string
	for _, m := range allMethods {
		r2 := r.Clone(r.Context())
		r2.Method = m
		_, p := s.mux.Handler(r2)
		if p != "/" && p != "" && (typeOK || !strings.Contains(p, "{type}")) {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		err = errorf(http.StatusMethodNotAllowed, "not-supported", "method %s is not allowed here", r.Method)
	}
	s.writeError(w, r, err)
}

// clip shortens s (from a URL, so from the client) for a diagnostic.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// prefer returns the value of one token of the Prefer headers ("return",
// "handling"), "" if absent.
func prefer(r *http.Request, key string) string {
	for _, h := range r.Header.Values("Prefer") {
		for part := range strings.SplitSeq(h, ",") {
			for tok := range strings.SplitSeq(part, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(tok), "=")
				if strings.EqualFold(k, key) {
					return strings.Trim(v, `"`)
				}
			}
		}
	}
	return ""
}

// preferAsync reports whether Prefer holds respond-async.
func preferAsync(r *http.Request) bool {
	for _, h := range r.Header.Values("Prefer") {
		if slices.ContainsFunc(strings.FieldsFunc(h, func(c rune) bool { return c == ',' || c == ';' }), func(t string) bool {
			return strings.EqualFold(strings.TrimSpace(t), "respond-async")
		}) {
			return true
		}
	}
	return false
}
