package des

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Dist is a distribution of a positive duration (a treatment time, a
// length of stay), in the model's time unit.
type Dist interface {
	// Sample draws one value.
	Sample(r *rand.Rand) float64
	// SampleAbove draws from the distribution conditioned on exceeding x:
	// the total stay of a patient who has already stayed x (a warm start
	// from the current census conditions the remaining stay on the
	// elapsed stay).
	SampleAbove(r *rand.Rand, x float64) float64
	// Mean is the expected value.
	Mean() float64
}

// Exponential has mean Scale (> 0).
type Exponential struct{ Scale float64 }

// NewExponential returns the exponential distribution with the given mean.
func NewExponential(mean float64) (Exponential, error) {
	if !(mean > 0) || math.IsInf(mean, 1) {
		return Exponential{}, fmt.Errorf("des: exponential mean must be positive and finite, got %v", mean)
	}
	return Exponential{mean}, nil
}

func (d Exponential) Sample(r *rand.Rand) float64 { return r.ExpFloat64() * d.Scale }

// SampleAbove uses memorylessness: x plus a fresh draw.
func (d Exponential) SampleAbove(r *rand.Rand, x float64) float64 {
	return max(x, 0) + d.Sample(r)
}

func (d Exponential) Mean() float64 { return d.Scale }

// LogNormal is exp(N(Mu, Sigma²)).
type LogNormal struct{ Mu, Sigma float64 }

// NewLogNormal returns the lognormal distribution with the given mean and
// standard deviation (of the variable itself, not of its logarithm), by
// moment matching: σ² = ln(1 + sd²/mean²), μ = ln(mean) − σ²/2. This is
// the parametrisation of refs/des hospital_simpy.py.
func NewLogNormal(mean, sd float64) (LogNormal, error) {
	if !(mean > 0) || math.IsInf(mean, 1) || !(sd > 0) || math.IsInf(sd, 1) {
		return LogNormal{}, fmt.Errorf("des: lognormal mean and sd must be positive and finite, got mean %v sd %v", mean, sd)
	}
	s2 := math.Log1p(sd * sd / (mean * mean))
	return LogNormal{Mu: math.Log(mean) - s2/2, Sigma: math.Sqrt(s2)}, nil
}

func (d LogNormal) Sample(r *rand.Rand) float64 {
	return math.Exp(d.Mu + d.Sigma*r.NormFloat64())
}

// SampleAbove inverts the conditional CDF: u uniform on (F(x), 1),
// value F⁻¹(u), with F(v) = Φ((ln v − μ)/σ).
func (d LogNormal) SampleAbove(r *rand.Rand, x float64) float64 {
	if x <= 0 {
		return d.Sample(r)
	}
	z0 := (math.Log(x) - d.Mu) / d.Sigma
	p0 := 0.5 * math.Erfc(-z0/math.Sqrt2) // Φ(z0)
	u := p0 + (1-p0)*r.Float64()
	if u >= 1 || 1-p0 < 1e-15 {
		return x * (1 + 1e-9) // numerically at the tail end
	}
	z := math.Sqrt2 * math.Erfinv(2*u-1)
	return max(x, math.Exp(d.Mu+d.Sigma*z))
}

func (d LogNormal) Mean() float64 { return math.Exp(d.Mu + d.Sigma*d.Sigma/2) }

// Gamma has shape K and scale Theta (mean Kθ, variance Kθ²).
type Gamma struct{ K, Theta float64 }

// NewGammaMeanSD returns the gamma distribution with the given mean and
// standard deviation: k = mean²/sd², θ = sd²/mean.
func NewGammaMeanSD(mean, sd float64) (Gamma, error) {
	if !(mean > 0) || math.IsInf(mean, 1) || !(sd > 0) || math.IsInf(sd, 1) {
		return Gamma{}, fmt.Errorf("des: gamma mean and sd must be positive and finite, got mean %v sd %v", mean, sd)
	}
	return Gamma{K: mean * mean / (sd * sd), Theta: sd * sd / mean}, nil
}

// Sample uses Marsaglia and Tsang (2000), "A simple method for generating
// gamma variables", ACM TOMS 26(3), with the k < 1 boost X·U^(1/k).
func (d Gamma) Sample(r *rand.Rand) float64 {
	k := d.K
	boost := 1.0
	if k < 1 {
		boost = math.Pow(r.Float64(), 1/k)
		k++
	}
	dd := k - 1.0/3
	c := 1 / math.Sqrt(9*dd)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+dd*(1-v+math.Log(v)) {
			return dd * v * d.Theta * boost
		}
	}
}

// SampleAbove draws by rejection; past 1000 rejections (x deep in the
// tail) it returns x plus an exponential excess with the tail's limiting
// scale θ, a close approximation there.
func (d Gamma) SampleAbove(r *rand.Rand, x float64) float64 {
	if x <= 0 {
		return d.Sample(r)
	}
	for range 1000 {
		if v := d.Sample(r); v > x {
			return v
		}
	}
	return x + r.ExpFloat64()*d.Theta
}

func (d Gamma) Mean() float64 { return d.K * d.Theta }

// Empirical resamples observed values with equal weight (a bootstrap of,
// for example, lengths of stay from last year's discharges).
type Empirical struct {
	values []float64 // sorted
}

// NewEmpirical returns the empirical distribution of values, which must be
// non-empty, finite and positive.
func NewEmpirical(values []float64) (Empirical, error) {
	if len(values) == 0 {
		return Empirical{}, fmt.Errorf("des: empirical distribution needs at least one value")
	}
	for _, v := range values {
		if !(v > 0) || math.IsInf(v, 1) {
			return Empirical{}, fmt.Errorf("des: empirical values must be positive and finite, got %v", v)
		}
	}
	s := slices.Clone(values)
	slices.Sort(s)
	return Empirical{values: s}, nil
}

func (d Empirical) Sample(r *rand.Rand) float64 { return d.values[r.IntN(len(d.values))] }

// SampleAbove resamples the values above x; when none is, it returns x
// plus the smallest observed value (the data say nothing about that tail).
func (d Empirical) SampleAbove(r *rand.Rand, x float64) float64 {
	i, _ := slices.BinarySearch(d.values, x)
	for i < len(d.values) && d.values[i] <= x {
		i++
	}
	if i == len(d.values) {
		return x + d.values[0]
	}
	return d.values[i+r.IntN(len(d.values)-i)]
}

func (d Empirical) Mean() float64 {
	s := 0.0
	for _, v := range d.values {
		s += v
	}
	return s / float64(len(d.values))
}
