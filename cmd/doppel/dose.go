package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/pkmodel"
	"github.com/doppelhealth/doppel/internal/plot"
	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/model/pkpd"
)

func newDoseCmd(e *env) *cobra.Command {
	var asJSON bool
	var plotPath string
	c := &cobra.Command{
		Use:   "dose FILE.yaml",
		Short: "Recommend a regimen for a patient's target exposure (MAP Bayes + search)",
		Long: `Dose fits the patient's individual parameters as 'doppel fit' does (the
population values when FILE.yaml has no levels), then searches candidate
regimens (doses in multiples of target.round_to, every interval of
target.every, infused over target.infusion or as the last dose given) for
the steady-state exposure closest to the target, and prints the
recommendation with its predicted AUC24, trough and peak, and the next best
candidates.

The target (see 'doppel fit --help' for the file) is one of
  auc24: 500 mg.h/L              steady-state AUC over 24 h
  trough: [10 mg/L, 15 mg/L]     steady-state pre-dose level (value or window)
  peak: 20 mg/L                  steady-state maximum
with round_to: 250 mg (dose step), every: 12 h or [8 h, 12 h, 24 h]
(candidate intervals) and optionally infusion: 1 h.

--plot draws the population prediction (PRED), the individual prediction
(IPRED) and the measured levels over the doses given, and the individual
prediction on the recommended regimen from the next dose due on; PNG or SVG
by the file extension, written atomically.`,
		Example: `  doppel dose examples/vanco_tdm.yaml
  doppel dose examples/vanco_tdm.yaml --json --plot dose.png`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runDose(e, args[0], asJSON, plotPath) },
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the recommendation as JSON")
	c.Flags().StringVar(&plotPath, "plot", "", "draw PRED, IPRED, levels and the recommended regimen to `FILE` (.png or .svg)")
	return c
}

// doseJSON is what `doppel dose` prints.
type doseJSON struct {
	File        string             `json:"file"`
	Model       string             `json:"model"`
	Target      targetJSON         `json:"target"`
	Basis       string             `json:"basis"` // "individual (MAP)" or "population"
	Parameters  map[string]float64 `json:"parameters"`
	Recommended exposureJSON       `json:"recommended"`
	// NextDose is when the recommended regimen starts: the next dose due
	// after the last dose given, h.
	NextDose     float64        `json:"start_h"`
	Alternatives []exposureJSON `json:"alternatives"`
	Fit          *fitJSON       `json:"fit,omitempty"`
	oral         bool           // doses of an oral model go to the depot
}

type targetJSON struct {
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Low    float64 `json:"low,omitempty"`
	High   float64 `json:"high,omitempty"`
	Unit   string  `json:"unit"`
}

type exposureJSON struct {
	Amount   float64 `json:"dose_mg"`
	Every    float64 `json:"every_h"`
	Infusion float64 `json:"infusion_h"`
	AUC24    float64 `json:"auc24_mg_h_L"`
	Trough   float64 `json:"trough_mg_L"`
	Peak     float64 `json:"peak_mg_L"`
	InTarget bool    `json:"in_target"`
}

func exposureOf(x pkpd.Exposure) exposureJSON {
	return exposureJSON{x.Amount, x.Every, x.Infusion, x.AUC24, x.Trough, x.Cmax, x.InTarget}
}

// metric returns the exposure measure a target of that metric is set on.
func (x exposureJSON) metric(m string) float64 {
	switch m {
	case "trough":
		return x.Trough
	case "peak":
		return x.Peak
	}
	return x.AUC24
}

