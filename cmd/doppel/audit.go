package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/audit"
	"github.com/doppelhealth/doppel/internal/search"
)

// auditHeadFile is the audit chain's head file in the data directory: the
// last sequence number and hash, so that deleting the newest records from
// the database is detected.
const auditHeadFile = "audit.head"

// openAudit returns the audit log of an open store.
func openAudit(st audit.Store, sf storeFlags) (*audit.Log, error) {
	reg, err := search.NewRegistry()
	if err != nil {
		return nil, err
	}
	return audit.New(st, reg, audit.Options{HeadFile: filepath.Join(sf.data, auditHeadFile)}), nil
}

func newAuditCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "Check the audit trail",
		Long: `The audit trail records every read, search, write, export and twin query,
and every refused token or scope, as FHIR AuditEvents in the store
(search them at /fhir/AuditEvent?patient=...&date=...). The records form a
SHA-256 hash chain.`,
	}
	var sf storeFlags
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Walk the audit hash chain and report any edited, deleted, moved or missing record",
		Long: `Verify reads every AuditEvent in sequence order and checks its hash, its
link to the previous record, the store's content hash and the head file
(DIR/audit.head). It prints one line per problem with the record's sequence
number. A store encrypted at rest needs its --encryption-key-file. Exit status: 0 intact, 1 tampered with (or the check failed),
2 bad arguments.`,
		Example: `  doppel audit verify --data /srv/doppel`,
		Args:    cobra.NoArgs,
		RunE: markFailures(func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, _, err := openStore(ctx, sf)
			if err != nil {
				return err
			}
			defer st.Close()
			log, err := openAudit(st, sf)
			if err != nil {
				return err
			}
			rep, err := log.Verify(ctx)
			if err != nil {
				return err
			}
			for _, p := range rep.Problems {
				fmt.Fprintln(e.stdout, p)
			}
			if !rep.OK() {
				return fmt.Errorf("audit chain broken: %d problems in %d records (last seq %d)", len(rep.Problems), rep.Records, rep.Last)
			}
			fmt.Fprintf(e.stdout, "audit chain intact: %d records, last seq %d, hash %s\n", rep.Records, rep.Last, rep.LastHash)
			return nil
		}),
	}
	sf.register(verify)
	c.AddCommand(verify)
	return c
}
