package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/google/go-cmp/cmp"
)

func testJobs(t *testing.T, tg Target) {
	ctx := context.Background()
	s := open(t, tg)
	if _, err := s.Job(ctx, "j1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("job before save: %v, want ErrNotFound", err)
	}
	if jobs, err := s.ListJobs(ctx); err != nil || len(jobs) != 0 {
		t.Errorf("jobs of an empty store: %v, %v", jobs, err)
	}
	j1 := store.Job{ID: "j1", Kind: "export", State: "accepted", Spec: []byte(`{"type":"Patient"}`),
		Created: t0.Add(123456789), Updated: t0.Add(123456789)}
	j2 := store.Job{ID: "j0", Kind: "export", State: "accepted", Created: t0.Add(time.Minute), Updated: t0.Add(time.Minute)}
	for _, j := range []store.Job{j1, j2} {
		if err := s.SaveJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	j1.State, j1.Result, j1.Updated = "complete", []byte(`{"output":[]}`), t0.Add(time.Hour)
	if err := s.SaveJob(ctx, j1); err != nil {
		t.Fatal(err)
	}
	got, err := s.Job(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(j1, got); diff != "" {
		t.Errorf("job after update (-want +got):\n%s", diff)
	}
	all, err := s.ListJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Job{j1, j2}, all); diff != "" {
		t.Errorf("jobs, oldest first (-want +got):\n%s", diff)
	}
	if err := s.DeleteJob(ctx, "j1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Job(ctx, "j1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("job after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteJob(ctx, "j1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

func testReopen(t *testing.T, tg Target) {
	ctx := context.Background()
	s, err := tg.Open()
	if err != nil {
		t.Fatal(err)
	}
	w := put(t, s, res{typ: "Patient", id: "p1", vid: 1, index: female2()}, res{typ: "Patient", id: "p1", vid: 2, index: female2()})
	job := store.Job{ID: "j", Kind: "export", State: "running", Created: t0, Updated: t0}
	if err := s.SaveJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, func(store.Writer) error { return nil }); err == nil {
		t.Errorf("write after close succeeded")
	}
	s = open(t, tg)
	got, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, got, "Patient", "p1", 2, false)
	if p := mustSearch(t, s, &search.Query{Type: "Patient", Clauses: female}, 0); len(p.Matches) != 1 || p.T != w[1].T {
		t.Errorf("search after reopen: %v at T %d, want p1 at T %d", ids(p), p.T, w[1].T)
	}
	if j, err := s.Job(ctx, "j"); err != nil || j.State != "running" {
		t.Errorf("job after reopen: %+v, %v", j, err)
	}
	v := put(t, s, res{typ: "Patient", id: "p2", vid: 1})
	if v[0].T <= w[1].T {
		t.Errorf("T after reopen %d, want > %d", v[0].T, w[1].T)
	}
}
