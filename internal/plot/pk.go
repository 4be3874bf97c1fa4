package plot

import (
	"errors"
	"fmt"
	"io"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// PK is a drug-concentration figure of one patient: the population
// prediction (typical parameters for the covariates), the individual
// prediction (parameters fitted to the levels), optionally the individual
// prediction continued on a proposed regimen, and the measured levels.
// Times are in h from the first dose, concentrations in mg/L.
//
// With a PD model, Ce adds the effect-site concentration to the
// concentration panel and Effect adds a panel of the effect below it, on
// the same time axis (see [PK.Effect]); without them the figure is the
// concentration panel alone.
type PK struct {
	Title string
	Time  []float64 // h, increasing
	PRED  []float64 // population prediction at Time, mg/L
	IPRED []float64 // individual prediction at Time, mg/L; nil: none
	// Proposed is the individual prediction on the proposed regimen at
	// ProposedTime (nil: none), labelled ProposedLabel.
	ProposedTime  []float64
	Proposed      []float64
	ProposedLabel string
	// LevelTime and Level are the measured levels (h, mg/L).
	LevelTime, Level []float64
	// Doses are the dose times (h), marked on the time axis.
	Doses []float64

	// Ce is the effect-site concentration at Time (mg/L), drawn dashed on
	// the concentration panel; nil: none.
	Ce []float64
	// Effect is the PD effect at Time in EffectUnit, drawn in a second
	// panel below the concentration; nil: no effect panel. EffectLabel
	// names it in the legend ("" means "effect"); EffectUnit labels its
	// axis ("" means "model units").
	Effect                  []float64
	EffectLabel, EffectUnit string

	// Width and Height of the figure; zero means 24 cm × 13 cm.
	Width, Height vg.Length
}

// WritePK draws k in format ("png" or "svg") to w.
func WritePK(w io.Writer, format string, k PK) error {
	n := len(k.Time)
	if err := checkConc(format, n, "concentration profile"); err != nil {
		return err
	}
	if len(k.PRED) != n || (k.IPRED != nil && len(k.IPRED) != n) {
		return fmt.Errorf("plot: PRED and IPRED need %d values, one per time", n)
	}
	if len(k.ProposedTime) != len(k.Proposed) || len(k.LevelTime) != len(k.Level) {
		return errors.New("plot: proposed or level times and values differ in length")
	}
	if (k.Ce != nil && len(k.Ce) != n) || (k.Effect != nil && len(k.Effect) != n) {
		return fmt.Errorf("plot: Ce and Effect need %d values, one per time", n)
	}
	p, err := newConcPlot(k.Title, k.Time)
	if err != nil {
		return err
	}
	ymax := maxFinite(1, k.PRED, k.IPRED, k.Proposed, k.Level, k.Ce)
	xmax := k.Time[n-1]
	for _, t := range append(append([]float64(nil), k.ProposedTime...), k.LevelTime...) {
		xmax = math.Max(xmax, t)
	}
	addLines(p, "population prediction (PRED)", xy(k.Time, k.PRED),
		draw.LineStyle{Color: oiSkyBlue, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}, plotter.NoStep, nil)
	if k.IPRED != nil {
		addLines(p, "individual prediction (IPRED, MAP)", xy(k.Time, k.IPRED),
			draw.LineStyle{Color: oiBlue, Width: vg.Points(1.5)}, plotter.NoStep, nil)
	}
	if k.Proposed != nil {
		label := k.ProposedLabel
		if label == "" {
			label = "individual prediction, proposed regimen"
		}
		addLines(p, label, xy(k.ProposedTime, k.Proposed),
			draw.LineStyle{Color: oiGreen, Width: vg.Points(1.5)}, plotter.NoStep, nil)
	}
	if k.Ce != nil {
		addLines(p, "effect-site concentration (Ce)", xy(k.Time, k.Ce), ceStyle(), plotter.NoStep, nil)
	}
	if len(k.Level) > 0 {
		sc, err := plotter.NewScatter(xy(k.LevelTime, k.Level))
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: oiVermilion, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		p.Legend.Add("measured level", sc)
	}
	if err := addDoses(p, k.Doses); err != nil {
		return err
	}
	p.X.Min, p.X.Max = math.Min(0, k.Time[0]), xmax
	p.Y.Min, p.Y.Max = 0, ymax*1.25 // headroom for the legend
	if k.Effect != nil {
		return writeEffect(w, format, p, k)
	}
	return writeConcPlot(w, format, p, k.Width, k.Height)
}

// The helpers below are shared by the concentration-time figures, PK and
// VPC.

// checkConc checks the image format and that a figure of n times has at
// least two; what names the figure in the error.
func checkConc(format string, n int, what string) error {
	if format != "png" && format != "svg" {
		return fmt.Errorf("plot: unknown image format %q; valid: png, svg", format)
	}
	if n < 2 {
		return fmt.Errorf("plot: %s needs at least two times", what)
	}
	return nil
}

// newConcPlot checks that time (h) increases and returns a plot with the
// title, axis labels and grid of a concentration-time figure.
func newConcPlot(title string, time []float64) (*gplot.Plot, error) {
	for i := 1; i < len(time); i++ {
		if !(time[i] > time[i-1]) {
			return nil, fmt.Errorf("plot: times are not increasing at %d (%g h)", i, time[i])
		}
	}
	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text = "Time after the first dose (h)"
	p.Y.Label.Text = "Concentration (mg/L)"
	p.Add(plotter.NewGrid())
	return p, nil
}

// maxFinite returns the largest of floor and the values of series that are
// not NaN.
func maxFinite(floor float64, series ...[]float64) float64 {
	for _, s := range series {
		for _, v := range s {
			if !math.IsNaN(v) {
				floor = math.Max(floor, v)
			}
		}
	}
	return floor
}

// addDoses marks the dose times (h) on the time axis of p, with a legend
// entry; no doses, no marks.
func addDoses(p *gplot.Plot, doses []float64) error {
	if len(doses) == 0 {
		return nil
	}
	pts := make(plotter.XYs, len(doses))
	for i, t := range doses {
		pts[i] = plotter.XY{X: t, Y: 0}
	}
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: oiOrange, Radius: vg.Points(3.5), Shape: draw.TriangleGlyph{}}
	p.Add(sc)
	p.Legend.Add("dose", sc)
	return nil
}

// writeConcPlot puts the legend of p at the top and draws p in format to w,
// width × height (zero means 24 cm × 13 cm).
func writeConcPlot(w io.Writer, format string, p *gplot.Plot, width, height vg.Length) error {
	if width == 0 {
		width = 24 * vg.Centimeter
	}
	if height == 0 {
		height = 13 * vg.Centimeter
	}
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Legend.ThumbnailWidth = vg.Points(14)
	return writeGrid(w, format, width, height, [][]*gplot.Plot{{p}})
}
