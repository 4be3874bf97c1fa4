package t1d

import (
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestMetricsRanges checks the range boundaries of the consensus
// definitions (Battelino et al. 2019): the expected percentages follow from
// counting the ten readings by hand, with 54 and 69.9 below range but not
// below 54, 70 and 180 in range, 180.1 and 250 above 180 but not above 250.
func TestMetricsRanges(t *testing.T) {
	g := []float64{40, 54, 60, 69.9, 70, 100, 180, 180.1, 250, 251}
	m, err := ComputeMetrics(g)
	if err != nil {
		t.Fatal(err)
	}
	got := [5]float64{m.TBR54, m.TBR70, m.TIR, m.TAR180, m.TAR250}
	want := [5]float64{10, 40, 30, 30, 10}
	// Percentages are k·100/10, exact up to one rounding.
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("TBR54, TBR70, TIR, TAR180, TAR250 (-want +got)\n%s", diff)
	}
	if m.N != 10 {
		t.Errorf("N = %d, want 10", m.N)
	}
}

// TestMetricsMoments checks mean, SD, CV and GMI on vectors whose values
// follow by hand: mean of 100, 150, 200 is 150; deviations ±50, 0 give
// SD = √(5000/2) = 50 (N−1 denominator), CV = 100·50/150 = 33.33%;
// GMI = 3.31 + 0.02392·150 = 6.898%.
func TestMetricsMoments(t *testing.T) {
	for _, tc := range []struct {
		g                 []float64
		mean, sd, cv, gmi float64
	}{
		{[]float64{100, 150, 200}, 150, 50, 100.0 / 3, 6.898},
		{[]float64{120}, 120, 0, 0, 3.31 + 0.02392*120},
		{[]float64{90, 90, 90, 90}, 90, 0, 0, 3.31 + 0.02392*90},
	} {
		m, err := ComputeMetrics(tc.g)
		if err != nil {
			t.Fatal(err)
		}
		got := [4]float64{m.Mean, m.SD, m.CV, m.GMI}
		want := [4]float64{tc.mean, tc.sd, tc.cv, tc.gmi}
		if diff := cmp.Diff(want, got, cmpopts.EquateApprox(1e-12, 1e-12)); diff != "" {
			t.Errorf("%v: mean, SD, CV, GMI (-want +got)\n%s", tc.g, diff)
		}
	}
}

// TestMetricsGMITable checks GMI against the table of Bergenstal et al.
// 2018 (Diabetes Care 41(11):2275-2280, Table 1: GMI for CGM-derived mean
// glucose), which gives GMI rounded to 0.1%, hence the tolerance 0.05.
func TestMetricsGMITable(t *testing.T) {
	for _, tc := range []struct{ mean, gmi float64 }{
		{100, 5.7}, {125, 6.3}, {150, 6.9}, {175, 7.5}, {200, 8.1},
		{225, 8.7}, {250, 9.3}, {275, 9.9}, {300, 10.5}, {350, 11.7},
	} {
		m, err := ComputeMetrics([]float64{tc.mean})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m.GMI-tc.gmi) > 0.05 {
			t.Errorf("mean %v mg/dL: GMI %.4f%%, table %.1f%%", tc.mean, m.GMI, tc.gmi)
		}
	}
}

// TestMetricsRiskSimglucose checks LBGI, HBGI and the risk index against
// simglucose: testdata/noisy_navigator_seed1.csv carries, for every minute
// of a 24-h adult#001 run, simglucose's risk of that minute's BG (columns
// LBGI, HBGI, Risk; BG spans 74-194 mg/dL, so both sides of the risk
// minimum at 112.5 mg/dL occur). The risk of a run is the mean of these
// per-reading values (Kovatchev et al. 1997).
//
// Tolerance: the CSV stores 10 significant digits. BG is rounded by at most
// 5e-8 mg/dL and |dr/dBG| < 0.5 per mg/dL on 70-200 mg/dL, and the risks themselves by at
// most 5e-10 relative, so 1e-7 covers both.
func TestMetricsRiskSimglucose(t *testing.T) {
	rows, col := readNoisyRun(t)
	num := func(r []string, name string) float64 {
		v, err := strconv.ParseFloat(r[col[name]], 64)
		if err != nil {
			t.Fatalf("column %s: %v", name, err)
		}
		return v
	}
	const tol = 1e-7
	var bg []float64
	var lbgi, hbgi, risk float64
	var nLow, nHigh int
	for _, r := range rows[1:] {
		g := num(r, "BG")
		bg = append(bg, g)
		lo, hi, ri := num(r, "LBGI"), num(r, "HBGI"), num(r, "Risk")
		lbgi, hbgi, risk = lbgi+lo, hbgi+hi, risk+ri
		if lo > 0 {
			nLow++
		}
		if hi > 0 {
			nHigh++
		}
		m, err := ComputeMetrics([]float64{g})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m.LBGI-lo) > tol || math.Abs(m.HBGI-hi) > tol || math.Abs(m.RiskIndex-ri) > tol {
			t.Errorf("BG %v: LBGI, HBGI, risk = %v, %v, %v; simglucose %v, %v, %v", g, m.LBGI, m.HBGI, m.RiskIndex, lo, hi, ri)
		}
	}
	if nLow == 0 || nHigh == 0 {
		t.Fatalf("reference has %d low-risk and %d high-risk readings; want both", nLow, nHigh)
	}
	n := float64(len(bg))
	m, err := ComputeMetrics(bg)
	if err != nil {
		t.Fatal(err)
	}
	got := [3]float64{m.LBGI, m.HBGI, m.RiskIndex}
	want := [3]float64{lbgi / n, hbgi / n, risk / n}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, tol)); diff != "" {
		t.Errorf("run LBGI, HBGI, risk index (-simglucose +got)\n%s", diff)
	}
}

