package assim

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Problem is a maximum a posteriori (MAP) estimation problem for the random
// effects η of one individual: prior η ~ N(0, Omega), observations Y with
// model predictions f(η) and residual variances s²(f), and the objective
//
//	OFV(η) = Σ_i [(Y_i − f_i(η))²/s_i² + ln s_i²] + ηᵀ Omega⁻¹ η,
//
// minus twice the log posterior up to a constant.
type Problem struct {
	// Omega is the prior covariance Ω of η, a p×p symmetric positive
	// definite matrix; its size sets the number p of random effects. For
	// log-normal parameters P = θ·exp(η) with a coefficient of variation
	// CV, the variance is ω² = ln(CV² + 1).
	Omega mat.Symmetric

	// Y holds the n observations, in the unit of the predictions. It may be
	// empty: the MAP estimate is then η = 0 and the covariance Ω.
	Y []float64

	// Predict writes the model predictions f(η) of the n observations into
	// dst (length n) for the random effects eta (length p). It must not
	// retain or modify eta or retain dst. A returned error stops the
	// estimation and is returned, wrapped, by MAP.
	Predict func(dst, eta []float64) error

	// Jacobian, if not nil, writes the derivatives of the predictions,
	// dst[i*p+j] = ∂f_i/∂η_j (n×p, row-major), at eta. It makes the
	// gradient of the objective analytic; nil means the gradient is
	// approximated by central finite differences of the objective.
	Jacobian func(dst, eta []float64) error

	// Variance, if not nil, writes the residual variances s_i² of the
	// observations into dst for the predictions f. It must be elementwise:
	// dst[i] depends on f[i] (and i) only. Nil means the variance of the
	// standard residual model Error.
	Variance func(dst, f []float64) error

	// Error is the standard residual model, used when Variance is nil.
	Error ResidualError
}

// ResidualError is the combined additive and proportional residual model
// of the observations, y = f + ε_add + f·ε_prop with independent normal
// errors, whose variance is
//
//	s² = Add² + (Prop·f)².
//
// Add = 0 gives the proportional model, Prop = 0 the additive one.
type ResidualError struct {
	Add  float64 // additive standard deviation, in the unit of the observations
	Prop float64 // proportional standard deviation, a fraction of f (0.227 for 22.7 %)
}

// Variance writes Add² + (Prop·f_i)² into dst[i].
func (e ResidualError) Variance(dst, f []float64) {
	a2, p2 := e.Add*e.Add, e.Prop*e.Prop
	for i, fi := range f {
		dst[i] = a2 + p2*fi*fi
	}
}

// Defaults of Settings.
const (
	DefaultGradientTol   = 1e-7
	DefaultMaxIterations = 200
	DefaultGradientStep  = 6e-6 // fd.Central's step, ≈ eps^(1/3)
	DefaultHessianStep   = 1e-4 // ≈ eps^(1/4)
)

// MaxDistance is the largest Result.Distance, in posterior standard
// deviations, of a converged estimate.
const MaxDistance = 1e-4

// Settings configures MAP. The zero value is valid: every zero field takes
// the documented default.
//
// # Starts
//
// MAP minimises the objective with BFGS from several starting points and
// keeps the lowest (objectives within 1e-9 relative of the lowest count as
// equal, and among those a start that ended on a convergence test, then
// the earliest, is kept): η = 0 (the population value), then, for each radius r
// in Radii, η = ±r·L e_j for j = 1..p, where Ω = L Lᵀ is the Cholesky
// factorization, then the points of Starts. The axis starts lie on the
// prior ellipsoid ηᵀΩ⁻¹η = r²; for a diagonal Ω they are ±r standard
// deviations along each axis. The defaults give 2p+1 starts.
type Settings struct {
	// Radii are the radii, in prior standard deviations, of the axis
	// starts; nil means {1}. Each must be positive and finite.
	Radii []float64
	// SingleStart, if true, starts only from η = 0 (and Starts).
	SingleStart bool
	// Starts are extra starting points, each of length p.
	Starts [][]float64

	// GradientTol stops a start when the infinity norm of the gradient of
	// the objective falls below it; 0 means DefaultGradientTol (1e-7). A
	// start also stops when OFV has decreased by less than 1e-12 + 1e-14·|OFV|
	// over 10 iterations, or when its line search fails, which happens near
	// the minimum once the decrease of OFV is below its rounding error (see
	// Result.Converged).
	GradientTol float64
	// MaxIterations bounds the BFGS iterations of each start; 0 means
	// DefaultMaxIterations (200).
	MaxIterations int
	// GradientStep is the step in η of the central differences that
	// approximate the gradient when Problem.Jacobian is nil; 0 means
	// DefaultGradientStep (6e-6).
	GradientStep float64
	// HessianStep is the step in η of the finite differences of the
	// Laplace Hessian; 0 means DefaultHessianStep (1e-4) for differences of
	// the objective and DefaultGradientStep for differences of the analytic
	// gradient (when Problem.Jacobian is set).
	HessianStep float64
}

