package glucose

import (
	"fmt"
	"math"

	"github.com/doppelhealth/doppel/model/t1d"
)

// SensorNoise is the Gaussian AR(1) approximation of a CGM's error used as
// the filter's likelihood: the error vₖ of the k-th reading is normal with
// mean Mean and standard deviation SD, and vₖ − Mean = Phi·(vₖ₋₁ − Mean) +
// wₖ with wₖ ~ N(0, SD²(1 − Phi²)). All in mg/dL except Phi.
type SensorNoise struct {
	Mean, SD float64
	Phi      float64 // correlation of successive readings' errors
}

// NoiseModel returns the AR(1) approximation of sensor s's noise (t1d.Noise:
// the Johnson SU transform ξ + λ·sinh((e − γ)/δ) of a Gaussian AR(1)
// sequence e on a 15-min grid with innovations scaled by PACF, so that e has
// variance s² = PACF²/(1 − PACF²), then a cubic spline onto the sample
// times).
//
// Mean and SD are the exact moments of the transformed node values: with
// u = (e − γ)/δ ~ N(m, τ²), m = −γ/δ, τ = s/δ,
//
//	E[sinh u]  = exp(τ²/2)·sinh m
//	E[sinh² u] = (exp(2τ²)·cosh 2m − 1)/2
//
// so Mean = ξ + λ·E[sinh u] and SD² = λ²·(E[sinh² u] − E[sinh u]²). Phi is
// PACF^(Ts/15), the correlation that the 15-min AR(1) implies at the sample
// time Ts. The approximation ignores the skew of the Johnson SU law and the
// smoothing by the spline (which makes the true errors a little more
// correlated at short lags; TestNoiseModel measures both). For Dexcom,
// GuardianRT and Navigator (λ 15.96, δ 1.69, γ −0.544, ξ −5.47, PACF 0.7)
// this gives Mean 0.72 mg/dL, SD 11.7 mg/dL and, at 5-min sampling, Phi
// 0.89 where the simulated errors show 0.955: the likelihood treats
// successive readings as less alike than they are, which is conservative.
func NoiseModel(s t1d.SensorParams) (SensorNoise, error) {
	if err := t1d.CheckNoise(s); err != nil {
		return SensorNoise{}, fmt.Errorf("glucose: %w", err)
	}
	if s.Lambda == 0 {
		return SensorNoise{Mean: s.Xi, Phi: 0}, nil
	}
	s2 := s.PACF * s.PACF / (1 - s.PACF*s.PACF)
	m, tau2 := -s.Gamma/s.Delta, s2/(s.Delta*s.Delta)
	e1 := math.Exp(tau2/2) * math.Sinh(m)
	e2 := (math.Exp(2*tau2)*math.Cosh(2*m) - 1) / 2
	return SensorNoise{
		Mean: s.Xi + s.Lambda*e1,
		SD:   math.Abs(s.Lambda) * math.Sqrt(e2-e1*e1),
		Phi:  math.Pow(math.Abs(s.PACF), s.SampleTime/15),
	}, nil
}
