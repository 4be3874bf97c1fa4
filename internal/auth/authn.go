package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is an external OpenID Connect identity provider (a hospital's)
// whose access tokens the server accepts.
type Issuer struct {
	// Issuer is the "iss" its tokens carry, exactly
	// ("https://idp.example.org/realms/clinic").
	Issuer string
	// JWKSURI is the https URL of its JWK Set. Default: the jwks_uri of
	// its OpenID configuration (Issuer + /.well-known/openid-configuration,
	// whose issuer must match), read on first use.
	JWKSURI string
	// Audience is the "aud" its tokens for this server carry.
	Audience string
}

// Options configure an [Authenticator]. The zero value is valid with a
// [Key].
type Options struct {
	// Issuer is the "iss" of the tokens the instance key mints. Default:
	// "urn:doppel:" followed by the key id, so that the tokens of another
	// instance are told apart by issuer.
	Issuer string
	// Audience is the "aud" of the tokens the instance key mints and the
	// audience they must carry. Default: Issuer.
	Audience string
	// External lists the identity providers whose tokens are accepted too.
	External []Issuer
	// Client fetches external JWK Sets. Default: a client with a 10 s
	// timeout.
	Client *http.Client
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Leeway is the clock skew allowed on exp, nbf and iat. Default: 60 s.
	Leeway time.Duration
	// KeysMinRefresh is the least time between two fetches of one JWK Set,
	// however many tokens name unknown key ids. Default: 1 min.
	KeysMinRefresh time.Duration
	// KeysMaxAge is how long a fetched JWK Set is used before it is fetched
	// again, so that revoked keys go. Default: 1 h.
	KeysMaxAge time.Duration
	// PublicURL is the server's external base URL ("https://doppel.example.org"),
	// for the URLs /.well-known publishes. Default: from each request.
	PublicURL string
}

// Authenticator validates bearer tokens and mints the instance's own. It
// is safe for concurrent use.
type Authenticator struct {
	key    *Key // nil: external issuers only
	opts   Options
	remote map[string]*remoteKeys // by issuer; read-only after New
	cache  tokenCache
}

// Algorithms are the signature algorithms accepted; alg "none" and the HMAC
// algorithms (HS256...) are not among them, so a token signed with a
// public key as an HMAC secret fails.
func Algorithms() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{
		jose.EdDSA, jose.ES256, jose.ES384, jose.ES512,
		jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	}
}

// maxTokenBytes bounds a token; real ones are well under 4 kB.
const maxTokenBytes = 16 << 10

// New returns an Authenticator for tokens signed by key (nil for none)
// and by the external issuers of opts.
func New(key *Key, opts Options) (*Authenticator, error) {
	if key == nil && len(opts.External) == 0 {
		return nil, errors.New("auth: no instance key and no external issuer: no token could be valid")
	}
	if key != nil && opts.Issuer == "" {
		opts.Issuer = "urn:doppel:" + key.ID()
	}
	if opts.Audience == "" {
		opts.Audience = opts.Issuer
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Leeway == 0 {
		opts.Leeway = time.Minute
	}
	if opts.KeysMinRefresh == 0 {
		opts.KeysMinRefresh = time.Minute
	}
	if opts.KeysMaxAge == 0 {
		opts.KeysMaxAge = time.Hour
	}
	a := &Authenticator{key: key, opts: opts, remote: map[string]*remoteKeys{}}
	for _, is := range opts.External {
		switch {
		case is.Issuer == "" || is.Audience == "":
			return nil, fmt.Errorf("auth: external issuer %q: issuer and audience are required", is.Issuer)
		case is.JWKSURI == "" && !isHTTPS(is.Issuer):
			return nil, fmt.Errorf("auth: external issuer %q: not an https URL, so its configuration cannot be discovered: give its jwks_uri", is.Issuer)
		case is.JWKSURI != "" && !isHTTPS(is.JWKSURI):
			return nil, fmt.Errorf("auth: external issuer %q: jwks_uri %q is not an https URL", is.Issuer, is.JWKSURI)
		case key != nil && is.Issuer == opts.Issuer:
			return nil, fmt.Errorf("auth: external issuer %q is the instance's own", is.Issuer)
		case a.remote[is.Issuer] != nil:
			return nil, fmt.Errorf("auth: external issuer %q listed twice", is.Issuer)
		}
		a.remote[is.Issuer] = &remoteKeys{cfg: is, opts: &a.opts, jwksURI: is.JWKSURI, keys: map[string]jose.JSONWebKey{}}
	}
	return a, nil
}

// isHTTPS reports whether s is an absolute https URL.
func isHTTPS(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// Authenticate validates the bearer token of r's Authorization header.
// Errors are 401 *fhir.Error values.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return nil, noToken()
	}
	scheme, token, ok := strings.Cut(h[0], " ")
	if len(h) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, unauthorized("login", "the Authorization header must be one \"Bearer TOKEN\"")
	}
	return a.Validate(r.Context(), strings.TrimSpace(token))
}

