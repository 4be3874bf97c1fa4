package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/doppelhealth/doppel/des"
	"github.com/doppelhealth/doppel/hospital"
	"github.com/doppelhealth/doppel/internal/plot"
	"github.com/doppelhealth/doppel/internal/scenario"
)

type hospitalFlags struct {
	json    bool
	plot    string
	workers int
	fhir    fhirFlags // hospital_fhir.go
}

func newHospitalCmd(e *env) *cobra.Command {
	var f hospitalFlags
	c := &cobra.Command{
		Use:   "hospital FILE.yaml",
		Short: "Simulate hospital patient flow (ED, wards, ICU) with Monte Carlo replications",
		Long: `Hospital runs the patient-flow model in FILE.yaml (package hospital): ED
arrivals, cubicles and treatment, routing to inpatient units, boarding in the
ED while no bed is free, lengths of stay, electives, transfers, capacity
changes and surges. It prints, per unit, the mean occupancy and the fraction
of time it is full, and for the ED the mean boarding time, each with the
half-width of its 95 % confidence interval over the replications, and checks
Little's law (L = λW) in every unit.

File format (times are durations such as 3h, 4d, 1d12h; see the README):

  horizon: 365d                 # required: length of each run
  warmup: 30d                   # excluded from the statistics (default 0)
  replications: 20              # default 20, at least 2
  seed: 1                       # default 1
  start: {weekday: monday, hour: 0}   # calendar position of time 0 (default)
  arrivals: {rate_per_hour: 10} # + hour_of_day: [24 multipliers], day_of_week: [7]
  ed: {cubicles: 40, treatment: {dist: exponential, mean: 3h}}
  routes: {ward: 0.20, icu: 0.05}     # admission probabilities; the rest go home
  units:
    ward: {beds: 210, los: {dist: lognormal, mean: 4d, sd: 3d}}
    icu:  {beds: 44,  los: {dist: lognormal, mean: 3d, sd: 2d},
           transfer: {to: ward, p: 0.5}, discharge_hours: [8, 20]}
  electives: [{unit: ward, per_day: 5, hour: 8, weekdays: [mon, tue, wed, thu, fri], cancel_if_full: true}]
  capacity_changes: [{unit: icu, at: 10d, capacity: 50}]   # unit "ed" changes cubicles
  surges: [{at: 20d, duration: 6h, patients: 100, mix: {icu: 0.2, ward: 0.3}}]
  what_if:                      # branches: sections replaced, results compared
    - {name: 6 more ICU beds, capacity_changes: [{unit: icu, at: 0h, capacity: 50}]}
  census:                       # the hospital now: a forecast starts from it
    icu: [2d, 5h, 1d12h]        # elapsed stays, one per patient (the rest of each
    ward: {patients: 150, elapsed: 2d}  #   stay is drawn given the elapsed part)
    ed: {in_treatment: [1h, 20m], boarding: {icu: [2h]}, waiting: 3}

Distributions: {dist: exponential, mean}, {dist: lognormal, mean, sd} (of the
stay itself, not its logarithm), {dist: gamma, mean, sd},
{dist: empirical, values: [2d, 3d, 36h]}.

A unit whose offered load (arrival rate × mean stay) reaches its capacity
is unstable: its queue grows for as long as the run lasts. That is reported
as a warning, and the results then depend on the horizon.

Each what_if branch replaces the sections it names (arrivals, ed, routes,
units, electives, capacity_changes, surges) and runs from the same census
with the same seed, so it meets the same patients (common random numbers);
the output gives branch − base differences with paired 95 % half-widths.

With --fhir-data DIR the census comes from the FHIR store in DIR (the
data directory of doppel serve; --encryption-key-file if it is encrypted):
the Encounters in progress at --at (default now) at the Locations that the
file's fhir: section maps to the ED and the units, each with the time it
has spent there; time 0 is then --at. With fhir.calibrate (e.g. 90d) the
arrivals (rate, hour-of-day and weekday profiles), routes, ED treatment time
and stays are also fitted to the Encounters of that window before --at
(lognormal by censored maximum likelihood, or stays: empirical), in the
base and in each what-if branch that does not give that section itself.

  fhir:
    ed: {types: [ER]}                              # Location.type/physicalType code,
    units:                                         #   Location id or Location.name;
      ward: {locations: [Location/w1, Location/w2]}  # a Location's parts (partOf)
      icu:  {types: [ICU], names: [Intensive care]}  # belong to its unit
    calibrate: 90d
    stays: lognormal                               # or empirical
    time_zone: Europe/Berlin                       # of the profiles (default local)

--plot draws a fan chart of each unit's daily mean occupancy (median, 50 %
and 90 % bands across replications) against its capacity; PNG or SVG by the
file extension. Results are identical for any --workers.`,
		Example: `  doppel hospital examples/hospital_ed.yaml
  doppel hospital examples/hospital_ed.yaml --json
  doppel hospital examples/hospital_surge.yaml --plot fan.png
  doppel hospital examples/hospital_forecast.yaml --plot forecast.png
  doppel hospital examples/hospital_fhir.yaml --fhir-data doppel-data`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runHospital(cmd, e, args[0], f) },
	}
	c.Flags().BoolVar(&f.json, "json", false, "print the results as JSON")
	c.Flags().StringVar(&f.plot, "plot", "", "draw the daily occupancy fan chart to `FILE` (.png or .svg)")
	c.Flags().IntVar(&f.workers, "workers", 0, "replications run at once (default: the number of CPUs)")
	f.fhir.register(c)
	return c
}

