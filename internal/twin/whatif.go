package twin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/doppelhealth/doppel/assim/glucose"
)

// ErrNoTwin is returned for a patient without a diabetes twin that has
// seen a reading.
var ErrNoTwin = errors.New("twin: no glucose twin with a reading for this patient")

// Plan is one alternative for the next two hours: a bolus now, a meal
// later, a new basal rate; the zero Plan is doing nothing (basal
// continues, nothing eaten).
type Plan struct {
	Name       string   `json:"name,omitempty"`
	BolusU     float64  `json:"bolusU,omitempty"`     // insulin bolus given now, U
	MealG      float64  `json:"mealG,omitempty"`      // carbohydrate eaten, g
	MealInMin  int      `json:"mealInMin,omitempty"`  // when, min from now
	BasalUPerH *float64 `json:"basalUPerH,omitempty"` // new basal rate from now, U/h
}

// Branch is the forecast of one plan.
type Branch struct {
	Plan     Plan     `json:"plan"`
	Forecast Forecast `json:"forecast"`
}

// MaxPlans is the most plans one what-if may ask for.
const MaxPlans = 8

func (pl Plan) check() error {
	switch {
	case !(pl.BolusU >= 0 && pl.BolusU <= 50):
		return fmt.Errorf("twin: bolus %v U, want 0 to 50", pl.BolusU)
	case !(pl.MealG >= 0 && pl.MealG <= 300):
		return fmt.Errorf("twin: meal %v g, want 0 to 300", pl.MealG)
	case pl.MealInMin < 0 || pl.MealInMin >= horizons[len(horizons)-1]:
		return fmt.Errorf("twin: meal in %d min, want 0 to %d", pl.MealInMin, horizons[len(horizons)-1]-1)
	case pl.BasalUPerH != nil && !(*pl.BasalUPerH >= 0 && *pl.BasalUPerH <= 10):
		return fmt.Errorf("twin: basal %v U/h, want 0 to 10", *pl.BasalUPerH)
	}
	return nil
}

func (pl Plan) inputs(basal float64) []glucose.Input {
	if pl.BasalUPerH != nil {
		basal = *pl.BasalUPerH / 60
	}
	in := basalPlan(basal, horizons[len(horizons)-1])
	in[0].Insulin += pl.BolusU
	in[pl.MealInMin].Carbs += pl.MealG
	return in
}

// WhatIf forecasts each plan from the patient's current estimated state,
// after the do-nothing branch, which comes first. Every branch starts from
// a clone of the live filter with the same random source (common random
// numbers, so the branches differ by their plans, not by chance); the
// live twin is not changed.
func (m *Manager) WhatIf(ctx context.Context, patient string, plans []Plan) ([]Branch, error) {
	if len(plans) > MaxPlans {
		return nil, fmt.Errorf("twin: %d plans, at most %d", len(plans), MaxPlans)
	}
	for _, pl := range plans {
		if err := pl.check(); err != nil {
			return nil, err
		}
	}
	p, err := m.get(ctx, patient, false)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, ErrNoTwin
	}
	g := p.glucose
	if g == nil || g.lastCGM.IsZero() {
		p.mu.Unlock()
		return nil, ErrNoTwin
	}
	all := append([]Plan{{Name: "do nothing"}}, plans...)
	seed := uint64(g.lastCGM.UnixNano())
	clones := make([]*glucose.Filter, len(all))
	for i := range all {
		if clones[i], err = g.f.Clone(rand.New(rand.NewPCG(seed, uint64(shardOf(patient))))); err != nil {
			p.mu.Unlock()
			return nil, fmt.Errorf("twin: %w", err)
		}
	}
	branchFrom := *g // the fields forecast reads, copied under the lock
	p.mu.Unlock()
	out := make([]Branch, len(all))
	for i, pl := range all {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fc, err := branchFrom.forecast(clones[i], pl.inputs(branchFrom.setup.Basal))
		if err != nil {
			return nil, err
		}
		out[i] = Branch{Plan: pl, Forecast: fc}
	}
	return out, nil
}

// State is what a patient's twins currently believe.
type State struct {
	Patient string        `json:"patient"`
	Glucose *GlucoseState `json:"glucose,omitempty"`
	NEWS2   *NEWS2        `json:"news2,omitempty"`
}

// GlucoseState is the diabetes twin's current estimate and last forecast.
type GlucoseState struct {
	LastReading time.Time        `json:"lastReading"`
	Reading     float64          `json:"reading"`
	Estimate    glucose.Estimate `json:"estimate"`
	Forecast    *Forecast        `json:"forecast,omitempty"`
	HypoAlert   bool             `json:"hypoAlert"`
	StreamLost  bool             `json:"streamLost"`
}

// State returns the patient's current state, and false if the patient
// has no twin in memory.
func (m *Manager) State(ctx context.Context, patient string) (State, bool, error) {
	p, err := m.get(ctx, patient, false)
	if err != nil || p == nil {
		return State{}, false, err
	}
	defer p.mu.Unlock()
	s := State{Patient: patient}
	if g := p.glucose; g != nil && !g.lastCGM.IsZero() {
		e := g.f.Estimate()
		if math.IsNaN(e.ESS) {
			e.ESS = 0
		}
		s.Glucose = &GlucoseState{LastReading: g.lastCGM, Reading: g.reading, Estimate: e,
			Forecast: g.last, HypoAlert: g.hypo, StreamLost: g.lost}
	}
	if p.ward != nil {
		s.NEWS2 = p.ward.last
	}
	return s, true, nil
}
