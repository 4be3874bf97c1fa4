package glucose_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/doppelhealth/doppel/assim/glucose"
	"github.com/doppelhealth/doppel/model/t1d"
)

// A twin of adult#001 starting from the average of the other adults,
// fed a steady reading of 140 mg/dL every 5 min for 2 h at the basal rate,
// then asked what a 45 g meal without a bolus would do.
func Example() {
	truth, _ := t1d.Patient("adult#001")
	sensor, _ := t1d.Sensor("GuardianRT")
	var others []string
	for _, n := range t1d.Patients() {
		if n != truth.Name && n[:5] == "adult" {
			others = append(others, n)
		}
	}
	pop, err := glucose.Population(others, truth.BW, truth.BasalRate())
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := glucose.New(pop, sensor, rand.New(rand.NewPCG(1, 2)), glucose.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	basal := make([]glucose.Input, 5)
	for i := range basal {
		basal[i].Insulin = truth.BasalRate()
	}
	for k := range 25 {
		if k > 0 {
			if err := f.Advance(basal); err != nil {
				fmt.Println(err)
				return
			}
		}
		if err := f.Update(140); err != nil {
			fmt.Println(err)
			return
		}
	}
	plan := []glucose.Input{{Carbs: 45, Insulin: truth.BasalRate()}}
	fc, err := f.Forecast(plan, []int{30, 60, 120})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range fc.Bands {
		fmt.Printf("%3d min: rises %v, 80%% interval inside the 95%%: %v\n", b.Minutes, b.Median > 150, b.Lo95 <= b.Lo80 && b.Hi80 <= b.Hi95)
	}
	fmt.Printf("P(below 70 mg/dL within 30 min) < 0.05: %v\n", fc.PHypo < 0.05)
	// Output:
	//  30 min: rises true, 80% interval inside the 95%: true
	//  60 min: rises true, 80% interval inside the 95%: true
	// 120 min: rises true, 80% interval inside the 95%: true
	// P(below 70 mg/dL within 30 min) < 0.05: true
}
