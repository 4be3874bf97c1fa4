package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/twin"
)

// Access is what the writer of a Subscription may read (an
// *auth.Principal is one): the engine lets a subscription see only what
// its writer could search.
type Access interface {
	Allows(kind, resourceType string) bool
	Compartment() string // "Patient/ID" when confined to a compartment, else ""
}

// Twins are the live twins' event streams (a *twin.Manager).
type Twins interface {
	Subscribe(patient string, buf int) (<-chan twin.Event, func())
}

// Resources are the engine's own reads and writes of Subscriptions, for
// their status: a *fhirops.Service on the store not wrapped by
// [Engine.Wrap] (the engine's writes are not events).
type Resources interface {
	Read(ctx context.Context, typ, id string) (store.Version, error)
	Update(ctx context.Context, typ, id string, body []byte, ifMatch string) (fhirops.Outcome, error)
}

// Options configure an Engine. The zero value of each field but BaseURL
// has the default its comment gives.
type Options struct {
	// BaseURL is the service base that notifications name resources by
	// ("https://fhir.example.org/fhir"). Required.
	BaseURL string
	// AllowHosts are the host names (or IP addresses) rest-hook endpoints
	// may have; "*" allows every host. Default none: rest-hook
	// subscriptions are refused, since the server would otherwise post to
	// any address a client names, its own network included (SSRF).
	AllowHosts []string
	// AccessOf returns the Access of the request that writes a
	// Subscription; false: not restricted (the server's own writes,
	// import, a server without authentication). Default: never restricted.
	AccessOf func(ctx context.Context) (Access, bool)
	// Twins serve the twin-event topic. Default nil: no twin events.
	Twins Twins
	// Client posts rest-hook notifications. Default: an http.Client that
	// follows no redirect.
	Client *http.Client
	// Now is the clock of notifications. Default time.Now.
	Now func() time.Time
	// Retry are the waits between the attempts to deliver one
	// notification. Default 1 s, 5 s, 30 s (four attempts).
	Retry []time.Duration
	// MaxFailures is how many notifications in a row may fail (all their
	// attempts) before the subscription is turned off; after the first
	// its status is error. Default 5.
	MaxFailures int
	// Timeout bounds one rest-hook POST when the subscription gives no
	// backport-timeout. Default 10 s.
	Timeout time.Duration
	// MaxCount is how many events one notification carries at most when
	// the subscription gives no backport-max-count. Default 100.
	MaxCount int
	// Queue is how many events wait per subscription; more are dropped
	// (logged; the gap shows in the event numbers). Default 1024.
	Queue int
	// TokenTTL is how long a websocket binding token is valid. Default 5 min.
	TokenTTL time.Duration
	// WebSocketURL is the websocket endpoint clients bind at, as
	// $get-ws-binding-token names it. Default: BaseURL's host with path
	// /subscriptions/websocket (ws: or wss:).
	WebSocketURL string
	// Logger logs without patient data. Default: discard.
	Logger *slog.Logger
}

// Engine matches committed writes and twin events against the stored
// Subscriptions and delivers their notifications. Wrap the store the
// FHIR API writes to with [Engine.Wrap]; call [Engine.Run].
type Engine struct {
	opts    Options
	st      store.Store // reads (matching, loading) and job records (event counts)
	reg     *search.Registry
	res     Resources
	changes chan []store.Version
	stopped chan struct{} // closed when Run returns: websocket clients are let go

	mu      sync.Mutex
	workers map[string]*worker
	tokens  map[string]binding
	conns   map[string]map[*wsConn]struct{} // bound websocket connections by subscription id
}

// jobKind is the kind of the store job that keeps a subscription's event
// count across restarts.
const jobKind = "subscription"

