package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// request is one queued Write.
type request struct {
	ctx  context.Context
	fn   func(w store.Writer) error
	done chan error // buffered: the writer never blocks on an answer
}

// Write queues fn for the writer and waits for the group commit that
// includes it. Once queued, the request is not abandoned when ctx ends (it
// may be committing); ctx ending before the writer starts it cancels it.
// fn runs on the writer goroutine: it must not call Write, and it should
// not wait on anything slow, since the whole batch waits for it.
func (s *Store) Write(ctx context.Context, fn func(w store.Writer) error) error {
	req := &request{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	return <-req.done
}

// writer is the single writer goroutine: it commits whatever is queued,
// together, until the queue is closed.
func (s *Store) writer() {
	defer close(s.done)
	for req := range s.reqs {
		batch := []*request{req}
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.commit(batch)
		// A failure only means those statements stay unprepared.
		_ = s.wst.prepareNoted(context.Background())
	}
}

// commit runs a batch in one transaction and answers every request.
//
// Until a request of the batch has succeeded, the transaction holds
// nothing worth keeping: a request then runs without a savepoint (whose
// sub-journal copies every page the request first changes), and its
// failure rolls the transaction back and begins another. A batch of one
// request takes no savepoint.
func (s *Store) commit(batch []*request) {
	// The batch's statements run under a context of their own: a request's
	// context ending must not break the transaction of the others.
	ctx := context.Background()
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			r.done <- err
		}
	}
	tx, t, rid, err := s.begin(ctx)
	if err != nil {
		fail(err)
		return
	}
	t0 := t
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		savepoint := t != t0
		if savepoint {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT req"); err != nil {
				tx.Rollback()
				fail(wrap("savepoint", err))
				return
			}
		}
		rid0 := rid
		w := &txWriter{reader: reader{q: prepared{c: s.wst, tx: tx}, d: s.d, at: t + 1}, t: t + 1, rid: &rid, inserts: &s.inserts}
		if errs[i] = run(r.fn, w); errs[i] == nil {
			errs[i] = w.flush(ctx)
		}
		switch {
		case errs[i] == nil:
			t++
		case savepoint:
			rid = rid0
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT req"); err != nil {
				tx.Rollback()
				fail(wrap("rollback to savepoint", err))
				return
			}
		default:
			if err := tx.Rollback(); err != nil {
				fail(wrap("rollback", err))
				return
			}
			if tx, t, rid, err = s.begin(ctx); err != nil {
				fail(err)
				return
			}
			t0 = t
		}
		if savepoint {
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT req"); err != nil {
				tx.Rollback()
				fail(wrap("release savepoint", err))
				return
			}
		}
	}
	if t != t0 {
		if _, err := tx.ExecContext(ctx, s.d.bind("UPDATE counter SET t = ? WHERE id = 1"), t); err != nil {
			tx.Rollback()
			fail(wrap("counter", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(wrap("commit", err))
		return
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// begin starts a write transaction (taking the dialect's lock) and returns
// it with the counter and the largest rid stored. The writer assigns rids
// itself, the next after the largest, so that inserting a version needs
// no RETURNING: on SQLite such a statement takes a statement journal,
// whose end costs a walk of the request's whole sub-journal.
func (s *Store) begin(ctx context.Context) (tx *sql.Tx, t, rid int64, err error) {
	tx, err = s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, 0, wrap("begin", err)
	}
	if s.d.Lock != "" {
		if _, err := tx.ExecContext(ctx, s.d.Lock); err != nil {
			tx.Rollback()
			return nil, 0, 0, wrap("lock", err)
		}
	}
	if err := tx.QueryRowContext(ctx, "SELECT t FROM counter WHERE id = 1").Scan(&t); err != nil {
		tx.Rollback()
		return nil, 0, 0, wrap("counter", err)
	}
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(rid), 0) FROM resources").Scan(&rid); err != nil {
		tx.Rollback()
		return nil, 0, 0, wrap("rid", err)
	}
	return tx, t, rid, nil
}

// Analyze updates the database's planner statistics (ANALYZE), in a write
// of its own. PostgreSQL without autovacuum has none until then and plans
// searches blind; SQLite samples at most analysis_limit rows per index
// (sqlite.Open sets it). Worth running after loading much data, as doppel
// import does.
func (s *Store) Analyze(ctx context.Context) error {
	return s.Write(ctx, func(w store.Writer) error {
		_, err := w.(*txWriter).q.ExecContext(ctx, "ANALYZE")
		return wrap("analyze", err)
	})
}

// run calls fn, turning a panic into an error: a bug in one request must
// not take the writer, and with it every other request, down.
func run(fn func(store.Writer) error, w store.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlstore: write function panicked: %v", p)
		}
	}()
	return fn(w)
}

// txWriter is the store.Writer of one request: reads see the snapshot at
// the request's own T, which includes its writes.
//
// The index entries of its versions are kept until the request ends, or
// until a search or an update needs them, and then inserted with
// multi-row INSERTs (see flush): a Bundle of hundreds of resources costs a
// few statements per table rather than one per resource and table.
type txWriter struct {
	reader
	t       int64
	rid     *int64 // the last rid assigned in the transaction
	inserts *insertTexts
	pending [nTables][]any // index rows by table, all columns
}

