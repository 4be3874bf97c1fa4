package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/plot"
	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/internal/trial"
	"github.com/doppelhealth/doppel/model/t1d"
)

type trialFlags struct {
	out     string
	format  string
	workers int
	json    bool
}

// workerCount is the number of runs at once: --workers, or GOMAXPROCS when
// it is 0.
func (f trialFlags) workerCount() int {
	if f.workers == 0 {
		return runtime.GOMAXPROCS(0)
	}
	return f.workers
}

func newTrialCmd(e *env) *cobra.Command {
	var f trialFlags
	c := &cobra.Command{
		Use:   "trial FILE.yaml",
		Short: "Run an in-silico trial: a cohort of virtual patients in several arms",
		Long: `Trial runs every patient of the cohort in FILE.yaml in every arm, for the
given number of days, in parallel on all cores, and prints per arm the median
[interquartile range] across patients of each metric, as trial papers report.

A trial file:

  model: t1d
  name: Basal-bolus vs CR x0.8      # title of tables and plots (default: the file name)
  seed: 1                           # seeds every random draw (default 1)
  days: 7                           # each run: N days from midnight, one continuous run
  cohort: all                       # all, adults, adolescents, children, a patient,
                                    #   or a list: [adults, "child#001"]
  sensor: {name: GuardianRT, noise: true}
  pump: Insulet
  glucose: BG                       # metrics and profiles of BG (default) or CGM
  meals: random                     # meal plan of every arm (default random):
                                    #   random: simglucose's RandomScenario, a new draw each day
                                    #   none: no meals
                                    #   {plan: daily, daily: [{at: "07:00", carbs: 45}, ...]}
                                    #   {plan: random, scale: 1.2}: every meal x1.2
  arms:
    - name: standard
      controller: basal-bolus
    - name: CR x0.8
      controller: {name: basal-bolus, cr_scale: 0.8}
      meals: random                 # an arm may change the meal plan

Randomness uses common random numbers: every random draw (meals per patient
and day, sensor noise per patient) is seeded from the trial seed, the
patient's name and the day, never from the arm or from scheduling. So a
patient eats the same meals and wears the same sensor noise in every arm
(unless the arm changes the meal plan; a scaled plan scales the same meals),
differences between arms come from the intervention, and results are
identical whatever --workers is.

Metrics per patient and arm (--out DIR/metrics.csv): time in 70-180 mg/dL,
below 70 and 54, above 180 and 250 (%), mean, SD (mg/dL), CV (%), GMI (%),
LBGI, HBGI, risk index (Kovatchev), hypoglycaemic events (<70 mg/dL for
15 min or more, ended by 15 min at or above 70), insulin (U/day),
carbohydrate (g/day), and whether BG ever left (10, 600) mg/dL, where the
model is outside the range it was built for (without counter-regulation it
can settle at 0 mg/dL after a severe hypoglycaemia; such samples count as
0 mg/dL, so the worst runs stay in the summary).

--out DIR writes metrics.csv, summary.json, agp.csv (glucose percentiles by
5-minute time of day per arm), agp.png (AGP-style 5/25/50/75/95 %
bands per arm) and tir.png (stacked time in ranges per arm, mean across
patients). DIR appears complete or not at all: files are written to a
temporary directory renamed at the end. An existing DIR is replaced only
if it holds nothing but the files of an earlier trial.

A file whose model is a PK model is a population PK simulation: N virtual
subjects with covariates, inter-individual variability and optional residual
error; --out writes subjects.csv (Cmax, Cmin, AUC per subject),
percentiles.csv, summary.json and a VPC-style plot (see the README,
"Precision dosing (PK/PD)").`,
		Example: `  doppel trial examples/trial_bb_vs_pid.yaml
  doppel trial examples/trial_bb_vs_pid.yaml --out results --format svg
  doppel trial examples/trial_bb_vs_pid.yaml --json --workers 1
  doppel trial examples/pk_vanco_trial.yaml --out vanco`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runTrial(cmd.Context(), e, args[0], f) },
	}
	c.Flags().StringVar(&f.out, "out", "", "write metrics, summary and plots to directory `DIR`")
	c.Flags().StringVar(&f.format, "format", "png", "image format of the plots: png or svg")
	c.Flags().IntVar(&f.workers, "workers", 0, "runs at once (default: GOMAXPROCS, all cores)")
	c.Flags().BoolVar(&f.json, "json", false, "print the summary as JSON")
	return c
}