// Middleware makes each request that reaches next carry its
// authentication in its context, for [FromContext]. It rejects nothing:
// the access check decides, so that unauthenticated endpoints
// (/fhir/metadata, /.well-known/*, health checks) stay reachable. The
// token is validated when FromContext first asks, so requests that never
// ask (those a rate limit turns away, the open endpoints) cost no
// signature check.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := &result{resolve: func() (*Principal, error) { return a.Authenticate(r) }}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, res)))
	})
}

// claims are the token claims Doppel reads beyond the registered ones.
type claims struct {
	Scope    string     `json:"scope,omitempty"`
	Scp      stringList `json:"scp,omitempty"` // Okta, Entra ID
	Patient  string     `json:"patient,omitempty"`
	FHIRUser string     `json:"fhirUser,omitempty"`
	Role     string     `json:"role,omitempty"`
	AZP      string     `json:"azp,omitempty"`
	ClientID string     `json:"client_id,omitempty"`
}

// stringList is a claim that is a space-separated string or an array of
// strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = strings.Fields(s)
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return errors.New("auth: scp is neither a string nor an array of strings")
	}
	*l = ss
	return nil
}

// fhirID is the syntax of a FHIR resource id.
var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// Validate checks a token: the signature, with an allowed algorithm and
// the key its issuer published under its kid; iss; aud; exp (required),
// nbf and iat with the leeway; a subject; a scope; and a patient claim
// when a scope is patient-level. It returns the token's principal, which
// callers must not modify (requests with the same token share it). Errors
// are 401 *fhir.Error values whose diagnostics say which check failed.
func (a *Authenticator) Validate(ctx context.Context, token string) (*Principal, error) {
	if len(token) > maxTokenBytes {
		return nil, unauthorized("unknown", "token too long")
	}
	now := a.opts.Now()
	if p, ok := a.cache.get(token, now); ok {
		return p, nil
	}
	tok, err := jwt.ParseSigned(token, Algorithms())
	if err != nil {
		return nil, unauthorized("unknown", "not a JWS-signed JWT with an allowed algorithm (EdDSA, ES256/384/512, RS256/384/512, PS256/384/512)")
	}
	h := tok.Headers[0]
	if h.KeyID == "" {
		return nil, unauthorized("unknown", "token header has no kid")
	}
	var reg jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&reg); err != nil {
		return nil, unauthorized("unknown", "token claims are not a JSON object of JWT claims")
	}
	var key jose.JSONWebKey
	audience := a.opts.Audience
	switch rk := a.remote[reg.Issuer]; {
	case a.key != nil && reg.Issuer == a.opts.Issuer:
		if h.KeyID != a.key.ID() {
			return nil, unauthorized("unknown", "unknown kid")
		}
		key = a.key.pub
	case rk != nil:
		if key, err = rk.key(ctx, h.KeyID); err != nil {
			return nil, err
		}
		audience = rk.cfg.Audience
	default:
		return nil, unauthorized("unknown", "unknown token issuer")
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return nil, unauthorized("unknown", "token algorithm does not match its key's")
	}
	var ext claims
	if err := tok.Claims(key.Key, &reg, &ext); err != nil {
		return nil, unauthorized("unknown", "bad token signature")
	}
	if reg.Expiry == nil {
		return nil, unauthorized("unknown", "token has no exp")
	}
	err = reg.ValidateWithLeeway(jwt.Expected{
		Issuer:      reg.Issuer, // chose the key above
		AnyAudience: jwt.Audience{audience},
		Time:        now,
	}, a.opts.Leeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return nil, unauthorized("expired", "token expired")
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, unauthorized("unknown", "token not valid yet (nbf or iat in the future)")
	case errors.Is(err, jwt.ErrInvalidAudience):
		return nil, unauthorized("unknown", "token is for another audience")
	case err != nil:
		return nil, unauthorized("unknown", "invalid token claims")
	}
	if reg.Subject == "" {
		return nil, unauthorized("unknown", "token has no sub")
	}
	words := append(strings.Fields(ext.Scope), ext.Scp...)
	if len(words) == 0 {
		return nil, unauthorized("unknown", "token has no scope")
	}
	scopes, _ := parseScopeList(strings.Join(words, " "), false)
	p := &Principal{
		Issuer: reg.Issuer, Subject: reg.Subject, Role: ext.Role,
		Patient: ext.Patient, FHIRUser: ext.FHIRUser, TokenID: reg.ID,
		Expiry: reg.Expiry.Time(), Scopes: scopes, ClientID: ext.AZP,
	}
	if p.ClientID == "" {
		p.ClientID = ext.ClientID
	}
	if err := checkPatient(p); err != nil {
		return nil, unauthorized("unknown", err.Error())
	}
	a.cache.put(token, p, now, p.Expiry.Add(a.opts.Leeway))
	return p, nil
}

