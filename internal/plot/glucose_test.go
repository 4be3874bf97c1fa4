package plot

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"
)

// day returns a synthetic 24-h trace at 1-min sampling: glucose swinging
// between about 60 and 220 mg/dL, three meals with boluses, and a basal
// change at noon.
func day() Glucose {
	start := time.Date(2018, 1, 1, 6, 0, 0, 0, time.UTC)
	g := Glucose{Title: "synthetic day"}
	for i := 0; i <= 1440; i++ {
		t := start.Add(time.Duration(i) * time.Minute)
		v := 140 + 80*math.Sin(float64(i)/120)
		g.Time = append(g.Time, t)
		g.BG = append(g.BG, v)
		g.CGM = append(g.CGM, v+5*math.Sin(float64(i)/7))
		basal := 1.27
		if i >= 360 {
			basal = 0.9
		}
		g.Basal = append(g.Basal, basal)
	}
	g.Basal[1440] = math.NaN()
	for _, m := range []struct {
		h     int
		carbs float64
		units float64
	}{{1, 45, 4.5}, {6, 70, 8.5}, {12, 80, 8}} {
		t := start.Add(time.Duration(m.h) * time.Hour)
		g.Meals = append(g.Meals, Event{t, m.carbs})
		g.Bolus = append(g.Bolus, Event{t.Add(time.Minute), m.units})
	}
	return g
}

func TestWriteGlucose(t *testing.T) {
	tests := []struct {
		format  string
		check   func([]byte) bool
		minSize int
	}{
		{"png", func(b []byte) bool {
			cfg, err := png.DecodeConfig(bytes.NewReader(b))
			return err == nil && cfg.Width > 500 && cfg.Height > 300
		}, 20000},
		{"svg", func(b []byte) bool {
			s := string(b)
			return strings.HasPrefix(s, "<?xml") && strings.Contains(s, "<svg") && strings.Contains(s, "Glucose (mg/dL)") &&
				strings.Contains(s, "Insulin (U/h, U)") && strings.Contains(s, "Time (UTC)") && strings.HasSuffix(strings.TrimSpace(s), "</svg>")
		}, 20000},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := WriteGlucose(&buf, tt.format, day()); err != nil {
			t.Fatalf("WriteGlucose(%s): %v", tt.format, err)
		}
		if buf.Len() < tt.minSize {
			t.Errorf("%s: %d bytes, want at least %d", tt.format, buf.Len(), tt.minSize)
		}
		if !tt.check(buf.Bytes()) {
			t.Errorf("%s: output is not a valid figure (first bytes %q)", tt.format, buf.Bytes()[:min(buf.Len(), 40)])
		}
		if os.Getenv("PLOT_OUT") != "" { // look at the figure: PLOT_OUT=/tmp go test ./internal/plot
			if err := os.WriteFile(filepath.Join(os.Getenv("PLOT_OUT"), "glucose."+tt.format), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestWriteGlucoseOptional(t *testing.T) {
	// Only CGM, no insulin, no meals: still a figure.
	g := day()
	g.BG, g.Basal, g.Bolus, g.Meals = nil, nil, nil, nil
	var buf bytes.Buffer
	if err := WriteGlucose(&buf, "svg", g); err != nil {
		t.Fatal(err)
	}
	if s := buf.String(); strings.Contains(s, ">BG<") || !strings.Contains(s, ">CGM<") {
		t.Error("legend should name CGM only")
	}
}

func TestWriteGlucoseErrors(t *testing.T) {
	short := day()
	short.BG = short.BG[:10]
	unordered := day()
	unordered.Time[5] = unordered.Time[4]
	one := day()
	one.Time, one.BG, one.CGM, one.Basal = one.Time[:1], nil, nil, nil
	tests := []struct {
		name   string
		format string
		g      Glucose
		want   string
	}{
		{"format", "pdf", day(), `plot: unknown image format "pdf"; valid: png, svg`},
		{"length", "png", short, "plot: BG has 10 values for 1441 times"},
		{"order", "png", unordered, "plot: times are not increasing at sample 5 (2018-01-01T06:04:00Z)"},
		{"one sample", "png", one, "plot: glucose trace needs at least two samples"},
	}
	for _, tt := range tests {
		err := WriteGlucose(&bytes.Buffer{}, tt.format, tt.g)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestThinLine(t *testing.T) {
	// A year of 1-min samples with one deep dip: the envelope keeps it.
	n := 365 * 1440
	x := make([]float64, n)
	y := make([]float64, n)
	for i := range x {
		x[i] = float64(i) * 60
		y[i] = 150 + 30*math.Sin(float64(i)/500)
	}
	y[123457] = 40
	y[400000] = math.NaN()
	l := &plotter.Line{XYs: thinLine(x, y)}
	if len(l.XYs) > 2*maxPoints+2 {
		t.Errorf("%d points after thinning, want at most %d", len(l.XYs), 2*maxPoints+2)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, p := range l.XYs {
		if i > 0 && p.X < l.XYs[i-1].X {
			t.Fatalf("x not increasing at %d", i)
		}
		lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
	}
	if lo != 40 || hi < 179.99 {
		t.Errorf("envelope range [%g, %g], want [40, ~180]", lo, hi)
	}
	short := &plotter.Line{XYs: thinLine(x[:100], y[:100])}
	if len(short.XYs) != 100 {
		t.Errorf("short series changed: %d points", len(short.XYs))
	}
}

func TestFormatOf(t *testing.T) {
	tests := []struct{ path, want, err string }{
		{"run.png", "png", ""},
		{"out/Run.SVG", "svg", ""},
		{"run.pdf", "", `plot: run.pdf: unknown image type ".pdf"; use a .png or .svg file name`},
		{"run", "", `plot: run: unknown image type ""; use a .png or .svg file name`},
	}
	for _, tt := range tests {
		got, err := FormatOf(tt.path)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("FormatOf(%q) = %q, %v; want %q, %q", tt.path, got, err, tt.want, tt.err)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	start := float64(time.Date(2018, 1, 1, 6, 0, 0, 0, time.UTC).Unix())
	tests := []struct {
		span   float64
		labels []string
	}{
		{86400, []string{"06:00", "09:00", "12:00", "15:00", "18:00", "21:00", "Jan 2", "03:00", "06:00"}},
		{2 * 3600, []string{"06:00", "06:30", "07:00", "07:30", "08:00"}},
		{7 * 86400, []string{"Jan 2", "Jan 3", "Jan 4", "Jan 5", "Jan 6", "Jan 7", "Jan 8"}},
		{365 * 86400, []string{"Mar 2018", "May 2018", "Jul 2018", "Sep 2018", "Nov 2018", "Jan 2019"}},
		{120 * 86400, []string{"Feb 2018", "Mar 2018", "Apr 2018", "May 2018"}},
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range (timeTicks{}).Ticks(start, start+tt.span) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if strings.Join(got, " ") != strings.Join(tt.labels, " ") {
			t.Errorf("span %gs: labels %q, want %q", tt.span, got, tt.labels)
		}
	}
}
