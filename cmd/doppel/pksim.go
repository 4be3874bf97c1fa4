package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"

	"github.com/doppelhealth/doppel/internal/pkmodel"
	"github.com/doppelhealth/doppel/internal/plot"
	"github.com/doppelhealth/doppel/model/pkpd"
)

// isPKFile reports whether the file at path names a PK model (a library
// model or a model file ending in .yaml) in its top-level model field, so
// that `doppel sim` and `doppel trial` hand it to the PK commands. Anything
// unreadable or unparsable is not PK: the t1d path reports the error.
func isPKFile(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var top struct {
		Model any `yaml:"model"`
	}
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	name, ok := top.Model.(string)
	if !ok {
		return false
	}
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || slices.Contains(pkmodel.Names(), name)
}

// pkSimJSON is what `doppel sim` prints for a PK scenario.
type pkSimJSON struct {
	File       string             `json:"file"`
	Model      string             `json:"model"`
	Citation   string             `json:"citation"`
	Patient    map[string]float64 `json:"patient"`
	Eta        map[string]float64 `json:"eta"`
	Parameters map[string]float64 `json:"parameters"`
	Units      map[string]string  `json:"units"`
	Cmax       float64            `json:"cmax_mg_L"`
	Tmax       float64            `json:"tmax_h"`
	// Cmin is the trough just before the last dose; null when there is
	// none within the run.
	Cmin     jsonFloat `json:"cmin_mg_L"`
	CminTime float64   `json:"cmin_time_h"`
	AUC      float64   `json:"auc_mg_h_L"`
	AUCUntil float64   `json:"auc_until_h"`
	// ClearanceFactors are the multipliers of CL from genotype and
	// inhibitor (already applied to Parameters), with their source.
	ClearanceFactors []pkClearanceFactor `json:"clearance_factors,omitempty"`
	// ClearanceFactor is their combination 1 − Σ(1 − factor) over distinct
	// pathways (1 without genotype or inhibitor).
	ClearanceFactor float64 `json:"clearance_factor"`
	// PD holds the effect metrics when the file has a pd model.
	PD *pkPDJSON `json:"pd,omitempty"`
	// Changes are the covariate changes (Parameters are those before the
	// first).
	Changes  []pkChangeJSON `json:"covariate_changes,omitempty"`
	order    []string
	etaNames []string
	numTimes int
}

// pkChangeJSON is one entry of a scenario's or dosing file's covariates:
// list.
type pkChangeJSON struct {
	Time   float64            `json:"time_h"`
	Values map[string]float64 `json:"values"`
}

func changesJSON(cs []pkpd.CovariateChange) []pkChangeJSON {
	var out []pkChangeJSON
	for _, c := range cs {
		out = append(out, pkChangeJSON{c.Time, c.Values})
	}
	return out
}

// printChanges notes, under a parameter table, that the covariates change.
func printChanges(w io.Writer, cs []pkChangeJSON) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintln(w, "(parameters at the start; the covariates then change:")
	for _, c := range cs {
		fmt.Fprintf(w, "  from %s h:", num6(c.Time))
		for _, k := range slices.Sorted(maps.Keys(c.Values)) {
			fmt.Fprintf(w, " %s %s", k, num6(c.Values[k]))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "  each value holding until the next change)")
}

type pkClearanceFactor struct {
	Source string  `json:"source"`
	Factor float64 `json:"factor"`
}

// pkPDJSON are the effect metrics on the output grid (effect in the user's
// effect unit).
type pkPDJSON struct {
	Model     string  `json:"model"`
	EffectMin float64 `json:"effect_min"`
	TMin      float64 `json:"effect_min_time_h"`
	EffectMax float64 `json:"effect_max"`
	TMax      float64 `json:"effect_max_time_h"`
}

