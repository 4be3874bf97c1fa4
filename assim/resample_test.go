package assim

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeLog(t *testing.T) {
	for _, tc := range []struct {
		name    string
		w       []float64
		want    []float64
		wantESS float64
	}{
		{"equal", []float64{-1000, -1000, -1000, -1000}, []float64{0.25, 0.25, 0.25, 0.25}, 4},
		{"one dominant", []float64{0, math.Inf(-1), math.Inf(-1)}, []float64{1, 0, 0}, 1},
		// ln 3 and 0: weights 3/4 and 1/4, ESS 1/(9/16 + 1/16) = 1.6.
		{"3:1", []float64{math.Log(3) - 800, -800}, []float64{0.75, 0.25}, 1.6},
		{"all impossible", []float64{math.Inf(-1), math.NaN()}, []float64{0.5, 0.5}, 2},
	} {
		w := append([]float64(nil), tc.w...)
		ess := NormalizeLog(w)
		if !cmp.Equal(tc.want, w, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-12 })) || math.Abs(ess-tc.wantESS) > 1e-9 {
			t.Errorf("%s: weights %v ESS %v, want %v ESS %v", tc.name, w, ess, tc.want, tc.wantESS)
		}
	}
}

func TestSystematic(t *testing.T) {
	// n = 4, w = (0.1, 0.4, 0.5): cumulative 0.1, 0.5, 1.0.
	w := []float64{0.1, 0.4, 0.5}
	for _, tc := range []struct {
		u    float64
		want []int
	}{
		// points 0, .25, .5, .75: 0 → 0; .25 → 1; .5 → 2 (cum 0.5 is not > .5); .75 → 2.
		{0, []int{0, 1, 2, 2}},
		// points .15, .4, .65, .9.
		{0.6, []int{1, 1, 2, 2}},
		// points .0975 → 0, .3475, .5975, .8475.
		{0.39, []int{0, 1, 2, 2}},
	} {
		got := make([]int, 4)
		Systematic(got, w, tc.u)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("u = %v (-want +got):\n%s", tc.u, diff)
		}
	}
}
