package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxStatements bounds the prepared statements kept per pool; statements
// past it (rare query shapes) are prepared for each use.
const maxStatements = 512

// statements keeps prepared statements of one pool by their text, so a
// statement is parsed once per connection rather than once per use.
//
// Inside a transaction a missing statement is not prepared (on SQLite the
// transaction holds the writer's only connection); it is noted and
// prepared by prepareNoted, which the writer calls between transactions.
type statements struct {
	db    *sql.DB
	off   bool // prepare nothing
	mu    sync.Mutex
	m     map[string]*sql.Stmt
	noted map[string]bool
}

func newStatements(db *sql.DB, on bool) *statements {
	return &statements{db: db, off: !on, m: make(map[string]*sql.Stmt), noted: make(map[string]bool)}
}

// get returns the prepared statement of q, or nil when there is none and
// it cannot be prepared now (inTx) or the cache is full.
func (s *statements) get(ctx context.Context, q string, inTx bool) (*sql.Stmt, error) {
	if s.off {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m[q]; ok {
		return st, nil
	}
	if len(s.m)+len(s.noted) >= maxStatements {
		return nil, nil
	}
	if inTx {
		s.noted[q] = true
		return nil, nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.m[q] = st
	return st, nil
}

// prepareNoted prepares the statements noted inside transactions.
func (s *statements) prepareNoted(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for q := range s.noted {
		delete(s.noted, q)
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		s.m[q] = st
	}
	return nil
}

func (s *statements) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	for q, st := range s.m {
		err = errors.Join(err, st.Close())
		delete(s.m, q)
	}
	return err
}

// prepared runs statements through the cache, on the pool or, when tx is
// set, in that transaction (of the same pool).
type prepared struct {
	c  *statements
	tx *sql.Tx
}

func (p prepared) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	st, err := p.c.get(ctx, q, p.tx != nil)
	if err != nil || st == nil || p.tx == nil {
		return st, err
	}
	return p.tx.StmtContext(ctx, st), nil
}

func (p prepared) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := p.stmt(ctx, q)
	switch {
	case err != nil:
		return nil, err
	case st != nil:
		return st.ExecContext(ctx, args...)
	case p.tx != nil:
		return p.tx.ExecContext(ctx, q, args...)
	}
	return p.c.db.ExecContext(ctx, q, args...)
}

func (p prepared) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, q)
	switch {
	case err != nil:
		return nil, err
	case st != nil:
		return st.QueryContext(ctx, args...)
	case p.tx != nil:
		return p.tx.QueryContext(ctx, q, args...)
	}
	return p.c.db.QueryContext(ctx, q, args...)
}

// row is a *sql.Row or the error of preparing its statement.
type row struct {
	r   *sql.Row
	err error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}

func (p prepared) QueryRowContext(ctx context.Context, q string, args ...any) scanner {
	st, err := p.stmt(ctx, q)
	switch {
	case err != nil:
		return row{err: err}
	case st != nil:
		return st.QueryRowContext(ctx, args...)
	case p.tx != nil:
		return p.tx.QueryRowContext(ctx, q, args...)
	}
	return p.c.db.QueryRowContext(ctx, q, args...)
}
