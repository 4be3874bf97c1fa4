package plot

import (
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Okabe-Ito colours (Okabe & Ito 2008), safe for colour-blind readers.
var (
	oiBlack     = color.RGBA{0x00, 0x00, 0x00, 0xff}
	oiOrange    = color.RGBA{0xe6, 0x9f, 0x00, 0xff}
	oiSkyBlue   = color.RGBA{0x56, 0xb4, 0xe9, 0xff}
	oiGreen     = color.RGBA{0x00, 0x9e, 0x73, 0xff}
	oiBlue      = color.RGBA{0x00, 0x72, 0xb2, 0xff}
	oiVermilion = color.RGBA{0xd5, 0x5e, 0x00, 0xff}
	oiPurple    = color.RGBA{0xcc, 0x79, 0xa7, 0xff}
)

// FormatOf returns the image format named by the extension of path: "png"
// or "svg" (case-insensitive).
func FormatOf(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		return "png", nil
	case ".svg":
		return "svg", nil
	default:
		return "", fmt.Errorf("plot: %s: unknown image type %q; use a .png or .svg file name", path, ext)
	}
}

// Glucose is a glucose trace with the insulin and meals that shaped it.
// Series indexed like Time may be nil (not drawn); NaN values are gaps.
type Glucose struct {
	Title string
	Time  []time.Time // sample times, increasing
	BG    []float64   // blood glucose at Time, mg/dL
	CGM   []float64   // sensor glucose at Time, mg/dL
	Basal []float64   // basal insulin rate from Time[i] to Time[i+1], U/h
	Bolus []Event     // insulin boluses, U
	Meals []Event     // carbohydrate intakes, g

	// BGLabel and CGMLabel name the two glucose series in the legend;
	// empty means "BG" and "CGM".
	BGLabel, CGMLabel string

	// Low and High bound the shaded target range, mg/dL; zero means
	// 70 and 180 (international consensus, Battelino et al. 2019).
	Low, High float64

	// Width and Height of the figure; zero means 24 cm × 15 cm.
	Width, Height vg.Length
}

// Event is an amount given at one time: a bolus (U) or a meal (g).
type Event struct {
	Time   time.Time
	Amount float64
}

// maxPoints is the number of points above which a series is thinned to a
// min/max envelope before drawing; the figure looks the same, and a year
// of one-minute samples draws in a fraction of a second.
const maxPoints = 4000

