package pkpd

import (
	"errors"
	"fmt"
	"math"
)

// Steady state (NONMEM SS=1 and SS=2, Users Guide VI §V.F).
//
// The dose pattern of a steady-state record repeats every II h from −∞:
// doses of Amount mg into Cmt at times TIME + Lag − k·II, k = 0, 1, 2, …
// (a bolus, or an infusion of Rate mg/h for Duration h, which may exceed
// II so that several infusions overlap), or a constant infusion when II = 0.
// The state at TIME is the sum of the responses to the doses k >= 1 that
// have already arrived by TIME; the dose k = 0 and the doses that arrive
// after TIME because of the lag are ordinary events of the schedule, as are
// the earlier infusions still running at TIME.
//
// For a linear model the sum is a geometric series in closed form: with Φ
// the state transition over one interval and g the state one interval after
// a dose given to an empty system, the pre-dose state at steady state is
// x = Σk Φ^k g = (I − Φ)⁻¹ g (Gibaldi & Perrier, Pharmacokinetics, 2nd ed.,
// ch. 3, the accumulation factor 1/(1 − e^(−λτ)) per exponential). Φ and g
// come from the closed-form step, so the steady state is exact to rounding
// and conditioning. For a nonlinear model the pattern is repeated until the
// pre-dose state changes by less than 1e-12 relative.

// ssMaxIntervals bounds the intervals simulated to reach a nonlinear steady
// state.
const ssMaxIntervals = 100000

// errNoSteadyState is returned when a nonlinear steady state is not reached.
var errNoSteadyState = errors.New("steady state not reached")

// steadyState writes into dst the amounts at the time of the steady-state
// event e, excluding the dose pattern's events that the schedule gives
// itself.
func steadyState(st stepper, e *Event, dst []float64) error {
	n := len(dst)
	y := make([]float64, n)
	rate := make([]float64, n)
	c := e.Cmt - 1
	if e.II == 0 { // constant infusion at steady state
		tau := 24.0
		period := func(y []float64) error {
			clear(rate)
			rate[c] = e.Rate
			return st.step(y, 0, tau, rate, nil, nil)
		}
		return fixedPoint(st, period, dst, y)
	}
	tau := e.II
	// period advances y from phase 0 (just before an arrival) over [0, s],
	// with the arrival at phase 0 and the overlapping infusions of the
	// pattern: at phase p the rate is Rate times the number of j >= 0 with
	// p + j·II < Duration.
	period := func(y []float64, s float64) error {
		if e.Rate == 0 {
			y[c] += e.Amount
			clear(rate)
			return st.step(y, 0, s, rate, nil, nil)
		}
		m := math.Floor(e.Duration / tau)
		p1 := e.Duration - m*tau // in [0, tau)
		clear(rate)
		if p1 > 0 {
			rate[c] = (m + 1) * e.Rate
			t1 := math.Min(p1, s)
			if err := st.step(y, 0, t1, rate, nil, nil); err != nil {
				return err
			}
			if s <= p1 {
				return nil
			}
			rate[c] = m * e.Rate
			return st.step(y, p1, s, rate, nil, nil)
		}
		rate[c] = m * e.Rate
		return st.step(y, 0, s, rate, nil, nil)
	}
	full := func(y []float64) error { return period(y, tau) }
	if err := fixedPoint(st, full, dst, y); err != nil {
		return err
	}
	// dst is the pre-dose state (phase 0, before the arrival). The latest
	// arrival by TIME is k* = max(1, ceil(Lag/II)), at phase s = k*·II − Lag.
	if e.Lag == 0 {
		return nil
	}
	k := math.Max(1, math.Ceil(e.Lag/tau))
	s := k*tau - e.Lag
	if s >= tau { // only by rounding
		return nil
	}
	return period(dst, s)
}

// fixedPoint finds x = period(x): in closed form for a linear stepper,
// x = (I − Φ)⁻¹ g with Φ's columns the images of the unit vectors and g
// the image of zero; by iteration otherwise. y is work space.
func fixedPoint(st stepper, period func([]float64) error, x, y []float64) error {
	n := len(x)
	if st.linear() {
		g := make([]float64, n)
		if err := period(g); err != nil {
			return err
		}
		a := make([]float64, n*n) // I − Φ, row-major
		for j := 0; j < n; j++ {
			clear(y)
			y[j] = 1
			if err := period(y); err != nil {
				return err
			}
			for i := 0; i < n; i++ {
				// period(e_j) = Φ e_j + g.
				a[i*n+j] = -(y[i] - g[i])
			}
			a[j*n+j] += 1
		}
		copy(x, g)
		if !solveDense(a, x, n) {
			return fmt.Errorf("%w: I − Φ is singular (a compartment without elimination?)", errNoSteadyState)
		}
		return nil
	}
	clear(x)
	for k := 0; k < ssMaxIntervals; k++ {
		copy(y, x)
		if err := period(x); err != nil {
			return err
		}
		var diff, size float64
		for i := range x {
			diff = math.Max(diff, math.Abs(x[i]-y[i]))
			size = math.Max(size, math.Abs(x[i]))
		}
		if diff <= 1e-12*size+1e-300 {
			return nil
		}
	}
	return fmt.Errorf("%w after %d intervals", errNoSteadyState, ssMaxIntervals)
}

// solveDense solves a·x = b in place (b becomes x) by Gaussian elimination
// with partial pivoting; a is n×n row-major and is overwritten. It reports
// false if a is singular.
func solveDense(a, b []float64, n int) bool {
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r*n+col]) > math.Abs(a[piv*n+col]) {
				piv = r
			}
		}
		if a[piv*n+col] == 0 {
			return false
		}
		if piv != col {
			for c := 0; c < n; c++ {
				a[col*n+c], a[piv*n+c] = a[piv*n+c], a[col*n+c]
			}
			b[col], b[piv] = b[piv], b[col]
		}
		for r := col + 1; r < n; r++ {
			f := a[r*n+col] / a[col*n+col]
			if f == 0 {
				continue
			}
			for c := col; c < n; c++ {
				a[r*n+c] -= f * a[col*n+c]
			}
			b[r] -= f * b[col]
		}
	}
	for r := n - 1; r >= 0; r-- {
		sum := b[r]
		for c := r + 1; c < n; c++ {
			sum -= a[r*n+c] * b[c]
		}
		b[r] = sum / a[r*n+r]
	}
	return true
}
