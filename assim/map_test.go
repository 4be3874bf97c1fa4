package assim_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/doppelhealth/doppel/assim"
)

// linearGaussian is the model f(η) = Aη + b with residual variances Sigma
// that do not depend on f: the posterior is normal, with the closed form
//
//	Cov = (AᵀΣ⁻¹A + Ω⁻¹)⁻¹,  η̂ = Cov AᵀΣ⁻¹(y − b).
type linearGaussian struct {
	a     *mat.Dense
	b, y  []float64
	sigma []float64 // residual variances
	omega *mat.SymDense
}

func newLinearGaussian() linearGaussian {
	return linearGaussian{
		a: mat.NewDense(4, 3, []float64{
			1.0, 0.5, -0.3,
			-0.2, 2.0, 0.1,
			0.7, -0.4, 1.5,
			0.3, 0.3, 0.3,
		}),
		b:     []float64{1, 2, -1, 0.5},
		y:     []float64{2.1, 1.3, 0.4, 0.9},
		sigma: []float64{0.2, 0.5, 1.0, 0.3},
		omega: mat.NewSymDense(3, []float64{
			0.5, 0.1, -0.05,
			0.1, 0.3, 0.02,
			-0.05, 0.02, 0.2,
		}),
	}
}

func (m linearGaussian) predict(dst, eta []float64) error {
	f := mat.NewVecDense(len(dst), dst)
	f.MulVec(m.a, mat.NewVecDense(len(eta), eta))
	f.AddVec(f, mat.NewVecDense(len(m.b), m.b))
	return nil
}

func (m linearGaussian) jacobian(dst, _ []float64) error {
	copy(dst, m.a.RawMatrix().Data)
	return nil
}

// closedForm returns the exact MAP estimate, posterior covariance and OFV.
func (m linearGaussian) closedForm(t *testing.T) (eta []float64, cov *mat.SymDense, ofv float64) {
	n, p := m.a.Dims()
	sinv := mat.NewDiagDense(n, nil)
	for i, s := range m.sigma {
		sinv.SetDiag(i, 1/s)
	}
	var oinv mat.Dense
	if err := oinv.Inverse(m.omega); err != nil {
		t.Fatal(err)
	}
	var sa, prec mat.Dense
	sa.Mul(sinv, m.a)
	prec.Mul(m.a.T(), &sa)
	prec.Add(&prec, &oinv)
	var c mat.Dense
	if err := c.Inverse(&prec); err != nil {
		t.Fatal(err)
	}
	cov = mat.NewSymDense(p, nil)
	for i := range p {
		for j := i; j < p; j++ {
			cov.SetSym(i, j, (c.At(i, j)+c.At(j, i))/2)
		}
	}
	r := mat.NewVecDense(n, nil)
	r.SubVec(mat.NewVecDense(n, m.y), mat.NewVecDense(n, m.b))
	var rhs, e mat.VecDense
	rhs.MulVec(sa.T(), r)
	e.MulVec(cov, &rhs)
	eta = e.RawVector().Data
	f := make([]float64, n)
	if err := m.predict(f, eta); err != nil {
		t.Fatal(err)
	}
	for i := range f {
		d := m.y[i] - f[i]
		ofv += d*d/m.sigma[i] + math.Log(m.sigma[i])
	}
	var oe mat.VecDense
	oe.MulVec(&oinv, &e)
	return eta, cov, ofv + mat.Dot(&e, &oe)
}

func relErr(got, want float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), 1)
}

