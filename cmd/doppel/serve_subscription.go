package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/subscription"
	"github.com/doppelhealth/doppel/internal/twin"
)

// subscriptionFlags are serve's FHIR Subscription flags.
type subscriptionFlags struct {
	allow []string // --subscription-allow: rest-hook hosts
}

func (f *subscriptionFlags) register(c *cobra.Command) {
	c.Flags().StringSliceVar(&f.allow, "subscription-allow", nil, "`HOST,...` that rest-hook Subscriptions may post to (names or IP addresses; * any host); none: rest-hook Subscriptions are refused, websocket ones still work")
}

// subscriptions is the running FHIR Subscription engine of serve.
type subscriptions struct {
	engine *subscription.Engine
	twins  *twinSource
}

// twinSource lets the engine, made before the twins, reach them once they
// run; without twins a twin-event subscription gets no events.
type twinSource struct{ mgr *twin.Manager }

func (s *twinSource) Subscribe(patient string, buf int) (<-chan twin.Event, func()) {
	if s.mgr == nil {
		return nil, func() {} // a nil channel never delivers
	}
	return s.mgr.Subscribe(patient, buf)
}

// newSubscriptions makes the engine: notifications name resources under
// base; the writer of a Subscription is the request's token.
func newSubscriptions(logger *slog.Logger, st store.Store, reg *search.Registry, f subscriptionFlags, base string) (*subscriptions, error) {
	ts := &twinSource{}
	var allow []string
	for _, h := range f.allow {
		if h = strings.TrimSpace(h); h != "" {
			allow = append(allow, strings.ToLower(h))
		}
	}
	e, err := subscription.New(st, reg, fhirops.New(st, reg, fhirops.Options{}), subscription.Options{
		BaseURL:    base,
		AllowHosts: allow,
		Twins:      ts,
		Logger:     logger,
		AccessOf: func(ctx context.Context) (subscription.Access, bool) {
			p, err := auth.FromContext(ctx)
			if err != nil || p == nil {
				return nil, false // the server's own writes (twins), or no authentication
			}
			return p, true
		},
	})
	if err != nil {
		return nil, err
	}
	return &subscriptions{engine: e, twins: ts}, nil
}

// seriesStore is a wrapped store that keeps the time series of the store
// it wraps.
type seriesStore struct {
	store.Store
	store.Series
}

// wrap returns st whose committed writes reach the engine, keeping its
// time series (the twins store readings there).
func (s *subscriptions) wrap(st store.Store) store.Store {
	w := s.engine.Wrap(st)
	if ser, ok := st.(store.Series); ok {
		return seriesStore{w, ser}
	}
	return w
}

// attach gives the engine the twins' events.
func (s *subscriptions) attach(lt *liveTwins) {
	if lt != nil {
		s.twins.mgr = lt.mgr
	}
}

// routes serves the websocket channel beside handler, outside the bearer
// token check: its clients show a binding token instead.
func (s *subscriptions) routes(handler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /subscriptions/websocket", s.engine.ServeWebSocket)
	mux.Handle("/", handler)
	return mux
}
