package pkpd

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/integrate/quad"
)

// WindowExposure is the exposure of one subject over a time window [T1, T2]
// (h), independent of any output grid.
type WindowExposure struct {
	Cmax, Tmax float64 // largest central concentration (mg/L) and its time (h)
	Cmin, Tmin float64 // smallest central concentration (mg/L) and its time (h)
	AUC        float64 // area under the concentration curve, mg·h/L
}

// windowSamples is the number of equal steps of each piece on which the
// extrema are first located.
const windowSamples = 24

// Window returns Cmax, tmax, Cmin, tmin and the AUC of the central
// concentration over [t1, t2] (h) for the schedule s, with parameters pf
// (constant, or following time-varying covariates as in PredictVarying).
//
// Method: between consecutive events (doses, infusion starts and ends,
// resets) the concentration is a smooth sum of exponentials, so the
// extrema lie at an event (a left limit, or a right limit just after a
// dose, evaluated at t + 1e-9·max(1, t) h and reported at t) or at an
// interior zero of dC/dt.
// Each piece is sampled at 24 equal steps; the best sample, when interior,
// is refined by golden-section search on its bracket (the closed form
// advanced from the state at the bracket's start) until it is shorter
// than 1e-10·max(1, t) h, which locates a smooth maximum to about 1e-8 h
// (the curve is flat there) and its value to rounding error. The window's
// ends are limits from inside: the right limit at t1 (a dose at t1 counts,
// the level just before it does not) and the left limit at t2 (a dose at
// t2 does not count), so that a window of one dose interval gives that
// interval's peak and trough. The AUC is Gauss–Legendre quadrature on the
// pieces, as DrugModel.AUC.
func (m Linear) Window(pf ParamsFunc, s *Schedule, t1, t2 float64) (WindowExposure, error) {
	var w WindowExposure
	if !(t1 >= 0) || !(t2 > t1) || math.IsInf(t2, 0) {
		return w, fmt.Errorf("pkpd: window from %v to %v h, want 0 ≤ t1 < t2, finite", t1, t2)
	}
	conc := func(ts []float64) ([]float64, error) {
		c, _, err := m.PredictVarying(pf, s, ts)
		return c, err
	}
	bps := breakpoints(s, t1, t2)
	// Events that make the central concentration jump: there the right
	// limit is sampled just after the event.
	jump := map[float64]bool{}
	for _, ev := range s.Events {
		if (ev.Kind == Bolus && ev.Cmt == m.Central()) || ev.Kind == Reset || ev.Kind == SteadyState {
			jump[ev.Time] = true
		}
	}
	// Samples: ts where the concentration is evaluated, at the time
	// reported (t for the right limit just after t), pa and pb the pieces
	// (1-based, piece i is [bps[i-1], bps[i]]) whose closure holds the
	// sample, brk whether it is at an event.
	var ts, at []float64
	var pa, pb []int
	var brk []bool
	add := func(t, a float64, p, q int, b bool) {
		ts, at, pa, pb, brk = append(ts, t), append(at, a), append(pa, p), append(pb, q), append(brk, b)
	}
	for i := 1; i < len(bps); i++ {
		a, b := bps[i-1], bps[i]
		lo := a
		switch {
		case jump[a]:
			if i > 1 {
				add(a, a, i-1, i-1, true) // the left limit closes the previous piece
			}
			if eps := 1e-9 * math.Max(1, a); a+eps < b {
				lo = a + eps
			}
			add(lo, a, i, i, true)
		default:
			add(a, a, i-1, i, true)
		}
		for k := 1; k < windowSamples; k++ {
			x := lo + (b-lo)*float64(k)/windowSamples
			add(x, x, i, i, false)
		}
	}
	add(t2, t2, len(bps)-1, len(bps)-1, true)
	cs, err := conc(ts)
	if err != nil {
		return w, err
	}
	iMax, iMin := 0, 0
	for i, c := range cs {
		if c > cs[iMax] {
			iMax = i
		}
		if c < cs[iMin] {
			iMin = i
		}
	}
	refine := func(i int, sign float64) (float64, float64, error) {
		best, tb := cs[i], at[i]
		if brk[i] || (pa[i-1] != pa[i] && pb[i-1] != pa[i]) || (pa[i+1] != pa[i] && pb[i+1] != pa[i]) {
			return best, tb, nil
		}
		// The state at the bracket's start, just after an event there,
		// advanced in closed form to each point of the search.
		t0 := ts[i-1]
		if brk[i-1] && at[i-1] == t0 {
			t0 += 1e-9 * math.Max(1, t0)
		}
		c, err := m.pieceConc(pf, s, t0)
		if err != nil {
			return 0, 0, err
		}
		x, v, err := goldenMax(func(t float64) (float64, error) {
			return sign * c(t), nil
		}, t0, ts[i+1], 1e-10*math.Max(1, ts[i+1]))
		if err != nil {
			return 0, 0, err
		}
		if v > sign*best {
			best, tb = sign*v, x
		}
		return best, tb, nil
	}
	if w.Cmax, w.Tmax, err = refine(iMax, 1); err != nil {
		return w, err
	}
	if w.Cmin, w.Tmin, err = refine(iMin, -1); err != nil {
		return w, err
	}
	lam, err := m.rates(pf, s)
	if err != nil {
		return w, err
	}
	w.AUC, err = quadAUC(conc, lam, bps)
	return w, err
}