// WriteGlucose draws g in format ("png" or "svg") to w: glucose with the
// target range shaded and meals marked in the upper panel, insulin (basal
// rate and boluses) in the lower panel, on a shared time axis (UTC).
func WriteGlucose(w io.Writer, format string, g Glucose) error {
	if format != "png" && format != "svg" {
		return fmt.Errorf("plot: unknown image format %q; valid: png, svg", format)
	}
	n := len(g.Time)
	if n < 2 {
		return errors.New("plot: glucose trace needs at least two samples")
	}
	for name, s := range map[string][]float64{"BG": g.BG, "CGM": g.CGM, "Basal": g.Basal} {
		if s != nil && len(s) != n {
			return fmt.Errorf("plot: %s has %d values for %d times", name, len(s), n)
		}
	}
	for i := 1; i < n; i++ {
		if !g.Time[i].After(g.Time[i-1]) {
			return fmt.Errorf("plot: times are not increasing at sample %d (%s)", i, g.Time[i].Format(time.RFC3339))
		}
	}
	if g.Low == 0 {
		g.Low = 70
	}
	if g.High == 0 {
		g.High = 180
	}
	if g.Width == 0 {
		g.Width = 24 * vg.Centimeter
	}
	if g.Height == 0 {
		g.Height = 15 * vg.Centimeter
	}
	if g.BGLabel == "" {
		g.BGLabel = "BG"
	}
	if g.CGMLabel == "" {
		g.CGMLabel = "CGM"
	}

	x := make([]float64, n) // seconds since the Unix epoch
	for i, t := range g.Time {
		x[i] = float64(t.Unix()) + float64(t.Nanosecond())/1e9
	}
	xmin, xmax := x[0], x[n-1]
	ticks := timeTicks{}

	top, err := glucosePanel(g, x, ticks)
	if err != nil {
		return err
	}
	bottom, err := insulinPanel(g, x, ticks)
	if err != nil {
		return err
	}
	for _, p := range []*gplot.Plot{top, bottom} {
		p.X.Min, p.X.Max = xmin, xmax
	}
	top.Title.Text = g.Title
	top.X.Tick.Label.Color = color.Transparent // the bottom panel labels the time axis

	var c vg.CanvasWriterTo
	if format == "png" {
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(g.Width, g.Height), vgimg.UseDPI(150))}
	} else {
		c = vgsvg.New(g.Width, g.Height)
	}
	dc := draw.New(c)
	stack(dc, []*gplot.Plot{top, bottom}, []float64{0.66, 0.34})
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// stack draws plots one above the other, the i-th taking share[i] of the
// height, with their data areas aligned horizontally.
func stack(dc draw.Canvas, plots []*gplot.Plot, share []float64) {
	pad := vg.Millimeter * 3
	dc = draw.Crop(dc, pad, -pad, pad, -pad)
	height := dc.Max.Y - dc.Min.Y
	canvases := make([]draw.Canvas, len(plots))
	y := dc.Max.Y
	for i := range plots {
		h := vg.Length(share[i]) * height
		c := dc
		c.Max.Y, c.Min.Y = y, y-h
		canvases[i] = c
		y -= h
	}
	// Align the data areas: every plot gets the largest left and right
	// margins any of them needs.
	var left, right vg.Length
	for i, p := range plots {
		da := p.DataCanvas(canvases[i])
		left = max(left, da.Min.X-canvases[i].Min.X)
		right = max(right, canvases[i].Max.X-da.Max.X)
	}
	for i, p := range plots {
		c := canvases[i]
		da := p.DataCanvas(c)
		c.Min.X += left - (da.Min.X - c.Min.X)
		c.Max.X -= right - (c.Max.X - da.Max.X)
		p.Draw(c)
	}
}

