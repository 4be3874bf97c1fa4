package odetest_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/ode"
	"github.com/doppelhealth/doppel/ode/odetest"
)

// euler is the explicit Euler method with step h, honest about the contract
// of Integrate but only of order 1.
type euler struct {
	f  ode.Func
	h  float64
	dy []float64
}

func (e *euler) Integrate(y []float64, t0, t1 float64) error {
	if !(t1 >= t0) || math.IsInf(t0, 0) || math.IsInf(t1, 0) {
		return ode.ErrInterval
	}
	for t := t0; t < t1; {
		h := math.Min(e.h, t1-t)
		e.f(e.dy, t, y)
		for i := range y {
			y[i] += h * e.dy[i]
		}
		if t1-(t+h) < 1e-12*e.h {
			break
		}
		t += h
	}
	for _, v := range y {
		if math.IsNaN(v) {
			return ode.ErrNotFinite
		}
	}
	return nil
}

// flawed wraps RK4 with one defect that the suite must catch.
type flawed struct {
	in    *ode.RK4
	flaw  string
	calls int
}

func (f *flawed) Integrate(y []float64, t0, t1 float64) error {
	f.calls++
	switch f.flaw {
	case "ignores t0": // integrates as if every call started at 0
		return f.in.Integrate(y, 0, t1-t0)
	case "remembers": // each call differs from the last
		err := f.in.Integrate(y, t0, t1)
		y[0] += float64(f.calls) * 1e-15
		return err
	case "accepts any interval":
		if !(t1 >= t0) || math.IsInf(t0, 0) || math.IsInf(t1, 0) {
			return nil
		}
	case "hides NaN":
		f.in.Integrate(y, t0, t1)
		return nil
	case "changes y on empty interval":
		if t0 == t1 {
			y[0]++
		}
	}
	return f.in.Integrate(y, t0, t1)
}

// TestRunCatchesFlaws checks that the suite can fail: each defective
// integrator must be reported under the check that targets its defect, and
// RK4 itself passes.
func TestRunCatchesFlaws(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func(p ode.Problem) odetest.Integrator
		want []string // substrings of the error; nil: no error
	}{
		{"RK4", func(p ode.Problem) odetest.Integrator { return ode.NewRK4(p.F, len(p.Y0), 1e-3) }, nil},
		{"Euler", func(p ode.Problem) odetest.Integrator { return &euler{f: p.F, h: 1e-3, dy: make([]float64, len(p.Y0))} },
			[]string{"exponential decay: accuracy: error", "harmonic oscillator: accuracy", "Enright-Pryce A3: restarts"}},
		{"ignores t0", nil, []string{"Enright-Pryce A3: restarts: error"}},
		{"remembers", nil, []string{"exponential decay: reproducibility: same integrator: y[0]"}},
		{"accepts any interval", nil, []string{"invalid interval: Integrate(y, 1, 0) = <nil>", "Integrate(y, 0, NaN) = <nil>", "Integrate(y, -Inf, 0)", "Integrate(y, 0, +Inf)"}},
		{"hides NaN", nil, []string{"not finite: f returning NaN after t = 0.5"}},
		{"changes y on empty interval", nil, []string{"empty interval: Integrate(y, 1, 1) changed y"}},
	} {
		newIntegrator := tc.new
		if newIntegrator == nil {
			newIntegrator = func(p ode.Problem) odetest.Integrator {
				return &flawed{in: ode.NewRK4(p.F, len(p.Y0), 1e-3), flaw: tc.name}
			}
		}
		err := odetest.Run(newIntegrator, odetest.Options{Tol: 1e-10})
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Run = nil, want failures %q", tc.name, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Run = %v\nwant a failure containing %q", tc.name, err, w)
			}
		}
	}
}

// TestRunStiff checks that the stiff problems run only when asked for, and
// fail for a non-stiff integrator that cannot finish them.
func TestRunStiff(t *testing.T) {
	newDoPri5 := func(p ode.Problem) odetest.Integrator {
		return ode.NewDoPri5(p.F, len(p.Y0), ode.Settings{RelTol: 1e-10, AbsTol: 1e-12, MaxSteps: 2000})
	}
	if err := odetest.Run(newDoPri5, odetest.Options{Tol: 1e-8}); err != nil {
		t.Errorf("DoPri5 without stiff problems: %v", err)
	}
	err := odetest.Run(newDoPri5, odetest.Options{Tol: 1e-8, Stiff: true})
	if !errors.Is(err, ode.ErrMaxSteps) || !strings.Contains(err.Error(), "Van der Pol mu=1000: accuracy") ||
		!strings.Contains(err.Error(), "Robertson: accuracy") {
		t.Errorf("DoPri5 on the stiff problems with MaxSteps 2000: %v, want ErrMaxSteps on both", err)
	}
}

func TestOrder(t *testing.T) {
	p := odetest.ExponentialDecay()
	newEuler := func(p ode.Problem, h float64) odetest.Integrator {
		return &euler{f: p.F, h: h, dy: make([]float64, len(p.Y0))}
	}
	// Euler's global error on y' = -y is (t/2) e^{-t} h + O(h²): slope 1.
	got, err := odetest.Order(newEuler, p, []float64{1e-2, 5e-3, 2.5e-3, 1.25e-3})
	if err != nil || math.Abs(got-1) > 0.02 {
		t.Errorf("Order(Euler) = %v, %v; want 1 ± 0.02", got, err)
	}
	for _, xs := range [][]float64{{1e-2}, {1e-2, 0}, {1e-2, -1}} {
		if _, err := odetest.Order(newEuler, p, xs); err == nil {
			t.Errorf("Order(xs = %v) = nil error", xs)
		}
	}
	// An exact solution has no error to fit.
	exact := func(p ode.Problem, h float64) odetest.Integrator { return exactDecay{} }
	if _, err := odetest.Order(exact, p, []float64{1e-2, 1e-3}); err == nil || !strings.Contains(err.Error(), "error 0") {
		t.Errorf("Order(exact) = %v, want an error about a zero error", err)
	}
}

