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
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, fresh) }

func BenchmarkStore(b *testing.B) { storetest.Bench(b, fresh) }
