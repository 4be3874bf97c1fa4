package census

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/optimize"

	"github.com/doppelhealth/doppel/des"
	"github.com/doppelhealth/doppel/hospital"
)

// CalibrateOptions tune Calibrate. The zero value is valid.
type CalibrateOptions struct {
	// Zone is the time zone of the hour-of-day and day-of-week profiles.
	// Default UTC.
	Zone *time.Location
	// MinStays is the fewest stays (ended or censored) a length-of-stay
	// fit needs; a unit with fewer keeps the configuration's. Default 20.
	MinStays int
	// Empirical fits the stays with their empirical distribution (the
	// stays that ended, resampled) instead of a lognormal. Censored stays
	// cannot enter it and are left out, which biases it towards short
	// stays when many are censored; prefer the lognormal then.
	Empirical bool
}

// Calibration is what Calibrate fitted: a fragment of a hospital.Config.
type Calibration struct {
	From, To time.Time
	// Arrivals is the ED arrival process; ArrivalsN the arrivals seen.
	Arrivals  hospital.Arrivals
	ArrivalsN int
	// EDTreatment is the fit of the ED stays of patients who went home
	// (nil: too few).
	EDTreatment *Fit
	// Routed is the number of ED patients whose disposition is known,
	// the denominator of the units' routes.
	Routed int
	Units  []UnitFit // in the model's order
}

// UnitFit is one unit's calibration.
type UnitFit struct {
	Name string
	// LOS is the fit of the stays in the unit (nil: too few).
	LOS *Fit
	// Route is the share of the Routed ED patients admitted here.
	Route float64
}

// Fit is a distribution fitted to N stays, Censored of them still
// running at the end of the window: a des.LogNormal by censored maximum
// likelihood, or with CalibrateOptions.Empirical a des.Empirical of the
// stays that ended.
type Fit struct {
	Dist        des.Dist
	N, Censored int
	Mean        float64 // hours, of the fitted distribution
}

