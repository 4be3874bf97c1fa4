package ode

import "math"

// RK4 is the classical fourth-order Runge-Kutta method with a fixed step.
// The last step of an interval is shortened to land exactly on its end.
// Its zero value is not usable; build it with NewRK4.
type RK4 struct {
	f                  Func
	h                  float64
	k1, k2, k3, k4, yt []float64
	stats              Stats
}

// NewRK4 returns an RK4 integrator for an n-dimensional system with step h > 0.
// It panics if n < 1 or h is not positive (programmer errors).
func NewRK4(f Func, n int, h float64) *RK4 {
	if n < 1 || !(h > 0) {
		panic("ode: NewRK4 needs n >= 1 and h > 0")
	}
	buf := make([]float64, 5*n)
	return &RK4{f: f, h: h, k1: buf[:n], k2: buf[n : 2*n], k3: buf[2*n : 3*n], k4: buf[3*n : 4*n], yt: buf[4*n:]}
}

// Integrate advances y in place from t0 to t1 (t1 >= t0). It allocates nothing.
func (r *RK4) Integrate(y []float64, t0, t1 float64) error {
	n := len(r.k1)
	if len(y) != n {
		panic("ode: RK4.Integrate: state has the wrong dimension")
	}
	steps := int(math.Ceil((t1 - t0) / r.h * (1 - 1e-12)))
	for i := 0; i < steps; i++ {
		t := t0 + float64(i)*r.h
		h := r.h
		if i == steps-1 {
			h = t1 - t
		}
		r.step(y, t, h)
	}
	for _, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ErrNotFinite
		}
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
