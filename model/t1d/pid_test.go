package t1d

import (
	"fmt"
	"math"
	"testing"
)

// pidTestPatient has round numbers: basal rate u2ss·BW/6000 = 0.01 U/min.
func pidTestPatient() Params {
	return Params{Name: "test", BW: 60, U2ss: 1, CF: 50, CR: 10}
}

func TestPIDZeroErrorGivesBasal(t *testing.T) {
	p := pidTestPatient()
	c, err := NewPID(p, PIDSettings{Target: 120})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 50 {
		a := c.Act(Observation{T: float64(5 * (k + 1)), CGM: 120, SampleTime: 5})
		if a != (Action{Basal: 0.01}) {
			t.Fatalf("sample %d at target: %+v, want basal 0.01 U/min and no bolus", k, a)
		}
	}
}

// TestPIDFirstAction checks the first action against the formula: at the
// first sample D = 0 and the integral holds KI·e·Δ, so the rate is
// clamp(basal + KP·e + KI·e·Δ, 0, MaxRate) with the integral term first
// limited to ±basal.
func TestPIDFirstAction(t *testing.T) {
	p := pidTestPatient()
	g := PIDGains{KP: 1e-4, KI: 1e-6, KD: 1e-3}
	const basal, maxRate, dt = 0.01, 0.05, 5.0
	for _, tc := range []struct {
		cgm, want float64
	}{
		{120, basal},
		{170, basal + 1e-4*50 + 1e-6*50*dt}, // 0.01525
		{70, basal - 1e-4*50 - 1e-6*50*dt},  // 0.00475
		{40, basal - 1e-4*80 - 1e-6*80*dt},  // 0.0016
		{600, maxRate},                      // 0.01 + 0.048 + 0.0024 > MaxRate
		{20, 0},                             // 0.01 − 0.01 − 0.0005 < 0: suspended
	} {
		c, err := NewPID(p, PIDSettings{Target: 120, Gains: &g, MaxRate: maxRate})
		if err != nil {
			t.Fatal(err)
		}
		a := c.Act(Observation{CGM: tc.cgm, SampleTime: dt})
		if math.Abs(a.Basal-tc.want) > 1e-15 || a.Bolus != 0 {
			t.Errorf("CGM %v: %+v, want basal %v", tc.cgm, a, tc.want)
		}
	}
}

func TestPIDMonotone(t *testing.T) {
	p := pidTestPatient()
	prev := -1.0
	for cgm := 40.0; cgm <= 400; cgm += 10 {
		c, err := NewPID(p, PIDSettings{})
		if err != nil {
			t.Fatal(err)
		}
		a := c.Act(Observation{CGM: cgm, SampleTime: 5})
		if a.Basal < 0 || a.Basal > DefaultPIDMaxBasalFactor*0.01+1e-15 {
			t.Errorf("CGM %v: rate %v outside [0, %v]", cgm, a.Basal, DefaultPIDMaxBasalFactor*0.01)
		}
		if a.Basal < prev {
			t.Errorf("CGM %v: rate %v below the rate %v at CGM %v", cgm, a.Basal, prev, cgm-10)
		}
		prev = a.Basal
	}
}

func TestPIDDerivative(t *testing.T) {
	p := pidTestPatient()
	g := PIDGains{KD: 1e-3}
	c, _ := NewPID(p, PIDSettings{Target: 120, Gains: &g})
	c.Act(Observation{CGM: 120, SampleTime: 5})
	a := c.Act(Observation{CGM: 130, SampleTime: 5}) // rising 2 mg/dL/min
	if want := 0.01 + 1e-3*2; math.Abs(a.Basal-want) > 1e-15 {
		t.Errorf("rising glucose: rate %v, want %v", a.Basal, want)
	}
	a = c.Act(Observation{CGM: 100, SampleTime: 5}) // falling 6 mg/dL/min: 0.01 − 0.006
	if want := 0.01 - 1e-3*6; math.Abs(a.Basal-want) > 1e-15 {
		t.Errorf("falling glucose: rate %v, want %v", a.Basal, want)
	}
}

