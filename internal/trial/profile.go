package trial

import "math"

const (
	// BinMinutes is the width of a time-of-day bin of a Profile, in minutes.
	BinMinutes = 5
	// Bins is the number of time-of-day bins of a Profile (one day).
	Bins = 24 * 60 / BinMinutes
	// MaxGlucose is the largest glucose level a Profile resolves, mg/dL;
	// higher readings count as MaxGlucose, negative ones as 0.
	MaxGlucose = 600
)

// Profile is a streaming histogram of glucose by time of day: for each
// 5-minute bin of the day, the count of samples at each whole mg/dL from 0 to
// MaxGlucose (samples are rounded to the nearest mg/dL). It gives percentiles
// of any amount of data in fixed memory (about 1.4 MB), and is exact to
// rounding: a percentile from the histogram is within 0.5 mg/dL of the same
// percentile of the raw samples (see Percentile). The zero value is an empty
// profile.
type Profile struct {
	counts [Bins][MaxGlucose + 1]uint64
	n      [Bins]uint64
}

// Add counts one glucose sample (mg/dL) taken at a time of day in minutes
// after midnight; times outside [0, 1440) wrap around. NaN samples are
// skipped.
func (p *Profile) Add(minute, glucose float64) {
	if math.IsNaN(glucose) || math.IsNaN(minute) || math.IsInf(minute, 0) {
		return
	}
	m := math.Mod(minute, 24*60)
	if m < 0 {
		m += 24 * 60
	}
	b := min(int(m/BinMinutes), Bins-1)
	p.counts[b][level(glucose)]++
	p.n[b]++
}

// AddTrace counts every sample of tr.
func (p *Profile) AddTrace(tr *Trace) {
	for i, g := range tr.Glucose {
		p.Add(tr.Start+float64(i)*tr.Step, g)
	}
}

// level is the histogram cell of a glucose value.
func level(g float64) int {
	switch {
	case g <= 0:
		return 0
	case g >= MaxGlucose:
		return MaxGlucose
	}
	return int(math.RoundToEven(g))
}

// Merge adds the counts of q to p.
func (p *Profile) Merge(q *Profile) {
	for b := range p.counts {
		for g, c := range q.counts[b] {
			p.counts[b][g] += c
		}
		p.n[b] += q.n[b]
	}
}

// Count returns the number of samples in time-of-day bin b.
func (p *Profile) Count(b int) uint64 { return p.n[b] }

// Percentile returns the q-quantile (0 <= q <= 1) of the samples in
// time-of-day bin b, by linear interpolation between order statistics (R's
// type 7, numpy's default), or NaN if the bin is empty.
//
// Rounding to whole mg/dL is monotone, so the k-th smallest rounded sample is
// the rounded k-th smallest sample, within 0.5 mg/dL of it; the interpolated
// quantile is a convex combination of two such order statistics and is also
// within 0.5 mg/dL of the quantile of the raw samples (for samples inside
// [0, MaxGlucose]).
func (p *Profile) Percentile(b int, q float64) float64 {
	n := p.n[b]
	if n == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	q = min(max(q, 0), 1)
	h := q * float64(n-1)
	k := uint64(math.Floor(h))
	lo := p.orderStat(b, k)
	if k+1 >= n {
		return lo
	}
	hi := p.orderStat(b, k+1)
	return lo + (h-float64(k))*(hi-lo)
}

// orderStat returns the k-th smallest sample (from 0) of bin b, rounded.
func (p *Profile) orderStat(b int, k uint64) float64 {
	var cum uint64
	for g, c := range p.counts[b] {
		cum += c
		if cum > k {
			return float64(g)
		}
	}
	return MaxGlucose
}

// Band returns, for each time-of-day bin, the q-quantile of its samples (NaN
// for empty bins).
func (p *Profile) Band(q float64) []float64 {
	out := make([]float64, Bins)
	for b := range out {
		out[b] = p.Percentile(b, q)
	}
	return out
}
