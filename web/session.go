package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/fhir"
)

// CookieName is the name of the session cookie.
const CookieName = "doppel_session"

// CSRFHeader is the header that carries a session's CSRF token on every
// request that changes state (any method but GET, HEAD and OPTIONS).
const CSRFHeader = "X-CSRF-Token"

// maxSignInBytes bounds the body of POST /signin: a token and its JSON.
const maxSignInBytes = 32 << 10

// session is one signed-in browser.
type session struct {
	token  string          // the bearer token its requests carry
	csrf   string          // the CSRF token of its state-changing requests
	expiry time.Time       // never past the token's
	p      *auth.Principal // the token's principal, for GET /session
}

// sessionKey is the context key of the request's *session.
type sessionKey struct{}

// random returns 32 random bytes in hex.
func random() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// digest is the map key of a secret: a memory dump of the maps holds no
// usable code or cookie.
func digest(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return string(h[:])
}

// SignInLink returns a one-time sign-in link for the local administrator,
// base + "/signin?code=...": opened within Options.CodeTTL, once, it
// starts an administrator session. base is the server's URL
// ("http://127.0.0.1:8080").
func (d *Dashboard) SignInLink(base string) string {
	code := random()
	now := d.opts.Now()
	d.mu.Lock()
	for k, exp := range d.codes {
		if !now.Before(exp) {
			delete(d.codes, k)
		}
	}
	d.codes[digest(code)] = now.Add(d.opts.CodeTTL)
	d.mu.Unlock()
	return strings.TrimSuffix(base, "/") + "/signin?code=" + code
}

// takeCode consumes a one-time code: true if it was issued and has not
// expired. A code works once, whatever the outcome.
func (d *Dashboard) takeCode(code string) bool {
	k := digest(code)
	d.mu.Lock()
	defer d.mu.Unlock()
	exp, ok := d.codes[k]
	delete(d.codes, k)
	return ok && d.opts.Now().Before(exp)
}

// Sessions puts the browser sessions in front of next: a request without
// an Authorization header whose session cookie is valid is sent on with
// the session's token as its bearer token, and with the session in its
// context; one that changes state must carry the session's CSRF token in
// [CSRFHeader], else it is refused with 403. A request with its own
// Authorization header (an API client) passes as it is.
func (d *Dashboard) Sessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Values("Authorization")) > 0 {
			next.ServeHTTP(w, r)
			return
		}
		s := d.lookup(r)
		if s == nil {
			next.ServeHTTP(w, r)
			return
		}
		if !safeMethod(r.Method) && subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(s.csrf)) != 1 {
			writeJSON(w, http.StatusForbidden, problem{"missing or wrong " + CSRFHeader + " header: reload the page"})
			return
		}
		r2 := r.Clone(context.WithValue(r.Context(), sessionKey{}, s))
		r2.Header.Set("Authorization", "Bearer "+s.token)
		next.ServeHTTP(w, r2)
	})
}

// safeMethod reports whether a method only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// lookup returns the live session of r's cookie, nil if none; an expired
// one is forgotten.
func (d *Dashboard) lookup(r *http.Request) *session {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	k := digest(c.Value)
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sessions[k]
	if s != nil && !d.opts.Now().Before(s.expiry) {
		delete(d.sessions, k)
		return nil
	}
	return s
}

