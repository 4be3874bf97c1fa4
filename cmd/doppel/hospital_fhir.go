package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/doppelhealth/doppel/des"
	"github.com/doppelhealth/doppel/hospital"
	"github.com/doppelhealth/doppel/internal/census"
	"github.com/doppelhealth/doppel/internal/scenario"
)

// The fhir: section of a hospital file and --fhir-data: the census (and,
// if asked, the calibration) comes from the FHIR store (package census).
//
//	fhir:
//	  ed: {types: [ER]}                 # the ED's Locations
//	  units:                            # each unit's Locations:
//	    ward: {locations: [Location/w1, Location/w2]}   # by id,
//	    icu:  {types: [ICU], names: [Intensive care]}   # type code or name
//	  calibrate: 90d                    # fit arrivals, routes, stays to the last 90 days
//	  stays: lognormal                  # or empirical: how stays are fitted
//	  time_zone: Europe/Berlin          # of the arrival profiles (default: local)

// fhirSection is a decoded fhir: section.
type fhirSection struct {
	mapping   census.Mapping
	calibrate float64 // window, h; 0: no calibration
	empirical bool    // stays: empirical
	zone      *time.Location
}

// fhirFlags are doppel hospital's store flags.
type fhirFlags struct {
	data    string
	keyFile string
	at      string
}

func (f *fhirFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.data, "fhir-data", "", "take the census from the FHIR store in data directory `DIR` (as doppel serve --data); the file's fhir: section maps Locations to units")
	c.Flags().StringVar(&f.keyFile, "encryption-key-file", "", "with --fhir-data: the store is encrypted with the key in `FILE`")
	c.Flags().StringVar(&f.at, "at", "", "with --fhir-data: the census time, RFC 3339 (default: now)")
}

func (p *hospitalParser) fhirSection(n *yaml.Node) *fhirSection {
	d := p.d
	const example = "{ed: {types: [ER]}, units: {ward: {locations: [Location/w1]}}}"
	if !p.mapping(n, "fhir", example) {
		return nil
	}
	f := d.Fields(n, "fhir", []string{"ed", "units", "calibrate", "stays", "time_zone"})
	fs := &fhirSection{mapping: census.Mapping{Units: map[string]census.Match{}}, zone: time.Local}
	if x, ok := f["ed"]; ok {
		fs.mapping.ED = p.match(x.Val, "fhir.ed")
	}
	if x, ok := d.Required(n, f, "units", "fhir", "units: {ward: {locations: [Location/w1]}}"); ok && p.mapping(x, "fhir.units", "{ward: {locations: [Location/w1]}}") {
		uf := d.FieldsOf(x, "fhir.units", "unit", p.units)
		for _, name := range p.units {
			if y, ok := uf[name]; ok {
				fs.mapping.Units[name] = p.match(y.Val, "fhir.units."+name)
			}
		}
	}
	if x, ok := f["calibrate"]; ok {
		fs.calibrate, _ = p.hours(x.Val, "fhir.calibrate", false)
	}
	if x, ok := f["stays"]; ok {
		if s, ok := d.Name(x.Val, "fhir.stays", "fit", []string{"lognormal", "empirical"}); ok {
			fs.empirical = s == "empirical"
		}
	}
	if x, ok := f["time_zone"]; ok {
		if s, ok := d.Str(x.Val, "fhir.time_zone", "an IANA time zone such as Europe/Berlin"); ok {
			z, err := time.LoadLocation(s)
			if err != nil {
				d.Errorf(x.Val, "fhir.time_zone", "unknown time zone %q (want an IANA name such as Europe/Berlin or UTC)", s)
			} else {
				fs.zone = z
			}
		}
	}
	return fs
}

