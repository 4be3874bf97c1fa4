// Package store defines what Doppel needs from a resource store and the
// types both implementations share: sqlite (embedded default) and postgres
// (scale-out). Both pass the one conformance suite in storetest.
//
// The design follows Blaze's: every committed write request gets the next
// value of a totally ordered transaction counter T; a resource version is
// immutable, stored as its JSON with a SHA-256 content hash (checked on every
// read) and its search index entries; reads, searches and history can be
// evaluated "as of" any T, so the pages of one search are computed on one
// snapshot. Writes go through one writer that commits queued requests
// together (group commit); a request is applied completely or not at all,
// and Write returns only after its transaction is durable.
//
// Device time series (Series) are kept apart from the resources, compactly:
// a reading is a Sample, not a resource version.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
)

// Errors a store returns; callers test with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrDeleted  = errors.New("store: resource deleted")      // Read of a deleted resource (410 Gone)
	ErrConflict = errors.New("store: version conflict")      // Put with a VersionID that is not current+1
	ErrCorrupt  = errors.New("store: content hash mismatch") // stored bytes do not match their hash
)

// Version is one immutable version of a resource.
type Version struct {
	Type        string
	ID          string
	VersionID   int64     // 1, 2, ... per resource
	T           int64     // transaction counter value of the write that made it
	LastUpdated time.Time // UTC, as written in meta.lastUpdated
	Deleted     bool      // a delete marker: Body is nil
	Body        []byte    // the resource JSON exactly as stored (meta included)
	Hash        [32]byte  // SHA-256 of Body

	// Index holds the search entries of Body. Writers must set it; readers
	// get it only where a method says so.
	Index []search.Entry
}

// Page is one page of search results.
type Page struct {
	T       int64     // the snapshot the page was computed on; pass it back for the next page
	Total   int       // number of matches in the snapshot (-1 if not counted)
	Matches []Version // the page, in the query's order, bodies included
}

// HistoryQuery selects versions for _history: of one resource (Type and ID),
// of one type (Type), or of the whole system (neither). Newest first.
type HistoryQuery struct {
	Type   string
	ID     string
	Since  time.Time // zero: no lower bound
	At     int64     // snapshot T; 0 = now
	Count  int
	Offset int
}

// Reader reads committed data as of a snapshot.
type Reader interface {
	// Read returns the current version of a resource; ErrNotFound if it
	// never existed, ErrDeleted (with the delete marker) if deleted.
	Read(ctx context.Context, typ, id string) (Version, error)
	// VRead returns one version.
	VRead(ctx context.Context, typ, id string, versionID int64) (Version, error)
	// Search evaluates q on snapshot at (0 = now).
	Search(ctx context.Context, q *search.Query, at int64) (Page, error)
	// History lists versions, newest first, and the number of versions that
	// match in the snapshot.
	History(ctx context.Context, q HistoryQuery) (Page, error)
}

// Writer is what a write request sees: reads see the request's own writes
// and everything committed before it.
type Writer interface {
	Reader
	// Put stores a new version of v.Type/v.ID. v.VersionID must be the
	// current version + 1 (1 for a new resource, or after a delete the
	// marker's + 1), else ErrConflict. The store sets T and Hash.
	Put(ctx context.Context, v Version) (Version, error)
	// Delete writes a delete marker; it returns ErrNotFound if there is no
	// current version (already deleted or never created).
	Delete(ctx context.Context, typ, id string, at time.Time) (Version, error)
}

// Store is a resource store.
type Store interface {
	Reader
	// Write runs fn in one transaction of the single writer. If fn returns
	// an error nothing it wrote is kept and that error is returned. Write
	// returns after the transaction is durable.
	Write(ctx context.Context, fn func(w Writer) error) error
	// Jobs persists asynchronous jobs (bulk export) across restarts.
	SaveJob(ctx context.Context, j Job) error
	Job(ctx context.Context, id string) (Job, error) // ErrNotFound
	ListJobs(ctx context.Context) ([]Job, error)
	DeleteJob(ctx context.Context, id string) error
	Close() error
}

// Job is an asynchronous job's persisted state. Kind and State are the
// owner's words ("export"; "accepted", "running", "complete", "error",
// "cancelled"); Spec and Result are the owner's JSON.
type Job struct {
	ID      string
	Kind    string
	State   string
	Spec    []byte
	Result  []byte
	Created time.Time
	Updated time.Time
}
