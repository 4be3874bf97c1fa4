package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/metrics"
)

// Instrument counts the requests h serves in reg, by method and status
// (doppel_http_requests_total), and their latency by method
// (doppel_http_request_duration_seconds). Paths are not labels: they hold
// resource ids, which may identify patients, and are unbounded.
func Instrument(h http.Handler, reg *metrics.Registry) http.Handler {
	requests := reg.Counter("doppel_http_requests_total", "HTTP requests served, by method and status code.", "method", "code")
	latency := reg.Histogram("doppel_http_request_duration_seconds", "Time to serve an HTTP request, by method.", nil, "method")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			method := r.Method
			switch method {
			case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
			default:
				method = "other" // a client cannot add series
			}
			requests.Inc(method, strconv.Itoa(status))
			latency.Observe(time.Since(start).Seconds(), method)
		}()
		h.ServeHTTP(sw, r)
	})
}

// Metrics serves reg (GET /metrics) to a principal that may search the
// whole system (a user/*.rs, system/*.rs or admin token): the numbers hold
// no patient data, but they tell how busy the service is. Without a valid
// token it answers 401, without the scopes 403.
func Metrics(reg *metrics.Registry) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := auth.FromContext(r.Context())
		if err != nil {
			if c := auth.Challenge(err); c != "" {
				w.Header().Set("WWW-Authenticate", c)
			}
			http.Error(w, "metrics need a bearer token", http.StatusUnauthorized)
			return
		}
		if !p.Allows("search-system", "") || p.Compartment() != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="doppel", error="insufficient_scope"`)
			http.Error(w, "metrics need a token with user/*.rs or system/*.rs scopes", http.StatusForbidden)
			return
		}
		reg.ServeHTTP(w, r)
	})
}
