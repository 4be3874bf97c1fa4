package sqlstore

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cgmDay reads testdata/cgm_day.csv (see testdata/README.md); round gives
// whole mg/dL, as CGM devices report.
func cgmDay(tb testing.TB, round bool) []point {
	tb.Helper()
	f, err := os.Open("testdata/cgm_day.csv")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var ps []point
	for _, r := range recs[1:] {
		t, err := time.Parse(time.DateTime, r[0])
		if err != nil {
			tb.Fatal(err)
		}
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			tb.Fatal(err)
		}
		if round {
			v = math.Round(v)
		}
		ps = append(ps, point{t: t.UnixNano(), v: v})
	}
	return ps
}

// TestChunkFormat checks encodings written out by hand from the format in
// chunk.go.
func TestChunkFormat(t *testing.T) {
	tests := []struct {
		name string
		ps   []point
		want []byte
	}{
		// Seconds (e=9), whole values (k=0): t 1 s, 2 s, 3 s: first 1
		// (zigzag 2), step 1 (2), step change 0 (0); values 1, +2 (4), -1 (1).
		{"seconds", []point{{1e9, 1}, {2e9, 3}, {3e9, 2}}, []byte{1, 3, 9, 0, 2, 2, 0, 2, 4, 1}},
		// Tenths of seconds (e=8), tenths (k=1): 1.5 s = 15 units (zigzag
		// 30 = 0x1e); value 36.6 = 366/10 (zigzag 732 = 0xdc 0x05).
		{"one", []point{{1_500_000_000, 36.6}}, []byte{1, 1, 8, 1, 0x1e, 0xdc, 0x05}},
		// Nanoseconds (e=0), raw values (k=255): -1 ns (zigzag 1); pi.
		{"raw", []point{{-1, math.Pi}}, append([]byte{1, 1, 0, 255, 1}, 0x18, 0x2d, 0x44, 0x54, 0xfb, 0x21, 0x09, 0x40)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := encodeChunk(tc.ps)
			if !bytes.Equal(got, tc.want) {
				t.Errorf("encode = % x, want % x", got, tc.want)
			}
			back, err := decodeChunk(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.ps, back, cmp.AllowUnexported(point{})); diff != "" {
				t.Errorf("decode (-want +got):\n%s", diff)
			}
		})
	}
}

// TestChunkSize measures the encoded size of a simulated CGM day: whole
// mg/dL at 5-minute steps take one byte per time and per value (changes
// within ±63 mg/dL), plus a 10-byte header.
func TestChunkSize(t *testing.T) {
	tests := []struct {
		name  string
		round bool
		max   float64 // bytes per sample
	}{
		{"whole mg/dL", true, 2.05},
		{"7 decimals", false, 6},
	}
	for _, tc := range tests {
		ps := cgmDay(t, tc.round)
		b := encodeChunk(ps)
		per := float64(len(b)) / float64(len(ps))
		t.Logf("%s: %d samples in %d bytes, %.2f bytes/sample", tc.name, len(ps), len(b), per)
		if per > tc.max {
			t.Errorf("%s: %.2f bytes/sample, want at most %.2f", tc.name, per, tc.max)
		}
		back, err := decodeChunk(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ps, back, cmp.AllowUnexported(point{})); diff != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestDecodeChunkErrors(t *testing.T) {
	good := encodeChunk([]point{{1e9, 1}, {2e9, 3}})
	tests := map[string][]byte{
		"empty":       nil,
		"version":     append([]byte{2}, good[1:]...),
		"truncated":   good[:len(good)-1],
		"trailing":    append(good, 0),
		"no samples":  {1, 0, 9, 0, 2, 2},
		"count":       {1, 100, 9, 0, 2, 2},
		"same time":   {1, 2, 9, 0, 2, 0, 2, 0},
		"time unit":   {1, 1, 10, 0, 2, 2},
		"value scale": {1, 1, 9, 10, 2, 2},
		"raw NaN":     append([]byte{1, 1, 9, 255, 2}, 1, 0, 0, 0, 0, 0, 0xf8, 0x7f),
	}
	for name, b := range tests {
		if ps, err := decodeChunk(b); err == nil {
			t.Errorf("%s: decoded % x to %v", name, b, ps)
		}
	}
}

func TestMergePoints(t *testing.T) {
	old := []point{{10, 1}, {20, 2}, {30, 3}}
	tests := []struct {
		name  string
		add   []point
		want  []point
		added int
	}{
		{"append", []point{{40, 4}}, []point{{10, 1}, {20, 2}, {30, 3}, {40, 4}}, 1},
		{"out of order", []point{{25, 9}, {5, 0}, {15, 8}}, []point{{5, 0}, {10, 1}, {15, 8}, {20, 2}, {25, 9}, {30, 3}}, 3},
		{"stored wins", []point{{20, 7}}, old, 0},
		{"first of a batch wins", []point{{35, 5}, {35, 6}}, []point{{10, 1}, {20, 2}, {30, 3}, {35, 5}}, 1},
	}
	for _, tc := range tests {
		got, n := mergePoints(old, tc.add)
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(point{})); diff != "" || n != tc.added {
			t.Errorf("%s: added %d, want %d; (-want +got):\n%s", tc.name, n, tc.added, diff)
		}
	}
}

// FuzzDecodeChunk: decoding never panics, and what decodes encodes to bytes
// that decode to the same samples.
func FuzzDecodeChunk(f *testing.F) {
	f.Add(encodeChunk(cgmDay(f, true)))
	f.Add(encodeChunk(cgmDay(f, false)))
	f.Add(encodeChunk([]point{{-1, math.Pi}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := decodeChunk(b)
		if err != nil {
			return
		}
		back, err := decodeChunk(encodeChunk(ps))
		if err != nil {
			t.Fatalf("re-encoded chunk does not decode: %v", err)
		}
		if diff := cmp.Diff(ps, back, cmp.AllowUnexported(point{})); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}
