package twin

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/assim/glucose"
	"github.com/doppelhealth/doppel/internal/clinical"
)

// Horizons are the forecast horizons after each CGM reading, min.
var horizons = []int{30, 60, 120}

// maxGap is the longest gap between readings that a twin bridges by
// simulation; after a longer one it starts again from the population.
const maxGap = 24 * time.Hour

// patientTwin is the state of one patient; mu serialises its updates.
type patientTwin struct {
	mu      sync.Mutex
	id      string
	pcg     *rand.PCG // the state of rng, saved in snapshots
	rng     *rand.Rand
	glucose *glucoseTwin
	ward    *wardTwin
}

// dose is an insulin dose (U) or carbohydrate entry (g) waiting for the
// next reading; Key is its clinical.Observation.Key, so that the same
// entry handed over twice (replayed after a restart, then redelivered by
// the stream) counts once.
type dose struct {
	At      time.Time
	Carbs   float64
	Insulin float64
	Key     string `json:",omitempty"`
}

type glucoseTwin struct {
	setup   GlucoseSetup
	f       *glucose.Filter
	lastCGM time.Time // time of the last reading assimilated: the filter's now
	reading float64
	pending []dose
	last    *Forecast
	hypo    bool // hypoglycaemia alert on
	lost    bool // lost-stream alert raised for the current gap
}

func (m *Manager) newGlucose(p *patientTwin) (*glucoseTwin, error) {
	setup, err := m.opt.Glucose(p.id)
	if err != nil {
		return nil, fmt.Errorf("twin: %w", err)
	}
	return glucoseFrom(p, setup)
}

// glucoseFrom is a new diabetes twin of p with setup.
func glucoseFrom(p *patientTwin, setup GlucoseSetup) (*glucoseTwin, error) {
	f, err := glucose.New(setup.Pop, setup.Sensor, p.rng, setup.Options)
	if err != nil {
		return nil, fmt.Errorf("twin: %w", err)
	}
	return &glucoseTwin{setup: setup, f: f}, nil
}

func (m *Manager) diabetes(p *patientTwin, o clinical.Observation) ([]Event, error) {
	if p.glucose == nil {
		g, err := m.newGlucose(p)
		if err != nil {
			return nil, err
		}
		p.glucose = g
	}
	g := p.glucose
	if o.Value == nil {
		return nil, fmt.Errorf("twin: %s observation without a value", o.Code)
	}
	v := o.Value.Value
	switch o.Code {
	case clinical.CodeInsulin, clinical.CodeCarbIntake:
		if !g.lastCGM.IsZero() && o.Effective.Before(g.lastCGM) {
			return nil, nil // the twin has moved past it
		}
		d := dose{At: o.Effective, Insulin: v, Key: o.Key()}
		if o.Code == clinical.CodeCarbIntake {
			d = dose{At: o.Effective, Carbs: v, Key: d.Key}
		}
		if slices.ContainsFunc(g.pending, func(p dose) bool { return p.Key == d.Key }) {
			return nil, nil // waiting already
		}
		g.keepPending(o.Effective.Add(-maxGap)) // a pump without a CGM must not grow it forever
		g.pending = append(g.pending, d)
		return nil, nil
	}
	t := o.Effective
	if !g.lastCGM.IsZero() && !t.After(g.lastCGM) {
		return nil, nil // old or replayed reading
	}
	if !g.lastCGM.IsZero() && t.Sub(g.lastCGM) > maxGap {
		fresh, err := m.newGlucose(p)
		if err != nil {
			return nil, err
		}
		fresh.pending = g.pending
		*g = *fresh
	}
	if !g.lastCGM.IsZero() {
		if err := g.f.Advance(g.inputs(t)); err != nil {
			return nil, fmt.Errorf("twin: %w", err)
		}
	} else {
		g.keepPending(t)
	}
	if err := g.f.Update(v); err != nil {
		return nil, fmt.Errorf("twin: %w", err)
	}
	g.lastCGM, g.reading, g.lost = t, v, false
	fc, err := g.forecast(g.f, basalPlan(g.setup.Basal, horizons[len(horizons)-1]))
	if err != nil {
		return nil, err
	}
	g.last = &fc
	data := []clinical.Observation{o}
	events := []Event{{Patient: p.id, Kind: KindForecast, Time: t, Forecast: &fc, Data: data}}
	switch on := fc.PHypo >= m.opt.HypoProb; {
	case on && !g.hypo:
		events = append(events, Event{Patient: p.id, Kind: KindAlert, Time: t, Data: data, Alert: &Alert{
			Kind: AlertHypo, Probability: fc.PHypo,
			Message: fmt.Sprintf("glucose predicted below %.0f mg/dL within %d min (probability %.2f)", glucose.HypoThreshold, glucose.HypoWindow, fc.PHypo),
		}})
		g.hypo = true
	case !on:
		g.hypo = false
	}
	return events, nil
}

// inputs turns the minutes from the last reading to t into filter inputs
// (basal plus the pending doses and entries in their minute) and keeps
// the pending entries at or after t.
func (g *glucoseTwin) inputs(t time.Time) []glucose.Input {
	n := max(int(t.Sub(g.lastCGM).Round(time.Minute)/time.Minute), 1)
	in := basalPlan(g.setup.Basal, n)
	keep := g.pending[:0]
	for _, d := range g.pending {
		if !d.At.Before(t) {
			keep = append(keep, d)
			continue
		}
		k := min(max(int(d.At.Sub(g.lastCGM)/time.Minute), 0), n-1)
		in[k].Carbs += d.Carbs
		in[k].Insulin += d.Insulin // U given within one minute
	}
	g.pending = keep
	return in
}

// keepPending drops the entries before t: at the first reading, because
// the filter starts from a steady state then; with no readings, those
// older than the longest gap bridged.
func (g *glucoseTwin) keepPending(t time.Time) {
	keep := g.pending[:0]
	for _, d := range g.pending {
		if !d.At.Before(t) {
			keep = append(keep, d)
		}
	}
	g.pending = keep
}

func basalPlan(basal float64, minutes int) []glucose.Input {
	in := make([]glucose.Input, minutes)
	for i := range in {
		in[i].Insulin = basal
	}
	return in
}

func (g *glucoseTwin) forecast(f *glucose.Filter, plan []glucose.Input) (Forecast, error) {
	fc, err := f.Forecast(plan, horizons)
	if err != nil {
		return Forecast{}, fmt.Errorf("twin: %w", err)
	}
	return Forecast{At: g.lastCGM, Reading: g.reading, BG: f.Estimate().BG, Bands: fc.Bands, PHypo: fc.PHypo}, nil
}
