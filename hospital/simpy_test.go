package hospital_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/doppelhealth/doppel/des"
	"github.com/doppelhealth/doppel/hospital"
)

// refsConfig is the model of refs/des hospital_simpy.py with the given
// capacities: 365 days, 30-day warm-up, 20 replications.
func refsConfig(cubicles, ward, icu int, seed uint64) *hospital.Config {
	tx, _ := des.NewExponential(3)
	wl, _ := des.NewLogNormal(4*24, 3*24)
	il, _ := des.NewLogNormal(3*24, 2*24)
	return &hospital.Config{
		Horizon: 365 * 24, Warmup: 30 * 24, Replications: 20, Seed: seed,
		Arrivals: hospital.Arrivals{RatePerHour: 10},
		ED:       hospital.ED{Cubicles: cubicles, Treatment: tx},
		Units: []hospital.Unit{
			{Name: "ward", Beds: ward, LOS: wl, Route: 0.20},
			{Name: "icu", Beds: icu, LOS: il, Route: 0.05},
		},
	}
}

type refStat struct {
	Mean float64 `json:"mean"`
	HW   float64 `json:"ci95_halfwidth"`
}

func loadRef(t testing.TB, name string) map[string]refStat {
	data, err := os.ReadFile("testdata/results_hospital_" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Summary map[string]refStat `json:"summary_over_reps"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	return ref.Summary
}

// TestAgainstSimPy compares the model with SimPy 4.1.2 on the two
// parameter sets of refs/des (20 replications each) and a 60-replication
// SimPy rerun of the overloaded one (testdata/README.md).
//
// The rule: for each of the 3 × 8 statistics, |ours − SimPy| ≤
// k·√(hw_ours² + hw_SimPy²): the two-sample test of equal means at a
// family-wise level of 5 % over the 24 comparisons (Bonferroni: each at
// 0.05/24, z = 3.08, so k = 3.08/1.96 = 1.57 applied to the 95 %
// half-widths). P(full) of the saturated ED (1 with zero width on both
// sides) is compared to 1e-9. Our runs use 20 replications and seed 1.
func TestAgainstSimPy(t *testing.T) {
	const comparisons = 24
	k := math.Sqrt2 * math.Erfinv(1-0.05/comparisons) / 1.959964
	tests := []struct {
		ref            string
		cub, ward, icu int
	}{
		{"capacity_scaled", 40, 210, 44},
		{"as_specified", 15, 60, 12},
		{"as_specified_60reps_seed5000", 15, 60, 12},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			ref := loadRef(t, tc.ref)
			res, err := hospital.Run(context.Background(), refsConfig(tc.cub, tc.ward, tc.icu, 1), nil, hospital.Options{})
			if err != nil {
				t.Fatal(err)
			}
			w, i := res.Units[0], res.Units[1]
			for _, q := range []struct {
				key      string
				mean, hw float64
			}{
				{"mean_ed", res.ED.MeanOccupancy, res.ED.MeanOccupancyHW},
				{"p_full_ed", res.ED.PFull, res.ED.PFullHW},
				{"mean_ward", w.MeanOccupancy, w.MeanOccupancyHW},
				{"p_full_ward", w.PFull, w.PFullHW},
				{"mean_icu", i.MeanOccupancy, i.MeanOccupancyHW},
				{"p_full_icu", i.PFull, i.PFullHW},
				{"boarding_mean_h", res.ED.MeanBoardingHours, res.ED.MeanBoardingHoursHW},
				{"p_boarding_gt_4h", res.ED.PBoardingOver4h, res.ED.PBoardingOver4hHW},
			} {
				r := ref[q.key]
				tol := max(k*math.Hypot(q.hw, r.HW), 1e-9)
				d := q.mean - r.Mean
				t.Logf("%-17s ours %9.4f ± %.4f  SimPy %9.4f ± %.4f  diff %+.4f (tolerance %.4f, %.2f of it)", q.key, q.mean, q.hw, r.Mean, r.HW, d, tol, math.Abs(d)/tol)
				if math.Abs(d) > tol {
					t.Errorf("%s: ours %.4f ± %.4f, SimPy %.4f ± %.4f: |diff| %.4f > %.4f", q.key, q.mean, q.hw, r.Mean, r.HW, math.Abs(d), tol)
				}
			}
		})
	}
}
