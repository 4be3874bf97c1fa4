package scenario

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/model/t1d"
)

// trialCatalog is a catalog shaped like the t1d one, kept here so that these
// tests do not depend on the model package.
func trialCatalog() Catalog {
	var patients []string
	for _, g := range []string{"adolescent", "adult", "child"} {
		for i := 1; i <= 10; i++ {
			patients = append(patients, fmt.Sprintf("%s#%03d", g, i))
		}
	}
	return Catalog{
		Model:    "t1d",
		Patients: patients,
		Sensors:  []SensorSpec{{"Dexcom", 3 * time.Minute}, {"GuardianRT", 5 * time.Minute}, {"Navigator", time.Minute}, {"Odd", 7 * time.Minute}},
		Pumps:    []string{"Cozmo", "Insulet"},
		Controllers: []ControllerSpec{
			{Name: "basal-bolus", Settings: []Setting{{Name: "target", Unit: "mg/dL", Default: 140, Min: 70, Max: 300}}},
			{Name: "pid", Settings: []Setting{{Name: "target", Unit: "mg/dL", Default: 140, Min: 70, Max: 300}, {Name: "kp", Default: 1e-4, Min: 0, Max: 1}}},
		},
	}
}

const trialHead = `model: t1d
days: 2
cohort: adults
sensor: GuardianRT
pump: Insulet
`

