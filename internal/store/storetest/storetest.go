// Package storetest is the conformance suite every store.Store passes: the
// sqlite and postgres stores run the same tests and benchmarks, so callers
// can rely on one behaviour (versions and conflicts, atomic and durable
// group-committed writes, snapshots, history, the search match rules of
// package search, jobs, persistence across reopening, device time series
// when the store is a store.Series).
//
// A store's test calls Run with a function that prepares empty storage for
// one test; the suite builds every resource and index entry itself and never
// depends on the search URL parser or extractor.
package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// Target is empty storage prepared for one test.
type Target struct {
	// Open opens a store on the storage. After the store is closed, Open
	// again gives a store on the same data.
	Open func() (store.Store, error)
	// Corrupt changes the stored bytes of the current version of typ/id
	// without updating its hash (with raw SQL, say).
	Corrupt func(typ, id string) error
	// Hashed says the store indexes keyed hashes of texts, not the texts
	// (package sealed): the searches that need the text (string
	// :contains, token :text, _sort by a string) must then fail with an
	// error instead of matching.
	Hashed bool
	// SeriesBytes, if set, returns the bytes the time series tables take
	// (indexes included), measured with every store closed; the Series
	// benchmark reports bytes per sample with it.
	SeriesBytes func() (int64, error)
}

// Fresh prepares empty storage for one test or benchmark and removes it when
// tb ends.
type Fresh func(tb testing.TB) Target

// Run runs the conformance suite, each test on fresh storage.
func Run(t *testing.T, fresh Fresh) {
	tests := []struct {
		name string
		fn   func(t *testing.T, tg Target)
	}{
		{"Versions", testVersions},
		{"Delete", testDelete},
		{"Atomicity", testAtomicity},
		{"ReadYourWrites", testReadYourWrites},
		{"ConcurrentWriters", testConcurrentWriters},
		{"CanceledWrite", testCanceledWrite},
		{"History", testHistory},
		{"SearchString", testSearchString},
		{"SearchToken", testSearchToken},
		{"SearchReference", testSearchReference},
		{"SearchURI", testSearchURI},
		{"SearchDate", testSearchDate},
		{"SearchNumber", testSearchNumber},
		{"SearchQuantity", testSearchQuantity},
		{"Missing", testMissing},
		{"Chain", testChain},
		{"Unsupported", testUnsupported},
		{"Sort", testSort},
		{"Paging", testPaging},
		{"Snapshot", testSnapshot},
		{"AllTypes", testAllTypes},
		{"Corrupt", testCorrupt},
		{"Jobs", testJobs},
		{"Reopen", testReopen},
		{"Series", testSeries},
		{"SeriesBatch", testSeriesBatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, fresh(t))
		})
	}
}