func runDose(e *env, path string, asJSON bool, plotPath string) error {
	var format string
	if plotPath != "" {
		var err error
		if format, err = plot.FormatOf(plotPath); err != nil {
			return usageError(fmt.Errorf("--plot: %w", err))
		}
	}
	req, err := pkmodel.LoadRequest(path)
	if err != nil {
		return usageError(err)
	}
	if req.Target == nil {
		return usageError(&scenario.Error{File: req.File, Line: 1, Field: "target",
			Msg: "missing; doppel dose needs one, e.g. target: {auc24: 500 mg.h/L, round_to: 250 mg, every: 12 h}"})
	}

	var files outputs
	defer files.discard()
	ws, err := files.createEach(plotPath)
	if err != nil {
		return err
	}
	plotW := ws[0]

	out := doseJSON{File: req.File, Model: req.Model.Name, Basis: "population (no levels)", oral: req.Model.Oral}
	recs, err := doseRecords(req)
	if err != nil {
		return err
	}
	var params pkpd.Params
	var fit *pkpd.FitResult
	if len(req.Levels) > 0 {
		if fit, err = fitRequest(e, req); err != nil {
			return err
		}
		out.Basis = "individual (MAP Bayes)"
		f := fitOutput(req, fit)
		out.Fit = &f
	}
	// The new regimen is for the covariates in effect now (after the last
	// change), with the fitted η (0 without levels).
	eta := make([]float64, req.Model.PK.NumEta())
	if fit != nil {
		eta = fit.Eta
	}
	if params, err = req.Model.PK.Individual(req.LatestCovariates(), eta); err != nil {
		return err
	}
	out.Parameters = req.Model.PK.Named(params)

	t := req.Target
	last, lastDose := req.LastDose()
	search := pkpd.DoseSearch{
		Target:  pkpd.Target{Metric: pkpd.Metric(t.Metric), Value: t.Lo},
		RoundTo: t.RoundTo,
		Every:   t.Every,
	}
	if t.Lo != t.Hi {
		search.Target = pkpd.Target{Metric: pkpd.Metric(t.Metric), Low: t.Lo, High: t.Hi}
	}
	switch {
	case t.Infusion > 0:
		search.Infusions = []float64{t.Infusion}
	case lastDose.Infusion > 0:
		search.Infusions = []float64{lastDose.Infusion}
	}
	res, err := pkpd.Dose(req.Model.PK, params, search)
	if err != nil {
		return err
	}
	unit := "mg/L"
	if t.Metric == "auc24" {
		unit = "mg.h/L"
	}
	out.Target = targetJSON{Metric: t.Metric, Value: res.Target.Value, Low: res.Target.Low, High: res.Target.High, Unit: unit}
	out.Recommended = exposureOf(res.Recommended)
	for _, a := range res.Alternatives {
		out.Alternatives = append(out.Alternatives, exposureOf(a))
	}
	interval := lastDose.Every
	if interval == 0 {
		interval = res.Recommended.Every
	}
	out.NextDose = last + interval

	if plotW != nil {
		fig, err := doseFigure(req, recs, fit, res.Recommended, out.NextDose)
		if err != nil {
			return err
		}
		if err := plot.WritePK(plotW, format, fig); err != nil {
			return fmt.Errorf("drawing %s: %w", plotPath, err)
		}
	}
	if err := files.commit(); err != nil {
		return err
	}
	if asJSON {
		return writeJSON(e.stdout, out)
	}
	return printDose(e.stdout, out)
}

