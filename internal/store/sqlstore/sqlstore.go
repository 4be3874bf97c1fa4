// Package sqlstore is the one SQL implementation of store.Store that the
// sqlite and postgres packages share. They differ only in their driver, their
// connection settings and a small Dialect (placeholders, column types,
// locking); every statement, the schema, the search query builder and the
// group-commit writer live here, so both stores behave the same and pass the
// same conformance suite (storetest).
//
// # Snapshots
//
// Every committed write request gets the next value T of a counter kept in
// the database. A resource version row carries t (the T that wrote it) and
// t_end (the T that superseded it, NULL while current); index rows repeat
// both. A read "as of T" selects rows with t <= T and (t_end IS NULL or
// t_end > T). Rows are never updated except to set t_end once, so a query on
// an old T sees the same rows whatever was committed since, without a
// long-lived database transaction: the pages of one search are computed on
// one snapshot.
//
// # Group commit
//
// Write queues a request for the single writer goroutine. The writer takes
// every request queued at that moment and runs them in one database
// transaction: BEGIN; for each request SAVEPOINT, the request's function,
// and ROLLBACK TO SAVEPOINT if it failed; the counter update; COMMIT. (Until
// a request of the batch has succeeded there is nothing to keep: such a
// request runs without a savepoint, and its failure rolls back the
// transaction, which begins again.) Only then does it answer the requests,
// so one fsync covers the whole batch and an answered request is durable
// (given the driver's durability settings, documented in the sqlite and
// postgres packages). The writer assigns the rid of each version itself
// (the next after the largest stored), so an INSERT needs no RETURNING.
//
// # Search semantics
//
// Search evaluates a search.Query in SQL with the match rules documented in
// package search: each clause selects the version rows having a matching
// index entry (NOT IN for :not, NOT EXISTS for :missing=true); clauses are
// ANDed, the values of a clause ORed; a chained clause is a subquery on the
// target type's version rows of the same snapshot; _sort orders by the
// smallest (descending: largest) entry of the parameter, resources without
// one last, ties by resource id; without _sort, matches come in the order
// they were written (stable on a snapshot). Search-time errors name what is not
// supported (composite and special parameters, more than one chain level).
// Count <= 0 means DefaultCount.//
// # Device time series
//
// Samples (store.Series) are stored apart from the resources: a table of
// series (patient, code, device, unit) and a table of chunks, one per
// series and UTC day, each holding that day's samples delta-encoded in one
// byte string (chunk.go: about 2 bytes a sample for 5-minute CGM in whole
// mg/dL). A CGM day is one row of about 600 bytes instead of 288
// Observation versions with their index entries.
//
// AppendSamples is a request of the single writer, group-committed with
// the other writes (it takes a T like them, though it writes no resource
// version): for each chunk it touches, it reads the chunk, merges the new
// samples (late ones included; a time already stored keeps its value), and
// writes the chunk back. An append costs the re-encoding of one day of its
// series, small at the rates of bedside and wearable devices; a 1 Hz
// series makes 86,400-sample chunks, so batch such appends.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/doppelhealth/doppel/internal/store"
)

// DefaultCount is the page size of a query that sets none.
const DefaultCount = 50

// maxBatch bounds the requests one group commit takes.
const maxBatch = 512

// Dialect is what differs between the SQL databases.
type Dialect struct {
	// Numbered placeholders ($1, $2...) instead of "?".
	Numbered bool
	// Types replace {{pk}}, {{blob}} and {{float}} in the migrations: an
	// auto-assigned 64-bit primary key, a byte string, a float64.
	PK, Blob, Float string
	// Clustered replaces {{clustered}} after CREATE TABLE (...) for the
	// index tables: what makes a table live in its primary key's order
	// ("WITHOUT ROWID" on SQLite), if anything.
	Clustered string
	// Insert and Ignore are the head and tail of an INSERT that skips rows
	// already present ("INSERT OR IGNORE INTO", "" on SQLite, where it
	// also spares multi-row inserts a statement journal; "INSERT INTO",
	// " ON CONFLICT DO NOTHING" on PostgreSQL).
	Insert, Ignore string
	// Combine joins the index INSERTs of a request into one statement with
	// WITH (PostgreSQL: one round trip instead of one per table).
	Combine bool
	// Prepare keeps prepared statements in the store (SQLite; pgx keeps
	// its own per connection).
	Prepare bool
	// Lock, when set, runs first in every write transaction (migrations
	// and group commits) to serialize writers of several processes.
	Lock string
}

// Config is what Open needs. The Store owns both pools and closes them.
type Config struct {
	// Write is the pool of the writer; one connection is enough.
	Write *sql.DB
	// Read serves Read, VRead, Search and History; it may be Write.
	Read    *sql.DB
	Dialect Dialect
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("sqlstore: store closed")

// Store is a store.Store on a SQL database.
type Store struct {
	wdb, rdb *sql.DB
	d        Dialect
	// Prepared statements of each pool (the same when the pools are).
	wst, rst *statements

	reqs    chan *request
	done    chan struct{} // closed when the writer goroutine has returned
	inserts insertTexts   // the writer's

	mu     sync.RWMutex // guards closed against Write's send
	closed bool
}

var _ store.Store = (*Store)(nil)

// Open migrates the database to the current schema and starts the writer.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{
		wdb:  cfg.Write,
		rdb:  cfg.Read,
		d:    cfg.Dialect,
		reqs: make(chan *request, maxBatch),
		done: make(chan struct{}),
	}
	if s.rdb == nil {
		s.rdb = s.wdb
	}
	s.wst, s.rst = newStatements(s.wdb, s.d.Prepare), newStatements(s.rdb, s.d.Prepare)
	if s.rdb == s.wdb {
		s.rst = s.wst
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	go s.writer()
	return s, nil
}

// Close stops the writer after the queued requests and closes the pools.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	<-s.done
	err := errors.Join(s.wst.close(), s.wdb.Close())
	if s.rdb != s.wdb {
		err = errors.Join(err, s.rst.close(), s.rdb.Close())
	}
	return err
}

// bind rewrites "?" placeholders for the dialect. Statements here never
// contain a literal question mark.
func (d Dialect) bind(q string) string {
	if !d.Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}
