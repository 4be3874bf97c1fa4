package refcheck_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/doppelhealth/doppel/model/refcheck"
)

func TestCheckPass(t *testing.T) {
	for _, tc := range []struct {
		c    refcheck.Check
		want bool
	}{
		{refcheck.Check{MaxError: 1e-9, Tolerance: 1e-8}, true},
		{refcheck.Check{MaxError: 0, Tolerance: 0}, true},
		{refcheck.Check{MaxError: 2e-8, Tolerance: 1e-8}, false},
		{refcheck.Check{MaxError: 1, Tolerance: 0}, false},
		{refcheck.Check{MaxError: math.NaN(), Tolerance: 1}, false},
		{refcheck.Check{MaxError: math.Inf(1), Tolerance: 1}, false},
	} {
		if got := tc.c.Pass(); got != tc.want {
			t.Errorf("%+v: Pass() = %v, want %v", tc.c, got, tc.want)
		}
	}
}

// A case computes its quantities and compares each with the reference; here
// the reference is the analytic value e^−1 of y' = −y, y(0) = 1 at t = 1,
// against ten explicit Euler steps of 0.1 (0.9¹⁰, 5.2 % low).
func ExampleCase() {
	c := refcheck.Case{
		Name:        "decay_euler",
		Description: "y' = −y, y(0) = 1, ten Euler steps of 0.1",
		Reference:   "analytic: y(1) = e^−1",
		Run: func() ([]refcheck.Check, error) {
			y := 1.0
			for range 10 {
				y -= 0.1 * y
			}
			want := math.Exp(-1)
			return []refcheck.Check{{
				Quantity:  "y(1)",
				Unit:      "relative",
				MaxError:  math.Abs(y-want) / want,
				At:        1,
				Where:     "t = 1",
				Tolerance: 0.06,
			}}, nil
		},
	}
	checks, err := c.Run()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ch := range checks {
		fmt.Printf("%s %s: error %.4f (tolerance %g), pass %v\n", c.Name, ch.Quantity, ch.MaxError, ch.Tolerance, ch.Pass())
	}
	// Output:
	// decay_euler y(1): error 0.0522 (tolerance 0.06), pass true
}
