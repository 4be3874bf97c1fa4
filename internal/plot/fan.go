package plot

import (
	"errors"
	"fmt"
	"io"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// FanUnit is the forecast occupancy of one hospital unit: quantiles across
// Monte Carlo replications of each day's mean occupancy (patients), and
// the unit's capacity.
type FanUnit struct {
	Name                   string
	Day                    []float64 // day numbers, increasing (1 = the first day)
	P5, P25, P50, P75, P95 []float64
	// Capacity is the number of beds or cubicles on each day (drawn as
	// steps: capacity may change); nil: no capacity line.
	Capacity []float64
}

// WriteFan draws one fan-chart panel per unit, stacked (median line, 50 %
// and 90 % bands, the capacity dashed), and writes the figure to w in
// format "png" or "svg".
func WriteFan(w io.Writer, format, title string, units []FanUnit) error {
	if len(units) == 0 {
		return errors.New("plot: fan chart with no units")
	}
	plots := make([][]*gplot.Plot, len(units))
	for i, u := range units {
		n := len(u.Day)
		if n == 0 {
			return fmt.Errorf("plot: fan chart unit %q has no days", u.Name)
		}
		if u.Capacity != nil && len(u.Capacity) != n {
			return fmt.Errorf("plot: fan chart unit %q: %d days but %d capacities", u.Name, n, len(u.Capacity))
		}
		for _, s := range [][]float64{u.P5, u.P25, u.P50, u.P75, u.P95} {
			if len(s) != n {
				return fmt.Errorf("plot: fan chart unit %q: %d days but a quantile series of %d", u.Name, n, len(s))
			}
		}
		p := gplot.New()
		p.Title.Text = u.Name
		if i == 0 && title != "" {
			p.Title.Text = title + "\n" + u.Name
		}
		p.X.Label.Text = "day"
		if i < len(units)-1 {
			p.X.Label.Text = ""
		}
		p.Y.Label.Text = "occupancy (patients)"
		p.Add(plotter.NewGrid())
		outer, err := band(u.Day, u.P5, u.P95, agpOuter)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		inner, err := band(u.Day, u.P25, u.P75, agpInner)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		p.Add(outer, inner)
		p.Legend.Add("90 % (5th-95th percentile)", outer)
		p.Legend.Add("50 % (25th-75th)", inner)
		addLines(p, "median", xy(u.Day, u.P50), draw.LineStyle{Color: agpMedian, Width: vg.Points(1.5)}, plotter.NoStep, nil)
		ymax := maxFinite(1, u.P95)
		if u.Capacity != nil {
			label := fmt.Sprintf("capacity (%g)", u.Capacity[0])
			if lo, hi := minMax(u.Capacity); lo != hi {
				label = fmt.Sprintf("capacity (%g-%g)", lo, hi)
			}
			addLines(p, label, xy(u.Day, u.Capacity),
				draw.LineStyle{Color: oiVermilion, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}, plotter.PreStep, nil)
			ymax = maxFinite(ymax, u.Capacity)
		}
		p.Y.Min, p.Y.Max = 0, ymax*1.25 // headroom for the legend
		p.X.Min, p.X.Max = u.Day[0], max(u.Day[n-1], u.Day[0]+1)
		p.Legend.Top = true
		p.Legend.TextStyle.Font.Size = vg.Points(8)
		p.Legend.ThumbnailWidth = vg.Points(14)
		plots[i] = []*gplot.Plot{p}
	}
	return writeGrid(w, format, 24*vg.Centimeter, vg.Length(len(units))*7*vg.Centimeter+vg.Centimeter, plots)
}

func minMax(xs []float64) (lo, hi float64) {
	lo, hi = xs[0], xs[0]
	for _, x := range xs[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}
