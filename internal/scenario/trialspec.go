package scenario

// Trial files: the in-silico trial schema read by `doppel trial`. They share
// the strict decoder of scenario files (line-numbered errors, unknown-field
// suggestions, sensor, pump and controller decoding).

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/doppelhealth/doppel/model/t1d"
)

// Limits of a trial file.
const (
	MaxTrialDays = 3660 // about ten years, as MaxDuration
	MaxArms      = 100
	MaxScale     = 10.0 // largest carbohydrate scale factor of a meal plan
)

// Meal plans of a trial arm.
const (
	PlanRandom = "random" // simglucose's RandomScenario, a new draw every day
	PlanDaily  = "daily"  // the same meals every day
	PlanNone   = "none"   // no meals
)

// Glucose signals a trial's metrics and profiles may use.
const (
	GlucoseBG  = "BG"  // the patient's glucose as simglucose reports it (subcutaneous)
	GlucoseCGM = "CGM" // the sensor's readings
)

// Trial is a decoded and validated trial file.
type Trial struct {
	File    string
	Model   string
	Name    string   // title for tables and plots; the file name if not given
	Seed    uint64   // seeds every random draw of the trial
	Days    int      // length of each run, in days from midnight
	Cohort  []string // the patients, canonical names, in the order given
	Sensor  Sensor
	Pump    string
	Glucose string // GlucoseBG or GlucoseCGM: the signal metrics and profiles use
	Arms    []Arm
}

// Arm is one arm of a trial: a controller with its settings (therapy
// changes such as a scaled carbohydrate ratio are controller settings, e.g.
// {name: basal-bolus, cr_scale: 0.8}) and a meal plan.
type Arm struct {
	Name       string
	Controller Controller
	Meals      MealPlan
}

// MealPlan says what a patient eats each day of a trial.
type MealPlan struct {
	Plan  string      // PlanRandom, PlanDaily or PlanNone
	Scale float64     // multiplies the carbohydrate of every meal (1: unchanged)
	Daily []DailyMeal // the meals of every day, for PlanDaily, in time order
}

// DailyMeal is a meal at a clock time, every day.
type DailyMeal struct {
	Minute int     // minutes after midnight, 0-1439
	Carbs  float64 // g
}

// LoadTrial reads and parses the trial file at path.
func LoadTrial(path string, cat Catalog) (*Trial, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return ParseTrial(path, data, cat)
}

// ParseTrial decodes and validates a trial file. file is used in error
// messages only. The error, if any, is an *Error.
func ParseTrial(file string, data []byte, cat Catalog) (*Trial, error) {
	d := &decoder{file: file, cat: cat}
	root, err := d.document(data)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			// The shared document reader speaks of scenario fields.
			e.Msg = strings.Replace(e.Msg, "scenario fields (model, patient, start, ...)", "trial fields (model, cohort, days, arms, ...)", 1)
		}
		return nil, err
	}
	t := d.trial(root)
	if err := d.first(); err != nil {
		return nil, err
	}
	return t, nil
}

// trialFields are the fields of a trial file, in documentation order.
var trialFields = []string{"model", "name", "seed", "days", "cohort", "sensor", "pump", "glucose", "meals", "arms"}

// trial decodes the root mapping of a trial file.
func (d *decoder) trial(root *yaml.Node) *Trial {
	f := d.fields(root, "", trialFields)
	t := &Trial{File: d.file, Seed: DefaultSeed, Glucose: GlucoseBG}
	if n, ok := d.required(root, f, "model", "model: "+d.cat.Model); ok {
		t.Model = d.model(n)
	}
	if p, ok := f["name"]; ok {
		t.Name, _ = d.str(p.val, "name", "a title")
	}
	if p, ok := f["seed"]; ok {
		d.seed(p.val, &t.Seed)
	}
	if n, ok := d.required(root, f, "days", "days: 7"); ok {
		t.Days, _ = d.wholeNumber(n, "days", 1, MaxTrialDays)
	}
	if n, ok := d.required(root, f, "cohort", "cohort: all (or adults, adolescents, children, or a list of patients)"); ok {
		t.Cohort = d.cohort(n)
	}
	if n, ok := d.required(root, f, "sensor", "sensor: {name: GuardianRT, noise: true}"); ok {
		t.Sensor = d.sensor(n)
		for _, spec := range d.cat.Sensors {
			if spec.Name == t.Sensor.Name && spec.SampleTime > 0 && int64(24*time.Hour)%int64(spec.SampleTime) != 0 {
				d.errorf(n, "sensor", "the %s sensor's sample time (%s) does not divide a day", spec.Name, fmtDuration(spec.SampleTime))
			}
		}
	}
	if n, ok := d.required(root, f, "pump", "pump: Insulet"); ok {
		t.Pump = d.pump(n)
	}
	if p, ok := f["glucose"]; ok {
		t.Glucose, _ = d.name(p.val, "glucose", "glucose signal", []string{GlucoseBG, GlucoseCGM})
	}
	plan := MealPlan{Plan: PlanRandom, Scale: 1}
	if p, ok := f["meals"]; ok {
		plan = d.mealPlan(p.val, "meals", MealPlan{Plan: PlanRandom, Scale: 1})
	}
	if n, ok := d.required(root, f, "arms", "arms: [{name: standard, controller: basal-bolus}]"); ok {
		t.Arms = d.arms(n, plan)
	}
	if t.Name == "" {
		t.Name = d.file
	}
	return t
}

