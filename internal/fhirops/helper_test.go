package fhirops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

// t0 is the clock of the test services: it advances by one second per call.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newService returns a Service on a fresh SQLite store in t.TempDir(),
// with ids "id1", "id2", ... and a clock that starts at t0.
// mod, if given, changes the options.
func newService(t testing.TB, mod ...func(*fhirops.Options)) *fhirops.Service {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "fhir.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n, tick := 0, 0
	opts := fhirops.Options{
		NewID: func() string { n++; return fmt.Sprintf("id%d", n) },
		Now:   func() time.Time { tick++; return t0.Add(time.Duration(tick) * time.Second) },
	}
	for _, f := range mod {
		f(&opts)
	}
	return fhirops.New(st, registry(t), opts)
}

var reg *search.Registry

// registry returns the search registry, built once (it compiles every R4
// search expression; it is immutable).
func registry(t testing.TB) *search.Registry {
	if reg == nil {
		r, err := search.NewRegistry()
		if err != nil {
			t.Fatal(err)
		}
		reg = r
	}
	return reg
}

// status returns the HTTP status of err: 0 for nil, -1 if err is not an
// *fhir.Error.
func status(err error) int {
	if err == nil {
		return 0
	}
	var fe *fhir.Error
	if errors.As(err, &fe) {
		return fe.Status
	}
	return -1
}

// tree decodes JSON into a generic tree (numbers as json.Number).
func tree(t testing.TB, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	return m
}

// searchBundle is the part of a searchset Bundle the tests look at.
type searchBundle struct {
	Total *int
	Link  []struct{ Relation, URL string }
	Entry []struct {
		FullURL  string
		Resource json.RawMessage
		Search   struct{ Mode string }
	}
}

func (b searchBundle) link(rel string) string {
	for _, l := range b.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

// ids lists the entries as "Type/id" (mode match) or "+Type/id" (include).
func (b searchBundle) ids() []string {
	var out []string
	for _, e := range b.Entry {
		var r struct{ ResourceType, ID string }
		json.Unmarshal(e.Resource, &r)
		s := r.ResourceType + "/" + r.ID
		if e.Search.Mode != "match" {
			s = e.Search.Mode + ":" + s
		}
		out = append(out, s)
	}
	return out
}

// doSearch runs a search and decodes its Bundle.
func doSearch(t testing.TB, s *fhirops.Service, typ, query string) searchBundle {
	t.Helper()
	vals, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	data, err := s.Search(context.Background(), typ, vals, true, "http://x/fhir")
	if err != nil {
		t.Fatalf("search %s?%s: %v", typ, query, err)
	}
	var b searchBundle
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// sv adds test helpers to a Service.
type sv struct{ *fhirops.Service }

func (s sv) mustUpdate(t testing.TB, typ, id, body string) {
	t.Helper()
	if _, err := s.Update(context.Background(), typ, id, []byte(body), ""); err != nil {
		t.Fatalf("update %s/%s: %v", typ, id, err)
	}
}
