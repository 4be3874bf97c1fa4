package httpapi

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestGzip: JSON answers are gzipped for clients that accept it and equal
// the plain ones once decompressed; bodiless answers are not.
func TestGzip(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.create("Patient", patientJSON)
	big := e.create("Patient", `{"resourceType":"Patient","name":[{"family":"`+strings.Repeat("x", minGzip)+`"}]}`)
	for _, target := range []string{"/fhir/Patient/" + big, "/fhir/Patient", "/fhir/metadata"} {
		plain := e.do("GET", target, "")
		for _, ae := range []string{"gzip", "deflate, gzip;q=0.8", "br;q=1.0, GZIP"} {
			w := e.do("GET", target, "", "Accept-Encoding", ae)
			if w.Code != plain.Code || w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" {
				t.Errorf("%s, Accept-Encoding %q: status %d, Content-Encoding %q, Vary %q", target, ae, w.Code, w.Header().Get("Content-Encoding"), w.Header().Get("Vary"))
				continue
			}
			zr, err := gzip.NewReader(w.Body)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != plain.Body.String() {
				t.Errorf("%s: decompressed body differs from the plain one", target)
			}
		}
	}
	for _, tc := range []struct {
		method, target, ae string
		hdr                []string
	}{
		{"GET", "/fhir/Patient/" + big, "gzip;q=0", nil},
		{"GET", "/fhir/Patient/" + id, "gzip", nil}, // under minGzip
		{"GET", "/fhir/Unicorn", "gzip", nil},       // an OperationOutcome: short
		{"GET", "/fhir/Patient/" + id, "identity", nil},
		{"GET", "/fhir/Patient/" + id, "gzip", []string{"If-None-Match", `W/"1"`}},
		{"DELETE", "/fhir/Patient/" + id, "gzip", nil},
	} {
		w := e.do(tc.method, tc.target, "", append([]string{"Accept-Encoding", tc.ae}, tc.hdr...)...)
		if ce := w.Header().Get("Content-Encoding"); ce != "" || w.Code >= 300 && w.Code != http.StatusNotModified && w.Code != http.StatusNotFound {
			t.Errorf("%s %s, Accept-Encoding %q %v: status %d, Content-Encoding %q, want none", tc.method, tc.target, tc.ae, tc.hdr, w.Code, ce)
		}
	}
}
