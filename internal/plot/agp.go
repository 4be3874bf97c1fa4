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

// AGPArm is the ambulatory glucose profile of one trial arm: glucose
// percentiles by time of day, pooled over the arm's patients and days.
type AGPArm struct {
	Name    string
	Minutes []float64 // time of day of each point, minutes after midnight, increasing
	// Percentiles at each point, mg/dL; NaN where there is no data.
	P5, P25, P50, P75, P95 []float64
}

// AGP colours, after the international consensus AGP report (Battelino et
// al. 2019, Diabetes Care 42:1593): light band 5-95 %, darker band 25-75 %,
// median line, target range 70-180 mg/dL.
var (
	agpOuter  = color.RGBA{R: 0xb3, G: 0xcd, B: 0xe3, A: 0xff}
	agpInner  = color.RGBA{R: 0x4a, G: 0x86, B: 0xc5, A: 0xff}
	agpMedian = color.RGBA{R: 0x08, G: 0x30, B: 0x6b, A: 0xff}
	agpTarget = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
)

// WriteAGP draws one AGP panel per arm, stacked, on a common glucose axis
// (0-400 mg/dL, more if the 95th percentile goes higher), and writes the
// figure to w in format "png" or "svg".
func WriteAGP(w io.Writer, format, title string, arms []AGPArm) error {
	if len(arms) == 0 {
		return errors.New("plot: AGP with no arms")
	}
	ymax := 400.0
	for _, a := range arms {
		n := len(a.Minutes)
		if n == 0 {
			return fmt.Errorf("plot: AGP arm %q has no points", a.Name)
		}
		for _, s := range [][]float64{a.P5, a.P25, a.P50, a.P75, a.P95} {
			if len(s) != n {
				return fmt.Errorf("plot: AGP arm %q: %d times but a percentile series of %d", a.Name, n, len(s))
			}
		}
		for _, v := range a.P95 {
			if !math.IsNaN(v) && v > ymax {
				ymax = math.Ceil(v/50) * 50
			}
		}
	}
	plots := make([][]*gplot.Plot, len(arms))
	for i, a := range arms {
		p, err := agpPanel(a, ymax)
		if err != nil {
			return err
		}
		if i == 0 && title != "" {
			p.Title.Text = title + "\n" + p.Title.Text
		}
		if i < len(arms)-1 {
			p.X.Label.Text = ""
		}
		plots[i] = []*gplot.Plot{p}
	}
	return writeGrid(w, format, 8*vg.Inch, vg.Length(len(arms))*2.6*vg.Inch+0.4*vg.Inch, plots)
}

// agpPanel builds the panel of one arm.
func agpPanel(a AGPArm, ymax float64) (*gplot.Plot, error) {
	p := gplot.New()
	p.Title.Text = a.Name
	p.X.Label.Text = "time of day"
	p.Y.Label.Text = "glucose (mg/dL)"
	p.X.Min, p.X.Max = 0, 24*60
	p.Y.Min, p.Y.Max = 0, ymax
	p.X.Tick.Marker = clockTicks{}
	p.Legend.Top = true
	p.Legend.Left = false

	for _, seg := range segments(a.Minutes, a.P50) {
		outer, err := band(a.Minutes[seg[0]:seg[1]], a.P5[seg[0]:seg[1]], a.P95[seg[0]:seg[1]], agpOuter)
		if err != nil {
			return nil, err
		}
		inner, err := band(a.Minutes[seg[0]:seg[1]], a.P25[seg[0]:seg[1]], a.P75[seg[0]:seg[1]], agpInner)
		if err != nil {
			return nil, err
		}
		med, err := plotter.NewLine(xy(a.Minutes[seg[0]:seg[1]], a.P50[seg[0]:seg[1]]))
		if err != nil {
			return nil, err
		}
		med.Color, med.Width = agpMedian, vg.Points(2)
		p.Add(outer, inner, med)
		if seg[0] == 0 {
			p.Legend.Add("5-95 %", outer)
			p.Legend.Add("25-75 %", inner)
			p.Legend.Add("median", med)
		}
	}
	for _, g := range []float64{70, 180} {
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: g}, {X: 24 * 60, Y: g}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Width, l.Dashes = agpTarget, vg.Points(1), []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
	}
	p.Add(plotter.NewGrid())
	return p, nil
}

// segments returns the [start, end) index ranges of the runs of points where
// the median is defined (NaN marks time bins without data).
func segments(x, y []float64) [][2]int {
	var out [][2]int
	start := -1
	for i := range x {
		ok := !math.IsNaN(y[i])
		switch {
		case ok && start < 0:
			start = i
		case !ok && start >= 0:
			out = append(out, [2]int{start, i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, [2]int{start, len(x)})
	}
	return out
}

// band is the polygon between the curves lo and hi over x.
func band(x, lo, hi []float64, c color.Color) (*plotter.Polygon, error) {
	pts := make(plotter.XYs, 0, 2*len(x))
	for i := range x {
		pts = append(pts, plotter.XY{X: x[i], Y: lo[i]})
	}
	for i := len(x) - 1; i >= 0; i-- {
		pts = append(pts, plotter.XY{X: x[i], Y: hi[i]})
	}
	poly, err := plotter.NewPolygon(pts)
	if err != nil {
		return nil, err
	}
	poly.Color = c
	poly.LineStyle.Width = 0
	return poly, nil
}

func xy(x, y []float64) plotter.XYs {
	pts := make(plotter.XYs, len(x))
	for i := range x {
		pts[i] = plotter.XY{X: x[i], Y: y[i]}
	}
	return pts
}

// clockTicks marks every 3 hours of a day given in minutes.
type clockTicks struct{}

func (clockTicks) Ticks(lo, hi float64) []gplot.Tick {
	var ts []gplot.Tick
	for m := 0.0; m <= 24*60; m += 60 {
		if m < lo || m > hi {
			continue
		}
		t := gplot.Tick{Value: m}
		if int(m)%180 == 0 {
			t.Label = fmt.Sprintf("%02d:00", int(m)/60)
		}
		ts = append(ts, t)
	}
	return ts
}

// writeGrid draws plots in a grid of rows × columns of equal-sized data
// areas and writes the figure in format ("png" or "svg").
func writeGrid(w io.Writer, format string, width, height vg.Length, plots [][]*gplot.Plot) error {
	if format != "png" && format != "svg" {
		return fmt.Errorf("plot: unknown image format %q; valid: png, svg", format)
	}
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	dc := draw.New(c)
	tiles := draw.Tiles{
		Rows: len(plots), Cols: len(plots[0]),
		PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4,
	}
	canvases := gplot.Align(plots, tiles, dc)
	for i := range plots {
		for j, p := range plots[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}
