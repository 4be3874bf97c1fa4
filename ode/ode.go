package ode

import "errors"

// Func evaluates the derivative of the system at time t and state y into dy.
// It must not retain dy or y, and must not modify y.
type Func func(dy []float64, t float64, y []float64)

// Problem is an initial-value problem y' = F(t, y), y(T0) = Y0.
type Problem struct {
	F  Func
	T0 float64
	Y0 []float64
}

// Stats counts the work an integrator did since it was built.
type Stats struct {
	Steps    int // accepted steps
	Rejected int // rejected steps (adaptive methods)
	Evals    int // evaluations of F
}

// Errors returned by the integrators.
var (
	ErrStepSize  = errors.New("ode: step size underflow")
	ErrMaxSteps  = errors.New("ode: too many steps")
	ErrNotFinite = errors.New("ode: state is not finite")
)
