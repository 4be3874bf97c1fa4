package plot

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// VPC is a visual-predictive-check style figure of a simulated population:
// the median concentration with its 90 % band (5th to 95th percentile)
// across subjects at each time, optionally the same percentiles of the
// simulated observations (with residual error), and the typical-subject
// prediction. Times are in h, concentrations in mg/L.
type VPC struct {
	Title         string
	Time          []float64 // h, increasing
	P5, P50, P95  []float64 // percentiles of the concentration at Time, mg/L
	ObsP5, ObsP95 []float64 // percentiles of simulated observations; nil: none
	ObsP50        []float64
	Typical       []float64 // typical prediction (η = 0) at Time; nil: none
	Doses         []float64 // dose times, h, marked on the time axis

	// Width and Height of the figure; zero means 24 cm × 13 cm.
	Width, Height vg.Length
}

// WriteVPC draws v in format ("png" or "svg") to w.
func WriteVPC(w io.Writer, format string, v VPC) error {
	n := len(v.Time)
	if err := checkConc(format, n, "VPC"); err != nil {
		return err
	}
	for _, s := range [][]float64{v.P5, v.P50, v.P95} {
		if len(s) != n {
			return fmt.Errorf("plot: VPC percentiles need %d values, one per time", n)
		}
	}
	hasObs := v.ObsP5 != nil || v.ObsP50 != nil || v.ObsP95 != nil
	if v.Typical != nil && len(v.Typical) != n {
		return fmt.Errorf("plot: the typical prediction needs %d values, one per time", n)
	}
	if hasObs && (len(v.ObsP5) != n || len(v.ObsP50) != n || len(v.ObsP95) != n) {
		return fmt.Errorf("plot: VPC observation percentiles need %d values each", n)
	}
	p, err := newConcPlot(v.Title, v.Time)
	if err != nil {
		return err
	}
	ymax := maxFinite(1, v.P95, v.ObsP95, v.Typical)
	if hasObs {
		// Both percentiles as one series broken by a NaN: one legend entry.
		pts := append(append(xy(v.Time, v.ObsP5), plotter.XY{X: math.NaN(), Y: math.NaN()}), xy(v.Time, v.ObsP95)...)
		addLines(p, "simulated observations, 5th and 95th percentiles", pts,
			draw.LineStyle{Color: oiVermilion, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}, plotter.NoStep, nil)
		addLines(p, "simulated observations, median", xy(v.Time, v.ObsP50),
			draw.LineStyle{Color: oiVermilion, Width: vg.Points(1)}, plotter.NoStep, nil)
	}
	poly, err := band(v.Time, v.P5, v.P95, agpOuter)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	p.Add(poly)
	p.Legend.Add("90 % band (5th-95th percentile)", poly)
	addLines(p, "median", xy(v.Time, v.P50), draw.LineStyle{Color: agpMedian, Width: vg.Points(1.5)}, plotter.NoStep, nil)
	if v.Typical != nil {
		addLines(p, "typical subject (η = 0)", xy(v.Time, v.Typical),
			draw.LineStyle{Color: oiOrange, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}, plotter.NoStep, nil)
	}
	if err := addDoses(p, v.Doses); err != nil {
		return err
	}
	p.X.Min, p.X.Max = math.Min(0, v.Time[0]), v.Time[n-1]
	p.Y.Min, p.Y.Max = 0, ymax*1.3 // headroom for the legend
	if hasObs {
		for _, x := range v.ObsP5 {
			p.Y.Min = math.Min(p.Y.Min, x)
		}
	}
	return writeConcPlot(w, format, p, v.Width, v.Height)
}
