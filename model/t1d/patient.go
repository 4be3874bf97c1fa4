package t1d

import (
	"fmt"
	"math"

	"github.com/doppelhealth/doppel/ode"
)

// EatRate is the rate at which a patient eats announced carbohydrate, g/min
// (simglucose T1DPatient.EAT_RATE): a 45 g meal is eaten over 9 minutes.
const EatRate = 5.0

// Defaults of Method.
const (
	// DefaultStep is the RK4 step, min.
	DefaultStep = 0.5
	// DefaultRefine is the number of sub-intervals of a minute in which the
	// right-hand side is not smooth.
	DefaultRefine = 32
)

// Integrator advances the state y in place from t0 to t1. *ode.RK4 and
// *ode.DoPri5 implement it.
type Integrator interface {
	Integrate(y []float64, t0, t1 float64) error
}

// Method says how the patient ODE is integrated over each minute, during
// which the inputs are constant. The zero value is the default: RK4 with
// step DefaultStep, refined to DefaultRefine sub-intervals in the minutes
// where the right-hand side is not smooth.
//
// Why refine: the gastric-emptying rate switches steeply when the stomach
// content crosses b·Dbar, which happens within every minute in which the
// patient eats, and the right-hand side has kinks where plasma glucose
// crosses the renal threshold ke2 and where endogenous production reaches 0.
// A fixed step loses its order there. So a minute in which the patient eats
// is integrated as Refine equal sub-intervals, and a minute whose start and
// end states lie on different sides of a kink is integrated again that way.
// With the defaults, BG stays within 2e-5 mg/dL of a converged solution for
// all 30 patients on the standard day (TestMethodConvergence); plain RK4
// needs h = 0.125 min for 1.2e-4 (MODEL.md §11 asks h ≤ 0.25 min).
type Method struct {
	// New builds the integrator for the derivative f of n states; it is
	// called once per PatientModel. Nil means ode.NewRK4(f, n, Step).
	New func(f ode.Func, n int) Integrator
	// Step is the RK4 step, min, when New is nil; 0 means DefaultStep.
	Step float64
	// Refine is the number of sub-intervals of a minute that is not smooth;
	// 0 means DefaultRefine and 1 turns refinement off.
	Refine int
}

// RK4 returns the Method that integrates with the classical fixed-step
// Runge-Kutta method of step h minutes and no refinement (the last step of
// each minute is shortened to land on the minute).
func RK4(h float64) Method { return Method{Step: h, Refine: 1} }

// DoPri5 returns the Method that integrates each minute with the adaptive
// Dormand-Prince 5(4) method of package ode, restarted every minute and not
// refined, as simglucose does with scipy's dopri5 (there rtol 1e-6, atol
// 1e-12).
func DoPri5(s ode.Settings) Method {
	return Method{Refine: 1, New: func(f ode.Func, n int) Integrator { return ode.NewDoPri5(f, n, s) }}
}

func (m Method) resolve() (Method, error) {
	if m.Refine == 0 {
		m.Refine = DefaultRefine
	}
	if m.Refine < 1 || m.Refine > 1000 {
		return m, fmt.Errorf("t1d: Method.Refine = %d, want 1 to 1000 (or 0 for %d)", m.Refine, DefaultRefine)
	}
	if m.New == nil {
		if m.Step == 0 {
			m.Step = DefaultStep
		}
		if !finite(m.Step) || m.Step <= 0 || m.Step > 1 {
			return m, fmt.Errorf("t1d: Method.Step = %v min, want 0 < Step ≤ 1 (or 0 for %v)", m.Step, DefaultStep)
		}
		h := m.Step
		m.New = func(f ode.Func, n int) Integrator { return ode.NewRK4(f, n, h) }
	}
	return m, nil
}

// PatientState is a snapshot of a PatientModel: the ODE state and the
// eating-logic memory. It is a plain value; copying it copies everything, so
// a what-if run can branch from it with SetState.
type PatientState struct {
	T float64            // minutes since the start of the run
	X [NumStates]float64 // ODE state, units as in MODEL.md §2

	Planned       float64 // announced carbohydrate not yet eaten, g
	LastEaten     float64 // carbohydrate eaten during the previous minute, g
	LastQsto      float64 // stomach content when the current meal started, mg
	LastFoodTaken float64 // carbohydrate eaten since the current meal started, g
	Eating        bool    // a meal is in progress
}

// PatientModel is one virtual patient of the UVA/Padova S2008 model as
// simglucose's T1DPatient implements it: 13 ODE states (MODEL.md §2), the
// eating logic that turns announced carbohydrate into an eating rate and
// sets the gastric-emptying nonlinearity (§3), and one-minute steps with the
// inputs held constant. Build it with NewPatientModel.
type PatientModel struct {
	p      Params
	rhs    *derivative
	integ  Integrator
	refine int
	s      PatientState
	x      []float64 // working copy of s.X passed to the integrator
}

