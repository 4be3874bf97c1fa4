package pkpd

import (
	"fmt"
	"math"
	"slices"
)

// Regimen is a series of identical doses, the way a prescription or a
// model file writes them.
type Regimen struct {
	Time   float64 // time of the first dose, h
	Amount float64 // dose, mg
	// Infusion is the duration of a zero-order infusion in h; Rate the
	// infusion rate in mg/h instead (the duration is then Amount/Rate).
	// Both 0: a bolus (or an oral dose into the depot).
	Infusion, Rate float64
	Every          float64 // dose interval, h (needed when Doses > 1)
	Doses          int     // number of doses; 0 means 1
}

// Records returns the regimen as one NONMEM dose record (ADDL = Doses−1,
// II = Every, RATE = Amount/Infusion or Rate) into the model's default dose
// compartment, or an error naming the field.
func (r Regimen) Records() ([]Record, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	rec := Record{ID: 1, Time: r.Time, EVID: EVIDDose, AMT: r.Amount, MDV: 1}
	switch {
	case r.Rate > 0:
		rec.RATE = r.Rate
	case r.Infusion > 0:
		rec.RATE = r.Amount / r.Infusion
	}
	if n := max(r.Doses, 1); n > 1 {
		rec.ADDL, rec.II = n-1, r.Every
	}
	return []Record{rec}, nil
}

func (r Regimen) check() error {
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("pkpd: regimen at %v h: %s = %v, want %s", r.Time, field, v, want)
	}
	switch {
	case !(r.Time >= 0) || math.IsInf(r.Time, 0):
		return bad("time", r.Time, "a finite time ≥ 0 h")
	case !finitePositive(r.Amount):
		return bad("amount", r.Amount, "a finite dose > 0 mg")
	case !(r.Infusion >= 0) || math.IsInf(r.Infusion, 0):
		return bad("infusion", r.Infusion, "a finite duration ≥ 0 h")
	case !(r.Rate >= 0) || math.IsInf(r.Rate, 0):
		return bad("rate", r.Rate, "a finite rate ≥ 0 mg/h")
	case r.Rate > 0 && r.Infusion > 0:
		return fmt.Errorf("pkpd: regimen at %v h: give infusion or rate, not both", r.Time)
	case r.Doses < 0:
		return bad("doses", r.Doses, "a count ≥ 1")
	case r.Doses > 1 && !finitePositive(r.Every):
		return bad("every", r.Every, "an interval > 0 h for several doses")
	}
	return nil
}

