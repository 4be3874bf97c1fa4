package httpapi

import "net/http"

// Security headers (OWASP ASVS 5.0 V3, SEC-19, SEC-39) that every response
// carries. The API answers JSON only, so the strictest policy costs
// nothing: no content of any kind may load from a response, no page may
// frame one, and nothing may sniff a type other than the one sent.
var securityHeaders = [...][2]string{
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Referrer-Policy", "no-referrer"},
}

// hsts is the Strict-Transport-Security value sent over TLS: two years.
const hsts = "max-age=63072000; includeSubDomains"

// secure sets the security headers: see SecurityHeaders.
func (s *Server) secure(next http.Handler) http.Handler { return SecurityHeaders(next) }

// SecurityHeaders sets the security headers before next writes, for the
// handlers a program serves beside the API (well-known documents, health
// checks). Every response but the CapabilityStatement holds, or may hold,
// patient data, so none is stored by a browser or a proxy (Cache-Control:
// no-store). Strict-Transport-Security goes out on TLS connections only
// (RFC 6797 §7.2: a host sends it over secure transport only).
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, kv := range securityHeaders {
			h.Set(kv[0], kv[1])
		}
		if r.URL.Path != "/fhir/metadata" {
			h.Set("Cache-Control", "no-store")
		}
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	})
}
