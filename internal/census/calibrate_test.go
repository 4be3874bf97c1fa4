package census_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/des"
	"github.com/doppelhealth/doppel/internal/census"
)

// The generating model of TestCalibrate: the reference values the fit
// must recover.
var (
	genRate = 3.0 // ED arrivals per hour, on average
	// genHour[h] = 1 + 0.5 sin(2π(h−8)/24): averages 1 over the day.
	genHour = func() []float64 {
		p := make([]float64, 24)
		for h := range p {
			p[h] = 1 + 0.5*math.Sin(2*math.Pi*float64(h-8)/24)
		}
		return p
	}()
	genDay   = []float64{1.1, 1.1, 1.1, 1.1, 1.1, 0.75, 0.75} // Monday first; averages 1
	genRoute = []float64{0.2, 0.05}                           // ward, icu
	genED    = [2]float64{math.Log(3), 0.5}                   // treatment: lognormal μ, σ of ln h
	genLOS   = [][2]float64{{4.0, 0.6}, {4.5, 0.8}}           // ward, icu
)

// synthetic generates the Encounters of ED arrivals over [from, to)
// (Poisson with the profiles above, by thinning), each treated, then sent
// home or admitted to a unit for a lognormal stay. An Encounter still
// running at to is in progress with an open last location: its stay is
// censored.
func synthetic(from, to time.Time, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 1))
	lmax := genRate * 1.5 * 1.1
	hours := func(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }
	var out [][]byte
	t := from
	for n := 0; ; n++ {
		t = t.Add(hours(r.ExpFloat64() / lmax))
		if !t.Before(to) {
			return out
		}
		rate := genRate * genHour[t.Hour()] * genDay[(int(t.Weekday())+6)%7]
		if r.Float64()*lmax >= rate {
			continue
		}
		edEnd := t.Add(hours(math.Exp(genED[0] + genED[1]*r.NormFloat64())))
		dest, u := -1, r.Float64()
		if u < genRoute[0] {
			dest = 0
		} else if u < genRoute[0]+genRoute[1] {
			dest = 1
		}
		// Each generated Encounter is then cut at to, as the store would
		// hold it at that time.
		id := fmt.Sprintf("e%d", n)
		edLoc := loc{ref: "Location/ed", start: t, end: edEnd}
		if dest < 0 {
			if edEnd.After(to) {
				out = append(out, encounterJSON(id, "in-progress", "EMER", t, time.Time{}, loc{ref: "Location/ed", status: "active", start: t}))
			} else {
				out = append(out, encounterJSON(id, "finished", "EMER", t, edEnd, edLoc))
			}
			continue
		}
		ref := []string{"Location/w1", "Location/icu"}[dest]
		end := edEnd.Add(hours(math.Exp(genLOS[dest][0] + genLOS[dest][1]*r.NormFloat64())))
		switch {
		case edEnd.After(to):
			out = append(out, encounterJSON(id, "in-progress", "EMER", t, time.Time{}, loc{ref: "Location/ed", status: "active", start: t}))
		case end.After(to):
			out = append(out, encounterJSON(id, "in-progress", "IMP", t, time.Time{}, edLoc, loc{ref: ref, status: "active", start: edEnd}))
		default:
			out = append(out, encounterJSON(id, "finished", "IMP", t, end, edLoc, loc{ref: ref, status: "completed", start: edEnd, end: end}))
		}
	}
}

