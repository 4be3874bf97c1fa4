package ode_test

import (
	"math"
	"testing"

	"github.com/doppelhealth/doppel/ode"
	"github.com/doppelhealth/doppel/ode/odetest"
)

// fixedStep makes an adaptive method take fixed steps h: tolerances so
// loose that every step is accepted, and a maximal step of h.
func fixedStep(h float64) ode.Settings {
	return ode.Settings{RelTol: 1, AbsTol: 1e300, InitialStep: h, MaxStep: h}
}

// solver is the Solve method shared by DoPri5, DOP853 and Rodas4.
type solver interface {
	Solve(y []float64, t0, t1 float64, obs ode.Observer) (ode.Result, error)
}

// TestOrder checks the classical orders with fixed steps on the harmonic
// oscillator: RK4 4, DoPri5 5, Rodas4 4. Steps from 0.2 to 0.025 keep the
// error in the asymptotic regime and far above rounding (smallest error
// about 1e-11); the observed slopes are 4.04, 5.07 and 4.01, so ±0.2 leaves
// room for the higher-order terms but not for a wrong coefficient, which
// drops the order by at least one.
func TestOrder(t *testing.T) {
	hs := []float64{0.2, 0.1, 0.05, 0.025}
	p := odetest.HarmonicOscillator()
	for _, tc := range []struct {
		name  string
		new   func(p ode.Problem, h float64) odetest.Integrator
		order float64
	}{
		{"RK4", func(p ode.Problem, h float64) odetest.Integrator { return ode.NewRK4(p.F, len(p.Y0), h) }, 4},
		{"DoPri5", func(p ode.Problem, h float64) odetest.Integrator { return ode.NewDoPri5(p.F, len(p.Y0), fixedStep(h)) }, 5},
		{"Rodas4", func(p ode.Problem, h float64) odetest.Integrator {
			return ode.NewRodas4(p.F, p.Jac, len(p.Y0), fixedStep(h))
		}, 4},
	} {
		got, err := odetest.Order(tc.new, p, hs)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if math.Abs(got-tc.order) > 0.2 {
			t.Errorf("%s: order %.3f, want %v ± 0.2", tc.name, got, tc.order)
		}
	}
}

// TestTolerance checks that the global error of the adaptive methods
// follows the tolerance ("tolerance proportionality"): the slope of
// log(error) against log(RelTol), from 1e-4 to 1e-10 with AbsTol small
// enough for the relative control to govern, is about 1 (observed 0.91 to
// 1.03, and 0.81 for Rodas4 on Enright-Pryce A3, which is ten times more
// accurate than asked at loose tolerances); the errors themselves stay
// within 20 times RelTol (observed at most 2).
func TestTolerance(t *testing.T) {
	tols := []float64{1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10}
	for _, tc := range []struct {
		name string
		new  func(p ode.Problem, tol float64) odetest.Integrator
	}{
		{"DoPri5", func(p ode.Problem, tol float64) odetest.Integrator {
			return ode.NewDoPri5(p.F, len(p.Y0), ode.Settings{RelTol: tol, AbsTol: 1e-3 * tol})
		}},
		{"DOP853", func(p ode.Problem, tol float64) odetest.Integrator {
			return ode.NewDOP853(p.F, len(p.Y0), ode.Settings{RelTol: tol, AbsTol: 1e-3 * tol})
		}},
		{"Rodas4", func(p ode.Problem, tol float64) odetest.Integrator {
			return ode.NewRodas4(p.F, p.Jac, len(p.Y0), ode.Settings{RelTol: tol, AbsTol: 1e-3 * tol})
		}},
	} {
		for _, p := range odetest.NonStiff() {
			got, err := odetest.Order(tc.new, p, tols)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if got < 0.75 || got > 1.25 {
				t.Errorf("%s on %s: error ∝ tol^%.3f, want an exponent in [0.75, 1.25]", tc.name, p.Name, got)
			}
			for _, tol := range tols {
				y := p.Start()
				if err := tc.new(p.Problem, tol).Integrate(y, p.T0, p.T1); err != nil {
					t.Fatal(err)
				}
				if e := p.Error(y); e > 20*tol {
					t.Errorf("%s on %s: RelTol %g: error %.3g > 20 RelTol", tc.name, p.Name, tol, e)
				}
			}
		}
	}
}

// TestDenseOutputOrder checks the continuous extensions with fixed steps:
// at 0.37 of every step, the error of DoPri5's dense output falls as h⁵
// (its extension has order 4, so its local error h⁵ matches the global
// error of the method) and that of Rodas4 as h⁴ (extension of order 3).
// A wrong dense-output coefficient leaves only the cubic Hermite part, of
// order h⁴ for DoPri5, or breaks Rodas4's to order 2 or less. DOP853's
// extension has order 7: its error falls as h⁸, measured with longer steps
// (0.8 to 0.2) to stay above rounding. Observed slopes: 5.00, 7.98, 3.99.
func TestDenseOutputOrder(t *testing.T) {
	p := odetest.HarmonicOscillator()
	hs := []float64{0.2, 0.1, 0.05, 0.025}
	for _, tc := range []struct {
		name  string
		new   func(h float64) solver
		order float64
		hs    []float64
	}{
		{"DoPri5", func(h float64) solver { return ode.NewDoPri5(p.F, 2, fixedStep(h)) }, 5, hs},
		{"DOP853", func(h float64) solver { return ode.NewDOP853(p.F, 2, fixedStep(h)) }, 8, []float64{0.8, 0.6, 0.4, 0.3, 0.2}},
		{"Rodas4", func(h float64) solver { return ode.NewRodas4(p.F, p.Jac, 2, fixedStep(h)) }, 4, hs},
	} {
		var lh, le []float64
		for _, h := range tc.hs {
			var ts []float64
			for k := 0; float64(k)*h+h < p.T1; k++ {
				ts = append(ts, (float64(k)+0.37)*h)
			}
			var emax float64
			exact := make([]float64, 2)
			out := func(t float64, y []float64) {
				p.Exact(exact, t)
				emax = math.Max(emax, math.Max(math.Abs(y[0]-exact[0]), math.Abs(y[1]-exact[1])))
			}
			y := p.Start()
			if _, err := tc.new(h).Solve(y, p.T0, p.T1, ode.Observer{Times: ts, Output: out}); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			lh, le = append(lh, math.Log(h)), append(le, math.Log(emax))
		}
		got := slope(lh, le)
		t.Logf("%s: dense output error ∝ h^%.3f", tc.name, got)
		if math.Abs(got-tc.order) > 0.2 {
			t.Errorf("%s: dense output error ∝ h^%.3f, want h^%v ± 0.2", tc.name, got, tc.order)
		}
	}
}

// slope is the least-squares slope of ys against xs.
func slope(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i] / float64(len(xs))
		my += ys[i] / float64(len(xs))
	}
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	return sxy / sxx
}