// hospitalJSON is what `doppel hospital --json` prints: the base run's
// results, then each what-if branch's paired differences and results.
type hospitalJSON struct {
	File        string  `json:"file"`
	Seed        uint64  `json:"seed"`
	HorizonDays float64 `json:"horizon_days"`
	WarmupDays  float64 `json:"warmup_days"`
	// Census says where the start state came from when it came from the
	// FHIR store (hospital_fhir.go).
	Census *censusJSON `json:"census,omitempty"`
	*hospital.Result
	WhatIf []whatIfJSON `json:"what_if,omitempty"`
}

type whatIfJSON struct {
	Name string `json:"name"`
	// Differences are branch − base, paired over replications.
	Differences []hospital.Difference `json:"differences"`
	Result      *hospital.Result      `json:"result"`
}

func runHospital(cmd *cobra.Command, e *env, path string, f hospitalFlags) error {
	var format string
	if f.plot != "" {
		var err error
		if format, err = plot.FormatOf(f.plot); err != nil {
			return usageError(fmt.Errorf("--plot: %w", err))
		}
	}
	if f.workers < 0 {
		return usageError(fmt.Errorf("--workers must be >= 0, got %d", f.workers))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return usageError(err)
	}
	hf, err := parseHospital(path, data)
	if err != nil {
		return usageError(err)
	}
	cj, err := f.fhir.census(cmd.Context(), hf)
	if err != nil {
		return err
	}
	cfg := hf.cfg
	var files outputs
	defer files.discard()
	ws, err := files.createEach(f.plot)
	if err != nil {
		return err
	}
	opt := hospital.Options{Workers: f.workers}
	var bar *progress
	runs := float64(1 + len(hf.whatIf))
	if total := runs * float64(cfg.Replications) * cfg.Horizon; e.tty && total >= 2000*24 {
		bar = newProgress(e.stderr, "hospital", total, "days", 24)
	}
	out, err := simulateHospital(cmd.Context(), path, hf, func(i int) hospital.Options {
		if bar != nil {
			done := float64(i) * float64(cfg.Replications) * cfg.Horizon
			opt.Progress = func(d, _ float64) { bar.update(done + d) }
		}
		return opt
	})
	bar.finish()
	if err != nil {
		return err
	}
	out.Census = cj
	res := out.Result
	if ws[0] != nil {
		if err := plot.WriteFan(ws[0], format, fmt.Sprintf("daily mean occupancy, %d replications (%s)", cfg.Replications, filepath.Base(path)), fanUnits(cfg, res)); err != nil {
			return fmt.Errorf("drawing %s: %w", f.plot, err)
		}
	}
	if err := files.commit(); err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(e.stderr, "doppel: warning:", w)
	}
	for _, b := range out.WhatIf {
		for _, w := range b.Result.Warnings {
			fmt.Fprintf(e.stderr, "doppel: warning: what-if %q: %s\n", b.Name, w)
		}
	}
	if f.json {
		return writeJSON(e.stdout, out)
	}
	return printHospital(e.stdout, path, cfg, out)
}

// simulateHospital runs the base model and each what-if branch of hf
// from its census, the i-th run (0: the base) with options opt(i).
func simulateHospital(ctx context.Context, path string, hf *hospitalFile, opt func(i int) hospital.Options) (hospitalJSON, error) {
	cfg := hf.cfg
	res, err := hospital.Run(ctx, cfg, hf.census, opt(0))
	if err != nil {
		return hospitalJSON{}, err
	}
	out := hospitalJSON{File: path, Seed: cfg.Seed, HorizonDays: cfg.Horizon / 24, WarmupDays: cfg.Warmup / 24, Result: res}
	for i, w := range hf.whatIf {
		r, err := hospital.Run(ctx, w.cfg, hf.census, opt(i+1))
		if err != nil {
			return hospitalJSON{}, err
		}
		diffs, err := hospital.Compare(res, r)
		if err != nil {
			return hospitalJSON{}, err
		}
		out.WhatIf = append(out.WhatIf, whatIfJSON{Name: w.name, Differences: diffs, Result: r})
	}
	return out, nil
}

func fanUnits(cfg *hospital.Config, res *hospital.Result) []plot.FanUnit {
	all := append([]hospital.UnitResult{res.ED.UnitResult}, res.Units...)
	out := make([]plot.FanUnit, len(all))
	for i, u := range all {
		fu := plot.FanUnit{Name: u.Name}
		for _, b := range u.Daily {
			// The capacity in force at the end of the day.
			end := cfg.Warmup + 24*float64(b.Day)
			c, at := float64(u.Capacity), -1.0
			for _, cc := range cfg.CapacityChanges {
				if cc.Unit+1 == i && cc.At <= end && cc.At >= at {
					c, at = float64(cc.Capacity), cc.At
				}
			}
			fu.Capacity = append(fu.Capacity, c)
			fu.Day = append(fu.Day, float64(b.Day)+cfg.Warmup/24)
			fu.P5, fu.P25, fu.P50, fu.P75, fu.P95 = append(fu.P5, b.P5), append(fu.P25, b.P25), append(fu.P50, b.P50), append(fu.P75, b.P75), append(fu.P95, b.P95)
		}
		out[i] = fu
	}
	return out
}

