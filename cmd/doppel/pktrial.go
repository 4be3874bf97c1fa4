package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/doppelhealth/doppel/internal/pkmodel"
	"github.com/doppelhealth/doppel/internal/plot"
)

// pkTrialFiles are the files `doppel trial --out` writes for a PK
// population; an existing output directory holding only these may be
// replaced.
var pkTrialFiles = []string{"subjects.csv", "percentiles.csv", "summary.json", "vpc.png", "vpc.svg"}

// pkBands are the percentiles of the VPC, as fractions.
var pkBands = []float64{0.05, 0.5, 0.95}

// pkStat is the median and 90 % interval of an exposure metric.
type pkStat struct {
	Median float64 `json:"median"`
	P5     float64 `json:"p5"`
	P95    float64 `json:"p95"`
}

// pkTrialSummary is what `doppel trial` prints for a PK population.
type pkTrialSummary struct {
	File     string  `json:"file"`
	Model    string  `json:"model"`
	Subjects int     `json:"subjects"`
	Seed     uint64  `json:"seed"`
	IIV      bool    `json:"iiv"`
	Residual bool    `json:"residual"`
	From     float64 `json:"window_from_h"`
	To       float64 `json:"window_to_h"`
	Cmax     pkStat  `json:"cmax_mg_L"`
	Cmin     pkStat  `json:"cmin_mg_L"`
	AUC      pkStat  `json:"auc_mg_h_L"`
	// Covariates summarises the sampled covariates by name (model units).
	Covariates map[string]pkStat `json:"covariates"`
	covOrder   []string
	// Genotypes counts the subjects of each diplotype by gene, CLFactor
	// summarises the clearance factors of genotype and inhibitor (absent
	// without either).
	Genotypes map[string]map[string]int `json:"genotypes,omitempty"`
	CLFactor  *pkStat                   `json:"cl_factor,omitempty"`
	// PD summarises each subject's smallest and largest effect on the
	// output grid in the window (absent without a PD model).
	PD *pkTrialPD `json:"pd,omitempty"`
}

// pkTrialPD is the effect summary of a PK trial with a PD model.
type pkTrialPD struct {
	Model     string `json:"model"`
	Unit      string `json:"unit,omitempty"`
	EffectMin pkStat `json:"effect_min"`
	EffectMax pkStat `json:"effect_max"`
}

func runPKTrial(ctx context.Context, e *env, path string, f trialFlags) error {
	t, err := pkmodel.LoadTrial(path)
	if err != nil {
		return usageError(err)
	}
	dir, err := newOutDir(f.out, pkTrialFiles)
	if err != nil {
		return err
	}
	defer dir.discard()
	workers := f.workerCount()
	start := time.Now()
	res, err := t.Run(ctx, workers)
	if err != nil {
		return fmt.Errorf("trial %s: %w", path, err)
	}
	fmt.Fprintf(e.stderr, "trial: %d subjects x %d times on %d workers in %s\n",
		t.Subjects, len(res.Times), min(workers, t.Subjects), time.Since(start).Round(10*time.Millisecond))
	sum := newPKTrialSummary(t, res)
	if err := dir.save(func(d *outDir) error { return writePKTrialFiles(d, f.format, t, res, sum) }); err != nil {
		return err
	}
	if f.json {
		return writeJSON(e.stdout, sum)
	}
	return printPKTrial(e.stdout, sum)
}

