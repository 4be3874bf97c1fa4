package plot

import (
	"bytes"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"
)

// testPK is a one-compartment profile of 1000 mg bolus doses every 12 h
// (V 50 L, k 0.1/h) with the population at k 0.07/h.
func testPK() PK {
	conc := func(k, t float64) float64 {
		c := 0.0
		for d := 0.0; d <= t; d += 12 {
			c += 20 * math.Exp(-k*(t-d))
		}
		return c
	}
	var k PK
	for t := 0.0; t <= 48; t += 0.5 {
		k.Time = append(k.Time, t)
		k.PRED = append(k.PRED, conc(0.07, t))
		k.IPRED = append(k.IPRED, conc(0.1, t))
	}
	for t := 48.0; t <= 96; t += 0.5 {
		k.ProposedTime = append(k.ProposedTime, t)
		k.Proposed = append(k.Proposed, 0.8*conc(0.1, t))
	}
	k.LevelTime, k.Level = []float64{23.5, 35.5}, []float64{7.1, 7.9}
	k.Doses = []float64{0, 12, 24, 36, 48}
	k.Title = "test"
	return k
}

func TestWritePK(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePK(&buf, "png", testPK()); err != nil {
		t.Fatal(err)
	}
	save(t, "pk.png", buf.Bytes())
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// Each series is drawn in its Okabe-Ito colour.
	for name, c := range map[string]color.RGBA{"PRED": oiSkyBlue, "IPRED": oiBlue, "proposed": oiGreen, "levels": oiVermilion} {
		if n := colourCount(img, c); n < 20 {
			t.Errorf("%s: %d pixels of its colour, want a drawn series", name, n)
		}
	}
	buf.Reset()
	if err := WritePK(&buf, "svg", testPK()); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	for _, s := range []string{"Concentration (mg/L)", "Time after the first dose (h)", "measured level", "population prediction"} {
		if !strings.Contains(svg, s) {
			t.Errorf("SVG lacks %q", s)
		}
	}
}

func TestWritePKErrors(t *testing.T) {
	short := testPK()
	short.Time = short.Time[:1]
	bad := testPK()
	bad.IPRED = bad.IPRED[:3]
	back := testPK()
	back.Time[3] = back.Time[2]
	for name, tt := range map[string]struct {
		k      PK
		format string
		want   string
	}{
		"format":     {testPK(), "pdf", `unknown image format "pdf"`},
		"short":      {short, "png", "at least two times"},
		"length":     {bad, "png", "PRED and IPRED need"},
		"increasing": {back, "png", "not increasing at 3"},
	} {
		err := WritePK(&bytes.Buffer{}, tt.format, tt.k)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", name, err, tt.want)
		}
	}
}