// trialMetric is one column of metrics.csv.
type trialMetric struct {
	Name  string // CSV column and JSON name
	Label string // table row
	Unit  string
	Prec  int  // decimals in the table
	Count bool // a 0/1 flag, summarised as the number of patients
}

// trialMetrics are the metrics of each run, in CSV column order.
var trialMetrics = []trialMetric{
	{"tir", "time in range 70-180", "%", 1, false},
	{"tbr70", "time below 70", "%", 1, false},
	{"tbr54", "time below 54", "%", 1, false},
	{"tar180", "time above 180", "%", 1, false},
	{"tar250", "time above 250", "%", 1, false},
	{"mean", "mean glucose", "mg/dL", 1, false},
	{"sd", "SD", "mg/dL", 1, false},
	{"cv", "CV", "%", 1, false},
	{"gmi", "GMI", "%", 2, false},
	{"lbgi", "LBGI", "", 2, false},
	{"hbgi", "HBGI", "", 2, false},
	{"risk", "risk index", "", 2, false},
	{"hypo_events", "hypo events (<70, >=15 min)", "events", 1, false},
	{"insulin", "insulin", "U/day", 1, false},
	{"carbs", "carbohydrate", "g/day", 1, false},
	{"out_of_range", "BG left (10, 600) mg/dL", "patients", 0, true},
}

// Indices of trialMetrics.
const (
	mTIR = iota
	mTBR70
	mTBR54
	mTAR180
	mTAR250
	mMean
	mSD
	mCV
	mGMI
	mLBGI
	mHBGI
	mRisk
	mHypo
	mInsulin
	mCarbs
	mOutOfRange
)

func metricNames() []string {
	names := make([]string, len(trialMetrics))
	for i, m := range trialMetrics {
		names[i] = m.Name
	}
	return names
}

func runTrial(ctx context.Context, e *env, path string, f trialFlags) error {
	if f.format != "png" && f.format != "svg" {
		return usageError(fmt.Errorf("--format %q: want png or svg", f.format))
	}
	if f.workers < 0 {
		return usageError(fmt.Errorf("--workers %d: want 0 (all cores) or more", f.workers))
	}
	if isPKFile(path) {
		return runPKTrial(ctx, e, path, f) // a PK population (pktrial.go)
	}
	spec, err := scenario.LoadTrial(path, scenario.T1D())
	if err != nil {
		return usageError(err) // an unreadable or invalid trial file
	}
	tr, err := newT1DTrial(spec)
	if err != nil {
		return err
	}
	dir, err := newOutDir(f.out, trialFiles)
	if err != nil {
		return err
	}
	defer dir.discard()

	workers := f.workerCount()
	cfg := trial.Config{
		Patients: spec.Cohort,
		Arms:     make([]string, len(spec.Arms)),
		Metrics:  metricNames(),
		Workers:  workers,
	}
	for i, a := range spec.Arms {
		cfg.Arms[i] = a.Name
	}
	total := len(spec.Cohort) * len(spec.Arms)
	var bar *progress
	if e.tty {
		bar = newProgress(e.stderr, "trial", float64(total), "runs", 1)
		cfg.Progress = func(done, _ int) { bar.update(float64(done)) }
	}
	start := time.Now()
	res, err := trial.Run(ctx, cfg, tr.run)
	bar.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "trial: %d runs (%d patients x %d arms x %d days) on %d workers in %s\n",
		total, len(spec.Cohort), len(spec.Arms), spec.Days, min(workers, total), time.Since(start).Round(10*time.Millisecond))

	sum := newTrialSummary(spec, res)
	if err := dir.save(func(d *outDir) error { return writeTrialFiles(d, f.format, spec, res, sum) }); err != nil {
		return err
	}
	for _, a := range sum.Arms {
		if st := a.Metrics[mOutOfRange]; st.N > 0 && st.Mean > 0 {
			fmt.Fprintf(e.stderr, "doppel: warning: arm %q: BG left (10, 600) mg/dL in %.0f of %d patients; the model is outside the range it was built for there\n",
				a.Name, float64(st.Mean)*float64(st.N), st.N)
		}
	}
	if f.json {
		return writeJSON(e.stdout, sum)
	}
	return printTrialSummary(e.stdout, sum)
}

