package httpapi

import (
	"compress/gzip"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// compress gzips JSON and NDJSON responses for clients that accept gzip
// (Accept-Encoding). Bundles of resources shrink about tenfold.
func (s *Server) compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsGzip(r) {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w, pool: &s.gzips}
		defer gw.close()
		next.ServeHTTP(gw, r)
	})
}

// acceptsGzip reports whether Accept-Encoding lists gzip with a non-zero
// quality.
func acceptsGzip(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(h, ",") {
			name, params, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(name), "gzip") {
				q := strings.ReplaceAll(params, " ", "")
				return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
			}
		}
	}
	return false
}

// gzipWriter decides at WriteHeader whether to compress: only JSON and
// NDJSON bodies of unknown length or at least minGzip bytes, never
// partial content or a status without a body.
type gzipWriter struct {
	http.ResponseWriter
	pool    *sync.Pool // of *gzip.Writer
	zw      *gzip.Writer
	decided bool
}

// minGzip is the size below which a body whose length is known is sent
// as it is: about one packet, where compression saves no time.
const minGzip = 1400

// compressible are the content types gzipWriter compresses.
var compressible = []string{"application/fhir+json", "application/json", fhirNDJSON}

func (g *gzipWriter) WriteHeader(code int) {
	if !g.decided {
		g.decided = true
		h := g.Header()
		ct := h.Get("Content-Type")
		n, err := strconv.Atoi(h.Get("Content-Length"))
		ok := code != http.StatusNoContent && code != http.StatusNotModified && code != http.StatusPartialContent &&
			h.Get("Content-Encoding") == "" && h.Get("Content-Range") == "" && (err != nil || n >= minGzip)
		if ok && slices.ContainsFunc(compressible, func(p string) bool { return strings.HasPrefix(ct, p) }) {
			h.Del("Content-Length")
			h.Set("Content-Encoding", "gzip")
			h.Add("Vary", "Accept-Encoding")
			if zw, _ := g.pool.Get().(*gzip.Writer); zw != nil {
				zw.Reset(g.ResponseWriter)
				g.zw = zw
			} else {
				g.zw, _ = gzip.NewWriterLevel(g.ResponseWriter, gzip.BestSpeed) // a valid level: no error
			}
		}
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if !g.decided {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw != nil {
		return g.zw.Write(p)
	}
	return g.ResponseWriter.Write(p)
}

func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// close ends the gzip stream, if one was started.
func (g *gzipWriter) close() {
	if g.zw == nil {
		return
	}
	_ = g.zw.Close() // a failed write has failed the response already
	g.pool.Put(g.zw)
	g.zw = nil
}
