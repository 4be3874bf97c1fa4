package ode_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/doppelhealth/doppel/ode"
	"github.com/doppelhealth/doppel/ode/odetest"
)

// TestRodas4LinearStiff solves y' = A y with A = S diag(λ) S⁻¹, n = 13 (the
// size of the glucose-insulin model), λ from -1 to -1e5 (stiffness ratio
// 1e5), and a dense, seeded random S = I + 0.3 R that needs row pivoting.
// The analytic solution is y(t) = S diag(exp(λ t)) S⁻¹ y0. At RelTol 1e-8 the
// error at t = 3 must stay below 1e-6 relative to max |y| (100 RelTol;
// observed 1.5e-9 with the analytic and 5.8e-9 with the finite-difference
// Jacobian), in fewer than 2000 steps (observed 729 and 1199; DoPri5 would
// need about 1e5 for stability alone).
func TestRodas4LinearStiff(t *testing.T) {
	const n = 13
	rng := rand.New(rand.NewPCG(1, 2))
	s := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			v := 0.3 * (2*rng.Float64() - 1)
			if i == j {
				v += 1
			}
			s.Set(i, j, v)
		}
	}
	var sInv mat.Dense
	if err := sInv.Inverse(s); err != nil {
		t.Fatal(err)
	}
	lambda := make([]float64, n)
	for i := range lambda {
		lambda[i] = -math.Pow(1e5, float64(i)/(n-1))
	}
	var a mat.Dense
	a.Mul(s, mat.NewDiagDense(n, lambda))
	a.Mul(&a, &sInv)
	aRaw := a.RawMatrix().Data
	f := func(dy []float64, _ float64, y []float64) {
		for i := range n {
			var sum float64
			for j := range n {
				sum += aRaw[i*n+j] * y[j]
			}
			dy[i] = sum
		}
	}
	jac := func(dst []float64, _ float64, _ []float64) { copy(dst, aRaw) }
	y0 := make([]float64, n)
	for i := range y0 {
		y0[i] = 1 + float64(i)/n
	}
	const t1 = 3.0
	// Exact: S diag(exp(λ t1)) S⁻¹ y0.
	var c mat.VecDense
	c.MulVec(&sInv, mat.NewVecDense(n, append([]float64(nil), y0...)))
	for i := range n {
		c.SetVec(i, c.AtVec(i)*math.Exp(lambda[i]*t1))
	}
	var want mat.VecDense
	want.MulVec(s, &c)

	for name, j := range map[string]ode.Jacobian{"analytic": jac, "finite differences": nil} {
		r := ode.NewRodas4(f, j, n, ode.Settings{RelTol: 1e-8, AbsTol: 1e-10})
		y := append([]float64(nil), y0...)
		if err := r.Integrate(y, 0, t1); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var e, scale float64
		for i := range n {
			e = math.Max(e, math.Abs(y[i]-want.AtVec(i)))
			scale = math.Max(scale, math.Abs(want.AtVec(i)))
		}
		if e/scale > 1e-6 {
			t.Errorf("%s: relative error %.3g, want <= 1e-6", name, e/scale)
		}
		if st := r.Stats(); st.Steps > 2000 {
			t.Errorf("%s: %d steps, want < 2000", name, st.Steps)
		}
	}
}

// TestTinyAbsTolStarts: with an absolute tolerance far below every state's
// scale (here 1e-300 while y2(0) = y3(0) = 0 and f(y0) = 0.04), the weighted
// norms in Hairer's starting-step heuristic overflow; the integrator must
// still start with a positive step rather than fail with a step-size
// underflow at t0 (found by bench/ode_vs_scipy.sh at RelTol 1e-14).
func TestTinyAbsTolStarts(t *testing.T) {
	p := odetest.Robertson()
	for _, tc := range []struct {
		name string
		in   interface {
			Integrate(y []float64, t0, t1 float64) error
		}
	}{
		{"Rodas4", ode.NewRodas4(p.F, p.Jac, 3, ode.Settings{RelTol: 1e-10, AbsTol: 1e-300})},
		{"DoPri5", ode.NewDoPri5(p.F, 3, ode.Settings{RelTol: 1e-10, AbsTol: 1e-300})},
	} {
		y := slices.Clone(p.Y0)
		if err := tc.in.Integrate(y, 0, 1e-3); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		// y1' = -0.04 y1 + 1e4 y2 y3 with y2, y3 >= 0 and y1 decreasing
		// early on, so exp(-0.04 t) <= y1(t) < 1: at t = 1e-3 the state
		// must have moved, and not past that bound.
		if lo := math.Exp(-4e-5); !(y[0] >= lo-1e-12 && y[0] < 1) {
			t.Errorf("%s: y1(1e-3) = %v, want in [%v, 1)", tc.name, y[0], lo)
		}
	}
}
