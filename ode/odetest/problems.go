package odetest

import (
	"math"

	"github.com/doppelhealth/doppel/ode"
)

// Problem is an initial-value problem with a reference solution at T1.
type Problem struct {
	ode.Problem // F, Jac, T0, Y0

	Name  string
	T1    float64   // end of the interval
	Want  []float64 // reference solution at T1
	Stiff bool      // needs a stiff method for a reasonable cost

	// Exact is the closed-form solution, nil when there is none.
	Exact func(dst []float64, t float64)

	// Floor is the magnitude below which Error compares a component
	// absolutely: the error of component i is |y_i - Want_i| divided by
	// max(|Want_i|, Floor).
	Floor float64

	// Source says where Want comes from.
	Source string
}

// Error is the largest error of y against Want, relative to |Want_i| or to
// Floor when |Want_i| is smaller (see Floor). A non-finite y gives +Inf.
func (p Problem) Error(y []float64) float64 {
	var e float64
	for i, w := range p.Want {
		d := math.Abs(y[i]-w) / math.Max(math.Abs(w), p.Floor)
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		e = math.Max(e, d)
	}
	return e
}

// Start returns a copy of Y0, the state to integrate from T0.
func (p Problem) Start() []float64 { return append([]float64(nil), p.Y0...) }

// ExponentialDecay is y' = -y, y(0) = 1 on [0, 5]; y(t) = exp(-t).
func ExponentialDecay() Problem {
	exact := func(dst []float64, t float64) { dst[0] = math.Exp(-t) }
	return withExact(Problem{
		Problem: ode.Problem{
			F:   func(dy []float64, _ float64, y []float64) { dy[0] = -y[0] },
			Jac: func(dst []float64, _ float64, _ []float64) { dst[0] = -1 },
			T0:  0,
			Y0:  []float64{1},
		},
		Name:   "exponential decay",
		T1:     5,
		Exact:  exact,
		Floor:  1e-300,
		Source: "analytic: y(t) = exp(-t)",
	})
}

// HarmonicOscillator is y1' = y2, y2' = -y1, y(0) = (1, 0) on [0, 10];
// y(t) = (cos t, -sin t). Its first component crosses zero, falling, at
// t = π/2 + kπ for even k and rising for odd k.
func HarmonicOscillator() Problem {
	exact := func(dst []float64, t float64) { dst[0], dst[1] = math.Cos(t), -math.Sin(t) }
	return withExact(Problem{
		Problem: ode.Problem{
			F: func(dy []float64, _ float64, y []float64) { dy[0], dy[1] = y[1], -y[0] },
			Jac: func(dst []float64, _ float64, _ []float64) {
				dst[0], dst[1] = 0, 1
				dst[2], dst[3] = -1, 0
			},
			T0: 0,
			Y0: []float64{1, 0},
		},
		Name:   "harmonic oscillator",
		T1:     10,
		Exact:  exact,
		Floor:  1, // the amplitude
		Source: "analytic: y(t) = (cos t, -sin t)",
	})
}

// EnrightPryceA3 is problem A3 of the non-stiff DETEST set (W. H. Enright
// and J. D. Pryce, Two FORTRAN packages for assessing initial value methods,
// ACM Trans. Math. Softw. 13(1), 1987): y' = y cos t, y(0) = 1 on [0, 20];
// y(t) = exp(sin t). It is non-autonomous, so it checks that an integrator
// passes the right times to f, also when restarted at t0 ≠ 0.
func EnrightPryceA3() Problem {
	exact := func(dst []float64, t float64) { dst[0] = math.Exp(math.Sin(t)) }
	return withExact(Problem{
		Problem: ode.Problem{
			F:   func(dy []float64, t float64, y []float64) { dy[0] = y[0] * math.Cos(t) },
			Jac: func(dst []float64, t float64, _ []float64) { dst[0] = math.Cos(t) },
			T0:  0,
			Y0:  []float64{1},
		},
		Name:   "Enright-Pryce A3",
		T1:     20,
		Exact:  exact,
		Floor:  1e-300,
		Source: "analytic: y(t) = exp(sin t)",
	})
}