// Start is the outcome of the minimisation from one starting point.
type Start struct {
	Eta0   []float64       // starting point
	Eta    []float64       // where the start ended
	OFV    float64         // objective at Eta
	Status optimize.Status // gonum's termination status
	// Err is the optimiser's error (such as a line search that failed near
	// the minimum, where finite-difference noise dominates), or nil.
	Err error
}

// Stats counts the work of MAP.
type Stats struct {
	Predictions int // calls of Problem.Predict
	Jacobians   int // calls of Problem.Jacobian
	Iterations  int // BFGS major iterations, all starts
}

// Result is a MAP estimate with its Laplace approximation.
type Result struct {
	// Eta is the MAP estimate η̂ (length p), the best of all starts.
	Eta []float64
	// OFV is the objective at Eta.
	OFV float64
	// Pred holds the predictions f(η̂) (length n), the individual
	// predictions (IPRED).
	Pred []float64
	// Cov is the Laplace approximation of the posterior covariance of η,
	// the inverse of half the Hessian of OFV at η̂, and SE the square roots
	// of its diagonal, the approximate posterior standard errors. Cov is
	// nil and SE NaN when that Hessian is not positive definite.
	Cov *mat.SymDense
	SE  []float64
	// Distance estimates how far Eta lies from the mode, in posterior
	// standard deviations: the length ½√(gᵀ Cov g) of the Newton step
	// −H⁻¹g to the minimum of the local quadratic model, with g and H the
	// gradient and Hessian of OFV at Eta. It is NaN when Cov is nil.
	Distance float64
	// Converged reports whether Eta is a minimum to working precision:
	// Cov exists (the Hessian is positive definite) and Distance is at most
	// MaxDistance (1e-4). It can hold when the optimiser's own status is a
	// line-search failure, which happens near the minimum when the decrease
	// of OFV is below its rounding error.
	Converged bool
	// Status is the gonum termination status of the best start.
	Status optimize.Status
	// Starts lists every start, in the order tried; Best indexes the one
	// that gave Eta.
	Starts []Start
	Best   int
	Stats  Stats
}

// ErrHessian is wrapped by the error MAP returns, together with a valid
// estimate, when the Hessian of the objective at the estimate is not
// positive definite, so that the Laplace covariance does not exist.
var ErrHessian = errors.New("assim: Hessian of the objective is not positive definite at the MAP estimate")

// objective evaluates OFV and its gradient for a Problem. It holds the
// scratch space of one estimation; it is not safe for concurrent use.
type objective struct {
	p       Problem
	np, n   int
	l       []float64 // Cholesky factor of Ω, lower, row-major p×p
	f, s2   []float64 // predictions, variances
	jac     []float64 // n×p
	ds2     []float64 // ∂s²/∂f
	fh, vh  []float64 // scratch for variance differences
	z, w    []float64 // scratch for triangular solves
	err     error     // first callback error of the estimation
	stats   Stats
	gradSet fd.Settings
}

// eval returns OFV(eta) and leaves f and s2 set. On error it records the
// error and returns NaN.
func (o *objective) eval(eta []float64) float64 {
	if o.err != nil {
		return math.NaN()
	}
	v, err := o.value(eta)
	if err != nil {
		o.err = err
		return math.NaN()
	}
	return v
}