// TestMAPLinearGaussian compares MAP and its Laplace covariance with the
// closed form of the linear-Gaussian model, where both are exact, to 1e-8.
//
// Tolerances: with GradientTol 1e-8 the optimiser stops at |∇OFV|∞ < 1e-8,
// and the smallest eigenvalue of the Hessian of OFV is 9.1 (14.7 for the
// heteroscedastic case), so η̂ is within about 1e-9 of the mode. The
// covariance from central differences of the analytic gradient (Jacobian
// supplied) is exact for a quadratic OFV up to rounding; from second
// differences of OFV itself (no Jacobian, step 1e-4) the rounding error is
// about eps·|OFV|/h² ≈ 2e-16·1/1e-8 = 2e-8 on Hessian entries of 10 to 30,
// about 1e-9 relative.
func TestMAPLinearGaussian(t *testing.T) {
	m := newLinearGaussian()
	wantEta, wantCov, wantOFV := m.closedForm(t)
	variance := func(dst, _ []float64) error { copy(dst, m.sigma); return nil }
	add := func() linearGaussian { // homoscedastic copy: Σ = 0.49 I
		c := m
		c.sigma = []float64{0.49, 0.49, 0.49, 0.49}
		return c
	}()
	addEta, addCov, addOFV := add.closedForm(t)
	tight := &assim.Settings{GradientTol: 1e-8}
	for _, tc := range []struct {
		name     string
		prob     assim.Problem
		eta      []float64
		cov      *mat.SymDense
		ofv      float64
		tolEta   float64
		tolCov   float64
		settings *assim.Settings
	}{
		{"numeric gradient, Variance callback", assim.Problem{Omega: m.omega, Y: m.y, Predict: m.predict, Variance: variance},
			wantEta, wantCov, wantOFV, 1e-8, 1e-8, tight},
		{"Jacobian, Variance callback", assim.Problem{Omega: m.omega, Y: m.y, Predict: m.predict, Jacobian: m.jacobian, Variance: variance},
			wantEta, wantCov, wantOFV, 1e-8, 1e-8, tight},
		{"numeric gradient, additive error", assim.Problem{Omega: m.omega, Y: m.y, Predict: m.predict, Error: assim.ResidualError{Add: 0.7}},
			addEta, addCov, addOFV, 1e-8, 1e-8, tight},
		{"Jacobian, additive error", assim.Problem{Omega: m.omega, Y: m.y, Predict: m.predict, Jacobian: m.jacobian, Error: assim.ResidualError{Add: 0.7}},
			addEta, addCov, addOFV, 1e-8, 1e-8, &assim.Settings{SingleStart: true, GradientTol: 1e-8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := assim.MAP(tc.prob, tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Converged || !(res.Distance < 1e-6) {
				t.Errorf("not converged: status %v, distance %v, start %+v", res.Status, res.Distance, res.Starts[res.Best])
			}
			for i := range tc.eta {
				if e := relErr(res.Eta[i], tc.eta[i]); e > tc.tolEta {
					t.Errorf("eta[%d] = %.12g, want %.12g (rel err %.2g > %g)", i, res.Eta[i], tc.eta[i], e, tc.tolEta)
				}
				for j := range tc.eta {
					if e := relErr(res.Cov.At(i, j), tc.cov.At(i, j)); e > tc.tolCov {
						t.Errorf("Cov(%d,%d) = %.12g, want %.12g (rel err %.2g > %g)", i, j, res.Cov.At(i, j), tc.cov.At(i, j), e, tc.tolCov)
					}
				}
				if e := relErr(res.SE[i], math.Sqrt(tc.cov.At(i, i))); e > tc.tolCov {
					t.Errorf("SE[%d] = %.12g, want %.12g", i, res.SE[i], math.Sqrt(tc.cov.At(i, i)))
				}
			}
			if e := relErr(res.OFV, tc.ofv); e > 1e-10 {
				t.Errorf("OFV = %.14g, want %.14g (rel err %.2g)", res.OFV, tc.ofv, e)
			}
			wantStarts := 7
			if tc.settings != nil && tc.settings.SingleStart {
				wantStarts = 1
			}
			if len(res.Starts) != wantStarts {
				t.Errorf("%d starts, want %d", len(res.Starts), wantStarts)
			}
			f := make([]float64, len(m.y))
			_ = m.predict(f, res.Eta)
			for i := range f {
				if res.Pred[i] != f[i] {
					t.Errorf("Pred[%d] = %v, want f(Eta) = %v", i, res.Pred[i], f[i])
				}
			}
		})
	}
}

// cubic is a one-dimensional problem with two posterior modes: f(η) = η³ − 3η,
// one observation y = 2.5 with additive SD 0.1, prior variance 4. f has a
// local maximum of 2 at η = −1, so the data pull η towards −1 (a local
// minimum of OFV, OFV ≈ 25 + 1/4 + ln 0.01) or towards the root of f = 2.5
// near η = 2.06, which fits exactly and is the global minimum
// (OFV ≈ 2.06²/4 + ln 0.01). BFGS from η = 0 runs downhill to the local
// minimum; the start at +1 prior SD (η = 2) finds the global one.
func cubic() assim.Problem {
	return assim.Problem{
		Omega: mat.NewSymDense(1, []float64{4}),
		Y:     []float64{2.5},
		Predict: func(dst, eta []float64) error {
			x := eta[0]
			dst[0] = x*x*x - 3*x
			return nil
		},
		Error: assim.ResidualError{Add: 0.1},
	}
}

// cubicMinima returns the local minima of the cubic problem's OFV, found
// independently of MAP: sign changes of the analytic derivative on a grid
// over [-5, 5], refined by bisection.
func cubicMinima() (eta, ofv []float64) {
	const y, s2, w2 = 2.5, 0.01, 4.0
	obj := func(x float64) float64 {
		r := y - (x*x*x - 3*x)
		return r*r/s2 + math.Log(s2) + x*x/w2
	}
	deriv := func(x float64) float64 {
		r := y - (x*x*x - 3*x)
		return -2*r*(3*x*x-3)/s2 + 2*x/w2
	}
	const h = 1e-3
	for x := -5.0; x < 5; x += h {
		a, b := x, x+h
		if deriv(a) < 0 && deriv(b) >= 0 {
			for range 100 {
				mid := (a + b) / 2
				if deriv(mid) < 0 {
					a = mid
				} else {
					b = mid
				}
			}
			eta = append(eta, (a+b)/2)
			ofv = append(ofv, obj((a+b)/2))
		}
	}
	return eta, ofv
}

// TestMAPMultiStart checks that a single start from η = 0 ends in the local
// minimum of a bimodal posterior and the default multi-start in the global
// one, each to 1e-6 (gradient tolerance 1e-7 over a curvature above 1).
func TestMAPMultiStart(t *testing.T) {
	minima, ofvs := cubicMinima()
	if len(minima) != 2 {
		t.Fatalf("reference: %d minima %v, want 2", len(minima), minima)
	}
	local, global := 0, 1 // minima are in increasing η: −1.0… then 2.06…
	if ofvs[global] >= ofvs[local] {
		t.Fatalf("reference: OFV %v at %v: want the right-hand minimum lower", ofvs, minima)
	}
	for _, tc := range []struct {
		name     string
		settings *assim.Settings
		want     int
	}{
		{"single start", &assim.Settings{SingleStart: true}, local},
		{"multi-start", nil, global},
		{"single start plus user start", &assim.Settings{SingleStart: true, Starts: [][]float64{{3}}}, global},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := assim.MAP(cubic(), tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Eta[0]-minima[tc.want]) > 1e-6 || math.Abs(res.OFV-ofvs[tc.want]) > 1e-9 {
				t.Errorf("eta %.9g OFV %.12g, want %.9g OFV %.12g (starts %+v)", res.Eta[0], res.OFV, minima[tc.want], ofvs[tc.want], res.Starts)
			}
			if !res.Converged {
				t.Errorf("not converged: %v", res.Status)
			}
		})
	}
	// The multi-start result lists the local minimum too: the start from 0.
	res, err := assim.MAP(cubic(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Starts) != 3 || math.Abs(res.Starts[0].Eta[0]-minima[local]) > 1e-6 || res.Best == 0 {
		t.Errorf("starts %+v (best %d): want 3, the first at the local minimum %v", res.Starts, res.Best, minima[local])
	}
	if got := []float64{res.Starts[1].Eta0[0], res.Starts[2].Eta0[0]}; got[0] != 2 || got[1] != -2 {
		t.Errorf("axis starts %v, want [2 -2] (±1 prior SD)", got)
	}
}

