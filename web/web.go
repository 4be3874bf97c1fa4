package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/internal/auth"
)

//go:embed static
var embedded embed.FS

// Authenticator validates the tokens people sign in with and mints the
// local administrator's (an *auth.Authenticator).
type Authenticator interface {
	Validate(ctx context.Context, token string) (*auth.Principal, error)
	Mint(g auth.Grant) (string, error)
}

// Options configure a [Dashboard]. Auth is required; every other field
// has the default its comment gives.
type Options struct {
	// Auth validates tokens and mints the local administrator's.
	Auth Authenticator
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// SessionTTL is how long a session lasts; never past its token's
	// expiry. Default 12 h.
	SessionTTL time.Duration
	// CodeTTL is how long a one-time sign-in code may be used. Default
	// 15 min.
	CodeTTL time.Duration
	// AdminSubject is the subject of the tokens minted for the one-time
	// link. Default "local-admin".
	AdminSubject string
	// MaxSessions bounds the sessions held at once; sign-in is refused
	// (503) past it. Default 10,000.
	MaxSessions int
}

// Defaults of Options.
const (
	DefaultSessionTTL  = 12 * time.Hour
	DefaultCodeTTL     = 15 * time.Minute
	DefaultMaxSessions = 10000
)

// Dashboard serves the dashboard's pages, static files and sign-in
// endpoints, and holds the browser sessions. It is safe for concurrent
// use.
type Dashboard struct {
	opts   Options
	static fs.FS
	mux    *http.ServeMux

	mu       sync.Mutex
	codes    map[string]time.Time // sha256 of a one-time code -> expiry
	sessions map[string]*session  // sha256 of the cookie value -> session
}

// New returns a Dashboard.
func New(opts Options) (*Dashboard, error) {
	if opts.Auth == nil {
		return nil, errors.New("web: Options.Auth is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.CodeTTL <= 0 {
		opts.CodeTTL = DefaultCodeTTL
	}
	if opts.AdminSubject == "" {
		opts.AdminSubject = "local-admin"
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	static, err := fs.Sub(embedded, "static")
	if err != nil {
		return nil, err
	}
	d := &Dashboard{opts: opts, static: static, codes: map[string]time.Time{}, sessions: map[string]*session{}}
	d.mux = http.NewServeMux()
	files := http.FileServerFS(static)
	d.mux.Handle("GET /static/", http.StripPrefix("/static", files))
	d.mux.HandleFunc("GET /signin", d.signInPage)
	d.mux.HandleFunc("POST /signin", d.signInToken)
	d.mux.HandleFunc("POST /signout", d.signOut)
	d.mux.HandleFunc("GET /session", d.sessionInfo)
	d.mux.HandleFunc("GET /{$}", d.app)
	d.mux.HandleFunc("/", d.notFound)
	return d, nil
}

// contentSecurityPolicy lets the pages load their own scripts, styles,
// images and data and nothing else: no inline script or style, no
// framing, no plugin, forms only to the server itself.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ServeHTTP serves the dashboard. The request must have passed
// [Dashboard.Sessions] and the authentication middleware, so that
// auth.FromContext gives the session's principal.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	d.mux.ServeHTTP(w, r)
}

// app serves the single page of the dashboard to a signed-in browser and
// sends anyone else to the sign-in page.
func (d *Dashboard) app(w http.ResponseWriter, r *http.Request) {
	if _, err := auth.FromContext(r.Context()); err != nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	d.page(w, r, "index.html", http.StatusOK)
}

// notFound answers paths the dashboard does not serve: the sign-in page
// for a browser that has not signed in, else 404.
func (d *Dashboard) notFound(w http.ResponseWriter, r *http.Request) {
	if _, err := auth.FromContext(r.Context()); err != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	http.Error(w, "web: no page at this path", http.StatusNotFound)
}

// page sends one of the HTML pages.
func (d *Dashboard) page(w http.ResponseWriter, r *http.Request, name string, status int) {
	b, err := fs.ReadFile(d.static, name)
	if err != nil {
		http.Error(w, "web: page missing from the build", http.StatusInternalServerError)
		return
	}
	if r.Method == http.MethodHead {
		b = nil
	}
	send(w, status, "text/html; charset=utf-8", b)
}

// writeJSON sends v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "web: cannot encode the answer", http.StatusInternalServerError)
		return
	}
	send(w, status, "application/json", b)
}

// send sends a body that no browser or proxy may store: every page and
// answer of the dashboard is about a signed-in person or patient.
func send(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// problem is the JSON body of an error of the sign-in endpoints.
type problem struct {
	Error string `json:"error"`
}
