package plot

import (
	"image"
	"image/color"
	"io"
	"math"
	"strings"
	"testing"
)

// testPKPD is the concentration of a one-compartment model (V 50 L,
// k 0.1/h, 1000 mg bolus every 12 h) with an effect compartment (ke0
// 0.5/h, Ce by Euler steps of the link equation dCe/dt = ke0·(C − Ce)) and
// a sigmoid Emax effect of Ce (Emax 100, EC50 15 mg/L, Hill 2). The values
// only need to be plausible: the test checks the drawing, not the model.
func testPKPD() PK {
	var k PK
	ce := 0.0
	for t := 0.0; t <= 48; t += 0.5 {
		c := 0.0
		for d := 0.0; d <= t; d += 12 {
			c += 20 * math.Exp(-0.1*(t-d))
		}
		if t > 0 {
			ce += 0.5 * 0.5 * (c - ce)
		}
		k.Time = append(k.Time, t)
		k.PRED = append(k.PRED, c)
		k.Ce = append(k.Ce, ce)
		k.Effect = append(k.Effect, 100*ce*ce/(15*15+ce*ce))
	}
	k.Doses = []float64{0, 12, 24, 36}
	k.Title = "test PK/PD"
	return k
}

// rows returns the horizontal band of img from fraction lo to hi of its
// height (0 is the top).
func rows(img image.Image, lo, hi float64) image.Image {
	b := img.Bounds()
	r := image.Rect(b.Min.X, b.Min.Y+int(lo*float64(b.Dy())), b.Max.X, b.Min.Y+int(hi*float64(b.Dy())))
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
}

func TestWritePKEffect(t *testing.T) {
	for _, tc := range []struct {
		name, unit, axis string
		noCe             bool
	}{
		{name: "default unit", axis: "Effect (model units)"},
		{name: "given unit", unit: "% inhibition", axis: "Effect (% inhibition)"},
		{name: "direct effect", axis: "Effect (model units)", noCe: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := testPKPD()
			k.EffectUnit = tc.unit
			k.EffectLabel = "sigmoid Emax"
			if tc.noCe {
				k.Ce = nil
			}
			img, svg := render(t, "pk_effect_"+strings.ReplaceAll(tc.name, " ", "_")+".png",
				func(w io.Writer, format string) error { return WritePK(w, format, k) })
			// The concentration panel takes the upper 60 % of the height
			// and the effect panel the lower 40 %: the effect (vermilion)
			// is drawn only in the lower one, the concentration (sky blue)
			// and Ce (purple) only in the upper one.
			top, bottom := rows(img, 0, 0.55), rows(img, 0.62, 1)
			wantColours(t, top, 20, map[string]color.RGBA{"PRED": oiSkyBlue})
			wantColours(t, bottom, 20, map[string]color.RGBA{"effect": oiVermilion})
			for name, c := range map[string]struct {
				img image.Image
				c   color.RGBA
			}{"effect in the top panel": {top, oiVermilion}, "PRED in the bottom panel": {bottom, oiSkyBlue}, "Ce in the bottom panel": {bottom, oiPurple}} {
				if n := colourCount(c.img, c.c); n > 0 {
					t.Errorf("%s: %d pixels", name, n)
				}
			}
			if n := colourCount(top, oiPurple); tc.noCe != (n == 0) {
				t.Errorf("Ce drawn with %d pixels, want it drawn: %v", n, !tc.noCe)
			}
			wantText(t, svg, "Concentration (mg/L)", tc.axis, "sigmoid Emax", "dose")
			if !tc.noCe {
				wantText(t, svg, "effect-site concentration (Ce)")
			}
			// One time axis label, under the effect panel.
			if n := strings.Count(svg, "Time after the first dose (h)"); n != 1 {
				t.Errorf("time axis labelled %d times, want once", n)
			}
		})
	}
}

func TestWritePKEffectErrors(t *testing.T) {
	ce := testPKPD()
	ce.Ce = ce.Ce[:5]
	eff := testPKPD()
	eff.Effect = eff.Effect[:5]
	wantErrors(t, WritePK, map[string]errCase[PK]{
		"Ce":     {ce, "png", "Ce and Effect need 97 values"},
		"Effect": {eff, "svg", "Ce and Effect need 97 values"},
		"format": {testPKPD(), "pdf", `unknown image format "pdf"`},
	})
}
