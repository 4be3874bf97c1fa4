package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ceStyle is the line of the effect-site concentration on the
// concentration panel.
func ceStyle() draw.LineStyle {
	return draw.LineStyle{Color: oiPurple, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
}

// writeEffect draws the concentration panel conc of k above a panel of
// k.Effect on the same time axis, in format to w; zero width × height
// means 24 cm × 19 cm.
func writeEffect(w io.Writer, format string, conc *gplot.Plot, k PK) error {
	width, height := k.Width, k.Height
	if width == 0 {
		width = 24 * vg.Centimeter
	}
	if height == 0 {
		height = 19 * vg.Centimeter
	}
	label, unit := k.EffectLabel, k.EffectUnit
	if label == "" {
		label = "effect"
	}
	if unit == "" {
		unit = "model units"
	}
	eff := gplot.New()
	eff.X.Label.Text = conc.X.Label.Text
	eff.Y.Label.Text = fmt.Sprintf("Effect (%s)", unit)
	eff.Add(plotter.NewGrid())
	addLines(eff, label, xy(k.Time, k.Effect), draw.LineStyle{Color: oiVermilion, Width: vg.Points(1.5)}, plotter.NoStep, nil)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range k.Effect {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	switch {
	case lo > hi: // no finite effect
		lo, hi = 0, 1
	case lo == hi:
		d := math.Max(1, math.Abs(lo)*0.1)
		lo, hi = lo-d, hi+d
	}
	span := hi - lo
	eff.Y.Min, eff.Y.Max = lo-0.05*span, hi+0.35*span // headroom for the legend
	eff.X.Min, eff.X.Max = conc.X.Min, conc.X.Max

	// The effect panel labels the shared time axis.
	conc.X.Label.Text = ""
	conc.X.Tick.Label.Color = color.Transparent
	for _, p := range []*gplot.Plot{conc, eff} {
		p.Legend.Top = true
		p.Legend.TextStyle.Font.Size = vg.Points(8)
		p.Legend.ThumbnailWidth = vg.Points(14)
	}
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	stack(draw.New(c), []*gplot.Plot{conc, eff}, []float64{0.6, 0.4})
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}