func printHospital(w io.Writer, path string, cfg *hospital.Config, out hospitalJSON) error {
	res := out.Result
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s: %d replications × %g days (%g-day warm-up), seed %d, %d events\n",
		path, cfg.Replications, cfg.Horizon/24, cfg.Warmup/24, cfg.Seed, res.Events)
	if c := out.Census; c != nil {
		fmt.Fprintf(bw, "census from the FHIR store at %s: %d inpatients, %d in the ED", c.At, c.Used-c.EDPatients, c.EDPatients)
		if c.Unmapped > 0 {
			fmt.Fprintf(bw, "; %d Encounters in progress at Locations no unit claims were left out", c.Unmapped)
		}
		fmt.Fprintln(bw)
		if k := c.Calibration; k != nil {
			fmt.Fprintf(bw, "calibrated on %s to %s: %d ED arrivals (%.2f an hour), %d dispositions\n", k.From, k.To, k.Arrivals, k.RatePerHour, k.Routed)
		}
	}
	fmt.Fprintf(bw, "ED arrivals %.1f ± %.1f a day; ± is the 95 %% confidence half-width over replications\n\n", res.ArrivalsPerDay, res.ArrivalsPerDayHW)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "unit\tcapacity\toffered load\tmean occupancy\tP(full)\tadmissions/day\tLittle L = λW, worst rel. gap")
	for _, u := range append([]hospital.UnitResult{res.ED.UnitResult}, res.Units...) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f ± %.2f\t%.3f ± %.3f\t%.1f\t%.1e\n", u.Name, u.Capacity, u.OfferedLoad,
			u.MeanOccupancy, u.MeanOccupancyHW, u.PFull, u.PFullHW, u.AdmissionsPerDay,
			u.LittlesLaw.MaxRelErr)
	}
	tw.Flush()
	ed := res.ED
	fmt.Fprintf(bw, "\nED boarding: mean %.2f ± %.2f h, P(> 4 h) %.3f ± %.3f; wait for a cubicle %.2f ± %.2f h; %.0f waiting at the end\n",
		ed.MeanBoardingHours, ed.MeanBoardingHoursHW, ed.PBoardingOver4h, ed.PBoardingOver4hHW, ed.MeanWaitHours, ed.MeanWaitHoursHW, ed.WaitingAtEnd)
	if len(cfg.Electives) > 0 {
		fmt.Fprintf(bw, "electives cancelled: %.1f per replication\n", res.ElectivesCancelled)
	}
	for _, x := range res.Warnings {
		fmt.Fprintf(bw, "warning: %s\n", x)
	}
	for _, b := range out.WhatIf {
		fmt.Fprintf(bw, "\nwhat-if %q minus base (paired over the same patients):\n", b.Name)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		for _, d := range b.Differences {
			fmt.Fprintf(tw, "  %s\t%s\t%+.3f ± %.3f\n", d.Name, d.Metric, d.Mean, d.HW)
		}
		tw.Flush()
	}
	return bw.Flush()
}

// Hospital files are decoded with the strict decoder of scenario files:
// every problem is reported with file, line and field.

var weekdays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// hospitalFile is a decoded hospital file: the model, its start state
// (nil: an empty hospital) and the what-if branches to compare with it.
type hospitalFile struct {
	cfg    *hospital.Config
	census *hospital.State
	whatIf []whatIf
	fhir   *fhirSection // the fhir: section, if any (hospital_fhir.go)
}

// whatIf is a branch: the base configuration with some sections replaced.
type whatIf struct {
	name     string
	cfg      *hospital.Config
	replaced []string // the sections the branch gives
}

// whatIfSections are the sections a branch may replace; the others
// (horizon, warm-up, replications, seed, start, census) are shared, so that
// the branches run the same patients from the same start (common random
// numbers) and their differences can be paired.
var whatIfSections = []string{"arrivals", "ed", "routes", "units", "electives", "capacity_changes", "surges"}

