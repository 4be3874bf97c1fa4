package score

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Sample is one timed set of vitals.
type Sample struct {
	T      float64 // hours, on any origin; samples in increasing time
	Vitals Vitals
}

// TrendOptions adjust TrendForecast. The zero value, with Rand set, gives
// the defaults.
type TrendOptions struct {
	Window  float64    // hours of history fitted, back from the last sample; 0 means 6
	Horizon float64    // hours ahead searched for a crossing; 0 means 12
	Draws   int        // Monte Carlo draws of the trend lines; 0 means 200
	Rand    *rand.Rand // source of the draws; required
}

// Line is the least-squares trend of one measured parameter over the
// window: value(t) = Level + Slope·(t − T), with T the last sample's time.
type Line struct {
	Level float64 // fitted value at the last sample, parameter units
	Slope float64 // parameter units per hour
	// ResidualSD is the standard deviation of the residuals (n − 2
	// degrees of freedom), 0 with fewer than 3 samples.
	ResidualSD float64
	N          int // samples in the window
}

// Crossing is the forecast of when the NEWS2 response will rise above the
// current one. Times are hours after the last sample; +Inf means "not
// within the horizon".
type Crossing struct {
	From  Response // response to the last sample's vitals
	Point float64  // crossing time of the fitted trend lines
	// Median, Lo and Hi are the 50th, 10th and 90th percentiles of the
	// crossing time over the drawn trend lines (an 80 % interval), with
	// the draws that do not cross within the horizon counted as +Inf.
	Median, Lo, Hi float64
	Prob           float64 // fraction of draws that cross within the horizon
	Lines          [NumParameters]Line
}

// TrendForecast forecasts when the NEWS2 response (Chart 2: routine <
// ward-based < urgent ward-based < urgent < emergency) will rise above the
// response to the last sample.
//
// Method: each measured parameter (respiration rate, SpO2, systolic BP,
// pulse, temperature) gets an ordinary least-squares line through its
// samples in the window; oxygen, SpO2 scale and consciousness keep their
// last values. Along the lines every parameter crosses its band edges
// (midway between adjacent charted values, e.g. 20.5 breaths/min) at times
// found in closed form, and the aggregate score is constant in between, so
// the first crossing of the fitted lines (Point) is exact, not searched on
// a grid. Uncertainty: the line's intercept and slope are drawn from their
// sampling distribution, normal with covariance s²(XᵀX)⁻¹ (s the residual
// SD), independently per parameter, and the crossing time of each draw
// gives the percentiles. With fewer than 3 samples in the window a
// parameter has no uncertainty, and with one sample it is held constant.
// Values along the lines are clamped to what NEWS2 accepts (SpO2 ≤ 100 %,
// temperature 10–50 °C, others ≥ 0).
//
// The method assumes that the recent trend continues; it says when the
// score will cross if nothing changes, not whether it will.
func TrendForecast(samples []Sample, opt TrendOptions) (Crossing, error) {
	if opt.Window == 0 {
		opt.Window = 6
	}
	if opt.Horizon == 0 {
		opt.Horizon = 12
	}
	if opt.Draws == 0 {
		opt.Draws = 200
	}
	switch {
	case !(opt.Window > 0) || math.IsInf(opt.Window, 0):
		return Crossing{}, fmt.Errorf("score: trend window %v h, want > 0", opt.Window)
	case !(opt.Horizon > 0) || math.IsInf(opt.Horizon, 0):
		return Crossing{}, fmt.Errorf("score: trend horizon %v h, want > 0", opt.Horizon)
	case opt.Draws < 1:
		return Crossing{}, fmt.Errorf("score: trend draws %d, want ≥ 1", opt.Draws)
	case opt.Rand == nil:
		return Crossing{}, fmt.Errorf("score: trend forecast needs a *rand.Rand")
	case len(samples) == 0:
		return Crossing{}, fmt.Errorf("score: trend forecast needs at least one sample")
	}
	for i, s := range samples {
		if math.IsNaN(s.T) || math.IsInf(s.T, 0) || (i > 0 && s.T <= samples[i-1].T) {
			return Crossing{}, fmt.Errorf("score: sample %d: time %v h, want finite and increasing", i+1, s.T)
		}
		if _, err := NEWS2(s.Vitals); err != nil {
			return Crossing{}, fmt.Errorf("score: sample %d: %w", i+1, err)
		}
	}
	last := samples[len(samples)-1]
	now, err := NEWS2(last.Vitals)
	if err != nil {
		return Crossing{}, err
	}
	c := Crossing{From: now.Response}
	fits := make([]fit, 0, 5)
	for _, p := range measured() {
		f := fitLine(samples, p, last.T-opt.Window)
		c.Lines[p] = f.line
		fits = append(fits, f)
	}
	tr := trajectory{base: last.Vitals, from: now.Response, horizon: opt.Horizon}
	for i, f := range fits {
		tr.lines[i] = [2]float64{f.line.Level, f.line.Slope}
	}
	c.Point = tr.crossing()

	times := make([]float64, opt.Draws)
	crossed := 0
	for d := range times {
		for i, f := range fits {
			tr.lines[i] = f.draw(opt.Rand)
		}
		times[d] = tr.crossing()
		if !math.IsInf(times[d], 1) {
			crossed++
		}
	}
	slices.Sort(times)
	c.Prob = float64(crossed) / float64(opt.Draws)
	c.Lo, c.Median, c.Hi = quantile(times, 0.1), quantile(times, 0.5), quantile(times, 0.9)
	return c, nil
}