func (o *objective) value(eta []float64) (float64, error) {
	for j, e := range eta {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return 0, fmt.Errorf("assim: eta[%d] is %v", j, e)
		}
	}
	var sum float64
	if o.n > 0 {
		o.stats.Predictions++
		if err := o.p.Predict(o.f, eta); err != nil {
			return 0, fmt.Errorf("assim: Predict at eta %v: %w", eta, err)
		}
		for i, fi := range o.f {
			if math.IsNaN(fi) || math.IsInf(fi, 0) {
				return 0, fmt.Errorf("assim: prediction %d is %v at eta %v", i, fi, eta)
			}
		}
		if err := o.variance(o.s2, o.f); err != nil {
			return 0, err
		}
		for i, y := range o.p.Y {
			r := y - o.f[i]
			sum += r*r/o.s2[i] + math.Log(o.s2[i])
		}
	}
	o.forward(o.z, eta)
	for _, z := range o.z {
		sum += z * z
	}
	return sum, nil
}

// variance writes s² for predictions f into dst and checks it.
func (o *objective) variance(dst, f []float64) error {
	if o.p.Variance == nil {
		o.p.Error.Variance(dst, f)
	} else if err := o.p.Variance(dst, f); err != nil {
		return fmt.Errorf("assim: Variance: %w", err)
	}
	for i, v := range dst {
		if !(v > 0) || math.IsInf(v, 1) {
			return fmt.Errorf("assim: residual variance of observation %d is %v at prediction %v (want positive and finite)", i, v, f[i])
		}
	}
	return nil
}

// forward solves L z = x for z.
func (o *objective) forward(z, x []float64) {
	p := o.np
	for i := range p {
		s := x[i]
		for k := range i {
			s -= o.l[i*p+k] * z[k]
		}
		z[i] = s / o.l[i*p+i]
	}
}

// backward solves Lᵀ w = z for w.
func (o *objective) backward(w, z []float64) {
	p := o.np
	for i := p - 1; i >= 0; i-- {
		s := z[i]
		for k := i + 1; k < p; k++ {
			s -= o.l[k*p+i] * w[k]
		}
		w[i] = s / o.l[i*p+i]
	}
}

// grad writes the gradient of OFV at eta into dst.
func (o *objective) grad(dst, eta []float64) {
	if o.err != nil {
		for j := range dst {
			dst[j] = math.NaN()
		}
		return
	}
	if o.p.Jacobian == nil {
		fd.Gradient(dst, o.eval, eta, &o.gradSet)
		return
	}
	if err := o.analyticGrad(dst, eta); err != nil {
		o.err = err
		for j := range dst {
			dst[j] = math.NaN()
		}
	}
}

// analyticGrad is the chain rule through Problem.Jacobian:
//
//	∂OFV/∂η_j = Σ_i J_ij [−2 r_i/s_i² + (1/s_i² − r_i²/s_i⁴) ∂s_i²/∂f_i] + 2 (Ω⁻¹η)_j.
func (o *objective) analyticGrad(dst, eta []float64) error {
	if _, err := o.value(eta); err != nil {
		return err
	}
	p := o.np
	o.forward(o.z, eta)
	o.backward(o.w, o.z)
	for j := range dst {
		dst[j] = 2 * o.w[j]
	}
	if o.n == 0 {
		return nil
	}
	o.stats.Jacobians++
	if err := o.p.Jacobian(o.jac, eta); err != nil {
		return fmt.Errorf("assim: Jacobian at eta %v: %w", eta, err)
	}
	for k, v := range o.jac {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("assim: Jacobian element (%d, %d) is %v at eta %v", k/p, k%p, v, eta)
		}
	}
	if err := o.varianceDeriv(); err != nil {
		return err
	}
	for i, y := range o.p.Y {
		r, s2 := y-o.f[i], o.s2[i]
		c := -2*r/s2 + (1/s2-r*r/(s2*s2))*o.ds2[i]
		row := o.jac[i*p : (i+1)*p]
		for j, jij := range row {
			dst[j] += c * jij
		}
	}
	return nil
}

