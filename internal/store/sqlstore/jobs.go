package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/doppelhealth/doppel/internal/store"
)

const jobColumns = "id, kind, state, spec, result, created, updated"

// SaveJob inserts or replaces a job.
func (s *Store) SaveJob(ctx context.Context, j store.Job) error {
	_, err := s.wdb.ExecContext(ctx, s.d.bind("INSERT INTO jobs ("+jobColumns+") VALUES (?, ?, ?, ?, ?, ?, ?) "+
		"ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, state = excluded.state, spec = excluded.spec, "+
		"result = excluded.result, created = excluded.created, updated = excluded.updated"),
		j.ID, j.Kind, j.State, j.Spec, j.Result, j.Created.UnixNano(), j.Updated.UnixNano())
	return wrap("save job", err)
}

func scanJob(row scanner) (store.Job, error) {
	var j store.Job
	var created, updated int64
	if err := row.Scan(&j.ID, &j.Kind, &j.State, &j.Spec, &j.Result, &created, &updated); err != nil {
		return store.Job{}, err
	}
	j.Created, j.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return j, nil
}

// Job returns one job, or ErrNotFound.
func (s *Store) Job(ctx context.Context, id string) (store.Job, error) {
	j, err := scanJob(s.rdb.QueryRowContext(ctx, s.d.bind("SELECT "+jobColumns+" FROM jobs WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Job{}, store.ErrNotFound
	}
	return j, wrap("job", err)
}

// ListJobs returns every job, oldest first.
func (s *Store) ListJobs(ctx context.Context) ([]store.Job, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+jobColumns+" FROM jobs ORDER BY created, id")
	if err != nil {
		return nil, wrap("list jobs", err)
	}
	defer rows.Close()
	var out []store.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, wrap("list jobs", err)
		}
		out = append(out, j)
	}
	return out, wrap("list jobs", rows.Err())
}

// DeleteJob removes a job; ErrNotFound if there is none.
func (s *Store) DeleteJob(ctx context.Context, id string) error {
	res, err := s.wdb.ExecContext(ctx, s.d.bind("DELETE FROM jobs WHERE id = ?"), id)
	if err != nil {
		return wrap("delete job", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return store.ErrNotFound
	}
	return nil
}