// wholeNumber decodes an integer in [lo, hi].
func (d *decoder) wholeNumber(n *yaml.Node, field string, lo, hi int) (int, bool) {
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		d.errorf(n, field, "must be a whole number, got %s", describe(n))
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(n, field, "must be between %d and %d, got %d", lo, hi, v)
		return 0, false
	}
	return v, true
}

// Groups returns the patient groups of a catalog: "all", and for each name
// prefix before '#' (adult#001 → adult) the singular and plural forms
// (adult, adults; child, children), each with its patients in catalog order.
func (c Catalog) Groups() map[string][]string {
	g := map[string][]string{"all": slices.Clone(c.Patients)}
	for _, p := range c.Patients {
		prefix, _, ok := numbered(p)
		if !ok {
			continue
		}
		plural := prefix + "s"
		if strings.HasSuffix(prefix, "child") {
			plural = prefix + "ren"
		}
		g[prefix] = append(g[prefix], p)
		g[plural] = append(g[plural], p)
	}
	return g
}

// cohort decodes a group name, a patient name, or a list of both, and
// rejects patients named twice.
func (d *decoder) cohort(n *yaml.Node) []string {
	groups := d.cat.Groups()
	groupNames := make([]string, 0, len(groups))
	for name := range groups {
		groupNames = append(groupNames, name)
	}
	slices.Sort(groupNames)
	var out []string
	from := map[string]string{} // patient -> the entry that brought it in
	add := func(item *yaml.Node, field string) {
		v, ok := d.str(item, field, "a patient or group name")
		if !ok {
			return
		}
		var members []string
		for name, ps := range groups {
			if strings.EqualFold(v, name) {
				members = ps
			}
		}
		if members == nil {
			for _, p := range d.cat.Patients {
				if strings.EqualFold(v, p) {
					members = []string{p}
				}
			}
		}
		if members == nil {
			d.errorf(item, field, "unknown patient or group %q; valid groups: %s; patients: %s", v, strings.Join(groupNames, ", "), listNames(d.cat.Patients))
			return
		}
		for _, p := range members {
			if prev, dup := from[p]; dup {
				d.errorf(item, field, "%s is already in the cohort (from %s); name each patient once", p, prev)
				return
			}
		}
		for _, p := range members {
			from[p] = fmt.Sprintf("%s %q on line %d", field, v, item.Line)
			out = append(out, p)
		}
	}
	switch n.Kind {
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			d.errorf(n, "cohort", "must name at least one patient")
		}
		for i, item := range n.Content {
			add(resolve(item), fmt.Sprintf("cohort[%d]", i))
		}
	default:
		add(n, "cohort")
	}
	return out
}

// mealPlan decodes "random", "none", "daily" (needs the mapping form) or
// {plan: ..., scale: x, daily: [{at: "07:00", carbs: 45}, ...]}. Fields not
// given keep their value in def.
func (d *decoder) mealPlan(n *yaml.Node, path string, def MealPlan) MealPlan {
	plans := []string{PlanRandom, PlanDaily, PlanNone}
	mp := def
	if n.Kind != yaml.MappingNode {
		v, ok := d.name(n, path, "meal plan", plans)
		if !ok {
			return mp
		}
		if v == PlanDaily {
			d.errorf(n, path, `plan daily needs its meals: {plan: daily, daily: [{at: "07:00", carbs: 45}, ...]}`)
			return mp
		}
		return MealPlan{Plan: v, Scale: def.Scale}
	}
	f := d.fields(n, path, []string{"plan", "scale", "daily"})
	if p, ok := f["plan"]; ok {
		mp.Plan, _ = d.name(p.val, path+".plan", "meal plan", plans)
	} else if _, ok := f["daily"]; ok {
		mp.Plan = PlanDaily
	}
	if p, ok := f["scale"]; ok {
		if v, ok := d.number(p.val, path+".scale", 0, MaxScale, ""); ok {
			mp.Scale = v
		}
	}
	p, hasDaily := f["daily"]
	switch {
	case mp.Plan != PlanDaily && hasDaily:
		d.errorf(p.key, path+".daily", "only for plan daily (the plan here is %s)", mp.Plan)
	case hasDaily:
		mp.Daily = d.dailyMeals(p.val, path+".daily")
	case mp.Plan == PlanDaily && len(mp.Daily) == 0:
		d.errorf(n, path+".daily", `missing; plan daily needs its meals, e.g. daily: [{at: "07:00", carbs: 45}]`)
	}
	if mp.Plan != PlanDaily {
		mp.Daily = nil
	}
	return mp
}