// parseHospital decodes and checks a hospital file. Its error is a
// *scenario.Error.
func parseHospital(file string, data []byte) (*hospitalFile, error) {
	d := scenario.NewDecoder(file, "hospital fields (horizon, arrivals, ed, routes, units, ...)")
	root, err := d.Document(data)
	if err != nil {
		return nil, err
	}
	p := &hospitalParser{d: d}
	hf := &hospitalFile{cfg: p.config(root)}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := scenario.Resolve(root.Content[i]); k.Value == "what_if" {
			hf.whatIf = p.whatIfs(root, scenario.Resolve(root.Content[i+1]))
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	// The decoder checks everything Validate does; this is a safety net.
	for _, c := range append([]whatIf{{cfg: hf.cfg}}, hf.whatIf...) {
		if err := c.cfg.Validate(); err != nil {
			return nil, &scenario.Error{File: file, Msg: err.Error()}
		}
	}
	if err := p.state.Validate(hf.cfg); err != nil {
		return nil, &scenario.Error{File: file, Msg: err.Error()}
	}
	hf.census, hf.fhir = p.state, p.fhir
	return hf, nil
}

// whatIfs decodes the branches: each is the base file with the sections it
// gives replaced, decoded by the same rules (so messages keep their lines).
func (p *hospitalParser) whatIfs(root, n *yaml.Node) []whatIf {
	d := p.d
	const example = "[{name: more ICU beds, capacity_changes: [{unit: icu, at: 1d, capacity: 50}]}]"
	if !p.list(n, "what_if", example) {
		return nil
	}
	var out []whatIf
	names := map[string]bool{}
	for i, it := range n.Content {
		it = scenario.Resolve(it)
		path := fmt.Sprintf("what_if[%d]", i)
		if !p.mapping(it, path, "{name: more ICU beds, capacity_changes: [{unit: icu, at: 1d, capacity: 50}]}") {
			continue
		}
		f := d.Fields(it, path, append([]string{"name"}, whatIfSections...))
		var name string
		if x, ok := d.Required(it, f, "name", path, "name: more ICU beds"); ok {
			if name, ok = d.Str(x, path+".name", "a name for the branch"); ok && names[name] {
				d.Errorf(x, path+".name", "duplicate branch name %q", name)
			}
			names[name] = true
		}
		// The merged document: the base's sections, the branch's instead
		// where it gives them; no census or branches of its own.
		merged := &yaml.Node{Kind: yaml.MappingNode, Line: it.Line}
		for j := 0; j+1 < len(root.Content); j += 2 {
			k := scenario.Resolve(root.Content[j])
			if _, replaced := f[k.Value]; replaced || k.Value == "what_if" || k.Value == "census" || k.Value == "fhir" {
				continue
			}
			merged.Content = append(merged.Content, root.Content[j], root.Content[j+1])
		}
		var replaced []string
		for _, sec := range whatIfSections {
			if x, ok := f[sec]; ok {
				merged.Content = append(merged.Content, x.Key, x.Val)
				replaced = append(replaced, sec)
			}
		}
		if x, ok := f["units"]; ok {
			var keys []string
			for j := 0; x.Val.Kind == yaml.MappingNode && j+1 < len(x.Val.Content); j += 2 {
				keys = append(keys, scenario.Resolve(x.Val.Content[j]).Value)
			}
			if !slices.Equal(keys, p.units) {
				d.Errorf(x.Val, path+".units", "must name the same units in the same order as the base (%s): change beds and stays, not the units", strings.Join(p.units, ", "))
				continue
			}
		}
		bp := &hospitalParser{d: d}
		out = append(out, whatIf{name: name, cfg: bp.config(merged), replaced: replaced})
	}
	return out
}

type hospitalParser struct {
	d     *scenario.Decoder
	units []string        // unit names in file order
	state *hospital.State // the census, if the file has one
	fhir  *fhirSection    // the fhir: section, if the file has one
}

func (p *hospitalParser) mapping(n *yaml.Node, field, example string) bool {
	if n.Kind != yaml.MappingNode {
		p.d.Errorf(n, field, "must be a mapping such as %s, got %s", example, scenario.Describe(n))
		return false
	}
	return true
}

func (p *hospitalParser) list(n *yaml.Node, field, example string) bool {
	if n.Kind != yaml.SequenceNode {
		p.d.Errorf(n, field, "must be a list such as %s, got %s", example, scenario.Describe(n))
		return false
	}
	return true
}

// hours decodes a duration (3h, 4d, 1d12h) as hours, > 0 or, with zero,
// >= 0.
func (p *hospitalParser) hours(n *yaml.Node, field string, zero bool) (float64, bool) {
	const want = "a duration such as 90m, 36h or 3d"
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		p.d.Errorf(n, field, "must be %s, got the bare number %s (give a unit)", want, n.Value)
		return 0, false
	}
	s, ok := p.d.Str(n, field, want)
	if !ok {
		return 0, false
	}
	v, err := scenario.ParseDuration(s)
	if err != nil {
		p.d.Errorf(n, field, "must be %s, got %q", want, s)
		return 0, false
	}
	h := v.Hours()
	if h < 0 || (h == 0 && !zero) {
		p.d.Errorf(n, field, "must be a positive duration, got %s", s)
		return 0, false
	}
	return h, true
}