// NewPatientModel returns the model of patient p in its initial state p.X0
// at t = 0, integrated with method (the zero Method is the default).
func NewPatientModel(p Params, method Method) (*PatientModel, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	method, err := method.resolve()
	if err != nil {
		return nil, err
	}
	m := &PatientModel{p: p, rhs: newDerivative(p), x: make([]float64, NumStates), refine: method.Refine}
	m.integ = method.New(m.rhs.eval, NumStates)
	m.Reset()
	return m, nil
}

// Reset puts the model back to its initial state p.X0 at t = 0, with no meal
// in progress (simglucose T1DPatient.reset without random initial glucose).
func (m *PatientModel) Reset() {
	m.s = PatientState{X: m.p.X0, LastQsto: m.p.X0[0] + m.p.X0[1]}
}

// Params returns the patient's parameters.
func (m *PatientModel) Params() Params { return m.p }

// SetParams replaces the patient's parameters and keeps the state, for
// estimators that adapt parameters as data arrive (the particles of a
// filter). If p cannot be simulated it returns the error of NewPatientModel
// and leaves the model unchanged.
func (m *PatientModel) SetParams(p Params) error {
	if err := p.validate(); err != nil {
		return err
	}
	m.p = p
	*m.rhs = *newDerivative(p)
	return nil
}

// T returns the model time in minutes.
func (m *PatientModel) T() float64 { return m.s.T }

// X returns the ODE state.
func (m *PatientModel) X() [NumStates]float64 { return m.s.X }

// BG returns the subcutaneous glucose Gs/Vg in mg/dL: what simglucose calls
// BG and what a CGM sensor samples.
func (m *PatientModel) BG() float64 { return m.s.X[12] / m.p.Vg }

// PlasmaBG returns the plasma glucose Gp/Vg in mg/dL.
func (m *PatientModel) PlasmaBG() float64 { return m.s.X[3] / m.p.Vg }

// State returns a snapshot of the model.
func (m *PatientModel) State() PatientState { return m.s }

// SetState restores a snapshot taken with State (possibly of another model
// of the same patient). It returns an error naming the first non-finite or
// negative field.
func (m *PatientModel) SetState(s PatientState) error {
	if !finite(s.T) || s.T < 0 {
		return fmt.Errorf("t1d: state T = %v, want a finite time ≥ 0", s.T)
	}
	for i, v := range s.X {
		if !finite(v) {
			return fmt.Errorf("t1d: state X[%d] = %v is not finite", i, v)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"Planned", s.Planned}, {"LastEaten", s.LastEaten}, {"LastQsto", s.LastQsto}, {"LastFoodTaken", s.LastFoodTaken}} {
		if !finite(f.v) || f.v < 0 {
			return fmt.Errorf("t1d: state %s = %v, want a finite value ≥ 0", f.name, f.v)
		}
	}
	m.s = s
	return nil
}

// Step advances the model by one minute. announced is the carbohydrate
// announced at this minute (g; added to what is still to be eaten, which is
// eaten at EatRate), insulin the delivered insulin rate (U/min), both held
// constant over the minute. On error the state is left unchanged.
func (m *PatientModel) Step(announced, insulin float64) error {
	if !finite(announced) || announced < 0 {
		return fmt.Errorf("t1d: announced carbohydrate %v g, want a finite value ≥ 0", announced)
	}
	if !finite(insulin) || insulin < 0 {
		return fmt.Errorf("t1d: insulin rate %v U/min, want a finite value ≥ 0", insulin)
	}
	s := m.s

	// Announced meals are eaten at EatRate (simglucose _announce_meal).
	eat := 0.0
	s.Planned += announced
	if s.Planned > 0 {
		eat = math.Min(EatRate, s.Planned)
		s.Planned = math.Max(0, s.Planned-eat)
	}
	// Start and end of a meal set Dbar for the gastric-emptying nonlinearity.
	if eat > 0 && s.LastEaten <= 0 {
		s.LastQsto = s.X[0] + s.X[1]
		s.LastFoodTaken = 0
		s.Eating = true
	}
	if s.Eating {
		s.LastFoodTaken += eat
	}
	if eat <= 0 && s.LastEaten > 0 {
		s.Eating = false
	}
	s.LastEaten = eat

	m.rhs.setInputs(eat, insulin, s.LastQsto+s.LastFoodTaken*1000)
	copy(m.x, s.X[:])
	sub := 1
	if eat > 0 {
		sub = m.refine
	}
	if err := m.integrate(s.T, sub); err != nil {
		return err
	}
	if sub < m.refine && m.rhs.kinked(s.X[:], m.x) {
		copy(m.x, s.X[:])
		if err := m.integrate(s.T, m.refine); err != nil {
			return err
		}
	}
	copy(s.X[:], m.x)
	s.T++
	m.s = s
	return nil
}