func newPKTrialSummary(t *pkmodel.Trial, r *pkmodel.TrialResult) pkTrialSummary {
	s := pkTrialSummary{
		File: t.File, Model: t.Model.Name, Subjects: t.Subjects, Seed: t.Seed, IIV: t.IIV, Residual: t.Residual,
		From: t.From, To: t.To, Covariates: map[string]pkStat{},
	}
	col := func(get func(m pkmodel.Metrics) float64) pkStat {
		xs := make([]float64, len(r.Metrics))
		for i, m := range r.Metrics {
			xs[i] = get(m)
		}
		var st pkStat
		st.Median, st.P5, st.P95 = pkmodel.Summarize(xs)
		return st
	}
	s.Cmax = col(func(m pkmodel.Metrics) float64 { return m.Cmax })
	s.Cmin = col(func(m pkmodel.Metrics) float64 { return m.Cmin })
	s.AUC = col(func(m pkmodel.Metrics) float64 { return m.AUC })
	for k, c := range t.Covariates {
		if c.Kind == "fixed" {
			continue
		}
		xs := make([]float64, len(r.Covariates))
		for i := range r.Covariates {
			xs[i] = r.Covariates[i][k]
		}
		var st pkStat
		st.Median, st.P5, st.P95 = pkmodel.Summarize(xs)
		s.Covariates[c.Name] = st
		s.covOrder = append(s.covOrder, c.Name)
	}
	stat := func(xs []float64) pkStat {
		var st pkStat
		st.Median, st.P5, st.P95 = pkmodel.Summarize(xs)
		return st
	}
	if r.CLFactor != nil {
		st := stat(r.CLFactor)
		s.CLFactor = &st
		s.Genotypes = map[string]map[string]int{}
		for k, g := range t.Genes {
			n := map[string]int{}
			for _, gt := range r.Genotypes {
				n[gt[k]]++
			}
			s.Genotypes[string(g.Gene)] = n
		}
	}
	if r.EffectMetrics != nil {
		lo := make([]float64, len(r.EffectMetrics))
		hi := make([]float64, len(r.EffectMetrics))
		for i, m := range r.EffectMetrics {
			lo[i], hi[i] = m.Min, m.Max
		}
		s.PD = &pkTrialPD{Model: pdName(t.PD), Unit: t.PD.Unit, EffectMin: stat(lo), EffectMax: stat(hi)}
	}
	return s
}

func printPKTrial(w io.Writer, s pkTrialSummary) error {
	iiv := "IIV from the model"
	if !s.IIV {
		iiv = "no IIV (typical subjects)"
	}
	fmt.Fprintf(w, "%s: %s, %d subjects, seed %d, %s\n\n", s.File, s.Model, s.Subjects, s.Seed, iiv)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "EXPOSURE (%s-%s h)\tMEDIAN [5-95 %%]\tUNIT\n", num6(s.From), num6(s.To))
	row := func(name string, st pkStat, unit string, prec int) {
		fmt.Fprintf(tw, "%s\t%.*f [%.*f-%.*f]\t%s\n", name, prec, st.Median, prec, st.P5, prec, st.P95, unit)
	}
	row("Cmax", s.Cmax, "mg/L", 2)
	row("Cmin", s.Cmin, "mg/L", 2)
	row("AUC", s.AUC, "mg·h/L", 1)
	for _, name := range s.covOrder {
		row(name+" (sampled)", s.Covariates[name], "", 2)
	}
	if s.CLFactor != nil {
		row("CL factor (genotype, inhibitor)", *s.CLFactor, "", 3)
	}
	if s.PD != nil {
		row("effect min (on the grid)", s.PD.EffectMin, s.PD.Unit, 2)
		row("effect max (on the grid)", s.PD.EffectMax, s.PD.Unit, 2)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.PD != nil {
		fmt.Fprintf(w, "PD: %s\n", s.PD.Model)
	}
	genes := slices.Sorted(maps.Keys(s.Genotypes))
	for _, g := range genes {
		fmt.Fprintf(w, "%s:", g)
		for _, d := range slices.Sorted(maps.Keys(s.Genotypes[g])) {
			fmt.Fprintf(w, " %s %d", d, s.Genotypes[g][d])
		}
		fmt.Fprintln(w)
	}
	return nil
}

// writePKTrialFiles writes the outputs of a PK trial into dir.
func writePKTrialFiles(dir *outDir, format string, t *pkmodel.Trial, r *pkmodel.TrialResult, sum pkTrialSummary) error {
	conc := r.Bands(pkBands, false)
	obs := r.Bands(pkBands, true)
	if err := dir.write("subjects.csv", func(w io.Writer) error { return writePKSubjects(w, t, r) }); err != nil {
		return err
	}
	eff := r.EffectBands(pkBands)
	if err := dir.write("percentiles.csv", func(w io.Writer) error { return writePKPercentiles(w, r, conc, obs, eff) }); err != nil {
		return err
	}
	if err := dir.write("summary.json", func(w io.Writer) error { return writeJSON(w, sum) }); err != nil {
		return err
	}
	recs, err := t.Records()
	if err != nil {
		return err
	}
	typ, err := pkmodel.Simulate(t.Model, typicalCovariates(t, r), nil, recs, r.Times)
	if err != nil {
		return err
	}
	v := plot.VPC{
		Title: fmt.Sprintf("%s: %d subjects (%s)", t.Model.Name, t.Subjects, filepath.Base(t.File)),
		Time:  r.Times, P5: conc[0], P50: conc[1], P95: conc[2],
		Typical: typ.Conc, Doses: t.DoseTimes(),
	}
	if obs != nil {
		v.ObsP5, v.ObsP50, v.ObsP95 = obs[0], obs[1], obs[2]
	}
	return dir.write("vpc."+format, func(w io.Writer) error { return plot.WriteVPC(w, format, v) })
}