func (p *hospitalParser) config(root *yaml.Node) *hospital.Config {
	d := p.d
	f := d.Fields(root, "", []string{"horizon", "warmup", "replications", "seed", "start", "arrivals", "ed", "routes", "units", "electives", "capacity_changes", "surges", "census", "what_if", "fhir"})
	cfg := &hospital.Config{Replications: 20, Seed: 1}
	if n, ok := d.Required(root, f, "horizon", "", "horizon: 365d"); ok {
		if h, ok := p.hours(n, "horizon", false); ok {
			if h > hospital.MaxHorizon {
				d.Errorf(n, "horizon", "must be at most %g days, got %g", hospital.MaxHorizon/24, h/24)
			}
			cfg.Horizon = h
		}
	}
	if x, ok := f["warmup"]; ok {
		if h, ok := p.hours(x.Val, "warmup", true); ok {
			if cfg.Horizon > 0 && h >= cfg.Horizon {
				d.Errorf(x.Val, "warmup", "must be shorter than the horizon (%g days), got %g days", cfg.Horizon/24, h/24)
			}
			cfg.Warmup = h
		}
	}
	if x, ok := f["replications"]; ok {
		cfg.Replications, _ = d.WholeNumber(x.Val, "replications", 2, hospital.MaxReplications)
	}
	if x, ok := f["seed"]; ok {
		if s, ok := d.WholeNumber(x.Val, "seed", 0, 1<<62); ok {
			cfg.Seed = uint64(s)
		}
	}
	if x, ok := f["start"]; ok && p.mapping(x.Val, "start", "{weekday: monday, hour: 8}") {
		sf := d.Fields(x.Val, "start", []string{"weekday", "hour"})
		day, hour := 0, 0.0
		if y, ok := sf["weekday"]; ok {
			if s, ok := p.weekday(y.Val, "start.weekday"); ok {
				day = s
			}
		}
		if y, ok := sf["hour"]; ok {
			hour, _ = d.Number(y.Val, "start.hour", 0, 23.999999, "h")
		}
		cfg.StartHourOfWeek = float64(day)*24 + hour
	}
	// Units first: routes, transfers, electives and surges name them.
	if n, ok := d.Required(root, f, "units", "", "units: {ward: {beds: 210, los: {dist: lognormal, mean: 4d, sd: 3d}}}"); ok {
		p.unitList(n, cfg)
	}
	if n, ok := d.Required(root, f, "arrivals", "", "arrivals: {rate_per_hour: 10}"); ok && p.mapping(n, "arrivals", "{rate_per_hour: 10}") {
		af := d.Fields(n, "arrivals", []string{"rate_per_hour", "hour_of_day", "day_of_week"})
		if y, ok := d.Required(n, af, "rate_per_hour", "arrivals", "rate_per_hour: 10"); ok {
			cfg.Arrivals.RatePerHour, _ = d.Number(y, "arrivals.rate_per_hour", 0, 1e6, "patients/h")
		}
		if y, ok := af["hour_of_day"]; ok {
			cfg.Arrivals.HourOfDay = p.profile(y.Val, "arrivals.hour_of_day", 24)
		}
		if y, ok := af["day_of_week"]; ok {
			cfg.Arrivals.DayOfWeek = p.profile(y.Val, "arrivals.day_of_week", 7)
		}
	}
	if n, ok := d.Required(root, f, "ed", "", "ed: {cubicles: 40, treatment: {dist: exponential, mean: 3h}}"); ok && p.mapping(n, "ed", "{cubicles: 40, treatment: {dist: exponential, mean: 3h}}") {
		ef := d.Fields(n, "ed", []string{"cubicles", "treatment"})
		if y, ok := d.Required(n, ef, "cubicles", "ed", "cubicles: 40"); ok {
			cfg.ED.Cubicles, _ = d.WholeNumber(y, "ed.cubicles", 0, hospital.MaxCapacity)
		}
		if y, ok := d.Required(n, ef, "treatment", "ed", "treatment: {dist: exponential, mean: 3h}"); ok {
			cfg.ED.Treatment = p.dist(y, "ed.treatment")
		}
	}
	if x, ok := f["routes"]; ok {
		if probs, ok := p.probs(x.Val, "routes"); ok {
			for u, pr := range probs {
				cfg.Units[u].Route = pr
			}
		}
	}
	if x, ok := f["electives"]; ok {
		p.electives(x.Val, cfg)
	}
	if x, ok := f["capacity_changes"]; ok {
		p.capacityChanges(x.Val, cfg)
	}
	if x, ok := f["surges"]; ok {
		p.surges(x.Val, cfg)
	}
	if x, ok := f["census"]; ok {
		p.state = p.census(x.Val)
	}
	if x, ok := f["fhir"]; ok {
		p.fhir = p.fhirSection(x.Val) // hospital_fhir.go
	}
	return cfg
}

// census decodes the start state: per unit the elapsed stays of its
// inpatients, and the ED's patients.
func (p *hospitalParser) census(n *yaml.Node) *hospital.State {
	d := p.d
	const example = "{icu: [2d, 5h], ed: {in_treatment: [1h], boarding: {icu: [2h]}, waiting: 3}}"
	if !p.mapping(n, "census", example) {
		return nil
	}
	st := &hospital.State{}
	f := d.FieldsOf(n, "census", "unit", append([]string{"ed"}, p.units...))
	for u, name := range p.units {
		if x, ok := f[name]; ok {
			for _, e := range p.stays(x.Val, "census."+name) {
				st.Inpatients = append(st.Inpatients, hospital.Inpatient{Unit: u, Elapsed: e})
			}
		}
	}
	x, ok := f["ed"]
	if !ok || !p.mapping(x.Val, "census.ed", "{in_treatment: [1h], boarding: {icu: [2h]}, waiting: 3}") {
		return st
	}
	ef := d.Fields(x.Val, "census.ed", []string{"in_treatment", "boarding", "waiting"})
	if y, ok := ef["in_treatment"]; ok {
		for _, e := range p.stays(y.Val, "census.ed.in_treatment") {
			st.InTreatment = append(st.InTreatment, hospital.EDPatient{Elapsed: e})
		}
	}
	if y, ok := ef["boarding"]; ok && p.mapping(y.Val, "census.ed.boarding", "{icu: [2h], ward: [1h]}") {
		bf := d.FieldsOf(y.Val, "census.ed.boarding", "unit", p.units)
		for u, name := range p.units {
			if z, ok := bf[name]; ok {
				for _, w := range p.stays(z.Val, "census.ed.boarding."+name) {
					st.Boarding = append(st.Boarding, hospital.Boarder{Unit: u, Waited: w})
				}
			}
		}
	}
	if y, ok := ef["waiting"]; ok {
		st.Waiting, _ = d.WholeNumber(y.Val, "census.ed.waiting", 0, hospital.MaxCapacity)
	}
	return st
}

