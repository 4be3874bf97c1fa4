package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/postgres"
	"github.com/doppelhealth/doppel/internal/store/storetest"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// fresh is a new schema, dropped at the end, in the database named by
// DOPPEL_TEST_POSTGRES; the test is skipped when that is not set.
func fresh(tb testing.TB) storetest.Target {
	dsn := os.Getenv("DOPPEL_TEST_POSTGRES")
	if dsn == "" {
		tb.Skip("DOPPEL_TEST_POSTGRES is not set")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	schema := fmt.Sprintf("doppel_test_%x", rand.Text()[:12])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return storetest.Target{
		Open: func() (store.Store, error) { return postgres.Open(context.Background(), u.String()) },
		Corrupt: func(typ, id string) error {
			_, err := admin.Exec(`UPDATE `+schema+`.resources SET body = convert_to(replace(convert_from(body, 'UTF8'), '"id"', '"iD"'), 'UTF8') WHERE type = $1 AND id = $2 AND t_end IS NULL`, typ, id)
			return err
		},
		SeriesBytes: func() (int64, error) {
			var n int64
			err := admin.QueryRow("SELECT pg_total_relation_size($1) + pg_total_relation_size($2)", schema+".series", schema+".series_chunk").Scan(&n)
			return n, err
		},
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, fresh) }

func BenchmarkStore(b *testing.B) { storetest.Bench(b, fresh) }

// TestAnalyze checks that Store.Analyze (ANALYZE, in a write) succeeds
// and leaves the data readable.
func TestAnalyze(t *testing.T) {
	ctx := t.Context()
	s, err := fresh(t).Open()
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
	if err := s.(interface{ Analyze(context.Context) error }).Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, "Patient", "p"); err != nil {
		t.Errorf("read after Analyze: %v", err)
	}
}
