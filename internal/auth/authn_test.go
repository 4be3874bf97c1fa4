package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/fhir"
)

// t0 is the tests' clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// newAuth returns an Authenticator with a fresh instance key and a clock
// fixed at t0 (opts.Now, if set, wins).
func newAuth(t testing.TB, opts Options) *Authenticator {
	t.Helper()
	k, err := LoadKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	a, err := New(k, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signWith signs claims with key under alg, putting kid in the header.
func signWith(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rawToken assembles a compact JWS by hand, for headers no signer writes.
func rawToken(header, claims map[string]any, sign func(signingInput string) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return in + "." + base64.RawURLEncoding.EncodeToString(sign(in))
}

// hs256 signs with HMAC-SHA256 under secret.
func hs256(secret []byte) func(string) []byte {
	return func(in string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return m.Sum(nil)
	}
}

// goodClaims are valid claims for a's instance issuer at t0.
func goodClaims(a *Authenticator) map[string]any {
	return map[string]any{
		"iss": a.opts.Issuer, "aud": a.opts.Audience, "sub": "dr-who",
		"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(15 * time.Minute).Unix(),
		"scope": "user/*.rs",
	}
}

// with returns m with the changes applied (a nil value deletes a claim).
func with(m map[string]any, changes map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// issueCode returns the HTTP status and issue code of a validation error.
func issueCode(t *testing.T, err error) (int, string) {
	t.Helper()
	var fe *fhir.Error
	if !errors.As(err, &fe) || len(fe.Issues) != 1 {
		t.Fatalf("error %v is not a *fhir.Error with one issue", err)
	}
	return fe.Status, fe.Issues[0].Code
}

func TestValidateInstanceTokens(t *testing.T) {
	a := newAuth(t, Options{})
	kid := a.key.ID()
	good := goodClaims(a)
	sign := func(c map[string]any) string { return signWith(t, jose.EdDSA, a.key.priv, kid, c) }
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(a.key.priv.Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	valid := sign(good)

	cases := []struct {
		name, sec, token string
		code             string // "" for a valid token
	}{
		{"valid", "SEC-01", valid, ""},
		{"expired", "SEC-33", sign(with(good, map[string]any{"exp": t0.Add(-2 * time.Minute).Unix()})), "expired"},
		{"expired within leeway", "SEC-33", sign(with(good, map[string]any{"exp": t0.Add(-30 * time.Second).Unix()})), ""},
		{"no exp", "SEC-33", sign(with(good, map[string]any{"exp": nil})), "unknown"},
		{"not yet valid", "SEC-33", sign(with(good, map[string]any{"nbf": t0.Add(5 * time.Minute).Unix()})), "unknown"},
		{"issued in the future", "SEC-33", sign(with(good, map[string]any{"iat": t0.Add(5 * time.Minute).Unix()})), "unknown"},
		{"wrong iss", "SEC-33", sign(with(good, map[string]any{"iss": "https://evil.example"})), "unknown"},
		{"wrong aud", "SEC-33", sign(with(good, map[string]any{"aud": "https://other.example/fhir"})), "unknown"},
		{"aud among several", "SEC-33", sign(with(good, map[string]any{"aud": []string{"x", a.opts.Audience}})), ""},
		{"other key, same kid", "SEC-33", signWith(t, jose.EdDSA, otherKey, kid, good), "unknown"},
		{"tampered payload", "SEC-33", tamper(t, valid, map[string]any{"scope": "user/*.cruds"}), "unknown"},
		{"unknown kid", "SEC-33", signWith(t, jose.EdDSA, a.key.priv, "not-the-kid", good), "unknown"},
		{"no kid", "SEC-33", signWith(t, jose.EdDSA, a.key.priv, "", good), "unknown"},
		{"alg none", "SEC-33", rawToken(map[string]any{"alg": "none", "kid": kid}, good, func(string) []byte { return nil }), "unknown"},
		{"alg None", "SEC-33", rawToken(map[string]any{"alg": "None", "kid": kid}, good, func(string) []byte { return nil }), "unknown"},
		{"HS256 with public key PEM as secret", "SEC-33", rawToken(map[string]any{"alg": "HS256", "kid": kid}, good, hs256(pubPEM)), "unknown"},
		{"HS256 with raw public key as secret", "SEC-33", rawToken(map[string]any{"alg": "HS256", "kid": kid}, good, hs256(a.key.priv.Public().(ed25519.PublicKey))), "unknown"},
		{"no sub", "SEC-07", sign(with(good, map[string]any{"sub": nil})), "unknown"},
		{"no scope", "SEC-03", sign(with(good, map[string]any{"scope": nil})), "unknown"},
		{"patient scope without patient", "SEC-02", sign(with(good, map[string]any{"scope": "patient/*.rs"})), "unknown"},
		{"patient scope with bad patient id", "SEC-02", sign(with(good, map[string]any{"scope": "patient/*.rs", "patient": "a/b"})), "unknown"},
		{"patient scope with patient", "SEC-02", sign(with(good, map[string]any{"scope": "patient/*.rs", "patient": "p1"})), ""},
		{"scp array", "SEC-03", sign(with(good, map[string]any{"scope": nil, "scp": []string{"user/*.rs"}})), ""},
		{"not a JWT", "SEC-01", "hello", "unknown"},
		{"empty", "SEC-01", "", "unknown"},
		{"too long", "SEC-01", strings.Repeat("a", maxTokenBytes+1), "unknown"},
	}
	for _, c := range cases {
		p, err := a.Validate(context.Background(), c.token)
		if c.code == "" {
			if err != nil {
				t.Errorf("%s %s: %v", c.sec, c.name, err)
			} else if p.Subject != "dr-who" {
				t.Errorf("%s %s: subject %q", c.sec, c.name, p.Subject)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s %s: accepted", c.sec, c.name)
			continue
		}
		if st, code := issueCode(t, err); st != http.StatusUnauthorized || code != c.code {
			t.Errorf("%s %s: %d %s (%v), want 401 %s", c.sec, c.name, st, code, err, c.code)
		}
	}
}

// tamper replaces claims in a signed token's payload, keeping the
// signature.
func tamper(t *testing.T, token string, changes map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(with(c, changes))
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestPrincipalClaims(t *testing.T) {
	a := newAuth(t, Options{})
	tok := signWith(t, jose.EdDSA, a.key.priv, a.key.ID(), with(goodClaims(a), map[string]any{
		"scope": "openid launch/patient patient/Observation.read email", "patient": "p1",
		"fhirUser": "Patient/p1", "azp": "app-1", "jti": "j1", "role": "patient",
	}))
	got, err := a.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	want := &Principal{
		Issuer: a.opts.Issuer, Subject: "dr-who", ClientID: "app-1", Role: "patient",
		Patient: "p1", FHIRUser: "Patient/p1", TokenID: "j1",
		Expiry: t0.Add(15 * time.Minute), Scopes: []Scope{{Level: "patient", Type: "Observation", Perms: "rs"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
}

// jwksServer is an identity provider's JWK Set endpoint whose keys the
// test changes, counting fetches.
type jwksServer struct {
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetches int
	srv     *httptest.Server
}

func newJWKSServer(t *testing.T, keys ...jose.JSONWebKey) *jwksServer {
	j := &jwksServer{keys: keys}
	j.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.fetches++
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: j.keys})
	}))
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jwksServer) set(keys ...jose.JSONWebKey) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys = keys
}

func (j *jwksServer) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.fetches
}

const idpIssuer = "https://idp.hospital.example/realms/clinic"

// idpClaims are valid claims from the external issuer at now.
func idpClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": idpIssuer, "aud": "doppel-fhir", "sub": "nurse-7",
		"exp": now.Add(5 * time.Minute).Unix(), "scope": "openid user/*.rs",
	}
}

func TestExternalIssuer(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecA, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecB, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubRSA := jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"}
	pubA := jose.JSONWebKey{Key: &ecA.PublicKey, KeyID: "ec-a", Use: "sig"}
	pubB := jose.JSONWebKey{Key: &ecB.PublicKey, KeyID: "ec-b", Use: "sig"}
	secret := jose.JSONWebKey{Key: []byte("shared-secret-0123456789abcdef"), KeyID: "oct-1"}
	idp := newJWKSServer(t, pubRSA, pubA, secret)
	clk := &clock{t: t0}
	a := newAuth(t, Options{
		External: []Issuer{{Issuer: idpIssuer, JWKSURI: idp.srv.URL + "/jwks", Audience: "doppel-fhir"}},
		Client:   idp.srv.Client(), Now: clk.now,
		KeysMinRefresh: time.Minute, KeysMaxAge: time.Hour,
	})
	validate := func(tok string) error {
		_, err := a.Validate(context.Background(), tok)
		return err
	}

	// An RS256 token from the hospital's provider is accepted (SEC-01).
	if err := validate(signWith(t, jose.RS256, rsaKey, "rsa-1", idpClaims(clk.now()))); err != nil {
		t.Fatalf("RS256 token: %v", err)
	}
	if err := validate(signWith(t, jose.ES256, ecA, "ec-a", idpClaims(clk.now()))); err != nil {
		t.Fatalf("ES256 token: %v", err)
	}
	if n := idp.count(); n != 1 {
		t.Fatalf("%d JWKS fetches for two tokens, want 1 (cached)", n)
	}

	// SEC-33: a key's alg binds it (RS256 key, PS256 token).
	if err := validate(signWith(t, jose.PS256, rsaKey, "rsa-1", idpClaims(clk.now()))); err == nil {
		t.Error("PS256 token accepted under an RS256 key")
	}
	// SEC-33: HS/RS confusion: HS256 with the RSA public key as the secret.
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	for _, secretBytes := range [][]byte{
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), pubDER, rsaKey.PublicKey.N.Bytes(),
	} {
		tok := rawToken(map[string]any{"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, idpClaims(clk.now()), hs256(secretBytes))
		if err := validate(tok); err == nil {
			t.Error("HS256 token signed with the RSA public key accepted")
		}
	}
	// SEC-33: a symmetric key in the JWK Set is never a verification key.
	if err := validate(rawToken(map[string]any{"alg": "HS256", "kid": "oct-1"}, idpClaims(clk.now()), hs256(secret.Key.([]byte)))); err == nil {
		t.Error("HS256 token under a JWKS oct key accepted")
	}
	// SEC-33: the provider's tokens must carry its audience for us.
	if err := validate(signWith(t, jose.ES256, ecA, "ec-a", with(idpClaims(clk.now()), map[string]any{"aud": "other-app"}))); err == nil {
		t.Error("token for another audience accepted")
	}
	// ... and a token of the instance's audience signed by the provider is not the instance's.
	if err := validate(signWith(t, jose.ES256, ecA, "ec-a", with(idpClaims(clk.now()), map[string]any{"iss": a.opts.Issuer}))); err == nil {
		t.Error("provider-signed token claiming the instance issuer accepted")
	}

	// Unknown kids fetch the set again, at most once per KeysMinRefresh.
	before := idp.count()
	for range 5 {
		if err := validate(signWith(t, jose.ES256, ecB, "ec-b", idpClaims(clk.now()))); err == nil {
			t.Fatal("token under a key the provider has not published accepted")
		}
	}
	if n := idp.count() - before; n != 0 {
		t.Errorf("%d fetches for unknown kids within KeysMinRefresh of the last, want 0", n)
	}

	// Rotation: the provider publishes B and drops A; after KeysMinRefresh,
	// a B token makes the server fetch the new set.
	idp.set(pubRSA, pubB)
	clk.add(2 * time.Minute)
	if err := validate(signWith(t, jose.ES256, ecB, "ec-b", idpClaims(clk.now()))); err != nil {
		t.Fatalf("token under the rotated-in key: %v", err)
	}
	if n := idp.count() - before; n != 1 {
		t.Errorf("%d fetches after rotation, want 1", n)
	}
	for range 3 {
		_ = validate(signWith(t, jose.ES256, ecB, "ec-unknown", idpClaims(clk.now())))
	}
	if n := idp.count() - before; n != 1 {
		t.Errorf("%d fetches after unknown kids right after a fetch, want 1 (rate-limited)", n)
	}
	// The rotated-out key A went with that fetch.
	if err := validate(signWith(t, jose.ES256, ecA, "ec-a", idpClaims(clk.now()))); err == nil {
		t.Error("token under the rotated-out key accepted")
	}
	// A key the provider drops without a rotation stays until the set is
	// KeysMaxAge old, then goes.
	idp.set(pubB)
	clk.add(30 * time.Minute)
	if err := validate(signWith(t, jose.RS256, rsaKey, "rsa-1", idpClaims(clk.now()))); err != nil {
		t.Errorf("cached key within KeysMaxAge: %v", err)
	}
	clk.add(31 * time.Minute)
	if err := validate(signWith(t, jose.RS256, rsaKey, "rsa-1", idpClaims(clk.now()))); err == nil {
		t.Error("token under a dropped key accepted after KeysMaxAge")
	}
	if n := idp.count() - before; n != 2 {
		t.Errorf("%d fetches after KeysMaxAge, want 2", n)
	}
}

// BenchmarkValidate measures the cost authentication adds to a request:
// "verify" checks the signature and claims (the first request with a
// token), "cached" finds the token validated already (the next ones).
func BenchmarkValidate(b *testing.B) {
	a := newAuth(b, Options{})
	tok, err := a.Mint(Grant{Subject: "x", Role: "clinician"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, bc := range []struct {
		name  string
		clear bool
	}{{"verify", true}, {"cached", false}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if bc.clear {
					clear(a.cache.m)
				}
				if _, err := a.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The cache of validated tokens never outlives a token (SEC-33).
func TestValidateCacheHonoursExpiry(t *testing.T) {
	clk := &clock{t: t0}
	a := newAuth(t, Options{Now: clk.now})
	tok, err := a.Mint(Grant{Subject: "x", Scope: "user/*.rs", TTL: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		after time.Duration
		ok    bool
	}{
		{0, true}, {50 * time.Second, true}, {110 * time.Second, true},
		{2*time.Minute + a.opts.Leeway - time.Second, true},
		{2*time.Minute + a.opts.Leeway + time.Second, false},
	} {
		clk.t = t0.Add(c.after)
		if _, err := a.Validate(context.Background(), tok); (err == nil) != c.ok {
			t.Errorf("at +%v: %v, want ok %v", c.after, err, c.ok)
		}
	}
}

// A provider configured by issuer alone is found through its OpenID
// configuration, whose issuer must be the configured one.
func TestExternalIssuerDiscovery(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var srv *httptest.Server
	claimedIssuer := func() string { return srv.URL }
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": claimedIssuer(), "jwks_uri": srv.URL + "/certs"})
		case "/certs":
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &ec.PublicKey, KeyID: "k1"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	claims := map[string]any{"iss": srv.URL, "aud": "doppel", "sub": "s", "exp": t0.Add(time.Minute).Unix(), "scope": "user/*.rs"}
	tok := signWith(t, jose.ES256, ec, "k1", claims)

	a := newAuth(t, Options{External: []Issuer{{Issuer: srv.URL, Audience: "doppel"}}, Client: srv.Client()})
	if _, err := a.Validate(context.Background(), tok); err != nil {
		t.Fatalf("discovered issuer: %v", err)
	}

	claimedIssuer = func() string { return "https://impostor.example" }
	b := newAuth(t, Options{External: []Issuer{{Issuer: srv.URL, Audience: "doppel"}}, Client: srv.Client()})
	if _, err := b.Validate(context.Background(), tok); err == nil {
		t.Error("accepted keys from a configuration naming another issuer")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	k, err := LoadKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		key  *Key
		opts Options
	}{
		"nothing to trust":  {nil, Options{}},
		"no audience":       {k, Options{External: []Issuer{{Issuer: "https://idp.example"}}}},
		"http jwks_uri":     {k, Options{External: []Issuer{{Issuer: "https://idp.example", Audience: "a", JWKSURI: "http://idp.example/certs"}}}},
		"http issuer alone": {k, Options{External: []Issuer{{Issuer: "http://idp.example", Audience: "a"}}}},
		"listed twice": {k, Options{External: []Issuer{
			{Issuer: "https://idp.example", Audience: "a"}, {Issuer: "https://idp.example", Audience: "b"}}}},
		"the instance's issuer": {k, Options{Issuer: "https://doppel.example", External: []Issuer{{Issuer: "https://doppel.example", Audience: "a"}}}},
	} {
		if _, err := New(c.key, c.opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