// open opens the target's store and closes it at the end of the test.
func open(tb testing.TB, tg Target) store.Store {
	tb.Helper()
	s, err := tg.Open()
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// t0 is the lastUpdated of the first write; later ones add seconds.
var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// res is a resource to write: its JSON is made from Type, ID and VersionID.
type res struct {
	typ, id string
	vid     int64
	index   []search.Entry
}

func body(typ, id string, vid int64) []byte {
	return fmt.Appendf(nil, `{"resourceType":%q,"id":%q,"meta":{"versionId":"%d"}}`, typ, id, vid)
}

func (r res) version(at time.Time) store.Version {
	return store.Version{Type: r.typ, ID: r.id, VersionID: r.vid, LastUpdated: at, Body: body(r.typ, r.id, r.vid), Index: r.index}
}

// put writes each resource in its own request, at t0 plus one second per
// version, and returns what Put returned.
func put(tb testing.TB, s store.Store, rs ...res) []store.Version {
	tb.Helper()
	out := make([]store.Version, len(rs))
	for i, r := range rs {
		err := s.Write(context.Background(), func(w store.Writer) error {
			var err error
			out[i], err = w.Put(context.Background(), r.version(t0.Add(time.Duration(r.vid)*time.Second)))
			return err
		})
		if err != nil {
			tb.Fatalf("put %s/%s version %d: %v", r.typ, r.id, r.vid, err)
		}
	}
	return out
}

// del deletes a resource in its own request.
func del(tb testing.TB, s store.Store, typ, id string, at time.Time) store.Version {
	tb.Helper()
	var v store.Version
	err := s.Write(context.Background(), func(w store.Writer) error {
		var err error
		v, err = w.Delete(context.Background(), typ, id, at)
		return err
	})
	if err != nil {
		tb.Fatalf("delete %s/%s: %v", typ, id, err)
	}
	return v
}

// ids lists a page's matches as "Type/id/version".
func ids(p store.Page) []string {
	out := []string{}
	for _, v := range p.Matches {
		out = append(out, fmt.Sprintf("%s/%s/%d", v.Type, v.ID, v.VersionID))
	}
	return out
}

// ref names a version as ids does.
func ref(typ, id string, vid int64) string { return fmt.Sprintf("%s/%s/%d", typ, id, vid) }

func mustSearch(tb testing.TB, s store.Reader, q *search.Query, at int64) store.Page {
	tb.Helper()
	p, err := s.Search(context.Background(), q, at)
	if err != nil {
		tb.Fatalf("search %+v: %v", q, err)
	}
	return p
}

// checkVersion compares a read version with what was written.
func checkVersion(tb testing.TB, got store.Version, typ, id string, vid int64, deleted bool) {
	tb.Helper()
	if got.Type != typ || got.ID != id || got.VersionID != vid || got.Deleted != deleted {
		tb.Errorf("got %s/%s version %d deleted %v, want %s/%s version %d deleted %v",
			got.Type, got.ID, got.VersionID, got.Deleted, typ, id, vid, deleted)
	}
	var want []byte
	if !deleted {
		want = body(typ, id, vid)
	}
	if string(got.Body) != string(want) {
		tb.Errorf("%s/%s version %d: body %q, want %q", typ, id, vid, got.Body, want)
	}
	if got.Hash != sha256.Sum256(want) {
		tb.Errorf("%s/%s version %d: hash is not SHA-256 of the body", typ, id, vid)
	}
	if got.T <= 0 {
		tb.Errorf("%s/%s version %d: T = %d, want > 0", typ, id, vid, got.T)
	}
}

func testVersions(t *testing.T, tg Target) {
	ctx := context.Background()
	s := open(t, tg)
	if _, err := s.Read(ctx, "Patient", "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read before create: %v, want ErrNotFound", err)
	}
	w := put(t, s, res{typ: "Patient", id: "p1", vid: 1}, res{typ: "Patient", id: "p1", vid: 2})
	if !(w[0].T > 0 && w[1].T > w[0].T) {
		t.Errorf("T of the two writes: %d, %d; want increasing from > 0", w[0].T, w[1].T)
	}
	if w[1].Hash != sha256.Sum256(body("Patient", "p1", 2)) {
		t.Errorf("Put did not set the hash")
	}
	got, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, got, "Patient", "p1", 2, false)
	if got.T != w[1].T || !got.LastUpdated.Equal(t0.Add(2*time.Second)) {
		t.Errorf("read T %d lastUpdated %v, want %d %v", got.T, got.LastUpdated, w[1].T, t0.Add(2*time.Second))
	}
	old, err := s.VRead(ctx, "Patient", "p1", 1)
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, old, "Patient", "p1", 1, false)
	if _, err := s.VRead(ctx, "Patient", "p1", 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("vread of version 3: %v, want ErrNotFound", err)
	}
	// Put must name the next version number.
	for _, r := range []res{
		{typ: "Patient", id: "p1", vid: 2},
		{typ: "Patient", id: "p1", vid: 4},
		{typ: "Patient", id: "p1", vid: 1},
		{typ: "Patient", id: "p2", vid: 2},
		{typ: "Patient", id: "p2", vid: 0},
	} {
		err := s.Write(ctx, func(w store.Writer) error {
			_, err := w.Put(ctx, r.version(t0))
			return err
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("put %s version %d: %v, want ErrConflict", r.id, r.vid, err)
		}
	}
	got, err = s.Read(ctx, "Patient", "p1")
	if err != nil || got.VersionID != 2 {
		t.Errorf("after conflicts: version %d, %v; want 2", got.VersionID, err)
	}
	if _, err := s.Read(ctx, "Patient", "p2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("read of a refused create: %v, want ErrNotFound", err)
	}
	// The same id in another type is another resource.
	if _, err := s.Read(ctx, "Observation", "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("read Observation/p1: %v, want ErrNotFound", err)
	}
}

