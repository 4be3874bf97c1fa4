package plot

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var keep = flag.String("keep", "", "directory to keep the rendered test figures in, to look at them")

// save writes a rendered figure to the -keep directory, if given.
func save(t *testing.T, name string, data []byte) {
	t.Helper()
	if *keep == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(*keep, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testAGP is a smooth synthetic profile: a daily wave with widening bands,
// shifted by arm, with a gap of missing bins in the night for arm 1.
func testAGP(arms int) []AGPArm {
	out := make([]AGPArm, arms)
	for a := range out {
		arm := AGPArm{Name: []string{"basal-bolus", "PID", "CR x0.8"}[a]}
		for b := range 288 {
			m := float64(b)*5 + 2.5
			med := 140 + 40*math.Sin(2*math.Pi*m/1440) - 15*float64(a)
			arm.Minutes = append(arm.Minutes, m)
			arm.P5, arm.P25, arm.P50 = append(arm.P5, med-60), append(arm.P25, med-25), append(arm.P50, med)
			arm.P75, arm.P95 = append(arm.P75, med+30), append(arm.P95, med+90)
			if a == 1 && b >= 10 && b < 20 {
				for _, s := range [][]float64{arm.P5, arm.P25, arm.P50, arm.P75, arm.P95} {
					s[b] = math.NaN()
				}
			}
		}
		out[a] = arm
	}
	return out
}

// colourCount counts the pixels of img that are exactly c.
func colourCount(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == c.R && uint8(g>>8) == c.G && uint8(bl>>8) == c.B {
				n++
			}
		}
	}
	return n
}

func TestWriteAGPPNG(t *testing.T) {
	for _, arms := range []int{1, 3} {
		var buf bytes.Buffer
		if err := WriteAGP(&buf, "png", "test trial", testAGP(arms)); err != nil {
			t.Fatal(err)
		}
		save(t, "agp"+string(rune('0'+arms))+".png", buf.Bytes())
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		// 8 in wide at vgimg's default 96 dpi; 2.6 in per arm plus 0.4 in.
		wantW, wantH := 768, int(math.Round((2.6*float64(arms)+0.4)*96))
		if b := img.Bounds(); b.Dx() != wantW || math.Abs(float64(b.Dy()-wantH)) > 1 {
			t.Errorf("%d arms: image %v, want %dx%d", arms, b, wantW, wantH)
		}
		// Each band covers a good part of each panel: the inner band is about
		// 55 mg/dL of a 400 mg/dL axis over the whole day, the outer one
		// visible above and below it over 95 mg/dL more. Require at least
		// a few percent of the image per arm, which an undrawn band fails.
		total := img.Bounds().Dx() * img.Bounds().Dy()
		// The median line, 2 pt wide over the 6-inch day, is at least 0.3 %.
		for _, c := range []struct {
			name string
			c    color.RGBA
			frac float64
		}{{"outer band", agpOuter, 0.05}, {"inner band", agpInner, 0.05}, {"median", agpMedian, 0.003}} {
			if n := colourCount(img, c.c); float64(n) < c.frac*float64(total) {
				t.Errorf("%d arms: %s colour covers %d of %d pixels", arms, c.name, n, total)
			}
		}
	}
}

func TestWriteAGPSVG(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAGP(&buf, "svg", "BB vs PID", testAGP(3)); err != nil {
		t.Fatal(err)
	}
	save(t, "agp.svg", buf.Bytes())
	svg := buf.String()
	for _, want := range []string{"<svg", "BB vs PID", "basal-bolus", "PID", "CR x0.8", "25-75 %", "median", "12:00", "glucose (mg/dL)"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestWriteAGPErrors(t *testing.T) {
	short := testAGP(1)
	short[0].P75 = short[0].P75[:10]
	empty := []AGPArm{{Name: "x"}}
	for _, tc := range []struct {
		name, format string
		arms         []AGPArm
		want         string
	}{
		{"no arms", "png", nil, "plot: AGP with no arms"},
		{"no points", "png", empty, `plot: AGP arm "x" has no points`},
		{"short series", "png", short, `plot: AGP arm "basal-bolus": 288 times but a percentile series of 10`},
		{"format", "gif", testAGP(1), `plot: unknown image format "gif"; valid: png, svg`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteAGP(&buf, tc.format, "", tc.arms)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSegments(t *testing.T) {
	nan := math.NaN()
	x := []float64{0, 1, 2, 3, 4, 5, 6}
	for _, tc := range []struct {
		y    []float64
		want [][2]int
	}{
		{[]float64{1, 1, 1, 1, 1, 1, 1}, [][2]int{{0, 7}}},
		{[]float64{nan, 1, 1, nan, nan, 1, nan}, [][2]int{{1, 3}, {5, 6}}},
		{[]float64{nan, nan, nan, nan, nan, nan, nan}, nil},
	} {
		got := segments(x, tc.y)
		if len(got) != len(tc.want) {
			t.Errorf("segments(%v) = %v, want %v", tc.y, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("segments(%v) = %v, want %v", tc.y, got, tc.want)
			}
		}
	}
}
