package odetest

import (
	"errors"
	"fmt"
	"math"

	"github.com/doppelhealth/doppel/ode"
)

// Integrator is what the suite checks: the Integrate method of package ode's
// integrators, which advances y in place from t0 to t1.
type Integrator interface {
	Integrate(y []float64, t0, t1 float64) error
}

// Options configures Run.
type Options struct {
	// Tol is the largest Error accepted on the non-stiff problems; 0 means 1e-6.
	Tol float64
	// Stiff declares the integrator stiff-capable: Run then also solves the
	// stiff problems.
	Stiff bool
	// StiffTol is the largest Error accepted on the stiff problems; 0 means 1e-4.
	StiffTol float64
}

// Run checks integrators built by newIntegrator, which receives the problem
// to solve (its F, its Jacobian Jac, and Y0 for the dimension), and returns
// the failures joined into one error, or nil. For each problem (NonStiff,
// and Stiff if opts.Stiff) it checks:
//
//   - accuracy: one call of Integrate from T0 to T1 returns nil with Error
//     at most the tolerance of Options;
//   - restarts: 23 consecutive calls over unequal pieces of [T0, T1] reach
//     the same tolerance, so that the integrator uses the times it is given
//     and keeps nothing from one call to the next;
//   - reproducibility: a second call on the same integrator and a call on a
//     fresh one give bit-identical states.
//
// Once, on the first non-stiff problem, it checks the contract of
// Integrate: an empty interval leaves y unchanged and returns nil; an
// interval with t1 < t0 or a non-finite end returns an error wrapping
// ode.ErrInterval and leaves y unchanged; a derivative that becomes NaN
// makes Integrate return an error wrapping ode.ErrNotFinite.
func Run(newIntegrator func(p ode.Problem) Integrator, opts Options) error {
	if opts.Tol == 0 {
		opts.Tol = 1e-6
	}
	if opts.StiffTol == 0 {
		opts.StiffTol = 1e-4
	}
	var errs []error
	fail := func(p Problem, check, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: "+format, append([]any{p.Name, check}, args...)...))
	}
	problems := NonStiff()
	if opts.Stiff {
		problems = append(problems, Stiff()...)
	}
	for _, p := range problems {
		tol := opts.Tol
		if p.Stiff {
			tol = opts.StiffTol
		}
		in := newIntegrator(p.Problem)

		// Accuracy over the whole interval.
		y := p.Start()
		if err := in.Integrate(y, p.T0, p.T1); err != nil {
			fail(p, "accuracy", "Integrate(y, %v, %v): %w", p.T0, p.T1, err)
			continue
		}
		if e := p.Error(y); !(e <= tol) {
			fail(p, "accuracy", "error %.3g at t = %v > tolerance %.3g (got %v, want %v)", e, p.T1, tol, y, p.Want)
		}

		// Reproducibility: the same integrator again, and a fresh one.
		for _, again := range []struct {
			name string
			in   Integrator
		}{{"same integrator", in}, {"fresh integrator", newIntegrator(p.Problem)}} {
			y2 := p.Start()
			if err := again.in.Integrate(y2, p.T0, p.T1); err != nil {
				fail(p, "reproducibility", "%s: Integrate: %w", again.name, err)
				continue
			}
			for i := range y {
				if math.Float64bits(y[i]) != math.Float64bits(y2[i]) {
					fail(p, "reproducibility", "%s: y[%d] = %v, first call gave %v", again.name, i, y2[i], y[i])
					break
				}
			}
		}

		// Restarts over unequal pieces.
		y = p.Start()
		ts := pieces(p.T0, p.T1, 23, p.Stiff)
		ok := true
		for k := 1; k < len(ts) && ok; k++ {
			if err := in.Integrate(y, ts[k-1], ts[k]); err != nil {
				fail(p, "restarts", "Integrate(y, %v, %v): %w", ts[k-1], ts[k], err)
				ok = false
			}
		}
		if e := p.Error(y); ok && !(e <= tol) {
			fail(p, "restarts", "error %.3g at t = %v after %d restarts > tolerance %.3g", e, p.T1, len(ts)-1, tol)
		}
	}

	p := problems[0]
	in := newIntegrator(p.Problem)
	y := p.Start()
	if err := in.Integrate(y, 1, 1); err != nil {
		fail(p, "empty interval", "Integrate(y, 1, 1): %w", err)
	}
	if !equal(y, p.Y0) {
		fail(p, "empty interval", "Integrate(y, 1, 1) changed y from %v to %v", p.Y0, y)
	}
	for _, iv := range [][2]float64{{1, 0}, {0, math.NaN()}, {math.Inf(-1), 0}, {0, math.Inf(1)}} {
		y := p.Start()
		err := in.Integrate(y, iv[0], iv[1])
		if !errors.Is(err, ode.ErrInterval) {
			fail(p, "invalid interval", "Integrate(y, %v, %v) = %v, want an error wrapping ode.ErrInterval", iv[0], iv[1], err)
		}
		if !equal(y, p.Y0) {
			fail(p, "invalid interval", "Integrate(y, %v, %v) changed y from %v to %v", iv[0], iv[1], p.Y0, y)
		}
	}
	nan := p.Problem
	f := p.F
	nan.F = func(dy []float64, t float64, y []float64) {
		f(dy, t, y)
		if t > 0.5 {
			dy[0] = math.NaN()
		}
	}
	y = p.Start()
	if err := newIntegrator(nan).Integrate(y, 0, 1); !errors.Is(err, ode.ErrNotFinite) {
		fail(p, "not finite", "f returning NaN after t = 0.5: Integrate(y, 0, 1) = %v, want an error wrapping ode.ErrNotFinite", err)
	}
	return errors.Join(errs...)
}

// pieces splits [t0, t1] into n unequal pieces: on a logarithmic scale for
// stiff problems, whose solutions change on scales from 1e-6 to t1.
func pieces(t0, t1 float64, n int, logScale bool) []float64 {
	ts := make([]float64, n+1)
	for k := range ts {
		u := float64(k) / float64(n)
		s := u + 0.1*math.Sin(2*math.Pi*u) // unequal, increasing, from 0 to 1
		if logScale {
			ts[k] = t0 + (t1-t0)*math.Pow(1e-9, 1-s)
		} else {
			ts[k] = t0 + (t1-t0)*s
		}
	}
	ts[0], ts[n] = t0, t1
	return ts
}

func equal(a, b []float64) bool {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}
