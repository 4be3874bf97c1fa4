package sealed_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/doppelhealth/doppel/internal/store/storetest"
)

// TestSeriesSealed: the chunks a sealed store writes are not the clear
// store's, and a chunk moved to another day no longer opens.
func TestSeriesSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var samples []store.Sample
	for m := range 288 {
		samples = append(samples, store.Sample{Patient: "p1", Code: "99504-3", Device: "d1", Time: day.Add(time.Duration(5*m) * time.Minute), Value: 100, Unit: "mg/dL"})
	}
	chunk := func(path string) []byte {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var b []byte
		if err := db.QueryRow("SELECT data FROM series_chunk").Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	clearPath, sealedPath := filepath.Join(dir, "clear.db"), filepath.Join(dir, "sealed.db")
	cs, err := sqlite.Open(ctx, clearPath)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := openSealed(sealedPath, testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []store.Series{cs, ss.(store.Series)} {
		if _, err := s.AppendSamples(ctx, samples); err != nil {
			t.Fatal(err)
		}
	}
	cs.Close()
	ss.Close()
	plain, sealedChunk := chunk(clearPath), chunk(sealedPath)
	// AES-GCM: a 12-byte nonce and a 16-byte tag around the clear chunk.
	if len(sealedChunk) != len(plain)+28 || string(sealedChunk[12:len(plain)+12]) == string(plain) {
		t.Errorf("sealed chunk (%d bytes) vs clear (%d bytes): not sealed as expected", len(sealedChunk), len(plain))
	}
	db, err := sql.Open("sqlite", sealedPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE series_chunk SET day = day + 1"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := openSealed(sealedPath, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.(store.Series).Samples(ctx, store.SampleQuery{Patient: "p1", Code: "99504-3"})
	if !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("a chunk moved to another day: %v, want store.ErrCorrupt", err)
	}
}

// BenchmarkStore runs the store benchmarks on a sealed SQLite store.
func BenchmarkStore(b *testing.B) { storetest.Bench(b, fresh) }
