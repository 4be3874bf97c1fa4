package hospital_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/des"
	"github.com/doppelhealth/doppel/hospital"
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func run(t testing.TB, c *hospital.Config, s *hospital.State, workers int) *hospital.Result {
	t.Helper()
	r, err := hospital.Run(context.Background(), c, s, hospital.Options{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// small is a quick stable variant of the refs model (90 days).
func small() *hospital.Config {
	c := refsConfig(40, 210, 44, 3)
	c.Horizon, c.Warmup, c.Replications = 90*24, 20*24, 6
	return c
}

func TestDeterministicAnyWorkers(t *testing.T) {
	var want []byte
	for _, w := range []int{1, 2, 5} {
		got := must(json.Marshal(run(t, small(), nil, w)))
		if want == nil {
			want = got
		} else if string(got) != string(want) {
			t.Fatalf("results with %d workers differ from 1 worker", w)
		}
	}
}

// TestLittlesLaw checks L = λW, which the window's bookkeeping makes exact,
// in every unit of a stable and an overloaded model and of a short run
// from a census with transfers, discharge windows and capacity changes.
func TestLittlesLaw(t *testing.T) {
	stable := refsConfig(40, 210, 44, 5)
	stable.Replications = 4
	over := refsConfig(15, 60, 12, 5)
	over.Replications, over.Horizon = 3, 120*24
	busy := small()
	busy.Warmup = 0
	busy.Units[1].Transfer = &hospital.Transfer{To: 0, P: 0.5}
	busy.Units[0].DischargeFrom, busy.Units[0].DischargeTo = 8, 20
	busy.CapacityChanges = []hospital.CapacityChange{{Unit: 1, At: 100, Capacity: 10}, {Unit: hospital.EDUnit, At: 200, Capacity: 60}}
	census := &hospital.State{Inpatients: []hospital.Inpatient{{Unit: 0, Elapsed: 30}, {Unit: 1, Elapsed: 2}}, Boarding: []hospital.Boarder{{Unit: 1, Waited: 1}}, Waiting: 3}
	for _, tc := range []struct {
		c *hospital.Config
		s *hospital.State
	}{{stable, nil}, {over, nil}, {busy, census}} {
		r := run(t, tc.c, tc.s, 0)
		for _, u := range append([]hospital.UnitResult{r.ED.UnitResult}, r.Units...) {
			if !(u.LittlesLaw.MaxRelErr < 1e-9) {
				t.Errorf("%s: Little's law off by %.3g (L %.3f, λW %.3f)", u.Name, u.LittlesLaw.MaxRelErr, u.LittlesLaw.L, u.LittlesLaw.Lambda*u.LittlesLaw.W)
			}
		}
	}
}

// TestWarmStartDecay starts from a census of 100 ward patients with no
// arrivals and exponential stays (mean 48 h; memoryless, so the elapsed
// stay does not matter). The expected occupancy averaged over day d is
// 100·(48/24)·(e^{−(d−1)/2} − e^{−d/2}).
func TestWarmStartDecay(t *testing.T) {
	st := &hospital.State{}
	for i := range 100 {
		st.Inpatients = append(st.Inpatients, hospital.Inpatient{Unit: 0, Elapsed: float64(i)})
	}
	c := &hospital.Config{
		Horizon: 3 * 24, Replications: 200, Seed: 9,
		ED:    hospital.ED{Cubicles: 1, Treatment: must(des.NewExponential(1))},
		Units: []hospital.Unit{{Name: "ward", Beds: 80, LOS: must(des.NewExponential(48))}},
	}
	r := run(t, c, st, 0)
	for _, b := range r.Units[0].Daily {
		d := float64(b.Day)
		want := 100 * 2 * (math.Exp(-(d-1)/2) - math.Exp(-d/2))
		// the median of 200 replications; its standard error is about
		// 1.25·sd/√200 with sd ≤ √(100/4)·... bounded here by 1.
		if math.Abs(b.P50-want) > 1 {
			t.Errorf("day %d: median occupancy %.2f, want %.2f ± 1", b.Day, b.P50, want)
		}
	}
	// 100 patients on 80 beds: full until 100·e^{−t/48} < 80, t ≈ 10.7 h
	// of 72 h on average (0.149).
	if p := r.Units[0].PFull; p < 0.1 || p > 0.2 {
		t.Errorf("P(full) %.3f, want about 0.15: a census above capacity counts as full", p)
	}
}

// TestWarmStartConditionalStay: 200 ICU patients who have stayed 5 days
// with lognormal stays (mean 3 d, sd 2 d) have a mean remaining stay
// E[S − 5d | S > 5d], far shorter than a fresh stay's 3 d would suggest
// from the unconditional mean alone. The integral of occupancy over the
// run (no arrivals) is the sum of remaining stays.
func TestWarmStartConditionalStay(t *testing.T) {
	los := must(des.NewLogNormal(72, 48))
	st := &hospital.State{}
	for range 200 {
		st.Inpatients = append(st.Inpatients, hospital.Inpatient{Unit: 0, Elapsed: 120})
	}
	c := &hospital.Config{
		Horizon: 200 * 24, Replications: 10, Seed: 4,
		ED:    hospital.ED{Cubicles: 1, Treatment: must(des.NewExponential(1))},
		Units: []hospital.Unit{{Name: "icu", Beds: 300, LOS: los}},
	}
	r := run(t, c, st, 0)
	// E[S | S > x] for a lognormal: e^{μ+σ²/2} Φ(σ − z)/Φ(−z), z = (ln x − μ)/σ.
	z := (math.Log(120) - los.Mu) / los.Sigma
	phi := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
	wantRest := math.Exp(los.Mu+los.Sigma*los.Sigma/2)*phi(los.Sigma-z)/phi(-z) - 120
	gotRest := r.Units[0].MeanOccupancy * c.Horizon / 200
	if math.Abs(gotRest-wantRest) > 0.05*wantRest {
		t.Errorf("mean remaining stay %.2f h, want %.2f h (±5 %%)", gotRest, wantRest)
	}
}

func TestElectives(t *testing.T) {
	c := &hospital.Config{
		Horizon: 28 * 24, Replications: 2, Seed: 1, StartHourOfWeek: 0, // Monday 00:00
		ED: hospital.ED{Cubicles: 1, Treatment: must(des.NewExponential(1))},
		Units: []hospital.Unit{
			{Name: "surgical", Beds: 1000, LOS: must(des.NewExponential(24))},
			{Name: "closed", Beds: 0, LOS: must(des.NewExponential(24))},
		},
		Electives: []hospital.Elective{
			{Unit: 0, PerDay: 5, Hour: 8, Weekdays: []int{0, 1, 2, 3, 4}},
			{Unit: 1, PerDay: 2, Hour: 23.5, CancelIfFull: true},
		},
	}
	r := run(t, c, nil, 1)
	// 4 weeks × 5 weekdays × 5 = 100 admissions; 28 days × 2 cancelled.
	if got, want := r.Units[0].AdmissionsPerDay*28, 100.0; math.Abs(got-want) > 1e-9 {
		t.Errorf("elective admissions %v, want %v", got, want)
	}
	if r.ElectivesCancelled != 56 {
		t.Errorf("cancelled %v, want 56", r.ElectivesCancelled)
	}
	if got := r.Units[0].OfferedLoad; math.Abs(got-5*5.0/168*24) > 1e-12 {
		t.Errorf("offered load %v, want %v", got, 5*5.0/168*24)
	}
}

func TestSurgeAndCapacityChange(t *testing.T) {
	c := &hospital.Config{
		Horizon: 10 * 24, Replications: 3, Seed: 2,
		ED:     hospital.ED{Cubicles: 10, Treatment: must(des.NewExponential(2))},
		Units:  []hospital.Unit{{Name: "ward", Beds: 5, LOS: must(des.NewExponential(48))}},
		Surges: []hospital.Surge{{At: 24, Duration: 6, Patients: 300, Mix: []float64{0.5}}},
		// The ED doubles its cubicles during the surge.
		CapacityChanges: []hospital.CapacityChange{{Unit: hospital.EDUnit, At: 24, Capacity: 20}, {Unit: hospital.EDUnit, At: 48, Capacity: 10}},
	}
	r := run(t, c, nil, 0)
	if got := r.ArrivalsPerDay * 10; got != 300 {
		t.Errorf("surge arrivals %v, want 300", got)
	}
	if r.ArrivalsPerDayHW != 0 {
		t.Errorf("arrival count varies across replications: hw %v", r.ArrivalsPerDayHW)
	}
	var peak float64
	for _, b := range r.ED.Daily {
		peak = max(peak, b.P95)
	}
	if peak <= 10 || peak > 20 {
		t.Errorf("ED daily occupancy peak %v, want above the base 10 cubicles and at most 20", peak)
	}
}

func TestTransfers(t *testing.T) {
	c := refsConfig(40, 300, 44, 8)
	c.Horizon, c.Warmup, c.Replications = 200*24, 30*24, 4
	c.Units[1].Transfer = &hospital.Transfer{To: 0, P: 1} // every ICU patient steps down to the ward
	loads := c.OfferedLoads()
	// ward: 10·0.20·96 + 10·0.05·96 = 240 Erlangs.
	if diff := cmp.Diff([]float64{30, 240, 36}, loads, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); diff != "" {
		t.Errorf("offered loads (-want +got):\n%s", diff)
	}
	r := run(t, c, nil, 0)
	if len(r.Warnings) != 0 {
		t.Errorf("warnings %q for a stable model", r.Warnings)
	}
	// Every ICU discharge becomes a ward admission: ward admissions are
	// the ED's 48 a day plus the ICU's.
	w, i := r.Units[0].AdmissionsPerDay, r.Units[1].AdmissionsPerDay
	if want := 10*24*0.2 + i; math.Abs(w-want) > 0.03*want {
		t.Errorf("ward admissions %.2f/day, want %.2f (48 + ICU %.2f)", w, want, i)
	}
	c.Units[0].Beds = 210
	r = run(t, c, nil, 0)
	if len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], "ward: offered load 240") {
		t.Errorf("warnings %q, want one for the ward", r.Warnings)
	}
}

// TestArrivalProfile: a day-only profile (2 for 08–20 h, 0 at night) keeps
// the mean rate; the thinned process must deliver rate × 24 a day.
func TestArrivalProfile(t *testing.T) {
	c := small()
	c.Arrivals.HourOfDay = make([]float64, 24)
	for h := 8; h < 20; h++ {
		c.Arrivals.HourOfDay[h] = 2
	}
	c.Arrivals.DayOfWeek = []float64{1.2, 1, 1, 1, 1, 0.9, 0.9}
	want := 10 * 24 * 1.0 * 1.0 // both profiles average 1
	r := run(t, c, nil, 0)
	if math.Abs(r.ArrivalsPerDay-want) > r.ArrivalsPerDayHW+1e-9 {
		t.Errorf("arrivals %.2f ± %.2f a day, want %.2f", r.ArrivalsPerDay, r.ArrivalsPerDayHW, want)
	}
	if got := c.Arrivals.MeanArrivalRate(); math.Abs(got-10) > 1e-12 {
		t.Errorf("MeanArrivalRate = %v, want 10", got)
	}
}

// TestCompareCommonRandomNumbers: opening 20 ICU beds changes nothing
// upstream (arrivals are the same draws) and lowers ICU P(full); the paired
// interval is narrower than the unpaired one.
func TestCompareCommonRandomNumbers(t *testing.T) {
	base := small()
	branch := small()
	branch.Units[1].Beds += 20
	a, b := run(t, base, nil, 0), run(t, branch, nil, 0)
	if a.ArrivalsPerDay != b.ArrivalsPerDay {
		t.Errorf("arrivals differ between branches: %v vs %v", a.ArrivalsPerDay, b.ArrivalsPerDay)
	}
	diffs, err := hospital.Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		if d.Name == "icu" && d.Metric == "p_full" {
			if !(d.Mean+d.HW < 0) {
				t.Errorf("ICU P(full) change %.4f ± %.4f, want a clear decrease", d.Mean, d.HW)
			}
		}
		if d.Name == "ward" && d.Metric == "mean_occupancy" {
			unpaired := math.Hypot(a.Units[0].MeanOccupancyHW, b.Units[0].MeanOccupancyHW)
			if !(d.HW < unpaired) {
				t.Errorf("paired half-width %.4f not below the unpaired %.4f", d.HW, unpaired)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *hospital.Config)
		want string
	}{
		{"routes over 1", func(c *hospital.Config) { c.Units[0].Route = 0.99 }, "Units.Route: the routes sum to 1.04"},
		{"negative beds", func(c *hospital.Config) { c.Units[1].Beds = -1 }, "Units[1].Beds"},
		{"negative cubicles", func(c *hospital.Config) { c.ED.Cubicles = -3 }, "ED.Cubicles"},
		{"warmup past horizon", func(c *hospital.Config) { c.Warmup = c.Horizon }, "Warmup"},
		{"no LOS", func(c *hospital.Config) { c.Units[0].LOS = nil }, "Units[0].LOS: missing"},
		{"transfer cycle", func(c *hospital.Config) {
			c.Units[0].Transfer = &hospital.Transfer{To: 1, P: 0.1}
			c.Units[1].Transfer = &hospital.Transfer{To: 0, P: 0.1}
		}, "transfers form a cycle"},
		{"profile length", func(c *hospital.Config) { c.Arrivals.HourOfDay = []float64{1} }, "Arrivals.HourOfDay: must have 24 values"},
		{"surge mix", func(c *hospital.Config) {
			c.Surges = []hospital.Surge{{At: 1, Duration: 1, Patients: 1, Mix: []float64{0.9, 0.2}}}
		}, "Surges[0].Mix: the probabilities sum"},
		{"duplicate unit", func(c *hospital.Config) { c.Units[1].Name = "ward" }, "Units[1].Name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := small()
			tc.edit(c)
			_, err := hospital.Run(context.Background(), c, nil, hospital.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	st := &hospital.State{Inpatients: []hospital.Inpatient{{Unit: 7}}}
	if _, err := hospital.Run(context.Background(), small(), st, hospital.Options{}); err == nil || !strings.Contains(err.Error(), "Inpatients[0].Unit") {
		t.Errorf("bad state: error %v", err)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := small()
	c.Replications = 50
	if _, err := hospital.Run(ctx, c, nil, hospital.Options{Workers: 1}); err == nil {
		t.Error("no error from a cancelled context")
	}
}

func TestProgress(t *testing.T) {
	var last, total float64
	calls := 0
	_, err := hospital.Run(context.Background(), small(), nil, hospital.Options{Progress: func(d, tot float64) {
		if d < last {
			t.Errorf("progress went back: %v after %v", d, last)
		}
		last, total = d, tot
		calls++
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 6 || last != total || total != 6*90*24 {
		t.Errorf("%d calls, last %v of %v", calls, last, total)
	}
}

// BenchmarkCapacityScaled runs the refs/des capacity_scaled scenario
// (20 replications × 365 days) on one worker per iteration.
func BenchmarkCapacityScaled(b *testing.B) { benchScenario(b, 40, 210, 44) }

// BenchmarkAsSpecified runs the overloaded as_specified scenario, whose
// ED queue grows to ~60,000 waiting patients.
func BenchmarkAsSpecified(b *testing.B) { benchScenario(b, 15, 60, 12) }

func benchScenario(b *testing.B, cub, ward, icu int) {
	c := refsConfig(cub, ward, icu, 1)
	var events uint64
	b.ReportAllocs()
	for b.Loop() {
		r, err := hospital.Run(context.Background(), c, nil, hospital.Options{Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		events += r.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.N)*20*365/b.Elapsed().Seconds(), "sim-days/s")
}
