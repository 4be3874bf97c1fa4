package ode

import (
	"fmt"
	"math"
)

// stepper is the part of an adaptive integrator that is specific to its
// method: the stages, the error estimate, the step-size controller and the
// continuous extension. The driver, adaptive.solve, does the rest.
type stepper interface {
	interpolator
	// begin resets the method's state for a new call and returns the
	// buffer that receives f(t0, y0).
	begin() (f0 []float64)
	// try attempts the step of length h from (t, y), which ends at tn,
	// leaves the new solution in adaptive.y1 and returns the norm of its
	// error estimate (see errNorm): the step is accepted when errn <= 1.
	// ok is false when the attempt failed before estimating its error (a
	// singular iteration matrix); the driver then retries with h/2.
	try(y []float64, t, tn, h float64) (errn float64, ok bool, err error)
	// shrink returns the length of the next attempt after an attempt of
	// length h was rejected with errn > 1.
	shrink(h, errn float64) float64
	// accept takes the attempted step of length h from (t, y) with error
	// errn <= 1, before y is overwritten, and returns the proposed length of
	// the next step. If dense, it prepares the continuous extension of the
	// step for interpolate first.
	accept(y []float64, t, h, errn float64, dense bool) (hnew float64)
}

// adaptive is what DoPri5, DOP853 and Rodas4 share: the settings, the driver that
// chooses the steps and reports to an Observer, and the work counters. It
// provides their Integrate, Solve and Stats methods.
type adaptive struct {
	m     stepper // the method: the integrator that embeds this adaptive
	name  string  // the method's name, for messages
	order int     // order in h of the local error estimate, for initialStep
	reach float64 // a step that reaches within reach*h of t1 is set to end at t1
	f     Func
	n     int
	set   resolved
	err   error     // from Settings
	y1    []float64 // solution at the end of the attempted step
	w     []float64 // scratch for the method
	o     observer
	st    Stats // the work of the current call
	stats Stats // the work since construction
}

// setup prepares a for the method m, which embeds it, and returns a slab of
// size more floats for m's own buffers. It panics if f is nil or n < 1.
func (a *adaptive) setup(m stepper, name string, order int, reach float64, f Func, n int, s Settings, size int) slab {
	if f == nil || n < 1 {
		panic("ode: New" + name + " needs a non-nil f and n >= 1")
	}
	a.m, a.name, a.order, a.reach, a.f, a.n = m, name, order, reach, f, n
	a.set, a.err = s.resolve(n)
	buf := make(slab, 3*n+size)
	a.y1, a.w, a.o.y = buf.next(n), buf.next(n), buf.next(n)
	return buf
}

// slab hands out consecutive pieces of one allocation.
type slab []float64

// next returns the next m floats of s.
func (s *slab) next(m int) []float64 {
	v := (*s)[:m:m]
	*s = (*s)[m:]
	return v
}

// Integrate advances y in place from t0 to t1 (t1 >= t0). It allocates
// nothing. On error y holds the state at the last accepted step.
func (a *adaptive) Integrate(y []float64, t0, t1 float64) error {
	_, err := a.solve(y, t0, t1, nil)
	return err
}

// Solve advances y in place from t0 towards t1, reporting to obs the solution
// at its output times and at event crossings, and stops at t1 or at the first
// terminal event. y then holds the state at Result.T. It allocates only when
// obs has more events than any earlier call (to size its buffers); obs is
// not retained after the call. Invalid fields of obs are errors, named.
func (a *adaptive) Solve(y []float64, t0, t1 float64, obs Observer) (Result, error) {
	if err := validateObserver(&obs); err != nil {
		return Result{T: t0, Event: -1}, err
	}
	return a.solve(y, t0, t1, &obs)
}

// Stats reports the work done since the integrator was built.
func (a *adaptive) Stats() Stats { return a.stats }

// solve is the driver of the adaptive methods: it chooses the first step,
// attempts steps with a.m, rejects or accepts them, and reports accepted
// steps to the observer.
func (a *adaptive) solve(y []float64, t0, t1 float64, obs *Observer) (res Result, err error) {
	if len(y) != a.n {
		panic(fmt.Sprintf("ode: %s: state has %d components, want %d", a.name, len(y), a.n))
	}
	res = Result{T: t0, Event: -1}
	if a.err != nil {
		return res, a.err
	}
	if err := checkInterval(t0, t1); err != nil {
		return res, err
	}
	a.st = Stats{}
	defer func() {
		res.Stats = a.st
		a.stats.add(a.st)
		a.o.stop()
	}()
	if t1 == t0 {
		return res, nil
	}
	if !allFinite(y) {
		return res, fmt.Errorf("%w: initial state at t = %v", ErrNotFinite, t0)
	}
	m := a.m
	f0 := m.begin()
	a.f(f0, t0, y)
	a.st.Evals++
	if !allFinite(f0) {
		return res, fmt.Errorf("%w: f(t0, y0) at t = %v", ErrNotFinite, t0)
	}
	hmax := a.set.hmax
	if hmax == 0 || hmax > t1-t0 {
		hmax = t1 - t0
	}
	h := a.set.h0
	if h == 0 {
		h = initialStep(a.f, t0, y, f0, a.y1, a.w, a.set.atol, a.set.rtol, a.order, hmax)
		a.st.Evals++
	}
	h = math.Min(h, hmax)
	a.o.start(obs, t0, y)

	reject, notFinite := false, false
	t := t0
	for attempts := 0; ; attempts++ {
		if attempts >= a.set.maxSteps {
			return res, fmt.Errorf("%w: %d attempts without reaching t1 = %v, at t = %v", ErrMaxSteps, attempts, t1, t)
		}
		if 0.1*h <= math.Abs(t)*epsilon || h == 0 {
			if notFinite {
				return res, fmt.Errorf("%w: the state overflows or f returns NaN at t = %v", ErrNotFinite, t)
			}
			return res, fmt.Errorf("%w: h = %v at t = %v", ErrStepSize, h, t)
		}
		last := false
		tn := t + h
		if stop := a.o.nextStop(); stop < t1 && t+a.reach*h >= stop {
			h, tn = stop-t, stop // Observer.StepToTimes
		} else if t+a.reach*h >= t1 {
			h, last, tn = t1-t, true, t1
		}
		errn, ok, err := m.try(y, t, tn, h)
		if err != nil {
			return res, err
		}
		if !ok {
			h *= 0.5
			reject = true
			continue
		}
		notFinite = math.IsInf(errn, 1)
		if errn > 1 {
			h = m.shrink(h, errn)
			reject = true
			if a.st.Steps > 0 {
				a.st.Rejected++
			}
			continue
		}
		report := a.o.active(tn)
		hnew := m.accept(y, t, h, errn, report && a.o.dense(tn))
		a.st.Steps++
		if report {
			if ev, te := a.o.step(m, t, tn, a.y1); ev >= 0 {
				copy(y, a.o.y)
				res.T, res.Event = te, ev
				return res, nil
			}
		}
		copy(y, a.y1)
		t = tn
		if last {
			res.T = t1
			return res, nil
		}
		hnew = math.Min(hnew, hmax)
		if reject {
			hnew = math.Min(hnew, h)
		}
		reject = false
		h = hnew
	}
}
