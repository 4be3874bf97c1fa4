package ode

import (
	"errors"
	"fmt"
	"math"
)

// Func evaluates the derivative of the system at time t and state y into dy.
// It must not retain dy or y, and must not modify y.
type Func func(dy []float64, t float64, y []float64)

// Jacobian evaluates the Jacobian matrix ∂f/∂y of a system at time t and
// state y into dst, an n×n matrix in row-major order:
// dst[i*n+j] = ∂f_i/∂y_j. It must not retain dst or y, and must not modify y.
type Jacobian func(dst []float64, t float64, y []float64)

// Problem is an initial-value problem y' = F(t, y), y(T0) = Y0. Jac, the
// Jacobian of F, is optional; stiff methods approximate it by finite
// differences when it is nil. Package ode/odetest describes its test problems
// and builds the integrators it checks from a Problem.
type Problem struct {
	F   Func
	Jac Jacobian
	T0  float64
	Y0  []float64
}

// Stats counts the work an integrator did.
type Stats struct {
	Steps          int // accepted steps
	Rejected       int // rejected steps (adaptive methods)
	Evals          int // evaluations of F, including those for finite differences
	Jacobians      int // evaluations of the Jacobian, analytic or by finite differences (stiff methods)
	Factorizations int // LU factorizations (stiff methods)
}

func (s *Stats) add(o Stats) {
	s.Steps += o.Steps
	s.Rejected += o.Rejected
	s.Evals += o.Evals
	s.Jacobians += o.Jacobians
	s.Factorizations += o.Factorizations
}

// Errors returned by the integrators. They are wrapped with the time at which
// the integration failed; test for them with errors.Is.
var (
	ErrStepSize  = errors.New("ode: step size underflow")
	ErrMaxSteps  = errors.New("ode: too many steps")
	ErrNotFinite = errors.New("ode: state is not finite")
	ErrSingular  = errors.New("ode: iteration matrix is repeatedly singular")
	ErrInterval  = errors.New("ode: invalid integration interval")
)

// Defaults of Settings.
const (
	DefaultRelTol   = 1e-6
	DefaultAbsTol   = 1e-9
	DefaultMaxSteps = 100000
)

// Settings configures the adaptive integrators DoPri5, DOP853 and Rodas4. The zero
// value is valid: every zero field takes the documented default.
//
// The step-size controller keeps, for every component i,
// |err_i| <= AbsTol_i + RelTol*max(|y_i(t)|, |y_i(t+h)|) in the root-mean-square
// norm over components (Hairer, Nørsett, Wanner, Solving ODEs I, §II.4).
type Settings struct {
	// RelTol is the relative tolerance; 0 means DefaultRelTol (1e-6). It
	// must be at least 1e-14.
	RelTol float64
	// AbsTol is the absolute tolerance of every component; 0 means
	// DefaultAbsTol (1e-9).
	AbsTol float64
	// AbsTols, if not nil, holds one positive absolute tolerance per
	// component and overrides AbsTol.
	AbsTols []float64
	// InitialStep is the first trial step of every call; 0 means Hairer's
	// heuristic (Solving ODEs I, §II.4, "Starting step size"), which costs
	// one evaluation of f per call.
	InitialStep float64
	// MaxStep bounds the step size; 0 means no bound other than the
	// integration interval.
	MaxStep float64
	// MaxSteps bounds the number of step attempts (accepted and rejected) in
	// one call; 0 means DefaultMaxSteps (100000).
	MaxSteps int
}

// resolved is a validated Settings with defaults filled in.
type resolved struct {
	rtol     float64
	atol     []float64 // one per component
	h0, hmax float64   // 0: heuristic / unbounded
	maxSteps int
}

