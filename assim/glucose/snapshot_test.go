package glucose

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCloneSnapshot: a clone and a restored snapshot, drawing from the
// same seed, forecast identically now and after the same next update, and
// updating the clone leaves the original's belief unchanged. (A forecast
// draws the disturbance paths from the filter's random source, so the
// original, with its own source, is compared by its snapshot.)
func TestCloneSnapshot(t *testing.T) {
	tr := mustTruth(t, "adult#002", 1)
	f := run(t, tr, 24, 7, Options{})
	h := []int{30, 60, 120}
	c, err := f.Clone(rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(tr.pop, mustSensor(t), rand.New(rand.NewPCG(9, 9)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Restore(data); err != nil {
		t.Fatal(err)
	}
	next := func(g *Filter) Forecast {
		t.Helper()
		if err := g.Advance(tr.inputs[24*5 : 25*5]); err != nil {
			t.Fatal(err)
		}
		if err := g.Update(tr.cgm[25]); err != nil {
			t.Fatal(err)
		}
		fc, err := g.Forecast(nil, h)
		if err != nil {
			t.Fatal(err)
		}
		return fc
	}
	now := func(g *Filter) Forecast {
		t.Helper()
		fc, err := g.Forecast(nil, h)
		if err != nil {
			t.Fatal(err)
		}
		return fc
	}
	if diff := cmp.Diff(now(c), now(r)); diff != "" {
		t.Errorf("clone and restored filter forecast differently (-clone +restored):\n%s", diff)
	}
	if diff := cmp.Diff(next(c), next(r)); diff != "" {
		t.Errorf("clone and restored filter differ after the same update (-clone +restored):\n%s", diff)
	}
	after, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(data) {
		t.Error("original's belief changed by updating its clone")
	}
	small, err := New(tr.pop, mustSensor(t), rand.New(rand.NewPCG(1, 1)), Options{Particles: 8})
	if err != nil {
		t.Fatal(err)
	}
	if err := small.Restore(data); err == nil {
		t.Error("restoring 64 particles into 8: no error")
	}
	if err := small.Restore([]byte("not a snapshot")); err == nil {
		t.Error("restoring garbage: no error")
	}
}
