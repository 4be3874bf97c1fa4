package t1d

import (
	"fmt"
	"math"

	"github.com/doppelhealth/doppel/ode"
)

// EatRate is the rate at which a patient eats announced carbohydrate, g/min
// (simglucose T1DPatient.EAT_RATE): a 45 g meal is eaten over 9 minutes.
const EatRate = 5.0

// DefaultStep is the RK4 step, in minutes, used when no Method is given.
// MODEL.md §11 requires h ≤ 0.25 min for the 1e-3 mg/dL accuracy bar on the
// closed-loop references (h = 1 min misses it on adolescent#001); the
// validation suite and TestStepConvergence measure the margin on all 30
// patients.
const DefaultStep = 0.25

// Integrator advances the state y in place from t0 to t1. *ode.RK4 and
// *ode.DoPri5 implement it. The patient model calls it once per simulated
// minute, with the inputs constant over the minute.
type Integrator interface {
	Integrate(y []float64, t0, t1 float64) error
}

// Method builds the Integrator for the patient ODE with derivative function
// f and n states. A nil Method means RK4(DefaultStep).
type Method func(f ode.Func, n int) Integrator

// RK4 returns the Method that integrates with the classical fixed-step
// Runge-Kutta method of step h minutes (0 < h ≤ 1; the last step of each
// minute is shortened to land on the minute).
func RK4(h float64) Method {
	return func(f ode.Func, n int) Integrator { return ode.NewRK4(f, n, h) }
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
	p     Params
	rhs   *derivative
	integ Integrator
	s     PatientState
	x     []float64 // working copy of s.X passed to the integrator
}

// NewPatientModel returns the model of patient p in its initial state p.X0
// at t = 0, integrated with method (nil: RK4(DefaultStep)).
func NewPatientModel(p Params, method Method) (*PatientModel, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if method == nil {
		method = RK4(DefaultStep)
	}
	m := &PatientModel{p: p, rhs: newDerivative(p), x: make([]float64, NumStates)}
	m.integ = method(m.rhs.eval, NumStates)
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
	if err := m.integ.Integrate(m.x, s.T, s.T+1); err != nil {
		return fmt.Errorf("t1d: %s at t = %v min: %w", m.p.Name, s.T, err)
	}
	copy(s.X[:], m.x)
	s.T++
	m.s = s
	return nil
}

// derivative is the right-hand side of the patient ODE with its constants
// precomputed and the inputs of the current minute.
type derivative struct {
	kmax, kmin, kabs        float64
	halfDk                  float64 // (kmax − kmin)/2
	fkabsBW                 float64 // f·kabs/BW
	kp1, kp2, kp3           float64
	fsnc, ke1, ke2          float64
	k1, k2                  float64
	vm0, vmx, km0           float64
	m1, m2m4, m1m30, m2     float64
	ka1, ka2, kd, ka1kd     float64
	p2u, vi, ib, ki, ksc    float64
	b, d, u2pmol            float64 // u2pmol = 6000/BW converts U/min to pmol/kg/min
	din, u                  float64 // inputs: eaten glucose mg/min, insulin pmol/kg/min
	gutDyn                  bool    // Dbar > 0: kgut depends on the stomach content
	alpha, beta, bDbar, dDb float64
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
		r.alpha = 5 / (2 * dbar * (1 - r.b))
		r.beta = 5 / (2 * dbar * r.d)
		r.bDbar = r.b * dbar
		r.dDb = r.d * dbar
	}
}

// eval writes dx/dt at state x into dy (MODEL.md §2). It allocates nothing.
func (r *derivative) eval(dy []float64, _ float64, x []float64) {
	_ = dy[12]
	_ = x[12]
	qsto := x[0] + x[1]
	kgut := r.kmax
	if r.gutDyn {
		kgut = r.kmin + r.halfDk*(math.Tanh(r.alpha*(qsto-r.bDbar))-math.Tanh(r.beta*(qsto-r.dDb))+2)
	}
	dy[0] = -r.kmax*x[0] + r.din
	dy[1] = r.kmax*x[0] - x[1]*kgut
	dy[2] = kgut*x[1] - r.kabs*x[2]

	ra := r.fkabsBW * x[2]
	egp := r.kp1 - r.kp2*x[3] - r.kp3*x[8]
	if egp < 0 {
		egp = 0
	}
	e := 0.0
	if x[3] > r.ke2 {
		e = r.ke1 * (x[3] - r.ke2)
	}
	dy[3] = egp + ra - r.fsnc - e - r.k1*x[3] + r.k2*x[4]
	uid := (r.vm0 + r.vmx*x[6]) * x[4] / (r.km0 + x[4])
	dy[4] = -uid + r.k1*x[3] - r.k2*x[4]

	dy[5] = -r.m2m4*x[5] + r.m1*x[9] + r.ka1*x[10] + r.ka2*x[11]
	it := x[5] / r.vi
	dy[6] = -r.p2u*x[6] + r.p2u*(it-r.ib)
	dy[7] = -r.ki * (x[7] - it)
	dy[8] = -r.ki * (x[8] - x[7])
	dy[9] = -r.m1m30*x[9] + r.m2*x[5]
	dy[10] = r.u - r.ka1kd*x[10]
	dy[11] = r.kd*x[10] - r.ka2*x[11]
	dy[12] = -r.ksc*x[12] + r.ksc*x[3]

	// Compartments that hold mass stop changing once negative (simglucose).
	for _, i := range [...]int{3, 4, 5, 9, 10, 11, 12} {
		if x[i] < 0 {
			dy[i] = 0
		}
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