// Search implements store.Reader: it sees the request's index entries.
func (w *txWriter) Search(ctx context.Context, q *search.Query, at int64) (store.Page, error) {
	if err := w.flush(ctx); err != nil {
		return store.Page{}, err
	}
	return w.reader.Search(ctx, q, at)
}

// Put implements store.Writer.
func (w *txWriter) Put(ctx context.Context, v store.Version) (store.Version, error) {
	if v.Type == "" || v.ID == "" {
		return store.Version{}, errors.New("sqlstore: put: type and id are required")
	}
	v.Deleted = false
	return w.put(ctx, v)
}

// Delete implements store.Writer.
func (w *txWriter) Delete(ctx context.Context, typ, id string, at time.Time) (store.Version, error) {
	cur, err := w.current(ctx, typ, id)
	if err != nil {
		return store.Version{}, err
	}
	if cur.rid == 0 || cur.deleted {
		return store.Version{}, store.ErrNotFound
	}
	return w.put(ctx, store.Version{Type: typ, ID: id, VersionID: cur.versionID + 1, LastUpdated: at, Deleted: true})
}

// head is the current version row of a resource; rid 0 if there is none.
type head struct {
	rid, versionID int64
	deleted        bool
}

func (w *txWriter) current(ctx context.Context, typ, id string) (head, error) {
	var h head
	var del int64
	err := w.q.QueryRowContext(ctx, w.d.bind("SELECT rid, version_id, deleted FROM resources WHERE type = ? AND id = ? AND t_end IS NULL"), typ, id).Scan(&h.rid, &h.versionID, &del)
	if errors.Is(err, sql.ErrNoRows) {
		return head{}, nil
	}
	if err != nil {
		return head{}, wrap("put", err)
	}
	h.deleted = del != 0
	return h, nil
}