// start opens a session for token and sets its cookie.
func (d *Dashboard) start(w http.ResponseWriter, r *http.Request, token string, p *auth.Principal) error {
	now := d.opts.Now()
	exp := now.Add(d.opts.SessionTTL)
	if p.Expiry.Before(exp) {
		exp = p.Expiry
	}
	id := random()
	d.mu.Lock()
	for k, s := range d.sessions {
		if !now.Before(s.expiry) {
			delete(d.sessions, k)
		}
	}
	full := len(d.sessions) >= d.opts.MaxSessions
	if !full {
		d.sessions[digest(id)] = &session{token: token, csrf: random(), expiry: exp, p: p}
	}
	d.mu.Unlock()
	if full {
		return errors.New("web: too many sessions open; try again later")
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: id, Path: "/", Expires: exp,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	return nil
}

// signInPage serves GET /signin: with ?code=, the exchange of a one-time
// code for an administrator session (then to the patient list); without,
// or with a code that is used or expired, the sign-in page, which says so.
func (d *Dashboard) signInPage(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	if code == "" {
		d.page(w, r, "signin.html", http.StatusOK)
		return
	}
	if !d.takeCode(code) {
		d.page(w, r, "signin.html", http.StatusUnauthorized)
		return
	}
	token, err := d.opts.Auth.Mint(auth.Grant{Subject: d.opts.AdminSubject, Role: "admin", TTL: d.opts.SessionTTL})
	if err != nil {
		http.Error(w, "web: cannot mint the administrator's token", http.StatusInternalServerError)
		return
	}
	p, err := d.opts.Auth.Validate(r.Context(), token)
	if err != nil {
		http.Error(w, "web: the minted token does not validate", http.StatusInternalServerError)
		return
	}
	if err := d.start(w, r, token, p); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signInRequest is the body of POST /signin.
type signInRequest struct {
	Token string `json:"token"`
}

// signInToken serves POST /signin: {"token": "..."} starts a session
// with the token's scopes. The body must be JSON and a browser's Origin,
// if sent, this server, so another site cannot sign a browser in to an
// account of its choosing.
func (d *Dashboard) signInToken(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, problem{"send the token as JSON: {\"token\": \"...\"}"})
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) {
		writeJSON(w, http.StatusForbidden, problem{"sign-in from another site is refused"})
		return
	}
	token, err := decodeSignIn(http.MaxBytesReader(w, r.Body, maxSignInBytes))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, problem{err.Error()})
		return
	}
	p, err := d.opts.Auth.Validate(r.Context(), token)
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, problem{"the token was refused: " + diagnostics(err)})
		return
	}
	if err := d.start(w, r, token, p); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, problem{err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decodeSignIn reads the token of a POST /signin body.
func decodeSignIn(body io.Reader) (string, error) {
	var req signInRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", errors.New("web: the body must be {\"token\": \"...\"} (at most 32 KiB)")
	}
	if dec.More() {
		return "", errors.New("web: the body must hold one JSON object")
	}
	req.Token = strings.TrimSpace(req.Token)
	if req.Token == "" {
		return "", errors.New("web: the token is empty")
	}
	return req.Token, nil
}

// diagnostics is what an authentication error says to the user: the
// check that failed, nothing more.
func diagnostics(err error) string {
	var fe *fhir.Error
	if errors.As(err, &fe) && len(fe.Issues) > 0 && fe.Issues[0].Diagnostics != "" {
		return fe.Issues[0].Diagnostics
	}
	return "invalid token"
}

// sameOrigin reports whether an Origin header names the server r was sent
// to.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && u.Host == r.Host
}

// signOut serves POST /signout (behind Sessions, so with the CSRF
// token): the session ends and its cookie is cleared.
func (d *Dashboard) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		d.mu.Lock()
		delete(d.sessions, digest(c.Value))
		d.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// SessionInfo is the answer of GET /session: who is signed in and what
// the pages may offer them.
type SessionInfo struct {
	Subject string    `json:"subject"`
	Role    string    `json:"role,omitempty"`
	Patient string    `json:"patient,omitempty"` // the one patient a patient-level session sees
	Expires time.Time `json:"expires"`
	CSRF    string    `json:"csrf"`  // for CSRFHeader
	Audit   bool      `json:"audit"` // may search AuditEvent system-wide
	// Hospital: may run the hospital forecast (POST /twin/hospital/forecast),
	// which reads and searches every Encounter and Location.
	Hospital bool `json:"hospital"`
}

// sessionInfo serves GET /session.
func (d *Dashboard) sessionInfo(w http.ResponseWriter, r *http.Request) {
	s, ok := r.Context().Value(sessionKey{}).(*session)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, problem{"not signed in"})
		return
	}
	p := s.p
	comp := p.Compartment()
	writeJSON(w, http.StatusOK, SessionInfo{
		Subject: p.Subject, Role: p.Role, Patient: strings.TrimPrefix(comp, "Patient/"), Expires: s.expiry, CSRF: s.csrf,
		Audit: comp == "" && p.Allows("search-type", "AuditEvent"),
		Hospital: comp == "" && p.Allows("read", "Encounter") && p.Allows("search-type", "Encounter") &&
			p.Allows("read", "Location") && p.Allows("search-type", "Location"),
	})
}
