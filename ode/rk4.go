package ode

import (
	"fmt"
	"math"
)

// RK4 is the classical fourth-order Runge-Kutta method with a fixed step
// (Hairer, Nørsett, Wanner, Solving ODEs I, §II.1).
// Each call of Integrate takes ceil((t1-t0)/h) steps, the last one shortened
// to land exactly on t1; step i starts at t0 + i*h, so times do not drift.
// After construction, calls allocate nothing. An RK4 is not safe for
// concurrent use. Its zero value is not usable; build it with NewRK4.
type RK4 struct {
	f                  Func
	h                  float64
	err                error
	k1, k2, k3, k4, yt []float64
	stats              Stats
}

// NewRK4 returns an RK4 integrator for an n-dimensional system with step h.
// A step h that is not positive and finite is reported by every call of
// Integrate. It panics if f is nil or n < 1 (programmer errors).
func NewRK4(f Func, n int, h float64) *RK4 {
	if f == nil || n < 1 {
		panic("ode: NewRK4 needs a non-nil f and n >= 1")
	}
	buf := make([]float64, 5*n)
	r := &RK4{f: f, h: h, k1: buf[:n:n], k2: buf[n : 2*n : 2*n], k3: buf[2*n : 3*n : 3*n], k4: buf[3*n : 4*n : 4*n], yt: buf[4*n:]}
	if !(h > 0) || math.IsInf(h, 0) {
		r.err = fmt.Errorf("ode: RK4 step h = %v, want a finite value > 0", h)
	}
	return r
}

// Integrate advances y in place from t0 to t1 (t1 >= t0). It allocates
// nothing. It returns an error wrapping ErrNotFinite if the state at t1 is
// not finite.
func (r *RK4) Integrate(y []float64, t0, t1 float64) error {
	n := len(r.k1)
	if len(y) != n {
		panic(fmt.Sprintf("ode: RK4: state has %d components, want %d", len(y), n))
	}
	if r.err != nil {
		return r.err
	}
	if err := checkInterval(t0, t1); err != nil {
		return err
	}
	steps := int(math.Ceil((t1 - t0) / r.h * (1 - 1e-12)))
	for i := range steps {
		t := t0 + float64(i)*r.h
		h := r.h
		if i == steps-1 {
			h = t1 - t
		}
		r.step(y, t, h)
	}
	if !allFinite(y) {
		return fmt.Errorf("%w: at t = %v", ErrNotFinite, t1)
	}
	return nil
}

func (r *RK4) step(y []float64, t, h float64) {
	k1, k2, k3, k4, yt := r.k1, r.k2, r.k3, r.k4, r.yt
	r.f(k1, t, y)
	for i := range yt {
		yt[i] = y[i] + h/2*k1[i]
	}
	r.f(k2, t+h/2, yt)
	for i := range yt {
		yt[i] = y[i] + h/2*k2[i]
	}
	r.f(k3, t+h/2, yt)
	for i := range yt {
		yt[i] = y[i] + h*k3[i]
	}
	r.f(k4, t+h, yt)
	for i := range y {
		y[i] += h / 6 * (k1[i] + 2*k2[i] + 2*k3[i] + k4[i])
	}
	r.stats.Steps++
	r.stats.Evals += 4
}

// Stats reports the work done since the integrator was built.
func (r *RK4) Stats() Stats { return r.stats }
