package pkpd

import (
	"errors"
	"fmt"
	"maps"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/doppelhealth/doppel/assim"
)

// Level is one measured drug concentration of a patient.
type Level struct {
	Time  float64 // h, on the time axis of the dose records (usually from the first dose)
	Value float64 // measured concentration, mg/L
}

// FitSettings tunes Fit. The zero value is valid.
type FitSettings struct {
	// MAP configures the estimator (starts, tolerances); its zero value
	// means assim's defaults: BFGS from η = 0 and ±1 prior SD along each
	// Cholesky axis of Ω, keeping the lowest objective.
	MAP assim.Settings
	// Schedule sets the carry rule of covariates given on the dose records
	// (time-varying covariates; the zero value is NONMEM's NOCB, LOCF
	// matches ApplyCovariates).
	Schedule ScheduleOptions
}

// FitResult is a patient's maximum a posteriori (MAP Bayes) fit.
type FitResult struct {
	// Params are the individual parameters TV(covariates)·exp(η̂) (L/h, L,
	// 1/h), and Parameters the same by the model's parameter names.
	Params     Params
	Parameters map[string]float64
	// Population holds the typical values for the patient's covariates
	// (η = 0), by the model's parameter names.
	Population map[string]float64
	// EtaNames are the parameters carrying an η (the model's IIV.Params),
	// Eta the MAP estimate η̂ in that order, SE their approximate posterior
	// standard errors (Laplace: square roots of the diagonal of Cov), and Cov
	// the Laplace posterior covariance of η; SE is NaN and Cov nil when the
	// Hessian at η̂ is not positive definite (see Fit's error).
	EtaNames []string
	Eta      []float64
	SE       []float64
	Cov      *mat.SymDense
	// OFV is the objective at η̂, Σ[(y−f)²/s² + ln s²] + η̂ᵀΩ⁻¹η̂ (−2 log
	// posterior up to a constant, NONMEM's POSTHOC objective with
	// INTERACTION), and OFVPopulation the same at η = 0.
	OFV, OFVPopulation float64
	// Times and Observed are the levels (h, mg/L), in the order given;
	// PRED and IPRED the population (η = 0) and individual (η̂) predictions
	// at Times, mg/L.
	Times, Observed []float64
	PRED, IPRED     []float64
	// Converged reports whether η̂ is a minimum to working precision
	// (assim.Result.Converged); always true for a model without IIV.
	Converged bool
	// MAP is the estimator's full result (every start, statistics); nil for
	// a model without IIV.
	MAP *assim.Result
}

// Fit estimates the individual parameters of a patient from measured levels
// by maximum a posteriori Bayes (assim.MAP): the prior is the model's IIV
// around the typical values for the covariates cov, the likelihood its
// residual error, the objective
//
//	OFV(η) = Σ_i [(y_i − f_i(η))²/s_i² + ln s_i²] + ηᵀΩ⁻¹η,  s_i² = residual variance at f_i,
//
// minimised from several starts. doses are the patient's dose records
// (NONMEM semantics; RegimenRecords builds them from Regimen values), levels
// the measurements; a level at the time of a dose is a pre-dose level. Fit
// with no levels returns the population values (η̂ = 0, Cov = Ω).
//
// Covariates that change over time go on the dose records (see
// ApplyCovariates and FitSettings.Schedule): the predictions then restart
// the closed form at every event with the parameters of the covariates in
// effect (PredictVarying); covariates on the records override cov. Params,
// Parameters and Population are those of the first record's covariates
// (over cov).
//
// Errors name the field. When the Hessian at η̂ is not positive definite Fit
// returns the estimate (SE NaN, Cov nil) together with an error wrapping
// assim.ErrHessian.
func Fit(m *DrugModel, cov map[string]float64, doses []Record, levels []Level, settings *FitSettings) (*FitResult, error) {
	c, tv, err := fitStart(m, cov, doses)
	if err != nil {
		return nil, err
	}
	times := make([]float64, len(levels))
	y := make([]float64, len(levels))
	for i, l := range levels {
		if !(l.Time >= 0) || math.IsInf(l.Time, 0) {
			return nil, fmt.Errorf("pkpd: levels[%d].time = %v h, want a finite time ≥ 0", i, l.Time)
		}
		if math.IsNaN(l.Value) || math.IsInf(l.Value, 0) || l.Value < 0 {
			return nil, fmt.Errorf("pkpd: levels[%d].value = %v mg/L, want a finite concentration ≥ 0", i, l.Value)
		}
		times[i], y[i] = l.Time, l.Value
	}
	if settings == nil {
		settings = &FitSettings{}
	}
	sched, err := c.linear.NewSchedule(doses, c.dose, settings.Schedule)
	if err != nil {
		return nil, err
	}
	vary := varying(doses)

	idx, sorted := sortTimes(times)
	buf := make([]float64, len(times))
	predict := func(dst, eta []float64) error {
		if vary {
			conc, _, err := c.linear.PredictVarying(c.paramsFunc(cov, eta), sched, sorted)
			if err != nil {
				return err
			}
			copy(buf, conc)
		} else if err := c.linear.PredictInto(buf, c.params(tv, eta), sched, sorted); err != nil {
			return err
		}
		for k, i := range idx {
			dst[i] = buf[k]
		}
		return nil
	}
	return fitMAP(c, tv, times, y, predict, settings)
}

