package pkmodel

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/model/pkpd"
)

// Limits of dosing files: larger values are typing mistakes.
const (
	MaxTime   = 24 * 366 // h: a year of history
	MaxAmount = 1e5      // mg in one dose
	MaxDoses  = 10000    // doses in one repeated entry
)

// Request is a decoded dosing file: one patient's model, covariates, doses
// given, measured levels and (for doppel dose) target. Times are in h from
// the time origin of the file (usually the first dose), amounts in mg,
// concentrations in mg/L.
type Request struct {
	File       string
	Model      *Model
	Covariates map[string]float64 // model units; booleans 1 (true) or 0
	// Changes are covariates that change during the course (covariates:
	// [{time: 24 h, crcl: 50 mL/min}]): each value holds from its time on,
	// until the next change of the same covariate; Covariates hold before
	// the first. See WithCovariates.
	Changes []pkpd.CovariateChange
	Doses   []Dose
	Levels  []pkpd.Level
	Target  *Target // nil when the file has none
	// TargetLine is the line of the target field (0 if none), for
	// messages.
	TargetLine int
}

// Dose is one entry of doses: Count doses of Amount mg every Every h from
// Time, each over Infusion h (0: bolus).
type Dose struct {
	Time, Amount, Infusion, Every float64
	Count                         int
	Line                          int
}

// Target is the exposure a regimen should reach.
type Target struct {
	// Metric is "auc24" (steady-state AUC over 24 h, mg·h/L), "trough"
	// (steady-state pre-dose level, mg/L) or "peak" (steady-state level at
	// the end of the infusion, mg/L).
	Metric string
	// Lo and Hi are the target window; Lo == Hi for a single value.
	Lo, Hi float64
	// RoundTo is the dose step in mg (available strengths are multiples).
	RoundTo float64
	// Every lists the candidate intervals in h.
	Every []float64
	// Infusion is the infusion time of the new doses in h; 0 means that of
	// the last dose given.
	Infusion float64
}

