package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/internal/fhir"
)

// Principal is who a validated token speaks for, and what it may do.
type Principal struct {
	// Issuer and Subject identify the person or client: "iss" and "sub".
	Issuer, Subject string
	// ClientID is the OAuth client the token was issued to ("azp" or
	// "client_id"), "" if the token does not say.
	ClientID string
	// Role is the role the token was minted for ("clinician"...), "" if
	// none.
	Role string
	// Patient is the launch-context patient id ("patient" claim): the
	// compartment that patient-level scopes are confined to.
	Patient string
	// FHIRUser is the "fhirUser" claim, such as "Practitioner/12".
	FHIRUser string
	// TokenID is the token's "jti", for the audit trail.
	TokenID string
	// Expiry is when the token expires.
	Expiry time.Time
	// Scopes are the token's resource scopes; scopes Doppel does not know
	// are left out.
	Scopes []Scope
}

// permission returns the SMART permission letter an interaction kind needs:
// r for reads, s for searches and histories of a type or the system, c, u,
// d for writes.
func permission(kind string) (byte, bool) {
	switch kind {
	case "read", "vread", "history-instance":
		return 'r', true
	case "search-type", "search-system", "history-type", "history-system":
		return 's', true
	case "create":
		return 'c', true
	case "update", "patch":
		return 'u', true
	case "delete":
		return 'd', true
	}
	return 0, false
}

// grant reports whether a scope gives perm on resource type typ ("" for
// the whole system, which needs a * scope), and whether every scope that
// gives it is patient-level, so that the access is confined to the
// patient's compartment. A user- or system-level grant wins over a patient
// one.
func (p *Principal) grant(perm byte, typ string) (granted, confined bool) {
	for _, s := range p.Scopes {
		if s.Query != "" || (s.Type != "*" && s.Type != typ) || strings.IndexByte(s.Perms, perm) < 0 {
			continue
		}
		if s.Level != "patient" {
			return true, false
		}
		granted, confined = true, true
	}
	return granted, confined
}

// Allows reports whether the token's scopes permit interaction kind
// ("read", "search-type", "create", "update", "patch", "delete"...) on
// resourceType, leaving aside the compartment: a caller that checks the
// entries of a transaction or the types of a search one by one also
// confines them to [Principal.Compartment].
//
// Scopes with a granular restriction (?category=...) grant nothing, because
// Doppel does not enforce the restriction yet.
func (p *Principal) Allows(kind, resourceType string) bool {
	perm, ok := permission(kind)
	if !ok {
		return false
	}
	granted, _ := p.grant(perm, resourceType)
	return granted
}

// Compartment returns the compartment the token is confined to,
// "Patient/ID", or "" when it is not confined. A token that mixes patient-
// and user-level scopes reports the patient's compartment: filtering by it
// may hide what a user scope would show, never the reverse.
func (p *Principal) Compartment() string {
	for _, s := range p.Scopes {
		if s.Level == "patient" {
			return "Patient/" + p.Patient
		}
	}
	return ""
}

