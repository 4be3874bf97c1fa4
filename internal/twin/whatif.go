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
	// Drug is a drug regimen for the PK/PD engine instead of the glucose
	// fields (served by doppel serve, not by Manager.WhatIf).
	Drug *DrugPlan `json:"drug,omitempty"`
}

// DrugPlan is a regimen of a library population PK model (doppel models),
// forecast over HorizonH h from now. Covariates gives values, in the
// model's units, that the patient's record lacks or that the plan
// overrides (what if the weight were 90 kg).
type DrugPlan struct {
	Model      string             `json:"model"`
	Doses      []DrugDose         `json:"doses"`
	HorizonH   float64            `json:"horizonH"`
	Covariates map[string]float64 `json:"covariates,omitempty"`
}

// DrugDose is Count doses of AmountMg mg every EveryH h, each infused over
// InfusionH h (0: bolus, or an oral model's dose taken), the first InMin
// min from now.
type DrugDose struct {
	AmountMg  float64 `json:"amountMg"`
	InfusionH float64 `json:"infusionH,omitempty"`
	EveryH    float64 `json:"everyH,omitempty"`
	Count     int     `json:"count,omitempty"`
	InMin     float64 `json:"inMin,omitempty"`
}

// DrugForecast is the model output of a drug plan: the central
// concentration in mg/L at TimesH (h from now) for the typical patient of
// the model at the patient's covariates, and its 5th, 50th and 95th
// percentiles over Subjects simulated patients (between-subject
// variability of the model, seeded; no residual error), with their
// exposure summaries.
type DrugForecast struct {
	Label      string             `json:"label"`
	Model      string             `json:"model"`
	Drug       string             `json:"drug"`
	Citation   string             `json:"citation"`
	Covariates map[string]float64 `json:"covariates"`
	// Sources says where each covariate came from (a FHIR reference, a
	// computation from them, or "plan").
	Sources    map[string]string  `json:"covariateSources"`
	Parameters map[string]float64 `json:"typicalParameters"` // L, L/h, 1/h
	Fit        string             `json:"fit"`
	Subjects   int                `json:"subjects"`
	Seed       uint64             `json:"seed"`
	TimesH     []float64          `json:"timesH"`
	Typical    []float64          `json:"typical"`
	P5         []float64          `json:"p5"`
	P50        []float64          `json:"p50"`
	P95        []float64          `json:"p95"`
	Summary    DrugSummary        `json:"summary"`
}

// DrugSummary holds the exposure of the typical patient and the 5th,
// 50th and 95th percentiles of each figure over the simulated patients.
type DrugSummary struct {
	Typical DrugExposure `json:"typical"`
	P5      DrugExposure `json:"p5"`
	P50     DrugExposure `json:"p50"`
	P95     DrugExposure `json:"p95"`
}

// DrugExposure is the exposure over the horizon: Cmax (mg/L) and its
// time, the trough just before the last dose (mg/L; null when the plan
// has a single dose), the AUC over the horizon and over its last 24 h
// (mg·h/L; AUC24 null when the horizon is shorter than 24 h).
type DrugExposure struct {
	CmaxMgL   float64  `json:"cmaxMgL"`
	TmaxH     float64  `json:"tmaxH"`
	TroughMgL *float64 `json:"troughMgL"`
	AUCMgHL   float64  `json:"aucMgHL"`
	AUC24MgHL *float64 `json:"auc24MgHL"`
}

// Branch is the forecast of one plan.
type Branch struct {
	Plan     Plan          `json:"plan"`
	Forecast Forecast      `json:"forecast,omitzero"`
	Drug     *DrugForecast `json:"drug,omitempty"`
}

// MaxPlans is the most plans one what-if may ask for.
const MaxPlans = 8

func (pl Plan) check() error {
	switch {
	case pl.Drug != nil:
		return fmt.Errorf("twin: plan %q has a drug: drug plans need the PK/PD engine of doppel serve", pl.Name)
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
	// NEWS2History is the ward twin's scored sets of the last 12 h
	// (trendWindow), oldest first: what its trend forecast fits.
	NEWS2History []ScorePoint `json:"news2History,omitempty"`
}

// ScorePoint is the NEWS2 total of one scored vitals set.
type ScorePoint struct {
	At    time.Time `json:"at"`
	Total int       `json:"total"`
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
	if w := p.ward; w != nil {
		s.NEWS2 = w.last
		s.NEWS2History = w.history()
	}
	return s, true, nil
}
