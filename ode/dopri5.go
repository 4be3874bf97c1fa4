package ode

import "math"

// Dormand-Prince 5(4) coefficients (Dormand & Prince, J. Comput. Appl. Math.
// 6, 1980; Hairer, Nørsett, Wanner, Solving ODEs I, 2nd ed., §II.5).
const (
	dpC2, dpC3, dpC4, dpC5 = 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9

	dpA21 = 1.0 / 5

	dpA31, dpA32 = 3.0 / 40, 9.0 / 40

	dpA41, dpA42, dpA43 = 44.0 / 45, -56.0 / 15, 32.0 / 9

	dpA51, dpA52, dpA53, dpA54 = 19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729

	dpA61, dpA62, dpA63, dpA64, dpA65 = 9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656

	// Fifth-order weights (the seventh stage is evaluated at the new point: FSAL).
	dpA71, dpA73, dpA74, dpA75, dpA76 = 35.0 / 384, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84

	// Differences between the fifth- and fourth-order weights.
	dpE1, dpE3, dpE4, dpE5, dpE6, dpE7 = 71.0 / 57600, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40

	// Continuous extension of order 4 (Hairer, Nørsett, Wanner, Solving ODEs I,
	// §II.6, in the form of Hairer's DOPRI5 code, CONTD5).
	dpD1, dpD3, dpD4, dpD5, dpD6, dpD7 = -12715105075.0 / 11282082432, 87487479700.0 / 32700410799, -10690763975.0 / 1880347072,
		701980252875.0 / 199316789632, -1453857185.0 / 822651844, 69997945.0 / 29380423
)

// Step-size controller of DoPri5 (Solving ODEs I, §II.4,
// with the PI stabilisation of §IV.2 as in Hairer's DOPRI5 code).
const (
	dpSafe   = 0.9  // safety factor
	dpFacMin = 0.2  // smallest ratio hnew/h
	dpFacMax = 10.0 // largest ratio hnew/h
	dpBeta   = 0.04 // PI stabilisation (Lund) exponent
)

// DoPri5 is the adaptive explicit Runge-Kutta method of Dormand and Prince of
// order 5 with an embedded method of order 4 for step-size control, local
// extrapolation, the FSAL property (six evaluations of f per step), a
// continuous extension of order 4 for dense output, and event location.
// See Hairer, Nørsett, Wanner, Solving ODEs I, 2nd ed., Springer 1993, §II.4-II.6.
//
// Every call of Integrate or Solve is a restart: it chooses its first step by
// Settings.InitialStep or Hairer's heuristic and carries nothing over from
// earlier calls, so its result depends only on its arguments and Settings.
// After construction, calls allocate nothing. A DoPri5 is not safe for
// concurrent use; build one per goroutine. Its zero value is not usable;
// build it with NewDoPri5.
type DoPri5 struct {
	adaptive
	k         [7][]float64 // stages; k[0] is f(t, y), k[6] is f at the end of the step
	r         [5][]float64 // dense output
	told      float64      // start of the last accepted step
	h         float64      // length of the last accepted step
	logFacOld float64      // log of the previous error norm, for the PI controller
	logFacMin float64      // log(1e-4), the floor of logFacOld, computed once
}

// NewDoPri5 returns a DoPri5 integrator for an n-dimensional system. Invalid
// Settings are reported, naming the field, by every call of Integrate and
// Solve. It panics if f is nil or n < 1 (programmer errors).
func NewDoPri5(f Func, n int, s Settings) *DoPri5 {
	d := &DoPri5{logFacMin: math.Log(1e-4)}
	buf := d.setup(d, "DoPri5", 5, 1.01, f, n, s, 12*n)
	for i := range d.k {
		d.k[i] = buf.next(n)
	}
	for i := range d.r {
		d.r[i] = buf.next(n)
	}
	return d
}

func (d *DoPri5) begin() []float64 {
	d.logFacOld = d.logFacMin
	return d.k[0]
}

