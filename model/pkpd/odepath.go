package pkpd

import (
	"fmt"
	"math"

	"github.com/doppelhealth/doppel/ode"
)

// ODEModel is a compartment model given by the right-hand side of its
// amount equations, solved numerically by package ode. The event loop is
// the one of the closed form (NONMEM semantics, see Schedule): the
// integrator is restarted at every discontinuity (doses, infusion starts and
// ends, lagged doses, resets), never stepping across one; zero-order
// infusions are added to the right-hand side as constant inputs.
type ODEModel struct {
	// NumCmt is the number of compartments (states), amounts in mg.
	NumCmt int
	// DoseCmt and ObsCmt are the default compartments (1-based) of doses
	// and observations with CMT = 0; NoDose lists observation-only ones.
	DoseCmt, ObsCmt int
	NoDose          []int
	// Volume is the volume in L of ObsCmt: Predict returns its amount
	// divided by Volume (mg/L).
	Volume float64
	// RHS writes dA/dt in mg/h for the amounts a (mg) at time t (h),
	// without the infusions, which are added to it. It must not retain or
	// modify a.
	RHS func(dst []float64, t float64, a []float64)
	// Jac is the Jacobian of RHS for the stiff method (optional: finite
	// differences when nil).
	Jac ode.Jacobian
	// Stiff selects ode.Rodas4. Otherwise the method is ode.DOP853 (order
	// 8) when Settings.RelTol is at most 1e-7, as by default, and MaxRate
	// is set; else ode.DoPri5 (order 5).
	Stiff bool
	// MaxRate, if not 0, is an upper bound in 1/h of the magnitude of the
	// eigenvalues of the Jacobian of RHS along the solution (for instance
	// its largest absolute row sum; the built-in models set it). DOP853
	// needs it: its steps are bounded by 5/MaxRate, inside its stability
	// interval on the negative real axis (about [-6.1, 0]), where its
	// error estimator is reliable. Beyond it, where a fast mode has decayed
	// to nothing (an emptied depot, a distribution phase), the estimator
	// misses the growth of that mode: on reference case f with outputs
	// every 24 h the error reached 4e-8 relative at RelTol 1e-10, against
	// 4e-11 with the bound.
	MaxRate float64
	// Linear declares RHS linear in the amounts (no constant term): steady
	// states are then solved as a geometric series instead of by
	// repeating the dose interval until the state settles.
	Linear bool
	// Settings are the integrator's tolerances. If RelTol, AbsTol and
	// AbsTols are all zero, RelTol is 1e-10 and AbsTol 1e-12 mg (the
	// tolerances of the R references).
	Settings ode.Settings

	// rhsWith, if set, returns RHS with the infusion rates in rate (read
	// at every call) added: one call per evaluation instead of two, a
	// faster path for the built-in models.
	rhsWith func(rate []float64) ode.Func
	// dopri5 forces DoPri5 at any tolerance (to compare the methods).
	dopri5 bool
}

// Spec returns the compartments of the model for Validate and NewSchedule.
func (m ODEModel) Spec() Spec {
	return Spec{NumCmt: m.NumCmt, DoseCmt: m.DoseCmt, ObsCmt: m.ObsCmt, NoDose: m.NoDose}
}

// NewSchedule expands the records of one subject for this model: a
// shorthand for NewSchedule(recs, m.Spec(), d, opt).
func (m ODEModel) NewSchedule(recs []Record, d Dosing, opt ScheduleOptions) (*Schedule, error) {
	return NewSchedule(recs, m.Spec(), d, opt)
}

func (m ODEModel) check() error {
	if m.NumCmt < 1 {
		return fmt.Errorf("pkpd: ODEModel.NumCmt is %d, want >= 1", m.NumCmt)
	}
	if m.RHS == nil {
		return fmt.Errorf("pkpd: ODEModel.RHS is nil")
	}
	if !(m.MaxRate >= 0) || math.IsInf(m.MaxRate, 0) {
		return fmt.Errorf("pkpd: ODEModel.MaxRate is %g, want a finite value >= 0", m.MaxRate)
	}
	return nil
}

// tightRelTol is the largest RelTol at which the non-stiff ODE path uses
// DOP853 (when MaxRate is known): at tight tolerances the method of order 8
// needs far fewer evaluations of f than DoPri5 (Hairer, Nørsett, Wanner,
// Solving ODEs I, §II.10; on reference case f at RelTol 1e-10, 2.5 times
// fewer and 4 to 5 times less time, see BenchmarkPopsimODE). It ends its
// steps at the output times (ode.Observer.StepToTimes), so that every
// output is under its error control: on case f its continuous extension
// was 25 times less accurate than its steps (5e-10 against 2e-11).
const tightRelTol = 1e-7

// d8StableStep bounds h·MaxRate for DOP853, inside its real stability
// interval of length about 6.1 (the threshold of h·λ at which Hairer's
// DOP853 code reports stiffness, Solving ODEs I, §II.10 and §IV.2), with a
// margin.
const d8StableStep = 5