// TestMetricsRiskScale checks the calibration Kovatchev et al. 1997 chose
// for the risk function: zero risk at 112.5 mg/dL (f = 0 where
// ln BG = 5.381^(1/1.084)) and risk ≈ 100 at the ends of the clinical range,
// 20 and 600 mg/dL (f(20) = −3.1629, f(600) = 3.1615, i.e. ±√10 within
// 0.05%, risk 100.04 and 99.95; the 1% tolerance leaves room for the
// readings just inside the ends used below).
func TestMetricsRiskScale(t *testing.T) {
	zero := math.Exp(math.Pow(5.381, 1/1.084))
	if math.Abs(zero-112.5) > 0.05 {
		t.Fatalf("f = 0 at %v mg/dL, want 112.5", zero)
	}
	m, _ := ComputeMetrics([]float64{zero})
	if m.RiskIndex > 1e-20 {
		t.Errorf("risk at %v mg/dL = %v, want 0", zero, m.RiskIndex)
	}
	for _, tc := range []struct {
		bg      float64
		low, hi float64
	}{{20.001, 100, 0}, {599.99, 0, 100}} {
		m, _ := ComputeMetrics([]float64{tc.bg})
		if math.Abs(m.LBGI-tc.low) > 1 || math.Abs(m.HBGI-tc.hi) > 1 {
			t.Errorf("BG %v: LBGI %v, HBGI %v; want %v, %v within 1", tc.bg, m.LBGI, m.HBGI, tc.low, tc.hi)
		}
	}
}

func TestMetricsErrors(t *testing.T) {
	for _, tc := range []struct {
		g    []float64
		want string
	}{
		{nil, "t1d: metrics: no glucose readings"},
		{[]float64{100, math.NaN()}, "t1d: metrics: glucose[1] = NaN mg/dL, want a finite value ≥ 0"},
		{[]float64{100, 120, -5}, "t1d: metrics: glucose[2] = -5 mg/dL, want a finite value ≥ 0"},
		{[]float64{math.Inf(1)}, "t1d: metrics: glucose[0] = +Inf mg/dL, want a finite value ≥ 0"},
	} {
		_, err := ComputeMetrics(tc.g)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ComputeMetrics(%v) error = %v, want %q", tc.g, err, tc.want)
		}
	}
}

func ExampleComputeMetrics() {
	// A day of hourly CGM readings, mg/dL.
	cgm := []float64{
		110, 105, 98, 92, 88, 85, 90, 150, 210, 230, 190, 150,
		120, 175, 240, 260, 200, 140, 110, 90, 72, 65, 52, 80,
	}
	m, err := ComputeMetrics(cgm)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d readings: mean %.1f mg/dL, SD %.1f mg/dL, CV %.1f%%, GMI %.2f%%\n", m.N, m.Mean, m.SD, m.CV, m.GMI)
	fmt.Printf("TIR %.1f%%, TBR<70 %.1f%% (<54 %.1f%%), TAR>180 %.1f%% (>250 %.1f%%)\n", m.TIR, m.TBR70, m.TBR54, m.TAR180, m.TAR250)
	fmt.Printf("LBGI %.2f, HBGI %.2f, risk index %.2f\n", m.LBGI, m.HBGI, m.RiskIndex)
	// Output:
	// 24 readings: mean 133.4 mg/dL, SD 60.3 mg/dL, CV 45.2%, GMI 6.50%
	// TIR 66.7%, TBR<70 8.3% (<54 4.2%), TAR>180 25.0% (>250 4.2%)
	// LBGI 2.17, HBGI 4.67, risk index 6.85
}
