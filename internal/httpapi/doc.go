// Package httpapi is Doppel's FHIR R4 REST API: the HTTP layer over
// [fhirops], which holds the FHIR semantics and knows nothing of HTTP.
//
// This package owns only what is HTTP's: routing (net/http ServeMux patterns
// under /fhir), content types (application/fhir+json; XML is refused with 415),
// ETag, Last-Modified and Location headers, conditional read (304), the
// Prefer header (return= and handling=), request limits (413), a rate limit
// per client (429 with Retry-After), security headers on every response
// (CSP, nosniff, no-store, HSTS over TLS), gzip for clients that accept it, the CapabilityStatement at /fhir/metadata,
// which it generates from the routes it serves and the search registry, and
// Bulk Data $export, whose jobs live in the store so that they survive a
// restart and whose files may be encrypted at rest (Options.ExportSealer).
//
// # Errors
//
// Every error reaches the client as an OperationOutcome with the status of
// the failure. Errors the server did not expect (5xx) are logged with the
// request id, and the client is sent only that id: internal messages may hold
// patient data.
//
// # Access
//
// Every request passes one place, [Authorizer], before any handler runs: the
// route says which FHIR interaction the request is (type, id, operation,
// compartment), and the authorizer allows or denies it. The default allows
// everything; authentication and scopes plug in there. The request log
// records method, route pattern, status, duration and request id, never the
// query string or the body, which may hold names.
//
// # Audit
//
// The same place records each request for the audit trail (Options.Audit,
// internal/audit): who, from where, what, which patient and the outcome,
// refusals included; a write's record is committed with the write. The
// audit trail is read-only through the API (405 on writes of AuditEvent),
// and $export leaves it out unless _type names it. $export?_deid=safe-harbor
// de-identifies what it writes (Options.Deid, internal/deid).
package httpapi
