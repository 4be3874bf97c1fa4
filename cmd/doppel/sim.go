package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/plot"
	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/model/t1d"
)

// csvHeader is the header of `doppel sim --out`: simglucose's history
// columns, then plasma glucose and the basal and bolus parts of insulin.
const csvHeader = "time,BG,CGM,CHO,insulin,LBGI,HBGI,Risk,plasma_BG,basal,bolus"

type simFlags struct {
	out, plot string
	json      bool
}

func newSimCmd(e *env) *cobra.Command {
	var f simFlags
	c := &cobra.Command{
		Use:   "sim FILE.yaml",
		Short: "Simulate one scenario",
		Long: `Sim runs the scenario in FILE.yaml (model, virtual patient, sensor, pump,
controller, meals, boluses, basal changes; see the README) and prints the
glycaemic metrics of the run.

--out writes one CSV row per sensor sample, from the start to the end of the
run inclusive (a 24 h run with a 1-min sensor has 1441 rows, as simglucose's
history). Columns:
  time       RFC 3339, UTC
  BG         subcutaneous glucose Gs/Vg, mg/dL (what simglucose reports as BG)
  CGM        sensor reading, mg/dL
  CHO        announced carbohydrate over the next sample, g/min
  insulin    delivered insulin (basal + bolus) over the next sample, U/min
  LBGI, HBGI, Risk  Kovatchev risk of BG
  plasma_BG  plasma glucose Gp/Vg, mg/dL
  basal      delivered basal insulin over the next sample, U/min
  bolus      delivered bolus insulin (controller and manual) over the next
             sample, U/min; basal + bolus = insulin
CHO, insulin, basal and bolus are empty on the last row: nothing is applied
after the end.

--plot draws glucose with the 70-180 mg/dL band, meals and insulin; the
image type (PNG or SVG) follows the file extension.

Output files are written atomically: a failed run or bad input leaves no
file behind.

A file whose model is a PK model (a library model such as
vancomycin-goti2018, or a model file) is a PK scenario: patient covariates,
doses and output times; --out then writes time_h, conc_mg_L and the amount
in every compartment, and the metrics are Cmax, tmax, trough and AUC (see
the README, "Precision dosing (PK/PD)").`,
		Example: `  doppel sim examples/adult001_day.yaml
  doppel sim examples/adult001_day.yaml --out run.csv --plot run.png
  doppel sim examples/pid_noise.yaml --json
  doppel sim examples/pk_vanco_sim.yaml --out conc.csv --plot conc.png`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runSim(e, args[0], f) },
	}
	c.Flags().StringVar(&f.out, "out", "", "write the run as CSV to `FILE`")
	c.Flags().StringVar(&f.plot, "plot", "", "draw the run to `FILE` (.png or .svg)")
	c.Flags().BoolVar(&f.json, "json", false, "print the metrics as JSON")
	return c
}

func runSim(e *env, path string, f simFlags) error {
	if isPKFile(path) {
		return runPKSim(e, path, f) // a PK scenario (pksim.go)
	}
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
	sc, err := scenario.Load(path, scenario.T1D())
	if err != nil {
		return usageError(err) // unreadable or invalid scenario: bad input
	}
	cfg, err := sc.T1DConfig()
	if err != nil {
		return err
	}

	var files outputs
	defer files.discard()
	ws, err := files.createEach(f.out, f.plot)
	if err != nil {
		return err
	}
	csvW, plotW := ws[0], ws[1]

	var bar *progress
	if e.tty && sc.Duration >= 30*24*time.Hour {
		bar = newProgress(e.stderr, "simulating "+sc.Patient, cfg.Duration, "days", 24*60)
		cfg.Controller = progressController{cfg.Controller, bar}
	}
	res, err := t1d.Simulate(cfg)
	bar.finish()
	if err != nil {
		return err
	}

	if csvW != nil {
		if err := writeRunCSV(csvW, sc.Start, res.Records); err != nil {
			return fmt.Errorf("writing %s: %w", f.out, err)
		}
	}
	if plotW != nil {
		g := glucoseFigure(sc, cfg.Sensor.SampleTime, res)
		if err := plot.WriteGlucose(plotW, format, g); err != nil {
			return fmt.Errorf("drawing %s: %w", f.plot, err)
		}
	}
	if err := files.commit(); err != nil {
		return err
	}

	summary, err := summarize(sc, res)
	if err != nil {
		return err
	}
	if res.Done {
		fmt.Fprintf(e.stderr, "doppel: warning: BG left (10, 600) mg/dL at %s (%.0f min); the model is outside the range it was built for after that\n",
			sc.Start.Add(minutes(res.DoneT)).Format(time.RFC3339), res.DoneT)
	}
	if f.json {
		return writeJSON(e.stdout, summary)
	}
	return printSummary(e.stdout, summary)
}

func minutes(m float64) time.Duration { return time.Duration(math.Round(m * float64(time.Minute))) }