func testDelete(t *testing.T, tg Target) {
	ctx := context.Background()
	s := open(t, tg)
	put(t, s, res{typ: "Patient", id: "p1", vid: 1, index: []search.Entry{{Param: "gender", Type: search.Token, Code: "female"}}})
	at := t0.Add(time.Hour)
	m := del(t, s, "Patient", "p1", at)
	if m.VersionID != 2 || !m.Deleted || m.Body != nil || !m.LastUpdated.Equal(at) {
		t.Errorf("delete marker %+v, want version 2, deleted, no body, lastUpdated %v", m, at)
	}
	got, err := s.Read(ctx, "Patient", "p1")
	if !errors.Is(err, store.ErrDeleted) {
		t.Fatalf("read after delete: %v, want ErrDeleted", err)
	}
	checkVersion(t, got, "Patient", "p1", 2, true)
	if _, err := s.VRead(ctx, "Patient", "p1", 2); !errors.Is(err, store.ErrDeleted) {
		t.Errorf("vread of the marker: %v, want ErrDeleted", err)
	}
	if v, err := s.VRead(ctx, "Patient", "p1", 1); err != nil || v.VersionID != 1 {
		t.Errorf("vread of version 1 after delete: %v", err)
	}
	q := &search.Query{Type: "Patient", Clauses: []search.Clause{{Param: "gender", Type: search.Token, Values: []search.Value{{Code: "female"}}}}}
	if p := mustSearch(t, s, q, 0); len(p.Matches) != 0 || p.Total != 0 {
		t.Errorf("search finds a deleted resource: %v total %d", ids(p), p.Total)
	}
	for _, id := range []string{"p1", "never"} {
		err := s.Write(ctx, func(w store.Writer) error {
			_, err := w.Delete(ctx, "Patient", id, at)
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delete of %s: %v, want ErrNotFound", id, err)
		}
	}
	// Re-create after delete: the marker's version + 1.
	put(t, s, res{typ: "Patient", id: "p1", vid: 3, index: []search.Entry{{Param: "gender", Type: search.Token, Code: "female"}}})
	got, err = s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, got, "Patient", "p1", 3, false)
	if p := mustSearch(t, s, q, 0); !slices.Equal(ids(p), []string{ref("Patient", "p1", 3)}) {
		t.Errorf("search after re-create: %v", ids(p))
	}
}