// RegimenRecords returns the dose records of several regimens, in time
// order (NONMEM requires non-decreasing times), or the first error.
func RegimenRecords(rs ...Regimen) ([]Record, error) {
	var out []Record
	for _, r := range rs {
		recs, err := r.Records()
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	slices.SortStableFunc(out, func(a, b Record) int {
		switch {
		case a.Time < b.Time:
			return -1
		case a.Time > b.Time:
			return 1
		}
		return 0
	})
	return out, nil
}

// Metric is an exposure measure a dose is chosen for.
type Metric string

// Exposure metrics of a Target, all at steady state.
const (
	MetricAUC24  Metric = "auc24"  // AUC over 24 h, mg·h/L
	MetricTrough Metric = "trough" // concentration just before a dose, mg/L
	MetricPeak   Metric = "peak"   // maximal concentration over the interval, mg/L
)

// Target is the exposure a regimen should reach.
type Target struct {
	Metric Metric
	// Value is the target (mg·h/L for AUC24, mg/L otherwise); 0 means
	// the middle of Low..High.
	Value float64
	// Low and High, when High > 0, are the acceptable window (e.g. AUC24
	// 400–600 mg·h/L, trough 10–20 mg/L); they set Exposure.InTarget.
	Low, High float64
}

// DoseSearch lists the candidate regimens and the target of Dose.
type DoseSearch struct {
	Target Target
	// RoundTo is the dose step of the available strengths, mg (> 0): the
	// candidate doses are k·RoundTo, k ≥ 1, in [MinDose, MaxDose].
	RoundTo float64
	// MinDose and MaxDose bound the candidate doses, mg. MinDose 0 means
	// RoundTo; MaxDose 0 means twice the dose that reaches Target.Value
	// (from the exposure per mg of each interval), rounded up to RoundTo.
	MinDose, MaxDose float64
	// Every lists the candidate dose intervals, h (at least one).
	Every []float64
	// Infusions lists the candidate infusion durations, h; or Rate gives a
	// fixed infusion rate in mg/h (the duration grows with the dose, as in
	// "1000 mg/h at most"). Neither: bolus doses (or oral doses of an oral
	// model).
	Infusions []float64
	Rate      float64
}

// Exposure is a candidate regimen with its predicted exposure at steady
// state.
type Exposure struct {
	Amount   float64 // dose, mg
	Every    float64 // interval, h
	Infusion float64 // infusion duration, h (0: bolus or oral)
	// AUC24 is the AUC over 24 h at steady state, mg·h/L: F·Dose/CL·24/τ
	// for these linear models (computed by quadrature over one interval).
	AUC24 float64
	// Cmax and Cmin are the maximal and minimal concentrations over one
	// interval at steady state, Trough the concentration just before a dose
	// (equal to Cmin for IV doses without ALAG); mg/L.
	Cmax, Cmin, Trough float64
	// Distance is |metric − target|/target, the ranking score.
	Distance float64
	// InTarget reports whether the metric lies in the target window
	// (Target.Low..High), or, without a window, whether Distance ≤ 10 %.
	InTarget bool
}

// DoseResult is the outcome of Dose.
type DoseResult struct {
	Recommended Exposure
	// Alternatives are the other candidates, best first (see Dose), at
	// most 10.
	Alternatives []Exposure
	Target       Target
}

// Dose returns the regimen, among the candidates of search, whose predicted
// steady-state exposure for parameters p (from Fit, Individual or Typical)
// is closest to the target.
//
// Rule: candidates (every dose k·RoundTo in [MinDose, MaxDose] × every
// interval × every infusion duration, less those whose infusion would last
// longer than the interval) are ranked by Distance =
// |metric − target|/target, where the metric is AUC24, the trough or Cmax at
// steady state (NONMEM SS=1, exact for these linear models); ties
// (Distances within 1e-9, i.e. metrics within 1e-9·target of each other) go
// to the smaller daily dose, then the longer interval, then the shorter
// infusion.
func Dose(m *DrugModel, p Params, search DoseSearch) (*DoseResult, error) {
	c, err := m.compile()
	if err != nil {
		return nil, err
	}
	if err := c.linear.check(p); err != nil {
		return nil, err
	}
	tg := search.Target
	switch tg.Metric {
	case MetricAUC24, MetricTrough, MetricPeak:
	default:
		return nil, fmt.Errorf("pkpd: target.metric %q, want %q, %q or %q", tg.Metric, MetricAUC24, MetricTrough, MetricPeak)
	}
	if tg.High != 0 || tg.Low != 0 {
		if !(tg.Low >= 0) || !(tg.High > tg.Low) || math.IsInf(tg.High, 0) {
			return nil, fmt.Errorf("pkpd: target window %v..%v, want 0 ≤ low < high, finite", tg.Low, tg.High)
		}
	}
	if tg.Value == 0 && tg.High > 0 {
		tg.Value = (tg.Low + tg.High) / 2
	}
	if !finitePositive(tg.Value) {
		return nil, fmt.Errorf("pkpd: target.value = %v, want a finite value > 0 (or a window)", tg.Value)
	}
	if !finitePositive(search.RoundTo) {
		return nil, fmt.Errorf("pkpd: dose search: round_to = %v mg, want > 0", search.RoundTo)
	}
	if len(search.Every) == 0 {
		return nil, fmt.Errorf("pkpd: dose search: every is empty, want at least one interval")
	}
	for i, tau := range search.Every {
		if !finitePositive(tau) {
			return nil, fmt.Errorf("pkpd: dose search: every[%d] = %v h, want > 0", i, tau)
		}
	}
	for i, d := range search.Infusions {
		if !finitePositive(d) {
			return nil, fmt.Errorf("pkpd: dose search: infusions[%d] = %v h, want > 0", i, d)
		}
	}
	if !(search.Rate >= 0) || math.IsInf(search.Rate, 0) {
		return nil, fmt.Errorf("pkpd: dose search: rate = %v mg/h, want ≥ 0", search.Rate)
	}
	if search.Rate > 0 && len(search.Infusions) > 0 {
		return nil, fmt.Errorf("pkpd: dose search: give infusions or rate, not both")
	}
	if search.MinDose < 0 || search.MaxDose < 0 || math.IsNaN(search.MinDose) || math.IsNaN(search.MaxDose) ||
		math.IsInf(search.MinDose, 0) || math.IsInf(search.MaxDose, 0) {
		return nil, fmt.Errorf("pkpd: dose search: min_dose %v, max_dose %v mg, want finite values ≥ 0", search.MinDose, search.MaxDose)
	}
	if search.MaxDose > 0 && search.MaxDose < search.MinDose {
		return nil, fmt.Errorf("pkpd: dose search: max_dose %v < min_dose %v mg", search.MaxDose, search.MinDose)
	}
	infusions := search.Infusions
	if len(infusions) == 0 {
		infusions = []float64{0}
	}
	const maxCandidates = 100000
	var all []Exposure
	for _, tau := range search.Every {
		for _, inf := range infusions {
			lo := math.Max(search.MinDose, search.RoundTo)
			kLo := math.Ceil(lo/search.RoundTo - 1e-9)
			// An infusion longer than the interval is not a candidate
			// (with a fixed rate, larger doses last longer still).
			tooLong := func(amount float64) bool {
				if search.Rate > 0 {
					return amount/search.Rate > tau
				}
				return inf > tau
			}
			if tooLong(kLo * search.RoundTo) {
				continue
			}
			hi := search.MaxDose
			if hi == 0 {
				// Exposure per mg at a reference dose, scaled (exact for
				// AUC24 and for fixed infusion durations; a first guess
				// with a fixed rate).
				ref := kLo * search.RoundTo
				e, err := c.exposure(p, ref, tau, inf, search.Rate)
				if err != nil {
					return nil, err
				}
				x := metric(e, tg.Metric)
				if !(x > 0) {
					return nil, fmt.Errorf("pkpd: dose search: the %s of %v mg every %v h is %v", tg.Metric, ref, tau, x)
				}
				hi = 2 * tg.Value / x * ref
			}
			kHi := math.Ceil(hi/search.RoundTo - 1e-9)
			if kHi < kLo {
				kHi = kLo
			}
			if kHi-kLo+1 > maxCandidates {
				return nil, fmt.Errorf("pkpd: dose search: %v candidate doses of %v mg every %v h, more than %d: raise round_to or set max_dose", kHi-kLo+1, search.RoundTo, tau, maxCandidates)
			}
			for k := kLo; k <= kHi; k++ {
				if tooLong(k * search.RoundTo) {
					break
				}
				e, err := c.exposure(p, k*search.RoundTo, tau, inf, search.Rate)
				if err != nil {
					return nil, err
				}
				x := metric(e, tg.Metric)
				e.Distance = math.Abs(x-tg.Value) / tg.Value
				if tg.High > 0 {
					e.InTarget = x >= tg.Low && x <= tg.High
				} else {
					e.InTarget = e.Distance <= 0.1
				}
				all = append(all, e)
			}
		}
	}
	slices.SortStableFunc(all, func(a, b Exposure) int {
		if d := a.Distance - b.Distance; math.Abs(d) > distanceTie {
			if d < 0 {
				return -1
			}
			return 1
		}
		da, db := a.Amount*24/a.Every, b.Amount*24/b.Every
		switch {
		case da != db:
			return cmpFloat(da, db)
		case a.Every != b.Every:
			return -cmpFloat(a.Every, b.Every)
		}
		return cmpFloat(a.Infusion, b.Infusion)
	})
	if len(all) == 0 {
		return nil, fmt.Errorf("pkpd: dose search: no candidate regimen: every infusion is longer than its interval")
	}
	res := &DoseResult{Recommended: all[0], Target: tg}
	n := min(len(all)-1, 10)
	res.Alternatives = append([]Exposure(nil), all[1:1+n]...)
	return res, nil
}

// distanceTie is the difference of Distance (relative to the target) under
// which two candidates tie.
const distanceTie = 1e-9

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func metric(e Exposure, m Metric) float64 {
	switch m {
	case MetricTrough:
		return e.Trough
	case MetricPeak:
		return e.Cmax
	}
	return e.AUC24
}

// SteadyState returns the steady-state exposure of amount mg every tau h,
// infused over infusion h (or at rate mg/h; both 0: bolus or oral dose),
// for the individual parameters p.
func (m *DrugModel) SteadyState(p Params, amount, tau, infusion, rate float64) (Exposure, error) {
	c, err := m.compile()
	if err != nil {
		return Exposure{}, err
	}
	if err := c.linear.check(p); err != nil {
		return Exposure{}, err
	}
	if !finitePositive(tau) {
		return Exposure{}, fmt.Errorf("pkpd: steady state: every = %v h, want > 0", tau)
	}
	if err := (Regimen{Amount: amount, Infusion: infusion, Rate: rate}).check(); err != nil {
		return Exposure{}, err
	}
	return c.exposure(p, amount, tau, infusion, rate)
}

// ssGrid is the number of equal steps of the interval on which Cmax and
// Cmin are searched (then refined by golden section for an interior
// extremum).
const ssGrid = 96

// exposure computes the steady-state exposure of one candidate: an SS=1
// dose record at 0, concentrations on (0, τ].
func (c *compiledModel) exposure(p Params, amount, tau, infusion, rate float64) (Exposure, error) {
	e := Exposure{Amount: amount, Every: tau}
	rec := Record{ID: 1, EVID: EVIDDose, AMT: amount, II: tau, SS: 1, MDV: 1}
	switch {
	case rate > 0:
		rec.RATE = rate
		e.Infusion = amount / rate
	case infusion > 0:
		rec.RATE = amount / infusion
		e.Infusion = infusion
	}
	if e.Infusion > tau {
		return e, fmt.Errorf("pkpd: infusion of %v mg over %v h is longer than the interval %v h", amount, e.Infusion, tau)
	}
	s, err := c.linear.NewSchedule([]Record{rec}, c.dose, ScheduleOptions{})
	if err != nil {
		return e, err
	}
	conc := func(ts []float64) ([]float64, error) {
		dst := make([]float64, len(ts))
		return dst, c.linear.PredictInto(dst, p, s, ts)
	}
	// Kinks within the period: the time the (lagged) dose enters and the
	// end of its infusion (F·AMT/RATE h later), modulo τ.
	f := c.dose.f(1)
	lag := math.Mod(c.m.ALAG, tau)
	var kinks []float64
	if lag > 0 {
		kinks = append(kinks, lag)
	}
	if e.Infusion > 0 {
		if end := math.Mod(c.m.ALAG+f*e.Infusion, tau); end > 0 {
			kinks = append(kinks, end)
		}
	}
	// Grid on (0, τ], with the kinks.
	ts := make([]float64, 0, ssGrid+len(kinks))
	for k := 1; k <= ssGrid; k++ {
		ts = append(ts, tau*float64(k)/ssGrid)
	}
	if len(kinks) > 0 {
		ts = append(ts, kinks...)
		slices.Sort(ts)
		ts = slices.Compact(ts)
	}
	cs, err := conc(ts)
	if err != nil {
		return e, err
	}
	e.Trough = cs[len(cs)-1]
	iMax, iMin := 0, 0
	for i, x := range cs {
		if x > cs[iMax] {
			iMax = i
		}
		if x < cs[iMin] {
			iMin = i
		}
	}
	e.Cmax, e.Cmin = cs[iMax], cs[iMin]
	if e.Infusion == 0 && !c.linear.Depot {
		// An IV bolus: the peak is right after the dose enters, the
		// concentration just before it plus the bioavailable dose over V1.
		pre := e.Trough
		if lag > 0 {
			pre = cs[slices.Index(ts, lag)]
		}
		e.Cmax = math.Max(e.Cmax, pre+f*amount/p.V1)
	}
	refine := func(i int, sign float64) (float64, error) {
		// Golden-section search on the bracket around grid point i,
		// excluding brackets that span a kink (the lagged dose, the
		// infusion end).
		if i == 0 || i == len(ts)-1 || slices.Contains(kinks, ts[i]) {
			return cs[i], nil
		}
		a, b := ts[i-1], ts[i+1]
		for _, k := range kinks {
			if k > a && k < b {
				return cs[i], nil
			}
		}
		buf := make([]float64, 1)
		_, v, err := goldenMax(func(t float64) (float64, error) {
			err := c.linear.PredictInto(buf, p, s, []float64{t})
			return sign * buf[0], err
		}, a, b, 1e-9*tau)
		if err != nil {
			return 0, err
		}
		return sign * math.Max(sign*cs[i], v), nil
	}
	if e.Cmax, err = refineMax(refine, iMax, e.Cmax, cs); err != nil {
		return e, err
	}
	vmin, err := refine(iMin, -1)
	if err != nil {
		return e, err
	}
	e.Cmin = math.Min(e.Cmin, vmin)
	auc, err := c.auc(p, s, 0, tau)
	if err != nil {
		return e, err
	}
	e.AUC24 = auc * 24 / tau
	return e, nil
}

// refineMax refines an interior maximum unless the analytic bolus peak
// already exceeds the grid.
func refineMax(refine func(int, float64) (float64, error), i int, cmax float64, cs []float64) (float64, error) {
	if cmax > cs[i] {
		return cmax, nil
	}
	v, err := refine(i, 1)
	if err != nil {
		return 0, err
	}
	return math.Max(cmax, v), nil
}

// AUC returns the area under the central concentration curve from t1 to t2
// (h), mg·h/L, for the dose records doses and parameters p: Gauss–Legendre
// quadrature on every piece between events (where the concentration is a
// smooth sum of exponentials), accurate to rounding error in practice.
func (m *DrugModel) AUC(p Params, doses []Record, t1, t2 float64) (float64, error) {
	c, err := m.compile()
	if err != nil {
		return 0, err
	}
	if !(t1 >= 0) || !(t2 >= t1) || math.IsInf(t2, 0) {
		return 0, fmt.Errorf("pkpd: AUC from %v to %v h, want 0 ≤ t1 ≤ t2, finite", t1, t2)
	}
	s, err := c.linear.NewSchedule(doses, c.dose, ScheduleOptions{})
	if err != nil {
		return 0, err
	}
	return c.auc(p, s, t1, t2)
}

func (c *compiledModel) auc(p Params, s *Schedule, t1, t2 float64) (float64, error) {
	if err := c.linear.check(p); err != nil {
		return 0, err
	}
	if t2 == t1 {
		return 0, nil
	}
	lam, err := c.linear.Macro(p)
	if err != nil {
		return 0, err
	}
	if c.linear.Depot {
		lam = append(lam, p.KA)
	}
	conc := func(ts []float64) ([]float64, error) {
		cs := make([]float64, len(ts))
		return cs, c.linear.PredictInto(cs, p, s, ts)
	}
	return quadAUC(conc, lam, breakpoints(s, t1, t2))
}
