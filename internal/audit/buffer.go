package audit

import (
	"context"
	"log/slog"
	"time"
)

// Appender is what a Buffer writes to (*Log).
type Appender interface {
	Append(ctx context.Context, recs []Record) error
}

// BufferOptions configure a Buffer. The zero value is valid.
type BufferOptions struct {
	MaxBatch int           // records per append (one store transaction); default 2048
	Queue    int           // records that may wait while an append runs; default 2 × MaxBatch
	Interval time.Duration // flush at least this often; default 1s
	Logger   *slog.Logger  // failed flushes (counts and errors only); default discards
}

// Buffer batches records into few appends. Record hands a record over and
// returns at once unless the queue is full; a background goroutine appends
// batches of up to MaxBatch records, one store transaction each, while the
// next records queue. A failed append is retried at the next flush with
// the records in their order; nothing is dropped while the process runs.
//
// Few, large appends are what keep the audit trail from slowing reads
// down: an append costs a commit (a WAL write and fsync) besides its
// records, and on SQLite every commit makes each reading connection drop
// its page cache at its next query. At the defaults a server answering
// 6,000 reads a second commits their records three times a second, not
// twelve (512-record batches) or more.
//
// What a crash loses is the records not yet committed: those of the last
// Interval, or, when requests come faster than the store takes their
// records, the queue and the batch being appended (Queue + MaxBatch
// records: 6,144 with the defaults, about 1 s of records at the 6,000
// reads a second that SQLite served on the shared 2-core development
// machine).
//
// When the queue is full, Record blocks until an append frees it: requests
// slow down to the rate the audit trail can keep (back-pressure). Records
// are never dropped to keep requests fast: an unaudited read is worse than
// a slow one. The queue is larger than a batch so that requests seldom
// wait for a whole append.
type Buffer struct {
	log  Appender
	opts BufferOptions
	in   chan Record
	done chan struct{}

	lastErr error // of the last flush; read after done is closed
}

// NewBuffer starts a buffer writing to log. Close it to flush and stop.
func NewBuffer(log Appender, opts BufferOptions) *Buffer {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 2048
	}
	if opts.Queue <= 0 {
		opts.Queue = 2 * opts.MaxBatch
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Buffer{log: log, opts: opts, in: make(chan Record, opts.Queue), done: make(chan struct{})}
	go b.run()
	return b
}

// Record queues r. It blocks while the queue is full (back-pressure rather
// than a lost record). It must not be called after Close.
func (b *Buffer) Record(r Record) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	b.in <- r
}

// Close flushes what is queued and stops the buffer. It returns the error
// of the last flush, if it failed.
func (b *Buffer) Close() error {
	close(b.in)
	<-b.done
	return b.lastErr
}

func (b *Buffer) run() {
	defer close(b.done)
	tick := time.NewTicker(b.opts.Interval)
	defer tick.Stop()
	var pending []Record
	for {
		select {
		case r, ok := <-b.in:
			if !ok {
				b.flush(&pending)
				return
			}
			pending = append(pending, r)
			if len(pending) >= b.opts.MaxBatch {
				b.flush(&pending)
			}
		case <-tick.C:
			b.flush(&pending)
		}
	}
}

// flush appends the pending records; on failure they stay pending.
func (b *Buffer) flush(pending *[]Record) {
	if len(*pending) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b.lastErr = b.log.Append(ctx, *pending)
	if b.lastErr != nil {
		b.opts.Logger.Error("audit: flush failed; records kept for the next flush", "records", len(*pending), "err", b.lastErr)
		return
	}
	*pending = (*pending)[:0]
}
