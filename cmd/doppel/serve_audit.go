package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/doppelhealth/doppel/internal/audit"
	"github.com/doppelhealth/doppel/internal/deid"
	"github.com/doppelhealth/doppel/internal/httpapi"
	"github.com/doppelhealth/doppel/internal/search"
)

// auditTrail is the audit trail of doppel serve: the hash-chained log in
// the store, with its head file in the data directory, and the buffer that
// batches the records of requests that write nothing. It is the
// httpapi.Auditor.
type auditTrail struct {
	log *audit.Log

	mu     sync.RWMutex
	buf    *audit.Buffer
	closed bool
}

// newAuditTrail starts the audit trail of st in data.
func newAuditTrail(st audit.Store, reg *search.Registry, data string, logger *slog.Logger) *auditTrail {
	log := audit.New(st, reg, audit.Options{HeadFile: filepath.Join(data, auditHeadFile)})
	return &auditTrail{
		log: log,
		buf: audit.NewBuffer(log, audit.BufferOptions{Logger: logger}),
	}
}

// Record queues r. A request still served after Close (the shutdown timed
// out) has its record appended at once instead.
func (a *auditTrail) Record(r audit.Record) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.closed {
		a.buf.Record(r)
		return
	}
	_ = a.log.Append(context.Background(), []audit.Record{r}) // the store may be closing: nothing left to tell
}

// Close flushes the buffered records; call it after the HTTP server has
// shut down. Closing again does nothing.
func (a *auditTrail) Close() error {
	a.mu.Lock()
	was := a.closed
	a.closed = true
	a.mu.Unlock()
	if was {
		return nil
	}
	return a.buf.Close()
}

// readDeidKey returns the de-identifier of $export?_deid=safe-harbor with
// the key in --deid-key-file, or nil when the flag is not given.
func readDeidKey(keyFile, data string) (httpapi.Deidentifier, error) {
	if keyFile == "" {
		return nil, nil
	}
	key, err := readKey("--deid-key-file", keyFile, data)
	if err != nil {
		return nil, err
	}
	return deid.New(key, deid.Options{})
}
