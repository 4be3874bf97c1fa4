package twin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSnapshotKeepsSetup: a twin restored from its snapshot goes on with
// the setup (population parameters, basal) it started from, without
// asking Options.Glucose again (the record may have changed, and the
// restored particles' multipliers are relative to that population): its
// next forecast is that of a twin that never stopped.
func TestSnapshotKeepsSetup(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: t0}
	snaps := &memSnapshots{}
	live := newManager(t, c, nil, snaps)
	for k := range 12 {
		if err := live.Observe(ctx, cgm("p1", t0.Add(time.Duration(5*k)*time.Minute), 150-2*float64(k))); err != nil {
			t.Fatal(err)
		}
	}
	if err := live.Snapshot(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	restored, err := New(Options{Now: c.Now, Snapshots: snaps, Seed: 3, Glucose: func(string) (GlucoseSetup, error) {
		return GlucoseSetup{}, errors.New("the record is not to be read")
	}})
	if err != nil {
		t.Fatal(err)
	}
	next := cgm("p1", t0.Add(60*time.Minute), 124)
	for _, m := range []*Manager{live, restored} {
		if err := m.Observe(ctx, next); err != nil {
			t.Fatal(err)
		}
	}
	want, _, err := live.State(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := restored.State(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("restored twin vs one that never stopped (-want +got):\n%s", diff)
	}
}
