package glucose

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPriorMean: a filter started with Options.PriorMean (the estimate of
// an earlier twin) draws its multipliers around exp(PriorMean) instead of
// the population value 1; a mean beyond the random walk's bound ±1.5 is
// refused.
func TestPriorMean(t *testing.T) {
	tr := mustTruth(t, "adult#001", 1)
	mean := [NumParams]float64{0.5, -0.3, 0.05}
	for _, tc := range []struct {
		name  string
		mean  [NumParams]float64
		want  [NumParams]float64
		isErr bool
	}{
		{name: "population", want: [NumParams]float64{1, 1, 1}},
		{name: "earlier estimate", mean: mean, want: [NumParams]float64{math.Exp(0.5), math.Exp(-0.3), math.Exp(0.05)}},
		{name: "beyond the bound", mean: [NumParams]float64{0, 1.6, 0}, isErr: true},
		{name: "NaN", mean: [NumParams]float64{math.NaN(), 0, 0}, isErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A narrow prior (SD 0.01): the multipliers after the first
			// reading are exp(mean) within a few percent.
			opt := Options{Particles: 64, PriorMean: tc.mean, PriorSD: [NumParams]float64{0.01, 0.01, 0.01}}
			f, err := New(tr.pop, mustSensor(t), rand.New(rand.NewPCG(4, 4)), opt)
			if tc.isErr {
				if err == nil {
					t.Fatalf("PriorMean %v accepted", tc.mean)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Update(tr.cgm[0]); err != nil {
				t.Fatal(err)
			}
			got := f.Estimate().Multipliers
			for k := range NumParams {
				if math.Abs(got[k]/tc.want[k]-1) > 0.02 {
					t.Errorf("multiplier %d = %.4f, want %.4f within 2 %%", k, got[k], tc.want[k])
				}
			}
		})
	}
}