// TestMAPNoObservations: with no data the posterior is the prior.
func TestMAPNoObservations(t *testing.T) {
	omega := mat.NewSymDense(2, []float64{0.3, 0.1, 0.1, 0.2})
	res, err := assim.MAP(assim.Problem{Omega: omega, Predict: func(dst, eta []float64) error { return nil }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if math.Abs(res.Eta[i]) > 1e-12 {
			t.Errorf("eta[%d] = %v, want 0", i, res.Eta[i])
		}
		for j := range 2 {
			if e := relErr(res.Cov.At(i, j), omega.At(i, j)); e > 1e-6 {
				t.Errorf("Cov(%d,%d) = %v, want %v", i, j, res.Cov.At(i, j), omega.At(i, j))
			}
		}
	}
}

// TestMAPBadInput checks that invalid problems and failing callbacks give
// an error naming what is wrong, never a panic.
func TestMAPBadInput(t *testing.T) {
	omega := mat.NewSymDense(2, []float64{0.1, 0, 0, 0.2})
	pred := func(dst, eta []float64) error { dst[0] = 10 * math.Exp(eta[0]+eta[1]); return nil }
	ok := assim.Problem{Omega: omega, Y: []float64{8}, Predict: pred, Error: assim.ResidualError{Prop: 0.1}}
	if _, err := assim.MAP(ok, nil); err != nil {
		t.Fatalf("valid problem: %v", err)
	}
	with := func(f func(*assim.Problem)) assim.Problem { p := ok; f(&p); return p }
	errBoom := errors.New("boom")
	if _, err := assim.OFV(ok, []float64{0}); err == nil || !strings.Contains(err.Error(), "assim: eta has length 1, want 2") {
		t.Errorf("OFV with a short eta: error %v", err)
	}
	if _, err := assim.OFV(with(func(p *assim.Problem) { p.Omega = nil }), []float64{0, 0}); err == nil {
		t.Errorf("OFV with nil Omega: no error")
	}
	for _, tc := range []struct {
		name     string
		prob     assim.Problem
		settings *assim.Settings
		want     string
		is       error
	}{
		{"nil Omega", with(func(p *assim.Problem) { p.Omega = nil }), nil, "Problem.Omega is nil", nil},
		{"nil Predict", with(func(p *assim.Problem) { p.Predict = nil }), nil, "Problem.Predict is nil", nil},
		{"Omega not PD", with(func(p *assim.Problem) { p.Omega = mat.NewSymDense(2, []float64{1, 2, 2, 1}) }), nil, "Problem.Omega is not positive definite", nil},
		{"Omega NaN", with(func(p *assim.Problem) { p.Omega = mat.NewSymDense(2, []float64{1, math.NaN(), math.NaN(), 1}) }), nil, "Problem.Omega(0, 1) is NaN", nil},
		{"Y NaN", with(func(p *assim.Problem) { p.Y = []float64{math.NaN()} }), nil, "Problem.Y[0] is NaN", nil},
		{"no residual error", with(func(p *assim.Problem) { p.Error = assim.ResidualError{} }), nil, "Problem.Error is zero", nil},
		{"negative Add", with(func(p *assim.Problem) { p.Error.Add = -1 }), nil, "Problem.Error.Add is -1", nil},
		{"NaN Prop", with(func(p *assim.Problem) { p.Error.Prop = math.NaN() }), nil, "Problem.Error.Prop is NaN", nil},
		{"Predict error", with(func(p *assim.Problem) {
			p.Predict = func([]float64, []float64) error { return errBoom }
		}), nil, "Predict at eta [0 0]: boom", errBoom},
		{"NaN prediction", with(func(p *assim.Problem) {
			p.Predict = func(dst, _ []float64) error { dst[0] = math.NaN(); return nil }
		}), nil, "prediction 0 is NaN at eta [0 0]", nil},
		{"NaN prediction away from 0", with(func(p *assim.Problem) {
			p.Predict = func(dst, eta []float64) error {
				dst[0] = 10 * math.Exp(eta[0])
				if eta[0] > 0.05 {
					dst[0] = math.Inf(1)
				}
				return nil
			}
			p.Y = []float64{20}
		}), nil, "prediction 0 is +Inf", nil},
		{"zero variance", with(func(p *assim.Problem) {
			p.Predict = func(dst, _ []float64) error { dst[0] = 0; return nil }
		}), nil, "residual variance of observation 0 is 0", nil},
		{"Variance error", with(func(p *assim.Problem) {
			p.Variance = func([]float64, []float64) error { return errBoom }
		}), nil, "Variance: boom", errBoom},
		{"Jacobian error", with(func(p *assim.Problem) {
			p.Jacobian = func([]float64, []float64) error { return errBoom }
		}), nil, "Jacobian at eta [0 0]: boom", errBoom},
		{"NaN Jacobian", with(func(p *assim.Problem) {
			p.Jacobian = func(dst, _ []float64) error { dst[1] = math.NaN(); return nil }
		}), nil, "Jacobian element (0, 1) is NaN", nil},
		{"start of wrong length", ok, &assim.Settings{Starts: [][]float64{{1}}}, "Settings.Starts[0] has length 1, want 2", nil},
		{"NaN start", ok, &assim.Settings{Starts: [][]float64{{0, math.NaN()}}}, "Settings.Starts[0][1] is NaN", nil},
		{"zero radius", ok, &assim.Settings{Radii: []float64{1, 0}}, "Settings.Radii[1] is 0", nil},
		{"negative tolerance", ok, &assim.Settings{GradientTol: -1}, "Settings.GradientTol is -1", nil},
		{"negative iterations", ok, &assim.Settings{MaxIterations: -1}, "Settings.MaxIterations is -1", nil},
		{"NaN gradient step", ok, &assim.Settings{GradientStep: math.NaN()}, "Settings.GradientStep is NaN", nil},
		{"negative Hessian step", ok, &assim.Settings{HessianStep: -1e-4}, "Settings.HessianStep is -0.0001", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := assim.MAP(tc.prob, tc.settings)
			if err == nil {
				t.Fatalf("no error, result %+v", res)
			}
			if !strings.HasPrefix(err.Error(), "assim: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", err, tc.is)
			}
			if res != nil {
				t.Errorf("result %+v with error", res)
			}
		})
	}
}

