// Package sqlite is Doppel's embedded store: one SQLite database file under
// the data directory, through the pure-Go modernc.org/sqlite driver (no cgo),
// with the statements, schema and group-commit writer of sqlstore.
//
// # Durability
//
// The database runs in WAL mode with synchronous=FULL: every commit fsyncs
// the write-ahead log before the writer answers, so an acknowledged write
// survives kill -9 of the process and also a power loss or OS crash. (WAL
// with synchronous=NORMAL would survive kill -9 too, since the log is in the
// OS page cache, but not a power loss; group commit makes the one fsync per
// batch cheap enough to keep FULL.) A transaction is applied completely or
// not at all: an interrupted commit leaves a WAL frame set without its commit
// record, which SQLite ignores on recovery.
//
// # Connections
//
// The writer has its own pool of one connection, whose transactions start
// with BEGIN IMMEDIATE; reads go to a separate pool of query-only
// connections, which in WAL mode never wait for the writer. busy_timeout
// covers the rare lock waits (checkpoints, a second process). Each
// connection may cache up to 32 MiB of pages (cache_size). ANALYZE
// (Store.Analyze) samples at most 1,000 rows per index (analysis_limit).
//
// The write-ahead log is checkpointed by the writer once it holds 40,000
// pages (checkpointPages), not SQLite's 1,000: under a heavy ingest it
// grows to about 160 MiB, which a restart after a crash reads once to
// recover the commits not yet checkpointed.
//
// Temporary files, among them the sub-journal of the savepoint that group
// commit takes per request, stay in memory (temp_store=MEMORY): a file
// sub-journal costs a pwrite per page a request first changes. An
// in-memory sub-journal is truncated at the end of every statement by
// walking its chunk list from the start, a cost that grows with the
// request. sqlstore therefore inserts a request's index entries with a few
// multi-row INSERTs at its end and inserts versions with statements that
// need no statement journal (no RETURNING), which keeps that cost small
// (about 1 % of a Synthea import profile, against 15.5 % with one INSERT
// per index entry; see bench/fhir.md).
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"runtime"
	"slices"

	"github.com/doppelhealth/doppel/internal/store/sqlstore"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// checkpointPages is the size of the WAL, in pages, past which a commit
// copies the WAL back into the database file (wal_autocheckpoint; SQLite's
// default is 1,000). An index page that many commits change is copied
// once per checkpoint, so a larger WAL costs the writer less: 40,000
// pages (160 MiB of 4 KiB pages) against 1,000 took a 300-patient Synthea
// import from 28.2 to 23.1 s of CPU (bench/fhir.md).
const checkpointPages = 40000

// mmapBytes is how much of the database file connections read through a
// memory map (mmap_size; about 2 GiB, the driver's largest): every commit,
// the audit trail's included, makes each reading connection drop its own
// page cache, and refilling it from a private cache took about a third of
// a search's CPU; mapped pages are shared and survive commits. 100-patient
// Synthea load: CPU per search 0.86 → 0.64 ms, per read 0.168 → 0.147 ms
// (bench/fhir.md). Writes still go through the WAL with synchronous=FULL.
// The cost: an I/O error while reading a mapped page kills the process
// (SIGBUS) instead of failing the one request — acceptable for a store
// whose disk has failed, and stated in the README.
const mmapBytes = 2147418112

// dialect is SQLite's: "?" placeholders, the rowid as primary key.
var dialect = sqlstore.Dialect{
	PK: "INTEGER PRIMARY KEY", Blob: "BLOB", Float: "REAL", Clustered: "WITHOUT ROWID",
	Insert: "INSERT OR IGNORE INTO", Prepare: true,
}

// Open opens (creating if needed) the store in the database file path.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	pragmas := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "temp_store(MEMORY)", "cache_size(-32768)", "analysis_limit(1000)", fmt.Sprintf("mmap_size(%d)", mmapBytes)} {
		pragmas.Add("_pragma", p)
	}
	// The writer checkpoints the WAL once it holds checkpointPages pages.
	wp := url.Values{"_pragma": append(slices.Clone(pragmas["_pragma"]), fmt.Sprintf("wal_autocheckpoint(%d)", checkpointPages))}
	w, err := sql.Open("sqlite", "file:"+path+"?"+wp.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	// The first connection creates the file and switches it to WAL before
	// the read pool opens it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	pragmas.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s, err := sqlstore.Open(ctx, sqlstore.Config{Write: w, Read: r, Dialect: dialect})
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}
