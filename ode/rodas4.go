package ode

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// RODAS4 coefficients: Hairer & Wanner, Solving ODEs II, 2nd ed., Springer
// 1996, §VI.4, and their RODAS code (coefficient set METH = 1), in the
// transformed form of §IV.7 used by that code: with E = I/(hγ) - J,
//
//	E k_i = f(t + c_i h, y + Σ_{j<i} a_ij k_j) + Σ_{j<i} (c_ij/h) k_j + h d_i ∂f/∂t.
//
// The method is stiffly accurate: y + Σ_{j<5} a_5j k_j + k_5 is the embedded
// third-order solution, adding k_6 gives the fourth-order solution, and k_6
// is the error estimate.
const (
	roGamma = 0.25

	roC2, roC3, roC4 = 0.386, 0.21, 0.63

	roD1, roD2, roD3, roD4 = 0.25, -0.1043, 0.1035, -0.3620000000000023e-01

	roA21 = 1.544

	roA31, roA32 = 0.9466785280815826, 0.2557011698983284

	roA41, roA42, roA43 = 3.314825187068521, 2.896124015972201, 0.9986419139977817

	roA51, roA52, roA53, roA54 = 1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950

	roC21 = -5.6688

	roC31, roC32 = -2.430093356833875, -0.2063599157091915

	roC41, roC42, roC43 = -0.1073529058151375, -9.594562251023355, -20.47028614809616

	roC51, roC52, roC53, roC54 = 7.496443313967647, -10.24680431464352, -33.99990352819905, 11.70890893206160

	roC61, roC62, roC63, roC64, roC65 = 8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054

	// Continuous extension of order 3 (RODAS code, dense output).
	roD21, roD22, roD23, roD24, roD25 = 10.12623508344586, -7.487995877610167, -34.80091861555747, -7.992771707568823, 1.025137723295662
	roD31, roD32, roD33, roD34, roD35 = -0.6762803392801253, 6.087714651680015, 16.43084320892478, 24.76722511418386, -6.594389125716872
)

// Step-size controller of Rodas4 (Solving ODEs II, §IV.8, as in the RODAS code:
// the standard controller with the predictive controller of Gustafsson).
const (
	roSafe   = 0.9
	roFacMin = 0.2 // smallest ratio hnew/h
	roFacMax = 6.0 // largest ratio hnew/h
)

// Rodas4 is the stiffly accurate, L-stable Rosenbrock method RODAS of order 4
// with an embedded method of order 3 (Hairer & Wanner, Solving ODEs II, 2nd
// ed., Springer 1996, §IV.7 and §VI.4), for stiff systems. Each step costs
// one Jacobian ∂f/∂y (analytic, or n evaluations of f by forward
// differences), one evaluation of f for ∂f/∂t by a forward difference, one
// LU factorization of I/(hγ) - J (gonum's LAPACK, lapack64.Getrf), six
// triangular solves and six evaluations of f.
// It has a continuous extension of order 3 for dense output and event
// location.
//
// Every call of Integrate or Solve is a restart, as for DoPri5. After
// construction, calls allocate nothing. A Rodas4 is not safe for concurrent
// use. Its zero value is not usable; build it with NewRodas4.
type Rodas4 struct {
	adaptive
	jac      Jacobian
	dy1      []float64 // f(t, y)
	fx       []float64 // ∂f/∂t
	ak       [6][]float64
	yw       []float64 // scratch state for finite differences
	jm       []float64 // Jacobian, row-major
	e        []float64 // iteration matrix and its LU factors, row-major
	ipiv     []int
	r        [4][]float64 // dense output
	told     float64
	h        float64
	haveDy1  bool    // dy1 holds f(t, y) of the current point
	newPoint bool    // the Jacobian and ∂f/∂t are to be evaluated at the current point
	singular int     // consecutive singular iteration matrices
	hAcc     float64 // length of the last accepted step, for Gustafsson's controller
	errAcc   float64 // its error norm, bounded below
}

// NewRodas4 returns a Rodas4 integrator for an n-dimensional system with
// derivative f and Jacobian jac; a nil jac means forward differences. Invalid
// Settings are reported, naming the field, by every call of Integrate and
// Solve. It panics if f is nil or n < 1 (programmer errors).
func NewRodas4(f Func, jac Jacobian, n int, s Settings) *Rodas4 {
	r := &Rodas4{jac: jac}
	buf := r.setup(r, "Rodas4", 4, 1.0001, f, n, s, 13*n+2*n*n)
	r.ipiv = make([]int, n)
	r.dy1, r.fx, r.yw = buf.next(n), buf.next(n), buf.next(n)
	for i := range r.ak {
		r.ak[i] = buf.next(n)
	}
	for i := range r.r {
		r.r[i] = buf.next(n)
	}
	r.jm, r.e = buf.next(n*n), buf.next(n*n)
	return r
}

