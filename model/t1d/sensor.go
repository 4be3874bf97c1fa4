package t1d

import (
	"fmt"
	"math"
)

// NoiseSource yields the additive noise (mg/dL) of successive CGM samples.
// *Noise implements it; a nil NoiseSource means a noiseless sensor.
type NoiseSource interface {
	Next() float64
}

// CGM is a continuous glucose monitor as simglucose's CGMSensor models it
// (MODEL.md §5): at times that are multiples of the sample time it reads the
// subcutaneous glucose plus noise, clipped to [Min, Max]; in between it holds
// the last reading (0 before the first).
type CGM struct {
	p     SensorParams
	noise NoiseSource
	last  float64
}

// NewCGM returns a sensor with parameters p and noise source noise (nil:
// no noise). The sample time must be a whole number of minutes ≥ 1.
func NewCGM(p SensorParams, noise NoiseSource) (*CGM, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &CGM{p: p, noise: noise}, nil
}

// Measure returns the reading at time t (min) of a patient whose subcutaneous
// glucose is bg (mg/dL). Calls must come in time order; the noise source
// advances once per sample time.
func (s *CGM) Measure(t, bg float64) float64 {
	if math.Mod(t, s.p.SampleTime) != 0 {
		return s.last
	}
	v := bg
	if s.noise != nil {
		v += s.noise.Next()
	}
	s.last = math.Min(math.Max(v, s.p.Min), s.p.Max)
	return s.last
}

func (p SensorParams) validate() error {
	if !finite(p.SampleTime) || p.SampleTime < 1 || p.SampleTime != math.Trunc(p.SampleTime) {
		return fmt.Errorf("t1d: sensor %q: SampleTime = %v min, want a whole number ≥ 1", p.Name, p.SampleTime)
	}
	if !finite(p.Min) || !finite(p.Max) || p.Min > p.Max {
		return fmt.Errorf("t1d: sensor %q: Min = %v, Max = %v mg/dL, want finite Min ≤ Max", p.Name, p.Min, p.Max)
	}
	return nil
}
