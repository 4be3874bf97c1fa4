package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/doppelhealth/doppel/internal/store/storetest"
)

// fresh is a database file in a temporary directory.
func fresh(tb testing.TB) storetest.Target {
	path := filepath.Join(tb.TempDir(), "doppel.db")
	return storetest.Target{
		Open: func() (store.Store, error) { return sqlite.Open(context.Background(), path) },
		Corrupt: func(typ, id string) error {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = db.Exec(`UPDATE resources SET body = CAST(replace(CAST(body AS TEXT), '"id"', '"iD"') AS BLOB) WHERE type = ? AND id = ? AND t_end IS NULL`, typ, id)
			return err
		},
		SeriesBytes: func() (int64, error) { return seriesBytes(path) },
	}
}

// seriesBytes returns the size of the pages of the time series tables and
// their index, after VACUUM.
func seriesBytes(path string) (int64, error) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.Exec("VACUUM"); err != nil {
		return 0, err
	}
	var n int64
	err = db.QueryRow(`SELECT SUM(pgsize) FROM dbstat WHERE name IN ('series', 'series_chunk', 'sqlite_autoindex_series_1')`).Scan(&n)
	return n, err
}

func TestConformance(t *testing.T) { storetest.Run(t, fresh) }

func BenchmarkStore(b *testing.B) { storetest.Bench(b, fresh) }