// quantile returns the q-quantile of sorted x (the order statistic of rank
// ⌈q·n⌉, so that +Inf entries stay +Inf).
func quantile(x []float64, q float64) float64 {
	k := int(math.Ceil(q*float64(len(x)))) - 1
	return x[min(max(k, 0), len(x)-1)]
}

// fit is a trend line with the Cholesky factor of its (level, slope)
// sampling covariance.
type fit struct {
	line          Line
	l11, l21, l22 float64
	fixed         bool // no sampling uncertainty: draws return the line
}

// fitLine fits parameter p over the samples at or after t0, centred on the
// last sample's time.
func fitLine(samples []Sample, p Parameter, t0 float64) fit {
	tl := samples[len(samples)-1].T
	var n, st, sy, stt, sty float64
	for _, s := range samples {
		if s.T < t0 {
			continue
		}
		t, y := s.T-tl, s.Vitals.value(p)
		n++
		st += t
		sy += y
		stt += t * t
		sty += t * y
	}
	f := fit{line: Line{N: int(n)}}
	det := n*stt - st*st
	if n < 2 || det <= 0 {
		f.line.Level = samples[len(samples)-1].Vitals.value(p)
		f.fixed = true
		return f
	}
	b := (n*sty - st*sy) / det
	a := (sy - b*st) / n
	f.line.Level, f.line.Slope = a, b
	if n < 3 {
		f.fixed = true
		return f
	}
	var ss float64
	for _, s := range samples {
		if s.T < t0 {
			continue
		}
		r := s.Vitals.value(p) - (a + b*(s.T-tl))
		ss += r * r
	}
	s2 := ss / (n - 2)
	f.line.ResidualSD = math.Sqrt(s2)
	// Covariance of (a, b): s²/det · [[stt, −st], [−st, n]].
	caa, cab, cbb := s2*stt/det, -s2*st/det, s2*n/det
	f.l11 = math.Sqrt(caa)
	if f.l11 > 0 {
		f.l21 = cab / f.l11
	}
	f.l22 = math.Sqrt(max(cbb-f.l21*f.l21, 0))
	return f
}

// draw returns a (level, slope) pair from the line's sampling distribution.
func (f fit) draw(r *rand.Rand) [2]float64 {
	if f.fixed {
		return [2]float64{f.line.Level, f.line.Slope}
	}
	z1, z2 := r.NormFloat64(), r.NormFloat64()
	return [2]float64{f.line.Level + f.l11*z1, f.line.Slope + f.l21*z1 + f.l22*z2}
}

// trajectory is the vitals along the trend lines of the measured
// parameters (in the order of measured()), the categorical ones held.
type trajectory struct {
	base    Vitals
	from    Response
	horizon float64
	lines   [5][2]float64 // level, slope
	cand    []float64
}

// at returns the vitals at t hours after the last sample, clamped to the
// values NEWS2 accepts.
func (tr *trajectory) at(t float64) Vitals {
	v := tr.base
	for i, p := range measured() {
		x := max(tr.lines[i][0]+tr.lines[i][1]*t, 0)
		switch p {
		case SpO2:
			x = min(x, 100)
		case Temperature:
			x = min(max(x, 10), 50)
		}
		v.setValue(p, x)
	}
	return v
}

// crossing returns the first time in [0, horizon] at which the response
// along the lines exceeds tr.from, or +Inf. The response is constant
// between consecutive band-edge crossings, so it is evaluated once inside
// each such interval.
func (tr *trajectory) crossing() float64 {
	tr.cand = append(tr.cand[:0], 0)
	for i, p := range measured() {
		a, b := tr.lines[i][0], tr.lines[i][1]
		if b == 0 {
			continue
		}
		res := Resolution(p)
		for _, bd := range Bands(p, tr.base.Scale2, tr.base.OnOxygen) {
			if math.IsInf(bd.Hi, 1) {
				continue
			}
			if t := (bd.Hi + res/2 - a) / b; t > 0 && t < tr.horizon {
				tr.cand = append(tr.cand, t)
			}
		}
	}
	slices.Sort(tr.cand)
	for i, t := range tr.cand {
		next := tr.horizon
		if i+1 < len(tr.cand) {
			next = tr.cand[i+1]
		}
		if next <= t {
			continue
		}
		r, err := NEWS2(tr.at((t + next) / 2))
		if err == nil && r.Response > tr.from {
			return t
		}
	}
	return math.Inf(1)
}