// Calibrate fits arrivals, routes and lengths of stay to the Encounters
// of src that started in [from, to); stays still running at to are
// censored there. See the package documentation for the estimators.
func (r *Resolver) Calibrate(ctx context.Context, src Source, from, to time.Time, opt CalibrateOptions) (*Calibration, Report, error) {
	if !to.After(from) {
		return nil, Report{}, fmt.Errorf("census: the calibration window [%s, %s) is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if opt.Zone == nil {
		opt.Zone = time.UTC
	}
	if opt.MinStays <= 0 {
		opt.MinStays = 20
	}
	vs, err := r.visits(ctx, src)
	if err != nil {
		return nil, Report{}, err
	}
	units := r.units
	rep := Report{Encounters: len(vs)}
	c := &Calibration{From: from, To: to, Units: make([]UnitFit, len(units))}
	var hod [24]float64
	var dow [7]float64
	routed := make([]int, len(units))
	var edHome, edCens []float64
	obs := make([][]float64, len(units))
	cens := make([][]float64, len(units))
	for _, v := range vs {
		if len(v.stays) == 0 {
			if v.unmapped {
				rep.Unmapped++
			}
			continue
		}
		first := v.stays[0]
		if first.start.Before(from) || !first.start.Before(to) {
			continue
		}
		rep.Used++
		for i, s := range v.stays {
			if s.unit == ED || s.lost {
				continue
			}
			if !s.end.IsZero() && !s.end.After(to) {
				obs[s.unit] = append(obs[s.unit], s.end.Sub(s.start).Hours())
			} else if s.start.Before(to) && (i+1 == len(v.stays) || !v.stays[i+1].start.Before(to)) {
				cens[s.unit] = append(cens[s.unit], to.Sub(s.start).Hours())
			}
		}
		if first.unit != ED {
			continue
		}
		c.ArrivalsN++
		t := first.start.In(opt.Zone)
		hod[t.Hour()]++
		dow[(int(t.Weekday())+6)%7]++ // Monday = 0
		if first.lost {
			continue
		}
		if first.end.IsZero() || first.end.After(to) {
			// Still in the ED: disposition unknown, treatment censored.
			edCens = append(edCens, to.Sub(first.start).Hours())
			continue
		}
		c.Routed++
		if len(v.stays) > 1 {
			routed[v.stays[1].unit]++ // an ED → ED move is not in the mapping's units
		} else {
			edHome = append(edHome, first.end.Sub(first.start).Hours())
		}
	}
	if c.ArrivalsN == 0 {
		return nil, rep, errors.New("census: no ED arrivals in the calibration window: check the ED's Locations in the mapping and the window")
	}
	hours := to.Sub(from).Hours()
	c.Arrivals.RatePerHour = float64(c.ArrivalsN) / hours
	c.Arrivals.HourOfDay = profile(hod[:], exposure(from, to, opt.Zone, 24, func(t time.Time) int { return t.Hour() }))
	c.Arrivals.DayOfWeek = profile(dow[:], exposure(from, to, opt.Zone, 7, func(t time.Time) int { return (int(t.Weekday()) + 6) % 7 }))
	fit := fitLogNormal
	if opt.Empirical {
		fit = fitEmpirical
	}
	if len(edHome) >= opt.MinStays {
		c.EDTreatment = fit(edHome, edCens)
	}
	for u, name := range units {
		c.Units[u].Name = name
		if c.Routed > 0 {
			c.Units[u].Route = float64(routed[u]) / float64(c.Routed)
		}
		if len(obs[u])+len(cens[u]) >= opt.MinStays && len(obs[u]) >= 2 {
			c.Units[u].LOS = fit(obs[u], cens[u])
		}
	}
	return c, rep, nil
}

// exposure counts the hours of [from, to) in each of n slots.
func exposure(from, to time.Time, zone *time.Location, n int, slot func(time.Time) int) []float64 {
	e := make([]float64, n)
	for t := from; t.Before(to); t = t.Add(time.Hour) {
		e[slot(t.In(zone))] += min(1, to.Sub(t).Hours())
	}
	return e
}

// profile is the rate of each slot (count over exposure) over the mean
// rate, so that the multipliers average 1 over the slots. A slot the
// window never covered gets 1.
func profile(count, exp []float64) []float64 {
	out := make([]float64, len(count))
	total, hours := 0.0, 0.0
	for i := range count {
		total += count[i]
		hours += exp[i]
	}
	mean := total / hours
	for i := range count {
		if exp[i] == 0 || mean == 0 {
			out[i] = 1
			continue
		}
		out[i] = count[i] / exp[i] / mean
	}
	// Rescale so that the mean over slots is exactly 1 (exposures differ
	// slightly when the window is not whole days or weeks).
	s := 0.0
	for _, x := range out {
		s += x
	}
	for i := range out {
		out[i] *= float64(len(out)) / s
	}
	return out
}

// fitLogNormal is the maximum-likelihood lognormal of the stays obs and
// the right-censored stays cens (each known only to exceed its value).
// The log-likelihood in (μ, ln σ) is maximised by Nelder–Mead from the
// moments of ln obs.
func fitLogNormal(obs, cens []float64) *Fit {
	ly := make([]float64, len(obs))
	m := 0.0
	for i, x := range obs {
		ly[i] = math.Log(max(x, 1e-9))
		m += ly[i]
	}
	m /= float64(len(ly))
	v := 0.0
	for _, y := range ly {
		v += (y - m) * (y - m)
	}
	s0 := math.Sqrt(v / float64(len(ly)))
	if !(s0 > 1e-6) {
		s0 = 1e-3
	}
	lc := make([]float64, len(cens))
	for i, x := range cens {
		lc[i] = math.Log(max(x, 1e-9))
	}
	negLL := func(p []float64) float64 {
		mu, ls := p[0], p[1]
		sigma := math.Exp(ls)
		ll := -float64(len(ly)) * ls
		for _, y := range ly {
			z := (y - mu) / sigma
			ll -= z * z / 2
		}
		for _, y := range lc {
			sf := 0.5 * math.Erfc((y-mu)/sigma/math.Sqrt2)
			if sf <= 0 {
				return math.Inf(1)
			}
			ll += math.Log(sf)
		}
		return -ll
	}
	p := []float64{m, math.Log(s0)}
	if len(lc) > 0 {
		res, _ := optimize.Minimize(optimize.Problem{Func: negLL}, p, nil, &optimize.NelderMead{})
		// A stop by iteration limit still returns the best point.
		if res != nil && !math.IsInf(res.F, 1) && !math.IsNaN(res.F) {
			p = res.X
		}
	}
	d := des.LogNormal{Mu: p[0], Sigma: math.Exp(p[1])}
	return &Fit{Dist: d, N: len(obs) + len(cens), Censored: len(cens), Mean: d.Mean()}
}

// fitEmpirical is the empirical distribution of the stays obs that
// ended; the censored stays are counted but not used.
func fitEmpirical(obs, cens []float64) *Fit {
	d, err := des.NewEmpirical(obs)
	if err != nil {
		return nil // no stays: not fitted
	}
	return &Fit{Dist: d, N: len(obs) + len(cens), Censored: len(cens), Mean: d.Mean()}
}

// Apply writes the calibration into cfg: the arrivals, the ED treatment
// time and each unit's length of stay where fitted, and the routes.
func (c *Calibration) Apply(cfg *hospital.Config) {
	cfg.Arrivals = c.Arrivals
	if c.EDTreatment != nil {
		cfg.ED.Treatment = c.EDTreatment.Dist
	}
	for u := range cfg.Units {
		if u >= len(c.Units) {
			break
		}
		if c.Units[u].LOS != nil {
			cfg.Units[u].LOS = c.Units[u].LOS.Dist
		}
		if c.Routed > 0 {
			cfg.Units[u].Route = c.Units[u].Route
		}
	}
}