// VanDerPol is the Van der Pol oscillator with μ = 1000, problem VDPOLM of
// the Test Set for IVP Solvers (F. Mazzia and C. Magherini, University of
// Bari, release 2.4, 2008; file vdpolm.f, revision of 2006-10-02):
//
//	y1' = y2, y2' = μ (1 - y1²) y2 - y1, y(0) = (2, 0), t in [0, 2000].
//
// Its reference solution at t = 2000 was computed there with RADAU at
// rtol = atol = h0 = 1.1e-18 (unit roundoff 1.01e-19). In the time scale
// t/μ, with y2 scaled by μ and ε = 1/μ² = 1e-6 on [0, 2], it is the form of
// Hairer & Wanner, Solving ODEs II, §IV.1, and problem VDPOL of the
// earlier CWI release of the test set (W. M. Lioen and J. J. B. de Swart,
// report MAS-R9832, 1998), whose reference agrees with Want to 1e-14 (the
// package's tests check it).
func VanDerPol() Problem {
	const mu = 1000
	return Problem{
		Problem: ode.Problem{
			F: func(dy []float64, _ float64, y []float64) {
				dy[0] = y[1]
				dy[1] = mu*(1-y[0]*y[0])*y[1] - y[0]
			},
			Jac: func(dst []float64, _ float64, y []float64) {
				dst[0], dst[1] = 0, 1
				dst[2], dst[3] = -2*mu*y[0]*y[1]-1, mu*(1-y[0]*y[0])
			},
			T0: 0,
			Y0: []float64{2, 0},
		},
		Name:   "Van der Pol mu=1000",
		T1:     2000,
		Want:   []float64{0.1706167732170469e+01, -0.8928097010248125e-03},
		Stiff:  true,
		Floor:  1e-300,
		Source: "Test Set for IVP Solvers (Mazzia & Magherini, Bari, release 2.4), problem VDPOLM, subroutine solut",
	}
}

// Robertson is Robertson's chemical kinetics (H. H. Robertson, 1966),
// problem ROBER of the Test Set for IVP Solvers (F. Mazzia and C.
// Magherini, University of Bari, release 2.4, 2008; file rober.f, revision
// of 2006-10-02; Hairer & Wanner, Solving ODEs II, §IV.1):
//
//	y1' = -0.04 y1 + 1e4 y2 y3
//	y2' =  0.04 y1 - 1e4 y2 y3 - 3e7 y2²
//	y3' =  3e7 y2²
//
// with y(0) = (1, 0, 0) on [0, 1e11]. Its reference solution at t = 1e11
// was computed there with RADAU at rtol = atol = h0 = 1.1e-18. Error
// measures every component relatively, y2 ≈ 8e-14 included, so an
// integrator needs absolute tolerances well below 1e-14 to pass.
func Robertson() Problem {
	return Problem{
		Problem: ode.Problem{
			F: func(dy []float64, _ float64, y []float64) {
				dy[0] = -0.04*y[0] + 1e4*y[1]*y[2]
				dy[2] = 3e7 * y[1] * y[1]
				dy[1] = -dy[0] - dy[2]
			},
			Jac: func(dst []float64, _ float64, y []float64) {
				dst[0], dst[1], dst[2] = -0.04, 1e4*y[2], 1e4*y[1]
				dst[3], dst[4], dst[5] = 0.04, -1e4*y[2]-6e7*y[1], -1e4*y[1]
				dst[6], dst[7], dst[8] = 0, 6e7*y[1], 0
			},
			T0: 0,
			Y0: []float64{1, 0, 0},
		},
		Name:   "Robertson",
		T1:     1e11,
		Want:   []float64{0.2083340149701255e-07, 0.8333360770334713e-13, 0.9999999791665050e+00},
		Stiff:  true,
		Floor:  1e-300,
		Source: "Test Set for IVP Solvers (Mazzia & Magherini, Bari, release 2.4), problem ROBER, subroutine solut",
	}
}

// NonStiff returns the non-stiff problems.
func NonStiff() []Problem {
	return []Problem{ExponentialDecay(), HarmonicOscillator(), EnrightPryceA3()}
}

// Stiff returns the stiff problems.
func Stiff() []Problem { return []Problem{VanDerPol(), Robertson()} }

// withExact fills Want from Exact at T1.
func withExact(p Problem) Problem {
	p.Want = make([]float64, len(p.Y0))
	p.Exact(p.Want, p.T1)
	return p
}
