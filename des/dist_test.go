package des_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/doppelhealth/doppel/des"
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestDistMoments checks sample means and standard deviations against the
// parameters (each within 4 standard errors), and that SampleAbove(x)
// exceeds x and matches the conditional mean E[X | X > x] estimated by
// rejection from Sample.
func TestDistMoments(t *testing.T) {
	tests := []struct {
		name     string
		d        des.Dist
		mean, sd float64
		above    float64
	}{
		{"exponential", must(des.NewExponential(3)), 3, 3, 2},
		{"lognormal 4/3", must(des.NewLogNormal(4, 3)), 4, 3, 5},
		{"lognormal 3/2", must(des.NewLogNormal(3, 2)), 3, 2, 1},
		{"gamma k=2.25", must(des.NewGammaMeanSD(3, 2)), 3, 2, 4},
		{"gamma k=0.5", must(des.NewGammaMeanSD(1, math.Sqrt2)), 1, math.Sqrt2, 0.5},
		{"empirical", must(des.NewEmpirical([]float64{1, 2, 3, 4, 5})), 3, math.Sqrt2, 2.5},
	}
	const n = 200_000
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			if math.Abs(tc.d.Mean()-tc.mean) > 1e-12*tc.mean {
				t.Errorf("Mean() = %v, want %v", tc.d.Mean(), tc.mean)
			}
			var s, ss, cs float64
			var cn int
			for range n {
				x := tc.d.Sample(r)
				s += x
				ss += x * x
				if x > tc.above {
					cs += x
					cn++
				}
			}
			m := s / n
			sd := math.Sqrt(ss/n - m*m)
			if se := tc.sd / math.Sqrt(n); math.Abs(m-tc.mean) > 4*se {
				t.Errorf("sample mean %v, want %v ± %v", m, tc.mean, 4*se)
			}
			if math.Abs(sd-tc.sd) > 0.03*tc.sd {
				t.Errorf("sample sd %v, want %v within 3%%", sd, tc.sd)
			}
			condMean := cs / float64(cn)
			var as float64
			for range n {
				x := tc.d.SampleAbove(r, tc.above)
				if !(x > tc.above) {
					t.Fatalf("SampleAbove(%v) = %v", tc.above, x)
				}
				as += x
			}
			if am := as / n; math.Abs(am-condMean) > 0.02*condMean {
				t.Errorf("mean of SampleAbove(%v) = %v, rejection estimate %v", tc.above, am, condMean)
			}
		})
	}
}

func TestDistErrors(t *testing.T) {
	for name, err := range map[string]error{
		"exp zero":        second(des.NewExponential(0)),
		"lognormal sd<0":  second(des.NewLogNormal(1, -1)),
		"gamma inf":       second(des.NewGammaMeanSD(math.Inf(1), 1)),
		"empirical empty": second(des.NewEmpirical(nil)),
		"empirical neg":   second(des.NewEmpirical([]float64{1, -2})),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func second[T any](_ T, err error) error { return err }
