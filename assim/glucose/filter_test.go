package glucose

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/model/t1d"
)

func mustSensor(t testing.TB) t1d.SensorParams {
	t.Helper()
	s, err := t1d.Sensor("GuardianRT")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run feeds the first n samples of a ground truth to a new filter and
// returns it.
func run(t testing.TB, tr truthRun, n int, seed uint64, opt Options) *Filter {
	t.Helper()
	f, err := New(tr.pop, mustSensor(t), rand.New(rand.NewPCG(seed, 1)), opt)
	if err != nil {
		t.Fatal(err)
	}
	for k := range n {
		if k > 0 {
			if err := f.Advance(tr.inputs[(k-1)*5 : k*5]); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Update(tr.cgm[k]); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func mustTruth(t testing.TB, name string, days int) truthRun {
	t.Helper()
	tr, _, err := simulateTruth(name, days, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestFilterDeterministic: the same inputs and seed give the same forecast.
func TestFilterDeterministic(t *testing.T) {
	tr := mustTruth(t, "adult#001", 1)
	var got [2]Forecast
	for i := range got {
		f := run(t, tr, 100, 9, Options{Particles: 16})
		fc, err := f.Forecast(nil, []int{30, 60, 120})
		if err != nil {
			t.Fatal(err)
		}
		got[i] = fc
	}
	if diff := cmp.Diff(got[0], got[1]); diff != "" {
		t.Errorf("two runs differ (-first +second):\n%s", diff)
	}
}

// TestFilterTracks: on a day of adult#003 (population: the other nine
// adults), the RMS error of the filter's glucose estimate after the first
// 2 h is below the sensor's own error SD, 11.7 mg/dL (TestNoiseModel
// samples it), and the forecast bands are ordered.
func TestFilterTracks(t *testing.T) {
	tr := mustTruth(t, "adult#003", 1)
	f, err := New(tr.pop, mustSensor(t), rand.New(rand.NewPCG(2, 2)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var seTwin, seCGM float64
	n := 0
	for k := range tr.cgm {
		if k > 0 {
			if err := f.Advance(tr.inputs[(k-1)*5 : k*5]); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Update(tr.cgm[k]); err != nil {
			t.Fatal(err)
		}
		if k < 24 {
			continue
		}
		e := f.Estimate().BG - tr.bg[k]
		c := tr.cgm[k] - tr.bg[k]
		seTwin += e * e
		seCGM += c * c
		n++
	}
	twin, cgm := math.Sqrt(seTwin/float64(n)), math.Sqrt(seCGM/float64(n))
	t.Logf("RMS error of the estimate %.1f mg/dL, of the readings %.1f mg/dL", twin, cgm)
	if twin >= 11.7 {
		t.Errorf("estimate RMS error %.1f mg/dL, want below the sensor error SD 11.7", twin)
	}
	fc, err := f.Forecast(nil, []int{30, 60, 120})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range fc.Bands {
		if !(b.Lo95 <= b.Lo80 && b.Lo80 <= b.Median && b.Median <= b.Hi80 && b.Hi80 <= b.Hi95) {
			t.Errorf("%d min: bands not ordered: %+v", b.Minutes, b)
		}
	}
	if fc.PHypo < 0 || fc.PHypo > 1 {
		t.Errorf("PHypo = %v", fc.PHypo)
	}
}

// TestForecastHypo checks invariants of the hypoglycaemia probability: a
// large planned bolus (2 U/min for 30 min) lowers the median and raises
// P(hypo) compared with no bolus, and P(hypo within 30 min) is at least
// the probability of being below 70 mg/dL at 30 min.
func TestForecastHypo(t *testing.T) {
	tr := mustTruth(t, "child#003", 1)
	f := run(t, tr, 60, 3, Options{})
	plan := make([]Input, 30)
	for m := range plan {
		plan[m].Insulin = 2
	}
	big, err := f.Forecast(plan, []int{30})
	if err != nil {
		t.Fatal(err)
	}
	none, err := f.Forecast(nil, []int{30})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("P(hypo within 30 min): bolus %.2f, none %.2f; median at 30 min %.0f vs %.0f mg/dL", big.PHypo, none.PHypo, big.Bands[0].Median, none.Bands[0].Median)
	if !(big.Bands[0].Median < none.Bands[0].Median) || big.PHypo < none.PHypo {
		t.Errorf("bolus: median %.1f P(hypo) %.2f; none: %.1f %.2f; want a lower median and no lower P(hypo) with the bolus",
			big.Bands[0].Median, big.PHypo, none.Bands[0].Median, none.PHypo)
	}
	for _, fc := range []Forecast{big, none} {
		if fc.PHypo < fc.Bands[0].PBelow70-1e-12 {
			t.Errorf("P(hypo within 30 min) %.3f < P(below 70 at 30 min) %.3f", fc.PHypo, fc.Bands[0].PBelow70)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	tr := mustTruth(t, "adult#001", 1)
	s := mustSensor(t)
	rng := rand.New(rand.NewPCG(1, 1))
	if _, err := New(tr.pop, s, nil, Options{}); err == nil || err.Error() != "glucose: New needs a *rand.Rand" {
		t.Errorf("nil rng: %v", err)
	}
	if _, err := New(tr.pop, s, rng, Options{Particles: 1}); err == nil || err.Error() != "glucose: Options.Particles = 1, want 2 to 100000" {
		t.Errorf("1 particle: %v", err)
	}
	f, err := New(tr.pop, s, rng, Options{Particles: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Forecast(nil, []int{30}); err == nil || err.Error() != "glucose: Forecast before the first reading" {
		t.Errorf("forecast before start: %v", err)
	}
	for _, y := range []float64{math.NaN(), -5, 0} {
		if err := f.Update(y); err == nil {
			t.Errorf("Update(%v): no error", y)
		}
	}
	if err := f.Advance([]Input{{Carbs: -1}}); err == nil || err.Error() != "glucose: input 1: carbs -1 g, insulin 0 U/min, want finite values ≥ 0" {
		t.Errorf("negative carbs: %v", err)
	}
	if err := f.Update(120); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Forecast(nil, []int{0}); err == nil || err.Error() != "glucose: forecast horizon 0 min, want 1 to 1440" {
		t.Errorf("horizon 0: %v", err)
	}
}

func TestPopulation(t *testing.T) {
	adults := []string{"adult#001", "adult#002", "adult#003"}
	p, err := Population(adults, 70, 0.02)
	if err != nil {
		t.Fatal(err)
	}
	// Basal steady state: a day at the basal rate moves BG by < 0.01 mg/dL.
	m, err := t1d.NewPatientModel(p, t1d.Method{})
	if err != nil {
		t.Fatal(err)
	}
	bg0 := m.BG()
	for range 1440 {
		if err := m.Step(0, 0.02); err != nil {
			t.Fatal(err)
		}
	}
	if d := math.Abs(m.BG() - bg0); d > 0.01 || p.BW != 70 || math.Abs(p.BasalRate()-0.02) > 1e-15 || math.Abs(p.X0[6]) > 1e-6 {
		t.Errorf("population: BG moved %.3g mg/dL in a day, BW %v, basal %v U/min, X %v; want a steady state at BW 70, 0.02 U/min, X 0", d, p.BW, p.BasalRate(), p.X0[6])
	}
	if _, err := Population(nil, 70, 0.02); err == nil {
		t.Error("empty population: no error")
	}
	if _, err := Population(adults, 0, 0.02); err == nil {
		t.Error("zero weight: no error")
	}
}
