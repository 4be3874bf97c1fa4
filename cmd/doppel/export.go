package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/audit"
	"github.com/doppelhealth/doppel/internal/deid"
	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// exportFlags are the options of doppel export.
type exportFlags struct {
	store   storeFlags
	deid    string // "safe-harbor"
	keyFile string
	dates   string // "shift" or "year"
	out     string
}

func newExportCmd(e *env) *cobra.Command {
	var f exportFlags
	c := &cobra.Command{
		Use:   "export",
		Short: "Write a de-identified copy of the store as NDJSON, one file per resource type",
		Long: `Export writes the current version of every resource in the store, de-identified
by the HIPAA Safe Harbor method (45 CFR §164.514(b)(2)), as Bulk Data NDJSON:
OUT/Patient.ndjson, OUT/Observation.ndjson, ... (files mode 0600).

Names, addresses below the state (ZIP codes cut to 3 digits, or 000 for the
17 restricted areas), telephone, e-mail, photos, narrative, notes, device
serials and URLs are removed; identifiers and ids become pseudonyms
(HMAC-SHA-256 under the key), references are rewritten to match; patients
older than 89 lose their birth date ("90+"). Dates are shifted per patient
by a keyed offset of up to a year (--dates shift, intervals kept) or cut to
the year (--dates year, the letter of Safe Harbor). The audit trail is not
exported; the export itself is audited.

A store encrypted at rest is read with its --encryption-key-file; the files
written are de-identified, not encrypted.

The key file holds at least 32 bytes and must be kept outside the data
directory: the same key gives the same pseudonyms in every export, and
whoever has it can link exports to each other.`,
		Example: `  head -c 32 /dev/urandom > /secure/deid.key && chmod 600 /secure/deid.key
  doppel export --data /srv/doppel --deid safe-harbor --key-file /secure/deid.key --out research/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExport(cmd.Context(), e, f)
		},
	}
	f.store.register(c)
	c.Flags().StringVar(&f.deid, "deid", "", "de-identification method: safe-harbor (required)")
	c.Flags().StringVar(&f.keyFile, "key-file", "", "`FILE` with the pseudonym key (at least 32 bytes), outside --data")
	c.Flags().StringVar(&f.dates, "dates", "shift", "dates: shift (per-patient keyed offset) or year (year only)")
	c.Flags().StringVar(&f.out, "out", "", "output `DIR` (created)")
	return c
}

// readKey reads the pseudonym key given by flag (--key-file,
// --deid-key-file) and refuses one kept in the data directory.
func readKey(flag, path, data string) ([]byte, error) {
	if path == "" {
		return nil, usageError(fmt.Errorf("%s is required", flag))
	}
	absKey, err1 := filepath.Abs(path)
	absData, err2 := filepath.Abs(data)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(absData, absKey); err == nil && !strings.HasPrefix(rel, "..") {
			return nil, usageError(fmt.Errorf("%s must be outside the data directory", flag))
		}
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError(fmt.Errorf("%s: %w", flag, err))
	}
	key = bytes.TrimSpace(key)
	if len(key) < deid.MinKeyLen {
		return nil, usageError(fmt.Errorf("%s: the key must be at least %d bytes", flag, deid.MinKeyLen))
	}
	return key, nil
}

func runExport(ctx context.Context, e *env, f exportFlags) error {
	if f.deid != "safe-harbor" {
		return usageError(fmt.Errorf("--deid %q: want safe-harbor", f.deid))
	}
	if f.out == "" {
		return usageError(errors.New("--out is required"))
	}
	opts := deid.Options{}
	switch f.dates {
	case "shift":
	case "year":
		opts.Dates = deid.YearOnly
	default:
		return usageError(fmt.Errorf("--dates %q: want shift or year", f.dates))
	}
	key, err := readKey("--key-file", f.keyFile, f.store.data)
	if err != nil {
		return err
	}
	d, err := deid.New(key, opts)
	if err != nil {
		return err
	}
	st, _, err := openStore(ctx, f.store)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := os.MkdirAll(f.out, 0o700); err != nil {
		return err
	}
	var total int
	var at int64
	for _, typ := range fhir.ResourceTypes() {
		if typ == "AuditEvent" {
			continue // the audit trail is not research data
		}
		n, t, err := exportType(ctx, st, d, typ, at, filepath.Join(f.out, typ+".ndjson"))
		if err != nil {
			return err
		}
		at = t
		if n > 0 {
			fmt.Fprintf(e.stdout, "%-28s %d\n", typ+".ndjson", n)
		}
		total += n
	}
	fmt.Fprintf(e.stdout, "exported %d de-identified resources to %s\n", total, f.out)
	who := "cli"
	if u, err := user.Current(); err == nil {
		who = "cli:" + u.Username
	}
	log, err := openAudit(st, f.store)
	if err != nil {
		return err
	}
	return log.Append(ctx, []audit.Record{{Interaction: audit.Operation, Operation: "$export?_deid=safe-harbor",
		Who: who, Address: "localhost", Query: "_deid=safe-harbor&dates=" + f.dates}})
}

// exportPage is the number of resources read per search page.
const exportPage = 1000

// exportType writes the de-identified resources of one type, read on
// snapshot at (0: now, then the snapshot of the first page is returned and
// used for the following types), to path; no file when there are none.
func exportType(ctx context.Context, st store.Reader, d *deid.Deidentifier, typ string, at int64, path string) (int, int64, error) {
	var w *bufio.Writer
	var file *os.File
	n := 0
	for off := 0; ; off += exportPage {
		page, err := st.Search(ctx, &search.Query{Type: typ, Count: exportPage, Offset: off, Total: "none"}, at)
		if err != nil {
			return n, at, fmt.Errorf("export %s: %w", typ, err)
		}
		at = page.T
		for _, v := range page.Matches {
			r, err := fhir.Parse(v.Body)
			if err != nil {
				return n, at, fmt.Errorf("export %s/%s: %w", typ, v.ID, err)
			}
			d.Resource(r.Tree, nil)
			if file == nil {
				if file, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
					return n, at, err
				}
				defer file.Close()
				w = bufio.NewWriter(file)
			}
			body, _ := r.MarshalJSON()
			w.Write(body)
			w.WriteByte('\n')
			n++
		}
		if len(page.Matches) < exportPage {
			break
		}
	}
	if w == nil {
		return 0, at, nil
	}
	if err := w.Flush(); err != nil {
		return n, at, err
	}
	return n, at, file.Close()
}
