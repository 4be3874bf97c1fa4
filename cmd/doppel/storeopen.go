package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/postgres"
	"github.com/doppelhealth/doppel/internal/store/sealed"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/doppelhealth/doppel/internal/store/sqlstore"
)

// storeFlags select the resource store of the commands that use one
// (serve, import, export, audit verify): the embedded SQLite database under
// --data, or PostgreSQL, encrypted at rest with --encryption-key-file.
// Every command opens it the same way (openStore), so none can write
// clear rows into an encrypted store.
type storeFlags struct {
	data    string // data directory
	kind    string // "sqlite" or "postgres"
	dsn     string // PostgreSQL connection string
	keyFile string // --encryption-key-file
}

// register adds --data, --store, --dsn and --encryption-key-file to c.
func (f *storeFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.data, "data", "doppel-data", "data directory (the SQLite store is `DIR`/fhir.db)")
	c.Flags().StringVar(&f.kind, "store", "sqlite", "resource store: sqlite (embedded, under --data) or postgres (--dsn)")
	c.Flags().StringVar(&f.dsn, "dsn", "", "PostgreSQL connection string for --store postgres, e.g. postgres://user@host/db")
	c.Flags().StringVar(&f.keyFile, "encryption-key-file", "", "the store is encrypted at rest with the key in `FILE` (32 bytes, raw or hex; mode 0600; outside --data)")
}

// sqliteFile is the SQLite store's file name in the data directory.
const sqliteFile = "fhir.db"

// openStore opens the store the flags select, creating the data directory
// and the SQLite file if needed, sealed with the --encryption-key-file key
// (SEC-24), which it returns too (nil without the flag). It refuses a store
// written with a key when none is given, a key other than the store's, and
// a clear store that holds data when a key is given. Flag errors are usage
// errors (exit 2).
func openStore(ctx context.Context, f storeFlags) (store.Store, []byte, error) {
	key, err := readStoreKey(f.keyFile, f.data)
	if err != nil {
		return nil, nil, err
	}
	st, err := openInner(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	if key == nil {
		enc, err := sealed.IsSealed(ctx, st)
		if err == nil && enc {
			err = usageError(errors.New("the store is encrypted: give --encryption-key-file"))
		}
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		return st, nil, nil
	}
	s, err := sealed.New(ctx, st, key)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("--encryption-key-file: %w", err)
	}
	return s, key, nil
}

// openInner opens the store the flags select, unsealed.
func openInner(ctx context.Context, f storeFlags) (*sqlstore.Store, error) {
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

// readStoreKey reads the --encryption-key-file, if given (nil if not). The key
// file must lie outside the data directory, where a copy of the data would
// carry it along, and be readable by its owner only.
func readStoreKey(keyFile, data string) ([]byte, error) {
	if keyFile == "" {
		return nil, nil
	}
	if err := outside(keyFile, data); err != nil {
		return nil, usageError(err)
	}
	key, err := sealed.ReadKeyFile(keyFile)
	if err != nil {
		return nil, usageError(fmt.Errorf("--encryption-key-file: %w", err))
	}
	return key, nil
}

// outside checks that file is not inside dir (symbolic links resolved).
func outside(file, dir string) error {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		if r, err := filepath.EvalSymlinks(a); err == nil {
			return r
		}
		return a
	}
	rel, err := filepath.Rel(abs(dir), abs(file))
	if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("--encryption-key-file %s is inside the data directory %s: keep the key apart from the data it protects", file, dir)
	}
	return nil
}
