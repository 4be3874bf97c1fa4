package plot

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
)

func testTIR() []TIRArm {
	return []TIRArm{
		{Name: "basal-bolus", VeryLow: 0.5, Low: 2.5, InRange: 70, High: 20, VeryHigh: 7},
		{Name: "PID", VeryLow: 0, Low: 1, InRange: 80, High: 15, VeryHigh: 4},
	}
}

func TestWriteTIR(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTIR(&buf, "png", "test trial", testTIR()); err != nil {
		t.Fatal(err)
	}
	save(t, "tir.png", buf.Bytes())
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// Each range's colour is on the image, in proportion: the in-range
	// parts (70 % and 80 % of two bars) cover far more than the very-low
	// part (0.5 % of one bar) and the high parts lie in between.
	count := map[string]int{}
	for _, r := range tirRanges {
		count[r.label] = colourCount(img, r.color)
	}
	if !(count["70-180"] > count["181-250"] && count["181-250"] > count[">250 mg/dL"] && count[">250 mg/dL"] > count["<54"]) {
		t.Errorf("pixels per range colour %v, want in-range > 181-250 > >250 > <54", count)
	}
	if count["<54"] == 0 {
		t.Errorf("the 0.5 %% very-low part of the first bar is not drawn: %v", count)
	}

	buf.Reset()
	if err := WriteTIR(&buf, "svg", "BB vs PID", testTIR()); err != nil {
		t.Fatal(err)
	}
	save(t, "tir.svg", buf.Bytes())
	for _, want := range []string{"BB vs PID", "basal-bolus", "PID", "70 %", "80 %", "&lt;54", "&gt;250 mg/dL", "181-250"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestWriteTIRErrors(t *testing.T) {
	bad := testTIR()
	bad[1].High = 30
	neg := testTIR()
	neg[0].Low, neg[0].InRange = -1, 73.5
	for _, tc := range []struct {
		name, format string
		arms         []TIRArm
		want         string
	}{
		{"no arms", "png", nil, "plot: time in ranges with no arms"},
		{"sum", "png", bad, `plot: time in ranges of arm "PID" add up to 115 %, want 100`},
		{"negative", "png", neg, `plot: time in ranges of arm "basal-bolus": 54-69 is -1 %, want 0-100`},
		{"format", "jpg", testTIR(), `plot: unknown image format "jpg"; valid: png, svg`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteTIR(&buf, tc.format, "", tc.arms)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