func runPKSim(e *env, path string, f simFlags) error {
	var format string
	if f.plot != "" {
		var err error
		if format, err = plot.FormatOf(f.plot); err != nil {
			return usageError(fmt.Errorf("--plot: %w", err))
		}
	}
	if f.out != "" && f.out == f.plot {
		return usageError(fmt.Errorf("--out and --plot name the same file %s", f.out))
	}
	s, err := pkmodel.LoadSim(path)
	if err != nil {
		return usageError(err)
	}
	if s.Data != nil {
		return runPKData(e, s, f) // a NONMEM-style data set (pkdata.go)
	}
	recs, err := s.Records()
	if err != nil {
		return usageError(fmt.Errorf("%s: %w", path, err))
	}
	times := s.Times()
	prof, err := s.Simulate(s.Eta, recs, times)
	if err != nil {
		return fmt.Errorf("sim %s: %w", path, err)
	}
	pd, err := s.Effect(prof)
	if err != nil {
		return fmt.Errorf("sim %s: %w", path, err)
	}
	met, err := s.SimMetrics(prof)
	if err != nil {
		return fmt.Errorf("sim %s: %w", path, err)
	}

	var files outputs
	defer files.discard()
	ws, err := files.createEach(f.out, f.plot)
	if err != nil {
		return err
	}
	csvW, plotW := ws[0], ws[1]
	if csvW != nil {
		if err := writePKCSV(csvW, s.Model.CmtNames(), prof, pd); err != nil {
			return fmt.Errorf("writing %s: %w", f.out, err)
		}
	}
	if plotW != nil {
		k := plot.PK{
			Title: fmt.Sprintf("%s (%s)", s.Model.Name, filepath.Base(s.File)),
			Time:  times, Doses: s.DoseTimes(),
		}
		if slices.ContainsFunc(s.Eta, func(x float64) bool { return x != 0 }) {
			typ, err := s.Simulate(nil, recs, times)
			if err != nil {
				return err
			}
			k.PRED = typ.Conc
			k.ProposedTime, k.Proposed, k.ProposedLabel = times, prof.Conc, "individual prediction (given η)"
		} else {
			k.PRED = prof.Conc
		}
		if pd != nil {
			// The effect of the simulated (individual) profile, in a panel
			// below the concentration; Ce dashed on the concentration.
			k.Ce, k.Effect = pd.Ce, pd.Effect
			k.EffectLabel, k.EffectUnit = pdName(s.PD), s.PD.Unit
		}
		if err := plot.WritePK(plotW, format, k); err != nil {
			return fmt.Errorf("drawing %s: %w", f.plot, err)
		}
	}
	if err := files.commit(); err != nil {
		return err
	}

	out, err := pkSimOutput(s, prof, met, pd)
	if err != nil {
		return fmt.Errorf("sim %s: %w", path, err)
	}
	if f.json {
		return writeJSON(e.stdout, out)
	}
	return printPKSim(e.stdout, out)
}

// writePKCSV writes time_h, conc_mg_L, the amount in every compartment and,
// with a PD model, ce_mg_L (effect compartment only) and effect.
func writePKCSV(w io.Writer, cmts []string, p *pkmodel.Profile, pd *pkmodel.PDResult) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("time_h,conc_mg_L")
	for _, c := range cmts {
		bw.WriteString(",amount_" + c + "_mg")
	}
	if pd != nil {
		if pd.Ce != nil {
			bw.WriteString(",ce_mg_L")
		}
		bw.WriteString(",effect")
	}
	bw.WriteByte('\n')
	buf := make([]byte, 0, 128)
	for i, t := range p.Times {
		buf = strconv.AppendFloat(buf[:0], t, 'g', -1, 64)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, p.Conc[i], 'g', 10, 64)
		for c := range p.NumCmt {
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, p.Amounts[i*p.NumCmt+c], 'g', 10, 64)
		}
		if pd != nil {
			if pd.Ce != nil {
				buf = append(buf, ',')
				buf = strconv.AppendFloat(buf, pd.Ce[i], 'g', 10, 64)
			}
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, pd.Effect[i], 'g', 10, 64)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func pkSimOutput(s *pkmodel.Sim, p *pkmodel.Profile, m pkmodel.Metrics, pd *pkmodel.PDResult) (pkSimJSON, error) {
	mod := s.Model
	out := pkSimJSON{
		File: s.File, Model: mod.Name, Citation: mod.Citation.Reference + " doi:" + mod.Citation.DOI,
		Patient: s.Covariates, Eta: map[string]float64{}, Parameters: mod.PK.Named(p.Params),
		Units: map[string]string{},
		Cmax:  m.Cmax, Tmax: m.Tmax, Cmin: jsonFloat(m.Cmin), AUC: m.AUC, AUCUntil: s.Until,
		etaNames: mod.IIVNames, numTimes: len(p.Times),
	}
	for i, name := range mod.IIVNames {
		out.Eta[name] = s.Eta[i]
	}
	out.Changes = changesJSON(s.Changes)
	for _, q := range mod.Params {
		out.Units[q.Name] = q.Unit
		out.order = append(out.order, q.Name)
	}
	if ts := s.DoseTimes(); len(ts) > 0 {
		out.CminTime = ts[len(ts)-1]
	}
	fs, prod, err := s.ClearanceFactors()
	if err != nil {
		return out, err
	}
	out.ClearanceFactor = prod
	for _, f := range fs {
		out.ClearanceFactors = append(out.ClearanceFactors, pkClearanceFactor{f.Source, f.Factor})
	}
	if pd != nil {
		em := pkmodel.EffectMetrics(p.Times, pd.Effect)
		out.PD = &pkPDJSON{Model: pdName(s.PD), EffectMin: em.Min, TMin: em.TMin, EffectMax: em.Max, TMax: em.TMax}
	}
	return out, nil
}