func (r *Rodas4) begin() []float64 {
	r.haveDy1, r.newPoint, r.singular = true, true, 0
	return r.dy1
}

func (r *Rodas4) try(y []float64, t, tn, h float64) (errn float64, ok bool, err error) {
	n := r.n
	ak1, ak2, ak3, ak4, ak5, ak6 := r.ak[0], r.ak[1], r.ak[2], r.ak[3], r.ak[4], r.ak[5]
	dy1, dy, fx, ynew := r.dy1, r.w, r.fx, r.y1 // dy: f at a stage
	if r.newPoint {
		// Jacobian and ∂f/∂t at (t, y), kept for retries of this step.
		if !r.haveDy1 {
			r.f(dy1, t, y)
			r.st.Evals++
		}
		r.haveDy1 = false
		r.jacobian(t, y)
		delt := math.Sqrt(epsilon * math.Max(1e-5, math.Abs(t)))
		r.f(dy, t+delt, y)
		r.st.Evals++
		for i := range n {
			fx[i] = (dy[i] - dy1[i]) / delt
		}
		if !allFinite(r.jm) || !allFinite(fx) {
			return 0, false, fmt.Errorf("%w: Jacobian or ∂f/∂t at t = %v", ErrNotFinite, t)
		}
		r.newPoint = false
	}
	// Iteration matrix E = I/(hγ) - J and its LU factors.
	fac := 1 / (h * roGamma)
	for i := range r.e {
		r.e[i] = -r.jm[i]
	}
	for i := range n {
		r.e[i*n+i] += fac
	}
	r.st.Factorizations++
	e := blas64.General{Rows: n, Cols: n, Stride: n, Data: r.e}
	if !lapack64.Getrf(e, r.ipiv) || !allFinite(r.e) {
		r.singular++
		if r.singular >= 5 {
			return 0, false, fmt.Errorf("%w: at t = %v", ErrSingular, t)
		}
		return 0, false, nil
	}
	hd1, hd2, hd3, hd4 := h*roD1, h*roD2, h*roD3, h*roD4
	// Stage 1.
	for i := range n {
		ak1[i] = dy1[i] + hd1*fx[i]
	}
	r.solveLU(ak1)
	// Stage 2.
	for i := range n {
		ynew[i] = y[i] + roA21*ak1[i]
	}
	r.f(dy, t+roC2*h, ynew)
	for i := range n {
		ak2[i] = dy[i] + hd2*fx[i] + (roC21*ak1[i])/h
	}
	r.solveLU(ak2)
	// Stage 3.
	for i := range n {
		ynew[i] = y[i] + roA31*ak1[i] + roA32*ak2[i]
	}
	r.f(dy, t+roC3*h, ynew)
	for i := range n {
		ak3[i] = dy[i] + hd3*fx[i] + (roC31*ak1[i]+roC32*ak2[i])/h
	}
	r.solveLU(ak3)
	// Stage 4.
	for i := range n {
		ynew[i] = y[i] + roA41*ak1[i] + roA42*ak2[i] + roA43*ak3[i]
	}
	r.f(dy, t+roC4*h, ynew)
	for i := range n {
		ak4[i] = dy[i] + hd4*fx[i] + (roC41*ak1[i]+roC42*ak2[i]+roC43*ak3[i])/h
	}
	r.solveLU(ak4)
	// Stage 5.
	for i := range n {
		ynew[i] = y[i] + roA51*ak1[i] + roA52*ak2[i] + roA53*ak3[i] + roA54*ak4[i]
	}
	r.f(dy, tn, ynew)
	for i := range n {
		ak5[i] = dy[i] + (roC51*ak1[i]+roC52*ak2[i]+roC53*ak3[i]+roC54*ak4[i])/h
	}
	r.solveLU(ak5)
	// Stage 6: embedded solution, then the new solution.
	for i := range n {
		ynew[i] += ak5[i]
	}
	r.f(dy, tn, ynew)
	for i := range n {
		ak6[i] = dy[i] + (roC61*ak1[i]+roC62*ak2[i]+roC63*ak3[i]+roC64*ak4[i]+roC65*ak5[i])/h
	}
	r.solveLU(ak6)
	for i := range n {
		ynew[i] += ak6[i]
	}
	r.st.Evals += 5
	return errNorm(ak6, y, ynew, r.set.atol, r.set.rtol), true, nil
}

