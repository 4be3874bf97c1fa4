package trial

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeRun draws a random trace from seeds made by Seed, as a real RunFunc
// does, and returns its mean and maximum as metrics, plus the arm index so
// that arms differ.
func fakeRun(days int) RunFunc {
	return func(ctx context.Context, j Job, tr *Trace) ([]float64, error) {
		patient := []string{"a", "b", "c", "d", "e", "f", "g"}[j.Patient]
		tr.Start, tr.Step = 0, 5
		for d := range days {
			rng := rand.New(rand.NewPCG(Seed(7, "glucose", patient, d), 0))
			for range 288 {
				tr.Glucose = append(tr.Glucose, 40+rng.Float64()*300+float64(j.Arm)*10)
			}
		}
		var sum, mx float64
		for _, g := range tr.Glucose {
			sum += g
			mx = max(mx, g)
		}
		return []float64{sum / float64(len(tr.Glucose)), mx, float64(j.Arm)}, nil
	}
}

func TestRunDeterministic(t *testing.T) {
	cfg := Config{
		Patients: []string{"a", "b", "c", "d", "e", "f", "g"},
		Arms:     []string{"x", "y", "z"},
		Metrics:  []string{"mean", "max", "arm"},
	}
	var want *Result
	for _, workers := range []int{1, 2, 4, 13} {
		cfg.Workers = workers
		got, err := Run(context.Background(), cfg, fakeRun(3))
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = got
			continue
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Result{}, "Profiles")); diff != "" {
			t.Errorf("workers=%d: results differ from workers=1 (-1 +%d):\n%s", workers, workers, diff)
		}
		for a := range want.Profiles {
			if *want.Profiles[a] != *got.Profiles[a] { // arrays of counts compare with ==
				t.Errorf("workers=%d: profile of arm %d differs from workers=1", workers, a)
			}
		}
	}
	// The runner put every job where it belongs: metric "arm" is the arm index.
	for a := range want.Arms {
		for p := range want.Patients {
			if got := want.Values[a][p][2]; got != float64(a) {
				t.Errorf("Values[%d][%d] is from arm %v", a, p, got)
			}
		}
	}
	// Every sample reached its arm's profile: 3 days × 288 samples × 7 patients, 21 per 5-min bin.
	for a, p := range want.Profiles {
		for b := range Bins {
			if got := p.Count(b); got != 21 {
				t.Fatalf("arm %d bin %d holds %d samples, want 21", a, b, got)
			}
		}
	}
	// Common random numbers: arms y and x see the same draws, shifted by 10 mg/dL.
	for p := range want.Patients {
		if d := want.Values[1][p][0] - want.Values[0][p][0]; math.Abs(d-10) > 1e-9 {
			t.Errorf("patient %d: mean(y) - mean(x) = %v, want 10", p, d)
		}
	}
}

func TestSummary(t *testing.T) {
	nan := math.NaN()
	r := &Result{
		Patients: []string{"p1", "p2", "p3", "p4", "p5"},
		Arms:     []string{"A", "B"},
		Metrics:  []string{"tir", "cv"},
		Values: [][][]float64{
			{{4, 1}, {1, 1}, {3, 1}, {2, 1}, {nan, 1}},
			{{10, nan}, {20, nan}, {30, nan}, {40, nan}, {50, nan}},
		},
	}
	// Expected values worked by hand with type-7 quantiles (numpy.percentile):
	// {1,2,3,4}: h = 0.25·3 = 0.75 → Q1 1.75, median 2.5, Q3 3.25;
	// {10..50}: h = 1, 2, 3 → 20, 30, 40.
	want := []ArmSummary{
		{Arm: "A", Stats: []Stat{
			{N: 4, NaN: 1, Median: 2.5, Q1: 1.75, Q3: 3.25, Mean: 2.5, Min: 1, Max: 4},
			{N: 5, Median: 1, Q1: 1, Q3: 1, Mean: 1, Min: 1, Max: 1},
		}},
		{Arm: "B", Stats: []Stat{
			{N: 5, Median: 30, Q1: 20, Q3: 40, Mean: 30, Min: 10, Max: 50},
			{N: 0, NaN: 5, Median: nan, Q1: nan, Q3: nan, Mean: nan, Min: nan, Max: nan},
		}},
	}
	if diff := cmp.Diff(want, r.Summary(), cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("Summary (-want +got):\n%s", diff)
	}
	// Summary does not disturb the stored values.
	if r.Values[0][0][0] != 4 || !math.IsNaN(r.Values[0][4][0]) {
		t.Errorf("Summary modified Values: %v", r.Values[0])
	}
}

