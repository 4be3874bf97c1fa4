package glucose

import (
	"flag"
	"fmt"
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

var priorCarryOver = flag.Bool("prior.carryover", false, "TestPriorCarryOver: run the experiment (8 adults × 4 days, about 5 s of CPU)")

// TestPriorCarryOver measures what a twin gains from starting at an
// earlier twin's estimate (Options.PriorMean) rather than at the
// population: for adults 1-8 (population: the other adults), a twin
// adapts over days 1-3; then two fresh twins track day 4, one from the
// population prior, one from the first twin's multipliers, and their
// 30- and 60-min forecasts (plan: the insulin delivered in the current
// 5 min, then basal; no meals) are scored against the true glucose after
// a 2-h warm-up. The prior must win at both horizons. Run with
//
//	go test ./assim/glucose -run TestPriorCarryOver -v -prior.carryover
func TestPriorCarryOver(t *testing.T) {
	if !*priorCarryOver {
		t.Skip("run with -prior.carryover")
	}
	const day = 288      // 5-min samples
	var se [2][2]float64 // [population, carried over][30, 60 min]
	n := 0
	for i := 1; i <= 8; i++ {
		tr, sensor, err := simulateTruth(fmt.Sprintf("adult#%03d", i), 4, rand.New(rand.NewPCG(11, 12)))
		if err != nil {
			t.Fatal(err)
		}
		track := func(f *Filter, from, to int, score func(k int) error) {
			t.Helper()
			for k := from; k < to; k++ {
				if k > from {
					if err := f.Advance(tr.inputs[(k-1)*5 : k*5]); err != nil {
						t.Fatal(err)
					}
				}
				if err := f.Update(tr.cgm[k]); err != nil {
					t.Fatal(err)
				}
				if err := score(k); err != nil {
					t.Fatal(err)
				}
			}
		}
		first, err := New(tr.pop, sensor, rand.New(rand.NewPCG(1, 1)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		track(first, 0, 3*day, func(int) error { return nil })
		var prior [NumParams]float64
		for k, m := range first.Estimate().Multipliers {
			prior[k] = min(max(math.Log(m), -maxLogMultiplier), maxLogMultiplier)
		}
		for v, opt := range []Options{{}, {PriorMean: prior}} {
			f, err := New(tr.pop, sensor, rand.New(rand.NewPCG(2, 2)), opt)
			if err != nil {
				t.Fatal(err)
			}
			track(f, 3*day, 4*day-12, func(k int) error {
				if k < 3*day+24 {
					return nil
				}
				plan := make([]Input, 60)
				for m := range plan {
					plan[m].Insulin = tr.basal
				}
				for m := range 5 {
					plan[m].Insulin = tr.inputs[k*5+m].Insulin
				}
				fc, err := f.Forecast(plan, []int{30, 60})
				for h, b := range fc.Bands {
					d := b.Median - tr.bg[k+6*(h+1)]
					se[v][h] += d * d
				}
				if v == 0 {
					n++
				}
				return err
			})
		}
	}
	rmse := func(v, h int) float64 { return math.Sqrt(se[v][h] / float64(n)) }
	t.Logf("day-4 forecasts of a fresh twin, 8 adults, %d in all: population prior RMSE %.1f / %.1f mg/dL at 30 / 60 min; carried-over prior %.1f / %.1f",
		n, rmse(0, 0), rmse(0, 1), rmse(1, 0), rmse(1, 1))
	for h, horizon := range []int{30, 60} {
		if !(rmse(1, h) < rmse(0, h)) {
			t.Errorf("at %d min the carried-over prior (RMSE %.1f mg/dL) does not beat the population (%.1f)", horizon, rmse(1, h), rmse(0, h))
		}
	}
}