// pdName describes the PD model for the output.
func pdName(pd *pkmodel.PD) string {
	switch {
	case pd.Model == "idr":
		return fmt.Sprintf("indirect response type %s", [...]string{"", "I", "II", "III", "IV"}[pd.IDR.Type])
	case pd.Link != nil:
		return fmt.Sprintf("sigmoid Emax of the effect-site concentration (ke0 %s 1/h)", num6(pd.Link.Ke0))
	}
	return "sigmoid Emax of the plasma concentration"
}

func printPKSim(w io.Writer, o pkSimJSON) error {
	fmt.Fprintf(w, "%s: %s, %d output times to %s h\n%s\n\n", o.File, o.Model, o.numTimes, num6(o.AUCUntil), o.Citation)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARAMETER\tVALUE\tUNIT")
	for _, name := range o.order {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, num6(o.Parameters[name]), o.Units[name])
	}
	for _, name := range o.etaNames {
		fmt.Fprintf(tw, "η(%s)\t%s\t\n", name, num6(o.Eta[name]))
	}
	tw.Flush()
	printChanges(w, o.Changes)
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Cmax\t%.3f mg/L\tat %s h (located between doses, not on the output grid)\n", o.Cmax, num6(o.Tmax))
	if math.IsNaN(float64(o.Cmin)) {
		fmt.Fprintf(tw, "Cmin\t-\t(no dose after time 0 within the run)\n")
	} else {
		fmt.Fprintf(tw, "Cmin\t%.3f mg/L\ttrough before the last dose (%s h)\n", float64(o.Cmin), num6(o.CminTime))
	}
	fmt.Fprintf(tw, "AUC0-%s\t%.1f mg·h/L\t\n", num6(o.AUCUntil), o.AUC)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(o.ClearanceFactors) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CL FACTOR\tSOURCE")
		for _, f := range o.ClearanceFactors {
			fmt.Fprintf(tw, "×%.4g\t%s\n", f.Factor, f.Source)
		}
		if len(o.ClearanceFactors) > 1 {
			fmt.Fprintf(tw, "×%.4g\tcombined, 1 − Σ(1 − factor), applied to CL above\n", o.ClearanceFactor)
		} else {
			fmt.Fprintf(tw, "\t(applied to CL above)\n")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if o.PD != nil {
		fmt.Fprintf(w, "\nPD: %s\n", o.PD.Model)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "effect min\t%s\tat %s h (on the output grid)\n", num6(o.PD.EffectMin), num6(o.PD.TMin))
		fmt.Fprintf(tw, "effect max\t%s\tat %s h\n", num6(o.PD.EffectMax), num6(o.PD.TMax))
		return tw.Flush()
	}
	return nil
}