// TestMAPHessianNotPD: f(η) = η² with y = 10, additive SD 1 and prior
// variance 100, so OFV = (10 − η²)² + η²/100 + const. η = 0 is a stationary
// point (a local maximum of the posterior, second derivative of OFV −40 + 1/50); BFGS from
// there stops at once on the gradient test, and the Laplace step must
// report ErrHessian with the estimate. The default starts (±10) reach the
// modes η² = 10 − 1/200.
func TestMAPHessianNotPD(t *testing.T) {
	p := assim.Problem{
		Omega:   mat.NewSymDense(1, []float64{100}),
		Y:       []float64{10},
		Predict: func(dst, eta []float64) error { dst[0] = eta[0] * eta[0]; return nil },
		Error:   assim.ResidualError{Add: 1},
	}
	res, err := assim.MAP(p, &assim.Settings{SingleStart: true})
	if !errors.Is(err, assim.ErrHessian) {
		t.Fatalf("error %v, want ErrHessian", err)
	}
	if res == nil || res.Cov != nil || !math.IsNaN(res.SE[0]) || res.Eta[0] != 0 || res.Converged {
		t.Fatalf("result %+v, want η = 0, Cov nil, SE NaN, not converged", res)
	}
	res, err = assim.MAP(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Sqrt(10 - 1.0/200); math.Abs(math.Abs(res.Eta[0])-want) > 1e-8 {
		t.Errorf("eta = %.12g, want ±%.12g", res.Eta[0], want)
	}
}

// oneCmtBolus is a nonlinear problem with two random effects: the
// concentration D/V·exp(−CL/V·t) of a one-compartment IV bolus at three
// times, CL = 5·exp(η1) L/h, V = 40·exp(η2) L, combined residual error, and
// its analytic Jacobian.
func oneCmtBolus() (assim.Problem, func(dst, eta []float64) error) {
	times := []float64{1, 6, 18}
	const dose = 1000
	omega := mat.NewSymDense(2, []float64{0.09, 0.02, 0.02, 0.04})
	p := assim.Problem{
		Omega: omega,
		Y:     []float64{27.1, 14.2, 2.9},
		Predict: func(dst, eta []float64) error {
			cl, v := 5*math.Exp(eta[0]), 40*math.Exp(eta[1])
			for i, t := range times {
				dst[i] = dose / v * math.Exp(-cl/v*t)
			}
			return nil
		},
		Error: assim.ResidualError{Add: 0.5, Prop: 0.1},
	}
	jac := func(dst, eta []float64) error {
		cl, v := 5*math.Exp(eta[0]), 40*math.Exp(eta[1])
		for i, t := range times {
			c := dose / v * math.Exp(-cl/v*t)
			dst[2*i] = -c * cl / v * t    // ∂c/∂η1 = ∂c/∂CL · CL
			dst[2*i+1] = c * (cl/v*t - 1) // ∂c/∂η2 = ∂c/∂V · V
		}
		return nil
	}
	return p, jac
}

// TestMAPJacobian checks the analytic-gradient path (with the standard
// residual model and with an elementwise Variance callback, whose
// derivative is taken by differences) against the finite-difference path on
// a nonlinear problem. Both find the same minimum: η to 1e-7 (gradient
// tolerance 1e-7 over Hessian eigenvalues above 200), and the Laplace
// covariances, from differences of gradients or of OFV, to 1e-6.
func TestMAPJacobian(t *testing.T) {
	p, jac := oneCmtBolus()
	ref, err := assim.MAP(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	withJac := p
	withJac.Jacobian = jac
	callback := withJac
	callback.Variance = func(dst, f []float64) error {
		for i, fi := range f {
			dst[i] = 0.25 + 0.01*fi*fi
		}
		return nil
	}
	callback.Error = assim.ResidualError{}
	for _, tc := range []struct {
		name string
		prob assim.Problem
	}{
		{"Jacobian, standard error", withJac},
		{"Jacobian, Variance callback", callback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := assim.MAP(tc.prob, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Converged || res.Stats.Jacobians == 0 {
				t.Errorf("converged %v, %d Jacobians", res.Converged, res.Stats.Jacobians)
			}
			for i := range 2 {
				if d := math.Abs(res.Eta[i] - ref.Eta[i]); d > 1e-7 {
					t.Errorf("eta[%d] = %.10g, finite differences give %.10g", i, res.Eta[i], ref.Eta[i])
				}
				for j := range 2 {
					if e := relErr(res.Cov.At(i, j), ref.Cov.At(i, j)); e > 1e-6 {
						t.Errorf("Cov(%d,%d) = %.10g, finite differences give %.10g", i, j, res.Cov.At(i, j), ref.Cov.At(i, j))
					}
				}
			}
			if e := relErr(res.OFV, ref.OFV); e > 1e-12 {
				t.Errorf("OFV = %.14g, finite differences give %.14g", res.OFV, ref.OFV)
			}
		})
	}
	// The estimate moved from the prior (the test is not vacuous).
	if math.Abs(ref.Eta[0]) < 0.05 || math.Abs(ref.Eta[1]) < 0.05 {
		t.Errorf("eta %v: too close to 0 for a useful comparison", ref.Eta)
	}
}