// t1dTrial runs the jobs of a t1d trial. It is read-only once built, so its
// run method is safe for concurrent use.
type t1dTrial struct {
	spec     *scenario.Trial
	patients []t1d.Params
	sensor   t1d.SensorParams
	pump     t1d.PumpParams
}

func newT1DTrial(spec *scenario.Trial) (*t1dTrial, error) {
	tr := &t1dTrial{spec: spec}
	var err error
	if tr.sensor, err = t1d.Sensor(spec.Sensor.Name); err != nil {
		return nil, err
	}
	if tr.pump, err = t1d.Pump(spec.Pump); err != nil {
		return nil, err
	}
	for _, name := range spec.Cohort {
		p, err := t1d.Patient(name)
		if err != nil {
			return nil, err
		}
		tr.patients = append(tr.patients, p)
	}
	// Build every controller once now, so that a controller that cannot be
	// built for some patient is reported before the trial starts.
	for _, p := range tr.patients {
		for _, a := range spec.Arms {
			if _, err := scenario.T1DController(p, a.Controller); err != nil {
				return nil, usageError(fmt.Errorf("%s: arm %q: %w", spec.File, a.Name, err))
			}
		}
	}
	return tr, nil
}

// meals returns the meals of patient in a run of the trial under plan.
// Random plans draw each day from its own seed (trial seed, patient, day).
func (tr *t1dTrial) meals(patient string, plan scenario.MealPlan) ([]t1d.Meal, error) {
	var out []t1d.Meal
	add := func(day int, minute, carbs float64) {
		if c := carbs * plan.Scale; c > 0 {
			out = append(out, t1d.Meal{T: float64(day)*24*60 + minute, Carbs: c})
		}
	}
	for day := range tr.spec.Days {
		switch plan.Plan {
		case scenario.PlanRandom:
			rng := rand.New(rand.NewPCG(trial.Seed(tr.spec.Seed, "meals", patient, day), 0))
			ms, err := t1d.RandomMeals(rng, 0, 1)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				add(day, m.T, m.Carbs)
			}
		case scenario.PlanDaily:
			for _, m := range plan.Daily {
				add(day, float64(m.Minute), m.Carbs)
			}
		}
	}
	return out, nil
}

