package scenario_test

import (
	"fmt"
	"time"

	"github.com/doppelhealth/doppel/internal/scenario"
)

func ExampleParse() {
	cat := scenario.Catalog{
		Model:       "t1d",
		Patients:    []string{"adult#001"},
		Sensors:     []scenario.SensorSpec{{Name: "Navigator", SampleTime: time.Minute}},
		Pumps:       []string{"Insulet"},
		Controllers: []scenario.ControllerSpec{{Name: "basal-bolus"}},
	}
	src := `
model: t1d
patient: "adult#001"
start: 2018-01-01T06:00:00Z
duration: 24h
sensor: {name: Navigator, noise: false}
pump: Insulet
controller: basal-bolus
meals:
  - {at: 2018-01-01T07:00:00Z, carbs: 45}
  - {at: +6h, carbs: 70}
`
	s, err := scenario.Parse("day.yaml", []byte(src), cat)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range s.Meals {
		fmt.Printf("%g g at minute %g\n", m.Carbs, s.Minutes(m.At))
	}

	_, err = scenario.Parse("bad.yaml", []byte("model: t1d\npatient: adult#002\n"), cat)
	fmt.Println(err)
	// Output:
	// 45 g at minute 60
	// 70 g at minute 360
	// bad.yaml:1: start: missing; add it, e.g. start: 2018-01-01T06:00:00Z
}
