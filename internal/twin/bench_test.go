package twin

import (
	"context"
	"testing"
	"time"
)

// BenchmarkObserveCGM is the cost of one CGM reading in a twin: 5 min of
// inputs, the update, and the 30/60/120-min forecast (64 particles).
func BenchmarkObserveCGM(b *testing.B) {
	c := &clock{now: t0}
	m, err := New(Options{Now: c.Now, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	at := t0
	for b.Loop() {
		if err := m.Observe(ctx, cgm("p1", at, 140)); err != nil {
			b.Fatal(err)
		}
		at = at.Add(5 * time.Minute)
	}
}
