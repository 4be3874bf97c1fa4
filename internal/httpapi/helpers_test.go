package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

// registry is built once per test binary: it compiles every R4 search
// expression, and it is immutable.
var registry = sync.OnceValues(search.NewRegistry)

// maxEntries is the Bundle entry limit of the test servers' Service.
const maxEntries = 20

// testEnv is a Server on a fresh SQLite store.
type testEnv struct {
	t   testing.TB
	st  store.Store
	svc *fhirops.Service
	srv *Server
	log *bytes.Buffer // the server's log
}

// openStore opens a SQLite store in dir, closed when the test ends.
func openStore(t testing.TB, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "fhir.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newEnv returns a Server on a new store with opts.
func newEnv(t testing.TB, opts Options) *testEnv {
	t.Helper()
	return newEnvOn(t, openStore(t, t.TempDir()), opts)
}

// newEnvOn returns a Server on st. Its rate limit is off unless opts sets
// one: tests send requests far faster than a client would.
func newEnvOn(t testing.TB, st store.Store, opts Options) *testEnv {
	t.Helper()
	if opts.RateLimit == 0 {
		opts.RateLimit = -1
	}
	reg, err := registry()
	if err != nil {
		t.Fatal(err)
	}
	svc := fhirops.New(st, reg, fhirops.Options{MaxBundleEntries: maxEntries})
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &buf}, nil))
	return &testEnv{t: t, st: st, svc: svc, srv: New(logger, svc, st, reg, opts), log: &buf}
}

// syncWriter serializes writes (the log is written by handlers and by Run).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// do sends a request through the handler. hdr holds header name, value
// pairs.
func (e *testEnv) do(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

// create POSTs a resource and returns its id.
func (e *testEnv) create(typ, body string) string {
	e.t.Helper()
	w := e.do("POST", "/fhir/"+typ, body)
	if w.Code != http.StatusCreated {
		e.t.Fatalf("create %s: status %d: %s", typ, w.Code, w.Body)
	}
	var r struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || r.ID == "" {
		e.t.Fatalf("create %s: body %s: %v", typ, w.Body, err)
	}
	return r.ID
}

// outcome decodes an OperationOutcome response, failing the test if the
// response is not one.
type ooIssue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics"`
	Expression  []string `json:"expression"`
}

func outcome(t testing.TB, w *httptest.ResponseRecorder) []ooIssue {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != fhirJSON {
		t.Errorf("Content-Type %q, want %q", ct, fhirJSON)
	}
	var oo struct {
		ResourceType string    `json:"resourceType"`
		Issue        []ooIssue `json:"issue"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("status %d: not an OperationOutcome: %s", w.Code, w.Body)
	}
	return oo.Issue
}

// bundle is the part of a Bundle the tests read.
type bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Search   *struct {
			Mode string `json:"mode"`
		} `json:"search"`
		Response *struct {
			Status   string `json:"status"`
			Location string `json:"location"`
		} `json:"response"`
	} `json:"entry"`
}

func decodeBundle(t testing.TB, w *httptest.ResponseRecorder) bundle {
	t.Helper()
	var b bundle
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.ResourceType != "Bundle" {
		t.Fatalf("status %d: not a Bundle: %s", w.Code, w.Body)
	}
	return b
}

// count returns the number of resources of typ in the store now.
func (e *testEnv) count(typ string) int {
	e.t.Helper()
	p, err := e.st.Search(context.Background(), &search.Query{Type: typ, Summary: "count"}, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Total
}
