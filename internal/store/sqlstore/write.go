package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
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
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(wrap("begin", err))
		return
	}
	if s.d.Lock != "" {
		if _, err := tx.ExecContext(ctx, s.d.Lock); err != nil {
			tx.Rollback()
			fail(wrap("lock", err))
			return
		}
	}
	var t int64
	if err := tx.QueryRowContext(ctx, "SELECT t FROM counter WHERE id = 1").Scan(&t); err != nil {
		tx.Rollback()
		fail(wrap("counter", err))
		return
	}
	t0 := t
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT req"); err != nil {
			tx.Rollback()
			fail(wrap("savepoint", err))
			return
		}
		w := &txWriter{reader: reader{q: prepared{c: s.wst, tx: tx}, d: s.d, at: t + 1}, t: t + 1}
		if errs[i] = run(r.fn, w); errs[i] == nil {
			errs[i] = w.flush(ctx)
		}
		if errs[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT req"); err != nil {
				tx.Rollback()
				fail(wrap("rollback to savepoint", err))
				return
			}
		} else {
			t++
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT req"); err != nil {
			tx.Rollback()
			fail(wrap("release savepoint", err))
			return
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
// until a search or an update needs them, and then inserted with one
// multi-row INSERT per table: a Bundle of hundreds of resources costs a
// few statements rather than one per resource and table.
type txWriter struct {
	reader
	t       int64
	pending map[string][][]any // index rows by table, all columns
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

// indexTables lists the index tables, for closing a superseded version.
var indexTables = [...]string{"idx_string", "idx_token", "idx_reference", "idx_date", "idx_number", "idx_uri"}

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
	var rid int64
	err := w.q.QueryRowContext(ctx, w.d.bind("INSERT INTO resources (type, id, version_id, t, last_updated, deleted, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING rid"),
		v.Type, v.ID, v.VersionID, v.T, v.LastUpdated.UnixNano(), boolInt(v.Deleted), body, v.Hash[:]).Scan(&rid)
	if errors.Is(err, sql.ErrNoRows) {
		return conflict()
	}
	if err != nil {
		return store.Version{}, wrap("put", err)
	}
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

// indexRows groups the entries' column values by table.
func indexRows(entries []search.Entry) map[string][][]any {
	rows := make(map[string][][]any)
	for _, e := range entries {
		switch e.Type {
		case search.String:
			rows["idx_string"] = append(rows["idx_string"], []any{e.Param, clip(e.Norm), clip(e.Text)})
		case search.Token:
			rows["idx_token"] = append(rows["idx_token"], []any{e.Param, clip(e.System), clip(e.Code), clip(e.Text), clip(e.Norm)})
		case search.Reference:
			rows["idx_reference"] = append(rows["idx_reference"], []any{e.Param, e.RefType, clip(e.RefID), clip(e.Text)})
		case search.Date:
			rows["idx_date"] = append(rows["idx_date"], []any{e.Param, e.Lo, e.Hi})
		case search.Number, search.Quantity:
			rows["idx_number"] = append(rows["idx_number"], []any{e.Param, e.Lo, e.Hi, clip(e.System), clip(e.Code), clip(e.Text)})
		case search.URI:
			rows["idx_uri"] = append(rows["idx_uri"], []any{e.Param, clip(e.Text)})
		}
		// Composite and special parameters are not indexed.
	}
	return rows
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

// indexColumns are each table's value columns, after type and before rid, t.
func indexColumns(tbl string) string {
	switch tbl {
	case "idx_string":
		return "param, norm, text"
	case "idx_token":
		return "param, system, code, text, norm"
	case "idx_reference":
		return "param, ref_type, ref_id, text"
	case "idx_date":
		return "param, lo, hi"
	case "idx_number":
		return "param, lo, hi, system, code, text"
	default:
		return "param, text"
	}
}

// maxArgs keeps a statement within every driver's limit on parameters
// (SQLite 32766, PostgreSQL 65535).
const maxArgs = 30000

// addIndex queues the index rows of version v, stored as rid.
func (w *txWriter) addIndex(v store.Version, rid int64) {
	if w.pending == nil {
		w.pending = make(map[string][][]any)
	}
	for tbl, rows := range indexRows(v.Index) {
		for _, row := range rows {
			w.pending[tbl] = append(w.pending[tbl], append(append([]any{v.Type}, row...), rid, v.T))
		}
	}
}

// flush inserts the pending index rows: one multi-row INSERT per table
// (several if the rows have more than maxArgs values); with
// Dialect.Combine, the INSERTs are joined into one statement (WITH x1 AS
// (INSERT ...), ... INSERT ...), one round trip.
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
	for _, tbl := range indexTables {
		rows := w.pending[tbl]
		for len(rows) > 0 {
			per := len(rows[0])
			n := min(len(rows), maxArgs/per)
			if len(stmts) > 0 && (!w.d.Combine || len(args)+n*per > maxArgs) {
				if err := exec(); err != nil {
					return err
				}
			}
			var b strings.Builder
			b.WriteString(w.d.Insert + " " + tbl + " (type, " + indexColumns(tbl) + ", rid, t) VALUES ")
			row := "(?" + strings.Repeat(", ?", per-1) + ")"
			for i, r := range rows[:n] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(row)
				args = append(args, r...)
			}
			b.WriteString(w.d.Ignore)
			stmts = append(stmts, b.String())
			rows = rows[n:]
		}
	}
	clear(w.pending)
	return exec()
}