// TestPIDAntiWindup holds glucose high for 10 hours, first with the output
// saturated, then unsaturated, and checks that the integral neither grows
// while saturated nor exceeds +basal, and that it is dropped when glucose
// falls below target.
func TestPIDAntiWindup(t *testing.T) {
	p := pidTestPatient()
	g := PIDGains{KP: 1e-4, KI: 1e-5}
	c, _ := NewPID(p, PIDSettings{Target: 120, Gains: &g, MaxRate: 0.02})
	for k := range 120 { // 10 h at 400 mg/dL: P alone = 0.028 > MaxRate − basal
		if a := c.Act(Observation{CGM: 400, SampleTime: 5}); a.Basal != 0.02 {
			t.Fatalf("sample %d at 400 mg/dL: rate %v, want MaxRate 0.02", k, a.Basal)
		}
	}
	// Back at target: a wound-up integral (KI·280·600 min = 1.68 U/min) would
	// keep the pump at MaxRate; conditional integration kept it at 0.
	if a := c.Act(Observation{CGM: 120, SampleTime: 5}); a.Basal != 0.01 {
		t.Errorf("back at target after saturation: rate %v, want basal 0.01", a.Basal)
	}

	// Unsaturated but persistent error: the integral term stops at +basal.
	c, _ = NewPID(p, PIDSettings{Target: 120, Gains: &g, MaxRate: 1})
	var a Action
	for range 120 { // 10 h at 170 mg/dL: KI·50·600 = 0.3 U/min ≫ basal
		a = c.Act(Observation{CGM: 170, SampleTime: 5})
	}
	if want := 0.01 + 1e-4*50 + 0.01; math.Abs(a.Basal-want) > 1e-15 {
		t.Errorf("after 10 h at 170 mg/dL: rate %v, want basal + P + basal = %v", a.Basal, want)
	}
	// Then low: the positive integral is dropped at once (a wound-up
	// integral would give basal + P + basal = 0.014 U/min at 60 mg/dL).
	// The first step takes the integral to KI·(−60)·5 = −0.003 U/min, rate
	// 0.01 − 0.006 − 0.003 = 0.001; further steps would push the output
	// below zero, so conditional integration holds it there.
	for k := range 120 {
		a := c.Act(Observation{CGM: 60, SampleTime: 5})
		if want := 0.01 - 0.006 - 0.003; math.Abs(a.Basal-want) > 1e-15 {
			t.Fatalf("sample %d at 60 mg/dL: rate %v, want %v", k, a.Basal, want)
		}
	}
}

func TestPIDMealBolus(t *testing.T) {
	p := pidTestPatient()
	for _, bolus := range []bool{false, true} {
		c, _ := NewPID(p, PIDSettings{Target: 120, MealBolus: bolus})
		a := c.Act(Observation{CGM: 120, Meal: 45, SampleTime: 1}) // 45 g in the last minute
		want := 0.0
		if bolus {
			want = 4.5 // 45 g / CR 10 g/U, over the next 1-min sample
		}
		if a.Bolus != want || a.Basal != 0.01 {
			t.Errorf("MealBolus %v: %+v, want bolus %v U/min", bolus, a, want)
		}
	}
}

func TestPIDBadObservation(t *testing.T) {
	p := pidTestPatient()
	g := PIDGains{KP: 1e-4, KI: 1e-5, KD: 1e-3}
	c, _ := NewPID(p, PIDSettings{Target: 120, Gains: &g})
	c.Act(Observation{CGM: 150, SampleTime: 5})
	for _, obs := range []Observation{{CGM: math.NaN(), SampleTime: 5}, {CGM: 150, SampleTime: 0}, {CGM: 0, SampleTime: 5}} {
		if a := c.Act(obs); a != (Action{Basal: 0.01}) {
			t.Errorf("%+v: %+v, want basal only", obs, a)
		}
	}
	// State unchanged: the next valid sample continues from CGM 150.
	a := c.Act(Observation{CGM: 150, SampleTime: 5})
	if want := 0.01 + 1e-4*30 + 1e-5*30*10; math.Abs(a.Basal-want) > 1e-15 {
		t.Errorf("after bad observations: rate %v, want %v", a.Basal, want)
	}
}

func TestDefaultPIDGains(t *testing.T) {
	g := DefaultPIDGains(pidTestPatient()) // CF 50 mg/dL/U
	kp := 1 / (50.0 * 240)
	want := PIDGains{KP: kp, KI: kp / 600, KD: kp * 120}
	if math.Abs(g.KP-want.KP) > 1e-18 || math.Abs(g.KI-want.KI) > 1e-20 || math.Abs(g.KD-want.KD) > 1e-16 {
		t.Errorf("DefaultPIDGains = %+v, want %+v", g, want)
	}
}

