package t1d

import (
	"fmt"
	"math"
)

// Defaults of the PID controller.
const (
	// DefaultPIDTarget is the PID controller's glucose set point, mg/dL.
	DefaultPIDTarget = 130.0
	// DefaultPIDMaxBasalFactor bounds the PID controller's rate: basal plus
	// PID action is at most this multiple of the patient's basal rate.
	DefaultPIDMaxBasalFactor = 5.0

	pidTauP = 240.0 // min: a standing error is corrected by the P term alone in this time
	pidTI   = 600.0 // min: integral time
	pidTD   = 120.0 // min: derivative time
)

// PIDGains are the gains of the PID controller's feedback on the glucose
// error e = CGM − target (mg/dL).
type PIDGains struct {
	KP float64 // proportional gain, U/min per mg/dL
	KI float64 // integral gain, U/min per (mg/dL·min)
	KD float64 // derivative gain, U/min per (mg/dL/min)
}

// DefaultPIDGains returns gains scaled to patient p by its correction
// factor CF (mg/dL per U): KP = 1/(CF·240 min), so that a standing error of
// e mg/dL is met by its correction dose e/CF in four hours; KI = KP/600 min
// and KD = KP·120 min (integral and derivative times of 10 h and 2 h).
// These are heuristics for this reference controller, picked on a coarse
// grid over the 30 simglucose patients (3 days of RandomMeals, Dexcom sensor
// with noise, Insulet pump) to keep time below 70 mg/dL low; they are
// neither published nor clinically validated values. On that grid faster
// integral action (shorter integral time) and a lower target raised time
// below range: the virtual patients' basal rate is exact, so the integral
// mainly stores post-meal error and releases it as late insulin.
func DefaultPIDGains(p Params) PIDGains {
	kp := 1 / (p.CF * pidTauP)
	return PIDGains{KP: kp, KI: kp / pidTI, KD: kp * pidTD}
}

// PIDSettings configure the PID controller. The zero value gives the
// defaults noted on each field.
type PIDSettings struct {
	Target    float64   // glucose set point, mg/dL; 0 means DefaultPIDTarget
	Gains     *PIDGains // feedback gains; nil means DefaultPIDGains(p)
	MaxRate   float64   // upper limit of basal + PID, U/min; 0 means DefaultPIDMaxBasalFactor × basal
	MealBolus bool      // also bolus for announced meals (hybrid closed loop), like the basal-bolus controller without correction
}

// PID is a simple proportional-integral-derivative insulin controller: a
// reference controller for in-silico comparisons, not a validated clinical
// algorithm. It follows the idea of PID insulin delivery studied by Steil
// et al. 2006 (Diabetes 55(12):3344-3350) without its insulin feedback or
// other refinements.
//
// After each sensor sample (time step Δ = Observation.SampleTime) it
// computes, with e = CGM − target,
//
//	P = KP·e,  I ← I + KI·e·Δ,  D = KD·(CGM − previous CGM)/Δ
//	basal rate = clamp(basal + P + I + D, 0, MaxRate)
//
// where basal is the patient's steady-state rate u2ss·BW/6000 U/min, so
// that at target with steady glucose it delivers exactly the basal rate
// (as simglucose's PIDController, which has no basal term, does not). The
// rate never goes below zero (delivery is suspended instead). Anti-windup:
// the integral is not updated when the output is saturated and the error
// would push it further into saturation, and the integral term is kept
// within ±basal (it can at most double or suspend the basal rate); a
// positive integral is reset to zero as soon as glucose is below target, so
// that insulin stored from a past high is not delivered into a low. D is
// zero at the first sample.
//
// With MealBolus, an announced meal of m g/min over the last sample adds a
// bolus rate m/CR U/min over the next sample (the meal bolus of the
// basal-bolus controller, without its correction term, which the feedback
// provides). The controller does not track insulin on board, so boluses and
// feedback may stack after meals.
type PID struct {
	basal, max, target, cr float64
	g                      PIDGains
	mealBolus              bool

	integral float64 // I term, U/min
	prev     float64 // previous CGM, mg/dL
	started  bool
}

// NewPID returns a PID controller for patient p. It reports an error naming
// the setting or parameter that is out of range.
func NewPID(p Params, s PIDSettings) (*PID, error) {
	basal := p.BasalRate()
	if !(basal > 0 && basal <= math.MaxFloat64) {
		return nil, fmt.Errorf("t1d: PID for %q: basal rate u2ss·BW/6000 = %v U/min, want a finite value > 0", p.Name, basal)
	}
	if s.Target == 0 {
		s.Target = DefaultPIDTarget
	}
	if !(s.Target > 0 && s.Target <= math.MaxFloat64) {
		return nil, fmt.Errorf("t1d: PID setting Target = %v mg/dL, want a finite value > 0", s.Target)
	}
	var g PIDGains
	if s.Gains != nil {
		g = *s.Gains
	} else {
		if !(p.CF > 0 && p.CF <= math.MaxFloat64) {
			return nil, fmt.Errorf("t1d: PID for %q: CF = %v mg/dL/U, want a finite value > 0 for the default gains", p.Name, p.CF)
		}
		g = DefaultPIDGains(p)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"KP", g.KP}, {"KI", g.KI}, {"KD", g.KD}} {
		if !(f.v >= 0 && f.v <= math.MaxFloat64) {
			return nil, fmt.Errorf("t1d: PID gain %s = %v, want a finite value ≥ 0", f.name, f.v)
		}
	}
	if s.MaxRate == 0 {
		s.MaxRate = DefaultPIDMaxBasalFactor * basal
	}
	if !(s.MaxRate >= basal && s.MaxRate <= math.MaxFloat64) {
		return nil, fmt.Errorf("t1d: PID setting MaxRate = %v U/min, want a finite value ≥ the basal rate %v U/min", s.MaxRate, basal)
	}
	if s.MealBolus && !(p.CR > 0 && p.CR <= math.MaxFloat64) {
		return nil, fmt.Errorf("t1d: PID for %q: CR = %v g/U, want a finite value > 0 for meal boluses", p.Name, p.CR)
	}
	return &PID{basal: basal, max: s.MaxRate, target: s.Target, cr: p.CR, g: g, mealBolus: s.MealBolus}, nil
}

// Act returns the insulin to deliver during the next sensor sample. An
// observation whose CGM or SampleTime is not a finite positive number
// leaves the controller's state unchanged and returns the basal rate.
func (c *PID) Act(obs Observation) Action {
	dt := obs.SampleTime
	if !(obs.CGM > 0 && obs.CGM <= math.MaxFloat64) || !(dt > 0 && dt <= math.MaxFloat64) {
		return Action{Basal: c.basal}
	}
	e := obs.CGM - c.target
	var d float64
	if c.started {
		d = c.g.KD * (obs.CGM - c.prev) / dt
	}
	c.prev, c.started = obs.CGM, true
	p := c.g.KP * e
	if e < 0 && c.integral > 0 {
		c.integral = 0 // do not deliver insulin stored from past highs into a low
	}
	integral := c.integral + c.g.KI*e*dt
	u := c.basal + p + integral + d
	if (u > c.max && e > 0) || (u < 0 && e < 0) {
		integral = c.integral // conditional integration: do not wind up
	}
	c.integral = math.Min(math.Max(integral, -c.basal), math.Min(c.basal, c.max-c.basal))
	a := Action{Basal: math.Min(math.Max(c.basal+p+c.integral+d, 0), c.max)}
	if c.mealBolus && obs.Meal > 0 {
		a.Bolus = obs.Meal / c.cr
	}
	return a
}