// odeStepper integrates an ODEModel between events.
type odeStepper struct {
	m     ODEModel
	rate  []float64
	integ interface {
		Solve(y []float64, t0, t1 float64, obs ode.Observer) (ode.Result, error)
	}
	emit   func(int, []float64)
	k      int
	output func(float64, []float64)
	// stepToTimes ends steps at the output times (DOP853, whose long
	// steps make its dense output less accurate than its steps).
	stepToTimes bool
}

func newODEStepper(m ODEModel) *odeStepper {
	st := &odeStepper{m: m, rate: make([]float64, m.NumCmt)}
	f := func(dy []float64, t float64, y []float64) {
		m.RHS(dy, t, y)
		for i, r := range st.rate {
			dy[i] += r
		}
	}
	if m.rhsWith != nil {
		f = m.rhsWith(st.rate)
	}
	set := m.Settings
	if set.RelTol == 0 && set.AbsTol == 0 && set.AbsTols == nil {
		set.RelTol, set.AbsTol = 1e-10, 1e-12
	}
	switch {
	case m.Stiff:
		st.integ = ode.NewRodas4(f, m.Jac, m.NumCmt, set)
	case set.RelTol != 0 && set.RelTol <= tightRelTol && m.MaxRate > 0 && !m.dopri5:
		if hs := d8StableStep / m.MaxRate; set.MaxStep == 0 || set.MaxStep > hs {
			set.MaxStep = hs
		}
		st.integ = ode.NewDOP853(f, m.NumCmt, set)
		st.stepToTimes = true
	default:
		st.integ = ode.NewDoPri5(f, m.NumCmt, set)
	}
	st.output = func(_ float64, y []float64) {
		st.emit(st.k, y)
		st.k++
	}
	return st
}

func (st *odeStepper) linear() bool { return st.m.Linear }

func (st *odeStepper) step(y []float64, t0, t1 float64, rate []float64, out []float64, emit func(int, []float64)) error {
	copy(st.rate, rate)
	if t1 == t0 {
		for k := range out {
			emit(k, y)
		}
		return nil
	}
	obs := ode.Observer{}
	if len(out) > 0 {
		st.emit, st.k = emit, 0
		obs.Times, obs.Output, obs.StepToTimes = out, st.output, st.stepToTimes
	}
	if _, err := st.integ.Solve(y, t0, t1, obs); err != nil {
		return fmt.Errorf("pkpd: %w", err)
	}
	return nil
}

// Simulate runs the schedule s and returns the amounts (mg) in every
// compartment at times (h, non-decreasing, left limits) and at the
// schedule's observation records.
func (m ODEModel) Simulate(s *Schedule, times []float64) (*Profile, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if s.NumCmt != m.NumCmt {
		return nil, fmt.Errorf("pkpd: schedule has %d compartments, the model %d", s.NumCmt, m.NumCmt)
	}
	return simulateProfile(newODEStepper(m), s, times)
}

// Predict returns the concentration in mg/L of ObsCmt (amount / Volume) at
// times (h, non-decreasing, left limits).
func (m ODEModel) Predict(s *Schedule, times []float64) ([]float64, error) {
	if !(m.Volume > 0) {
		return nil, fmt.Errorf("pkpd: ODEModel.Volume is %g, want > 0", m.Volume)
	}
	if m.ObsCmt < 1 || m.ObsCmt > m.NumCmt {
		return nil, fmt.Errorf("pkpd: ODEModel.ObsCmt is %d, want 1..%d", m.ObsCmt, m.NumCmt)
	}
	prof, err := m.Simulate(s, times)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(times))
	for i := range out {
		out[i] = prof.Amount(i, m.ObsCmt) / m.Volume
	}
	return out, nil
}

// LinearODE returns the Linear model m with parameters p as an ODEModel,
// with the same compartments, to solve it on the ODE path (for instance to
// cross-check the closed form).
func LinearODE(m Linear, p Params) (ODEModel, error) {
	if err := m.check(p); err != nil {
		return ODEModel{}, err
	}
	mc := m.Micro(p)
	o := 0
	if m.Depot {
		o = 1
	}
	np := m.Peripherals
	ke, ka, k12, k21, k13, k31 := mc.K10+mc.K12+mc.K13, mc.KA, mc.K12, mc.K21, mc.K13, mc.K31
	rhsWith := func(rate []float64) ode.Func {
		return func(dy []float64, _ float64, a []float64) {
			c := a[o]
			dc := rate[o] - ke*c
			if o == 1 {
				in := ka * a[0]
				dy[0] = rate[0] - in
				dc += in
			}
			if np >= 1 {
				p := a[o+1]
				dc += k21 * p
				dy[o+1] = rate[o+1] + k12*c - k21*p
			}
			if np >= 2 {
				p := a[o+2]
				dc += k31 * p
				dy[o+2] = rate[o+2] + k13*c - k31*p
			}
			dy[o] = dc
		}
	}
	spec := m.Spec()
	rhs := rhsWith(make([]float64, spec.NumCmt))
	// The largest absolute row sum of the Jacobian: the depot, central and
	// peripheral rows.
	maxRate := math.Max(ka, ke+k21+k31+ka)
	maxRate = math.Max(maxRate, math.Max(k12+k21, k13+k31))
	return ODEModel{
		NumCmt: spec.NumCmt, DoseCmt: spec.DoseCmt, ObsCmt: spec.ObsCmt,
		Volume: p.V1, RHS: rhs, Linear: true, MaxRate: maxRate, rhsWith: rhsWith,
	}, nil
}