func glucosePanel(g Glucose, x []float64, ticks timeTicks) (*gplot.Plot, error) {
	p := gplot.New()
	p.Y.Label.Text = "Glucose (mg/dL)"
	p.Y.Tick.Marker = glucoseTicks{low: g.Low, high: g.High}
	p.X.Tick.Marker = ticks
	p.Add(plotter.NewGrid())
	ymax := 250.0
	for _, s := range [][]float64{g.BG, g.CGM} {
		for _, v := range s {
			if !math.IsNaN(v) && v > ymax {
				ymax = v
			}
		}
	}
	ymax *= 1.15 // headroom for the legend and meal markers
	p.Y.Min, p.Y.Max = 0, ymax

	xmin, xmax := x[0], x[len(x)-1]
	bandPts := plotter.XYs{{X: xmin, Y: g.Low}, {X: xmax, Y: g.Low}, {X: xmax, Y: g.High}, {X: xmin, Y: g.High}}
	bandPoly, err := plotter.NewPolygon(bandPts)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	bandPoly.Color = color.NRGBA{oiGreen.R, oiGreen.G, oiGreen.B, 0x38}
	bandPoly.LineStyle.Width = 0
	p.Add(bandPoly)
	p.Legend.Add(fmt.Sprintf("target %g-%g mg/dL", g.Low, g.High), bandPoly)

	if g.CGM != nil {
		style := draw.LineStyle{Color: oiBlue, Width: vg.Points(1.2)}
		addLines(p, g.CGMLabel, thinLine(x, g.CGM), style, plotter.NoStep, nil)
	}
	if g.BG != nil {
		style := draw.LineStyle{Color: oiBlack, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
		addLines(p, g.BGLabel, thinLine(x, g.BG), style, plotter.NoStep, nil)
	}
	if len(g.Meals) > 0 {
		pts := make(plotter.XYs, len(g.Meals))
		labels := make([]string, len(g.Meals))
		yMark := ymax * 0.03
		for i, m := range g.Meals {
			pts[i] = plotter.XY{X: float64(m.Time.Unix()), Y: yMark}
			labels[i] = fmt.Sprintf("%g g", m.Amount)
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		sc.GlyphStyle.Shape = draw.TriangleGlyph{}
		sc.GlyphStyle.Color = oiOrange
		sc.GlyphStyle.Radius = vg.Points(4)
		p.Add(sc)
		p.Legend.Add("meal (carbohydrate, g)", sc)
		// Labels only where they have room: few meals on a short axis.
		if len(g.Meals) <= 24 && xmax-xmin <= 7*86400 {
			lb, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
			if err != nil {
				return nil, fmt.Errorf("plot: %w", err)
			}
			for i := range lb.TextStyle {
				lb.TextStyle[i].Color = oiVermilion
				lb.TextStyle[i].Font.Size = vg.Points(8)
			}
			lb.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(-1)}
			p.Add(lb)
		}
	}
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Legend.ThumbnailWidth = vg.Points(14)
	return p, nil
}

func insulinPanel(g Glucose, x []float64, ticks timeTicks) (*gplot.Plot, error) {
	p := gplot.New()
	p.Y.Label.Text = "Insulin (U/h, U)"
	p.X.Label.Text = "Time (UTC)"
	p.X.Tick.Marker = ticks
	p.Add(plotter.NewGrid())
	ymax := 1.0
	if g.Basal != nil {
		// A step line: the rate holds from one sample to the next, so
		// the last rate is drawn up to the last sample.
		basal := append([]float64(nil), g.Basal...)
		if k := len(basal) - 1; math.IsNaN(basal[k]) {
			basal[k] = basal[k-1]
		}
		style := draw.LineStyle{Color: oiPurple, Width: vg.Points(1.2)}
		fill := color.NRGBA{oiPurple.R, oiPurple.G, oiPurple.B, 0x30}
		addLines(p, "basal (U/h)", thinLine(x, basal), style, plotter.PostStep, fill)
		for _, v := range g.Basal {
			if !math.IsNaN(v) {
				ymax = max(ymax, v)
			}
		}
	}
	if len(g.Bolus) > 0 {
		st := &stems{Color: oiSkyBlue, Width: vg.Points(2)}
		for _, b := range g.Bolus {
			st.XYs = append(st.XYs, plotter.XY{X: float64(b.Time.Unix()), Y: b.Amount})
			ymax = max(ymax, b.Amount)
		}
		p.Add(st)
		p.Legend.Add("bolus (U)", st)
	}
	p.Y.Min, p.Y.Max = 0, ymax*1.3
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Legend.ThumbnailWidth = vg.Points(14)
	return p, nil
}

// addLines adds pts to p as lines broken at NaN values, with one legend
// entry.
func addLines(p *gplot.Plot, label string, pts plotter.XYs, style draw.LineStyle, step plotter.StepKind, fill color.Color) {
	var first *plotter.Line
	for lo := 0; lo < len(pts); {
		if math.IsNaN(pts[lo].Y) {
			lo++
			continue
		}
		hi := lo
		for hi < len(pts) && !math.IsNaN(pts[hi].Y) {
			hi++
		}
		l := &plotter.Line{XYs: pts[lo:hi], LineStyle: style, StepStyle: step, FillColor: fill}
		p.Add(l)
		if first == nil {
			first = l
		}
		lo = hi
	}
	if first != nil {
		p.Legend.Add(label, first)
	}
}

// thinLine returns the points (x, y). Above maxPoints points the series is
// reduced to the minimum and maximum of equal time buckets, which keeps
// every excursion visible.
func thinLine(x, y []float64) plotter.XYs {
	pts := make(plotter.XYs, 0, min(len(x), 2*maxPoints))
	if len(x) <= maxPoints {
		for i := range x {
			pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
		}
	} else {
		per := (len(x) + maxPoints - 1) / maxPoints
		for lo := 0; lo < len(x); lo += per {
			hi := min(lo+per, len(x))
			iMin, iMax := -1, -1
			for i := lo; i < hi; i++ {
				if math.IsNaN(y[i]) {
					continue
				}
				if iMin < 0 || y[i] < y[iMin] {
					iMin = i
				}
				if iMax < 0 || y[i] > y[iMax] {
					iMax = i
				}
			}
			switch {
			case iMin < 0:
				pts = append(pts, plotter.XY{X: x[lo], Y: math.NaN()})
			case iMin == iMax:
				pts = append(pts, plotter.XY{X: x[iMin], Y: y[iMin]})
			case iMin < iMax:
				pts = append(pts, plotter.XY{X: x[iMin], Y: y[iMin]}, plotter.XY{X: x[iMax], Y: y[iMax]})
			default:
				pts = append(pts, plotter.XY{X: x[iMax], Y: y[iMax]}, plotter.XY{X: x[iMin], Y: y[iMin]})
			}
		}
	}
	return pts
}

// stems draws a vertical bar from zero to each point.
type stems struct {
	plotter.XYs
	Color color.Color
	Width vg.Length
}

func (s *stems) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	ls := draw.LineStyle{Color: s.Color, Width: s.Width}
	for _, pt := range s.XYs {
		x := tx(pt.X)
		c.StrokeLine2(ls, x, ty(0), x, ty(pt.Y))
	}
}

