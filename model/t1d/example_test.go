package t1d_test

import (
	"fmt"
	"log"

	"github.com/doppelhealth/doppel/model/t1d"
)

// Simulate one day of adult#001 with the basal-bolus controller, a
// noiseless 1-min Navigator CGM and the Insulet pump, with meals of 45, 70
// and 80 g one, six and twelve hours after the start: simglucose's
// reference scenario (refdata/README.md: BG min/max 73.79/194.46 mg/dL,
// 51.422 U of insulin).
func ExampleSimulate() {
	p, err := t1d.Patient("adult#001")
	if err != nil {
		log.Fatal(err)
	}
	sensor, err := t1d.Sensor("Navigator")
	if err != nil {
		log.Fatal(err)
	}
	pump, err := t1d.Pump("Insulet")
	if err != nil {
		log.Fatal(err)
	}
	ctrl, err := t1d.NewBasalBolus(p, t1d.BasalBolusOptions{})
	if err != nil {
		log.Fatal(err)
	}
	res, err := t1d.Simulate(t1d.Config{
		Patient:    p,
		Sensor:     sensor,
		Pump:       pump,
		Controller: ctrl,
		Meals:      []t1d.Meal{{T: 60, Carbs: 45}, {T: 360, Carbs: 70}, {T: 720, Carbs: 80}},
		Duration:   24 * 60,
	})
	if err != nil {
		log.Fatal(err)
	}
	lo, hi := res.Records[0], res.Records[0]
	for _, r := range res.Records {
		if r.BG < lo.BG {
			lo = r
		}
		if r.BG > hi.BG {
			hi = r
		}
	}
	fmt.Printf("%d records\n", len(res.Records))
	fmt.Printf("max BG %.2f mg/dL at %v min\n", hi.BG, hi.T)
	fmt.Printf("min BG %.2f mg/dL at %v min\n", lo.BG, lo.T)
	fmt.Printf("insulin %.3f U\n", res.TotalInsulin())
	// Output:
	// 1441 records
	// max BG 194.46 mg/dL at 433 min
	// min BG 73.79 mg/dL at 1263 min
	// insulin 51.422 U
}

// A patient model stepped minute by minute: 50 g announced at 60 min with
// the basal rate held constant (simglucose's plain-ODE reference run:
// 181.943, 196.103, 205.863, 178.686 mg/dL).
func ExamplePatientModel() {
	p, err := t1d.Patient("adult#001")
	if err != nil {
		log.Fatal(err)
	}
	m, err := t1d.NewPatientModel(p, t1d.Method{})
	if err != nil {
		log.Fatal(err)
	}
	for t := 0; t < 480; t++ {
		carbs := 0.0
		if t == 60 {
			carbs = 50
		}
		if err := m.Step(carbs, p.BasalRate()); err != nil {
			log.Fatal(err)
		}
		if (t+1)%120 == 0 {
			fmt.Printf("t = %3.0f min: BG %.2f mg/dL\n", m.T(), m.BG())
		}
	}
	// Output:
	// t = 120 min: BG 181.94 mg/dL
	// t = 240 min: BG 196.10 mg/dL
	// t = 360 min: BG 205.86 mg/dL
	// t = 480 min: BG 178.69 mg/dL
}

// Sample the risk of hypo- and hyperglycaemia of single readings.
func ExampleRisk() {
	for _, bg := range []float64{54, 112.5, 180, 250} {
		lbgi, hbgi, risk := t1d.Risk(bg)
		fmt.Printf("BG %5.1f: LBGI %5.2f HBGI %5.2f risk %5.2f\n", bg, lbgi, hbgi, risk)
	}
	// Output:
	// BG  54.0: LBGI 18.46 HBGI  0.00 risk 18.46
	// BG 112.5: LBGI  0.00 HBGI  0.00 risk  0.00
	// BG 180.0: LBGI  0.00 HBGI  7.73 risk  7.73
	// BG 250.0: LBGI  0.00 HBGI 22.44 risk 22.44
}