// stays decodes elapsed times: a list of durations, one per patient, or
// {patients: N, elapsed: D} for N patients with the same elapsed time, or
// a list mixing both.
func (p *hospitalParser) stays(n *yaml.Node, field string) []float64 {
	d := p.d
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]float64, 0, len(n.Content))
		for i, c := range n.Content {
			c = scenario.Resolve(c)
			path := fmt.Sprintf("%s[%d]", field, i)
			if c.Kind == yaml.MappingNode {
				out = append(out, p.stays(c, path)...)
			} else if h, ok := p.hours(c, path, true); ok {
				out = append(out, h)
			}
		}
		return out
	case yaml.MappingNode:
		f := d.Fields(n, field, []string{"patients", "elapsed"})
		var k int
		var h float64
		if x, ok := d.Required(n, f, "patients", field, "patients: 30"); ok {
			k, _ = d.WholeNumber(x, field+".patients", 0, hospital.MaxCapacity)
		}
		if x, ok := d.Required(n, f, "elapsed", field, "elapsed: 2d"); ok {
			h, _ = p.hours(x, field+".elapsed", true)
		}
		out := make([]float64, k)
		for i := range out {
			out[i] = h
		}
		return out
	}
	d.Errorf(n, field, "must be a list of elapsed times such as [2d, 5h] or {patients: 30, elapsed: 2d}, got %s", scenario.Describe(n))
	return nil
}

func (p *hospitalParser) weekday(n *yaml.Node, field string) (int, bool) {
	s, ok := p.d.Str(n, field, "a weekday such as monday or mon")
	if !ok {
		return 0, false
	}
	for i, w := range weekdays {
		if strings.EqualFold(s, w) || strings.EqualFold(s, w[:3]) {
			return i, true
		}
	}
	p.d.Errorf(n, field, "unknown weekday %q; valid: %s (or their first three letters)", s, strings.Join(weekdays, ", "))
	return 0, false
}

func (p *hospitalParser) profile(n *yaml.Node, field string, want int) []float64 {
	if !p.list(n, field, fmt.Sprintf("a list of %d multipliers", want)) {
		return nil
	}
	if len(n.Content) != want {
		p.d.Errorf(n, field, "must have %d multipliers, got %d", want, len(n.Content))
		return nil
	}
	out := make([]float64, want)
	for i, c := range n.Content {
		out[i], _ = p.d.Number(scenario.Resolve(c), fmt.Sprintf("%s[%d]", field, i), 0, 1e6, "")
	}
	return out
}

func (p *hospitalParser) unitList(n *yaml.Node, cfg *hospital.Config) {
	d := p.d
	const example = "{ward: {beds: 210, los: {dist: lognormal, mean: 4d, sd: 3d}}}"
	if !p.mapping(n, "units", example) {
		return
	}
	if len(n.Content) == 0 {
		d.Errorf(n, "units", "at least one unit is needed, e.g. %s", example)
		return
	}
	// Names first, so that a transfer may name a later unit.
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := scenario.Resolve(n.Content[i])
		name, ok := d.Str(k, "units", "a unit name")
		if !ok {
			name = fmt.Sprintf("#%d", i/2)
		} else if strings.EqualFold(name, "ed") {
			d.Errorf(k, "units.ed", "the ED is configured under ed:, not as a unit")
		} else if line, dup := seen[name]; dup {
			d.Errorf(k, "units."+name, "duplicate unit (first given on line %d)", line)
		}
		seen[name] = k.Line
		p.units = append(p.units, name)
		cfg.Units = append(cfg.Units, hospital.Unit{Name: name})
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		u := i / 2
		path := "units." + p.units[u]
		v := scenario.Resolve(n.Content[i+1])
		if !p.mapping(v, path, "{beds: 210, los: {dist: lognormal, mean: 4d, sd: 3d}}") {
			continue
		}
		uf := d.Fields(v, path, []string{"beds", "los", "transfer", "discharge_hours"})
		unit := &cfg.Units[u]
		if y, ok := d.Required(v, uf, "beds", path, "beds: 210"); ok {
			unit.Beds, _ = d.WholeNumber(y, path+".beds", 0, hospital.MaxCapacity)
		}
		if y, ok := d.Required(v, uf, "los", path, "los: {dist: lognormal, mean: 4d, sd: 3d}"); ok {
			unit.LOS = p.dist(y, path+".los")
		}
		if y, ok := uf["transfer"]; ok && p.mapping(y.Val, path+".transfer", "{to: ward, p: 0.5}") {
			tf := d.Fields(y.Val, path+".transfer", []string{"to", "p"})
			t := &hospital.Transfer{}
			to := false // a valid target: only then can transfers form a cycle
			if z, ok := d.Required(y.Val, tf, "to", path+".transfer", "to: ward"); ok {
				if j, ok := p.unit(z, path+".transfer.to", false); ok {
					if j == u {
						d.Errorf(z, path+".transfer.to", "a unit cannot transfer to itself")
					} else {
						t.To, to = j, true
					}
				}
			}
			if z, ok := d.Required(y.Val, tf, "p", path+".transfer", "p: 0.5"); ok {
				t.P, _ = d.Number(z, path+".transfer.p", 0, 1, "")
			}
			if to {
				unit.Transfer = t
			}
		}
		if y, ok := uf["discharge_hours"]; ok && p.list(y.Val, path+".discharge_hours", "[8, 20]") {
			if len(y.Val.Content) != 2 {
				d.Errorf(y.Val, path+".discharge_hours", "must be [from, to] hours of the day such as [8, 20], got %d values", len(y.Val.Content))
			} else {
				from, ok1 := d.Number(scenario.Resolve(y.Val.Content[0]), path+".discharge_hours[0]", 0, 23.999999, "h")
				to, ok2 := d.Number(scenario.Resolve(y.Val.Content[1]), path+".discharge_hours[1]", 0, 24, "h")
				if ok1 && ok2 && to <= from {
					d.Errorf(y.Val, path+".discharge_hours", "must have from < to, got [%g, %g]", from, to)
				}
				unit.DischargeFrom, unit.DischargeTo = from, to
			}
		}
	}
	if hasTransferCycle(cfg.Units) {
		d.Errorf(n, "units", "transfers form a cycle (a patient could move between units forever)")
	}
}