// typicalCovariates are the covariates of the typical subject of the VPC:
// fixed values as given, sampled ones at the median of the population.
func typicalCovariates(t *pkmodel.Trial, r *pkmodel.TrialResult) map[string]float64 {
	cov := map[string]float64{}
	for k, c := range t.Covariates {
		switch c.Kind {
		case "fixed":
			cov[c.Name] = c.Value
		case "bernoulli":
			cov[c.Name] = 0
			if c.P > 0.5 {
				cov[c.Name] = 1
			}
		default:
			xs := make([]float64, len(r.Covariates))
			for i := range r.Covariates {
				xs[i] = r.Covariates[i][k]
			}
			cov[c.Name], _, _ = pkmodel.Summarize(xs)
		}
	}
	return cov
}

func fmtG(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }

// writePKSubjects writes one row per subject: covariates, η, individual
// parameters and exposure metrics.
func writePKSubjects(w io.Writer, t *pkmodel.Trial, r *pkmodel.TrialResult) error {
	var b strings.Builder
	b.WriteString("subject")
	for _, c := range r.CovNames {
		b.WriteString("," + c)
	}
	for _, n := range t.Model.IIVNames {
		b.WriteString(",eta_" + n)
	}
	for _, p := range t.Model.Params {
		b.WriteString("," + p.Name)
	}
	b.WriteString(",cmax_mg_L,tmax_h,cmin_mg_L,auc_mg_h_L")
	if r.CLFactor != nil {
		for _, g := range t.Genes {
			b.WriteString("," + string(g.Gene))
		}
		b.WriteString(",cl_factor")
	}
	if r.EffectMetrics != nil {
		b.WriteString(",effect_min,effect_max")
	}
	b.WriteByte('\n')
	for i := range r.Metrics {
		b.WriteString(strconv.Itoa(i + 1))
		for _, x := range r.Covariates[i] {
			b.WriteString("," + fmtG(x))
		}
		for _, x := range r.Eta[i] {
			b.WriteString("," + fmtG(x))
		}
		named := t.Model.PK.Named(r.Params[i])
		for _, p := range t.Model.Params {
			b.WriteString("," + fmtG(named[p.Name]))
		}
		m := r.Metrics[i]
		for _, x := range []float64{m.Cmax, m.Tmax, m.Cmin, m.AUC} {
			b.WriteString("," + fmtG(x))
		}
		if r.CLFactor != nil {
			for _, g := range r.Genotypes[i] {
				b.WriteString("," + g)
			}
			b.WriteString("," + fmtG(r.CLFactor[i]))
		}
		if r.EffectMetrics != nil {
			b.WriteString("," + fmtG(r.EffectMetrics[i].Min) + "," + fmtG(r.EffectMetrics[i].Max))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writePKPercentiles writes the per-time percentiles of the concentration
// (and of the simulated observations and the PD effect when there are
// any).
func writePKPercentiles(w io.Writer, r *pkmodel.TrialResult, conc, obs, eff [][]float64) error {
	var b strings.Builder
	b.WriteString("time_h,n,conc_p5_mg_L,conc_p50_mg_L,conc_p95_mg_L")
	if obs != nil {
		b.WriteString(",obs_p5_mg_L,obs_p50_mg_L,obs_p95_mg_L")
	}
	if eff != nil {
		b.WriteString(",effect_p5,effect_p50,effect_p95")
	}
	b.WriteByte('\n')
	for k, tk := range r.Times {
		fmt.Fprintf(&b, "%s,%d", fmtG(tk), len(r.Conc))
		for _, s := range conc {
			b.WriteString("," + fmtG(s[k]))
		}
		for _, s := range obs {
			b.WriteString("," + fmtG(s[k]))
		}
		for _, s := range eff {
			b.WriteString("," + fmtG(s[k]))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
