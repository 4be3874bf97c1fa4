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

// TestAnalyze checks that Store.Analyze writes the planner's statistics
// (sqlite_stat1) and leaves the data readable.
func TestAnalyze(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "doppel.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Write(ctx, func(w store.Writer) error {
		_, err := w.Put(ctx, store.Version{Type: "Patient", ID: "p", VersionID: 1, Body: []byte(`{"resourceType":"Patient","id":"p"}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, "Patient", "p"); err != nil {
		t.Errorf("read after Analyze: %v", err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'resources'").Scan(&n); err != nil || n == 0 {
		t.Errorf("sqlite_stat1 rows of resources: %d, %v; want some", n, err)
	}
}
