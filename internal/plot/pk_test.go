package plot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

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
	img, svg := render(t, "pk.png", func(w io.Writer, format string) error { return WritePK(w, format, testPK()) })
	// Each series is drawn in its Okabe-Ito colour.
	wantColours(t, img, 20, map[string]color.RGBA{"PRED": oiSkyBlue, "IPRED": oiBlue, "proposed": oiGreen, "levels": oiVermilion})
	wantText(t, svg, "Concentration (mg/L)", "Time after the first dose (h)", "measured level", "population prediction")
}

// TestWritePKGolden checks that a figure without PD (no Ce, no Effect)
// draws exactly as it did before the effect panel existed: the golden SVG
// and the SHA-256 of the PNG were written by WritePK before that change
// (refresh with -update only for an intended change of the figure).
func TestWritePKGolden(t *testing.T) {
	for _, tc := range []struct{ format, golden string }{
		{"svg", "pk.svg.golden"},
		{"png", "pk.png.sha256"},
	} {
		var buf bytes.Buffer
		if err := WritePK(&buf, tc.format, testPK()); err != nil {
			t.Fatal(err)
		}
		got := buf.Bytes()
		if tc.format == "png" {
			sum := sha256.Sum256(got)
			got = []byte(hex.EncodeToString(sum[:]) + "\n")
		}
		path := filepath.Join("testdata", tc.golden)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the no-PD figure differs from %s (%d bytes, want %d)", tc.format, path, len(got), len(want))
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
	wantErrors(t, WritePK, map[string]errCase[PK]{
		"format":     {testPK(), "pdf", `unknown image format "pdf"`},
		"short":      {short, "png", "at least two times"},
		"length":     {bad, "png", "PRED and IPRED need"},
		"increasing": {back, "png", "not increasing at 3"},
	})
}

// The helpers below are shared by the tests of the concentration-time
// figures, PK and VPC.

// render draws a figure with write as PNG (kept as name under -keep) and as
// SVG, and returns the decoded PNG and the SVG text.
func render(t *testing.T, name string, write func(w io.Writer, format string) error) (image.Image, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf, "png"); err != nil {
		t.Fatal(err)
	}
	save(t, name, buf.Bytes())
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := write(&buf, "svg"); err != nil {
		t.Fatal(err)
	}
	return img, buf.String()
}

// wantColours checks that each named colour covers at least min pixels of
// img, as a drawn series does.
func wantColours(t *testing.T, img image.Image, min int, colours map[string]color.RGBA) {
	t.Helper()
	for name, c := range colours {
		if n := colourCount(img, c); n < min {
			t.Errorf("%s: %d pixels of its colour, want at least %d", name, n, min)
		}
	}
}

// wantText checks that svg holds each of texts.
func wantText(t *testing.T, svg string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(svg, s) {
			t.Errorf("SVG lacks %q", s)
		}
	}
}

// errCase is a figure that its writer must refuse in format, with a part
// of the expected error.
type errCase[F any] struct {
	fig    F
	format string
	want   string
}

// wantErrors checks that write refuses each case with its error.
func wantErrors[F any](t *testing.T, write func(io.Writer, string, F) error, cases map[string]errCase[F]) {
	t.Helper()
	for name, tc := range cases {
		err := write(&bytes.Buffer{}, tc.format, tc.fig)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}
