package t1d

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Bolus is a manual insulin bolus given in addition to the controller.
type Bolus struct {
	T     float64 // minutes after the start of the run, a whole minute
	Units float64 // U
}

// BasalChange sets the basal rate from time T on, overriding the
// controller's basal request until the next change.
type BasalChange struct {
	T            float64 // minutes after the start of the run, a whole minute
	UnitsPerHour float64 // U/h
}

// Config describes one simulation run (simglucose's T1DSimEnv + SimObj).
type Config struct {
	Patient    Params       // the virtual patient
	Sensor     SensorParams // its CGM; the sample time sets the control period
	Noise      NoiseSource  // CGM noise; nil means a noiseless sensor
	Pump       PumpParams   // the insulin pump
	Controller Controller   // decides basal and bolus each sensor sample; required

	Meals        []Meal        // announced carbohydrate, at whole minutes in [0, Duration)
	Boluses      []Bolus       // manual boluses, at whole minutes in [0, Duration)
	BasalChanges []BasalChange // basal overrides, at whole minutes in [0, Duration)

	Duration float64 // minutes; a positive multiple of the sensor sample time

	Method Method // integration of the patient ODE; the zero value is the default

	// Init, if not nil, is the patient state to start from instead of the
	// initial state of the parameter file (for example a snapshot of an
	// earlier run, to branch a what-if). Its time is taken as the start of
	// this run: the times in Meals, Boluses and BasalChanges stay relative
	// to the start of the run, and so does Record.T.
	Init *PatientState

	// KeepStates records the 13 ODE states at every sensor sample in
	// Result.States.
	KeepStates bool
}

// Record is one row of a run's history, one per sensor sample, as in
// simglucose's env.show_history() with plasma glucose added.
//
// BG and CGM are averages over the sensor sample that ends at T (exact
// values at 1-min sampling); CHO, Insulin, Basal and Bolus are the averages
// over the sample that starts at T, so they are NaN on the last row, where
// nothing more was applied.
//
// Basal and Bolus split Insulin into what the pump delivered for the basal
// request (the controller's, or the BasalChange in force) and for the bolus
// request (the controller's plus manual boluses), each after the pump's
// quantisation and clipping (PumpParams.Basal, PumpParams.Bolus). Insulin is
// accumulated from their per-minute sum, so Insulin equals Basal + Bolus up
// to rounding (a few ulps), not necessarily bit for bit.
type Record struct {
	T        float64 // minutes after the start of the run
	BG       float64 // subcutaneous glucose Gs/Vg (simglucose "BG"), mg/dL
	CGM      float64 // sensor reading, mg/dL
	CHO      float64 // announced carbohydrate, g/min
	Insulin  float64 // delivered insulin (basal + bolus after the pump), U/min
	Basal    float64 // delivered basal insulin, U/min
	Bolus    float64 // delivered bolus insulin, U/min
	LBGI     float64 // low blood-glucose risk of BG (Risk)
	HBGI     float64 // high blood-glucose risk of BG
	Risk     float64 // blood-glucose risk of BG
	PlasmaBG float64 // plasma glucose Gp/Vg at T, mg/dL
}

// Result is the outcome of Simulate.
type Result struct {
	Records []Record             // one per sensor sample, at T = 0, SampleTime, …, Duration
	States  [][NumStates]float64 // the ODE state at each Record, if Config.KeepStates
	Final   PatientState         // the patient at the end of the run, to continue or branch from

	// Done reports that BG left (10, 600) mg/dL at some sample, the
	// condition simglucose's env flags as done; DoneT is the first such
	// time (min). Like simglucose's SimObj the run goes on to Duration:
	// the records after DoneT describe a model outside the range it was
	// built for.
	Done  bool
	DoneT float64
}

// TotalInsulin returns the insulin delivered during the run, U.
func (r Result) TotalInsulin() float64 {
	tot := 0.0
	for i := 1; i < len(r.Records); i++ {
		tot += r.Records[i-1].Insulin * (r.Records[i].T - r.Records[i-1].T)
	}
	return tot
}

