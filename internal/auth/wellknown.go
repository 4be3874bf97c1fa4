package auth

import (
	"encoding/json"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
)

// smartConfiguration is the SMART App Launch discovery document. Doppel
// issues tokens only through its command line, so there is no
// authorization or token endpoint to advertise, and no client
// authentication capability.
type smartConfiguration struct {
	Issuer          string   `json:"issuer,omitempty"`
	JWKSURI         string   `json:"jwks_uri,omitempty"`
	ScopesSupported []string `json:"scopes_supported"`
	Capabilities    []string `json:"capabilities"`
}

// WellKnown returns the handler of GET /.well-known/smart-configuration
// (SMART App Launch discovery) and GET /.well-known/jwks.json (the
// instance key's public JWK Set), to be mounted at /.well-known/ without
// authentication.
func (a *Authenticator) WellKnown() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		c := smartConfiguration{
			ScopesSupported: []string{
				"patient/*.rs", "patient/*.cruds", "user/*.rs", "user/*.cruds",
				"system/*.rs", "system/*.cruds", "launch/patient", "openid", "fhirUser",
			},
			Capabilities: []string{"permission-v1", "permission-v2", "permission-patient", "permission-user"},
		}
		if a.key != nil {
			c.Issuer = a.opts.Issuer
			c.JWKSURI = a.baseURL(r) + "/.well-known/jwks.json"
		}
		writeJSON(w, c)
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
		if a.key != nil {
			set.Keys = append(set.Keys, a.key.pub)
		}
		writeJSON(w, set)
	})
	return mux
}

// baseURL is the server's external base URL: PublicURL, else the
// request's scheme and host.
func (a *Authenticator) baseURL(r *http.Request) string {
	if a.opts.PublicURL != "" {
		return a.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// writeJSON sends v as a JSON 200 answer.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(b)
}
