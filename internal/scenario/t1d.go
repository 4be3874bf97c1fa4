package scenario

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/doppelhealth/doppel/model/t1d"
)

// t1dController is a controller a t1d scenario may name: its settings and
// how to build it for one patient.
type t1dController struct {
	spec  ControllerSpec
	build func(p t1d.Params, set map[string]float64) (t1d.Controller, error)
}

// scaleSetting is a multiplier of a patient parameter, 1 by default.
func scaleSetting(name, doc string) Setting {
	return Setting{Name: name, Unit: "", Doc: doc, Default: 1, Min: 0.1, Max: 10}
}

// t1dControllers lists the controllers of model/t1d by scenario name.
func t1dControllers() []t1dController {
	return []t1dController{
		{
			spec: ControllerSpec{
				Name: "basal-bolus",
				Doc:  "simglucose's BBController: the patient's basal rate, and a meal bolus CHO/CR (+ (CGM-target)/CF when CGM > 150 mg/dL) one sample after each meal",
				Settings: []Setting{
					{Name: "target", Unit: "mg/dL", Doc: "correction target", Default: t1d.DefaultTarget, Min: 70, Max: 300},
					scaleSetting("cr_scale", "multiplies the patient's carbohydrate ratio CR (g/U)"),
					scaleSetting("cf_scale", "multiplies the patient's correction factor CF (mg/dL/U)"),
					scaleSetting("basal_scale", "multiplies the patient's basal rate"),
				},
			},
			build: func(p t1d.Params, set map[string]float64) (t1d.Controller, error) {
				return t1d.NewBasalBolus(p, t1d.BasalBolusOptions{
					Target: set["target"], CRScale: set["cr_scale"], CFScale: set["cf_scale"], BasalScale: set["basal_scale"],
				})
			},
		},
		pidController("pid", "closed loop: PID feedback on CGM around the patient's basal rate, no meal boluses (a reference controller, not a clinical algorithm)", false),
		pidController("hybrid-pid", "hybrid closed loop: the pid controller plus a meal bolus CHO/CR one sample after each meal", true),
		{
			spec: ControllerSpec{
				Name:     "basal",
				Doc:      "open loop: the patient's basal rate only, no automatic boluses (give boluses and basal changes in the scenario)",
				Settings: []Setting{scaleSetting("basal_scale", "multiplies the patient's basal rate")},
			},
			build: func(p t1d.Params, set map[string]float64) (t1d.Controller, error) {
				return basalOnly{rate: p.BasalRate() * set["basal_scale"]}, nil
			},
		},
	}
}

// pidController is t1d's PID controller, with meal boluses or without.
// Its gains are t1d.DefaultPIDGains (scaled to the patient's correction
// factor) times gain_scale.
func pidController(name, doc string, mealBolus bool) t1dController {
	return t1dController{
		spec: ControllerSpec{
			Name: name,
			Doc:  doc,
			Settings: []Setting{
				{Name: "target", Unit: "mg/dL", Doc: "glucose set point", Default: t1d.DefaultPIDTarget, Min: 70, Max: 300},
				{Name: "gain_scale", Doc: "multiplies the default gains KP = 1/(CF·240 min), KI = KP/600 min, KD = KP·120 min", Default: 1, Min: 0, Max: 10},
				{Name: "max_basal_factor", Doc: "upper limit of the delivered rate, in multiples of the patient's basal rate", Default: t1d.DefaultPIDMaxBasalFactor, Min: 1, Max: 20},
			},
		},
		build: func(p t1d.Params, set map[string]float64) (t1d.Controller, error) {
			g := t1d.DefaultPIDGains(p)
			k := set["gain_scale"]
			g.KP, g.KI, g.KD = k*g.KP, k*g.KI, k*g.KD
			return t1d.NewPID(p, t1d.PIDSettings{
				Target: set["target"], Gains: &g, MaxRate: set["max_basal_factor"] * p.BasalRate(), MealBolus: mealBolus,
			})
		},
	}
}

// basalOnly delivers a constant basal rate (U/min) and no bolus.
type basalOnly struct{ rate float64 }

func (c basalOnly) Act(t1d.Observation) t1d.Action { return t1d.Action{Basal: c.rate} }

// T1D returns the catalog of the type-1 diabetes model (model/t1d): its 30
// virtual patients, sensors, pumps and controllers.
func T1D() Catalog {
	cat := Catalog{Model: "t1d", Patients: t1d.Patients(), Pumps: t1d.Pumps()}
	for _, name := range t1d.Sensors() {
		sp, err := t1d.Sensor(name)
		if err != nil {
			panic(err) // t1d.Sensors lists the names t1d.Sensor accepts
		}
		cat.Sensors = append(cat.Sensors, SensorSpec{Name: name, SampleTime: time.Duration(sp.SampleTime * float64(time.Minute))})
	}
	for _, c := range t1dControllers() {
		cat.Controllers = append(cat.Controllers, c.spec)
	}
	return cat
}

// NoiseStream is the PCG stream of the sensor-noise generator: the noise of
// a scenario with seed s is drawn from rand.NewPCG(s, NoiseStream).
const NoiseStream = 1

// T1DConfig builds the model/t1d run of s, a scenario decoded with the
// catalog [T1D]. Meals and boluses of zero size are left out (they change
// nothing). Method, Init and KeepStates are left to the caller.
func (s *Scenario) T1DConfig() (t1d.Config, error) {
	if s.Model != "t1d" {
		return t1d.Config{}, fmt.Errorf("scenario: %s: model %q is not t1d", s.File, s.Model)
	}
	p, err := t1d.Patient(s.Patient)
	if err != nil {
		return t1d.Config{}, fmt.Errorf("scenario: %s: %w", s.File, err)
	}
	sp, err := t1d.Sensor(s.Sensor.Name)
	if err != nil {
		return t1d.Config{}, fmt.Errorf("scenario: %s: %w", s.File, err)
	}
	pp, err := t1d.Pump(s.Pump)
	if err != nil {
		return t1d.Config{}, fmt.Errorf("scenario: %s: %w", s.File, err)
	}
	ctrl, err := T1DController(p, s.Controller)
	if err != nil {
		return t1d.Config{}, fmt.Errorf("%s: %w", s.File, err)
	}
	cfg := t1d.Config{
		Patient:    p,
		Sensor:     sp,
		Pump:       pp,
		Controller: ctrl,
		Duration:   s.Duration.Minutes(),
	}
	if s.Sensor.Noise {
		cfg.Noise = t1d.NewNoise(sp, rand.New(rand.NewPCG(s.Seed, NoiseStream)))
	}
	for _, m := range s.Meals {
		if m.Carbs > 0 {
			cfg.Meals = append(cfg.Meals, t1d.Meal{T: s.Minutes(m.At), Carbs: m.Carbs})
		}
	}
	for _, b := range s.Boluses {
		if b.Units > 0 {
			cfg.Boluses = append(cfg.Boluses, t1d.Bolus{T: s.Minutes(b.At), Units: b.Units})
		}
	}
	for _, b := range s.Basal {
		cfg.BasalChanges = append(cfg.BasalChanges, t1d.BasalChange{T: s.Minutes(b.At), UnitsPerHour: b.Rate})
	}
	return cfg, nil
}