// pieceConc returns the central concentration at times x ≥ t0 of the piece
// of the schedule that holds t0 (no event in (t0, x]): the amounts,
// infusion rates and parameters at t0 are taken once, then the closed form
// advances from them.
func (m Linear) pieceConc(pf ParamsFunc, s *Schedule, t0 float64) (func(float64) float64, error) {
	st := &linStepper{pf: pf, m: m, curRec: -1}
	if err := st.setCov(s, 0); err != nil {
		return nil, err
	}
	n := m.NumCmt()
	y, rate, count := make([]float64, n), make([]float64, n), make([]int, n)
	var y0, r0 []float64
	var sys linSys
	var v1 float64
	emit := func(k int, yk []float64) {
		if k == 0 {
			y0, r0, sys, v1 = slices.Clone(yk), slices.Clone(rate), st.sys, st.cur.V1
		}
	}
	if err := runSchedule(st, s, []float64{t0}, y, rate, count, emit); err != nil {
		return nil, err
	}
	c := m.Central() - 1
	buf := make([]float64, n)
	return func(x float64) float64 {
		copy(buf, y0)
		sys.advance(buf, x-t0, r0)
		return buf[c] / v1
	}, nil
}

// goldenMax maximises the unimodal f on [a, b] by golden-section search
// until the bracket is shorter than tol, returning the best point
// evaluated and f there.
func goldenMax(f func(float64) (float64, error), a, b, tol float64) (x, fx float64, err error) {
	const g = 0.6180339887498949 // (√5 − 1)/2
	x1, x2 := b-g*(b-a), a+g*(b-a)
	f1, err := f(x1)
	if err != nil {
		return 0, 0, err
	}
	f2, err := f(x2)
	if err != nil {
		return 0, 0, err
	}
	for b-a > tol {
		if f1 < f2 {
			a, x1, f1 = x1, x2, f2
			x2 = a + g*(b-a)
			if f2, err = f(x2); err != nil {
				return 0, 0, err
			}
		} else {
			b, x2, f2 = x2, x1, f1
			x1 = b - g*(b-a)
			if f1, err = f(x1); err != nil {
				return 0, 0, err
			}
		}
	}
	if f1 >= f2 {
		return x1, f1, nil
	}
	return x2, f2, nil
}

// breakpoints returns t1, t2 and the times of the events of s inside
// (t1, t2) that change the inputs or the state, sorted and distinct.
func breakpoints(s *Schedule, t1, t2 float64) []float64 {
	bps := []float64{t1, t2}
	for _, ev := range s.Events {
		if ev.Kind != Observe && ev.Kind != Other && ev.Time > t1 && ev.Time < t2 {
			bps = append(bps, ev.Time)
		}
	}
	slices.Sort(bps)
	return slices.Compact(bps)
}

// rates returns the macro-constants (and KA) of every parameter set pf
// gives for the records of s, for the quadrature's piece lengths.
func (m Linear) rates(pf ParamsFunc, s *Schedule) ([]float64, error) {
	var lam []float64
	for i, r := range s.Records {
		if i > 0 && len(r.Covariates) == 0 {
			continue
		}
		p, err := pf(r.Covariates)
		if err != nil {
			return nil, fmt.Errorf("pkpd: %s: %w", recWhere(s.Records, i), err)
		}
		l, err := m.Macro(p)
		if err != nil {
			return nil, err
		}
		lam = append(lam, l...)
		if m.Depot {
			lam = append(lam, p.KA)
		}
	}
	return lam, nil
}

// aucNodes is the Gauss–Legendre order per piece.
const aucNodes = 16

// quadAUC integrates conc over the pieces between consecutive bps. Each
// piece is cut into sub-pieces whose lengths start at 4/λmax and double up
// to 4/λmin (λ the rate constants lam), so that every exponential
// exp(−λ·t) is resolved where it matters: 16-point Gauss–Legendre
// integrates exp(−λ·t) over a length ≤ 4/λ to about 1e-16 relative.
func quadAUC(conc func([]float64) ([]float64, error), lam, bps []float64) (float64, error) {
	hMin, hMax := 4/slices.Max(lam), 4/slices.Min(lam)
	var ts, ws []float64
	x := make([]float64, aucNodes)
	w := make([]float64, aucNodes)
	for i := 1; i < len(bps); i++ {
		a, b := bps[i-1], bps[i]
		h := hMin
		for lo := a; lo < b; {
			hi := lo + h
			if hi > b || b-hi < 1e-9*h {
				hi = b
			}
			quad.Legendre{}.FixedLocations(x, w, lo, hi)
			ts = append(ts, x...)
			ws = append(ws, w...)
			lo = hi
			h = math.Min(2*h, hMax)
		}
	}
	idx, sorted := sortTimes(ts)
	cs, err := conc(sorted)
	if err != nil {
		return 0, err
	}
	var sum float64
	for k, i := range idx {
		sum += ws[i] * cs[k]
	}
	return sum, nil
}