// MichaelisMenten is a 1-compartment model with saturable (Michaelis-
// Menten) elimination, optionally in parallel with a linear clearance and
// with a first-order absorption depot:
//
//	dA/dt = input − Vmax·C/(Km + C) − CL·C,  C = A/V
//
// Compartments: with a depot, CMT 1 is the depot and CMT 2 the central
// compartment; without, CMT 1 is the central compartment.
type MichaelisMenten struct {
	Vmax  float64 // maximal elimination rate, mg/h
	Km    float64 // concentration at half Vmax, mg/L
	V     float64 // volume, L
	CL    float64 // linear clearance in parallel, L/h (may be 0)
	KA    float64 // absorption rate constant, 1/h (with Depot)
	Depot bool
}

// ODE returns the model as an ODEModel.
func (p MichaelisMenten) ODE() (ODEModel, error) {
	for _, f := range []struct {
		name string
		v    float64
		zero bool
	}{{"Vmax", p.Vmax, false}, {"Km", p.Km, false}, {"V", p.V, false}, {"CL", p.CL, true}, {"KA", p.KA, !p.Depot}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 || (f.v == 0 && !f.zero) {
			return ODEModel{}, fmt.Errorf("pkpd: Michaelis-Menten parameter %s is %g, want a finite value > 0", f.name, f.v)
		}
	}
	o := 0
	if p.Depot {
		o = 1
	}
	rhs := func(dy []float64, _ float64, a []float64) {
		in := 0.0
		if o == 1 {
			dy[0] = -p.KA * a[0]
			in = p.KA * a[0]
		}
		c := a[o] / p.V
		dy[o] = in - p.Vmax*c/(p.Km+c) - p.CL*c
	}
	// |∂(dA/dt)/∂A| = Vmax·Km/(V·(Km+C)²) + CL/V <= Vmax/(V·Km) + CL/V,
	// plus KA in the central row from the depot (0 without one).
	maxRate := p.KA + p.Vmax/(p.V*p.Km) + p.CL/p.V
	return ODEModel{NumCmt: 1 + o, DoseCmt: 1, ObsCmt: 1 + o, Volume: p.V, RHS: rhs, MaxRate: maxRate}, nil
}

// Transit is a 1-compartment model with transit-compartment absorption
// (Savic, Jonker, Kerbusch, Karlsson, J Pharmacokinet Pharmacodyn
// 2007;34:711-726): a dose enters the first of N+1 transit compartments in
// a chain with rate constant ktr = (N+1)/MTT, the last of which feeds an
// absorption compartment emptied into the central compartment with rate KA.
// The flux out of the chain after a dose D at 0 is Savic's input function
// D·ktr·(ktr·t)^N·e^(−ktr·t)/N! (exact here, N an integer; Savic's paper
// approximates N! by Stirling's formula to allow a continuous N, which this
// chain does not).
//
// Compartments: CMT 1..N+1 the chain (doses into CMT 1), CMT N+2 the
// absorption compartment, CMT N+3 the central compartment.
type Transit struct {
	N   int     // transit compartments between the dose and the absorption compartment, >= 0
	MTT float64 // mean transit time, h
	KA  float64 // absorption rate constant, 1/h
	CL  float64 // clearance, L/h
	V   float64 // central volume, L
}

// Ktr returns the transit rate constant (N+1)/MTT in 1/h.
func (p Transit) Ktr() float64 { return float64(p.N+1) / p.MTT }

// ODE returns the model as an ODEModel.
func (p Transit) ODE() (ODEModel, error) {
	if p.N < 0 || p.N > 1000 {
		return ODEModel{}, fmt.Errorf("pkpd: transit parameter N is %d, want 0..1000", p.N)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"MTT", p.MTT}, {"KA", p.KA}, {"CL", p.CL}, {"V", p.V}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return ODEModel{}, fmt.Errorf("pkpd: transit parameter %s is %g, want a finite value > 0", f.name, f.v)
		}
	}
	ktr, ka, k := p.Ktr(), p.KA, p.CL/p.V
	nc := p.N + 1
	rhs := func(dy []float64, _ float64, a []float64) {
		dy[0] = -ktr * a[0]
		for i := 1; i < nc; i++ {
			dy[i] = ktr * (a[i-1] - a[i])
		}
		dy[nc] = ktr*a[nc-1] - ka*a[nc]
		dy[nc+1] = ka*a[nc] - k*a[nc+1]
	}
	// The largest absolute row sum of the Jacobian.
	maxRate := math.Max(2*ktr, math.Max(ktr+ka, ka+k))
	return ODEModel{NumCmt: nc + 2, DoseCmt: 1, ObsCmt: nc + 2, Volume: p.V, RHS: rhs, Linear: true, MaxRate: maxRate}, nil
}