// New returns an Engine that reads st with reg and updates Subscriptions'
// status through res.
func New(st store.Store, reg *search.Registry, res Resources, opts Options) (*Engine, error) {
	if opts.BaseURL == "" {
		return nil, errors.New("subscription: Options.BaseURL is required")
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.AccessOf == nil {
		opts.AccessOf = func(context.Context) (Access, bool) { return nil, false }
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Retry == nil {
		opts.Retry = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 5
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxCount <= 0 {
		opts.MaxCount = 100
	}
	if opts.Queue <= 0 {
		opts.Queue = 1024
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 5 * time.Minute
	}
	if opts.WebSocketURL == "" {
		u, err := url.Parse(opts.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("subscription: Options.BaseURL: %w", err)
		}
		u.Scheme = map[string]string{"https": "wss"}[u.Scheme]
		if u.Scheme == "" {
			u.Scheme = "ws"
		}
		u.Path = "/subscriptions/websocket"
		opts.WebSocketURL = u.String()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{
		opts: opts, st: st, reg: reg, res: res,
		changes: make(chan []store.Version, 4096),
		stopped: make(chan struct{}),
		workers: map[string]*worker{},
		tokens:  map[string]binding{},
		conns:   map[string]map[*wsConn]struct{}{},
	}, nil
}

// Run loads the stored Subscriptions that are not off, then matches the
// writes Wrap reports until ctx is done; it then stops the deliveries
// and saves each subscription's event count.
func (e *Engine) Run(ctx context.Context) error {
	defer close(e.stopped)
	if err := e.load(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while loading
		}
		return err
	}
	for {
		select {
		case <-ctx.Done():
			e.mu.Lock()
			ws := slices.Collect(maps.Values(e.workers))
			e.mu.Unlock()
			var errs []error
			for _, w := range ws {
				w.stop()
				errs = append(errs, e.saveCount(context.WithoutCancel(ctx), w))
			}
			return errors.Join(errs...)
		case vs := <-e.changes:
			for _, v := range vs {
				e.dispatch(ctx, v)
			}
		}
	}
}

// load starts a worker for every stored Subscription that is requested,
// active or in error, with its saved event count; a requested one gets
// its handshake.
func (e *Engine) load(ctx context.Context) error {
	counts := map[string]int64{}
	jobs, err := e.st.ListJobs(ctx)
	if err != nil {
		return fmt.Errorf("subscription: %w", err)
	}
	for _, j := range jobs {
		if j.Kind == jobKind {
			var c jobState
			if json.Unmarshal(j.Result, &c) == nil {
				counts[strings.TrimPrefix(j.ID, jobKind+"-")] = c.Events
			}
		}
	}
	q, _, err := e.reg.ParseQuery("Subscription", url.Values{"status": {"requested,active,error"}}, true, search.Limits{})
	if err != nil {
		return fmt.Errorf("subscription: %w", err)
	}
	q.Count = 500
	var at int64
	for {
		page, err := e.st.Search(ctx, q, at)
		if err != nil {
			return fmt.Errorf("subscription: loading: %w", err)
		}
		at = page.T
		for _, v := range page.Matches {
			s, err := Decode(v.Body)
			if err != nil {
				e.opts.Logger.Warn("subscription: a stored Subscription cannot be read; skipped", "id", v.ID, "err", err)
				continue
			}
			s.ID = v.ID
			e.start(ctx, s, v.VersionID, counts[v.ID], s.Status == "requested")
		}
		if len(page.Matches) < q.Count {
			return nil
		}
		q.Offset += len(page.Matches)
	}
}

// dispatch handles one committed version: a Subscription written or
// deleted changes the workers; another resource goes to the workers of
// its type.
func (e *Engine) dispatch(ctx context.Context, v store.Version) {
	if v.Type == "Subscription" {
		e.mu.Lock()
		old := e.workers[v.ID]
		if old != nil && !v.Deleted && v.VersionID <= old.version {
			e.mu.Unlock()
			return // loaded already (a write committed while Run was loading)
		}
		delete(e.workers, v.ID)
		e.mu.Unlock()
		var count int64
		if old != nil {
			old.stop()
			count = old.count()
		}
		s, err := Decode(v.Body)
		if v.Deleted {
			if err := e.st.DeleteJob(ctx, jobKind+"-"+v.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				e.opts.Logger.Warn("subscription: deleting the event count failed", "id", v.ID, "err", err)
			}
			return
		}
		if err != nil || s.Status == "off" {
			if old != nil {
				if err := e.saveCount(ctx, old); err != nil {
					e.opts.Logger.Warn("subscription: saving the event count failed", "id", v.ID, "err", err)
				}
			}
			return
		}
		s.ID = v.ID
		e.start(ctx, s, v.VersionID, count, true)
		return
	}
	if v.Deleted {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range e.workers {
		if w.sub.Topic != TopicResource || w.sub.Type != v.Type || w.ended() {
			continue
		}
		select {
		case w.in <- v:
		default:
			e.opts.Logger.Warn("subscription: queue full, an event is dropped", "id", w.sub.ID)
		}
	}
}

// start runs a worker for s, version version of its resource.
func (e *Engine) start(ctx context.Context, s Subscription, version, count int64, handshake bool) {
	wctx, cancel := context.WithCancel(ctx)
	w := &worker{e: e, sub: s, version: version, in: make(chan store.Version, e.opts.Queue), cancel: cancel, done: make(chan struct{}),
		status: s.Status, events: count}
	e.mu.Lock()
	e.workers[s.ID] = w
	e.mu.Unlock()
	go w.run(wctx, handshake)
}

// jobState is the Result of a subscription's job record.
type jobState struct {
	Events int64 `json:"events"`
}

// saveCount records w's event count in the store's job table.
func (e *Engine) saveCount(ctx context.Context, w *worker) error {
	res, _ := json.Marshal(jobState{Events: w.count()})
	now := e.opts.Now()
	return e.st.SaveJob(ctx, store.Job{ID: jobKind + "-" + w.sub.ID, Kind: jobKind, State: w.currentStatus(), Result: res, Created: now, Updated: now})
}

// Check decides whether the writer whose request is ctx may store s with
// status requested or active: the filter's search must parse, the
// writer's scopes must allow searching what it selects (a patient-level
// token only inside its own compartment), and a rest-hook endpoint's
// host must be allowed. A refusal is a *fhir.Error (400 or 403).
func (e *Engine) Check(ctx context.Context, s Subscription) error {
	if s.Channel == RestHook {
		if err := e.allowed(s.Endpoint); err != nil {
			return bad("business-rule", "Subscription.channel.endpoint", "%v", err)
		}
	}
	if s.Topic == TopicResource {
		for k := range s.Filter {
			name, _, _ := strings.Cut(k, ":")
			if strings.HasPrefix(name, "_") && !slices.Contains([]string{"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"}, name) {
				return bad("not-supported", "Subscription.criteria", "a filter cannot use %s", name)
			}
		}
		if _, _, err := e.reg.ParseQuery(s.Type, s.Filter, true, search.Limits{}); err != nil {
			return bad("value", "Subscription.criteria", "the filter's search: %v", err)
		}
	}
	return e.checkAccess(ctx, s)
}

// checkAccess decides whether the requester of ctx may receive what s
// selects: search on its type (Observation for a twin), inside its own
// compartment for a patient-level token.
func (e *Engine) checkAccess(ctx context.Context, s Subscription) error {
	typ := s.Type
	if s.Topic == TopicTwin {
		typ = "Observation" // a twin is computed from the patient's Observations
	}
	a, ok := e.opts.AccessOf(ctx)
	if !ok {
		return nil
	}
	for _, kind := range []string{"read", "search-type"} {
		if !a.Allows(kind, typ) {
			return forbidden("the token's scopes do not allow " + kind + " on " + typ + ", which the subscription would send")
		}
	}
	c := a.Compartment()
	if c == "" {
		return nil
	}
	pid := strings.TrimPrefix(c, "Patient/")
	if s.Topic == TopicTwin {
		if s.Patient != pid {
			return forbidden("a token confined to " + c + " may subscribe to its own patient's twin only")
		}
		return nil
	}
	if !e.pinned(s, pid) {
		return forbidden("a token confined to " + c + " may subscribe only inside its compartment: the filter must hold one of " +
			strings.Join(append(e.pinParams(s.Type), "_id (Patient)"), ", ") + " = Patient/" + pid)
	}
	return nil
}

// pinned reports whether s's filter keeps it inside patient pid's
// compartment: for Patient, _id=pid; else a compartment parameter of the
// type with the one value Patient/pid, and no chained parameter.
func (e *Engine) pinned(s Subscription, pid string) bool {
	for k := range s.Filter {
		if strings.Contains(k, ".") {
			return false
		}
	}
	if s.Type == "Patient" {
		return slices.Equal(s.Filter["_id"], []string{pid})
	}
	for _, p := range e.pinParams(s.Type) {
		if slices.Equal(s.Filter[p], []string{"Patient/" + pid}) {
			return true
		}
	}
	return false
}

// pinParams are the parameters of typ that keep a search inside one
// patient's compartment: its compartment parameters, and "patient" where
// it refers to Patients only.
func (e *Engine) pinParams(typ string) []string {
	params := slices.Clone(e.reg.CompartmentParams(typ))
	if prm, ok := e.reg.Param(typ, "patient"); ok && slices.Equal(prm.Target, []string{"Patient"}) && !slices.Contains(params, "patient") {
		params = append(params, "patient")
	}
	return params
}

func forbidden(diag string) *fhir.Error {
	return &fhir.Error{Status: http.StatusForbidden, Issues: []fhir.Issue{{Severity: "error", Code: "forbidden", Diagnostics: "subscription: " + diag}}}
}

// allowed checks a rest-hook endpoint against AllowHosts.
func (e *Engine) allowed(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("a rest-hook endpoint is an absolute http or https URL")
	}
	host := strings.ToLower(u.Hostname())
	for _, h := range e.opts.AllowHosts {
		if h == "*" || strings.EqualFold(h, host) {
			return nil
		}
	}
	return fmt.Errorf("rest-hook endpoints on host %q are not allowed by this server (its administrator lists the allowed hosts)", clip(host))
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Status returns the $status answer of subscription id, whose stored
// body the caller has read with the requester's rights: a searchset
// Bundle with its SubscriptionStatus, from the running delivery, or for
// one that is off from the stored resource and its saved event count.
func (e *Engine) Status(ctx context.Context, id string, stored []byte) ([]byte, error) {
	e.mu.Lock()
	w := e.workers[id]
	e.mu.Unlock()
	if w != nil {
		return statusBundle(w.state(typeQuery), e.opts.Now())
	}
	s, err := Decode(stored)
	if err != nil {
		return nil, err
	}
	st := status{base: e.opts.BaseURL, id: id, topic: s.Topic, status: s.Status}
	if j, err := e.st.Job(ctx, jobKind+"-"+id); err == nil {
		var c jobState
		if json.Unmarshal(j.Result, &c) == nil {
			st.since = c.Events
		}
	}
	return statusBundle(st, e.opts.Now())
}

// Topics are the canonical URLs of the topics the engine offers, for the
// CapabilityStatement.
func (e *Engine) Topics() []string { return []string{TopicResource, TopicTwin} }