// match decodes a unit's Location rules.
func (p *hospitalParser) match(n *yaml.Node, field string) census.Match {
	d := p.d
	const example = "{locations: [Location/w1], types: [ICU], names: [Ward 1]}"
	var m census.Match
	if !p.mapping(n, field, example) {
		return m
	}
	f := d.Fields(n, field, []string{"locations", "types", "names"})
	list := func(name string) []string {
		x, ok := f[name]
		if !ok || !p.list(x.Val, field+"."+name, "[a, b]") {
			return nil
		}
		var out []string
		for i, c := range x.Val.Content {
			if s, ok := d.Str(scenario.Resolve(c), fmt.Sprintf("%s.%s[%d]", field, name, i), "a string"); ok {
				out = append(out, s)
			}
		}
		return out
	}
	m.Locations, m.Types, m.Names = list("locations"), list("types"), list("names")
	if len(m.Locations)+len(m.Types)+len(m.Names) == 0 {
		d.Errorf(n, field, "names no Locations: give locations, types or names, e.g. %s", example)
	}
	return m
}

// census fills hf's start state from the store of --fhir-data, if given.
func (f fhirFlags) census(ctx context.Context, hf *hospitalFile) (*censusJSON, error) {
	if f.data == "" {
		if f.keyFile != "" || f.at != "" {
			return nil, usageError(errors.New("--encryption-key-file and --at go with --fhir-data"))
		}
		if hf.fhir != nil {
			return nil, usageError(errors.New("the file's fhir: section needs --fhir-data DIR, the store to take the census from"))
		}
		return nil, nil
	}
	at := time.Now()
	if f.at != "" {
		t, err := time.Parse(time.RFC3339, f.at)
		if err != nil {
			return nil, usageError(fmt.Errorf("--at %q: want an RFC 3339 time such as 2026-03-02T12:00:00Z", f.at))
		}
		at = t
	}
	if hf.fhir == nil {
		return nil, usageError(errors.New("--fhir-data needs a fhir: section in the file that maps Locations to units"))
	}
	if hf.census != nil {
		return nil, usageError(errors.New("--fhir-data takes the census from the store: remove the file's census: section"))
	}
	if _, err := os.Stat(f.data); err != nil {
		return nil, usageError(fmt.Errorf("--fhir-data: %w", err))
	}
	st, _, err := openStore(ctx, storeFlags{data: f.data, kind: "sqlite", keyFile: f.keyFile})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	cj, err := fromFHIR(ctx, census.NewStoreSource(st), hf, at)
	if err != nil {
		return nil, usageError(err)
	}
	return cj, nil
}

// censusJSON is the census part of `doppel hospital --json` when the
// census came from the store.
type censusJSON struct {
	Source      string           `json:"source"` // "fhir"
	At          string           `json:"at"`
	Encounters  int              `json:"encounters"` // read
	Used        int              `json:"used"`       // in the census
	Unmapped    int              `json:"unmapped"`   // in progress at a Location no unit claims
	Inpatients  map[string]int   `json:"inpatients"` // per unit
	EDPatients  int              `json:"ed_patients"`
	Calibration *calibrationJSON `json:"calibration,omitempty"`
}

type calibrationJSON struct {
	From        string      `json:"from"`
	To          string      `json:"to"`
	Arrivals    int         `json:"ed_arrivals"`
	RatePerHour float64     `json:"rate_per_hour"`
	HourOfDay   []float64   `json:"hour_of_day"`
	DayOfWeek   []float64   `json:"day_of_week"`
	Routed      int         `json:"routed"`
	EDTreatment *losFitJSON `json:"ed_treatment,omitempty"`
	Units       []struct {
		Name  string      `json:"name"`
		Route float64     `json:"route"`
		LOS   *losFitJSON `json:"los,omitempty"`
	} `json:"units"`
}

// losFitJSON is a fitted distribution of stays: lognormal (with μ and σ
// of ln(hours)) or empirical, its mean, and the stays it was fitted to.
type losFitJSON struct {
	Dist      string   `json:"dist"`
	Mu        *float64 `json:"mu,omitempty"`
	Sigma     *float64 `json:"sigma,omitempty"`
	MeanHours float64  `json:"mean_hours"`
	Stays     int      `json:"stays"`
	Censored  int      `json:"censored"`
}

func newLOSFitJSON(f *census.Fit) *losFitJSON {
	if f == nil {
		return nil
	}
	out := &losFitJSON{Dist: "empirical", MeanHours: f.Mean, Stays: f.N, Censored: f.Censored}
	if d, ok := f.Dist.(des.LogNormal); ok {
		out.Dist, out.Mu, out.Sigma = "lognormal", &d.Mu, &d.Sigma
	}
	return out
}