func testAtomicity(t *testing.T, tg Target) {
	ctx := context.Background()
	s := open(t, tg)
	put(t, s, res{typ: "Patient", id: "keep", vid: 1})
	before, err := s.History(ctx, store.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	idx := []search.Entry{{Param: "name", Type: search.String, Text: "Ann", Norm: "ann"}}
	err = s.Write(ctx, func(w store.Writer) error {
		for _, r := range []res{{typ: "Patient", id: "a", vid: 1, index: idx}, {typ: "Patient", id: "keep", vid: 2, index: idx}} {
			if _, err := w.Put(ctx, r.version(t0)); err != nil {
				return err
			}
		}
		if _, err := w.Delete(ctx, "Patient", "keep", t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write returned %v, want the function's error", err)
	}
	if _, err := s.Read(ctx, "Patient", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a resource of a failed write is readable: %v", err)
	}
	if v, err := s.Read(ctx, "Patient", "keep"); err != nil || v.VersionID != 1 {
		t.Errorf("after a failed write keep is at version %d (%v), want 1", v.VersionID, err)
	}
	q := &search.Query{Type: "Patient", Clauses: []search.Clause{{Param: "name", Type: search.String, Values: []search.Value{{Norm: "ann"}}}}}
	if p := mustSearch(t, s, q, 0); len(p.Matches) != 0 {
		t.Errorf("search finds entries of a failed write: %v", ids(p))
	}
	after, err := s.History(ctx, store.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Total != before.Total || after.T != before.T {
		t.Errorf("failed write changed history: total %d -> %d, T %d -> %d", before.Total, after.Total, before.T, after.T)
	}
	// A panic is the request's error; the store goes on.
	err = s.Write(ctx, func(w store.Writer) error {
		if _, err := w.Put(ctx, res{typ: "Patient", id: "c", vid: 1}.version(t0)); err != nil {
			return err
		}
		panic("bug")
	})
	if err == nil {
		t.Errorf("a panicking write succeeded")
	}
	if _, err := s.Read(ctx, "Patient", "c"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a resource of a panicking write is readable: %v", err)
	}
	// A function may handle a conflict and go on: its other writes stay.
	err = s.Write(ctx, func(w store.Writer) error {
		if _, err := w.Put(ctx, res{typ: "Patient", id: "keep", vid: 5}.version(t0)); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("conflicting put: %v, want ErrConflict", err)
		}
		_, err := w.Put(ctx, res{typ: "Patient", id: "b", vid: 1}.version(t0))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, "Patient", "b"); err != nil {
		t.Errorf("read b: %v", err)
	}
	if v, err := s.Read(ctx, "Patient", "keep"); err != nil || v.VersionID != 1 {
		t.Errorf("after a handled conflict keep is at version %d (%v), want 1", v.VersionID, err)
	}
}

func testReadYourWrites(t *testing.T, tg Target) {
	ctx := context.Background()
	s := open(t, tg)
	put(t, s, res{typ: "Patient", id: "old", vid: 1})
	idx := []search.Entry{{Param: "name", Type: search.String, Text: "Zed", Norm: "zed"}}
	q := &search.Query{Type: "Patient", Clauses: []search.Clause{{Param: "name", Type: search.String, Values: []search.Value{{Norm: "zed"}}}}}
	err := s.Write(ctx, func(w store.Writer) error {
		if _, err := w.Read(ctx, "Patient", "old"); err != nil {
			return fmt.Errorf("read of a committed resource: %w", err)
		}
		v, err := w.Put(ctx, res{typ: "Patient", id: "new", vid: 1, index: idx}.version(t0))
		if err != nil {
			return err
		}
		got, err := w.Read(ctx, "Patient", "new")
		if err != nil || got.VersionID != 1 {
			return fmt.Errorf("read of own write: version %d, %v", got.VersionID, err)
		}
		p, err := w.Search(ctx, q, 0)
		if err != nil {
			return err
		}
		if !slices.Equal(ids(p), []string{ref("Patient", "new", 1)}) {
			return fmt.Errorf("search inside the write: %v", ids(p))
		}
		if p.T != v.T {
			return fmt.Errorf("search inside the write ran at T %d, want the write's %d", p.T, v.T)
		}
		h, err := w.History(ctx, store.HistoryQuery{Type: "Patient", ID: "new"})
		if err != nil || h.Total != 1 {
			return fmt.Errorf("history of own write: total %d, %v", h.Total, err)
		}
		// Two versions in one request.
		if _, err := w.Put(ctx, res{typ: "Patient", id: "new", vid: 2}.version(t0)); err != nil {
			return err
		}
		if p, err := w.Search(ctx, q, 0); err != nil || len(p.Matches) != 0 {
			return fmt.Errorf("search after replacing own write: %v, %v", ids(p), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Reads outside see the committed result only.
	if v, err := s.Read(ctx, "Patient", "new"); err != nil || v.VersionID != 2 {
		t.Errorf("read after commit: version %d, %v; want 2", v.VersionID, err)
	}
}

func testConcurrentWriters(t *testing.T, tg Target) {
	ctx := context.Background()
	s := open(t, tg)
	const writers, each = 8, 25
	type result struct {
		id  string
		t   int64
		err error
	}
	results := make(chan result, writers*each)
	for g := range writers {
		go func() {
			for k := range each {
				id := fmt.Sprintf("w%d-%d", g, k)
				var v store.Version
				err := s.Write(ctx, func(w store.Writer) error {
					var err error
					v, err = w.Put(ctx, res{typ: "Observation", id: id, vid: 1}.version(t0))
					return err
				})
				results <- result{id, v.T, err}
			}
		}()
	}
	seen := map[int64]string{}
	for range writers * each {
		r := <-results
		if r.err != nil {
			t.Errorf("write %s: %v", r.id, r.err)
			continue
		}
		if other, ok := seen[r.t]; ok {
			t.Errorf("writes %s and %s got the same T %d", other, r.id, r.t)
		}
		seen[r.t] = r.id
		// Acknowledged means visible to every later read.
		if _, err := s.Read(ctx, "Observation", r.id); err != nil {
			t.Errorf("read of acknowledged %s: %v", r.id, err)
		}
	}
	h, err := s.History(ctx, store.HistoryQuery{Type: "Observation", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if h.Total != writers*each {
		t.Errorf("history total %d, want %d", h.Total, writers*each)
	}
}

func testCanceledWrite(t *testing.T, tg Target) {
	s := open(t, tg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Write(ctx, func(w store.Writer) error {
		_, err := w.Put(context.Background(), res{typ: "Patient", id: "x", vid: 1}.version(t0))
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("write with a canceled context: %v, want context.Canceled", err)
	}
	if _, err := s.Read(context.Background(), "Patient", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a canceled write was stored: %v", err)
	}
}

func testHistory(t *testing.T, tg Target) {
	ctx := context.Background()
	s := open(t, tg)
	w := put(t, s,
		res{typ: "Patient", id: "a", vid: 1},
		res{typ: "Observation", id: "o", vid: 1},
		res{typ: "Patient", id: "a", vid: 2},
		res{typ: "Patient", id: "b", vid: 1},
	)
	d := del(t, s, "Patient", "a", t0.Add(10*time.Second))
	tests := []struct {
		name  string
		q     store.HistoryQuery
		want  []string
		total int
	}{
		{"instance", store.HistoryQuery{Type: "Patient", ID: "a"},
			[]string{ref("Patient", "a", 3), ref("Patient", "a", 2), ref("Patient", "a", 1)}, 3},
		{"type", store.HistoryQuery{Type: "Patient"},
			[]string{ref("Patient", "a", 3), ref("Patient", "b", 1), ref("Patient", "a", 2), ref("Patient", "a", 1)}, 4},
		{"system", store.HistoryQuery{},
			[]string{ref("Patient", "a", 3), ref("Patient", "b", 1), ref("Patient", "a", 2), ref("Observation", "o", 1), ref("Patient", "a", 1)}, 5},
		// lastUpdated of version n is t0 + n s; the delete's is t0 + 10 s.
		{"since", store.HistoryQuery{Type: "Patient", Since: t0.Add(2 * time.Second)},
			[]string{ref("Patient", "a", 3), ref("Patient", "a", 2)}, 2},
		{"page", store.HistoryQuery{Count: 2, Offset: 1},
			[]string{ref("Patient", "b", 1), ref("Patient", "a", 2)}, 5},
		{"at", store.HistoryQuery{Type: "Patient", ID: "a", At: w[2].T},
			[]string{ref("Patient", "a", 2), ref("Patient", "a", 1)}, 2},
		{"at before", store.HistoryQuery{At: w[1].T},
			[]string{ref("Observation", "o", 1), ref("Patient", "a", 1)}, 2},
	}
	for _, tc := range tests {
		p, err := s.History(ctx, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(ids(p), tc.want) || p.Total != tc.total {
			t.Errorf("%s: %v total %d, want %v total %d", tc.name, ids(p), p.Total, tc.want, tc.total)
		}
	}
	p, err := s.History(ctx, store.HistoryQuery{Type: "Patient", ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if p.T != d.T {
		t.Errorf("history ran at T %d, want the last write's %d", p.T, d.T)
	}
	if m := p.Matches[0]; !m.Deleted || m.Body != nil {
		t.Errorf("newest version of a is not the delete marker: %+v", m)
	}
	if _, err := s.History(ctx, store.HistoryQuery{Type: "Patient", ID: "nobody"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("history of an unknown resource: %v, want ErrNotFound", err)
	}
}