func (s Settings) resolve(n int) (resolved, error) {
	r := resolved{rtol: s.RelTol, h0: s.InitialStep, hmax: s.MaxStep, maxSteps: s.MaxSteps, atol: make([]float64, n)}
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("ode: Settings.%s = %v, want %s", field, v, want)
	}
	switch {
	case r.rtol == 0:
		r.rtol = DefaultRelTol
	case !(r.rtol >= 1e-14) || math.IsInf(r.rtol, 0):
		return r, bad("RelTol", s.RelTol, "a finite value >= 1e-14 (or 0 for the default)")
	}
	atol := s.AbsTol
	switch {
	case atol == 0:
		atol = DefaultAbsTol
	case !(atol > 0) || math.IsInf(atol, 0):
		return r, bad("AbsTol", s.AbsTol, "a finite value > 0 (or 0 for the default)")
	}
	if s.AbsTols != nil {
		if len(s.AbsTols) != n {
			return r, fmt.Errorf("ode: Settings.AbsTols has %d components, want %d", len(s.AbsTols), n)
		}
		for i, v := range s.AbsTols {
			if !(v > 0) || math.IsInf(v, 0) {
				return r, bad(fmt.Sprintf("AbsTols[%d]", i), v, "a finite value > 0")
			}
		}
		copy(r.atol, s.AbsTols)
	} else {
		for i := range r.atol {
			r.atol[i] = atol
		}
	}
	if !(r.h0 >= 0) || math.IsInf(r.h0, 0) {
		return r, bad("InitialStep", s.InitialStep, "a finite value >= 0")
	}
	if !(r.hmax >= 0) || math.IsInf(r.hmax, 0) {
		return r, bad("MaxStep", s.MaxStep, "a finite value >= 0")
	}
	switch {
	case r.maxSteps == 0:
		r.maxSteps = DefaultMaxSteps
	case r.maxSteps < 0:
		return r, bad("MaxSteps", s.MaxSteps, ">= 0")
	}
	return r, nil
}

// checkInterval reports whether [t0, t1] is a valid forward interval.
func checkInterval(t0, t1 float64) error {
	if math.IsNaN(t0) || math.IsInf(t0, 0) || math.IsNaN(t1) || math.IsInf(t1, 0) {
		return fmt.Errorf("%w: [%v, %v] is not finite", ErrInterval, t0, t1)
	}
	if t1 < t0 {
		return fmt.Errorf("%w: t1 = %v is before t0 = %v (integration is forward only)", ErrInterval, t1, t0)
	}
	return nil
}

func allFinite(y []float64) bool {
	for _, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// errNorm is the root-mean-square norm of e scaled component-wise by
// atol_i + rtol*max(|y0_i|, |y1_i|). A NaN norm is reported as +Inf so that
// the step-size controller rejects the step.
func errNorm(e, y0, y1, atol []float64, rtol float64) float64 {
	var sum float64
	for i, v := range e {
		sk := atol[i] + rtol*math.Max(math.Abs(y0[i]), math.Abs(y1[i]))
		r := v / sk
		sum += r * r
	}
	err := math.Sqrt(sum / float64(len(e)))
	if math.IsNaN(err) {
		return math.Inf(1)
	}
	return err
}

// initialStep is Hairer's starting step-size heuristic (Hairer, Nørsett,
// Wanner, Solving ODEs I, 2nd ed., §II.4, "Starting step size") for a method whose local
// error estimate is O(h^q), in root-mean-square norms. f0 = f(t0, y0); y1 and
// f1 are scratch. It costs one evaluation of f.
func initialStep(f Func, t0 float64, y0, f0, y1, f1, atol []float64, rtol float64, q int, hmax float64) float64 {
	n := float64(len(y0))
	var d0, d1 float64
	for i := range y0 {
		sk := atol[i] + rtol*math.Abs(y0[i])
		d0 += (y0[i] / sk) * (y0[i] / sk)
		d1 += (f0[i] / sk) * (f0[i] / sk)
	}
	d0, d1 = math.Sqrt(d0/n), math.Sqrt(d1/n)
	// With an absolute tolerance far below the state's scale the weighted
	// norms can overflow and the heuristic give 0; never start below hmin,
	// from which the step-size controller grows the step in a few steps.
	hmin := math.Min(16*epsilon*math.Max(math.Abs(t0), 1), hmax)
	h0 := 1e-6
	if d0 > 1e-5 && d1 > 1e-5 {
		h0 = 0.01 * d0 / d1
	}
	if !(h0 >= hmin) {
		h0 = hmin
	}
	h0 = math.Min(h0, hmax)
	for i := range y0 {
		y1[i] = y0[i] + h0*f0[i]
	}
	f(f1, t0+h0, y1)
	var d2 float64
	for i := range y0 {
		sk := atol[i] + rtol*math.Abs(y0[i])
		r := (f1[i] - f0[i]) / sk
		d2 += r * r
	}
	d2 = math.Sqrt(d2/n) / h0
	var h1 float64
	if m := math.Max(d1, d2); m <= 1e-15 || math.IsNaN(m) {
		h1 = math.Max(1e-6, h0*1e-3)
	} else {
		h1 = math.Pow(0.01/m, 1/float64(q))
	}
	h := math.Min(math.Min(100*h0, h1), hmax)
	if !(h >= hmin) {
		h = hmin
	}
	return h
}