func (d *DoPri5) try(y []float64, t, tn, h float64) (errn float64, ok bool, err error) {
	n := d.n
	k1, k2, k3, k4, k5, k6, k7 := d.k[0], d.k[1], d.k[2], d.k[3], d.k[4], d.k[5], d.k[6]
	ys, y1 := d.w, d.y1 // stage argument, solution
	for i := range n {
		ys[i] = y[i] + h*dpA21*k1[i]
	}
	d.f(k2, t+dpC2*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(dpA31*k1[i]+dpA32*k2[i])
	}
	d.f(k3, t+dpC3*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(dpA41*k1[i]+dpA42*k2[i]+dpA43*k3[i])
	}
	d.f(k4, t+dpC4*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(dpA51*k1[i]+dpA52*k2[i]+dpA53*k3[i]+dpA54*k4[i])
	}
	d.f(k5, t+dpC5*h, ys)
	for i := range n {
		ys[i] = y[i] + h*(dpA61*k1[i]+dpA62*k2[i]+dpA63*k3[i]+dpA64*k4[i]+dpA65*k5[i])
	}
	d.f(k6, tn, ys)
	for i := range n {
		y1[i] = y[i] + h*(dpA71*k1[i]+dpA73*k3[i]+dpA74*k4[i]+dpA75*k5[i]+dpA76*k6[i])
	}
	d.f(k7, tn, y1)
	d.st.Evals += 6
	for i := range n {
		ys[i] = h * (dpE1*k1[i] + dpE3*k3[i] + dpE4*k4[i] + dpE5*k5[i] + dpE6*k6[i] + dpE7*k7[i])
	}
	return errNorm(ys, y, y1, d.set.atol, d.set.rtol), true, nil
}

// dpExpo1 is the exponent of the error norm in the PI controller. The
// controller computes its powers by exp and log: cheaper than math.Pow.
const dpExpo1 = 0.2 - dpBeta*0.75

func (d *DoPri5) shrink(h, errn float64) float64 {
	fac11 := math.Exp(dpExpo1 * math.Log(errn))
	return h / math.Min(1/dpFacMin, fac11/dpSafe)
}

func (d *DoPri5) accept(y []float64, t, h, errn float64, dense bool) float64 {
	// hnew = h / (err^expo1 / errOld^beta / safe), bounded.
	logErr := math.Log(errn)
	fac := math.Exp(dpExpo1*logErr - dpBeta*d.logFacOld)
	fac = math.Max(1/dpFacMax, math.Min(1/dpFacMin, fac/dpSafe))
	d.logFacOld = math.Max(logErr, d.logFacMin)
	if dense {
		d.prepareDense(y, t, h)
	}
	d.k[0], d.k[6] = d.k[6], d.k[0] // FSAL: f(tn, y1) is the next step's first stage
	return h / fac
}

// prepareDense computes the coefficients of the continuous extension of the
// accepted step from (t, y) of length h, before y is overwritten.
func (d *DoPri5) prepareDense(y []float64, t, h float64) {
	k1, k3, k4, k5, k6, k7 := d.k[0], d.k[2], d.k[3], d.k[4], d.k[5], d.k[6]
	r1, r2, r3, r4, r5 := d.r[0], d.r[1], d.r[2], d.r[3], d.r[4]
	for i := range d.n {
		diff := d.y1[i] - y[i]
		bspl := h*k1[i] - diff
		r1[i] = y[i]
		r2[i] = diff
		r3[i] = bspl
		r4[i] = diff - h*k7[i] - bspl
		r5[i] = h * (dpD1*k1[i] + dpD3*k3[i] + dpD4*k4[i] + dpD5*k5[i] + dpD6*k6[i] + dpD7*k7[i])
	}
	d.told, d.h = t, h
}

// interpolate evaluates the continuous extension of the last accepted step.
func (d *DoPri5) interpolate(dst []float64, t float64) {
	s := (t - d.told) / d.h
	s1 := 1 - s
	r1, r2, r3, r4, r5 := d.r[0], d.r[1], d.r[2], d.r[3], d.r[4]
	for i := range dst {
		dst[i] = r1[i] + s*(r2[i]+s1*(r3[i]+s*(r4[i]+s1*r5[i])))
	}
}
