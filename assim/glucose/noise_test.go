package glucose

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/doppelhealth/doppel/model/t1d"
)

// TestNoiseModel compares NoiseModel with the moments of t1d.Noise sampled
// over 200,000 readings of each sensor: the mean within 0.3 mg/dL and the SD
// within 3 % (the sampling error of these correlated series is about a
// third of that), and the lag-1 correlation within 0.1 of Phi (the spline
// makes the true errors smoother than an AR(1)).
func TestNoiseModel(t *testing.T) {
	for _, name := range t1d.Sensors() {
		s, err := t1d.Sensor(name)
		if err != nil {
			t.Fatal(err)
		}
		nm, err := NoiseModel(s)
		if err != nil {
			t.Fatal(err)
		}
		n := t1d.NewNoise(s, rand.New(rand.NewPCG(3, 4)))
		const count = 200000
		var sum, sum2, lag float64
		prev := math.NaN()
		xs := make([]float64, count)
		for i := range xs {
			xs[i] = n.Next()
			sum += xs[i]
			sum2 += xs[i] * xs[i]
		}
		mean := sum / count
		sd := math.Sqrt(sum2/count - mean*mean)
		for _, x := range xs {
			if !math.IsNaN(prev) {
				lag += (x - mean) * (prev - mean)
			}
			prev = x
		}
		rho := lag / (count - 1) / (sd * sd)
		t.Logf("%s (Ts %v min): mean %.3f (model %.3f), SD %.3f (model %.3f), lag-1 correlation %.3f (model %.3f)",
			name, s.SampleTime, mean, nm.Mean, sd, nm.SD, rho, nm.Phi)
		if math.Abs(mean-nm.Mean) > 0.3 || math.Abs(sd/nm.SD-1) > 0.03 || math.Abs(rho-nm.Phi) > 0.1 {
			t.Errorf("%s: sampled mean %.3f SD %.3f lag-1 %.3f, model %.3f %.3f %.3f", name, mean, sd, rho, nm.Mean, nm.SD, nm.Phi)
		}
	}
}