// Records returns the doses as NONMEM dose records into the default
// compartment (ADDL/II for repeats, RATE for infusions).
func (r *Request) Records() []pkpd.Record {
	var recs []pkpd.Record
	for _, d := range r.Doses {
		rec := pkpd.Record{Time: d.Time, EVID: 1, AMT: d.Amount, MDV: 1, Line: d.Line}
		if d.Infusion > 0 {
			rec.RATE = d.Amount / d.Infusion
		}
		if d.Count > 1 {
			rec.ADDL = d.Count - 1
			rec.II = d.Every
		}
		recs = append(recs, rec)
	}
	slices.SortStableFunc(recs, func(a, b pkpd.Record) int { return cmp.Compare(a.Time, b.Time) })
	return recs
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WithCovariates returns recs (dose records of this patient, from
// Records or later doses appended to them) with the covariate changes
// written on them and the schedule options that apply them
// (pkpd.ApplyCovariates and LOCF); recs and zero options when nothing
// changes. Pass both to pkpd.Fit (FitSettings.Schedule) or
// DrugModel.PredictRecords.
func (r *Request) WithCovariates(recs []pkpd.Record) ([]pkpd.Record, pkpd.ScheduleOptions, error) {
	if len(r.Changes) == 0 {
		return recs, pkpd.ScheduleOptions{}, nil
	}
	out, err := pkpd.ApplyCovariates(recs, r.Covariates, r.Changes)
	return out, pkpd.ScheduleOptions{Carry: pkpd.LOCF}, err
}

// LatestCovariates returns the covariates in effect after the last
// change: those a new regimen is chosen for.
func (r *Request) LatestCovariates() map[string]float64 {
	out := maps.Clone(r.Covariates)
	for _, c := range r.Changes {
		maps.Copy(out, c.Values)
	}
	return out
}

// LastDose returns the time (h) of the last dose given and its entry.
func (r *Request) LastDose() (float64, Dose) {
	var last float64
	var dose Dose
	for i, d := range r.Doses {
		t := d.Time + float64(max(d.Count-1, 0))*d.Every
		if i == 0 || t >= last {
			last, dose = t, d
		}
	}
	return last, dose
}

// LoadRequest reads and decodes the dosing file at path. A model named as a
// file (ending in .yaml) is read relative to the dosing file's directory;
// any other name is a library model.
func LoadRequest(path string) (*Request, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pkmodel: %w", err)
	}
	return ParseRequest(path, data, func(name string) ([]byte, error) {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		return os.ReadFile(p)
	})
}

// ParseRequest decodes a dosing file. readModel reads a model file named
// by the model field (ending in .yaml); nil allows library models only.
// The error, if any, is a *scenario.Error naming file:line and field.
func ParseRequest(file string, data []byte, readModel func(name string) ([]byte, error)) (*Request, error) {
	d := scenario.NewDecoder(file, "dosing fields (model, patient, covariates, doses, levels, target)")
	root, err := d.Document(data)
	if err != nil {
		return nil, err
	}
	r := &Request{File: file}
	f := d.Fields(root, "", []string{"model", "patient", "covariates", "doses", "levels", "target"})
	if n, ok := d.Required(root, f, "model", "", "model: vancomycin-goti2018"); ok {
		r.Model = model(d, n, readModel)
	}
	if n, ok := d.Required(root, f, "patient", "", "patient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}"); ok && r.Model != nil {
		r.Covariates = patient(d, n, r.Model)
	}
	if p, ok := f["covariates"]; ok && r.Model != nil {
		r.Changes = covariateChanges(d, p.Val, r.Model)
	}
	if n, ok := d.Required(root, f, "doses", "", "doses: [{time: 0 h, amount: 1000 mg, infusion: 1 h}]"); ok {
		r.Doses = doses(d, n)
	}
	if p, ok := f["levels"]; ok {
		r.Levels = levels(d, p.Val, r.Doses)
	}
	if p, ok := f["target"]; ok {
		r.Target = target(d, p.Val)
		r.TargetLine = p.Key.Line
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

func model(d *scenario.Decoder, n *yaml.Node, readModel func(string) ([]byte, error)) *Model {
	name, ok := d.Str(n, "model", "a model name such as vancomycin-goti2018 or a model file such as my_model.yaml")
	if !ok {
		return nil
	}
	if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
		if readModel == nil {
			d.Errorf(n, "model", "model files are not allowed here; use a library model: %s", strings.Join(Names(), ", "))
			return nil
		}
		data, err := readModel(name)
		if err != nil {
			d.Errorf(n, "model", "cannot read the model file: %v", err)
			return nil
		}
		m, err := ParseModel(name, data)
		if err != nil {
			d.Errorf(n, "model", "invalid model file: %v", err)
			return nil
		}
		return m
	}
	if !slices.Contains(Names(), name) {
		msg := fmt.Sprintf("unknown model %q; valid: %s (or a model file ending in .yaml)", name, strings.Join(Names(), ", "))
		d.Errorf(n, "model", "%s", msg)
		return nil
	}
	m, err := Library(name)
	if err != nil {
		d.Errorf(n, "model", "%v", err)
		return nil
	}
	return m
}

func patient(d *scenario.Decoder, n *yaml.Node, m *Model) map[string]float64 {
	var names []string
	for _, c := range m.Covariates {
		names = append(names, c.Name)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && len(names) == 0 {
		return map[string]float64{}
	}
	if !mapping(d, n, "patient", "{weight: 80 kg, crcl: 80 mL/min, dialysis: false}") {
		return nil
	}
	if len(names) == 0 && len(n.Content) > 0 {
		k := scenario.Resolve(n.Content[0])
		d.Errorf(k, "patient."+k.Value, "unknown covariate; the model %s uses none (write patient: {})", m.Name)
		return nil
	}
	f := d.FieldsOf(n, "patient", "covariate of the model "+m.Name, names)
	out := make(map[string]float64, len(names))
	var missing []string
	for _, c := range m.Covariates {
		p, ok := f[c.Name]
		if !ok {
			missing = append(missing, c.Name)
			continue
		}
		if x, ok := covariateValue(d, p.Val, "patient."+c.Name, &c); ok {
			out[c.Name] = x
		}
	}
	if len(missing) > 0 {
		var ex []string
		for _, name := range missing {
			c, _ := m.Covariate(name)
			if c.Boolean {
				ex = append(ex, name+": false")
			} else {
				ex = append(ex, name+": ... "+c.Unit)
			}
		}
		d.Errorf(n, "patient", "missing covariate %s of the model %s; add %s", strings.Join(missing, ", "), m.Name, strings.Join(ex, ", "))
	}
	return out
}

// covariateValue decodes one value of covariate c (a boolean as 1 or 0, a
// quantity in the model's unit).
func covariateValue(d *scenario.Decoder, n *yaml.Node, path string, c *Covariate) (float64, bool) {
	if c.Boolean {
		b, ok := d.Boolean(n, path)
		return float64(boolInt(b)), ok
	}
	x, ok := quantity(d, n, path, c.unit)
	if !ok {
		return 0, false
	}
	power := slices.ContainsFunc(c.Effects, func(e Effect) bool { return e.Kind == "power" })
	switch {
	case power && x <= 0:
		d.Errorf(n, path, "must be > 0, got %s", n.Value)
	case x < 0:
		d.Errorf(n, path, "must be >= 0, got %s", n.Value)
	case x > maxValue:
		d.Errorf(n, path, "must be <= %g %s, got %s", maxValue, c.Unit, n.Value)
	default:
		return x, true
	}
	return 0, false
}

// covariateChanges decodes covariates: [{time: 24 h, crcl: 50 mL/min}, ...],
// covariates that change during the course: each value holds from its time
// on, until the next change of the same covariate (the patient field gives
// the values before the first change).
func covariateChanges(d *scenario.Decoder, n *yaml.Node, m *Model) []pkpd.CovariateChange {
	const ex = "[{time: 24 h, crcl: 50 mL/min}]"
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.Errorf(n, "covariates", "must be a non-empty list such as %s, got %s", ex, scenario.Describe(n))
		return nil
	}
	names := []string{"time"}
	for _, c := range m.Covariates {
		names = append(names, c.Name)
	}
	var out []pkpd.CovariateChange
	last := -1.0
	for i, item := range n.Content {
		item = scenario.Resolve(item)
		path := fmt.Sprintf("covariates[%d]", i)
		if !mapping(d, item, path, "{time: 24 h, crcl: 50 mL/min}") {
			continue
		}
		f := d.FieldsOf(item, path, "covariate of the model "+m.Name, names)
		ch := pkpd.CovariateChange{Values: map[string]float64{}}
		if v, ok := d.Required(item, f, "time", path, "time: 24 h"); ok {
			if t, ok := timeOf(d, v, path+".time"); ok {
				if t < last {
					d.Errorf(v, path+".time", "must not be before the previous change (%g h), got %s", last, v.Value)
				}
				ch.Time, last = t, t
			}
		}
		for j := range m.Covariates {
			c := &m.Covariates[j]
			if v, ok := f[c.Name]; ok {
				if x, ok := covariateValue(d, v.Val, path+"."+c.Name, c); ok {
					ch.Values[c.Name] = x
				}
			}
		}
		if len(f) < 2 {
			d.Errorf(item, path, "gives no covariate; add one such as %s", ex)
		}
		out = append(out, ch)
	}
	return out
}

// timeOf decodes a time in h, >= 0 and <= MaxTime.
func timeOf(d *scenario.Decoder, n *yaml.Node, field string) (float64, bool) {
	t, ok := quantity(d, n, field, unitH)
	if !ok {
		return 0, false
	}
	if t < 0 {
		d.Errorf(n, field, "must be >= 0 (times are from the first dose), got %s", n.Value)
		return 0, false
	}
	if t > MaxTime {
		d.Errorf(n, field, "must be <= %d h, got %s", MaxTime, n.Value)
		return 0, false
	}
	return t, true
}

func doses(d *scenario.Decoder, n *yaml.Node) []Dose {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.Errorf(n, "doses", "must be a non-empty list such as [{time: 0 h, amount: 1000 mg, infusion: 1 h}], got %s", scenario.Describe(n))
		return nil
	}
	var out []Dose
	for i, item := range n.Content {
		item = scenario.Resolve(item)
		path := fmt.Sprintf("doses[%d]", i)
		if !mapping(d, item, path, "{time: 0 h, amount: 1000 mg, infusion: 1 h}") {
			continue
		}
		f := d.Fields(item, path, []string{"time", "amount", "infusion", "every", "doses"})
		ds := Dose{Count: 1, Line: item.Line}
		ok := true
		if v, has := d.Required(item, f, "time", path, "time: 0 h"); has {
			ds.Time, has = timeOf(d, v, path+".time")
			ok = ok && has
		} else {
			ok = false
		}
		if v, has := d.Required(item, f, "amount", path, "amount: 1000 mg"); has {
			if ds.Amount, has = quantity(d, v, path+".amount", unitMg); has && (ds.Amount <= 0 || ds.Amount > MaxAmount) {
				d.Errorf(v, path+".amount", "must be > 0 and <= %g mg, got %s", float64(MaxAmount), v.Value)
				has = false
			}
			ok = ok && has
		} else {
			ok = false
		}
		if v, has := f["infusion"]; has {
			x, good := quantity(d, v.Val, path+".infusion", unitH)
			if good && (x <= 0 || x > 168) {
				d.Errorf(v.Val, path+".infusion", "must be > 0 and <= 168 h (leave it out for a bolus), got %s", v.Val.Value)
				good = false
			}
			ds.Infusion = x
			ok = ok && good
		}
		ev, hasEvery := f["every"]
		cnt, hasCount := f["doses"]
		switch {
		case hasEvery && !hasCount:
			d.Errorf(item, path+".doses", "missing; with every, give the number of doses, e.g. doses: 4")
			ok = false
		case hasCount && !hasEvery:
			d.Errorf(item, path+".every", "missing; with doses, give the interval, e.g. every: 12 h")
			ok = false
		case hasEvery:
			x, good := quantity(d, ev.Val, path+".every", unitH)
			if good && (x <= 0 || x > 24*28) {
				d.Errorf(ev.Val, path+".every", "must be > 0 and <= 672 h, got %s", ev.Val.Value)
				good = false
			}
			ds.Every = x
			c, goodC := d.WholeNumber(cnt.Val, path+".doses", 1, MaxDoses)
			ds.Count = c
			ok = ok && good && goodC
			if ok && ds.Infusion > ds.Every {
				d.Errorf(ev.Val, path+".every", "%s is shorter than the infusion (%g h): the infusions would overlap", ev.Val.Value, ds.Infusion)
				ok = false
			}
		}
		if ok {
			out = append(out, ds)
		}
	}
	return out
}

func levels(d *scenario.Decoder, n *yaml.Node, ds []Dose) []pkpd.Level {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "levels", "must be a list such as [{time: 38 h, value: 39.8 mg/L}], got %s", scenario.Describe(n))
		return nil
	}
	first := math.Inf(1)
	for _, x := range ds {
		first = math.Min(first, x.Time)
	}
	var out []pkpd.Level
	for i, item := range n.Content {
		item = scenario.Resolve(item)
		path := fmt.Sprintf("levels[%d]", i)
		if !mapping(d, item, path, "{time: 38 h, value: 39.8 mg/L}") {
			continue
		}
		f := d.Fields(item, path, []string{"time", "value"})
		var l pkpd.Level
		okT, okV := false, false
		if v, has := d.Required(item, f, "time", path, "time: 38 h"); has {
			if l.Time, okT = timeOf(d, v, path+".time"); okT && l.Time <= first {
				d.Errorf(v, path+".time", "%s is not after the first dose (%g h): a level before any dose carries no information", v.Value, first)
				okT = false
			}
		}
		if v, has := d.Required(item, f, "value", path, "value: 39.8 mg/L"); has {
			if l.Value, okV = quantity(d, v, path+".value", unitMgL); okV && (l.Value <= 0 || l.Value > maxValue) {
				d.Errorf(v, path+".value", "must be > 0 mg/L (leave out levels below the limit of quantification), got %s", v.Value)
				okV = false
			}
		}
		if okT && okV {
			out = append(out, l)
		}
	}
	return out
}