// TestCalibrate: from Encounters generated with known distributions, the
// calibration recovers the arrival rate, the routes and the lognormal
// parameters of the stays within 3 standard errors, and each
// hour-of-day and day-of-week multiplier within 4 (31 of them are
// checked at once). The standard errors are those of the estimators with
// the generating values: √N/T for the rate, √(p(1−p)/n) for a route,
// m/√n for a multiplier m estimated from n arrivals, and σ/√n, σ/√(2n)
// for μ and σ of a lognormal fitted to n uncensored stays (n: the stays
// that ended, which overstates the error of the censored fit, whose
// censored stays add information).
func TestCalibrate(t *testing.T) {
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	to := from.Add(8 * 7 * 24 * time.Hour)
	src := memSource{"Location": hospitalLocations(), "Encounter": synthetic(from, to, 7)}
	ctx := context.Background()
	r, err := census.NewResolver(ctx, src, units, mapping)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := r.Calibrate(ctx, src, from, to, census.CalibrateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	T := to.Sub(from).Hours()
	check := func(name string, got, want, se, k float64) {
		t.Helper()
		if math.Abs(got-want) > k*se {
			t.Errorf("%s = %.4f, want %.4f ± %g×%.4f", name, got, want, k, se)
		} else {
			t.Logf("%s = %.4f, want %.4f (%.1f SE)", name, got, want, (got-want)/se)
		}
	}
	n := float64(c.ArrivalsN)
	check("rate", c.Arrivals.RatePerHour, genRate, math.Sqrt(n)/T, 3)
	for h, m := range c.Arrivals.HourOfDay {
		check(fmt.Sprintf("hour_of_day[%d]", h), m, genHour[h], genHour[h]/math.Sqrt(n/24*genHour[h]), 4)
	}
	for d, m := range c.Arrivals.DayOfWeek {
		check(fmt.Sprintf("day_of_week[%d]", d), m, genDay[d], genDay[d]/math.Sqrt(n/7*genDay[d]), 4)
	}
	for u, p := range genRoute {
		check(units[u]+" route", c.Units[u].Route, p, math.Sqrt(p*(1-p)/float64(c.Routed)), 3)
	}
	fits := []struct {
		name string
		fit  *census.Fit
		want [2]float64
	}{
		{"ED treatment", c.EDTreatment, genED},
		{"ward LOS", c.Units[0].LOS, genLOS[0]},
		{"icu LOS", c.Units[1].LOS, genLOS[1]},
	}
	for _, f := range fits {
		if f.fit == nil {
			t.Errorf("%s: not fitted", f.name)
			continue
		}
		ended := float64(f.fit.N - f.fit.Censored)
		sigma := f.want[1]
		d := f.fit.Dist.(des.LogNormal)
		check(f.name+" μ", d.Mu, f.want[0], sigma/math.Sqrt(ended), 3)
		check(f.name+" σ", d.Sigma, sigma, sigma/math.Sqrt(2*ended), 3)
		t.Logf("%s: %d stays, %d censored", f.name, f.fit.N, f.fit.Censored)
	}
}

// TestCalibrateCensoring: in a short window (2 weeks, mean ward stay
// 2.7 days) a good share of the stays is still running at its end; the
// censored fit recovers μ within 3 standard errors all the same.
func TestCalibrateCensoring(t *testing.T) {
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	to := from.Add(14 * 24 * time.Hour)
	src := memSource{"Location": hospitalLocations(), "Encounter": synthetic(from, to, 11)}
	ctx := context.Background()
	r, err := census.NewResolver(ctx, src, units, mapping)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := r.Calibrate(ctx, src, from, to, census.CalibrateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Units[0].LOS
	if f == nil {
		t.Fatal("ward LOS not fitted")
	}
	want := math.Exp(genLOS[0][0] + genLOS[0][1]*genLOS[0][1]/2)
	ended := float64(f.N - f.Censored)
	t.Logf("ward: %d stays, %d censored; fitted mean %.1f h, true %.1f h", f.N, f.Censored, f.Mean, want)
	if f.Censored < f.N/10 {
		t.Fatalf("only %d of %d stays censored: the test needs more", f.Censored, f.N)
	}
	sigma := genLOS[0][1]
	if se, mu := sigma/math.Sqrt(ended), f.Dist.(des.LogNormal).Mu; math.Abs(mu-genLOS[0][0]) > 3*se {
		t.Errorf("censored fit μ = %.3f, want %.3f ± 3×%.3f", mu, genLOS[0][0], se)
	}

	// The empirical fit resamples the stays that ended, and so leaves
	// out the long stays that had not: its mean is below the fitted
	// lognormal's.
	ce, _, err := r.Calibrate(ctx, src, from, to, census.CalibrateOptions{Empirical: true})
	if err != nil {
		t.Fatal(err)
	}
	e := ce.Units[0].LOS
	if _, ok := e.Dist.(des.Empirical); !ok || e.N != f.N || e.Censored != f.Censored || !(e.Mean < f.Mean) {
		t.Errorf("empirical fit %+v (mean %.1f h), want a des.Empirical of the same %d stays with a mean below %.1f h", e, e.Mean, f.N, f.Mean)
	}
}