func TestSummaryFromRun(t *testing.T) {
	// Metrics that are known functions of the patient index: the summary of
	// the run must be the summary of those numbers.
	cfg := Config{Patients: []string{"a", "b", "c", "d", "e", "f", "g", "h"}, Arms: []string{"one"}, Metrics: []string{"i²"}, Workers: 3}
	res, err := Run(context.Background(), cfg, func(_ context.Context, j Job, tr *Trace) ([]float64, error) {
		return []float64{float64(j.Patient * j.Patient)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// {0,1,4,9,16,25,36,49}: h = 1.75 → 1+0.75·3 = 3.25; h = 3.5 → 12.5; h = 5.25 → 25+0.25·11 = 27.75.
	want := Stat{N: 8, Median: 12.5, Q1: 3.25, Q3: 27.75, Mean: 17.5, Min: 0, Max: 49}
	if diff := cmp.Diff(want, res.Summary()[0].Stats[0]); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestQuantile(t *testing.T) {
	for _, tc := range []struct {
		x    []float64
		q    float64
		want float64
	}{
		{[]float64{5}, 0.5, 5},
		{[]float64{1, 2}, 0.5, 1.5},
		{[]float64{1, 2, 3, 4, 5}, 0.05, 1.2}, // h = 0.2
		{[]float64{1, 2, 3, 4, 5}, 0.95, 4.8}, // h = 3.8
		{[]float64{1, 2, 3, 4, 5}, 1, 5},
		{[]float64{1, 2, 3, 4, 5}, 0, 1},
		{nil, 0.5, math.NaN()},
	} {
		got := Quantile(tc.x, tc.q)
		if !(math.Abs(got-tc.want) < 1e-12 || math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("Quantile(%v, %v) = %v, want %v", tc.x, tc.q, got, tc.want)
		}
	}
}

// TestProfilePercentiles checks the histogram percentiles against exact
// percentiles of the sorted raw samples. Rounding to whole mg/dL moves each
// order statistic by at most 0.5 mg/dL and an interpolated percentile is a
// convex combination of two of them, so the bound is 0.5 mg/dL (plus 1e-9 for
// floating-point error in the interpolation).
func TestProfilePercentiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		n    int // samples per bin
		draw func() float64
	}{
		{"uniform", 500, func() float64 { return 39 + rng.Float64()*561 }},
		{"lognormal", 1000, func() float64 { return min(600, math.Exp(5+0.35*rng.NormFloat64())) }},
		{"few", 3, func() float64 { return 70 + rng.Float64()*100 }},
		{"one", 1, func() float64 { return 123.4 }},
		{"ties", 50, func() float64 { return float64(100 + rng.IntN(3)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Profile
			raw := make([][]float64, Bins)
			for i := range tc.n * Bins {
				minute := float64(i%Bins)*BinMinutes + rng.Float64()*BinMinutes
				g := tc.draw()
				raw[i%Bins] = append(raw[i%Bins], g)
				p.Add(minute, g)
			}
			for b := range Bins {
				slices.Sort(raw[b])
				if p.Count(b) != uint64(len(raw[b])) {
					t.Fatalf("bin %d: count %d, want %d", b, p.Count(b), len(raw[b]))
				}
				for _, q := range []float64{0, 0.05, 0.25, 0.5, 0.75, 0.95, 1} {
					got, want := p.Percentile(b, q), Quantile(raw[b], q)
					if math.Abs(got-want) > 0.5+1e-9 {
						t.Fatalf("bin %d q=%v: histogram %v, exact %v", b, q, got, want)
					}
				}
			}
		})
	}
}

func TestProfileAdd(t *testing.T) {
	var p Profile
	p.Add(-5, 100)          // wraps to 23:55, the last bin
	p.Add(1440+7, 700)      // wraps to 00:07, bin 1; counted as 600
	p.Add(3, -4)            // bin 0, counted as 0
	p.Add(3, math.NaN())    // skipped
	p.Add(math.NaN(), 100)  // skipped
	p.Add(math.Inf(1), 100) // skipped
	got := []float64{p.Percentile(Bins-1, 0.5), p.Percentile(1, 0.5), p.Percentile(0, 0.5)}
	if diff := cmp.Diff([]float64{100, 600, 0}, got); diff != "" {
		t.Errorf("percentiles (-want +got):\n%s", diff)
	}
	if c := p.Count(0) + p.Count(1) + p.Count(Bins-1); c != 3 {
		t.Errorf("%d samples counted, want 3", c)
	}
	if !math.IsNaN(p.Percentile(2, 0.5)) {
		t.Errorf("percentile of an empty bin = %v, want NaN", p.Percentile(2, 0.5))
	}
	var q Profile
	q.Merge(&p)
	q.Merge(&p)
	if q.Count(1) != 2 || q.Percentile(1, 0) != 600 {
		t.Errorf("merged profile: count %d, min %v", q.Count(1), q.Percentile(1, 0))
	}
}

func TestRunErrors(t *testing.T) {
	cfg := Config{Patients: []string{"p0", "p1", "p2"}, Arms: []string{"A", "B"}, Metrics: []string{"m"}, Workers: 2}
	ok := func(context.Context, Job, *Trace) ([]float64, error) { return []float64{1}, nil }
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		cfg  Config
		run  RunFunc
		want string
	}{
		{"no patients", Config{Arms: []string{"A"}}, ok, "trial: no patients"},
		{"no arms", Config{Patients: []string{"p"}}, ok, "trial: no arms"},
		{"nil run", cfg, nil, "trial: nil run function"},
		{"run fails", cfg, func(_ context.Context, j Job, _ *Trace) ([]float64, error) {
			if j.Patient == 1 && j.Arm == 1 {
				return nil, boom
			}
			return []float64{1}, nil
		}, `trial: p1 in arm "B": boom`},
		{"metric count", cfg, func(context.Context, Job, *Trace) ([]float64, error) { return []float64{1, 2}, nil },
			`run returned 2 metrics, want 1`},
		{"bad step", cfg, func(_ context.Context, _ Job, tr *Trace) ([]float64, error) {
			tr.Glucose = append(tr.Glucose, 100)
			return []float64{1}, nil
		}, "trace with step 0 min"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.cfg, tc.run)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			if tc.name == "run fails" && !errors.Is(err, boom) {
				t.Errorf("error %v does not wrap the run's error", err)
			}
		})
	}
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	cfg := Config{Patients: make([]string, 50), Arms: []string{"A"}, Metrics: []string{"m"}, Workers: 2}
	_, err := Run(ctx, cfg, func(ctx context.Context, _ Job, _ *Trace) ([]float64, error) {
		if calls.Add(1) == 3 {
			cancel()
		}
		return []float64{1}, ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if n := calls.Load(); n > 5 {
		t.Errorf("%d jobs ran after cancellation at job 3", n)
	}
}

func TestRunProgress(t *testing.T) {
	cfg := Config{Patients: []string{"a", "b", "c"}, Arms: []string{"A", "B"}, Metrics: nil, Workers: 2}
	var got []int
	cfg.Progress = func(done, total int) {
		if total != 6 {
			t.Errorf("total %d, want 6", total)
		}
		got = append(got, done)
	}
	if _, err := Run(context.Background(), cfg, func(context.Context, Job, *Trace) ([]float64, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6}, got); diff != "" {
		t.Errorf("progress calls (-want +got):\n%s", diff)
	}
}

func TestWriteCSV(t *testing.T) {
	r := &Result{
		Patients: []string{"adult#001", "adult#002"},
		Arms:     []string{"bb", "pid, tuned"},
		Metrics:  []string{"tir", "gmi"},
		Values:   [][][]float64{{{0.5, 6.25}, {1, math.NaN()}}, {{0.125, 7}, {0, 7.5}}},
	}
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	want := "patient,arm,tir,gmi\n" +
		"adult#001,bb,0.5,6.25\n" +
		"adult#002,bb,1,NaN\n" +
		"adult#001,\"pid, tuned\",0.125,7\n" +
		"adult#002,\"pid, tuned\",0,7.5\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

func TestSeed(t *testing.T) {
	// SplitMix64's first output from state 0 is 0xe220a8397b1dcdaf (Vigna's
	// reference splitmix64.c; the finaliser adds the golden gamma first).
	if got := mix(0); got != 0xe220a8397b1dcdaf {
		t.Errorf("mix(0) = %#x, want 0xe220a8397b1dcdaf", got)
	}
	// Fixed value, computed independently in Python from the definition
	// (FNV-1a of "meals\x00adult#001", then mix(1 ^ mix(h ^ mix(0)))): a
	// change here changes the results of every trial file.
	base := Seed(1, "meals", "adult#001", 0)
	if base != 0x73bccd55ec59947e {
		t.Errorf("Seed(1, meals, adult#001, 0) = %#x, want 0x73bccd55ec59947e", base)
	}
	others := []uint64{
		Seed(2, "meals", "adult#001", 0),
		Seed(1, "sensor", "adult#001", 0),
		Seed(1, "meals", "adult#002", 0),
		Seed(1, "meals", "adult#001", 1),
		Seed(1, "meals", "adult#001", -1),
		Seed(1, "meal", "sadult#001", 0), // the separator keeps names apart
	}
	seen := map[uint64]bool{base: true}
	for i, s := range others {
		if seen[s] {
			t.Errorf("seed %d collides: %#x", i, s)
		}
		seen[s] = true
	}
}
