package plot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// TIRArm is the time spent in each glucose range by one trial arm, in
// percent; the five ranges add up to 100.
type TIRArm struct {
	Name     string
	VeryLow  float64 // < 54 mg/dL
	Low      float64 // 54-69 mg/dL
	InRange  float64 // 70-180 mg/dL
	High     float64 // 181-250 mg/dL
	VeryHigh float64 // > 250 mg/dL
}

// tirRanges are the ranges of a TIR bar from bottom to top, with the colours
// of the international consensus report (Battelino et al. 2019).
var tirRanges = []struct {
	label string
	color color.RGBA
	value func(TIRArm) float64
}{
	{"<54", color.RGBA{R: 0x8b, G: 0x00, B: 0x00, A: 0xff}, func(a TIRArm) float64 { return a.VeryLow }},
	{"54-69", color.RGBA{R: 0xe4, G: 0x1a, B: 0x1c, A: 0xff}, func(a TIRArm) float64 { return a.Low }},
	{"70-180", color.RGBA{R: 0x4d, G: 0xaf, B: 0x4a, A: 0xff}, func(a TIRArm) float64 { return a.InRange }},
	{"181-250", color.RGBA{R: 0xfd, G: 0xb8, B: 0x63, A: 0xff}, func(a TIRArm) float64 { return a.High }},
	{">250 mg/dL", color.RGBA{R: 0xe6, G: 0x55, B: 0x0d, A: 0xff}, func(a TIRArm) float64 { return a.VeryHigh }},
}

// WriteTIR draws one stacked time-in-ranges bar per arm, labelled with the
// percentage in range, and writes the figure to w in format "png" or "svg".
func WriteTIR(w io.Writer, format, title string, arms []TIRArm) error {
	if len(arms) == 0 {
		return errors.New("plot: time in ranges with no arms")
	}
	names := make([]string, len(arms))
	for i, a := range arms {
		sum := 0.0
		for _, r := range tirRanges {
			v := r.value(a)
			if math.IsNaN(v) || v < 0 || v > 100+1e-6 {
				return fmt.Errorf("plot: time in ranges of arm %q: %s is %v %%, want 0-100", a.Name, r.label, v)
			}
			sum += v
		}
		if math.Abs(sum-100) > 0.5 {
			return fmt.Errorf("plot: time in ranges of arm %q add up to %v %%, want 100", a.Name, sum)
		}
		names[i] = a.Name
	}
	p := gplot.New()
	p.Title.Text = "Time in ranges"
	if title != "" {
		p.Title.Text = title + "\n" + p.Title.Text
	}
	p.Y.Label.Text = "% of time (mean across patients)"
	p.Y.Min, p.Y.Max = 0, 100
	p.NominalX(names...)
	// Room on the right of the last bar for the legend.
	p.X.Min, p.X.Max = -0.6, float64(len(arms))+0.6
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Millimeter * 2

	width := vg.Points(min(60, 400/float64(len(arms))))
	var below *plotter.BarChart
	bars := make([]*plotter.BarChart, len(tirRanges))
	for k, r := range tirRanges {
		vals := make(plotter.Values, len(arms))
		for i, a := range arms {
			vals[i] = r.value(a)
		}
		b, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		b.Color = r.color
		b.LineStyle.Width = 0
		if below != nil {
			b.StackOn(below)
		}
		below = b
		bars[k] = b
		p.Add(b)
	}
	// The legend lists ranges from top to bottom, as the bars stack.
	for k := len(tirRanges) - 1; k >= 0; k-- {
		p.Legend.Add(tirRanges[k].label, bars[k])
	}
	// Label each bar with its time in range, in the middle of the green part.
	var labels plotter.XYLabels
	for i, a := range arms {
		labels.XYs = append(labels.XYs, plotter.XY{X: float64(i), Y: a.VeryLow + a.Low + a.InRange/2})
		labels.Labels = append(labels.Labels, fmt.Sprintf("%.0f %%", a.InRange))
	}
	lab, err := plotter.NewLabels(labels)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].Color = color.White
		lab.TextStyle[i].XAlign = draw.XCenter
		lab.TextStyle[i].YAlign = draw.YCenter
	}
	p.Add(lab)
	wd := vg.Length(len(arms))*1.4*vg.Inch + 3*vg.Inch
	return writeGrid(w, format, wd, 5*vg.Inch, [][]*gplot.Plot{{p}})
}
