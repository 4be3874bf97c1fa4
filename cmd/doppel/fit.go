package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/assim"
	"github.com/doppelhealth/doppel/internal/pkmodel"
	"github.com/doppelhealth/doppel/model/pkpd"
)

func newFitCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "fit FILE.yaml",
		Short: "Fit a population PK model to a patient's drug levels (MAP Bayes)",
		Long: `Fit individualises a published population PK model to one patient: given
the model, the patient's covariates, the doses given and measured drug
levels in FILE.yaml, it finds the maximum a posteriori (MAP Bayes) random
effects η, minimising the NONMEM POSTHOC objective

  OFV(η) = Σ (y − f)²/s² + ln s² + ηᵀ Ω⁻¹ η   (s² the residual variance at f),

from several starts, and prints the individual parameters, η with their
approximate (Laplace) posterior standard errors, the OFV, and the
population (PRED) and individual (IPRED) predictions at the levels.

FILE.yaml (quantities with UCUM units; times in h from the first dose):
  model: vancomycin-goti2018          # 'doppel models' lists the library,
                                      # or a model file: my_model.yaml
  patient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}
  doses:
    - {time: 0 h, amount: 2000 mg, infusion: 2 h}
    - {time: 12 h, amount: 1000 mg, infusion: 1 h, every: 12 h, doses: 4}
  levels:
    - {time: 38 h, value: 39.8 mg/L}
  target: {auc24: 500 mg.h/L, round_to: 250 mg, every: 12 h}   # for doppel dose

Units: parameters L/h, L (1/h for KA); concentrations mg/L; η and OFV
dimensionless.`,
		Example: `  doppel fit examples/vanco_tdm.yaml
  doppel fit examples/vanco_tdm.yaml --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := pkmodel.LoadRequest(args[0])
			if err != nil {
				return usageError(err)
			}
			res, err := fitRequest(e, req)
			if err != nil {
				return err
			}
			out := fitOutput(req, res)
			if asJSON {
				return writeJSON(e.stdout, out)
			}
			return printFit(e.stdout, out)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the fit as JSON")
	return c
}

// fitRequest runs the MAP fit of a dosing file; a Hessian that is not
// positive definite leaves SE NaN (null in JSON) with a warning on stderr,
// not an error.
func fitRequest(e *env, req *pkmodel.Request) (*pkpd.FitResult, error) {
	recs, err := doseRecords(req)
	if err != nil {
		return nil, err
	}
	recs, opt, err := req.WithCovariates(recs)
	if err != nil {
		return nil, err
	}
	res, err := pkpd.Fit(req.Model.PK, req.Covariates, recs, req.Levels, &pkpd.FitSettings{Schedule: opt})
	if err != nil && !(errors.Is(err, assim.ErrHessian) && res != nil) {
		return nil, fmt.Errorf("fit %s: %w", req.File, err)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "doppel: warning: %s: no standard errors: %v\n", req.File, err)
	}
	return res, nil
}

// doseRecords returns the doses of a dosing file as dose records.
func doseRecords(req *pkmodel.Request) ([]pkpd.Record, error) {
	var rs []pkpd.Regimen
	for _, d := range req.Doses {
		rs = append(rs, pkpd.Regimen{Time: d.Time, Amount: d.Amount, Infusion: d.Infusion, Every: d.Every, Doses: d.Count})
	}
	return pkpd.RegimenRecords(rs...)
}

// fitJSON is what `doppel fit` prints.
type fitJSON struct {
	File     string             `json:"file"`
	Model    string             `json:"model"`
	Citation string             `json:"citation"`
	Patient  map[string]float64 `json:"patient"`
	// Parameters are the individual (MAP) parameters and Population the
	// typical values for the patient's covariates, by the model's names.
	Parameters map[string]float64 `json:"parameters"`
	Population map[string]float64 `json:"population"`
	Units      map[string]string  `json:"units"`
	EtaNames   []string           `json:"eta_names"`
	Eta        []float64          `json:"eta"`
	SE         []*float64         `json:"se_eta"` // null when not available
	OFV        float64            `json:"ofv"`
	OFVPop     float64            `json:"ofv_population"`
	Converged  bool               `json:"converged"`
	Levels     []levelJSON        `json:"levels"`
	// Changes are the covariate changes of the dosing file; Parameters
	// and Population are then those before the first.
	Changes []pkChangeJSON `json:"covariate_changes,omitempty"`
	Order   []string       `json:"-"` // parameter order for text output
}

type levelJSON struct {
	Time     float64 `json:"time_h"`
	Observed float64 `json:"observed_mg_L"`
	PRED     float64 `json:"pred_mg_L"`
	IPRED    float64 `json:"ipred_mg_L"`
}

func fitOutput(req *pkmodel.Request, res *pkpd.FitResult) fitJSON {
	m := req.Model
	out := fitJSON{
		File: req.File, Model: m.Name, Citation: m.Citation.Reference + " doi:" + m.Citation.DOI,
		Patient:    req.Covariates,
		Parameters: res.Parameters, Population: res.Population,
		Units:    map[string]string{},
		EtaNames: res.EtaNames, Eta: res.Eta,
		OFV: res.OFV, OFVPop: res.OFVPopulation, Converged: res.Converged,
		Changes: changesJSON(req.Changes),
	}
	for _, p := range m.Params {
		out.Units[p.Name] = p.Unit
		out.Order = append(out.Order, p.Name)
	}
	for _, s := range res.SE {
		if math.IsNaN(s) {
			out.SE = append(out.SE, nil)
		} else {
			out.SE = append(out.SE, &s)
		}
	}
	for i := range res.Times {
		out.Levels = append(out.Levels, levelJSON{res.Times[i], res.Observed[i], res.PRED[i], res.IPRED[i]})
	}
	return out
}

func num6(v float64) string { return strconv.FormatFloat(v, 'g', 7, 64) }

func printFit(w io.Writer, f fitJSON) error {
	fmt.Fprintf(w, "%s: %s, MAP Bayes fit to %d level(s)\n%s\n\n", f.File, f.Model, len(f.Levels), f.Citation)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARAMETER\tPOPULATION\tINDIVIDUAL\tUNIT")
	for _, name := range f.Order {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, num6(f.Population[name]), num6(f.Parameters[name]), f.Units[name])
	}
	tw.Flush()
	printChanges(w, f.Changes)
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ETA\tESTIMATE\tSE (Laplace)")
	for i, name := range f.EtaNames {
		se := "-"
		if i < len(f.SE) && f.SE[i] != nil {
			se = num6(*f.SE[i])
		}
		fmt.Fprintf(tw, "η(%s)\t%s\t%s\n", name, num6(f.Eta[i]), se)
	}
	tw.Flush()
	conv := "converged"
	if !f.Converged {
		conv = "NOT converged: treat the estimate with care"
	}
	fmt.Fprintf(w, "\nOFV %s at the MAP estimate, %s at η = 0 (%s)\n", num6(f.OFV), num6(f.OFVPop), conv)
	if len(f.Levels) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "TIME (h)\tOBSERVED (mg/L)\tPRED (mg/L)\tIPRED (mg/L)\t")
		for _, l := range f.Levels {
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t\n", num6(l.Time), num6(l.Observed), l.PRED, l.IPRED)
		}
		tw.Flush()
	}
	return nil
}