func hasTransferCycle(units []hospital.Unit) bool {
	for i := range units {
		j, steps := i, 0
		for units[j].Transfer != nil && steps <= len(units) {
			j = units[j].Transfer.To
			steps++
		}
		if steps > len(units) {
			return true
		}
	}
	return false
}

// unit decodes a unit name (or "ed" when ed is set, as hospital.EDUnit).
func (p *hospitalParser) unit(n *yaml.Node, field string, ed bool) (int, bool) {
	valid := p.units
	if ed {
		valid = append([]string{"ed"}, p.units...)
	}
	s, ok := p.d.Name(n, field, "unit", valid)
	if !ok {
		return 0, false
	}
	if s == "ed" && ed {
		return hospital.EDUnit, true
	}
	for i, u := range p.units {
		if u == s {
			return i, true
		}
	}
	return 0, false
}

// probs decodes a mapping of unit names to probabilities summing to at
// most 1.
func (p *hospitalParser) probs(n *yaml.Node, field string) (map[int]float64, bool) {
	d := p.d
	if !p.mapping(n, field, "{ward: 0.20, icu: 0.05}") {
		return nil, false
	}
	f := d.FieldsOf(n, field, "unit", p.units)
	out := map[int]float64{}
	sum := 0.0
	ok := true
	for i, name := range p.units {
		x, given := f[name]
		if !given {
			continue
		}
		v, good := d.Number(x.Val, field+"."+name, 0, 1, "")
		ok = ok && good
		out[i] = v
		sum += v
	}
	if ok && sum > 1+1e-9 {
		d.Errorf(n, field, "the probabilities sum to %g; they must sum to at most 1 (the rest go home)", sum)
		return nil, false
	}
	return out, ok
}

func (p *hospitalParser) dist(n *yaml.Node, field string) des.Dist {
	d := p.d
	if !p.mapping(n, field, "{dist: lognormal, mean: 4d, sd: 3d}") {
		return nil
	}
	f := d.Fields(n, field, []string{"dist", "mean", "sd", "values"})
	kn, ok := d.Required(n, f, "dist", field, "dist: lognormal")
	if !ok {
		return nil
	}
	kind, ok := d.Name(kn, field+".dist", "distribution", []string{"exponential", "lognormal", "gamma", "empirical"})
	if !ok {
		return nil
	}
	allowed := map[string][]string{"exponential": {"mean"}, "lognormal": {"mean", "sd"}, "gamma": {"mean", "sd"}, "empirical": {"values"}}[kind]
	for _, k := range []string{"mean", "sd", "values"} {
		if x, given := f[k]; given && !slices.Contains(allowed, k) {
			d.Errorf(x.Key, field+"."+k, "not a parameter of the %s distribution (it takes %s)", kind, strings.Join(allowed, ", "))
			return nil
		}
	}
	param := func(name, example string) (float64, bool) {
		x, ok := d.Required(n, f, name, field, example)
		if !ok {
			return 0, false
		}
		return p.hours(x, field+"."+name, false)
	}
	var dist des.Dist
	var err error
	switch kind {
	case "exponential":
		m, ok := param("mean", "mean: 3h")
		if !ok {
			return nil
		}
		dist, err = des.NewExponential(m)
	case "lognormal", "gamma":
		m, ok1 := param("mean", "mean: 4d")
		s, ok2 := param("sd", "sd: 3d")
		if !ok1 || !ok2 {
			return nil
		}
		if kind == "lognormal" {
			dist, err = des.NewLogNormal(m, s)
		} else {
			dist, err = des.NewGammaMeanSD(m, s)
		}
	case "empirical":
		x, ok := d.Required(n, f, "values", field, "values: [2d, 3d, 36h]")
		if !ok || !p.list(x, field+".values", "[2d, 3d, 36h]") {
			return nil
		}
		if len(x.Content) == 0 {
			d.Errorf(x, field+".values", "must hold at least one duration")
			return nil
		}
		vals := make([]float64, len(x.Content))
		for i, c := range x.Content {
			if vals[i], ok = p.hours(scenario.Resolve(c), fmt.Sprintf("%s.values[%d]", field, i), false); !ok {
				return nil
			}
		}
		dist, err = des.NewEmpirical(vals)
	}
	if err != nil {
		d.Errorf(n, field, "%s", strings.TrimPrefix(err.Error(), "des: "))
		return nil
	}
	return dist
}

