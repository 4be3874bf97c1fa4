package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// reader answers the store.Reader methods on a pool (at 0: the snapshot is
// the last committed T) or inside a write request (at: the request's T).
type reader struct {
	q  prepared
	d  Dialect
	at int64
}

func (s *Store) reader() reader { return reader{q: prepared{c: s.rst}, d: s.d} }

// Read implements store.Reader.
func (s *Store) Read(ctx context.Context, typ, id string) (store.Version, error) {
	return s.reader().Read(ctx, typ, id)
}

// VRead implements store.Reader.
func (s *Store) VRead(ctx context.Context, typ, id string, versionID int64) (store.Version, error) {
	return s.reader().VRead(ctx, typ, id, versionID)
}

// Search implements store.Reader.
func (s *Store) Search(ctx context.Context, q *search.Query, at int64) (store.Page, error) {
	return s.reader().Search(ctx, q, at)
}

// History implements store.Reader.
func (s *Store) History(ctx context.Context, q store.HistoryQuery) (store.Page, error) {
	return s.reader().History(ctx, q)
}

// versionColumns are the columns scanVersion reads, of alias r.
const versionColumns = "r.type, r.id, r.version_id, r.t, r.last_updated, r.deleted, r.body, r.hash"

type scanner interface{ Scan(dest ...any) error }

// scanVersion reads one version row and checks its content hash.
func scanVersion(row scanner) (store.Version, error) {
	var v store.Version
	var lu, del int64
	var hash []byte
	if err := row.Scan(&v.Type, &v.ID, &v.VersionID, &v.T, &lu, &del, &v.Body, &hash); err != nil {
		return store.Version{}, err
	}
	v.LastUpdated = time.Unix(0, lu).UTC()
	v.Deleted = del != 0
	if v.Deleted {
		v.Body = nil
	}
	sum := sha256.Sum256(v.Body)
	if len(hash) != len(v.Hash) || string(hash) != string(sum[:]) {
		return store.Version{}, fmt.Errorf("%w: %s/%s version %d", store.ErrCorrupt, v.Type, v.ID, v.VersionID)
	}
	v.Hash = sum
	return v, nil
}

// one reads a single version; a deleted one comes with ErrDeleted.
func (r reader) one(ctx context.Context, query string, args ...any) (store.Version, error) {
	v, err := scanVersion(r.q.QueryRowContext(ctx, r.d.bind(query), args...))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Version{}, store.ErrNotFound
	case errors.Is(err, store.ErrCorrupt):
		return store.Version{}, err
	case err != nil:
		return store.Version{}, wrap("read", err)
	case v.Deleted:
		return v, store.ErrDeleted
	}
	return v, nil
}

func (r reader) Read(ctx context.Context, typ, id string) (store.Version, error) {
	return r.one(ctx, "SELECT "+versionColumns+" FROM resources r WHERE r.type = ? AND r.id = ? AND r.t_end IS NULL", typ, id)
}

func (r reader) VRead(ctx context.Context, typ, id string, versionID int64) (store.Version, error) {
	return r.one(ctx, "SELECT "+versionColumns+" FROM resources r WHERE r.type = ? AND r.id = ? AND r.version_id = ?", typ, id, versionID)
}

// snapshot returns the T to read at: at if given, else the request's T
// inside a write, else the last committed T.
func (r reader) snapshot(ctx context.Context, at int64) (int64, error) {
	if at > 0 {
		return at, nil
	}
	if r.at > 0 {
		return r.at, nil
	}
	var t int64
	if err := r.q.QueryRowContext(ctx, "SELECT t FROM counter WHERE id = 1").Scan(&t); err != nil {
		return 0, wrap("counter", err)
	}
	return t, nil
}

// versions runs a query of versionColumns rows.
func (r reader) versions(ctx context.Context, query string, args ...any) ([]store.Version, error) {
	rows, err := r.q.QueryContext(ctx, r.d.bind(query), args...)
	if err != nil {
		return nil, wrap("query", err)
	}
	defer rows.Close()
	var out []store.Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			if errors.Is(err, store.ErrCorrupt) {
				return nil, err
			}
			return nil, wrap("query", err)
		}
		out = append(out, v)
	}
	return out, wrap("query", rows.Err())
}

func (r reader) count(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	if err := r.q.QueryRowContext(ctx, r.d.bind(query), args...).Scan(&n); err != nil {
		return 0, wrap("count", err)
	}
	return n, nil
}

// History lists versions newest first. A resource's history with no
// version in the snapshot is ErrNotFound.
func (r reader) History(ctx context.Context, q store.HistoryQuery) (store.Page, error) {
	t, err := r.snapshot(ctx, q.At)
	if err != nil {
		return store.Page{}, err
	}
	where := []string{"r.t <= ?"}
	args := []any{t}
	if q.Type != "" {
		where = append(where, "r.type = ?")
		args = append(args, q.Type)
		if q.ID != "" {
			where = append(where, "r.id = ?")
			args = append(args, q.ID)
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "r.last_updated >= ?")
		args = append(args, q.Since.UnixNano())
	}
	cond := strings.Join(where, " AND ")
	total, err := r.count(ctx, "SELECT COUNT(*) FROM resources r WHERE "+cond, args...)
	if err != nil {
		return store.Page{}, err
	}
	if total == 0 && q.ID != "" && q.Since.IsZero() {
		return store.Page{}, store.ErrNotFound
	}
	n := q.Count
	if n <= 0 {
		n = DefaultCount
	}
	vs, err := r.versions(ctx, "SELECT "+versionColumns+" FROM resources r WHERE "+cond+" ORDER BY r.rid DESC LIMIT ? OFFSET ?",
		append(args, n, max(q.Offset, 0))...)
	if err != nil {
		return store.Page{}, err
	}
	return store.Page{T: t, Total: total, Matches: vs}, nil
}
