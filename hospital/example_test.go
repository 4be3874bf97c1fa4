package hospital_test

import (
	"context"
	"fmt"

	"github.com/doppelhealth/doppel/des"
	"github.com/doppelhealth/doppel/hospital"
)

// A week's forecast from the current census: 30 of 32 ICU beds taken,
// with stays of 1 to 6 days so far, and ten ED patients boarding or in
// treatment. What is the chance the ICU is full, with and without four
// surge beds opened tomorrow?
func Example() {
	icuLOS, _ := des.NewLogNormal(3*24, 2*24)
	wardLOS, _ := des.NewLogNormal(4*24, 3*24)
	tx, _ := des.NewExponential(3)
	cfg := &hospital.Config{
		Horizon: 7 * 24, Replications: 200, Seed: 1,
		Arrivals: hospital.Arrivals{RatePerHour: 8},
		ED:       hospital.ED{Cubicles: 30, Treatment: tx},
		Units: []hospital.Unit{
			{Name: "ward", Beds: 170, LOS: wardLOS, Route: 0.2},
			{Name: "icu", Beds: 32, LOS: icuLOS, Route: 0.05},
		},
	}
	census := &hospital.State{}
	for i := range 30 {
		census.Inpatients = append(census.Inpatients, hospital.Inpatient{Unit: 1, Elapsed: float64(24 + i*4)})
	}
	for i := range 150 {
		census.Inpatients = append(census.Inpatients, hospital.Inpatient{Unit: 0, Elapsed: float64(i)})
	}
	for range 8 {
		census.InTreatment = append(census.InTreatment, hospital.EDPatient{Elapsed: 1})
	}
	census.Boarding = []hospital.Boarder{{Unit: 1, Waited: 2}, {Unit: 1, Waited: 1}}

	base, _ := hospital.Run(context.Background(), cfg, census, hospital.Options{})
	surge := *cfg
	surge.CapacityChanges = []hospital.CapacityChange{{Unit: 1, At: 24, Capacity: 36}}
	branch, _ := hospital.Run(context.Background(), &surge, census, hospital.Options{})
	diffs, _ := hospital.Compare(base, branch)
	fmt.Printf("P(ICU full) over the week: %.2f\n", base.Units[1].PFull)
	for _, d := range diffs {
		if d.Name == "icu" && d.Metric == "p_full" {
			fmt.Printf("with 4 surge beds: %.2f lower (paired 95%% CI ± %.2f)\n", -d.Mean, d.HW)
		}
	}
	// Output:
	// P(ICU full) over the week: 0.33
	// with 4 surge beds: 0.19 lower (paired 95% CI ± 0.02)
}