// progressController wraps the controller of a run to drive the progress
// line: the controller is asked once per sensor sample.
type progressController struct {
	t1d.Controller
	bar *progress
}

func (c progressController) Act(obs t1d.Observation) t1d.Action {
	c.bar.update(obs.T)
	return c.Controller.Act(obs)
}

// writeRunCSV writes one row per record (see csvHeader); start dates them.
func writeRunCSV(w io.Writer, start time.Time, recs []t1d.Record) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(csvHeader)
	bw.WriteByte('\n')
	buf := make([]byte, 0, 256)
	num := func(v float64) {
		buf = append(buf, ',')
		if !math.IsNaN(v) {
			buf = strconv.AppendFloat(buf, v, 'g', 10, 64)
		}
	}
	for _, r := range recs {
		buf = start.Add(minutes(r.T)).UTC().AppendFormat(buf[:0], time.RFC3339)
		for _, v := range [...]float64{r.BG, r.CGM, r.CHO, r.Insulin, r.LBGI, r.HBGI, r.Risk, r.PlasmaBG, r.Basal, r.Bolus} {
			num(v)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// glucoseFigure turns a run into the plain series of plot.Glucose: the
// basal rate (U/h) is the delivered basal of each sample, and each sample
// with delivered bolus insulin is one bolus event of sampleTime·Bolus units.
func glucoseFigure(sc *scenario.Scenario, sampleTime float64, res t1d.Result) plot.Glucose {
	n := len(res.Records)
	g := plot.Glucose{
		Title: fmt.Sprintf("%s, %s, %s (%s)", sc.Patient, sc.Controller.Name, sc.Sensor.Name, filepath.Base(sc.File)),
		Time:  make([]time.Time, n),
		BG:    make([]float64, n),
		CGM:   make([]float64, n),
		Basal: make([]float64, n),
	}
	for i, r := range res.Records {
		g.Time[i] = sc.Start.Add(minutes(r.T))
		g.BG[i], g.CGM[i] = r.BG, r.CGM
		g.Basal[i] = 60 * r.Basal // NaN on the last row, like Basal
		if r.Bolus > 0 {
			g.Bolus = append(g.Bolus, plot.Event{Time: g.Time[i], Amount: r.Bolus * sampleTime})
		}
	}
	for _, m := range sc.Meals {
		g.Meals = append(g.Meals, plot.Event{Time: m.At, Amount: m.Carbs})
	}
	return g
}

// simSummary is what `doppel sim` prints.
type simSummary struct {
	Scenario     string        `json:"scenario"`
	Patient      string        `json:"patient"`
	Start        time.Time     `json:"start"`
	End          time.Time     `json:"end"`
	Samples      int           `json:"samples"`
	Metrics      []metricValue `json:"metrics"`
	TotalInsulin float64       `json:"total_insulin_U"`
	TotalCarbs   float64       `json:"total_carbs_g"`
	OutOfRange   *time.Time    `json:"bg_out_of_range_at,omitempty"`
}

type metricValue struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

func summarize(sc *scenario.Scenario, res t1d.Result) (simSummary, error) {
	bg := make([]float64, len(res.Records))
	for i, r := range res.Records {
		bg[i] = r.BG
	}
	m, err := t1d.ComputeMetrics(bg)
	if err != nil {
		return simSummary{}, err
	}
	s := simSummary{
		Scenario: sc.File, Patient: sc.Patient, Start: sc.Start, End: sc.End(), Samples: len(res.Records),
		Metrics: []metricValue{
			{"time in range 70-180", m.TIR, "%"},
			{"time below 70", m.TBR70, "%"},
			{"time below 54", m.TBR54, "%"},
			{"time above 180", m.TAR180, "%"},
			{"time above 250", m.TAR250, "%"},
			{"mean glucose", m.Mean, "mg/dL"},
			{"SD", m.SD, "mg/dL"},
			{"CV", m.CV, "%"},
			{"GMI", m.GMI, "%"},
			{"LBGI", m.LBGI, ""},
			{"HBGI", m.HBGI, ""},
			{"risk index", m.RiskIndex, ""},
		},
		TotalInsulin: res.TotalInsulin(), TotalCarbs: res.TotalCarbs(),
	}
	if res.Done {
		t := sc.Start.Add(minutes(res.DoneT))
		s.OutOfRange = &t
	}
	return s, nil
}

func printSummary(w io.Writer, s simSummary) error {
	fmt.Fprintf(w, "%s: %s, %s to %s, %d samples; metrics of BG\n", s.Scenario, s.Patient,
		s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339), s.Samples)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tVALUE\tUNIT")
	for _, m := range s.Metrics {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Name, fmtMetric(m.Value), m.Unit)
	}
	fmt.Fprintf(tw, "total insulin\t%s\tU\n", fmtMetric(s.TotalInsulin))
	fmt.Fprintf(tw, "total carbohydrate\t%s\tg\n", fmtMetric(s.TotalCarbs))
	return tw.Flush()
}

func fmtMetric(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
