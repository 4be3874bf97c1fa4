package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxJWKSBytes bounds a fetched JWK Set or OpenID configuration.
const maxJWKSBytes = 1 << 20

// remoteKeys caches the JWK Set of an external issuer. It fetches the set
// on first use, when it is older than KeysMaxAge, and when a token names a
// key id it does not hold (keys rotate), but never twice within
// KeysMinRefresh, so that tokens with made-up key ids cannot make the
// server hammer the identity provider.
type remoteKeys struct {
	cfg  Issuer
	opts *Options

	jwksURI string // cfg.JWKSURI, or discovered; guarded by mu

	mu      sync.Mutex // held during a fetch: one fetch at a time
	keys    map[string]jose.JSONWebKey
	fetched time.Time // last fetch attempt
	loaded  time.Time // last successful fetch
}

// key returns the key with id kid, fetching the set if it must and may.
// Errors are 401 *fhir.Error values.
func (rk *remoteKeys) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	rk.mu.Lock()
	defer rk.mu.Unlock()
	now := rk.opts.Now()
	k, ok := rk.keys[kid]
	stale := rk.loaded.IsZero() || now.Sub(rk.loaded) >= rk.opts.KeysMaxAge
	if (!ok || stale) && (rk.fetched.IsZero() || now.Sub(rk.fetched) >= rk.opts.KeysMinRefresh) {
		rk.fetched = now
		// Not cancelled with the request: a fetch cut short would still
		// count against KeysMinRefresh.
		keys, err := rk.fetch(context.WithoutCancel(ctx))
		if err != nil && !ok {
			return jose.JSONWebKey{}, unauthorized("unknown", "the token issuer's keys cannot be fetched")
		}
		if err == nil {
			rk.keys, rk.loaded = keys, now
			k, ok = keys[kid]
		}
	}
	if !ok {
		return jose.JSONWebKey{}, unauthorized("unknown", "unknown kid")
	}
	return k, nil
}

// fetch gets the JWK Set, discovering its URL first if it must, and keeps
// the public signing keys that have a key id. Keys it cannot read (other
// key types, encryption keys) are skipped, and symmetric keys never become
// verification keys.
func (rk *remoteKeys) fetch(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	if rk.jwksURI == "" {
		uri, err := rk.discover(ctx)
		if err != nil {
			return nil, err
		}
		rk.jwksURI = uri
	}
	body, err := rk.get(ctx, rk.jwksURI)
	if err != nil {
		return nil, err
	}
	return parseJWKS(body)
}

// discover reads jwks_uri from the issuer's OpenID Provider Configuration
// (OpenID Connect Discovery 1.0 §4), whose issuer must be the configured
// one exactly (§4.3).
func (rk *remoteKeys) discover(ctx context.Context) (string, error) {
	body, err := rk.get(ctx, strings.TrimSuffix(rk.cfg.Issuer, "/")+"/.well-known/openid-configuration")
	if err != nil {
		return "", err
	}
	var conf struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &conf); err != nil {
		return "", fmt.Errorf("auth: openid-configuration of %s: %w", rk.cfg.Issuer, err)
	}
	if conf.Issuer != rk.cfg.Issuer {
		return "", fmt.Errorf("auth: openid-configuration of %s names issuer %q", rk.cfg.Issuer, conf.Issuer)
	}
	if !isHTTPS(conf.JWKSURI) {
		return "", fmt.Errorf("auth: openid-configuration of %s: jwks_uri %q is not an https URL", rk.cfg.Issuer, conf.JWKSURI)
	}
	return conf.JWKSURI, nil
}

// get fetches a JSON document of at most maxJWKSBytes.
func (rk *remoteKeys) get(ctx context.Context, uri string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := rk.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: %s: status %d", uri, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("auth: %s: larger than %d bytes", uri, maxJWKSBytes)
	}
	return body, nil
}

// parseJWKS decodes a JWK Set into its usable public signing keys by key
// id.
func parseJWKS(body []byte) (map[string]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("auth: jwks: %w", err)
	}
	keys := map[string]jose.JSONWebKey{}
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if !k.IsPublic() || k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		keys[k.KeyID] = k
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("auth: jwks: no public signing key with a kid")
	}
	return keys, nil
}
