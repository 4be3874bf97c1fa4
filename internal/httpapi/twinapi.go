package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/twin"
)

// Twins are the live patient twins behind /twin/{patient} (a
// *twin.Manager).
type Twins interface {
	State(ctx context.Context, patient string) (twin.State, bool, error)
	WhatIf(ctx context.Context, patient string, plans []twin.Plan) ([]twin.Branch, error)
	Subscribe(patient string, buf int) (<-chan twin.Event, func())
}

// The operations of the patient-twin routes, as the access check and the
// audit trail see them.
const (
	twinStateOp  = "$twin-state"
	twinEventsOp = "$twin-events"
	twinWhatIfOp = "$twin-whatif"
)

// sseKeepAlive is how often an idle event stream gets a comment line, so
// proxies and clients know it is alive.
const sseKeepAlive = 15 * time.Second

// patientTwinRoutes are the routes of Options.Twins; none without it.
func (s *Server) patientTwinRoutes() []route {
	if s.opts.Twins == nil {
		return nil
	}
	return []route{
		{pattern: "GET /twin/{patient}", kind: "operation", op: twinStateOp, handle: s.twinState},
		{pattern: "GET /twin/{patient}/events", kind: "operation", op: twinEventsOp, handle: s.twinEvents},
		{pattern: "POST /twin/{patient}/whatif", kind: "operation", op: twinWhatIfOp, handle: s.twinWhatIf},
	}
}

// isTwinOp reports whether op is one of the patient-twin operations.
func isTwinOp(op string) bool {
	return op == twinStateOp || op == twinEventsOp || op == twinWhatIfOp
}

// checkTwin is the scope check of a patient-twin request: the twin is
// computed from the patient's Observations, so it needs read and search
// on Observation inside Patient/{patient}'s compartment; a patient token
// gets only its own patient's twin.
func checkTwin(p *auth.Principal, compartment string) error {
	for _, kind := range []string{"read", "search-type"} {
		if err := p.Check(kind, "Observation", "", compartment); err != nil {
			return err
		}
	}
	return nil
}

func twinPatient(r *http.Request) (string, error) {
	id := r.PathValue("patient")
	if !clinical.ValidID(id) {
		return "", errorf(http.StatusNotFound, "not-found", "no patient twin at this path")
	}
	return id, nil
}

func writeTwinJSON(w http.ResponseWriter, v any) error {
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("httpapi: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return nil
}

// twinState serves GET /twin/{patient}: the current estimate and the last
// forecast.
func (s *Server) twinState(w http.ResponseWriter, r *http.Request) error {
	id, err := twinPatient(r)
	if err != nil {
		return err
	}
	st, ok, err := s.opts.Twins.State(r.Context(), id)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(http.StatusNotFound, "not-found", "no twin for this patient yet")
	}
	return writeTwinJSON(w, st)
}

// whatIfRequest is the body of POST /twin/{patient}/whatif.
type whatIfRequest struct {
	Plans []twin.Plan `json:"plans"`
}

// twinWhatIf serves POST /twin/{patient}/whatif.
func (s *Server) twinWhatIf(w http.ResponseWriter, r *http.Request) error {
	id, err := twinPatient(r)
	if err != nil {
		return err
	}
	body, err := s.readBody(w, r, "")
	if err != nil {
		return err
	}
	var req whatIfRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return errorf(http.StatusBadRequest, "structure", "the body must be {\"plans\": [{\"name\", \"bolusU\", \"mealG\", \"mealInMin\", \"basalUPerH\"} or {\"name\", \"drug\": {\"model\", \"doses\", \"horizonH\", \"covariates\"}}]}")
	}
	branches, err := s.opts.Twins.WhatIf(r.Context(), id, req.Plans)
	switch {
	case errors.Is(err, twin.ErrNoTwin):
		return errorf(http.StatusNotFound, "not-found", "no glucose twin with a reading for this patient")
	case err != nil && r.Context().Err() == nil:
		return errorf(http.StatusUnprocessableEntity, "invalid", "%s", err.Error())
	case err != nil:
		return err
	}
	return writeTwinJSON(w, struct {
		Patient  string        `json:"patient"`
		Branches []twin.Branch `json:"branches"`
	}{id, branches})
}

// twinEvents serves GET /twin/{patient}/events: a Server-Sent-Events
// stream of the twin's forecasts and alerts (event: forecast|news2|alert,
// data: the twin.Event as JSON), with a keep-alive comment every 15 s,
// until the client goes away or the server shuts down.
func (s *Server) twinEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := twinPatient(r)
	if err != nil {
		return err
	}
	events, stop := s.opts.Twins.Subscribe(id, 64)
	defer stop()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": twin events\n\n"); err != nil {
		return nil
	}
	if rc.Flush() != nil {
		return nil
	}
	tick := time.NewTicker(sseKeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
		case e, ok := <-events:
			if !ok {
				return nil
			}
			data, err := json.Marshal(e)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Kind, data); err != nil {
				return nil
			}
		}
		if rc.Flush() != nil {
			return nil
		}
	}
}
