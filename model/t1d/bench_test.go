package t1d

import (
	"testing"

	"github.com/doppelhealth/doppel/ode"
)

// standardDay is the simglucose reference scenario: meals of 45, 70 and 80 g
// at 1, 6 and 12 h after the start.
var standardDay = []Meal{{T: 60, Carbs: 45}, {T: 360, Carbs: 70}, {T: 720, Carbs: 80}}

// BenchmarkPatientDay simulates one patient-day: adult#001, 1-min Navigator
// CGM without noise, Insulet pump, basal-bolus controller, three meals.
func BenchmarkPatientDay(b *testing.B) {
	for _, bc := range []struct {
		name   string
		method Method
	}{
		{"default", Method{}},
		{"RK4_h0.25", RK4(0.25)},
		{"DoPri5_rtol1e-6", DoPri5(ode.Settings{RelTol: 1e-6, AbsTol: 1e-12})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, sensor, pump := mustSetup(b, "adult#001", "Navigator", "Insulet")
			b.ReportAllocs()
			for b.Loop() {
				ctrl, err := NewBasalBolus(p, BasalBolusOptions{})
				if err != nil {
					b.Fatal(err)
				}
				_, err = Simulate(Config{Patient: p, Sensor: sensor, Pump: pump, Controller: ctrl,
					Meals: standardDay, Duration: 1440, Method: bc.method})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDerivative measures one evaluation of the patient ODE's
// right-hand side during a meal.
func BenchmarkDerivative(b *testing.B) {
	p, err := Patient("adult#001")
	if err != nil {
		b.Fatal(err)
	}
	r := newDerivative(p)
	r.setInputs(5, 0.5, 50000)
	x := p.X0
	x[0], x[1], x[2] = 20000, 10000, 5000
	dy := make([]float64, NumStates)
	b.ReportAllocs()
	for b.Loop() {
		r.eval(dy, 0, x[:])
	}
}

func mustSetup(tb testing.TB, patient, sensor, pump string) (Params, SensorParams, PumpParams) {
	tb.Helper()
	p, err := Patient(patient)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := Sensor(sensor)
	if err != nil {
		tb.Fatal(err)
	}
	pp, err := Pump(pump)
	if err != nil {
		tb.Fatal(err)
	}
	return p, s, pp
}