// mappings calls fn for each mapping of the list n (the value of key),
// with its path ("key[i]"); a value that is not a list, or an item that is
// not a mapping, is reported with example, the shape of one item.
func (p *hospitalParser) mappings(n *yaml.Node, key, example string, fn func(it *yaml.Node, path string)) {
	if !p.list(n, key, "["+example+"]") {
		return
	}
	for i, it := range n.Content {
		it = scenario.Resolve(it)
		path := fmt.Sprintf("%s[%d]", key, i)
		if p.mapping(it, path, example) {
			fn(it, path)
		}
	}
}

func (p *hospitalParser) electives(n *yaml.Node, cfg *hospital.Config) {
	d := p.d
	p.mappings(n, "electives", "{unit: ward, per_day: 5, hour: 8}", func(it *yaml.Node, path string) {
		f := d.Fields(it, path, []string{"unit", "per_day", "hour", "weekdays", "cancel_if_full"})
		var e hospital.Elective
		if x, ok := d.Required(it, f, "unit", path, "unit: ward"); ok {
			e.Unit, _ = p.unit(x, path+".unit", false)
		}
		if x, ok := d.Required(it, f, "per_day", path, "per_day: 5"); ok {
			e.PerDay, _ = d.WholeNumber(x, path+".per_day", 0, hospital.MaxCapacity)
		}
		if x, ok := d.Required(it, f, "hour", path, "hour: 8"); ok {
			e.Hour, _ = d.Number(x, path+".hour", 0, 23.999999, "h")
		}
		if x, ok := f["weekdays"]; ok && p.list(x.Val, path+".weekdays", "[mon, tue, wed, thu, fri]") {
			e.Weekdays = []int{}
			for j, c := range x.Val.Content {
				if w, ok := p.weekday(scenario.Resolve(c), fmt.Sprintf("%s.weekdays[%d]", path, j)); ok {
					e.Weekdays = append(e.Weekdays, w)
				}
			}
			if len(x.Val.Content) == 0 {
				d.Errorf(x.Val, path+".weekdays", "must name at least one day (leave it out for every day)")
			}
		}
		if x, ok := f["cancel_if_full"]; ok {
			e.CancelIfFull, _ = d.Boolean(x.Val, path+".cancel_if_full")
		}
		cfg.Electives = append(cfg.Electives, e)
	})
}

func (p *hospitalParser) capacityChanges(n *yaml.Node, cfg *hospital.Config) {
	d := p.d
	p.mappings(n, "capacity_changes", "{unit: icu, at: 10d, capacity: 50}", func(it *yaml.Node, path string) {
		f := d.Fields(it, path, []string{"unit", "at", "capacity"})
		var c hospital.CapacityChange
		if x, ok := d.Required(it, f, "unit", path, "unit: icu"); ok {
			c.Unit, _ = p.unit(x, path+".unit", true)
		}
		if x, ok := d.Required(it, f, "at", path, "at: 10d"); ok {
			c.At, _ = p.hours(x, path+".at", true)
		}
		if x, ok := d.Required(it, f, "capacity", path, "capacity: 50"); ok {
			c.Capacity, _ = d.WholeNumber(x, path+".capacity", 0, hospital.MaxCapacity)
		}
		cfg.CapacityChanges = append(cfg.CapacityChanges, c)
	})
}

func (p *hospitalParser) surges(n *yaml.Node, cfg *hospital.Config) {
	d := p.d
	p.mappings(n, "surges", "{at: 20d, duration: 6h, patients: 100}", func(it *yaml.Node, path string) {
		f := d.Fields(it, path, []string{"at", "duration", "patients", "mix"})
		var s hospital.Surge
		if x, ok := d.Required(it, f, "at", path, "at: 20d"); ok {
			s.At, _ = p.hours(x, path+".at", true)
		}
		if x, ok := d.Required(it, f, "duration", path, "duration: 6h"); ok {
			s.Duration, _ = p.hours(x, path+".duration", false)
		}
		if x, ok := d.Required(it, f, "patients", path, "patients: 100"); ok {
			s.Patients, _ = d.WholeNumber(x, path+".patients", 0, hospital.MaxCapacity)
		}
		if x, ok := f["mix"]; ok {
			if probs, ok := p.probs(x.Val, path+".mix"); ok {
				s.Mix = make([]float64, len(cfg.Units))
				for u, pr := range probs {
					s.Mix[u] = pr
				}
			}
		}
		cfg.Surges = append(cfg.Surges, s)
	})
}