// varianceDeriv writes ∂s_i²/∂f_i at o.f into o.ds2: analytic for the
// standard model, by central differences of the elementwise Variance
// callback otherwise.
func (o *objective) varianceDeriv() error {
	if o.p.Variance == nil {
		p2 := o.p.Error.Prop * o.p.Error.Prop
		for i, f := range o.f {
			o.ds2[i] = 2 * p2 * f
		}
		return nil
	}
	const rel = 6e-6
	for i, f := range o.f {
		o.fh[i] = f + rel*math.Max(math.Abs(f), 1)
	}
	if err := o.variance(o.ds2, o.fh); err != nil {
		return err
	}
	for i, f := range o.f {
		o.fh[i] = f - rel*math.Max(math.Abs(f), 1)
	}
	if err := o.variance(o.vh, o.fh); err != nil {
		return err
	}
	for i, f := range o.f {
		o.ds2[i] = (o.ds2[i] - o.vh[i]) / (2 * rel * math.Max(math.Abs(f), 1))
	}
	return nil
}

// OFV returns the objective of p at eta (length p): minus twice the log
// posterior up to a constant. It checks p as MAP does.
func OFV(p Problem, eta []float64) (float64, error) {
	o, err := newObjective(p, &Settings{})
	if err != nil {
		return 0, err
	}
	if len(eta) != o.np {
		return 0, fmt.Errorf("assim: eta has length %d, want %d (the size of Omega)", len(eta), o.np)
	}
	return o.value(eta)
}

// MAP returns the maximum a posteriori estimate of η for p, found by BFGS
// (gonum optimize) from several starting points (see Settings), with the
// Laplace approximation of its posterior covariance. A nil settings means
// the zero Settings.
//
// MAP returns an error naming the field for an invalid problem or setting,
// and stops with an error when a callback fails or a prediction, its
// variance or a Jacobian element is not finite. When the Hessian at the
// estimate is not positive definite it returns the estimate with Cov nil
// together with an error wrapping ErrHessian.
//
// MAP is safe for concurrent use when the callbacks of p are: each call
// has its own scratch space.
func MAP(p Problem, settings *Settings) (*Result, error) {
	var s Settings
	if settings != nil {
		s = *settings
	}
	o, err := newObjective(p, &s)
	if err != nil {
		return nil, err
	}
	starts := o.starts(&s)
	res := &Result{Best: -1, Starts: make([]Start, 0, len(starts))}
	prob := optimize.Problem{
		Func:   o.eval,
		Grad:   o.grad,
		Status: func() (optimize.Status, error) { return optimize.NotTerminated, o.err },
	}
	tol := s.GradientTol
	if tol == 0 {
		tol = DefaultGradientTol
	}
	maxIter := s.MaxIterations
	if maxIter == 0 {
		maxIter = DefaultMaxIterations
	}
	for _, eta0 := range starts {
		opt := optimize.Settings{
			GradientThreshold: tol,
			MajorIterations:   maxIter,
			Converger:         &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-14, Iterations: 10},
		}
		r, err := optimize.Minimize(prob, eta0, &opt, &optimize.BFGS{GradStopThreshold: tol})
		if o.err != nil {
			return nil, o.err
		}
		st := Start{Eta0: eta0, Status: optimize.Failure, OFV: math.Inf(1), Err: err}
		if r != nil {
			res.Stats.Iterations += r.Stats.MajorIterations
			st.Status = r.Status
			st.Eta = r.X
			st.OFV = r.F
		}
		if st.Eta == nil {
			st.Eta = append([]float64(nil), eta0...)
		}
		res.Starts = append(res.Starts, st)
	}
	res.Best = best(res.Starts)
	if res.Best < 0 {
		return nil, fmt.Errorf("assim: no start reached a finite objective: %v", res.Starts[0].Err)
	}
	b := res.Starts[res.Best]
	res.Eta = append([]float64(nil), b.Eta...)
	res.Status = b.Status
	// Re-evaluate at the estimate: OFV and predictions exactly there.
	res.OFV, err = o.value(res.Eta)
	if err != nil {
		return nil, err
	}
	res.Pred = append([]float64(nil), o.f...)

	err = o.laplace(res, &s)
	res.Stats = Stats{Predictions: o.stats.Predictions, Jacobians: o.stats.Jacobians, Iterations: res.Stats.Iterations}
	if o.err != nil {
		return nil, o.err
	}
	return res, err
}