// run simulates one patient in one arm as one continuous run of Days days
// from midnight and returns the metrics of trialMetrics.
func (tr *t1dTrial) run(ctx context.Context, j trial.Job, trace *trial.Trace) ([]float64, error) {
	p := tr.patients[j.Patient]
	arm := tr.spec.Arms[j.Arm]
	ctrl, err := scenario.T1DController(p, arm.Controller)
	if err != nil {
		return nil, err
	}
	meals, err := tr.meals(p.Name, arm.Meals)
	if err != nil {
		return nil, err
	}
	days := float64(tr.spec.Days)
	cfg := t1d.Config{
		Patient: p, Sensor: tr.sensor, Pump: tr.pump, Controller: ctrl,
		Meals: meals, Duration: days * 24 * 60,
	}
	if tr.spec.Sensor.Noise {
		cfg.Noise = t1d.NewNoise(tr.sensor, rand.New(rand.NewPCG(trial.Seed(tr.spec.Seed, "sensor", p.Name, -1), 0)))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := t1d.Simulate(cfg)
	if err != nil {
		return nil, err
	}
	// One sample per sensor period over [0, Duration): every time of day
	// equally often.
	recs := res.Records[:len(res.Records)-1]
	trace.Start, trace.Step = 0, tr.sensor.SampleTime
	// After a severe hypoglycaemia the S2008 model, which has no
	// counter-regulation, can settle at a glucose of 0 and drift a few
	// thousandths of a mg/dL below it; such samples count as 0 mg/dL (the
	// run is flagged out_of_range). Dropping them, or the run, would hide
	// the worst outcomes from the summary.
	for _, r := range recs {
		g := r.BG
		if tr.spec.Glucose == scenario.GlucoseCGM {
			g = r.CGM
		}
		trace.Glucose = append(trace.Glucose, max(g, 0))
	}
	out := make([]float64, len(trialMetrics))
	if m, err := t1d.ComputeMetrics(trace.Glucose); err == nil {
		copy(out, []float64{m.TIR, m.TBR70, m.TBR54, m.TAR180, m.TAR250, m.Mean, m.SD, m.CV, m.GMI, m.LBGI, m.HBGI, m.RiskIndex})
	} else {
		// A non-finite glucose (the model broke down): no glucose metric
		// is meaningful.
		for i := mTIR; i <= mRisk; i++ {
			out[i] = math.NaN()
		}
	}
	out[mHypo] = float64(hypoEvents(trace.Glucose, trace.Step, 70, 15))
	out[mInsulin] = res.TotalInsulin() / days
	out[mCarbs] = res.TotalCarbs() / days
	if res.Done {
		out[mOutOfRange] = 1
	}
	return out, nil
}

// hypoEvents counts hypoglycaemic events in a glucose series sampled every
// step minutes, as the international consensus defines them (Battelino et
// al. 2023, Lancet Diabetes Endocrinol 11:42; Danne et al. 2017, Diabetes
// Care 40:1631): an event starts when glucose stays below threshold for at
// least minutes, and ends when it stays at or above threshold for at least
// minutes. NaN samples break neither run.
func hypoEvents(g []float64, step, threshold, minutes float64) int {
	need := int(math.Ceil(minutes/step - 1e-9))
	events, below, above := 0, 0, 0
	in := false
	for _, v := range g {
		if math.IsNaN(v) {
			continue
		}
		if v < threshold {
			below++
			above = 0
			if !in && below >= need {
				in = true
				events++
			}
		} else {
			above++
			below = 0
			if in && above >= need {
				in = false
			}
		}
	}
	return events
}

// trialSummary is what `doppel trial` prints and writes as summary.json.
type trialSummary struct {
	Trial    string         `json:"trial"`
	File     string         `json:"file"`
	Seed     uint64         `json:"seed"`
	Days     int            `json:"days"`
	Glucose  string         `json:"glucose"`
	Sensor   string         `json:"sensor"`
	Noise    bool           `json:"sensor_noise"`
	Pump     string         `json:"pump"`
	Patients []string       `json:"patients"`
	Arms     []armSummary   `json:"arms"`
	Metrics  []metricLegend `json:"metrics"`
}

type metricLegend struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Unit  string `json:"unit"`
}

type armSummary struct {
	Name       string          `json:"name"`
	Controller armController   `json:"controller"`
	Meals      string          `json:"meals"`
	Metrics    []metricSummary `json:"metrics"`
}

// armController is a controller with all its settings, defaults included.
type armController struct {
	Name     string             `json:"name"`
	Settings map[string]float64 `json:"settings"`
}

// metricSummary is the distribution of one metric across the patients of an
// arm. Values are null where undefined (no patient with a value).
type metricSummary struct {
	Name   string    `json:"name"`
	N      int       `json:"n"`
	Median jsonFloat `json:"median"`
	Q1     jsonFloat `json:"q1"`
	Q3     jsonFloat `json:"q3"`
	Mean   jsonFloat `json:"mean"`
	Min    jsonFloat `json:"min"`
	Max    jsonFloat `json:"max"`
}

// jsonFloat is a float64 that encodes NaN as null.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(f), 'g', -1, 64), nil
}

