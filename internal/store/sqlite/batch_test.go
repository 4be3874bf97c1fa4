package sqlite_test

import (
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

// TestBatchFailures checks requests that fail inside one group commit: the
// writer runs the first request of a batch without a savepoint (its
// failure rolls the transaction back and begins another) and the others
// each in a savepoint. Whatever the order, a failed request leaves nothing
// and the others keep everything, index entries included.
func TestBatchFailures(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "doppel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	boom := errors.New("boom")
	put := func(w store.Writer, id string) error {
		idx := []search.Entry{{Param: "name", Type: search.String, Text: "Ann", Norm: "ann"}, {Param: "_id", Type: search.Token, Code: id}}
		_, err := w.Put(ctx, store.Version{Type: "Patient", ID: id, VersionID: 1, Body: []byte(`{"resourceType":"Patient","id":"` + id + `"}`), Index: idx})
		return err
	}
	for _, order := range [][]string{
		{"fail1", "ok1", "fail2", "ok2"},
		{"ok3", "fail3", "fail4", "ok4", "fail5"},
	} {
		// A request that holds the writer until the others are queued,
		// so that the writer takes them as one batch.
		hold, held := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			s.Write(ctx, func(w store.Writer) error {
				close(held)
				<-hold
				return nil
			})
		})
		<-held
		errs := make([]error, len(order))
		for i, id := range order {
			wg.Go(func() {
				errs[i] = s.Write(ctx, func(w store.Writer) error {
					if err := put(w, id); err != nil {
						return err
					}
					if id[:2] == "fa" {
						return boom
					}
					return nil
				})
			})
			time.Sleep(10 * time.Millisecond) // queue them in order (only the coverage depends on it)
		}
		close(hold)
		wg.Wait()
		var want []string
		for i, id := range order {
			ok := id[:2] == "ok"
			if ok != (errs[i] == nil) || (!ok && !errors.Is(errs[i], boom)) {
				t.Errorf("%v: write %s: %v", order, id, errs[i])
			}
			_, err := s.Read(ctx, "Patient", id)
			if ok != (err == nil) {
				t.Errorf("%v: read %s: %v", order, id, err)
			}
			if ok {
				want = append(want, id)
			}
		}
		q := &search.Query{Type: "Patient", Count: 100, Clauses: []search.Clause{{Param: "name", Type: search.String, Values: []search.Value{{Norm: "ann"}}}}}
		p, err := s.Search(ctx, q, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range p.Matches {
			if slices.Contains(order, v.ID) {
				got = append(got, v.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%v: search finds %v, want %v in write order", order, got, want)
		}
	}
}
