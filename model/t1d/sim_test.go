package t1d

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder is a Controller that delivers a fixed basal and records what it
// observes.
type recorder struct {
	basal float64
	obs   []Observation
}

func (r *recorder) Act(o Observation) Action {
	r.obs = append(r.obs, o)
	return Action{Basal: r.basal}
}

// nanController asks for an impossible rate.
type nanController struct{}

func (nanController) Act(Observation) Action { return Action{Basal: math.NaN()} }

func baseConfig(tb testing.TB) Config {
	tb.Helper()
	p, s, pump := mustSetup(tb, "adult#001", "Navigator", "Insulet")
	return Config{Patient: p, Sensor: s, Pump: pump, Controller: &recorder{basal: p.BasalRate()}, Duration: 240}
}

func TestSimulateErrors(t *testing.T) {
	dexcom, err := Sensor("Dexcom")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    func(c *Config)
		want string
	}{
		{"no controller", func(c *Config) { c.Controller = nil }, "Controller"},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "Duration"},
		{"NaN duration", func(c *Config) { c.Duration = math.NaN() }, "Duration"},
		{"duration not a multiple of 3 min", func(c *Config) { c.Sensor = dexcom; c.Duration = 100 }, "Duration"},
		{"meal before the start", func(c *Config) { c.Meals = []Meal{{T: -1, Carbs: 10}} }, "meal 1: time -1"},
		{"meal at the end", func(c *Config) { c.Meals = []Meal{{T: 10, Carbs: 10}, {T: 240, Carbs: 10}} }, "meal 2: time 240"},
		{"meal between minutes", func(c *Config) { c.Meals = []Meal{{T: 7.5, Carbs: 10}} }, "whole minute"},
		{"negative carbs", func(c *Config) { c.Meals = []Meal{{T: 7, Carbs: -10}} }, "meal 1 at 7 min: amount -10"},
		{"zero carbs", func(c *Config) { c.Meals = []Meal{{T: 7, Carbs: 0}} }, "meal 1"},
		{"NaN bolus", func(c *Config) { c.Boluses = []Bolus{{T: 7, Units: math.NaN()}} }, "bolus 1"},
		{"negative basal", func(c *Config) { c.BasalChanges = []BasalChange{{T: 7, UnitsPerHour: -1}} }, "basal change 1"},
		{"bad sensor", func(c *Config) { c.Sensor.SampleTime = 0 }, "SampleTime"},
		{"bad pump", func(c *Config) { c.Pump.IncBasal = 0 }, "IncBasal"},
		{"bad patient", func(c *Config) { c.Patient.BW = -3 }, "BW"},
		{"bad method", func(c *Config) { c.Method.Step = 5 }, "Method.Step"},
		{"bad initial state", func(c *Config) { s := PatientState{X: c.Patient.X0}; s.X[0] = math.Inf(1); c.Init = &s }, "X[0]"},
		{"controller NaN", func(c *Config) { c.Controller = nanController{} }, "controller returned"},
	} {
		cfg := baseConfig(t)
		tc.f(&cfg)
		_, err := Simulate(cfg)
		if err == nil || !strings.HasPrefix(err.Error(), "t1d: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestSimulateSampling checks the env loop of MODEL.md §7 with the 3-min
// Dexcom sensor: one record per sample, inputs averaged over the sample that
// starts at T, BG and CGM averaged over the sample that ends at T, the CGM
// held between readings, and the controller called once per sample with the
// announced carbohydrate of the last sample.
func TestSimulateSampling(t *testing.T) {
	cfg := baseConfig(t)
	dexcom, err := Sensor("Dexcom")
	if err != nil {
		t.Fatal(err)
	}
	ctrl := &recorder{basal: cfg.Patient.BasalRate()}
	cfg.Sensor, cfg.Controller, cfg.KeepStates = dexcom, ctrl, true
	cfg.Meals = []Meal{{T: 7, Carbs: 30}, {T: 7, Carbs: 15}, {T: 100, Carbs: 20}}
	res, err := Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 81 || len(res.States) != 81 || len(ctrl.obs) != 80 {
		t.Fatalf("%d records, %d states, %d controller calls; want 81, 81, 80", len(res.Records), len(res.States), len(ctrl.obs))
	}
	for k, r := range res.Records {
		if r.T != float64(3*k) {
			t.Fatalf("record %d at T = %v, want %d", k, r.T, 3*k)
		}
	}
	// Meals at the same minute add up; the sample [6, 9) holds 45 g: 15 g/min.
	if got := res.Records[2].CHO; got != 15 {
		t.Errorf("CHO of sample [6, 9) = %v g/min, want 15", got)
	}
	if got := ctrl.obs[3]; got.Meal != 15 || got.T != 9 || got.SampleTime != 3 {
		t.Errorf("observation after [6, 9): %+v, want Meal 15, T 9, SampleTime 3", got)
	}
	if got := res.TotalCarbs(); math.Abs(got-65) > 1e-12 {
		t.Errorf("TotalCarbs = %v, want 65", got)
	}
	last := res.Records[len(res.Records)-1]
	if !math.IsNaN(last.CHO) || !math.IsNaN(last.Insulin) {
		t.Errorf("last record CHO %v, insulin %v, want NaN (nothing applied after the end)", last.CHO, last.Insulin)
	}
	basal := cfg.Pump.Basal(cfg.Patient.BasalRate())
	if got, want := res.TotalInsulin(), basal*240; math.Abs(got-want) > 1e-12 {
		t.Errorf("TotalInsulin = %v U, want %v", got, want)
	}
	// Noiseless readings every 3 min, held in between: the first sample's
	// record averages the hold of t = 0 (twice) and the t = 3 reading.
	// With no meal yet BG is constant, so check the clipping and hold with
	// the patient's state instead: CGM at T equals the average of
	// (reading at T−3, reading at T−3, reading at T) = BG average only when
	// BG is constant.
	bg0 := res.Records[0].BG
	if res.Records[0].CGM != bg0 || math.Abs(res.Records[1].CGM-bg0) > 1e-9 {
		t.Errorf("CGM %v, %v before the meal, want %v", res.Records[0].CGM, res.Records[1].CGM, bg0)
	}
	// After the meal BG rises, so the held readings lag: CGM < mean BG.
	if r := res.Records[15]; !(r.CGM < r.BG) {
		t.Errorf("at T = %v min, rising: CGM %v, BG %v; want the held CGM below the mean BG", r.T, r.CGM, r.BG)
	}
	for k, r := range res.Records {
		if got := res.States[k][3] / cfg.Patient.Vg; got != r.PlasmaBG {
			t.Errorf("record %d: PlasmaBG %v, want X[3]/Vg %v", k, r.PlasmaBG, got)
		}
	}
	if res.Final.T != 240 || res.Final.X != res.States[80] {
		t.Errorf("Final: T %v, want 240 and the last state", res.Final.T)
	}
}

// TestSimulateNoiseReset checks that with noise the sensor is read twice at
// t = 0, as simglucose's env.reset(): Records[0] keeps the first reading, the
// controller sees the second.
func TestSimulateNoiseReset(t *testing.T) {
	cfg := baseConfig(t)
	ctrl := &recorder{basal: cfg.Patient.BasalRate()}
	noise := &noiseSeq{}
	cfg.Controller, cfg.Noise, cfg.Duration = ctrl, noise, 3
	res, err := Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bg0 := res.Records[0].BG
	if got := res.Records[0].CGM; got != bg0+1 {
		t.Errorf("Records[0].CGM = %v, want BG + first noise = %v", got, bg0+1)
	}
	if got := ctrl.obs[0]; got.CGM != bg0+2 || got.Meal != 0 || got.T != 0 {
		t.Errorf("first observation %+v, want CGM = BG + second noise = %v, Meal 0, T 0", got, bg0+2)
	}
	if got := res.Records[1].CGM; got != res.Records[1].BG+3 {
		t.Errorf("Records[1].CGM = %v, want BG + third noise", got)
	}
	if noise.n != 5 {
		t.Errorf("%d noise draws, want 5 (two at t = 0, one per minute after)", noise.n)
	}
}

// TestSimulateManualInsulin checks manual boluses (spread over one sample
// from their time) and basal changes (overriding the controller's basal).
func TestSimulateManualInsulin(t *testing.T) {
	cfg := baseConfig(t)
	dexcom, err := Sensor("Dexcom")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sensor = dexcom
	cfg.Boluses = []Bolus{{T: 100, Units: 3}}
	cfg.BasalChanges = []BasalChange{{T: 150, UnitsPerHour: 0}, {T: 200, UnitsPerHour: 6}}
	res, err := Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	basal := cfg.Pump.Basal(cfg.Patient.BasalRate())
	for _, tc := range []struct {
		t            float64
		basal, bolus float64
	}{
		{96, basal, 0},
		{99, basal, 2.0 / 3}, // minutes 100 and 101 of the bolus (1 U/min)
		{102, basal, 1.0 / 3},
		{105, basal, 0},
		{147, basal, 0},
		{150, 0, 0},
		{195, 0, 0},
		{198, 0.1 / 3, 0}, // minute 200 of the sample [198, 201) at 6 U/h
		{201, 0.1, 0},
		{237, 0.1, 0},
	} {
		r := res.Records[int(tc.t)/3]
		if math.Abs(r.Insulin-(tc.basal+tc.bolus)) > 1e-12 || math.Abs(r.Basal-tc.basal) > 1e-12 || math.Abs(r.Bolus-tc.bolus) > 1e-12 {
			t.Errorf("sample at %v min: insulin %v = basal %v + bolus %v U/min, want %v + %v", tc.t, r.Insulin, r.Basal, r.Bolus, tc.basal, tc.bolus)
		}
	}
	if got, want := res.TotalInsulin(), basal*150+3+0.1*40; math.Abs(got-want) > 1e-9 {
		t.Errorf("TotalInsulin = %v U, want %v", got, want)
	}
	// No basal for 50 min: glucose ends higher than without the pause.
	cfg.BasalChanges = nil
	ref, err := Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !(res.Records[70].BG > ref.Records[70].BG+0.05) {
		t.Errorf("BG %v at 210 min after a 50-min basal pause, want above %v + 0.05 without it (subcutaneous insulin lingers)", res.Records[70].BG, ref.Records[70].BG)
	}
}

// script is a Controller that asks for Default except at the observation
// times in At.
type script struct {
	Default Action
	At      map[float64]Action
}

func (s script) Act(o Observation) Action {
	if a, ok := s.At[o.T]; ok {
		return a
	}
	return s.Default
}

// TestSimulateDelivery checks Record.Basal and Record.Bolus: what the pump
// delivered for the basal and the bolus request, after quantisation and
// clipping, with controller boluses, manual boluses and basal changes, and
// Insulin = Basal + Bolus. The coarse pump makes every expected value a
// hand-computed multiple of its increments: basal in steps of 60 pmol/min
// (0.01 U/min) up to 0.05 U/min, bolus in steps of 600 pmol/min (0.1 U/min)
// up to 2 U/min; requests are kept away from exact halves of a step.
func TestSimulateDelivery(t *testing.T) {
	cfg := baseConfig(t)
	dexcom, err := Sensor("Dexcom")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sensor, cfg.Duration = dexcom, 60
	cfg.Pump = PumpParams{Name: "coarse", IncBasal: 60, MaxBasal: 0.05, IncBolus: 600, MaxBolus: 2}
	cfg.Controller = script{
		Default: Action{Basal: 0.0123}, // 73.8 pmol/min: 1.23 steps → 0.01 U/min
		At: map[float64]Action{
			9:  {Basal: 0.0123, Bolus: 0.34}, // bolus 3.4 steps → 0.3 U/min
			12: {Basal: 0.2, Bolus: 5},       // both clipped: 0.05 and 2 U/min
			15: {Basal: 0.0282},              // 2.82 steps → 0.03 U/min
			27: {Basal: 0.0123, Bolus: 0.12}, // with the manual bolus below
			39: {Basal: 0.04},                // overridden by the basal change at 34 min
		},
	}
	cfg.Boluses = []Bolus{
		{T: 21, Units: 0.9}, // 0.3 U/min over [21, 24): 3 steps
		{T: 25, Units: 0.6}, // 0.2 U/min over [25, 28)
	}
	cfg.BasalChanges = []BasalChange{
		{T: 34, UnitsPerHour: 1.3}, // 0.021667 U/min: 2.17 steps → 0.02 U/min
		{T: 45, UnitsPerHour: 6},   // 0.1 U/min, clipped to 0.05
		{T: 51, UnitsPerHour: 0},
	}
	res, err := Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		basal, bolus float64 // U/min, averaged over the sample
	}{
		{0.01, 0},       // [0, 3)
		{0.01, 0},       // [3, 6)
		{0.01, 0},       // [6, 9)
		{0.01, 0.3},     // [9, 12): controller bolus, rounded down
		{0.05, 2},       // [12, 15): both clipped to the maximum
		{0.03, 0},       // [15, 18): basal rounded up
		{0.01, 0},       // [18, 21)
		{0.01, 0.3},     // [21, 24): manual bolus
		{0.01, 0.4 / 3}, // [24, 27): manual bolus at minutes 25 and 26
		// [27, 30): minute 27 has 0.2 + 0.12 = 0.32 → 0.3 U/min; minutes 28
		// and 29 the controller's 0.12 → 0.1 U/min.
		{0.01, 0.5 / 3},
		{0.01, 0},              // [30, 33)
		{(0.01 + 0.04) / 3, 0}, // [33, 36): the change at minute 34
		{0.02, 0},              // [36, 39)
		{0.02, 0},              // [39, 42): the controller's 0.04 overridden
		{0.02, 0},              // [42, 45)
		{0.05, 0},              // [45, 48): 6 U/h clipped
		{0.05, 0},              // [48, 51)
		{0, 0},                 // [51, 54): basal off
		{0, 0},                 // [54, 57)
		{0, 0},                 // [57, 60)
	}
	if len(res.Records) != len(want)+1 {
		t.Fatalf("%d records, want %d", len(res.Records), len(want)+1)
	}
	// Tolerance: each value is a sum of three quantised rates up to 2 U/min,
	// divided by 3: a few ulps of 2, far below 1e-14.
	const tol = 1e-14
	for k, w := range want {
		r := res.Records[k]
		if math.Abs(r.Basal-w.basal) > tol || math.Abs(r.Bolus-w.bolus) > tol {
			t.Errorf("sample at %v min: basal %v, bolus %v U/min; want %v, %v", r.T, r.Basal, r.Bolus, w.basal, w.bolus)
		}
		// Insulin accumulates the per-minute sums, Basal and Bolus the parts:
		// they agree to rounding.
		if d := math.Abs(r.Insulin - (r.Basal + r.Bolus)); d > 4e-16*math.Max(1, r.Insulin) {
			t.Errorf("sample at %v min: insulin %v, basal + bolus %v", r.T, r.Insulin, r.Basal+r.Bolus)
		}
	}
	last := res.Records[len(want)]
	if !math.IsNaN(last.Basal) || !math.IsNaN(last.Bolus) {
		t.Errorf("last record basal %v, bolus %v, want NaN (nothing applied after the end)", last.Basal, last.Bolus)
	}
}

// TestSimulateDone: BG outside (10, 600) mg/dL flags the run as done at the
// first such sample, and the run goes on (as simglucose's SimObj).
func TestSimulateDone(t *testing.T) {
	cfg := baseConfig(t)
	s := PatientState{X: cfg.Patient.X0, LastQsto: 0}
	s.X[3] *= 0.05 // plasma and subcutaneous glucose at 5% of basal, about 7 mg/dL
	s.X[12] *= 0.05
	cfg.Init = &s
	res, err := Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || res.DoneT != 0 || len(res.Records) != 241 {
		t.Errorf("Done %v at %v with %d records, want done at 0 and 241 records", res.Done, res.DoneT, len(res.Records))
	}
	res, err = Simulate(baseConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.Done {
		t.Errorf("basal-only run flagged done at %v", res.DoneT)
	}
}

// TestSimulateBranch: continuing from Result.Final reproduces the run that
// was not interrupted.
func TestSimulateBranch(t *testing.T) {
	p, s, pump := mustSetup(t, "adolescent#007", "Navigator", "Insulet")
	cfg := func(dur float64, meals []Meal) Config {
		c, err := NewBasalBolus(p, BasalBolusOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return Config{Patient: p, Sensor: s, Pump: pump, Controller: c, Duration: dur, Meals: meals}
	}
	full, err := Simulate(cfg(600, []Meal{{T: 60, Carbs: 50}, {T: 400, Carbs: 60}}))
	if err != nil {
		t.Fatal(err)
	}
	first, err := Simulate(cfg(300, []Meal{{T: 60, Carbs: 50}}))
	if err != nil {
		t.Fatal(err)
	}
	second := cfg(300, []Meal{{T: 100, Carbs: 60}})
	second.Init = &first.Final
	rest, err := Simulate(second)
	if err != nil {
		t.Fatal(err)
	}
	want := full.Records[300:]
	for i := range want {
		want[i].T -= 300
	}
	if diff := cmp.Diff(want[:len(want)-1], rest.Records[:len(rest.Records)-1]); diff != "" {
		t.Errorf("continued run differs (-uninterrupted +continued):\n%s", diff)
	}
	if rest.Final.T != 600 || rest.Final.X != full.Final.X {
		t.Errorf("Final: T %v, X differs: %v", rest.Final.T, rest.Final.X != full.Final.X)
	}
}

// TestSimulateAllocations: the work per simulated minute allocates nothing.
func TestSimulateAllocations(t *testing.T) {
	allocs := func(dur float64) float64 {
		cfg := baseConfig(t)
		c, err := NewBasalBolus(cfg.Patient, BasalBolusOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Controller, cfg.Duration, cfg.Meals = c, dur, standardDay
		return testing.AllocsPerRun(3, func() {
			if _, err := Simulate(cfg); err != nil {
				t.Fatal(err)
			}
		})
	}
	day, week := allocs(1440), allocs(7*1440)
	// One or two may come from the runtime (a GC cycle during the longer run).
	if week > day+2 || day > 20 {
		t.Errorf("allocations per run: %v for a day, %v for a week; want the same small number", day, week)
	}
}
