package score

import (
	"math"
	"math/rand/v2"
	"testing"
)

// series samples f every dt hours over [0, span].
func series(span, dt float64, f func(t float64) Vitals) []Sample {
	var s []Sample
	for i := 0; float64(i)*dt <= span+1e-9; i++ {
		t := float64(i) * dt
		s = append(s, Sample{T: t, Vitals: f(t)})
	}
	return s
}

// TestTrendAnalytic checks the crossing time on noiseless linear series,
// whose crossing is known in closed form: the time at which a parameter
// reaches the edge between two charted values (e.g. 20.5 breaths/min).
func TestTrendAnalytic(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(t float64) Vitals
		from Response
		want float64 // hours after the last sample (t = 6 h)
	}{
		{"respiration rising 1/h from 14: 20 at 6 h, 20.5 at 6.5 h", func(t float64) Vitals {
			v := normal()
			v.RespirationRate = 14 + t
			return v
		}, Routine, 0.5},
		{"SpO2 falling 0.5 %/h from 100: 97 at 6 h, 95.5 at 9 h", func(t float64) Vitals {
			v := normal()
			v.SpO2 = 100 - 0.5*t
			return v
		}, Routine, 3},
		{"temperature falling 0.2 °C/h from 37.0: 35.8 (1 point) at 6 h, 35.05 (red) at 9.75 h", func(t float64) Vitals {
			v := normal()
			v.Temp = 37 - 0.2*t
			return v
		}, WardBased, 3.75},
		{"pulse 95 (1) and systolic falling 2 mmHg/h, 103 (1) at 6 h: 100.5 (2, total 3) at 7.25 h, 90.5 (red) at 12.25 h", func(t float64) Vitals {
			v := normal()
			v.Pulse, v.SystolicBP = 95, 115-2*t
			return v
		}, WardBased, 6.25},
		{"on oxygen (2), SpO2 90 % on scale 2 (0), respiration falling 1/h, 14 at 6 h: 8.5 (3, total 5) at 11.5 h", func(t float64) Vitals {
			v := normal()
			v.Scale2, v.OnOxygen, v.SpO2 = true, true, 90
			v.RespirationRate = 20 - t
			return v
		}, WardBased, 5.5},
		{"stable vitals never cross", func(float64) Vitals { return normal() }, Routine, math.Inf(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := series(6, 0.5, tc.f)
			c, err := TrendForecast(s, TrendOptions{Horizon: 24, Rand: rand.New(rand.NewPCG(1, 1))})
			if err != nil {
				t.Fatal(err)
			}
			if c.From != tc.from {
				t.Errorf("From = %v, want %v", c.From, tc.from)
			}
			for _, got := range []float64{c.Point, c.Lo, c.Median, c.Hi} {
				if !(math.Abs(got-tc.want) < 1e-9 || (math.IsInf(tc.want, 1) && math.IsInf(got, 1))) {
					t.Errorf("crossing (point, 10 %%, 50 %%, 90 %%) = %v %v %v %v h, want %v", c.Point, c.Lo, c.Median, c.Hi, tc.want)
					break
				}
			}
		})
	}
}

// TestTrendCalibration checks the uncertainty of the forecast on noisy
// deteriorating series whose true crossing time is known: a pulse rising
// 4 beats/min per hour (84 at the last sample, 6 h), observed every 30 min
// with normal noise of SD 2 beats/min, crosses 90.5 at 1.625 h. Over 400
// seeded replicates the 10–90 % interval must cover the truth in 72–88 % of
// them (80 % ± 4 binomial SD; the normal approximation to the t
// distribution of 11 degrees of freedom makes it a little narrow), and the
// median crossing must be unbiased to within 0.05 h.
func TestTrendCalibration(t *testing.T) {
	const truth, reps = 1.625, 400
	rng := rand.New(rand.NewPCG(7, 7))
	covered, used, sumMedian := 0, 0, 0.0
	for range reps {
		s := series(6, 0.5, func(t float64) Vitals {
			v := normal()
			v.Pulse = 60 + 4*t + 2*rng.NormFloat64()
			return v
		})
		c, err := TrendForecast(s, TrendOptions{Rand: rng})
		if err != nil {
			t.Fatal(err)
		}
		if c.From != Routine {
			continue // the noise pushed the last reading over 90.5
		}
		used++
		if c.Lo <= truth && truth <= c.Hi {
			covered++
		}
		sumMedian += c.Median
	}
	cov := float64(covered) / float64(used)
	bias := sumMedian/float64(used) - truth
	t.Logf("%d of %d replicates start at routine monitoring; coverage of the 80 %% interval %.3f, mean median crossing − truth %+.3f h", used, reps, cov, bias)
	if cov < 0.72 || cov > 0.88 {
		t.Errorf("coverage %.3f, want 0.72-0.88", cov)
	}
	if math.Abs(bias) > 0.05 {
		t.Errorf("bias %+.3f h, want within ±0.05", bias)
	}
}

func TestTrendErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	ok := []Sample{{T: 0, Vitals: normal()}, {T: 1, Vitals: normal()}}
	bad := normal()
	bad.SpO2 = 120
	for _, tc := range []struct {
		name string
		s    []Sample
		opt  TrendOptions
		want string
	}{
		{"no rand", ok, TrendOptions{}, "score: trend forecast needs a *rand.Rand"},
		{"no samples", nil, TrendOptions{Rand: rng}, "score: trend forecast needs at least one sample"},
		{"time order", []Sample{{T: 1, Vitals: normal()}, {T: 1, Vitals: normal()}}, TrendOptions{Rand: rng}, "score: sample 2: time 1 h, want finite and increasing"},
		{"bad vitals", []Sample{{T: 0, Vitals: bad}}, TrendOptions{Rand: rng}, "score: sample 1: score: SpO2 = 120 %, want at most 100"},
		{"negative horizon", ok, TrendOptions{Horizon: -1, Rand: rng}, "score: trend horizon -1 h, want > 0"},
	} {
		_, err := TrendForecast(tc.s, tc.opt)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
