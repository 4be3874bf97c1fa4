package httpapi

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkRead reads one Patient through the handler (routing, access
// check, request log, store read) and reports the p50 and p99 latency.
func BenchmarkRead(b *testing.B) {
	e := newEnv(b, Options{})
	id := e.create("Patient", patientJSON)
	benchLatency(b, e.srv, func() *http.Request { return httptest.NewRequest("GET", "/fhir/Patient/"+id, nil) })
}

// BenchmarkCreate creates Patients through the handler, one at a time
// (each a durable store write).
func BenchmarkCreate(b *testing.B) {
	e := newEnv(b, Options{})
	benchLatency(b, e.srv, func() *http.Request {
		return httptest.NewRequest("POST", "/fhir/Patient", strings.NewReader(patientJSON))
	})
}

// benchLatency sends the requests req makes to h and reports the p50 and
// p99 of their latencies.
func benchLatency(b *testing.B, h http.Handler, req func() *http.Request) {
	var lat []time.Duration
	for b.Loop() {
		r := req()
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		lat = append(lat, time.Since(start))
		if w.Code >= 300 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
