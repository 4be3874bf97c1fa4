package t1d

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// randomMeal is one meal of simglucose's RandomScenario day plan.
type randomMeal struct {
	prob             float64 // probability that the meal is eaten
	mean, sd, lo, hi float64 // time of day: normal(mean, sd) truncated to [lo, hi], min
	carbs, carbsSD   float64 // amount: normal(carbs, carbsSD), g
}

// randomMealPlan returns simglucose's RandomScenario day plan (MODEL.md §8):
// breakfast, snack, lunch, snack, dinner, snack.
func randomMealPlan() [6]randomMeal {
	return [6]randomMeal{
		{0.95, 7 * 60, 60, 5 * 60, 9 * 60, 45, 10},
		{0.3, 9.5 * 60, 30, 9 * 60, 10 * 60, 10, 5},
		{0.95, 12 * 60, 60, 10 * 60, 14 * 60, 70, 10},
		{0.3, 15 * 60, 30, 14 * 60, 16 * 60, 10, 5},
		{0.95, 18 * 60, 60, 16 * 60, 20 * 60, 80, 10},
		{0.3, 21.5 * 60, 30, 20 * 60, 23 * 60, 10, 5},
	}
}

// RandomMeals draws a random meal scenario as simglucose's RandomScenario
// does (MODEL.md §8), for a run that starts at minute start of the day
// (0 = midnight, 360 = 06:00; a whole minute in [0, 1440)) and lasts days
// days. Meal times are minutes after the start of the run, in increasing
// order.
//
// For every calendar day the run touches, starting with the day of the
// start, it draws a day plan: for each of breakfast, morning snack, lunch,
// afternoon snack, dinner and evening snack, in that order,
//
//   - whether it is eaten, with probability 0.95, 0.3, 0.95, 0.3, 0.95, 0.3;
//   - if so, its clock time: normal with mean 7, 9.5, 12, 15, 18, 21.5 h and
//     SD 60, 30, 60, 30, 60, 30 min, truncated to the windows 5–9, 9–10,
//     10–14, 14–16, 16–20, 20–23 h (the distribution conditioned on the
//     window, as scipy.stats.truncnorm samples it; here by rejection), then
//     rounded to the nearest minute (half to even, as numpy.round);
//   - and its amount: normal with mean 45, 10, 70, 10, 80, 10 g and SD 10,
//     5, 10, 5, 10, 5 g, rounded to whole grams (half to even) and floored at
//     0.
//
// As in simglucose, which draws a new plan at every midnight, meals of the
// first day that fall before the start and meals at or after the end of the
// run are dropped, but the plans are still drawn, so the meals of day d
// depend only on the seed and d. Meals that round to 0 g are omitted (in
// simglucose they are announced with no effect). Two meals rounded to the
// same minute (possible only at the 9, 10, 14, 16 and 20 h window edges) are
// returned as two Meals with the same T; Simulate adds them up, whereas
// simglucose would keep only the first.
//
// The result is fully determined by the state of rng; the draws do not
// reproduce numpy's, only their distribution.
func RandomMeals(rng *rand.Rand, start float64, days int) ([]Meal, error) {
	if !(start >= 0 && start < 1440) || start != math.Trunc(start) {
		return nil, fmt.Errorf("t1d: random meals: start = %v min, want a whole minute of the day in [0, 1440)", start)
	}
	if days < 0 {
		return nil, fmt.Errorf("t1d: random meals: days = %d, want ≥ 0", days)
	}
	if rng == nil {
		return nil, fmt.Errorf("t1d: random meals: nil *rand.Rand")
	}
	end := float64(days) * 1440
	plan := randomMealPlan()
	var meals []Meal
	for d := 0; float64(d)*1440 < start+end; d++ {
		for _, m := range plan {
			if rng.Float64() >= m.prob {
				continue
			}
			clock := math.RoundToEven(truncatedNormal(rng, m.mean, m.sd, m.lo, m.hi))
			carbs := max(math.RoundToEven(m.carbs+m.carbsSD*rng.NormFloat64()), 0)
			t := float64(d)*1440 + clock - start
			if t < 0 || t >= end || carbs == 0 {
				continue
			}
			meals = append(meals, Meal{T: t, Carbs: carbs})
		}
	}
	slices.SortStableFunc(meals, func(a, b Meal) int { return cmp.Compare(a.T, b.T) })
	return meals, nil
}

// truncatedNormal draws from normal(mean, sd) conditioned on [lo, hi] by
// rejection (exact; every window of the meal plan holds at least 68% of its
// normal's mass, so few draws are rejected).
func truncatedNormal(rng *rand.Rand, mean, sd, lo, hi float64) float64 {
	for {
		x := mean + sd*rng.NormFloat64()
		if x >= lo && x <= hi {
			return x
		}
	}
}
