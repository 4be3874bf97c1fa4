package main

import (
	"fmt"
	"os/user"
	"time"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/auth"
)

func newTokenCmd(e *env) *cobra.Command {
	var g auth.Grant
	var data string
	c := &cobra.Command{
		Use:   "token",
		Short: "Mint an access token with the instance key",
		Long: `Token prints a bearer token for doppel serve, signed with the instance key
in DIR/` + auth.KeyFile + ` (created, mode 0600, if there is none), for
administrators, scripts and tests. Whoever can read that file can mint any
token: keep the data directory private.

The token carries SMART App Launch 2 scopes (--scope, space-separated;
v1 forms such as patient/*.read are written in v2 form) and those of
--role:

  admin        user/*.cruds    everything, deletes included
  clinician    user/*.crus     read, search and write; no delete
  researcher   user/*.rs       read and search only
  patient      patient/*.rs    one patient's compartment (needs --patient)

Patient-level scopes (patient/...) need --patient, the id of the Patient
whose compartment the token is confined to. The token is printed alone on
stdout; send it as "Authorization: Bearer TOKEN".`,
		Example: `  doppel token --scope "user/*.cruds"
  doppel token --role patient --patient 123 --ttl 1h
  TOKEN=$(doppel token --data /srv/doppel --role clinician --sub dr-lee)
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/fhir/Patient`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if g.Subject == "" {
				g.Subject = defaultSubject()
			}
			key, err := auth.LoadKey(data)
			if err != nil {
				return err
			}
			a, err := auth.New(key, auth.Options{})
			if err != nil {
				return err
			}
			tok, err := a.Mint(g)
			if err != nil {
				return usageError(err)
			}
			fmt.Fprintln(e.stdout, tok)
			return nil
		},
	}
	c.Flags().StringVar(&data, "data", "doppel-data", "data directory holding the instance key (`DIR`/"+auth.KeyFile+")")
	c.Flags().StringVar(&g.Scope, "scope", "", "SMART scopes, space-separated, e.g. \"patient/Observation.rs user/*.cruds\"")
	c.Flags().StringVar(&g.Role, "role", "", "add the scopes of a role: admin, clinician, researcher or patient")
	c.Flags().StringVar(&g.Patient, "patient", "", "patient id (launch context) for patient-level scopes")
	c.Flags().StringVar(&g.Subject, "sub", "", "who the token is for (default: the current user name)")
	c.Flags().DurationVar(&g.TTL, "ttl", 15*time.Minute, "lifetime of the token")
	return c
}

// defaultSubject names the token's subject after the user running doppel.
func defaultSubject() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "doppel-cli"
}