// checkPatient checks the patient of p: a valid FHIR id, present when a
// scope is patient-level (SMART: the token response SHALL then include
// patient).
func checkPatient(p *Principal) error {
	if p.Patient != "" && !fhirID.MatchString(p.Patient) {
		return errors.New("patient is not a FHIR id")
	}
	if p.Patient == "" && p.Compartment() != "" {
		return errors.New("patient-level scopes need a patient (launch context)")
	}
	return nil
}

// Grant is what [Authenticator.Mint] puts in a token.
type Grant struct {
	// Subject names the person or client (sub); required.
	Subject string
	// Scope is a space-separated list of SMART scopes; v1 forms are
	// written in v2 form.
	Scope string
	// Role adds the scopes of a role (see [RoleScopes]) and is recorded in
	// the token.
	Role string
	// Patient is the launch-context patient id; required with
	// patient-level scopes.
	Patient string
	// TTL is the token's lifetime. Default: 15 min.
	TTL time.Duration
}

// Mint returns a token signed with the instance key.
func (a *Authenticator) Mint(g Grant) (string, error) {
	if a.key == nil {
		return "", errors.New("auth: mint: no instance key")
	}
	if g.Subject == "" {
		return "", errors.New("auth: mint: a subject is required")
	}
	if g.TTL < 0 {
		return "", errors.New("auth: mint: negative lifetime")
	}
	if g.TTL == 0 {
		g.TTL = 15 * time.Minute
	}
	list := g.Scope
	if g.Role != "" {
		rs, ok := RoleScopes(g.Role)
		if !ok {
			return "", fmt.Errorf("auth: mint: unknown role %q (admin, clinician, researcher, patient)", g.Role)
		}
		list += " " + rs
	}
	scopes, err := parseScopeList(list, true)
	if err != nil {
		return "", err
	}
	if len(scopes) == 0 {
		return "", errors.New("auth: mint: no resource scope (such as user/*.rs)")
	}
	if err := checkPatient(&Principal{Patient: g.Patient, Scopes: scopes}); err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	words := make([]string, 0, len(scopes))
	for _, w := range strings.Fields(list) {
		if isContextScope(w) {
			words = append(words, w)
		}
	}
	for _, s := range scopes {
		words = append(words, s.String())
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:]) // crypto/rand.Read never fails
	now := a.opts.Now()
	sig, err := a.key.signer()
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	return jwt.Signed(sig).Claims(jwt.Claims{
		Issuer: a.opts.Issuer, Subject: g.Subject, Audience: jwt.Audience{a.opts.Audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(g.TTL)), ID: hex.EncodeToString(jti[:]),
	}).Claims(claims{Scope: strings.Join(words, " "), Patient: g.Patient, Role: g.Role}).Serialize()
}