func TestNewPIDErrors(t *testing.T) {
	good := pidTestPatient()
	neg := PIDGains{KP: 1e-4, KI: -1}
	nan := PIDGains{KD: math.NaN()}
	for _, tc := range []struct {
		p    Params
		s    PIDSettings
		want string
	}{
		{Params{Name: "x", BW: 60, CF: 50}, PIDSettings{}, `t1d: PID for "x": basal rate u2ss·BW/6000 = 0 U/min, want a finite value > 0`},
		{good, PIDSettings{Target: -5}, "t1d: PID setting Target = -5 mg/dL, want a finite value > 0"},
		{good, PIDSettings{Gains: &neg}, "t1d: PID gain KI = -1, want a finite value ≥ 0"},
		{good, PIDSettings{Gains: &nan}, "t1d: PID gain KD = NaN, want a finite value ≥ 0"},
		{good, PIDSettings{MaxRate: 0.005}, "t1d: PID setting MaxRate = 0.005 U/min, want a finite value ≥ the basal rate 0.01 U/min"},
		{Params{Name: "x", BW: 60, U2ss: 1}, PIDSettings{}, `t1d: PID for "x": CF = 0 mg/dL/U, want a finite value > 0 for the default gains`},
		{Params{Name: "x", BW: 60, U2ss: 1, CF: 50}, PIDSettings{MealBolus: true}, `t1d: PID for "x": CR = 0 g/U, want a finite value > 0 for meal boluses`},
	} {
		_, err := NewPID(tc.p, tc.s)
		if err == nil || err.Error() != tc.want {
			t.Errorf("NewPID(%+v) error = %v, want %q", tc.s, err, tc.want)
		}
	}
}

// TestPIDClosedLoop runs the default PID, without meal announcements, on
// adult#001 through simglucose's reference day (meals of 45, 70 and 80 g at
// 1, 6 and 12 h; noiseless Navigator sensor; Insulet pump) and compares it
// with basal insulin alone (peak 285 mg/dL): the feedback must cut the
// peak without causing hypoglycaemia. Observed: 94.4–186.4 mg/dL.
func TestPIDClosedLoop(t *testing.T) {
	p, err := Patient("adult#001")
	if err != nil {
		t.Fatal(err)
	}
	sensor, _ := Sensor("Navigator")
	pump, _ := Pump("Insulet")
	run := func(c Controller) (lo, hi float64) {
		res, err := Simulate(Config{Patient: p, Sensor: sensor, Pump: pump, Controller: c,
			Meals: []Meal{{T: 60, Carbs: 45}, {T: 360, Carbs: 70}, {T: 720, Carbs: 80}}, Duration: 1440})
		if err != nil {
			t.Fatal(err)
		}
		lo = math.Inf(1)
		for _, r := range res.Records {
			lo, hi = math.Min(lo, r.BG), math.Max(hi, r.BG)
		}
		return lo, hi
	}
	pid, _ := NewPID(p, PIDSettings{})
	zero := PIDGains{}
	basal, _ := NewPID(p, PIDSettings{Gains: &zero})
	lo, hi := run(pid)
	_, hiBasal := run(basal)
	if lo < 70 || hi > 250 || hi > hiBasal-50 {
		t.Errorf("PID: BG %.1f–%.1f mg/dL (basal only peaks at %.1f); want within 70–250 and a peak ≥ 50 mg/dL lower", lo, hi, hiBasal)
	}
}

func ExamplePID() {
	p, err := Patient("adult#001")
	if err != nil {
		fmt.Println(err)
		return
	}
	sensor, _ := Sensor("Navigator")
	pump, _ := Pump("Insulet")
	for _, s := range []PIDSettings{{}, {MealBolus: true}} {
		c, err := NewPID(p, s)
		if err != nil {
			fmt.Println(err)
			return
		}
		res, err := Simulate(Config{
			Patient: p, Sensor: sensor, Pump: pump, Controller: c,
			Meals:    []Meal{{T: 60, Carbs: 45}, {T: 360, Carbs: 70}, {T: 720, Carbs: 80}},
			Duration: 1440,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		bg := make([]float64, len(res.Records))
		for i, r := range res.Records {
			bg[i] = r.BG
		}
		m, _ := ComputeMetrics(bg)
		fmt.Printf("meal bolus %-5v: mean %.0f mg/dL, TIR %.0f%%, TBR %.0f%%, insulin %.1f U\n", s.MealBolus, m.Mean, m.TIR, m.TBR70, res.TotalInsulin())
	}
	// Output:
	// meal bolus false: mean 141 mg/dL, TIR 91%, TBR 0%, insulin 43.8 U
	// meal bolus true : mean 124 mg/dL, TIR 100%, TBR 0%, insulin 47.5 U
}