func newTrialSummary(spec *scenario.Trial, res *trial.Result) trialSummary {
	s := trialSummary{
		Trial: spec.Name, File: spec.File, Seed: spec.Seed, Days: spec.Days, Glucose: spec.Glucose,
		Sensor: spec.Sensor.Name, Noise: spec.Sensor.Noise, Pump: spec.Pump, Patients: spec.Cohort,
	}
	for _, m := range trialMetrics {
		s.Metrics = append(s.Metrics, metricLegend{m.Name, m.Label, m.Unit})
	}
	for a, as := range res.Summary() {
		c := spec.Arms[a].Controller
		arm := armSummary{Name: as.Arm, Controller: armController{c.Name, c.Settings}, Meals: describePlan(spec.Arms[a].Meals)}
		for i, st := range as.Stats {
			arm.Metrics = append(arm.Metrics, metricSummary{
				Name: trialMetrics[i].Name, N: st.N,
				Median: jsonFloat(st.Median), Q1: jsonFloat(st.Q1), Q3: jsonFloat(st.Q3),
				Mean: jsonFloat(st.Mean), Min: jsonFloat(st.Min), Max: jsonFloat(st.Max),
			})
		}
		s.Arms = append(s.Arms, arm)
	}
	return s
}

// describePlan writes a meal plan in a few words.
func describePlan(p scenario.MealPlan) string {
	var s string
	switch p.Plan {
	case scenario.PlanDaily:
		parts := make([]string, len(p.Daily))
		for i, m := range p.Daily {
			parts[i] = fmt.Sprintf("%02d:%02d %sg", m.Minute/60, m.Minute%60, strconv.FormatFloat(m.Carbs, 'g', -1, 64))
		}
		s = "daily " + strings.Join(parts, ", ")
	default:
		s = p.Plan
	}
	if p.Scale != 1 && p.Plan != scenario.PlanNone {
		s += fmt.Sprintf(" x%s", strconv.FormatFloat(p.Scale, 'g', -1, 64))
	}
	return s
}