func target(d *scenario.Decoder, n *yaml.Node) *Target {
	const ex = "{auc24: 500 mg.h/L, round_to: 250 mg, every: 12 h}"
	if !mapping(d, n, "target", ex) {
		return nil
	}
	metrics := []string{"auc24", "trough", "peak"}
	f := d.Fields(n, "target", append(slices.Clone(metrics), "round_to", "every", "infusion"))
	t := &Target{}
	ok := true
	for _, k := range metrics {
		v, has := f[k]
		if !has {
			continue
		}
		if t.Metric != "" {
			d.Errorf(v.Key, "target."+k, "give one of auc24, trough or peak, not both %s and %s", t.Metric, k)
			ok = false
			continue
		}
		t.Metric = k
		unit := unitMgL
		if k == "auc24" {
			unit = unitAUC
		}
		path := "target." + k
		switch {
		case v.Val.Kind == yaml.SequenceNode && len(v.Val.Content) == 2:
			lo, ok1 := quantity(d, scenario.Resolve(v.Val.Content[0]), path+"[0]", unit)
			hi, ok2 := quantity(d, scenario.Resolve(v.Val.Content[1]), path+"[1]", unit)
			if ok1 && ok2 && !(0 < lo && lo <= hi) {
				d.Errorf(v.Val, path, "must be a window [low, high] with 0 < low <= high, got %g to %g %s", lo, hi, unit.Symbol)
				ok1 = false
			}
			t.Lo, t.Hi = lo, hi
			ok = ok && ok1 && ok2
		case v.Val.Kind == yaml.SequenceNode:
			d.Errorf(v.Val, path, "must be a value such as 500 %s or a window [low, high], got a list of %d", unit.Symbol, len(v.Val.Content))
			ok = false
		default:
			x, good := quantity(d, v.Val, path, unit)
			if good && x <= 0 {
				d.Errorf(v.Val, path, "must be > 0, got %s", v.Val.Value)
				good = false
			}
			t.Lo, t.Hi = x, x
			ok = ok && good
		}
	}
	if t.Metric == "" {
		d.Errorf(n, "target", "missing the target: add one of auc24 (e.g. auc24: 500 mg.h/L), trough (e.g. trough: [10 mg/L, 15 mg/L]) or peak")
		ok = false
	}
	if v, has := d.Required(n, f, "round_to", "target", "round_to: 250 mg"); has {
		x, good := quantity(d, v, "target.round_to", unitMg)
		if good && (x <= 0 || x > MaxAmount) {
			d.Errorf(v, "target.round_to", "must be > 0 and <= %g mg, got %s", float64(MaxAmount), v.Value)
			good = false
		}
		t.RoundTo = x
		ok = ok && good
	} else {
		ok = false
	}
	if v, has := d.Required(n, f, "every", "target", "every: 12 h (or a list of candidates: [8 h, 12 h, 24 h])"); has {
		nodes := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			nodes = v.Content
			if len(nodes) == 0 {
				d.Errorf(v, "target.every", "must list at least one interval")
				ok = false
			}
		}
		for i, it := range nodes {
			path := "target.every"
			if v.Kind == yaml.SequenceNode {
				path = fmt.Sprintf("target.every[%d]", i)
			}
			x, good := quantity(d, scenario.Resolve(it), path, unitH)
			if good && (x <= 0 || x > 24*28) {
				d.Errorf(it, path, "must be > 0 and <= 672 h, got %s", it.Value)
				good = false
			}
			t.Every = append(t.Every, x)
			ok = ok && good
		}
	} else {
		ok = false
	}
	if v, has := f["infusion"]; has {
		x, good := quantity(d, v.Val, "target.infusion", unitH)
		if good && (x <= 0 || x > 24) {
			d.Errorf(v.Val, "target.infusion", "must be > 0 and <= 24 h, got %s", v.Val.Value)
			good = false
		}
		t.Infusion = x
		ok = ok && good
	}
	if !ok {
		return nil
	}
	return t
}