// integrate advances m.x over the minute starting at t in sub equal
// sub-intervals.
func (m *PatientModel) integrate(t float64, sub int) error {
	for i := range sub {
		t0 := t + float64(i)/float64(sub)
		t1 := t + float64(i+1)/float64(sub)
		if err := m.integ.Integrate(m.x, t0, t1); err != nil {
			return fmt.Errorf("t1d: %s at t = %v min: %w", m.p.Name, t, err)
		}
	}
	return nil
}

// kinked reports whether states x0 and x1 lie on different sides of a kink of
// the right-hand side: plasma glucose at the renal threshold or endogenous
// glucose production at 0.
func (r *derivative) kinked(x0, x1 []float64) bool {
	if (x0[3] > r.ke2) != (x1[3] > r.ke2) {
		return true
	}
	e0 := r.kp1 - r.kp2*x0[3] - r.kp3*x0[8]
	e1 := r.kp1 - r.kp2*x1[3] - r.kp3*x1[8]
	return (e0 > 0) != (e1 > 0)
}

// derivative is the right-hand side of the patient ODE with its constants
// precomputed and the inputs of the current minute.
type derivative struct {
	kmax, kmin, kabs     float64
	halfDk               float64 // (kmax − kmin)/2
	fkabsBW              float64 // f·kabs/BW
	kp1, kp2, kp3        float64
	fsnc, ke1, ke2       float64
	k1, k2               float64
	vm0, vmx, km0        float64
	m1, m2m4, m1m30, m2  float64
	ka1, ka2, kd, ka1kd  float64
	p2u, vi, ib, ki, ksc float64
	b, d, u2pmol         float64 // u2pmol = 6000/BW converts U/min to pmol/kg/min

	// Inputs of the current minute.
	din, u float64 // eaten glucose, mg/min; insulin, pmol/kg/min
	gutDyn bool    // Dbar > 0: kgut depends on the stomach content
	// tanh(α(Qsto − b·Dbar)) = 1 − 2/(1 + exp(2α·Qsto − 2α·b·Dbar)), and
	// likewise for β and d·Dbar (MODEL.md §2).
	a2, a2b, c2, c2d float64
}

func newDerivative(p Params) *derivative {
	return &derivative{
		kmax: p.Kmax, kmin: p.Kmin, kabs: p.Kabs, halfDk: (p.Kmax - p.Kmin) / 2,
		fkabsBW: p.F * p.Kabs / p.BW,
		kp1:     p.Kp1, kp2: p.Kp2, kp3: p.Kp3,
		fsnc: p.Fsnc, ke1: p.Ke1, ke2: p.Ke2,
		k1: p.K1, k2: p.K2,
		vm0: p.Vm0, vmx: p.Vmx, km0: p.Km0,
		m1: p.M1, m2m4: p.M2 + p.M4, m1m30: p.M1 + p.M30, m2: p.M2,
		ka1: p.Ka1, ka2: p.Ka2, kd: p.Kd, ka1kd: p.Ka1 + p.Kd,
		p2u: p.P2u, vi: p.Vi, ib: p.Ib, ki: p.Ki, ksc: p.Ksc,
		b: p.B, d: p.D, u2pmol: 6000 / p.BW,
	}
}

// setInputs sets the inputs held over the next minute: eaten carbohydrate
// (g/min), insulin (U/min) and Dbar (mg).
func (r *derivative) setInputs(eat, insulin, dbar float64) {
	r.din = eat * 1000
	r.u = insulin * r.u2pmol
	r.gutDyn = dbar > 0
	if r.gutDyn {
		alpha := 5 / (2 * dbar * (1 - r.b))
		beta := 5 / (2 * dbar * r.d)
		r.a2, r.a2b = 2*alpha, 2*alpha*(r.b*dbar)
		r.c2, r.c2d = 2*beta, 2*beta*(r.d*dbar)
	}
}

// kgut returns the gastric emptying rate at stomach content qsto (mg):
// kmin + (kmax−kmin)/2·(tanh(α(qsto − b·Dbar)) − tanh(β(qsto − d·Dbar)) + 2),
// computed with one exponential per tanh and one division.
func (r *derivative) kgut(qsto float64) float64 {
	// Beyond |2z| = 80, tanh(z) = ±1 to double precision; the clamp keeps
	// exp finite.
	ea := exp(min(max(r.a2*qsto-r.a2b, -80), 80))
	ec := exp(min(max(r.c2*qsto-r.c2d, -80), 80))
	// tanh(a) − tanh(c) = 2/(1+ec) − 2/(1+ea) = 2(ea − ec)/((1+ea)(1+ec)).
	return r.kmin + r.halfDk*(2*(ea-ec)/((1+ea)*(1+ec))+2)
}

