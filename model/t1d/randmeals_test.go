package t1d

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mealSpec is the RandomScenario plan as written in MODEL.md §8, restated
// here so the test does not read the implementation's table.
var mealSpec = []struct {
	name             string
	prob             float64
	mean, sd, lo, hi float64 // min of the day
	carbs, carbsSD   float64 // g
	snack            bool
}{
	{"breakfast", 0.95, 420, 60, 300, 540, 45, 10, false},
	{"snack 1", 0.3, 570, 30, 540, 600, 10, 5, true},
	{"lunch", 0.95, 720, 60, 600, 840, 70, 10, false},
	{"snack 2", 0.3, 900, 30, 840, 960, 10, 5, true},
	{"dinner", 0.95, 1080, 60, 960, 1200, 80, 10, false},
	{"snack 3", 0.3, 1290, 30, 1200, 1380, 10, 5, true},
}

// normCDF is the standard normal distribution function.
func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// roundedMoments returns P(k ≥ kmin), and the mean and SD given k ≥ kmin, of
// k = round(X) for X ~ normal(mu, sd) conditioned on [lo, hi]: exact sums
// over the integers (ties have probability zero). Infinite bounds are cut at
// mu ± 12·sd, which loses a mass below 1e-32.
func roundedMoments(mu, sd, lo, hi, kmin float64) (p, mean, stdev float64) {
	lo, hi = math.Max(lo, mu-12*sd), math.Min(hi, mu+12*sd)
	z := normCDF((hi-mu)/sd) - normCDF((lo-mu)/sd)
	var s0, s1, s2 float64
	for k := math.Max(math.Round(lo), kmin); k <= math.Round(hi); k++ {
		a, b := math.Max(k-0.5, lo), math.Min(k+0.5, hi)
		if b <= a {
			continue
		}
		w := (normCDF((b-mu)/sd) - normCDF((a-mu)/sd)) / z
		s0 += w
		s1 += w * k
		s2 += w * k * k
	}
	mean = s1 / s0
	return s0, mean, math.Sqrt(s2/s0 - mean*mean)
}

// TestRandomMealsStatistics draws 20,000 days and compares, for each of the
// six meals, the frequency, the mean and SD of the clock time and the mean
// and SD of the amount with the exact values implied by MODEL.md §8 (a
// truncated normal rounded to whole minutes; a normal rounded to whole grams,
// meals of 0 g omitted, so a snack is returned with probability
// 0.3·P(round(N(10,5)) ≥ 1) = 0.291).
//
// Meals are told apart by clock time; at the shared window edges (9, 10,
// 14, 16, 20 h) a meal of ≥ 28 g is taken as the main meal and a smaller one
// as the snack (misclassification probability < 1e-3 per edge meal).
//
// Tolerance: 4 standard errors (binomial SE for the frequency, SD/√n for
// the means, SD/√(2n) for the SDs), i.e. a chance failure probability of
// about 6e-5 per statistic; with n ≈ 6,000–19,000 meals per type the SEs are
// 0.1–0.8 min and 0.04–0.13 g, well below the changes a wrong window, mean
// or SD would cause (several minutes or grams).
func TestRandomMealsStatistics(t *testing.T) {
	const days = 20000
	meals, err := RandomMeals(rand.New(rand.NewPCG(8, 2008)), 0, days)
	if err != nil {
		t.Fatal(err)
	}
	type acc struct{ n, t, t2, c, c2 float64 }
	accs := make([]acc, len(mealSpec))
	for _, m := range meals {
		clock := math.Mod(m.T, 1440)
		k := -1
		for i, s := range mealSpec {
			if clock > s.lo && clock < s.hi {
				k = i
			}
			if clock == s.lo || clock == s.hi {
				if s.snack == (m.Carbs < 28) {
					k = i
				}
			}
		}
		if k < 0 {
			t.Fatalf("meal %+v outside every window", m)
		}
		a := &accs[k]
		a.n++
		a.t += clock
		a.t2 += clock * clock
		a.c += m.Carbs
		a.c2 += m.Carbs * m.Carbs
	}
	for i, s := range mealSpec {
		a := accs[i]
		pc, cMean, cSD := roundedMoments(s.carbs, s.carbsSD, math.Inf(-1), math.Inf(1), 1)
		_, tMean, tSD := roundedMoments(s.mean, s.sd, s.lo, s.hi, 0)
		freq := s.prob * pc
		gotFreq := a.n / days
		gotT, gotC := a.t/a.n, a.c/a.n
		gotTSD := math.Sqrt(a.t2/a.n - gotT*gotT)
		gotCSD := math.Sqrt(a.c2/a.n - gotC*gotC)
		for _, c := range []struct {
			what      string
			got, want float64
			se        float64
		}{
			{"frequency per day", gotFreq, freq, math.Sqrt(freq * (1 - freq) / days)},
			{"mean time, min", gotT, tMean, tSD / math.Sqrt(a.n)},
			{"SD of time, min", gotTSD, tSD, tSD / math.Sqrt(2*a.n)},
			{"mean carbs, g", gotC, cMean, cSD / math.Sqrt(a.n)},
			{"SD of carbs, g", gotCSD, cSD, cSD / math.Sqrt(2*a.n)},
		} {
			if math.Abs(c.got-c.want) > 4*c.se {
				t.Errorf("%s: %s = %.4g, want %.4g ± %.2g (4 SE)", s.name, c.what, c.got, c.want, 4*c.se)
			}
		}
	}
}