// printTrialSummary writes the per-arm table: one row per metric, one column
// per arm, median [Q1-Q3] across patients.
func printTrialSummary(w io.Writer, s trialSummary) error {
	fmt.Fprintf(w, "%s: %d patients x %d arms x %d days, seed %d, %s sensor (noise %s), %s pump; metrics of %s\n",
		s.Trial, len(s.Patients), len(s.Arms), s.Days, s.Seed, s.Sensor, onOff(s.Noise), s.Pump, s.Glucose)
	fmt.Fprintln(w, "median [IQR] across patients")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "METRIC\tUNIT")
	for _, a := range s.Arms {
		fmt.Fprintf(tw, "\t%s", a.Name)
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "controller\t")
	for _, a := range s.Arms {
		fmt.Fprintf(tw, "\t%s", describeController(a.Controller))
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "meals\t")
	for _, a := range s.Arms {
		fmt.Fprintf(tw, "\t%s", a.Meals)
	}
	fmt.Fprintln(tw)
	for i, m := range trialMetrics {
		fmt.Fprintf(tw, "%s\t%s", m.Label, m.Unit)
		for _, a := range s.Arms {
			st := a.Metrics[i]
			switch {
			case m.Count:
				fmt.Fprintf(tw, "\t%.0f of %d", float64(st.Mean)*float64(st.N), st.N)
			case st.N == 0:
				fmt.Fprint(tw, "\t-")
			default:
				f := func(v jsonFloat) string { return strconv.FormatFloat(float64(v), 'f', m.Prec, 64) }
				fmt.Fprintf(tw, "\t%s [%s-%s]", f(st.Median), f(st.Q1), f(st.Q3))
				if st.N < len(s.Patients) {
					fmt.Fprintf(tw, " (n=%d)", st.N)
				}
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// describeController writes a controller with its settings that differ
// from the defaults of the catalog.
func describeController(c armController) string {
	var spec *scenario.ControllerSpec
	cat := scenario.T1D()
	for i := range cat.Controllers {
		if cat.Controllers[i].Name == c.Name {
			spec = &cat.Controllers[i]
		}
	}
	var parts []string
	if spec != nil {
		for _, st := range spec.Settings {
			if v, ok := c.Settings[st.Name]; ok && v != st.Default {
				parts = append(parts, st.Name+"="+strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
	}
	if len(parts) == 0 {
		return c.Name
	}
	return c.Name + " " + strings.Join(parts, " ")
}

// trialFiles are the files `doppel trial --out` writes; an existing output
// directory holding only these may be replaced.
var trialFiles = []string{"metrics.csv", "summary.json", "agp.csv", "agp.png", "agp.svg", "tir.png", "tir.svg"}

// writeTrialFiles writes the outputs of a trial into dir.
func writeTrialFiles(dir *outDir, format string, spec *scenario.Trial, res *trial.Result, sum trialSummary) error {
	if err := dir.write("metrics.csv", res.WriteCSV); err != nil {
		return err
	}
	if err := dir.write("summary.json", func(w io.Writer) error { return writeJSON(w, sum) }); err != nil {
		return err
	}
	if err := dir.write("agp.csv", func(w io.Writer) error { return writeAGPCSV(w, res) }); err != nil {
		return err
	}
	title := fmt.Sprintf("%s: %d patients, %d days, %s", spec.Name, len(spec.Cohort), spec.Days, spec.Glucose)
	if err := dir.write("agp."+format, func(w io.Writer) error { return plot.WriteAGP(w, format, title, agpArms(res)) }); err != nil {
		return err
	}
	return dir.write("tir."+format, func(w io.Writer) error { return plot.WriteTIR(w, format, title, tirArms(res)) })
}

// agpQuantiles are the percentiles of the AGP, as fractions.
var agpQuantiles = []float64{0.05, 0.25, 0.5, 0.75, 0.95}

// agpArms turns the glucose profiles of a trial into plot series, one point
// per 5-minute bin at its middle.
func agpArms(res *trial.Result) []plot.AGPArm {
	out := make([]plot.AGPArm, len(res.Arms))
	for a, name := range res.Arms {
		p := res.Profiles[a]
		arm := plot.AGPArm{Name: name, Minutes: make([]float64, trial.Bins)}
		for b := range trial.Bins {
			arm.Minutes[b] = (float64(b) + 0.5) * trial.BinMinutes
		}
		bands := make([][]float64, len(agpQuantiles))
		for i, q := range agpQuantiles {
			bands[i] = p.Band(q)
		}
		arm.P5, arm.P25, arm.P50, arm.P75, arm.P95 = bands[0], bands[1], bands[2], bands[3], bands[4]
		out[a] = arm
	}
	return out
}

// writeAGPCSV writes the percentiles of each arm's profile by time of day.
func writeAGPCSV(w io.Writer, res *trial.Result) error {
	var b strings.Builder
	b.WriteString("arm,minute,samples,p5,p25,p50,p75,p95\n")
	for a, name := range res.Arms {
		p := res.Profiles[a]
		for bin := range trial.Bins {
			fmt.Fprintf(&b, "%s,%d,%d", csvField(name), bin*trial.BinMinutes, p.Count(bin))
			for _, q := range agpQuantiles {
				b.WriteByte(',')
				if v := p.Percentile(bin, q); !math.IsNaN(v) {
					b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
				}
			}
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// csvField quotes s for CSV if needed.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\n\r") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// tirArms returns the mean time in each range across the patients of each
// arm. Means of per-patient percentages add up to 100, medians would not.
func tirArms(res *trial.Result) []plot.TIRArm {
	out := make([]plot.TIRArm, len(res.Arms))
	for a, name := range res.Arms {
		var sum [5]float64
		n := 0
		for _, v := range res.Values[a] {
			if math.IsNaN(v[mTIR]) {
				continue
			}
			n++
			sum[0] += v[mTBR54]
			sum[1] += v[mTBR70] - v[mTBR54]
			sum[2] += v[mTIR]
			sum[3] += v[mTAR180] - v[mTAR250]
			sum[4] += v[mTAR250]
		}
		t := plot.TIRArm{Name: name}
		if n > 0 {
			k := 1 / float64(n)
			t.VeryLow, t.Low, t.InRange, t.High, t.VeryHigh = sum[0]*k, max(sum[1]*k, 0), sum[2]*k, max(sum[3]*k, 0), sum[4]*k
		}
		out[a] = t
	}
	return out
}
