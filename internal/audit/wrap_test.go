package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/doppelhealth/doppel/internal/audit"
	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

// put writes a resource through w with its index entries.
func put(ctx context.Context, t *testing.T, reg *search.Registry, w store.Writer, body string) error {
	r, err := fhir.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := reg.Extract(r.Type, r.Tree)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Put(ctx, store.Version{Type: r.Type, ID: r.ID, VersionID: 1, LastUpdated: t0, Body: []byte(body), Index: idx})
	return err
}

// TestWrapSameTransaction checks that a write and its audit record are
// committed together: both, or (when the write fails) neither.
// SEC-12: a create writes an AuditEvent naming the resource and patient.
func TestWrapSameTransaction(t *testing.T) {
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), t.TempDir()+"/fhir.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := audit.New(st, reg, audit.Options{})
	as := log.Wrap(st)

	ctx, p := audit.WithRecord(t.Context(), audit.Record{Interaction: audit.Create, Who: "u1"})
	err = as.Write(ctx, func(w store.Writer) error {
		return put(ctx, t, reg, w, `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
	})
	if err != nil || !p.Written() {
		t.Fatalf("write: %v, written %v", err, p.Written())
	}
	v, err := st.Read(t.Context(), "AuditEvent", "audit-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"reference":"Patient/p1"`, `"reference":"Observation/o1"`, `"action":"C"`} {
		if !bytes.Contains(v.Body, []byte(want)) {
			t.Errorf("audit-1 lacks %s: %s", want, v.Body)
		}
	}

	fail := errors.New("refused")
	ctx, p = audit.WithRecord(t.Context(), audit.Record{Interaction: audit.Create, Who: "u1"})
	err = as.Write(ctx, func(w store.Writer) error {
		if err := put(ctx, t, reg, w, `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"}}`); err != nil {
			return err
		}
		return fail
	})
	if !errors.Is(err, fail) || p.Written() {
		t.Fatalf("failed write: %v, written %v", err, p.Written())
	}
	if _, err := st.Read(t.Context(), "AuditEvent", "audit-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("audit-2 after a failed write: %v, want not found", err)
	}
}

// TestConcurrentChain writes from many goroutines, through the wrapped
// store and through a Buffer at once, and expects one unbroken chain: the
// store's group commit puts several requests in one transaction.
// SEC-14.
func TestConcurrentChain(t *testing.T) {
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, log := open(t, dir, reg)
	as := log.Wrap(st)
	buf := audit.NewBuffer(log, audit.BufferOptions{MaxBatch: 8})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				ctx, _ := audit.WithRecord(t.Context(), audit.Record{Interaction: audit.Create, Who: "u"})
				err := as.Write(ctx, func(w store.Writer) error {
					return put(ctx, t, reg, w, fmt.Sprintf(`{"resourceType":"Patient","id":"p%d-%d"}`, g, i))
				})
				if err != nil {
					t.Error(err)
				}
				buf.Record(audit.Record{Interaction: audit.Read, Who: "u"})
			}
		})
	}
	wg.Wait()
	if err := buf.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := log.Verify(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 160 || rep.Last != 160 || !rep.OK() {
		t.Errorf("%d records, last %d, problems %v; want 160, 160, none", rep.Records, rep.Last, rep.Problems)
	}
}
