package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// SEC-01: the middleware hands the access check a principal only for a
// valid bearer token, and a 401 otherwise.
func TestMiddleware(t *testing.T) {
	a := newAuth(t, Options{})
	tok, err := a.Mint(Grant{Subject: "admin", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	var got *Principal
	var gotErr error
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotErr = FromContext(r.Context())
	}))
	for _, c := range []struct {
		name   string
		header []string
		want   int
	}{
		{"valid", []string{"Bearer " + tok}, http.StatusOK},
		{"lower-case scheme", []string{"bearer " + tok}, http.StatusOK},
		{"no header", nil, http.StatusUnauthorized},
		{"basic", []string{"Basic YWRtaW46YWRtaW4="}, http.StatusUnauthorized},
		{"scheme only", []string{"Bearer"}, http.StatusUnauthorized},
		{"two headers", []string{"Bearer " + tok, "Bearer " + tok}, http.StatusUnauthorized},
		{"garbage", []string{"Bearer x.y.z"}, http.StatusUnauthorized},
	} {
		r := httptest.NewRequest(http.MethodGet, "/fhir/Patient", nil)
		for _, v := range c.header {
			r.Header.Add("Authorization", v)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if st := status(t, gotErr); st != c.want {
			t.Errorf("%s: %d (%v), want %d", c.name, st, gotErr, c.want)
		}
		if (got != nil) != (c.want == http.StatusOK) {
			t.Errorf("%s: principal %v", c.name, got)
		}
	}
}

// The middleware validates a token only when the handler asks.
func TestMiddlewareLazy(t *testing.T) {
	var clockReads atomic.Int64
	a := newAuth(t, Options{Now: func() time.Time { clockReads.Add(1); return t0 }})
	tok, err := a.Mint(Grant{Subject: "x", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	clockReads.Store(0)
	ask := false
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ask {
			_, _ = FromContext(r.Context())
			_, _ = FromContext(r.Context())
		}
	}))
	r := httptest.NewRequest(http.MethodGet, "/fhir/metadata", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if n := clockReads.Load(); n != 0 {
		t.Errorf("token validated (%d clock reads) though the handler never asked", n)
	}
	ask = true
	h.ServeHTTP(httptest.NewRecorder(), r)
	if n := clockReads.Load(); n != 1 {
		t.Errorf("%d validations for one request asking twice, want 1", n)
	}
}

// claimsOf decodes a token's payload without checking it.
func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMint(t *testing.T) {
	a := newAuth(t, Options{})
	tok, err := a.Mint(Grant{Subject: "p1-app", Scope: "launch/patient patient/Observation.read", Role: "patient", Patient: "p1", TTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	got := claimsOf(t, tok)
	for _, k := range []string{"jti"} {
		if s, _ := got[k].(string); len(s) != 32 {
			t.Errorf("%s = %v, want 32 hex digits", k, got[k])
		}
		delete(got, k)
	}
	want := map[string]any{
		"iss": a.opts.Issuer, "aud": a.opts.Audience, "sub": "p1-app",
		"iat": float64(t0.Unix()), "nbf": float64(t0.Unix()), "exp": float64(t0.Add(10 * time.Minute).Unix()),
		"scope": "launch/patient patient/Observation.rs patient/*.rs", "patient": "p1", "role": "patient",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(a.opts.Issuer, "urn:doppel:") || a.opts.Audience != a.opts.Issuer {
		t.Errorf("default issuer %q audience %q", a.opts.Issuer, a.opts.Audience)
	}
	p, err := a.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Compartment() != "Patient/p1" || p.Role != "patient" {
		t.Errorf("principal %+v", p)
	}

	for name, g := range map[string]Grant{
		"no subject":            {Scope: "user/*.rs"},
		"no scope":              {Subject: "x", Scope: "openid"},
		"bad scope":             {Subject: "x", Scope: "user/*.rx"},
		"unknown role":          {Subject: "x", Role: "janitor"},
		"patient without id":    {Subject: "x", Role: "patient"},
		"patient with a bad id": {Subject: "x", Role: "patient", Patient: "../etc"},
		"negative ttl":          {Subject: "x", Scope: "user/*.rs", TTL: -time.Minute},
	} {
		if _, err := a.Mint(g); err == nil {
			t.Errorf("%s: minted", name)
		}
	}
}

// A token minted by one instance is not valid at another.
func TestMintOtherInstance(t *testing.T) {
	tok, err := newAuth(t, Options{}).Mint(Grant{Subject: "x", Scope: "user/*.rs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newAuth(t, Options{}).Validate(context.Background(), tok); err == nil {
		t.Error("another instance's token accepted")
	}
}

func TestWellKnown(t *testing.T) {
	a := newAuth(t, Options{})
	h := a.WellKnown()
	get := func(path string) map[string]any {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://doppel.test:8080"+path, nil))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cfg := get("/.well-known/smart-configuration")
	if cfg["issuer"] != a.opts.Issuer || cfg["jwks_uri"] != "http://doppel.test:8080/.well-known/jwks.json" {
		t.Errorf("issuer %v jwks_uri %v", cfg["issuer"], cfg["jwks_uri"])
	}
	for _, absent := range []string{"token_endpoint", "authorization_endpoint"} {
		if _, ok := cfg[absent]; ok {
			t.Errorf("%s advertised but not implemented", absent)
		}
	}
	if diff := cmp.Diff([]any{"permission-v1", "permission-v2", "permission-patient", "permission-user"}, cfg["capabilities"]); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
	set := get("/.well-known/jwks.json")
	keys, _ := set["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("jwks: %v", set)
	}
	want := map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": a.key.ID(), "alg": "EdDSA", "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(a.key.priv[32:])}
	if diff := cmp.Diff(want, keys[0]); diff != "" { // no "d": the private half is never published
		t.Errorf("jwk (-want +got):\n%s", diff)
	}
}

// FuzzValidate checks that no input makes the validator panic, and that
// what it accepts is a current token of a subject with a scope. Seeds:
// tokens of each kind the tests use.
func FuzzValidate(f *testing.F) {
	a := newAuth(f, Options{})
	good := goodClaims(a)
	f.Add(signWith(f, "EdDSA", a.key.priv, a.key.ID(), good))
	f.Add(signWith(f, "EdDSA", a.key.priv, a.key.ID(), with(good, map[string]any{"scope": "patient/*.rs", "patient": "p1"})))
	f.Add(rawToken(map[string]any{"alg": "none", "kid": a.key.ID()}, good, func(string) []byte { return nil }))
	f.Add(rawToken(map[string]any{"alg": "HS256", "kid": a.key.ID()}, good, hs256([]byte("k"))))
	f.Add("e30.e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := a.Validate(context.Background(), tok)
		if err != nil {
			if st := status(t, err); st != http.StatusUnauthorized {
				t.Fatalf("status %d", st)
			}
			return
		}
		if p.Subject == "" || len(p.Scopes) == 0 || p.Expiry.Before(t0.Add(-a.opts.Leeway)) {
			t.Fatalf("accepted %+v", p)
		}
	})
}
