package t1d

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/interp"
)

// Constants of the CGM noise model (MODEL.md §5).
const (
	noiseNodeStep   = 15 // min between the nodes of the AR noise sequence
	noiseBlockNodes = 10 // new nodes per interpolation block
	noiseBlockSpan  = noiseNodeStep * noiseBlockNodes
)

// Noise generates the additive noise of a CGM sensor, in mg/dL, one value
// per sensor sample, as simglucose's CGMNoise does (Breton & Kovatchev 2008,
// J Diabetes Sci Technol 2(5):853-862; MODEL.md §5):
//
//   - a sequence on a 15-min grid: e₀ ~ N(0,1), eₖ = PACF·(eₖ₋₁ + zₖ) with
//     zₖ ~ N(0,1) (the innovation is scaled by PACF, not by √(1−PACF²), so
//     the stationary variance of e is PACF²/(1−PACF²), 0.961 for PACF 0.7);
//   - each node mapped through the Johnson SU transform ξ + λ·sinh((e−γ)/δ);
//   - blocks of 11 nodes at 0, 15, …, 150 min (the last node of the previous
//     block followed by 10 new ones) interpolated by a not-a-knot cubic spline
//     (scipy interp1d kind="cubic") onto 0, Ts, …, ⌊150/Ts⌋·Ts, Ts being the
//     sensor sample time; the first point of each block (the carried-over
//     node) is dropped, so a block yields ⌊150/Ts⌋ samples.
//
// When Ts does not divide 150 the grid restarts at every block, as in
// simglucose, so block boundaries drift relative to the sample clock.
//
// With λ = 0 and ξ = 0 every value is exactly 0 (simglucose's way of
// switching noise off). The sequence is reproducible from the state of the
// *rand.Rand; it matches simglucose's in distribution, not bit for bit
// (numpy's Mersenne Twister is not used).
//
// A Noise is not safe for concurrent use.
type Noise struct {
	p   SensorParams
	rng *rand.Rand

	w    []float64                    // interpolation weights, rows×(noiseBlockNodes+1), row-major
	rows int                          // samples per block
	y    [noiseBlockNodes + 1]float64 // transformed node values of the current block
	e    float64                      // AR state of the last node
	pos  int                          // next row of the current block; rows means "block used up"
	init bool                         // whether the first node has been drawn
}

// CheckNoise reports whether p can drive a Noise: SampleTime in (0, 150]
// min, |PACF| < 1, and finite Johnson SU parameters with δ > 0 (δ is not
// checked when λ = 0, which turns the transform into the constant ξ). The
// error names the offending field.
func CheckNoise(p SensorParams) error {
	switch {
	case !(p.SampleTime > 0 && p.SampleTime <= noiseBlockSpan):
		return fmt.Errorf("t1d: sensor %q: SampleTime must be in (0, %d] min, got %v", p.Name, noiseBlockSpan, p.SampleTime)
	case !(math.Abs(p.PACF) < 1):
		return fmt.Errorf("t1d: sensor %q: PACF must be in (-1, 1), got %v", p.Name, p.PACF)
	case math.IsNaN(p.Xi) || math.IsInf(p.Xi, 0):
		return fmt.Errorf("t1d: sensor %q: Xi must be finite, got %v", p.Name, p.Xi)
	case math.IsNaN(p.Lambda) || math.IsInf(p.Lambda, 0):
		return fmt.Errorf("t1d: sensor %q: Lambda must be finite, got %v", p.Name, p.Lambda)
	case p.Lambda != 0 && !(p.Delta > 0 && !math.IsInf(p.Delta, 0)):
		return fmt.Errorf("t1d: sensor %q: Delta must be positive and finite, got %v", p.Name, p.Delta)
	case p.Lambda != 0 && (math.IsNaN(p.Gamma) || math.IsInf(p.Gamma, 0)):
		return fmt.Errorf("t1d: sensor %q: Gamma must be finite, got %v", p.Name, p.Gamma)
	}
	return nil
}

// NewNoise returns a noise generator for sensor p drawing its normal
// variates from rng. It panics if CheckNoise(p) reports an error (check
// user-supplied parameters first) or if rng is nil.
func NewNoise(p SensorParams, rng *rand.Rand) *Noise {
	if err := CheckNoise(p); err != nil {
		panic(err)
	}
	if rng == nil {
		panic("t1d: NewNoise: nil *rand.Rand")
	}
	w, rows, err := noiseWeights(p.SampleTime)
	if err != nil {
		panic(err)
	}
	return &Noise{p: p, rng: rng, w: w, rows: rows, pos: rows}
}

// Next returns the noise of the next sensor sample, mg/dL.
func (n *Noise) Next() float64 {
	if n.pos == n.rows {
		n.newBlock()
	}
	row := n.w[n.pos*(noiseBlockNodes+1) : (n.pos+1)*(noiseBlockNodes+1)]
	n.pos++
	var v float64
	for i, wi := range row {
		v += wi * n.y[i]
	}
	return v
}

// newBlock carries the last node over and draws noiseBlockNodes new ones.
func (n *Noise) newBlock() {
	if !n.init {
		n.e = n.rng.NormFloat64()
		n.y[noiseBlockNodes] = n.johnson(n.e)
		n.init = true
	}
	n.y[0] = n.y[noiseBlockNodes]
	for i := 1; i <= noiseBlockNodes; i++ {
		n.e = n.p.PACF * (n.e + n.rng.NormFloat64())
		n.y[i] = n.johnson(n.e)
	}
	n.pos = 0
}

// johnson is the Johnson SU transform of a standard-normal-like variate.
func (n *Noise) johnson(e float64) float64 {
	if n.p.Lambda == 0 {
		return n.p.Xi
	}
	return n.p.Xi + n.p.Lambda*math.Sinh((e-n.p.Gamma)/n.p.Delta)
}

// noiseWeights returns the weights that map the 11 node values of a block
// (at 0, 15, …, 150 min) to the not-a-knot cubic spline through them at
// ts, 2·ts, …, rows·ts with rows = ⌊150/ts⌋, as a rows×11 row-major matrix.
// The spline is linear in the node values, so the weights are the splines
// of the unit vectors (gonum interp.NotAKnotCubic).
func noiseWeights(ts float64) (w []float64, rows int, err error) {
	const m = noiseBlockNodes + 1
	rows = int(math.Floor(noiseBlockSpan / ts))
	xs := make([]float64, m)
	for i := range xs {
		xs[i] = float64(i * noiseNodeStep)
	}
	w = make([]float64, rows*m)
	ys := make([]float64, m)
	var s interp.NotAKnotCubic
	for i := range m {
		clear(ys)
		ys[i] = 1
		if err := s.Fit(xs, ys); err != nil {
			return nil, 0, fmt.Errorf("t1d: noise spline: %w", err)
		}
		for j := range rows {
			w[j*m+i] = s.Predict(float64(j+1) * ts)
		}
	}
	return w, rows, nil
}