func (s *stems) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = plotter.XYRange(s.XYs)
	return xmin, xmax, min(0, ymin), max(0, ymax)
}

// Thumbnail draws the legend icon: a short vertical bar.
func (s *stems) Thumbnail(c *draw.Canvas) {
	ls := draw.LineStyle{Color: s.Color, Width: s.Width}
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(ls, x, c.Min.Y, x, c.Max.Y)
}

// glucoseTicks labels 0, the target range, 250 mg/dL and every 100 mg/dL
// above, with minor ticks every 50 mg/dL.
type glucoseTicks struct{ low, high float64 }

func (g glucoseTicks) Ticks(lo, hi float64) []gplot.Tick {
	labelled := map[float64]bool{0: true, g.low: true, g.high: true, 250: true}
	for v := 300.0; v <= hi; v += 100 {
		labelled[v] = true
	}
	var ticks []gplot.Tick
	for v := math.Ceil(lo/50) * 50; v <= hi; v += 50 {
		if !labelled[v] {
			ticks = append(ticks, gplot.Tick{Value: v})
		}
	}
	for v := range labelled {
		if v >= lo && v <= hi {
			ticks = append(ticks, gplot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	slices.SortFunc(ticks, func(a, b gplot.Tick) int { return cmp.Compare(a.Value, b.Value) })
	return ticks
}

// timeTicks marks a time axis in Unix seconds at round clock times, UTC:
// hours of the day for runs up to a few days, dates for longer ones.
type timeTicks struct{}

func (timeTicks) Ticks(lo, hi float64) []gplot.Tick {
	span := hi - lo
	if span > 60*86400 {
		return monthTicks(lo, hi)
	}
	steps := []float64{600, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
		86400, 2 * 86400, 7 * 86400, 14 * 86400}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s <= 9 {
			step = s
			break
		}
	}
	var ticks []gplot.Tick
	// Minor ticks at a fifth of the step when that is a round clock time.
	minor := step / 4
	if step < 86400 {
		minor = step / 2
	}
	for v := math.Ceil(lo/minor) * minor; v <= hi; v += minor {
		t := gplot.Tick{Value: v}
		if math.Mod(v, step) == 0 {
			tm := time.Unix(int64(v), 0).UTC()
			switch {
			case step >= 86400:
				t.Label = tm.Format("Jan 2")
			case tm.Hour() == 0 && tm.Minute() == 0:
				t.Label = tm.Format("Jan 2")
			default:
				t.Label = tm.Format("15:04")
			}
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// monthTicks marks the first day of every month, labelling every first,
// second, third, sixth or twelfth month so that at most nine carry labels.
func monthTicks(lo, hi float64) []gplot.Tick {
	t0 := time.Unix(int64(lo), 0).UTC()
	t1 := time.Unix(int64(hi), 0).UTC()
	months := (t1.Year()-t0.Year())*12 + int(t1.Month()-t0.Month())
	every := 12
	for _, m := range []int{1, 2, 3, 6, 12} {
		if months/m <= 9 {
			every = m
			break
		}
	}
	var ticks []gplot.Tick
	for m := time.Date(t0.Year(), t0.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(t1); m = m.AddDate(0, 1, 0) {
		v := float64(m.Unix())
		if v < lo {
			continue
		}
		t := gplot.Tick{Value: v}
		if (int(m.Month())-1)%every == 0 {
			t.Label = m.Format("Jan 2006")
		}
		ticks = append(ticks, t)
	}
	return ticks
}