func TestParseTrialGood(t *testing.T) {
	cat := trialCatalog()
	adults := cat.Groups()["adults"]
	random := MealPlan{Plan: PlanRandom, Scale: 1}
	for _, tc := range []struct {
		name, src string
		want      *Trial
	}{
		{"minimal", trialHead + "arms: [{controller: basal-bolus}]\n", &Trial{
			File: "t.yaml", Model: "t1d", Name: "t.yaml", Seed: DefaultSeed, Days: 2, Cohort: adults,
			Sensor: Sensor{Name: "GuardianRT", Noise: true}, Pump: "Insulet", Glucose: GlucoseBG,
			Arms: []Arm{{Name: "basal-bolus", Controller: Controller{Name: "basal-bolus", Settings: map[string]float64{"target": 140}}, Meals: random}},
		}},
		{"full", `# every field
model: T1D
name: BB vs PID
seed: 42
days: 365
cohort: [children, "adult#003", ADOLESCENT#010]
sensor: {name: dexcom, noise: false}
pump: {name: Cozmo}
glucose: cgm
meals: {plan: random, scale: 1.1}
arms:
  - name: standard
    controller: {name: basal-bolus, target: 120}
  - name: pid
    controller: {name: pid, kp: 0.001}
    meals:
      daily:
        - {at: "18:00", carbs: 80}
        - {at: "7:05", carbs: 45}
  - name: fasting
    controller: basal-bolus
    meals: none
  - name: more
    controller: basal-bolus
    meals: {scale: 2}
`, &Trial{
			File: "t.yaml", Model: "t1d", Name: "BB vs PID", Seed: 42, Days: 365,
			Cohort: append(append(cat.Groups()["child"], "adult#003"), "adolescent#010"),
			Sensor: Sensor{Name: "Dexcom"}, Pump: "Cozmo", Glucose: GlucoseCGM,
			Arms: []Arm{
				{Name: "standard", Controller: Controller{Name: "basal-bolus", Settings: map[string]float64{"target": 120}}, Meals: MealPlan{Plan: PlanRandom, Scale: 1.1}},
				{Name: "pid", Controller: Controller{Name: "pid", Settings: map[string]float64{"target": 140, "kp": 0.001}},
					Meals: MealPlan{Plan: PlanDaily, Scale: 1.1, Daily: []DailyMeal{{7*60 + 5, 45}, {18 * 60, 80}}}},
				{Name: "fasting", Controller: Controller{Name: "basal-bolus", Settings: map[string]float64{"target": 140}}, Meals: MealPlan{Plan: PlanNone, Scale: 1.1}},
				{Name: "more", Controller: Controller{Name: "basal-bolus", Settings: map[string]float64{"target": 140}}, Meals: MealPlan{Plan: PlanRandom, Scale: 2}},
			},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTrial("t.yaml", []byte(tc.src), cat)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseTrial (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTrialBad(t *testing.T) {
	arms := "arms: [{controller: basal-bolus}]\n"
	for _, tc := range []struct {
		name, src, want string
	}{
		{"empty", "", "t.yaml: empty file: expected a mapping of trial fields (model, cohort, days, arms, ...)"},
		{"not mapping", "- 1\n", "t.yaml:1: expected a mapping of trial fields"},
		{"malformed", "model: t1d\ndays: [1\n", "malformed YAML"},
		{"unknown field", trialHead + "dayz: 3\n" + arms, "t.yaml:6: dayz: unknown field"},
		{"unknown field suggestion", trialHead + "seeds: 3\n" + arms, "t.yaml:6: seeds: unknown field (did you mean seed?)"},
		{"missing days", "model: t1d\ncohort: all\nsensor: Dexcom\npump: Insulet\n" + arms, "t.yaml:1: days: missing; add it, e.g. days: 7"},
		{"missing arms", trialHead, "t.yaml:1: arms: missing"},
		{"days zero", strings.Replace(trialHead, "days: 2", "days: 0", 1) + arms, "t.yaml:2: days: must be between 1 and 3660, got 0"},
		{"days fraction", strings.Replace(trialHead, "days: 2", "days: 1.5", 1) + arms, "t.yaml:2: days: must be a whole number, got the number 1.5"},
		{"days huge", strings.Replace(trialHead, "days: 2", "days: 100000", 1) + arms, "days: must be between 1 and 3660"},
		{"unknown patient", strings.Replace(trialHead, "cohort: adults", `cohort: "adult#011"`, 1) + arms, `t.yaml:3: cohort: unknown patient or group "adult#011"; valid groups: adolescent, adolescents, adult, adults, all, child, children`},
		{"unknown group in list", strings.Replace(trialHead, "cohort: adults", "cohort: [adults, seniors]", 1) + arms, `t.yaml:3: cohort[1]: unknown patient or group "seniors"`},
		{"duplicate patient", strings.Replace(trialHead, "cohort: adults", "cohort:\n  - adults\n  - adult#002\n", 1) + arms, `t.yaml:5: cohort[1]: adult#002 is already in the cohort (from cohort[0] "adults" on line 4)`},
		{"empty cohort", strings.Replace(trialHead, "cohort: adults", "cohort: []", 1) + arms, "t.yaml:3: cohort: must name at least one patient"},
		{"unknown sensor", strings.Replace(trialHead, "GuardianRT", "Libre", 1) + arms, `t.yaml:4: sensor: unknown sensor "Libre"`},
		{"sensor not dividing a day", strings.Replace(trialHead, "GuardianRT", "Odd", 1) + arms, "t.yaml:4: sensor: the Odd sensor's sample time (7 min) does not divide a day"},
		{"unknown pump", strings.Replace(trialHead, "Insulet", "Omnipod", 1) + arms, `t.yaml:5: pump: unknown pump "Omnipod"`},
		{"glucose", trialHead + "glucose: plasma\n" + arms, `t.yaml:6: glucose: unknown glucose signal "plasma"; valid: BG, CGM`},
		{"seed", trialHead + "seed: -1\n" + arms, "t.yaml:6: seed: must be a whole number >= 0"},
		{"arms empty", trialHead + "arms: []\n", "t.yaml:6: arms: must have at least one arm"},
		{"arms mapping", trialHead + "arms: {controller: pid}\n", "t.yaml:6: arms: must be a list"},
		{"arm unknown field", trialHead + "arms:\n  - controller: pid\n    cr: 2\n", "t.yaml:8: arms[0].cr: unknown field"},
		{"arm missing controller", trialHead + "arms:\n  - name: x\n", "t.yaml:7: arms[0].controller: missing"},
		{"arm unknown controller", trialHead + "arms:\n  - controller: mpc\n", `t.yaml:7: arms[0].controller: unknown controller "mpc"`},
		{"arm controller setting", trialHead + "arms:\n  - controller: {name: basal-bolus, kp: 1}\n", "t.yaml:7: arms[0].controller.kp: unknown setting of the basal-bolus controller"},
		{"arm controller range", trialHead + "arms:\n  - controller: {name: pid, target: 20}\n", "t.yaml:7: arms[0].controller.target: must be >= 70 mg/dL, got 20"},
		{"arm duplicate name", trialHead + "arms:\n  - controller: pid\n  - controller: pid\n", `t.yaml:8: arms[1].name: arm name "pid" already used on line 7`},
		{"arm scale outside controller", trialHead + "arms:\n  - controller: pid\n    cr_scale: 0.8\n", "t.yaml:8: arms[0].cr_scale: unknown field"},
		{"arm controller string setting", trialHead + "arms:\n  - controller: {name: pid, kp: big}\n", `t.yaml:7: arms[0].controller.kp: must be a number, got the string "big"`},
		{"meal plan unknown", trialHead + "meals: buffet\n" + arms, `t.yaml:6: meals: unknown meal plan "buffet"; valid: random, daily, none`},
		{"meal plan daily scalar", trialHead + "meals: daily\n" + arms, "t.yaml:6: meals: plan daily needs its meals"},
		{"daily without meals", trialHead + "meals: {plan: daily}\n" + arms, "t.yaml:6: meals.daily: missing"},
		{"daily on random", trialHead + "meals: {plan: random, daily: []}\n" + arms, "t.yaml:6: meals.daily: only for plan daily"},
		{"daily bare time", trialHead + "meals:\n  daily: [{at: 7, carbs: 45}]\n" + arms, "t.yaml:7: meals.daily[0].at: must be a clock time"},
		{"daily bad time", trialHead + "meals:\n  daily: [{at: \"24:00\", carbs: 45}]\n" + arms, `t.yaml:7: meals.daily[0].at: must be a clock time such as "07:00" (quote it) between 00:00 and 23:59, got "24:00"`},
		{"daily negative carbs", trialHead + "meals:\n  daily: [{at: \"07:00\", carbs: -5}]\n" + arms, "t.yaml:7: meals.daily[0].carbs: must be >= 0 g, got -5"},
		{"daily missing carbs", trialHead + "meals:\n  daily:\n    - {at: \"07:00\"}\n" + arms, "t.yaml:8: meals.daily[0].carbs: missing"},
		{"daily same time", trialHead + "meals:\n  daily:\n    - {at: \"07:00\", carbs: 5}\n    - {at: \"7:00\", carbs: 5}\n" + arms, "t.yaml:9: meals.daily[1].at: same time as the meal on line 8"},
		{"arm meals scale", trialHead + "arms:\n  - controller: pid\n    meals: {scale: 11}\n", "t.yaml:8: arms[0].meals.scale: must be <= 10, got 11"},
		{"earliest error wins", "model: t1d\ndays: -1\ncohort: nobody\nsensor: Dexcom\npump: Insulet\n" + arms, "t.yaml:2: days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTrial("t.yaml", []byte(tc.src), trialCatalog())
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if _, ok := err.(*Error); !ok {
				t.Errorf("error %T, want *Error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n%s\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

func TestGroups(t *testing.T) {
	g := trialCatalog().Groups()
	for _, tc := range []struct {
		group string
		n     int
		first string
	}{
		{"all", 30, "adolescent#001"}, {"adults", 10, "adult#001"}, {"adult", 10, "adult#001"},
		{"children", 10, "child#001"}, {"adolescents", 10, "adolescent#001"},
	} {
		if len(g[tc.group]) != tc.n || g[tc.group][0] != tc.first {
			t.Errorf("group %s = %v, want %d patients from %s", tc.group, g[tc.group], tc.n, tc.first)
		}
	}
}

func FuzzParseTrial(f *testing.F) {
	f.Add([]byte(trialHead + "arms: [{controller: basal-bolus}]\n"))
	f.Add([]byte(trialHead + "meals:\n  daily: [{at: \"07:00\", carbs: 45}]\narms:\n  - {name: a, controller: {name: pid, kp: 0.1}}\n"))
	cat := trialCatalog()
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseTrial("f.yaml", data, cat)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T, want *Error: %v", err, err)
			}
			return
		}
		if tr.Days < 1 || len(tr.Cohort) == 0 || len(tr.Arms) == 0 {
			t.Fatalf("accepted an incomplete trial: %+v", tr)
		}
		for _, a := range tr.Arms {
			if a.Name == "" || a.Controller.Name == "" || a.Meals.Scale < 0 {
				t.Fatalf("accepted arm %+v", a)
			}
		}
	})
}

func TestT1DController(t *testing.T) {
	p, err := t1d.Patient("adult#001")
	if err != nil {
		t.Fatal(err)
	}
	// A 1-min sample with 45 g announced and CGM 200 mg/dL: the scaled
	// controller must act as t1d's own basal-bolus with the same options.
	obs := t1d.Observation{T: 60, CGM: 200, Meal: 45, SampleTime: 1}
	got, err := T1DController(p, Controller{Name: "basal-bolus", Settings: map[string]float64{"cr_scale": 0.8, "target": 120}})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := t1d.NewBasalBolus(p, t1d.BasalBolusOptions{CRScale: 0.8, Target: 120})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := got.Act(obs), ref.Act(obs); a != b {
		t.Errorf("T1DController acts %+v, want %+v", a, b)
	}
	// Settings not given take their defaults (cf_scale 1, basal_scale 1).
	if a := got.Act(obs); a.Bolus != 45/(0.8*p.CR)+(200-120)/p.CF {
		t.Errorf("bolus %v U/min, want %v", a.Bolus, 45/(0.8*p.CR)+(200-120)/p.CF)
	}
	if _, err := T1DController(p, Controller{Name: "mpc"}); err == nil || err.Error() != `scenario: unknown controller "mpc"` {
		t.Errorf("unknown controller: error %v", err)
	}
}