// eval writes dx/dt at state x into dy (MODEL.md §2). It allocates nothing.
func (r *derivative) eval(dy []float64, _ float64, x []float64) {
	_ = dy[12]
	_ = x[12]
	kgut := r.kmax
	if r.gutDyn {
		kgut = r.kgut(x[0] + x[1])
	}
	dy[0] = -r.kmax*x[0] + r.din
	dy[1] = r.kmax*x[0] - x[1]*kgut
	dy[2] = kgut*x[1] - r.kabs*x[2]

	// Glucose: endogenous production (≥ 0), appearance, renal excretion
	// above ke2, insulin-independent and insulin-dependent utilisation.
	x3, x4 := x[3], x[4]
	egp := max(r.kp1-r.kp2*x3-r.kp3*x[8], 0)
	e := 0.0
	if x3 > r.ke2 {
		e = r.ke1 * (x3 - r.ke2)
	}
	dy[3] = egp + r.fkabsBW*x[2] - r.fsnc - e - r.k1*x3 + r.k2*x4
	dy[4] = -(r.vm0+r.vmx*x[6])*x4/(r.km0+x4) + r.k1*x3 - r.k2*x4
	if x3 < 0 {
		dy[3] = 0
	}
	if x4 < 0 {
		dy[4] = 0
	}

	// Insulin.
	it := x[5] / r.vi
	dy[5] = -r.m2m4*x[5] + r.m1*x[9] + r.ka1*x[10] + r.ka2*x[11]
	dy[6] = -r.p2u*x[6] + r.p2u*(it-r.ib)
	dy[7] = -r.ki * (x[7] - it)
	dy[8] = -r.ki * (x[8] - x[7])
	dy[9] = -r.m1m30*x[9] + r.m2*x[5]
	dy[10] = r.u - r.ka1kd*x[10]
	dy[11] = r.kd*x[10] - r.ka2*x[11]
	dy[12] = -r.ksc*x[12] + r.ksc*x3

	// Compartments that hold mass stop changing once negative (simglucose).
	if x[5] < 0 {
		dy[5] = 0
	}
	if x[9] < 0 {
		dy[9] = 0
	}
	if x[10] < 0 {
		dy[10] = 0
	}
	if x[11] < 0 {
		dy[11] = 0
	}
	if x[12] < 0 {
		dy[12] = 0
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// validate checks that the parameters can be simulated: finite, with
// positive volumes and body weight.
func (p Params) validate() error {
	vals := []struct {
		name string
		v    float64
	}{
		{"BW", p.BW}, {"Vg", p.Vg}, {"Vi", p.Vi}, {"Kmax", p.Kmax}, {"Kmin", p.Kmin}, {"Kabs", p.Kabs},
		{"B", p.B}, {"D", p.D}, {"F", p.F}, {"Kp1", p.Kp1}, {"Kp2", p.Kp2}, {"Kp3", p.Kp3}, {"Fsnc", p.Fsnc},
		{"Ke1", p.Ke1}, {"Ke2", p.Ke2}, {"K1", p.K1}, {"K2", p.K2}, {"Vm0", p.Vm0}, {"Vmx", p.Vmx},
		{"Km0", p.Km0}, {"M1", p.M1}, {"M2", p.M2}, {"M4", p.M4}, {"M30", p.M30}, {"Ka1", p.Ka1},
		{"Ka2", p.Ka2}, {"Kd", p.Kd}, {"P2u", p.P2u}, {"Ib", p.Ib}, {"Ki", p.Ki}, {"Ksc", p.Ksc},
		{"U2ss", p.U2ss},
	}
	for _, f := range vals {
		if !finite(f.v) {
			return fmt.Errorf("t1d: patient %q: parameter %s = %v is not finite", p.Name, f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"BW", p.BW}, {"Vg", p.Vg}, {"Vi", p.Vi}} {
		if f.v <= 0 {
			return fmt.Errorf("t1d: patient %q: parameter %s = %v, want > 0", p.Name, f.name, f.v)
		}
	}
	if p.B >= 1 || p.D <= 0 {
		return fmt.Errorf("t1d: patient %q: gastric-emptying shape B = %v, D = %v, want B < 1 and D > 0", p.Name, p.B, p.D)
	}
	for i, v := range p.X0 {
		if !finite(v) {
			return fmt.Errorf("t1d: patient %q: initial state X0[%d] = %v is not finite", p.Name, i, v)
		}
	}
	return nil
}