// Check decides one request. kind is the FHIR interaction ("read",
// "vread", "search-type", "search-system", "history-*", "create",
// "update", "patch", "delete", "transaction", "capabilities", or
// "unknown" for a path no route serves, which is let through to its 404)
// or, for an operation, its name ("$everything", "$export", "$export-status",
// "$export-cancel", "$export-file"). typ and id are the resource type and
// id the URL names; compartment is "Patient/ID" when the caller confines
// the request to that compartment (it filters the search, or has checked
// that the resource belongs to it). A denial is a *fhir.Error with status
// 403.
//
// A patient-level grant allows a request only inside the patient's
// compartment: the Patient resource itself, or a request the caller
// confines to it. A transaction is allowed only to a token that may do
// everything unconfined (*.cruds at user or system level); a caller that
// checks each entry with [Principal.Allows] instead need not ask Check.
// $everything needs read and search on every type (*.rs); $export and its
// status, cancel and file requests need the same, unconfined.
func (p *Principal) Check(kind, typ, id, compartment string) error {
	switch kind {
	case "capabilities", "unknown":
		return nil
	case "transaction":
		for _, perm := range []byte("cruds") {
			if g, conf := p.grant(perm, "*"); !g || conf {
				return forbidden("a transaction or batch needs user/*.cruds or system/*.cruds")
			}
		}
		return nil
	case "$everything", "$export", "$export-status", "$export-cancel", "$export-file":
		r, rConf := p.grant('r', "*")
		s, sConf := p.grant('s', "*")
		if !r || !s {
			return forbidden(kind + " needs read and search on every type (*.rs)")
		}
		if (rConf || sConf) && (kind != "$everything" || compartment != p.Compartment()) {
			return forbidden("the token is confined to one patient's compartment")
		}
		return nil
	}
	perm, ok := permission(kind)
	if !ok {
		return forbidden("interaction " + clip(kind) + " is not covered by any scope")
	}
	granted, confined := p.grant(perm, typ)
	if !granted {
		what := typ
		if what == "" {
			what = "every type (*)"
		}
		return forbidden("the token's scopes do not allow " + kind + " on " + what)
	}
	if confined && compartment != p.Compartment() && (typ != "Patient" || id != p.Patient) {
		return forbidden("the token is confined to one patient's compartment")
	}
	return nil
}

// forbidden is a 403 denial.
func forbidden(diag string) *fhir.Error {
	return &fhir.Error{Status: http.StatusForbidden, Issues: []fhir.Issue{{
		Severity: "error", Code: "forbidden", Diagnostics: "auth: " + diag,
	}}}
}

// unauthorized is a 401 denial; code is an issue type: "login" (no
// credentials), "unknown" (a token that is not acceptable) or "expired".
func unauthorized(code, diag string) *fhir.Error {
	return &fhir.Error{Status: http.StatusUnauthorized, Issues: []fhir.Issue{{
		Severity: "error", Code: code, Diagnostics: "auth: " + diag,
	}}}
}

// noToken is the denial of a request without credentials.
func noToken() *fhir.Error {
	return unauthorized("login", "no bearer token: send Authorization: Bearer TOKEN")
}

// Challenge returns the WWW-Authenticate header value (RFC 6750 §3) for a
// denial of this package: a 401 without a token asks for one, a 401 for a
// bad token says invalid_token, a 403 says insufficient_scope. It returns
// "" for other errors.
func Challenge(err error) string {
	var fe *fhir.Error
	if !errors.As(err, &fe) || len(fe.Issues) == 0 {
		return ""
	}
	switch fe.Issues[0].Code {
	case "login":
		return `Bearer realm="doppel"`
	case "unknown", "expired":
		return `Bearer realm="doppel", error="invalid_token"`
	case "forbidden":
		return `Bearer realm="doppel", error="insufficient_scope"`
	}
	return ""
}

// ctxKey is the context key of a request's authentication result.
type ctxKey struct{}

// result is what authentication finds, a principal or why there is none,
// found when first asked for.
type result struct {
	once    sync.Once
	resolve func() (*Principal, error) // nil once resolved
	p       *Principal
	err     error
}

func (res *result) get() (*Principal, error) {
	res.once.Do(func() {
		if res.resolve != nil {
			res.p, res.err = res.resolve()
			res.resolve = nil
		}
	})
	return res.p, res.err
}

// NewContext returns ctx carrying p as the authenticated principal.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, &result{p: p})
}

// FromContext returns the principal [Authenticator.Middleware] (or
// [NewContext]) put in ctx, or the 401 *fhir.Error that says why there is
// none: no token, or an invalid one.
func FromContext(ctx context.Context) (*Principal, error) {
	res, ok := ctx.Value(ctxKey{}).(*result)
	if !ok {
		return nil, noToken()
	}
	return res.get()
}