type exactDecay struct{}

func (exactDecay) Integrate(y []float64, t0, t1 float64) error {
	y[0] *= math.Exp(-(t1 - t0))
	return nil
}

func TestProblemError(t *testing.T) {
	p := odetest.HarmonicOscillator() // Want ≈ (-0.839, 0.544), Floor 1
	for _, tc := range []struct {
		y    []float64
		want float64
	}{
		{[]float64{p.Want[0], p.Want[1]}, 0},
		{[]float64{p.Want[0] + 1e-6, p.Want[1]}, 1e-6},        // below Floor: absolute
		{[]float64{p.Want[0], p.Want[1] - 2e-6}, 2e-6},        // below Floor: absolute
		{[]float64{p.Want[0], math.NaN()}, math.Inf(1)},       // NaN is the worst error
		{[]float64{p.Want[0], math.Inf(-1)}, math.Inf(1)},     // so is Inf
		{[]float64{p.Want[0] - 3e-3, p.Want[1] + 1e-3}, 3e-3}, // the larger
	} {
		if got := p.Error(tc.y); math.Abs(got-tc.want) > 1e-15 && got != tc.want {
			t.Errorf("Error(%v) = %v, want %v", tc.y, got, tc.want)
		}
	}
	r := odetest.Robertson() // Floor 1e-300: every component relative
	y := append([]float64(nil), r.Want...)
	y[1] *= 1 + 1e-3
	if got := r.Error(y); math.Abs(got-1e-3) > 1e-12 {
		t.Errorf("Robertson Error with y2 off by 1e-3 relative = %v, want 1e-3", got)
	}
}

// TestReferences checks the transcription of the published references.
func TestReferences(t *testing.T) {
	// VDPOL of the CWI release of the test set (W. M. Lioen and J. J. B. de
	// Swart, Test Set for Initial Value Problem Solvers, report MAS-R9832,
	// CWI, 1998): ε = 1e-6 on [0, 2], reference at t = 2, in the scaled
	// variables (y1, μ·y2) of VanDerPol.
	vdpol := [2]float64{0.1706167732170483e+01, -0.8928097010247975e+00}
	p := odetest.VanDerPol()
	if d := math.Abs(p.Want[0]-vdpol[0]) / vdpol[0]; d > 1e-14 {
		t.Errorf("VanDerPol y1(2000) = %v, VDPOL y1(2) = %v: relative difference %v", p.Want[0], vdpol[0], d)
	}
	if d := math.Abs(1000*p.Want[1]-vdpol[1]) / -vdpol[1]; d > 1e-13 {
		t.Errorf("VanDerPol 1000·y2(2000) = %v, VDPOL y2(2) = %v: relative difference %v", 1000*p.Want[1], vdpol[1], d)
	}
	// Robertson conserves y1 + y2 + y3 = 1; the published values, rounded
	// to 16 digits, sum to 1 - 1.0e-14.
	r := odetest.Robertson()
	if s := r.Want[0] + r.Want[1] + r.Want[2]; math.Abs(s-1) > 2e-14 {
		t.Errorf("Robertson reference sums to %v, want 1", s)
	}
	// Closed forms match Y0 at T0, and Want is Exact at T1.
	for _, p := range odetest.NonStiff() {
		y := make([]float64, len(p.Y0))
		p.Exact(y, p.T0)
		for i := range y {
			if math.Abs(y[i]-p.Y0[i]) > 1e-15 {
				t.Errorf("%s: Exact(T0) = %v, want Y0 = %v", p.Name, y, p.Y0)
			}
		}
		p.Exact(y, p.T1)
		if p.Error(y) != 0 {
			t.Errorf("%s: Exact(T1) = %v, Want = %v", p.Name, y, p.Want)
		}
	}
}

// TestJacobians checks every problem's analytic Jacobian against central
// differences at its initial state and at a state off it, to 1e-6
// relative to the largest entry (the differences are accurate to about
// 1e-10 with the steps chosen).
func TestJacobians(t *testing.T) {
	for _, p := range append(odetest.NonStiff(), odetest.Stiff()...) {
		n := len(p.Y0)
		for _, y := range [][]float64{p.Start(), shifted(p.Y0)} {
			const tt = 0.3
			jac := make([]float64, n*n)
			p.Jac(jac, tt, y)
			var scale float64
			for _, v := range jac {
				scale = math.Max(scale, math.Abs(v))
			}
			fp, fm := make([]float64, n), make([]float64, n)
			for j := range n {
				h := 1e-6 * math.Max(1, math.Abs(y[j]))
				yp, ym := append([]float64(nil), y...), append([]float64(nil), y...)
				yp[j] += h
				ym[j] -= h
				p.F(fp, tt, yp)
				p.F(fm, tt, ym)
				for i := range n {
					fd := (fp[i] - fm[i]) / (2 * h)
					if math.Abs(fd-jac[i*n+j]) > 1e-6*math.Max(scale, 1) {
						t.Errorf("%s at %v: ∂f%d/∂y%d = %v, central difference %v", p.Name, y, i, j, jac[i*n+j], fd)
					}
				}
			}
		}
	}
}

func shifted(y0 []float64) []float64 {
	y := make([]float64, len(y0))
	for i := range y {
		y[i] = y0[i] + 0.1*float64(i+1)
	}
	return y
}