// put writes version v. A first version (VersionID 1, a create) skips the
// look-up of the current one: its INSERT does nothing when the resource
// already has a version 1 (UNIQUE (type, id, version_id)), and only then is
// the current version read, for the conflict's message.
func (w *txWriter) put(ctx context.Context, v store.Version) (store.Version, error) {
	var cur head
	if v.VersionID != 1 {
		var err error
		if cur, err = w.current(ctx, v.Type, v.ID); err != nil {
			return store.Version{}, err
		}
	}
	conflict := func() (store.Version, error) {
		if v.VersionID == 1 {
			var err error
			if cur, err = w.current(ctx, v.Type, v.ID); err != nil {
				return store.Version{}, err
			}
		}
		return store.Version{}, fmt.Errorf("%w: %s/%s: version %d given, the next is %d", store.ErrConflict, v.Type, v.ID, v.VersionID, cur.versionID+1)
	}
	if v.VersionID != cur.versionID+1 {
		return conflict()
	}
	if cur.rid != 0 {
		// The superseded version's entries may be pending.
		if err := w.flush(ctx); err != nil {
			return store.Version{}, err
		}
		tables := []string{"resources"}
		if !cur.deleted {
			tables = append(tables, indexTables[:]...)
		}
		for _, tbl := range tables {
			if _, err := w.q.ExecContext(ctx, w.d.bind("UPDATE "+tbl+" SET t_end = ? WHERE rid = ?"), w.t, cur.rid); err != nil {
				return store.Version{}, wrap("put", err)
			}
		}
	}
	v.T = w.t
	v.LastUpdated = v.LastUpdated.UTC()
	var body []byte
	if !v.Deleted {
		body = v.Body
		if body == nil {
			body = []byte{}
		}
	} else {
		v.Body = nil
	}
	v.Hash = sha256.Sum256(body)
	rid := *w.rid + 1
	res, err := w.q.ExecContext(ctx, w.d.bind(w.d.Insert+" resources (rid, type, id, version_id, t, last_updated, deleted, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"+w.d.Ignore),
		rid, v.Type, v.ID, v.VersionID, v.T, v.LastUpdated.UnixNano(), boolInt(v.Deleted), body, v.Hash[:])
	if err != nil {
		return store.Version{}, wrap("put", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.Version{}, wrap("put", err)
	}
	if n == 0 {
		return conflict()
	}
	*w.rid = rid
	if !v.Deleted {
		w.addIndex(v, rid)
	}
	return v, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// maxIndexText is the most bytes of a text kept in an index column:
// PostgreSQL refuses B-tree keys over about 2.7 kB, and no search needs
// more. Search values are clipped the same way, so a longer text still
// matches itself (and any other with the same first maxIndexText bytes).
const maxIndexText = 512

// clip cuts s to at most maxIndexText bytes, at a character boundary.
func clip(s string) string {
	if len(s) <= maxIndexText {
		return s
	}
	n := maxIndexText
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Index tables, in indexTables' order.
const (
	tString = iota
	tToken
	tReference
	tDate
	tNumber
	tURI
	nTables
)

// indexTables names the index tables.
var indexTables = [nTables]string{"idx_string", "idx_token", "idx_reference", "idx_date", "idx_number", "idx_uri"}

// indexColumns are each table's columns, in the order addIndex appends
// their values.
var indexColumns = [nTables]string{
	"type, param, norm, text, rid, t",
	"type, param, system, code, text, norm, rid, t",
	"type, param, ref_type, ref_id, text, rid, t",
	"type, param, lo, hi, rid, t",
	"type, param, lo, hi, system, code, text, rid, t",
	"type, param, text, rid, t",
}

// indexWidth is the number of columns of index table tbl.
func indexWidth(tbl int) int { return strings.Count(indexColumns[tbl], ",") + 1 }

// maxArgs keeps a statement within every driver's limit on parameters
// (SQLite 32766, PostgreSQL 65535).
const maxArgs = 30000

// addIndex queues the index rows of version v, stored as rid: the values
// of each table's rows one after the other.
func (w *txWriter) addIndex(v store.Version, rid int64) {
	for _, e := range v.Index {
		p := &w.pending
		switch e.Type {
		case search.String:
			p[tString] = append(p[tString], v.Type, e.Param, clip(e.Norm), clip(e.Text), rid, v.T)
		case search.Token:
			p[tToken] = append(p[tToken], v.Type, e.Param, clip(e.System), clip(e.Code), clip(e.Text), clip(e.Norm), rid, v.T)
		case search.Reference:
			p[tReference] = append(p[tReference], v.Type, e.Param, e.RefType, clip(e.RefID), clip(e.Text), rid, v.T)
		case search.Date:
			p[tDate] = append(p[tDate], v.Type, e.Param, e.Lo, e.Hi, rid, v.T)
		case search.Number, search.Quantity:
			p[tNumber] = append(p[tNumber], v.Type, e.Param, e.Lo, e.Hi, clip(e.System), clip(e.Code), clip(e.Text), rid, v.T)
		case search.URI:
			p[tURI] = append(p[tURI], v.Type, e.Param, clip(e.Text), rid, v.T)
		}
		// Composite and special parameters are not indexed.
	}
}

// maxRows is the most rows of one index INSERT when statements are
// prepared (Dialect.Prepare).
const maxRows = 128

// flush inserts the pending index rows with multi-row INSERTs.
//
// With Dialect.Prepare, a table's rows go in INSERTs of maxRows rows and
// then, for the rest, of 64, 32, ..., 1 rows as its binary digits say: a
// few statement texts per table, each prepared once, instead of one text
// per row count, each parsed again. Otherwise one INSERT per table
// (several past maxArgs values), and with Dialect.Combine the INSERTs are
// joined into one statement (WITH x1 AS (INSERT ...), ... INSERT ...), one
// round trip.
func (w *txWriter) flush(ctx context.Context) error {
	var stmts []string
	var args []any
	exec := func() error {
		if len(stmts) == 0 {
			return nil
		}
		q := stmts[len(stmts)-1]
		if len(stmts) > 1 {
			var b strings.Builder
			b.WriteString("WITH ")
			for k, st := range stmts[:len(stmts)-1] {
				if k > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "x%d AS (%s)", k, st)
			}
			q = b.String() + " " + q
		}
		_, err := w.q.ExecContext(ctx, w.d.bind(q), args...)
		stmts, args = stmts[:0], args[:0]
		return wrap("put index", err)
	}
	for tbl := range nTables {
		vals, per := w.pending[tbl], indexWidth(tbl)
		for len(vals) > 0 {
			n := min(len(vals)/per, maxArgs/per)
			if w.d.Prepare {
				n = min(n, maxRows)
				for n&(n-1) != 0 {
					n &= n - 1 // down to the highest binary digit
				}
			}
			if len(stmts) > 0 && (!w.d.Combine || len(args)+n*per > maxArgs) {
				if err := exec(); err != nil {
					return err
				}
			}
			stmts = append(stmts, w.inserts.sql(w.d, tbl, n))
			args = append(args, vals[:n*per]...)
			vals = vals[n*per:]
		}
		w.pending[tbl] = w.pending[tbl][:0]
	}
	return exec()
}

// insertTexts keeps the text of the index INSERTs of the row counts
// flush uses with Dialect.Prepare (powers of two up to maxRows), so
// that it is not written again for every statement. Only the writer
// goroutine uses it.
type insertTexts [nTables][8]string

// sql returns the INSERT of n rows into index table tbl.
func (c *insertTexts) sql(d Dialect, tbl, n int) string {
	k := bits.TrailingZeros(uint(n))
	if !d.Prepare || n != 1<<k {
		return insertSQL(d, tbl, n)
	}
	if c[tbl][k] == "" {
		c[tbl][k] = insertSQL(d, tbl, n)
	}
	return c[tbl][k]
}

func insertSQL(d Dialect, tbl, n int) string {
	var b strings.Builder
	row := "(?" + strings.Repeat(", ?", indexWidth(tbl)-1) + ")"
	b.Grow(64 + n*(len(row)+2))
	b.WriteString(d.Insert + " " + indexTables[tbl] + " (" + indexColumns[tbl] + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(d.Ignore)
	return b.String()
}