// converged reports whether a start ended on a convergence test.
func converged(s Start) bool {
	return s.Err == nil && !s.Status.Early() && s.Status != optimize.NotTerminated
}

// best returns the index of the start with the lowest objective, or -1 if
// none is finite. Objectives within 1e-9 relative of the lowest count as
// equal (they differ by rounding near a common minimum); among those it
// prefers a converged start, then the earliest.
func best(starts []Start) int {
	lo := math.Inf(1)
	for _, s := range starts {
		lo = math.Min(lo, s.OFV)
	}
	if math.IsInf(lo, 1) || math.IsNaN(lo) {
		return -1
	}
	b := -1
	for i, s := range starts {
		if !(s.OFV <= lo+1e-9*math.Max(1, math.Abs(lo))) {
			continue
		}
		if b < 0 || (converged(s) && !converged(starts[b])) {
			b = i
		}
	}
	return b
}

// laplace sets res.Cov and res.SE from the finite-difference Hessian of
// OFV at res.Eta: Cov = (H/2)⁻¹.
func (o *objective) laplace(res *Result, s *Settings) error {
	p := o.np
	h := mat.NewSymDense(p, nil)
	if o.p.Jacobian == nil {
		step := s.HessianStep
		if step == 0 {
			step = DefaultHessianStep
		}
		fd.Hessian(h, o.eval, res.Eta, &fd.Settings{Formula: fd.Central, Step: step})
	} else {
		step := s.HessianStep
		if step == 0 {
			step = DefaultGradientStep
		}
		jac := mat.NewDense(p, p, nil)
		fd.Jacobian(jac, func(dst, x []float64) { o.grad(dst, x) }, res.Eta, &fd.JacobianSettings{Formula: fd.Central, Step: step})
		for i := range p {
			for j := i; j < p; j++ {
				h.SetSym(i, j, (jac.At(i, j)+jac.At(j, i))/2)
			}
		}
	}
	if o.err != nil {
		return o.err
	}
	h.ScaleSym(0.5, h)
	res.SE = make([]float64, p)
	var chol mat.Cholesky
	if !chol.Factorize(h) {
		res.Distance = math.NaN()
		for i := range res.SE {
			res.SE[i] = math.NaN()
		}
		return fmt.Errorf("%w (Hessian/2 = %v)", ErrHessian, mat.Formatted(h, mat.FormatPython()))
	}
	res.Cov = mat.NewSymDense(p, nil)
	if err := chol.InverseTo(res.Cov); err != nil {
		res.Cov = nil
		res.Distance = math.NaN()
		for i := range res.SE {
			res.SE[i] = math.NaN()
		}
		return fmt.Errorf("%w: %v", ErrHessian, err)
	}
	for i := range res.SE {
		res.SE[i] = math.Sqrt(res.Cov.At(i, i))
	}
	g := make([]float64, p)
	o.grad(g, res.Eta)
	if o.err != nil {
		return o.err
	}
	gv := mat.NewVecDense(p, g)
	res.Distance = 0.5 * math.Sqrt(math.Max(0, mat.Inner(gv, res.Cov, gv)))
	res.Converged = res.Distance <= MaxDistance
	return nil
}

