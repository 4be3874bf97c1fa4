package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/store/postgres"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/doppelhealth/doppel/internal/store/sqlstore"
)

// storeFlags select the resource store of the commands that use one
// (serve, import): the embedded SQLite database under --data, or PostgreSQL.
type storeFlags struct {
	data string // data directory
	kind string // "sqlite" or "postgres"
	dsn  string // PostgreSQL connection string
}

// register adds --data, --store and --dsn to c.
func (f *storeFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.data, "data", "doppel-data", "data directory (the SQLite store is `DIR`/fhir.db)")
	c.Flags().StringVar(&f.kind, "store", "sqlite", "resource store: sqlite (embedded, under --data) or postgres (--dsn)")
	c.Flags().StringVar(&f.dsn, "dsn", "", "PostgreSQL connection string for --store postgres, e.g. postgres://user@host/db")
}

// sqliteFile is the SQLite store's file name in the data directory.
const sqliteFile = "fhir.db"

// openStore opens the store the flags select, creating the data directory
// and the SQLite file if needed. Flag errors are usage errors (exit 2).
func openStore(ctx context.Context, f storeFlags) (*sqlstore.Store, error) {
	switch f.kind {
	case "sqlite":
		if f.dsn != "" {
			return nil, usageError(fmt.Errorf("--dsn is for --store postgres"))
		}
		if err := os.MkdirAll(f.data, 0o700); err != nil {
			return nil, fmt.Errorf("--data %s: %w", f.data, err)
		}
		return sqlite.Open(ctx, filepath.Join(f.data, sqliteFile))
	case "postgres":
		if f.dsn == "" {
			return nil, usageError(fmt.Errorf("--store postgres needs --dsn"))
		}
		return postgres.Open(ctx, f.dsn)
	}
	return nil, usageError(fmt.Errorf("--store %q: want sqlite or postgres", f.kind))
}
