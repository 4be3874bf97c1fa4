package metrics_test

import (
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/internal/metrics"
	"github.com/google/go-cmp/cmp"
)

// TestWriteText checks the exposition text against the format's rules,
// written out by hand: HELP and TYPE lines first, families by name, label
// escaping, cumulative buckets ending with +Inf, _sum and _count.
func TestWriteText(t *testing.T) {
	r := metrics.NewRegistry()
	req := r.Counter("doppel_http_requests_total", "HTTP requests served.", "method", "code")
	lat := r.Histogram("doppel_http_request_seconds", "HTTP request latency.\nIn seconds.", []float64{0.1, 0.5, 1}, "method")
	up := r.Gauge("doppel_twins", `Twins running (a \ b).`)
	req.Inc("GET", "200")
	req.Add(2, "GET", "200")
	req.Inc("POST", "4\"0\\0\n")
	for _, v := range []float64{0.05, 0.1, 0.3, 2} {
		lat.Observe(v, "GET")
	}
	up.Set(5)
	up.Add(-1.5)
	want := `# HELP doppel_http_request_seconds HTTP request latency.\nIn seconds.
# TYPE doppel_http_request_seconds histogram
doppel_http_request_seconds_bucket{method="GET",le="0.1"} 2
doppel_http_request_seconds_bucket{method="GET",le="0.5"} 3
doppel_http_request_seconds_bucket{method="GET",le="1"} 3
doppel_http_request_seconds_bucket{method="GET",le="+Inf"} 4
doppel_http_request_seconds_sum{method="GET"} 2.45
doppel_http_request_seconds_count{method="GET"} 4
# HELP doppel_http_requests_total HTTP requests served.
# TYPE doppel_http_requests_total counter
doppel_http_requests_total{method="GET",code="200"} 3
doppel_http_requests_total{method="POST",code="4\"0\\0\n"} 1
# HELP doppel_twins Twins running (a \\ b).
# TYPE doppel_twins gauge
doppel_twins 3.5
`
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if rec.Body.String() != want {
		t.Errorf("served body differs from WriteText")
	}
}

func TestPanics(t *testing.T) {
	tests := map[string]func(r *metrics.Registry){
		"twice":          func(r *metrics.Registry) { r.Gauge("x", ""); r.Counter("x", "") },
		"label count":    func(r *metrics.Registry) { r.Counter("x", "", "a").Inc() },
		"negative":       func(r *metrics.Registry) { r.Counter("x", "").Add(-1) },
		"bucket order":   func(r *metrics.Registry) { r.Histogram("x", "", []float64{1, 1}) },
		"infinite bound": func(r *metrics.Registry) { r.Histogram("x", "", []float64{1, math.Inf(1)}) },
	}
	for name, fn := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn(metrics.NewRegistry())
		}()
	}
}
