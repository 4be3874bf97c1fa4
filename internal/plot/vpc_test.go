package plot

import (
	"bytes"
	"image/color"
	"io"
	"math"
	"strings"
	"testing"
)

// testVPC is a synthetic band around a 1-compartment profile of 1000 mg
// every 12 h (V 50 L, k 0.1/h), ±40 %, with observations ±60 %.
func testVPC() VPC {
	var v VPC
	for t := 0.0; t <= 48; t += 0.5 {
		c := 0.0
		for d := 0.0; d <= t; d += 12 {
			c += 20 * math.Exp(-0.1*(t-d))
		}
		v.Time = append(v.Time, t)
		v.P5, v.P50, v.P95 = append(v.P5, 0.6*c), append(v.P50, c), append(v.P95, 1.4*c)
		v.ObsP5, v.ObsP50, v.ObsP95 = append(v.ObsP5, 0.4*c-1), append(v.ObsP50, c), append(v.ObsP95, 1.6*c+1)
		v.Typical = append(v.Typical, 1.05*c)
	}
	v.Doses = []float64{0, 12, 24, 36}
	v.Title = "test"
	return v
}

func TestWriteVPC(t *testing.T) {
	img, svg := render(t, "vpc.png", func(w io.Writer, format string) error { return WriteVPC(w, format, testVPC()) })
	// The band is a filled area, far larger than any line.
	wantColours(t, img, 5000, map[string]color.RGBA{"band": agpOuter})
	wantColours(t, img, 20, map[string]color.RGBA{"median": agpMedian, "observations": oiVermilion, "typical": oiOrange})
	wantText(t, svg, "Concentration (mg/L)", "90 % band", "median", "simulated observations", "typical subject")

	noObs := testVPC()
	noObs.ObsP5, noObs.ObsP50, noObs.ObsP95 = nil, nil, nil
	var buf bytes.Buffer
	if err := WriteVPC(&buf, "svg", noObs); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "simulated observations") {
		t.Error("SVG without observation percentiles names them")
	}
}

func TestWriteVPCErrors(t *testing.T) {
	short := testVPC()
	short.Time = short.Time[:1]
	bad := testVPC()
	bad.P95 = bad.P95[:3]
	obs := testVPC()
	obs.ObsP50 = nil
	back := testVPC()
	back.Time[3] = back.Time[2]
	wantErrors(t, WriteVPC, map[string]errCase[VPC]{
		"format":     {testVPC(), "pdf", `unknown image format "pdf"`},
		"short":      {short, "png", "at least two times"},
		"length":     {bad, "png", "percentiles need"},
		"obs":        {obs, "png", "observation percentiles need"},
		"increasing": {back, "png", "not increasing at 3"},
	})
}
