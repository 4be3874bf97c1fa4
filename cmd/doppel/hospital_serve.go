package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/doppelhealth/doppel/hospital"
	"github.com/doppelhealth/doppel/internal/census"
	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/store"
)

// Limits of forecast requests (SEC: a request must not take the server's
// CPUs for long): more replications, branches or simulated time than these
// are refused with 422, a run that takes longer than forecastTimeout is
// stopped, and while forecastConcurrent forecasts run another is refused
// with 429.
const (
	forecastConcurrent      = 2
	forecastMaxReplications = 200
	forecastMaxBranches     = 4
	forecastMaxHorizon      = 365 * 24.0 // h
	forecastTimeout         = 60 * time.Second
)

// hospitalForecaster is doppel serve's httpapi.Forecaster: the hospital
// file of the request, run from the census of the store now.
type hospitalForecaster struct {
	st      store.Reader
	now     func() time.Time
	timeout time.Duration
	running chan struct{} // one token per forecast running
}

func newHospitalForecaster(st store.Reader) *hospitalForecaster {
	return &hospitalForecaster{st: st, now: time.Now, timeout: forecastTimeout, running: make(chan struct{}, forecastConcurrent)}
}

// badForecast is a 4xx answer of the forecast endpoint.
func badForecast(status int, code, format string, args ...any) *fhir.Error {
	return &fhir.Error{Status: status, Issues: []fhir.Issue{{Severity: "error", Code: code, Diagnostics: fmt.Sprintf(format, args...)}}}
}

// Forecast implements httpapi.Forecaster.
func (h *hospitalForecaster) Forecast(ctx context.Context, config []byte) ([]byte, error) {
	const file = "request"
	hf, err := parseHospital(file, config)
	if err != nil {
		return nil, badForecast(http.StatusBadRequest, "invalid", "%s", err)
	}
	switch {
	case hf.fhir == nil:
		return nil, badForecast(http.StatusBadRequest, "required", "the configuration needs a fhir: section that maps the store's Locations to its units")
	case hf.census != nil:
		return nil, badForecast(http.StatusBadRequest, "invalid", "the census comes from the store: remove the census: section")
	case hf.cfg.Replications > forecastMaxReplications:
		return nil, badForecast(http.StatusUnprocessableEntity, "too-costly", "at most %d replications a request, got %d", forecastMaxReplications, hf.cfg.Replications)
	case len(hf.whatIf) > forecastMaxBranches:
		return nil, badForecast(http.StatusUnprocessableEntity, "too-costly", "at most %d what-if branches a request, got %d", forecastMaxBranches, len(hf.whatIf))
	case hf.cfg.Horizon > forecastMaxHorizon:
		return nil, badForecast(http.StatusUnprocessableEntity, "too-costly", "a horizon of at most %g days a request, got %g", forecastMaxHorizon/24, hf.cfg.Horizon/24)
	}
	select {
	case h.running <- struct{}{}:
		defer func() { <-h.running }()
	default:
		return nil, badForecast(http.StatusTooManyRequests, "throttled", "%d forecasts are running: try again later", forecastConcurrent)
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	cj, err := fromFHIR(ctx, readErrors{census.NewStoreSource(h.st)}, hf, h.now())
	if err != nil {
		if ctx.Err() != nil {
			return nil, h.stopped(ctx, err)
		}
		var fe *fhir.Error
		if errors.As(err, &fe) {
			return nil, err
		}
		if errors.As(err, new(readError)) {
			return nil, err // the server's problem: 500, logged
		}
		return nil, badForecast(http.StatusBadRequest, "invalid", "%s", err)
	}
	out, err := simulateHospital(ctx, file, hf, func(int) hospital.Options { return hospital.Options{} })
	if err != nil {
		return nil, h.stopped(ctx, err)
	}
	out.Census = cj
	var b bytes.Buffer
	if err := writeJSON(&b, out); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// stopped is the error of a forecast that ended early: the time limit,
// the client gone (the server sees the cancellation), or another error.
func (h *hospitalForecaster) stopped(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return badForecast(http.StatusUnprocessableEntity, "too-costly", "the forecast did not finish within %s: ask for fewer replications or a shorter horizon", h.timeout)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// readErrors marks the errors of reading the store as readError, to
// tell them from the mistakes of a configuration.
type readErrors struct{ census.Source }

type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }
func (e readError) Unwrap() error { return e.err }

func (r readErrors) Resources(ctx context.Context, typ string) ([][]byte, error) {
	b, err := r.Source.Resources(ctx, typ)
	if err != nil {
		return nil, readError{err}
	}
	return b, nil
}