// TestRandomMealsCalendar checks the calendar logic: one plan per calendar
// day, drawn in order, so a run starting at 06:00 sees the meals of a run
// starting at midnight shifted by 6 h and cut to its window.
func TestRandomMealsCalendar(t *testing.T) {
	for seed := range uint64(50) {
		long, err := RandomMeals(rand.New(rand.NewPCG(seed, 3)), 0, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			start float64
			days  int
		}{{0, 1}, {0, 2}, {360, 1}, {360, 2}, {1439, 1}, {720, 0}} {
			got, err := RandomMeals(rand.New(rand.NewPCG(seed, 3)), tc.start, tc.days)
			if err != nil {
				t.Fatal(err)
			}
			var want []Meal
			for _, m := range long {
				if m.T >= tc.start && m.T < tc.start+float64(tc.days)*1440 {
					want = append(want, Meal{T: m.T - tc.start, Carbs: m.Carbs})
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("seed %d start %v days %d: (-want +got)\n%s", seed, tc.start, tc.days, diff)
			}
		}
		for i, m := range long {
			if m.T != math.Trunc(m.T) || m.Carbs != math.Trunc(m.Carbs) || m.Carbs < 1 {
				t.Errorf("seed %d: meal %+v: want whole minutes and whole grams ≥ 1", seed, m)
			}
			if i > 0 && m.T < long[i-1].T {
				t.Errorf("seed %d: meals not in time order: %v after %v", seed, m.T, long[i-1].T)
			}
		}
	}
}

func TestRandomMealsDeterministic(t *testing.T) {
	a, _ := RandomMeals(rand.New(rand.NewPCG(1, 1)), 360, 7)
	b, _ := RandomMeals(rand.New(rand.NewPCG(1, 1)), 360, 7)
	c, _ := RandomMeals(rand.New(rand.NewPCG(2, 1)), 360, 7)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different meals (-a +b)\n%s", diff)
	}
	if cmp.Equal(a, c) {
		t.Error("different seeds gave the same meals")
	}
	if len(a) < 14 {
		t.Errorf("7 days gave %d meals, want at least the ~20 main meals", len(a))
	}
}

func TestRandomMealsErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		rng   *rand.Rand
		start float64
		days  int
		want  string
	}{
		{rng, -1, 1, "t1d: random meals: start = -1 min, want a whole minute of the day in [0, 1440)"},
		{rng, 1440, 1, "t1d: random meals: start = 1440 min, want a whole minute of the day in [0, 1440)"},
		{rng, 0.5, 1, "t1d: random meals: start = 0.5 min, want a whole minute of the day in [0, 1440)"},
		{rng, math.NaN(), 1, "t1d: random meals: start = NaN min, want a whole minute of the day in [0, 1440)"},
		{rng, 0, -1, "t1d: random meals: days = -1, want ≥ 0"},
		{nil, 0, 1, "t1d: random meals: nil *rand.Rand"},
	} {
		_, err := RandomMeals(tc.rng, tc.start, tc.days)
		if err == nil || err.Error() != tc.want {
			t.Errorf("RandomMeals(start %v, days %d) error = %v, want %q", tc.start, tc.days, err, tc.want)
		}
	}
}

func ExampleRandomMeals() {
	// Two days starting at 06:00, reproducible from the seed.
	meals, err := RandomMeals(rand.New(rand.NewPCG(1, 2)), 6*60, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range meals {
		clock := int(m.T+6*60) % 1440
		fmt.Printf("day %d %02d:%02d %3.0f g\n", int(m.T+6*60)/1440+1, clock/60, clock%60, m.Carbs)
	}
	// Output:
	// day 1 07:04  47 g
	// day 1 13:56  87 g
	// day 1 17:57  82 g
	// day 1 21:52  14 g
	// day 2 07:36  61 g
	// day 2 13:17  60 g
	// day 2 18:39  84 g
}