// dailyMeals decodes [{at: "HH:MM", carbs: g}, ...].
func (d *decoder) dailyMeals(n *yaml.Node, path string) []DailyMeal {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, `must be a list such as [{at: "07:00", carbs: 45}], got %s`, describe(n))
		return nil
	}
	var out []DailyMeal
	lines := map[int]int{} // minute -> line of the first meal there
	for i, item := range n.Content {
		item = resolve(item)
		field := fmt.Sprintf("%s[%d]", path, i)
		if item.Kind != yaml.MappingNode {
			d.errorf(item, field, `must be a mapping such as {at: "07:00", carbs: 45}, got %s`, describe(item))
			continue
		}
		f := d.fields(item, field, []string{"at", "carbs"})
		m, okT := -1, false
		if p, ok := f["at"]; ok {
			m, okT = d.clock(p.val, field+".at")
			if prev, dup := lines[m]; okT && dup {
				d.errorf(p.val, field+".at", "same time as the meal on line %d; combine them into one", prev)
				okT = false
			}
			if okT {
				lines[m] = item.Line
			}
		} else {
			d.errorf(item, field+".at", `missing; add the clock time, e.g. {at: "07:00", carbs: 45}`)
		}
		var c float64
		okC := false
		if p, ok := f["carbs"]; ok {
			c, okC = d.number(p.val, field+".carbs", 0, MaxCarbs, "g")
		} else {
			d.errorf(item, field+".carbs", "missing; add the amount in g")
		}
		if okT && okC {
			out = append(out, DailyMeal{Minute: m, Carbs: c})
		}
	}
	slices.SortFunc(out, func(a, b DailyMeal) int { return a.Minute - b.Minute })
	return out
}

// clock decodes a clock time "HH:MM" (00:00-23:59) as minutes after midnight.
func (d *decoder) clock(n *yaml.Node, field string) (int, bool) {
	const want = `a clock time such as "07:00" (quote it)`
	// YAML 1.1 reads unquoted 07:30 as the sexagesimal number 450; yaml.v3
	// keeps it a string, but accept only the quoted or plain HH:MM text.
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		d.errorf(n, field, "must be %s, got %s", want, describe(n))
		return 0, false
	}
	h, m, ok := strings.Cut(n.Value, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || len(h) < 1 || len(h) > 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		d.errorf(n, field, "must be %s between 00:00 and 23:59, got %q", want, n.Value)
		return 0, false
	}
	return hh*60 + mm, true
}

// arms decodes the list of arms; plan is the trial's default meal plan.
func (d *decoder) arms(n *yaml.Node, plan MealPlan) []Arm {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "arms", "must be a list such as [{name: standard, controller: basal-bolus}], got %s", describe(n))
		return nil
	}
	if len(n.Content) == 0 {
		d.errorf(n, "arms", "must have at least one arm")
		return nil
	}
	if len(n.Content) > MaxArms {
		d.errorf(n, "arms", "at most %d arms, got %d", MaxArms, len(n.Content))
		return nil
	}
	var out []Arm
	names := map[string]int{} // arm name -> line
	for i, item := range n.Content {
		item = resolve(item)
		path := fmt.Sprintf("arms[%d]", i)
		if item.Kind != yaml.MappingNode {
			d.errorf(item, path, "must be a mapping such as {name: standard, controller: basal-bolus}, got %s", describe(item))
			continue
		}
		f := d.fields(item, path, []string{"name", "controller", "meals"})
		a := Arm{Meals: plan}
		if p, ok := f["controller"]; ok {
			// The shared controller decoder names fields from "controller";
			// put them under this arm.
			k := len(d.errs)
			a.Controller = d.controller(p.val)
			for _, e := range d.errs[k:] {
				e.Field = path + "." + e.Field
			}
		} else {
			d.errorf(item, path+".controller", "missing; add it, e.g. controller: basal-bolus")
		}
		nameNode := item
		if p, ok := f["name"]; ok {
			a.Name, _ = d.str(p.val, path+".name", "an arm name")
			nameNode = p.val
		} else {
			a.Name = a.Controller.Name
		}
		if a.Name != "" {
			if prev, dup := names[a.Name]; dup {
				d.errorf(nameNode, path+".name", "arm name %q already used on line %d; give each arm its own name", a.Name, prev)
			}
			names[a.Name] = nameNode.Line
		}
		if p, ok := f["meals"]; ok {
			a.Meals = d.mealPlan(p.val, path+".meals", plan)
		}
		out = append(out, a)
	}
	return out
}

// T1DController builds controller c, decoded with the catalog [T1D], for
// patient p; settings c does not give take their defaults.
func T1DController(p t1d.Params, c Controller) (t1d.Controller, error) {
	for _, tc := range t1dControllers() {
		if tc.spec.Name != c.Name {
			continue
		}
		set := make(map[string]float64, len(tc.spec.Settings))
		for _, st := range tc.spec.Settings {
			set[st.Name] = st.Default
		}
		for k, v := range c.Settings {
			set[k] = v
		}
		ctrl, err := tc.build(p, set)
		if err != nil {
			return nil, fmt.Errorf("scenario: controller %s for %s: %w", c.Name, p.Name, err)
		}
		return ctrl, nil
	}
	return nil, fmt.Errorf("scenario: unknown controller %q", c.Name)
}