// TotalCarbs returns the carbohydrate announced during the run, g.
func (r Result) TotalCarbs() float64 {
	tot := 0.0
	for i := 1; i < len(r.Records); i++ {
		tot += r.Records[i-1].CHO * (r.Records[i].T - r.Records[i-1].T)
	}
	return tot
}

// event is a meal, bolus or basal change at minute t.
type event struct {
	t int
	v float64
}

// events validates and sorts timed inputs; what names them in errors.
func events(what string, n, duration int, at func(i int) (t, v float64), allowZero bool) ([]event, error) {
	out := make([]event, 0, n)
	for i := range n {
		t, v := at(i)
		if !finite(t) || t != math.Trunc(t) || t < 0 || int(t) >= duration {
			return nil, fmt.Errorf("t1d: %s %d: time %v min, want a whole minute in [0, %d)", what, i+1, t, duration)
		}
		if !finite(v) || v < 0 || (v == 0 && !allowZero) {
			return nil, fmt.Errorf("t1d: %s %d at %v min: amount %v, want a finite value > 0", what, i+1, t, v)
		}
		out = append(out, event{int(t), v})
	}
	slices.SortStableFunc(out, func(a, b event) int { return cmp.Compare(a.t, b.t) })
	return out, nil
}

// Simulate runs cfg as simglucose's SimObj.simulate does (MODEL.md §7):
// after a reset that reads the sensor at t = 0, it repeats, once per sensor
// sample, controller → pump → one-minute patient steps → sensor, until
// Duration.
//
// Each minute the patient receives the meals announced at that minute (two
// meals at the same minute add up; simglucose would keep only the first) and
// the pump delivers Basal(basal request) + Bolus(bolus request), where the
// basal request is the controller's unless a BasalChange overrides it, and
// the bolus request is the controller's plus Units/SampleTime for each manual
// bolus given during the last SampleTime minutes (a manual bolus is spread
// over one sample, like the controller's). Records report the two delivered
// parts as Basal and Bolus and their sum as Insulin.
//
// The controller's first observation has the t = 0 reading and Meal = 0.
// With noise, the sensor is read twice at t = 0 as in simglucose's
// env.reset(): the first reading goes to Records[0], the second to the
// controller; without noise the two are equal and the sensor is read once.
func Simulate(cfg Config) (Result, error) {
	if cfg.Controller == nil {
		return Result{}, fmt.Errorf("t1d: config has no Controller")
	}
	if err := cfg.Pump.validate(); err != nil {
		return Result{}, err
	}
	sensor, err := NewCGM(cfg.Sensor, cfg.Noise)
	if err != nil {
		return Result{}, err
	}
	st := int(cfg.Sensor.SampleTime)
	if !finite(cfg.Duration) || cfg.Duration <= 0 || cfg.Duration != math.Trunc(cfg.Duration) || int(cfg.Duration)%st != 0 {
		return Result{}, fmt.Errorf("t1d: Duration = %v min, want a positive multiple of the sensor sample time %d min", cfg.Duration, st)
	}
	if cfg.Duration > 100*365*24*60 {
		return Result{}, fmt.Errorf("t1d: Duration = %v min, want at most 100 years", cfg.Duration)
	}
	dur := int(cfg.Duration)
	meals, err := events("meal", len(cfg.Meals), dur, func(i int) (float64, float64) { return cfg.Meals[i].T, cfg.Meals[i].Carbs }, false)
	if err != nil {
		return Result{}, err
	}
	boluses, err := events("bolus", len(cfg.Boluses), dur, func(i int) (float64, float64) { return cfg.Boluses[i].T, cfg.Boluses[i].Units }, false)
	if err != nil {
		return Result{}, err
	}
	basals, err := events("basal change", len(cfg.BasalChanges), dur, func(i int) (float64, float64) {
		return cfg.BasalChanges[i].T, cfg.BasalChanges[i].UnitsPerHour
	}, true)
	if err != nil {
		return Result{}, err
	}
	pat, err := NewPatientModel(cfg.Patient, cfg.Method)
	if err != nil {
		return Result{}, err
	}
	if cfg.Init != nil {
		s := *cfg.Init
		s.T = 0
		if err := pat.SetState(s); err != nil {
			return Result{}, err
		}
	}

	n := dur / st
	res := Result{Records: make([]Record, n+1)}
	if cfg.KeepStates {
		res.States = make([][NumStates]float64, n+1)
	}
	record := func(k int, bg, cgm float64) {
		r := &res.Records[k]
		r.T = float64(k * st)
		r.BG, r.CGM = bg, cgm
		r.LBGI, r.HBGI, r.Risk = Risk(bg)
		r.PlasmaBG = pat.PlasmaBG()
		if cfg.KeepStates {
			res.States[k] = pat.X()
		}
		if !res.Done && (bg < 10 || bg > 600) {
			res.Done, res.DoneT = true, r.T
		}
	}

	bg := pat.BG()
	cgm := sensor.Measure(0, bg)
	record(0, bg, cgm)
	if cfg.Noise != nil {
		cgm = sensor.Measure(0, bg)
	}
	obs := Observation{T: 0, CGM: cgm, Meal: 0, SampleTime: float64(st)}

	sampleTime := float64(st)
	var mi, bi, ci int     // next meal, bolus, basal change
	var bolusEnd []event   // manual boluses in progress: rate and end minute
	override := math.NaN() // basal override, U/min; NaN: none
	for k := range n {
		act := cfg.Controller.Act(obs)
		if !finite(act.Basal) || !finite(act.Bolus) {
			return Result{}, fmt.Errorf("t1d: controller returned basal %v, bolus %v U/min at t = %v min, want finite rates", act.Basal, act.Bolus, obs.T)
		}
		var cho, ins, bas, bol, bgSum, cgmSum float64
		for j := range st {
			m := k*st + j
			announced := 0.0
			for ; mi < len(meals) && meals[mi].t == m; mi++ {
				announced += meals[mi].v
			}
			for ; bi < len(boluses) && boluses[bi].t == m; bi++ {
				bolusEnd = append(bolusEnd, event{t: m + st, v: boluses[bi].v / sampleTime})
			}
			for ; ci < len(basals) && basals[ci].t == m; ci++ {
				override = basals[ci].v / 60
			}
			basalReq, bolusReq := act.Basal, act.Bolus
			if !math.IsNaN(override) {
				basalReq = override
			}
			if len(bolusEnd) > 0 {
				live := bolusEnd[:0]
				for _, b := range bolusEnd {
					if b.t > m {
						bolusReq += b.v
						live = append(live, b)
					}
				}
				bolusEnd = live
			}
			basal, bolus := cfg.Pump.Basal(basalReq), cfg.Pump.Bolus(bolusReq)
			insulin := basal + bolus
			if err := pat.Step(announced, insulin); err != nil {
				return Result{}, err
			}
			g := pat.BG()
			c := sensor.Measure(float64(m+1), g)
			cho += announced / sampleTime
			ins += insulin / sampleTime
			bas += basal / sampleTime
			bol += bolus / sampleTime
			bgSum += g / sampleTime
			cgmSum += c / sampleTime
		}
		r := &res.Records[k]
		r.CHO, r.Insulin, r.Basal, r.Bolus = cho, ins, bas, bol
		record(k+1, bgSum, cgmSum)
		obs = Observation{T: float64((k + 1) * st), CGM: cgmSum, Meal: cho, SampleTime: sampleTime}
	}
	last := &res.Records[n]
	last.CHO, last.Insulin, last.Basal, last.Bolus = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	res.Final = pat.State()
	if cfg.Init != nil {
		res.Final.T += cfg.Init.T
	}
	return res, nil
}