// newObjective checks p and s and builds the objective.
func newObjective(p Problem, s *Settings) (*objective, error) {
	if p.Omega == nil {
		return nil, errors.New("assim: Problem.Omega is nil")
	}
	if p.Predict == nil {
		return nil, errors.New("assim: Problem.Predict is nil")
	}
	np := p.Omega.SymmetricDim()
	if np == 0 {
		return nil, errors.New("assim: Problem.Omega is empty (no random effects)")
	}
	for i := range np {
		for j := i; j < np; j++ {
			if v := p.Omega.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("assim: Problem.Omega(%d, %d) is %v", i, j, v)
			}
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(p.Omega) {
		return nil, fmt.Errorf("assim: Problem.Omega is not positive definite: %v", mat.Formatted(p.Omega, mat.FormatPython()))
	}
	var lt mat.TriDense
	chol.LTo(&lt)
	n := len(p.Y)
	for i, y := range p.Y {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			return nil, fmt.Errorf("assim: Problem.Y[%d] is %v", i, y)
		}
	}
	if p.Variance == nil {
		e := p.Error
		switch {
		case !(e.Add >= 0) || math.IsInf(e.Add, 0):
			return nil, fmt.Errorf("assim: Problem.Error.Add is %v (want a finite standard deviation >= 0)", e.Add)
		case !(e.Prop >= 0) || math.IsInf(e.Prop, 0):
			return nil, fmt.Errorf("assim: Problem.Error.Prop is %v (want a finite fraction >= 0)", e.Prop)
		case n > 0 && e.Add == 0 && e.Prop == 0:
			return nil, errors.New("assim: Problem.Error is zero and Problem.Variance is nil (no residual variance)")
		}
	}
	if err := checkSettings(s, np); err != nil {
		return nil, err
	}
	gs := s.GradientStep
	if gs == 0 {
		gs = DefaultGradientStep
	}
	o := &objective{
		p: p, np: np, n: n,
		l:  make([]float64, np*np),
		f:  make([]float64, n),
		s2: make([]float64, n),
		z:  make([]float64, np),
		w:  make([]float64, np),
		gradSet: fd.Settings{
			Formula: fd.Central,
			Step:    gs,
		},
	}
	for i := range np {
		for j := 0; j <= i; j++ {
			o.l[i*np+j] = lt.At(i, j)
		}
	}
	if p.Jacobian != nil {
		o.jac = make([]float64, n*np)
		o.ds2 = make([]float64, n)
		o.fh = make([]float64, n)
		o.vh = make([]float64, n)
	}
	return o, nil
}

func checkSettings(s *Settings, np int) error {
	for i, r := range s.Radii {
		if !(r > 0) || math.IsInf(r, 1) {
			return fmt.Errorf("assim: Settings.Radii[%d] is %v (want positive and finite)", i, r)
		}
	}
	for i, st := range s.Starts {
		if len(st) != np {
			return fmt.Errorf("assim: Settings.Starts[%d] has length %d, want %d (the size of Omega)", i, len(st), np)
		}
		for j, v := range st {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("assim: Settings.Starts[%d][%d] is %v", i, j, v)
			}
		}
	}
	switch {
	case !(s.GradientTol >= 0) || math.IsInf(s.GradientTol, 1):
		return fmt.Errorf("assim: Settings.GradientTol is %v (want >= 0, 0 for the default)", s.GradientTol)
	case s.MaxIterations < 0:
		return fmt.Errorf("assim: Settings.MaxIterations is %d (want >= 0, 0 for the default)", s.MaxIterations)
	case !(s.GradientStep >= 0) || math.IsInf(s.GradientStep, 1):
		return fmt.Errorf("assim: Settings.GradientStep is %v (want >= 0, 0 for the default)", s.GradientStep)
	case !(s.HessianStep >= 0) || math.IsInf(s.HessianStep, 1):
		return fmt.Errorf("assim: Settings.HessianStep is %v (want >= 0, 0 for the default)", s.HessianStep)
	}
	return nil
}

// starts lists the starting points of s: 0, the axis starts, s.Starts.
func (o *objective) starts(s *Settings) [][]float64 {
	p := o.np
	out := [][]float64{make([]float64, p)}
	if !s.SingleStart {
		radii := s.Radii
		if radii == nil {
			radii = []float64{1}
		}
		for _, r := range radii {
			for j := range p {
				for _, sign := range [2]float64{1, -1} {
					eta := make([]float64, p)
					for i := j; i < p; i++ {
						eta[i] = sign * r * o.l[i*p+j] // column j of L
					}
					out = append(out, eta)
				}
			}
		}
	}
	for _, st := range s.Starts {
		out = append(out, append([]float64(nil), st...))
	}
	return out
}