// fromFHIR sets hf's census to the store's at time at, and its time 0 to
// at; with fhir.calibrate it also replaces the arrivals, routes, ED
// treatment and stays by those fitted to the window before at (in each
// what-if branch too, unless the branch gives that section itself).
func fromFHIR(ctx context.Context, src census.Source, hf *hospitalFile, at time.Time) (*censusJSON, error) {
	names := make([]string, len(hf.cfg.Units))
	for i, u := range hf.cfg.Units {
		names[i] = u.Name
	}
	r, err := census.NewResolver(ctx, src, names, hf.fhir.mapping)
	if err != nil {
		return nil, err
	}
	st, rep, err := r.Build(ctx, src, at)
	if err != nil {
		return nil, err
	}
	hf.census = st
	cj := &censusJSON{Source: "fhir", At: at.UTC().Format(time.RFC3339), Encounters: rep.Encounters, Used: rep.Used,
		Unmapped: rep.Unmapped, Inpatients: map[string]int{}, EDPatients: len(st.InTreatment)}
	for _, name := range names {
		cj.Inpatients[name] = 0
	}
	for _, p := range st.Inpatients {
		cj.Inpatients[names[p.Unit]]++
	}
	local := at.In(hf.fhir.zone)
	how := float64((int(local.Weekday())+6)%7)*24 + float64(local.Hour()) + float64(local.Minute())/60
	cfgs := []*hospital.Config{hf.cfg}
	for _, w := range hf.whatIf {
		cfgs = append(cfgs, w.cfg)
	}
	for _, c := range cfgs {
		c.StartHourOfWeek = how
	}
	if hf.fhir.calibrate > 0 {
		from := at.Add(-time.Duration(hf.fhir.calibrate * float64(time.Hour)))
		cal, _, err := r.Calibrate(ctx, src, from, at, census.CalibrateOptions{Zone: hf.fhir.zone, Empirical: hf.fhir.empirical})
		if err != nil {
			return nil, err
		}
		applyCalibration(cal, hf.cfg, nil)
		for _, w := range hf.whatIf {
			applyCalibration(cal, w.cfg, w.replaced)
		}
		cj.Calibration = newCalibrationJSON(cal)
	}
	for _, c := range cfgs {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("the calibrated model: %w", err)
		}
	}
	return cj, nil
}

// applyCalibration writes cal into c, except the sections replaced (a
// what-if branch's own arrivals, ed, routes or units stay as it gives
// them).
func applyCalibration(cal *census.Calibration, c *hospital.Config, replaced []string) {
	keep := *c
	cal.Apply(c)
	if slices.Contains(replaced, "arrivals") {
		c.Arrivals = keep.Arrivals
	}
	if slices.Contains(replaced, "ed") {
		c.ED = keep.ED
	}
	for u := range c.Units {
		if slices.Contains(replaced, "routes") {
			c.Units[u].Route = keep.Units[u].Route
		}
		if slices.Contains(replaced, "units") {
			c.Units[u].LOS = keep.Units[u].LOS
		}
	}
}

func newCalibrationJSON(c *census.Calibration) *calibrationJSON {
	out := &calibrationJSON{From: c.From.UTC().Format(time.RFC3339), To: c.To.UTC().Format(time.RFC3339),
		Arrivals: c.ArrivalsN, RatePerHour: c.Arrivals.RatePerHour, HourOfDay: c.Arrivals.HourOfDay,
		DayOfWeek: c.Arrivals.DayOfWeek, Routed: c.Routed, EDTreatment: newLOSFitJSON(c.EDTreatment)}
	out.Units = make([]struct {
		Name  string      `json:"name"`
		Route float64     `json:"route"`
		LOS   *losFitJSON `json:"los,omitempty"`
	}, len(c.Units))
	for i, u := range c.Units {
		out.Units[i].Name, out.Units[i].Route, out.Units[i].LOS = u.Name, u.Route, newLOSFitJSON(u.LOS)
	}
	return out
}
