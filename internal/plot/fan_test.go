package plot

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteFan(t *testing.T) {
	u := FanUnit{Name: "icu", Capacity: []float64{44, 44, 44}, Day: []float64{1, 2, 3},
		P5: []float64{30, 31, 32}, P25: []float64{33, 34, 35}, P50: []float64{36, 36, 37},
		P75: []float64{38, 39, 40}, P95: []float64{41, 42, 44}}
	for _, format := range []string{"png", "svg"} {
		var buf bytes.Buffer
		if err := WriteFan(&buf, format, "forecast", []FanUnit{u, u}); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if format == "png" && !bytes.HasPrefix(buf.Bytes(), []byte("\x89PNG")) {
			t.Error("not a PNG")
		}
		if format == "svg" && !strings.Contains(buf.String(), "capacity (44)") {
			t.Error("SVG lacks the capacity legend")
		}
	}
	u.Capacity = []float64{44, 44, 50}
	var buf bytes.Buffer
	if err := WriteFan(&buf, "svg", "", []FanUnit{u}); err != nil || !strings.Contains(buf.String(), "capacity (44-50)") {
		t.Errorf("changing capacity: err %v, legend missing", err)
	}
	bad := u
	bad.P50 = bad.P50[:2]
	if err := WriteFan(&bytes.Buffer{}, "png", "", []FanUnit{bad}); err == nil {
		t.Error("mismatched series: no error")
	}
	if err := WriteFan(&bytes.Buffer{}, "png", "", nil); err == nil {
		t.Error("no units: no error")
	}
}