// doseFigure predicts PRED and IPRED over the doses given and IPRED on the
// recommended regimen from start on (three days, or five intervals), the
// parameters following the patient's covariate changes.
func doseFigure(req *pkmodel.Request, recs []pkpd.Record, fit *pkpd.FitResult, rec pkpd.Exposure, start float64) (plot.PK, error) {
	m := req.Model.PK
	eta := make([]float64, m.NumEta())
	if fit != nil {
		eta = fit.Eta
	}
	// predict follows the patient's covariate changes.
	predict := func(eta []float64, recs []pkpd.Record, times []float64) ([]float64, error) {
		recs, opt, err := req.WithCovariates(recs)
		if err != nil {
			return nil, err
		}
		c, _, err := m.PredictRecords(req.Covariates, eta, recs, times, opt)
		return c, err
	}
	end := start
	for _, l := range req.Levels {
		end = math.Max(end, l.Time)
	}
	const step = 0.1 // h
	var times []float64
	for t := 0.0; t <= end+1e-9; t += step {
		times = append(times, t)
	}
	fig := plot.PK{
		Title: fmt.Sprintf("%s, %s (%s)", req.Model.Name, filepath.Base(req.File), strings.ReplaceAll(req.Model.Drug, "\n", " ")),
		Time:  times,
	}
	var err error
	if fig.PRED, err = predict(make([]float64, m.NumEta()), recs, times); err != nil {
		return plot.PK{}, err
	}
	if fit != nil {
		if fig.IPRED, err = predict(eta, recs, times); err != nil {
			return plot.PK{}, err
		}
	}
	next := append([]pkpd.Record(nil), recs...)
	span := math.Max(72, 5*rec.Every)
	n := int(math.Floor(span/rec.Every)) + 1
	more, err := pkpd.Regimen{Time: start, Amount: rec.Amount, Infusion: rec.Infusion, Every: rec.Every, Doses: n}.Records()
	if err != nil {
		return plot.PK{}, err
	}
	next = append(next, more...)
	for t := start; t <= start+span+1e-9; t += step {
		fig.ProposedTime = append(fig.ProposedTime, t)
	}
	if fig.Proposed, err = predict(eta, next, fig.ProposedTime); err != nil {
		return plot.PK{}, err
	}
	basis := "IPRED"
	if fit == nil {
		basis = "PRED"
	}
	fig.ProposedLabel = fmt.Sprintf("%s, recommended %g mg q%gh from %g h", basis, rec.Amount, rec.Every, start)
	for _, l := range req.Levels {
		fig.LevelTime = append(fig.LevelTime, l.Time)
		fig.Level = append(fig.Level, l.Value)
	}
	for _, d := range req.Doses {
		for k := range d.Count {
			fig.Doses = append(fig.Doses, d.Time+float64(k)*d.Every)
		}
	}
	for k := range n {
		fig.Doses = append(fig.Doses, start+float64(k)*rec.Every)
	}
	return fig, nil
}

func printDose(w io.Writer, d doseJSON) error {
	r := d.Recommended
	inf := "bolus"
	switch {
	case d.oral:
		inf = "oral"
	case r.Infusion > 0:
		inf = fmt.Sprintf("over %g h", r.Infusion)
	}
	tg := fmt.Sprintf("%s %g %s", d.Target.Metric, d.Target.Value, d.Target.Unit)
	if d.Target.High > 0 {
		tg = fmt.Sprintf("%s %g-%g %s", d.Target.Metric, d.Target.Low, d.Target.High, d.Target.Unit)
	}
	fmt.Fprintf(w, "%s: %s, target %s, from the %s parameters\n\n", d.File, d.Model, tg, d.Basis)
	fmt.Fprintf(w, "Recommended: %g mg every %g h (%s), from %g h after the first dose\n", r.Amount, r.Every, inf, d.NextDose)
	fmt.Fprintf(w, "Predicted at steady state: AUC24 %.1f mg.h/L, trough %.2f mg/L, peak %.2f mg/L\n\n", r.AUC24, r.Trough, r.Peak)
	fmt.Fprintln(w, "Candidates, closest to the target first:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	// With a window the last column says whether the metric is inside it;
	// with a single target value, how far the metric is from it.
	last := "IN WINDOW"
	if d.Target.High <= 0 {
		last = "VS TARGET"
	}
	fmt.Fprintln(tw, "DOSE (mg)\tEVERY (h)\tINFUSION (h)\tAUC24 (mg.h/L)\tTROUGH (mg/L)\tPEAK (mg/L)\t"+last+"\t")
	for _, a := range append([]exposureJSON{r}, d.Alternatives...) {
		in := "no"
		if a.InTarget {
			in = "yes"
		}
		if d.Target.High <= 0 {
			in = fmt.Sprintf("%+.0f %%", 100*(a.metric(d.Target.Metric)/d.Target.Value-1))
		}
		fmt.Fprintf(tw, "%g\t%g\t%g\t%.1f\t%.2f\t%.2f\t%s\t\n", a.Amount, a.Every, a.Infusion, a.AUC24, a.Trough, a.Peak, in)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nParameters used:", fmtParams(d.Parameters))
	return nil
}

func fmtParams(p map[string]float64) string {
	var s []string
	for _, k := range []string{"CL", "V", "Vc", "V1", "Q", "Q2", "Vp", "V2", "Q3", "V3", "KA"} {
		if v, ok := p[k]; ok {
			s = append(s, fmt.Sprintf("%s %s", k, num6(v)))
		}
	}
	return strings.Join(s, ", ")
}
