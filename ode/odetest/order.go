package odetest

import (
	"fmt"
	"math"

	"github.com/doppelhealth/doppel/ode"
)

// Order estimates the order of convergence of a method on p: for each x in
// xs it builds an integrator with newIntegrator(p.Problem, x), integrates
// p from T0 to T1, and returns the least-squares slope of log(Error) against
// log(x). With x the step size of a fixed-step method the slope is its order
// (4 for RK4); with x the tolerance of an adaptive method it shows how the
// error follows the tolerance. The xs must be positive, at least two and
// small enough that the error is dominated by its leading term, yet large
// enough that it stays well above rounding error.
func Order(newIntegrator func(p ode.Problem, x float64) Integrator, p Problem, xs []float64) (float64, error) {
	if len(xs) < 2 {
		return 0, fmt.Errorf("odetest: Order needs at least 2 values, got %d", len(xs))
	}
	lx := make([]float64, len(xs))
	le := make([]float64, len(xs))
	for i, x := range xs {
		if !(x > 0) {
			return 0, fmt.Errorf("odetest: Order: xs[%d] = %v, want > 0", i, x)
		}
		y := p.Start()
		if err := newIntegrator(p.Problem, x).Integrate(y, p.T0, p.T1); err != nil {
			return 0, fmt.Errorf("odetest: Order: %s with x = %v: %w", p.Name, x, err)
		}
		e := p.Error(y)
		if !(e > 0) || math.IsInf(e, 0) {
			return 0, fmt.Errorf("odetest: Order: %s with x = %v: error %v, want finite and > 0", p.Name, x, e)
		}
		lx[i], le[i] = math.Log(x), math.Log(e)
	}
	return slope(lx, le), nil
}

// slope is the least-squares slope of ys against xs.
func slope(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	return sxy / sxx
}
