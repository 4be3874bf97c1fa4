package audit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/audit"
)

// heldAppender is an Appender whose first append waits for release.
type heldAppender struct {
	started, release chan struct{}
	once             sync.Once
	mu               sync.Mutex
	batches          []int
}

func (h *heldAppender) Append(_ context.Context, recs []audit.Record) error {
	h.once.Do(func() {
		close(h.started)
		<-h.release
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.batches = append(h.batches, len(recs))
	return nil
}

// TestBufferQueuesDuringAppend checks that Record does not wait for an
// append while the queue has room: with the first append held, MaxBatch
// records go into it and Queue more are queued without blocking (a
// blocking Record would hang this test). Then everything is appended in
// batches of at most MaxBatch, in order.
func TestBufferQueuesDuringAppend(t *testing.T) {
	h := &heldAppender{started: make(chan struct{}), release: make(chan struct{})}
	b := audit.NewBuffer(h, audit.BufferOptions{MaxBatch: 4, Queue: 10, Interval: time.Hour})
	for _, r := range records(4) {
		b.Record(r)
	}
	<-h.started // the first batch is being appended
	for _, r := range records(10) {
		b.Record(r)
	}
	close(h.release)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{4, 4, 4, 2}, h.batches); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
}