// FitRecords is Fit on one subject's records of a data set: the levels are
// the DV of its observation records (EVID 0, MDV 0), predicted with the
// schedule's file-order semantics (an observation listed after a dose at
// the same TIME sees the dose; Fit's levels are always pre-dose), and the
// covariates on the records apply by settings.Schedule.Carry (NOCB by
// default, NONMEM's rule). FitResult.Times are the records' times.
func FitRecords(m *DrugModel, cov map[string]float64, recs []Record, settings *FitSettings) (*FitResult, error) {
	c, tv, err := fitStart(m, cov, recs)
	if err != nil {
		return nil, err
	}
	if settings == nil {
		settings = &FitSettings{}
	}
	sched, err := c.linear.NewSchedule(recs, c.dose, settings.Schedule)
	if err != nil {
		return nil, err
	}
	var use []int // indices into the schedule's observations with a DV
	var times, y []float64
	for k, ri := range sched.Obs {
		if r := recs[ri]; r.MDV == 0 {
			if r.DV < 0 {
				return nil, fmt.Errorf("pkpd: %s: DV = %v, want a concentration ≥ 0", recWhere(recs, ri), r.DV)
			}
			use = append(use, k)
			times, y = append(times, r.Time), append(y, r.DV)
		}
	}
	predict := func(dst, eta []float64) error {
		_, obs, err := c.linear.PredictVarying(c.paramsFunc(cov, eta), sched, nil)
		if err != nil {
			return err
		}
		for i, k := range use {
			dst[i] = obs[k]
		}
		return nil
	}
	return fitMAP(c, tv, times, y, predict, settings)
}

// fitStart compiles the model and returns the typical values of the
// covariates cov with those of the first record over them.
func fitStart(m *DrugModel, cov map[string]float64, recs []Record) (*compiledModel, []float64, error) {
	c, err := m.compile()
	if err != nil {
		return nil, nil, err
	}
	first := cov
	if len(recs) > 0 && len(recs[0].Covariates) > 0 {
		first = maps.Clone(cov)
		if first == nil {
			first = map[string]float64{}
		}
		maps.Copy(first, recs[0].Covariates)
	}
	tv, err := c.typical(first)
	if err != nil {
		return nil, nil, err
	}
	return c, tv, nil
}

// fitMAP minimises the MAP objective of the levels y at times with the
// predictions predict(dst, η).
func fitMAP(c *compiledModel, tv, times, y []float64, predict func(dst, eta []float64) error, settings *FitSettings) (*FitResult, error) {
	m := c.m
	rerr := m.Error
	variance := func(dst, f []float64) error {
		for i, fi := range f {
			dst[i] = rerr.Variance(fi)
		}
		return nil
	}
	p := len(c.etaPar)
	res := &FitResult{
		EtaNames: append([]string(nil), m.IIV.Params...),
		Times:    times,
		Observed: y,
		PRED:     make([]float64, len(y)),
	}
	if err := predict(res.PRED, make([]float64, p)); err != nil {
		return nil, err
	}
	res.Population = m.Named(c.params(tv, make([]float64, p)))

	if p == 0 {
		res.Eta, res.SE = []float64{}, []float64{}
		res.IPRED = append([]float64(nil), res.PRED...)
		res.OFV = residualOFV(rerr, y, res.IPRED)
		res.OFVPopulation = res.OFV
		res.Params = c.params(tv, nil)
		res.Parameters = m.Named(res.Params)
		res.Converged = true
		return res, nil
	}

	prob := assim.Problem{Omega: c.omega, Y: y, Predict: predict, Variance: variance}
	out, err := assim.MAP(prob, &settings.MAP)
	if out == nil {
		return nil, fmt.Errorf("pkpd: fit of model %q: %w", m.Name, err)
	}
	if err != nil && !errors.Is(err, assim.ErrHessian) {
		return nil, fmt.Errorf("pkpd: fit of model %q: %w", m.Name, err)
	}
	res.MAP = out
	res.Eta = append([]float64(nil), out.Eta...)
	res.SE = append([]float64(nil), out.SE...)
	res.Cov = out.Cov
	res.OFV = out.OFV
	res.Converged = out.Converged
	res.Params = c.params(tv, out.Eta)
	res.Parameters = m.Named(res.Params)
	res.IPRED = make([]float64, len(y))
	if err := predict(res.IPRED, out.Eta); err != nil {
		return nil, err
	}
	res.OFVPopulation = residualOFV(rerr, y, res.PRED)
	if err != nil {
		return res, fmt.Errorf("pkpd: fit of model %q: %w", m.Name, err)
	}
	return res, nil
}

// residualOFV is Σ[(y−f)²/s² + ln s²], the OFV at η = 0 less nothing (the
// prior term vanishes there).
func residualOFV(r ResidualError, y, f []float64) float64 {
	var s float64
	for i := range y {
		s += r.NegTwoLogLik(y[i], f[i])
	}
	return s
}
