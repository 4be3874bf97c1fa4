package pkpd_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/doppelhealth/doppel/model/pkpd"
)

// Reference case a: 320 mg orally into a 1-compartment model (ka 1.5/h,
// ke 0.08/h, V 40 L). The peak is at tmax = ln(ka/ke)/(ka − ke) = 2.064 h,
// Cmax 6.782216 mg/L; C(1 h), C(12 h) and C(24 h) are those of
// testdata/a_1cmt_oral.csv.
func Example() {
	m := pkpd.Linear{Depot: true} // CMT 1 depot, CMT 2 central
	p := pkpd.Params{CL: 0.08 * 40, V1: 40, KA: 1.5}
	s, err := m.NewSchedule([]pkpd.Record{{ID: 1, Time: 0, EVID: 1, AMT: 320, CMT: 1}}, pkpd.Dosing{}, pkpd.ScheduleOptions{})
	if err != nil {
		log.Fatal(err)
	}
	c, err := m.Predict(p, s, []float64{1, 2.06422095240593, 12, 24})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("C(1 h) = %.6f mg/L\n", c[0])
	fmt.Printf("Cmax = %.6f mg/L\n", c[1])
	fmt.Printf("C(12 h) = %.6f mg/L\n", c[2])
	fmt.Printf("C(24 h) = %.6f mg/L\n", c[3])
	// Output:
	// C(1 h) = 5.915376 mg/L
	// Cmax = 6.782216 mg/L
	// C(12 h) = 3.235714 mg/L
	// C(24 h) = 1.238932 mg/L
}

// Reference case b from NONMEM records: 100 mg PO q12h × 5 (ADDL=4) and
// 200 mg IV over 1 h at 72 h (RATE=200), 2-compartment model with a depot.
// The amounts of all compartments are available, e.g. to snapshot the
// state at the end of the infusion (testdata/b_2cmt_multidose.csv, lsoda:
// central 9.39224877 and 151.798048 mg, peripheral 32.5946880 and
// 67.9891518 mg).
func ExampleLinear_Simulate() {
	m := pkpd.Linear{Peripherals: 1, Depot: true} // CMT 1 depot, 2 central, 3 peripheral
	p := pkpd.Params{CL: 5, V1: 20, Q2: 10, V2: 50, KA: 1}
	recs := []pkpd.Record{
		{ID: 1, Time: 0, EVID: 1, AMT: 100, CMT: 1, II: 12, ADDL: 4},
		{ID: 1, Time: 72, EVID: 1, AMT: 200, CMT: 2, RATE: 200},
	}
	s, err := m.NewSchedule(recs, pkpd.Dosing{}, pkpd.ScheduleOptions{})
	if err != nil {
		log.Fatal(err)
	}
	prof, err := m.Simulate(p, s, []float64{72, 73})
	if err != nil {
		log.Fatal(err)
	}
	for i, t := range prof.Times {
		fmt.Printf("t = %g h: depot %.4f, central %.4f, peripheral %.4f mg; C = %.7f mg/L\n",
			t, prof.Amount(i, 1), prof.Amount(i, 2), prof.Amount(i, 3), prof.Amount(i, 2)/p.V1)
	}
	// Output:
	// t = 72 h: depot 0.0000, central 9.3922, peripheral 32.5947 mg; C = 0.4696124 mg/L
	// t = 73 h: depot 0.0000, central 151.7980, peripheral 67.9892 mg; C = 7.5899024 mg/L
}

// A NONMEM SS=1 record gives the steady state of its dose pattern at once
// (reference case h: 320 mg q12h, trough 5.24335950 mg/L, 8.47261638 mg/L
// 6 h after the dose). The observation
// record at the same TIME after the dose record sees the steady state.
func ExampleLinear_Predict_steadyState() {
	m := pkpd.Linear{Depot: true}
	p := pkpd.Params{CL: 3.2, V1: 40, KA: 1.5}
	data := `ID,TIME,EVID,AMT,CMT,II,SS,DV
1,0,1,320,1,12,1,.
1,0,0,.,2,.,.,5.2
1,6,0,.,2,.,.,10.1
`
	ds, err := pkpd.ReadCSV(strings.NewReader(data))
	if err != nil {
		log.Fatal(err)
	}
	s, err := m.NewSchedule(ds.Records, pkpd.Dosing{}, pkpd.ScheduleOptions{})
	if err != nil {
		log.Fatal(err)
	}
	c, err := m.PredictObs(p, s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("trough %.6f mg/L, C(6 h) %.6f mg/L\n", c[0], c[1])
	// Output:
	// trough 5.243360 mg/L, C(6 h) 8.472616 mg/L
}

// Bad records are errors that name the line and the field.
func ExampleReadCSV_error() {
	_, err := pkpd.ReadCSV(strings.NewReader("ID,TIME,EVID,AMT,SS\n1,0,1,100,0\n1,12,1,100,1\n"))
	fmt.Println(err)
	// Output:
	// pkpd: line 3: SS=1 needs II > 0
}

// The ODE path: Michaelis-Menten elimination, 400 mg IV bolus (Vmax 50 mg/h,
// Km 4 mg/L, V 20 L). At high concentrations the decline is nearly linear
// (zero order, Vmax/V = 2.5 mg/L/h); at low ones exponential. Each value
// solves Km·ln(C/C0) + C − C0 + Vmax·t/V = 0 (TestMichaelisMenten).
func ExampleMichaelisMenten() {
	m, err := pkpd.MichaelisMenten{Vmax: 50, Km: 4, V: 20}.ODE()
	if err != nil {
		log.Fatal(err)
	}
	s, err := m.NewSchedule([]pkpd.Record{{ID: 1, EVID: 1, AMT: 400}}, pkpd.Dosing{}, pkpd.ScheduleOptions{})
	if err != nil {
		log.Fatal(err)
	}
	c, err := m.Predict(s, []float64{1, 2, 4, 8, 12})
	if err != nil {
		log.Fatal(err)
	}
	for i, t := range []float64{1, 2, 4, 8, 12} {
		fmt.Printf("C(%g h) = %.4f mg/L\n", t, c[i])
	}
	// Output:
	// C(1 h) = 17.9357 mg/L
	// C(2 h) = 15.9141 mg/L
	// C(4 h) = 12.0325 mg/L
	// C(8 h) = 5.3069 mg/L
	// C(12 h) = 1.2124 mg/L
}
