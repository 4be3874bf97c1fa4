package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/httpapi"
)

// authFlags are serve's authentication flags: the external OpenID Connect
// issuers whose tokens are accepted besides the instance's own.
type authFlags struct {
	issuers, audiences, jwks []string
}

func (f *authFlags) register(c *cobra.Command) {
	c.Flags().StringArrayVar(&f.issuers, "oidc-issuer", nil, "accept the access tokens of the OpenID Connect issuer `URL` (its iss), such as a hospital's Keycloak realm; repeatable")
	c.Flags().StringArrayVar(&f.audiences, "oidc-audience", nil, "the `AUD` (aud) the --oidc-issuer's tokens for this server carry; one for all issuers, or one per issuer in order")
	c.Flags().StringArrayVar(&f.jwks, "oidc-jwks", nil, "the https `URL` of the --oidc-issuer's JWK Set, one per issuer in order; default: read from its /.well-known/openid-configuration")
}

// external returns the issuers the flags configure.
func (f authFlags) external() ([]auth.Issuer, error) {
	n := len(f.issuers)
	switch {
	case n == 0 && (len(f.audiences) > 0 || len(f.jwks) > 0):
		return nil, usageError(errors.New("--oidc-audience and --oidc-jwks need --oidc-issuer"))
	case n > 0 && len(f.audiences) != 1 && len(f.audiences) != n:
		return nil, usageError(fmt.Errorf("%d --oidc-issuer need one --oidc-audience, or one each; got %d", n, len(f.audiences)))
	case len(f.jwks) > 0 && len(f.jwks) != n:
		return nil, usageError(fmt.Errorf("%d --oidc-issuer need one --oidc-jwks each, or none; got %d", n, len(f.jwks)))
	}
	out := make([]auth.Issuer, n)
	for i, iss := range f.issuers {
		out[i] = auth.Issuer{Issuer: iss, Audience: f.audiences[min(i, len(f.audiences)-1)]}
		if len(f.jwks) > 0 {
			out[i].JWKSURI = f.jwks[i]
		}
	}
	return out, nil
}

// newServeAuth returns the authenticator of doppel serve: the instance key
// in data (created on first start, when it says how to get a token) and
// the external issuers of f.
func newServeAuth(e *env, data string, f authFlags) (*auth.Authenticator, error) {
	ext, err := f.external()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(data, auth.KeyFile)
	_, statErr := os.Stat(path)
	key, err := auth.LoadKey(data)
	if err != nil {
		return nil, err
	}
	a, err := auth.New(key, auth.Options{External: ext})
	if err != nil {
		return nil, usageError(err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		fmt.Fprintf(e.stderr, "doppel: created the instance signing key %s (keep it private: it mints tokens).\n"+
			"doppel: every request but /fhir/metadata, /.well-known/* and /healthz needs a bearer token; get one with\n"+
			"  doppel token --data %s --role admin\n"+
			"and send it as \"Authorization: Bearer TOKEN\".\n", path, data)
	}
	return a, nil
}

// serveHandler puts authentication in front of the API (SEC-01): the SMART
// discovery document and JWK Set under /.well-known/ and GET /healthz are
// open; every request to api carries its principal, as the fhirops.Access
// too, for the httpapi.Scopes Authorizer and the Service.
func serveHandler(a *auth.Authenticator, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/.well-known/", a.WellKnown())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("/", httpapi.Confine(api))
	return a.Middleware(mux)
}
