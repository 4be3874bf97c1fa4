package main

import (
	"context"
	"time"

	"github.com/doppelhealth/doppel/internal/metrics"
	"github.com/doppelhealth/doppel/internal/store"
)

// writeTimer times the write requests of the FHIR API: from the queue of
// the store's single writer to the durable group commit.
type writeTimer struct {
	store.Store
	seconds *metrics.Histogram
}

// timeWrites returns st with its Write timed in reg
// (doppel_store_write_duration_seconds).
func timeWrites(st store.Store, reg *metrics.Registry) writeTimer {
	return writeTimer{st, reg.Histogram("doppel_store_write_duration_seconds", "Time for a FHIR API write request to be committed, queue and group commit included.", nil)}
}

func (w writeTimer) Write(ctx context.Context, fn func(w store.Writer) error) error {
	start := time.Now()
	err := w.Store.Write(ctx, fn)
	w.seconds.Observe(time.Since(start).Seconds())
	return err
}