// roRatio is the standard controller's bounded ratio h/hnew for error errn.
func roRatio(errn float64) float64 {
	return math.Max(1/roFacMax, math.Min(1/roFacMin, math.Sqrt(math.Sqrt(errn))/roSafe))
}

func (r *Rodas4) shrink(h, errn float64) float64 { return h / roRatio(errn) }

func (r *Rodas4) accept(y []float64, t, h, errn float64, dense bool) float64 {
	q := roRatio(errn)
	hnew := h / q
	if r.st.Steps > 0 {
		// Predictive controller of Gustafsson (Solving ODEs II, §IV.8).
		qg := (r.hAcc / h) * math.Sqrt(math.Sqrt(errn*errn/r.errAcc)) / roSafe
		qg = math.Max(1/roFacMax, math.Min(1/roFacMin, qg))
		hnew = h / math.Max(q, qg)
	}
	r.hAcc, r.errAcc = h, math.Max(1e-2, errn)
	r.singular = 0
	if dense {
		r.prepareDense(y, t, h)
	}
	r.newPoint = true
	return hnew
}

// jacobian evaluates ∂f/∂y at (t, y) into r.jm; r.dy1 holds f(t, y).
func (r *Rodas4) jacobian(t float64, y []float64) {
	r.st.Jacobians++
	n := r.n
	if r.jac != nil {
		r.jac(r.jm, t, y)
		return
	}
	// Forward differences, one column at a time, with the increment
	// sqrt(eps) * max(|y_j|, AbsTol_j): relative to the component, and
	// relative to its absolute tolerance when it is smaller. A fixed floor
	// such as the sqrt(eps * max(1e-5, |y_j|)) of Hairer's RODAS code swamps
	// components far below it (Robertson's y2 ≈ 1e-13) and ruins the
	// Jacobian entries that depend on them.
	yw, dy := r.yw, r.w
	copy(yw, y)
	for j := range n {
		yj := y[j]
		delt := sqrtEpsilon * math.Max(math.Abs(yj), r.set.atol[j])
		yw[j] = yj + delt
		delt = yw[j] - yj // the increment actually represented
		r.f(dy, t, yw)
		yw[j] = y[j]
		for i := range n {
			r.jm[i*n+j] = (dy[i] - r.dy1[i]) / delt
		}
	}
	r.st.Evals += n
}

// solveLU overwrites b with E⁻¹ b using the LU factors of lapack64.Getrf in
// r.e (P E = L U, L unit lower triangular). For the one right-hand side and
// the small n of model systems these loops are several times faster than
// lapack64.Getrs, whose blocked triangular solves are built for many.
func (r *Rodas4) solveLU(b []float64) {
	n, lu := r.n, r.e
	for i, p := range r.ipiv { // row interchanges, in order
		if p != i {
			b[i], b[p] = b[p], b[i]
		}
	}
	for i := 1; i < n; i++ { // L z = P b
		s := b[i]
		for j, l := range lu[i*n : i*n+i] {
			s -= l * b[j]
		}
		b[i] = s
	}
	for i := n - 1; i >= 0; i-- { // U x = z
		row := lu[i*n : i*n+n]
		s := b[i]
		for j := i + 1; j < n; j++ {
			s -= row[j] * b[j]
		}
		b[i] = s / row[i]
	}
}

// prepareDense computes the coefficients of the continuous extension of the
// accepted step from (t, y) of length h, before y is overwritten.
func (r *Rodas4) prepareDense(y []float64, t, h float64) {
	ak1, ak2, ak3, ak4, ak5 := r.ak[0], r.ak[1], r.ak[2], r.ak[3], r.ak[4]
	for i := range r.n {
		r.r[0][i] = y[i]
		r.r[1][i] = r.y1[i]
		r.r[2][i] = roD21*ak1[i] + roD22*ak2[i] + roD23*ak3[i] + roD24*ak4[i] + roD25*ak5[i]
		r.r[3][i] = roD31*ak1[i] + roD32*ak2[i] + roD33*ak3[i] + roD34*ak4[i] + roD35*ak5[i]
	}
	r.told, r.h = t, h
}

// interpolate evaluates the continuous extension of the last accepted step.
func (r *Rodas4) interpolate(dst []float64, t float64) {
	s := (t - r.told) / r.h
	s1 := 1 - s
	for i := range dst {
		dst[i] = r.r[0][i]*s1 + s*(r.r[1][i]+s1*(r.r[2][i]+s*r.r[3][i]))
	}
}
