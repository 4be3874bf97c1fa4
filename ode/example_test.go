package ode_test

import (
	"fmt"
	"math"

	"github.com/doppelhealth/doppel/ode"
)

// Exponential decay y' = -k y with DoPri5 at the default tolerances.
func ExampleDoPri5_Integrate() {
	const k = 0.5
	decay := func(dy []float64, _ float64, y []float64) { dy[0] = -k * y[0] }
	d := ode.NewDoPri5(decay, 1, ode.Settings{})
	y := []float64{100}
	if err := d.Integrate(y, 0, 4); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("y(4) = %.5f (exact %.5f)\n", y[0], 100*math.Exp(-k*4))
	// Output:
	// y(4) = 13.53353 (exact 13.53353)
}

// Dense output: the solution at hourly times without shortening steps.
func ExampleDoPri5_Solve_output() {
	decay := func(dy []float64, _ float64, y []float64) { dy[0] = -0.5 * y[0] }
	d := ode.NewDoPri5(decay, 1, ode.Settings{RelTol: 1e-8})
	y := []float64{100}
	obs := ode.Observer{
		Times:  []float64{1, 2, 3},
		Output: func(t float64, y []float64) { fmt.Printf("t = %v: %.4f\n", t, y[0]) },
	}
	if _, err := d.Solve(y, 0, 3, obs); err != nil {
		fmt.Println(err)
	}
	// Output:
	// t = 1: 60.6531
	// t = 2: 36.7879
	// t = 3: 22.3130
}

// Event location with restarts: a ball dropped from 10 m bounces with a
// coefficient of restitution of 0.8 (analytic impacts at t1 = sqrt(2·10/g)
// and then 2·0.8^k·t1 after the k-th). A terminal event stops the integration
// at each impact, where the caller reverses the velocity and restarts. The
// event counts falling crossings only, so the restart, which begins on the
// ground, does not stop at once.
func ExampleDoPri5_Solve_events() {
	const g = 9.81
	fall := func(dy []float64, _ float64, y []float64) { dy[0], dy[1] = y[1], -g }
	ground := ode.Event{
		Func:      func(_ float64, y []float64) float64 { return y[0] }, // height
		Direction: ode.Falling,
		Terminal:  true,
	}
	d := ode.NewDoPri5(fall, 2, ode.Settings{RelTol: 1e-10})
	y := []float64{10, 0} // height (m), velocity (m/s)
	t := 0.0
	for range 3 {
		res, err := d.Solve(y, t, 60, ode.Observer{Events: []ode.Event{ground}})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("impact at t = %.4f s, speed %.4f m/s\n", res.T, -y[1])
		y[1] = -0.8 * y[1]
		t = res.T
	}
	// Output:
	// impact at t = 1.4278 s, speed 14.0071 m/s
	// impact at t = 3.7124 s, speed 11.2057 m/s
	// impact at t = 5.5400 s, speed 8.9646 m/s
}

// The Van der Pol oscillator with μ = 1000 is stiff: Rodas4 crosses its
// slow phases in long steps that an explicit method could not take.
func ExampleRodas4() {
	const mu = 1000
	vdp := func(dy []float64, _ float64, y []float64) {
		dy[0] = y[1]
		dy[1] = mu*(1-y[0]*y[0])*y[1] - y[0]
	}
	jac := func(dst []float64, _ float64, y []float64) {
		dst[0], dst[1] = 0, 1
		dst[2], dst[3] = -2*mu*y[0]*y[1]-1, mu*(1-y[0]*y[0])
	}
	r := ode.NewRodas4(vdp, jac, 2, ode.Settings{RelTol: 1e-8, AbsTol: 1e-8})
	y := []float64{2, 0}
	if err := r.Integrate(y, 0, 2000); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("y(2000) = (%.6f, %.6e), in fewer than 3000 steps: %v\n", y[0], y[1], r.Stats().Steps < 3000)
	// Output:
	// y(2000) = (1.706168, -8.928097e-04), in fewer than 3000 steps: true
}

// A meal every 5 hours: integrate between discontinuities with RK4,
// applying each one to the state at its time. The analytic values are
// 0.12425 g and 4.99043 g.
func ExampleRK4() {
	// Gut glucose g absorbed at rate 0.02/min into plasma p, cleared at 0.01/min.
	f := func(dy []float64, _ float64, y []float64) {
		dy[0] = -0.02 * y[0]
		dy[1] = 0.02*y[0] - 0.01*y[1]
	}
	r := ode.NewRK4(f, 2, 1) // 1-minute steps
	y := []float64{0, 0}
	meals := []float64{0, 300, 600} // minutes
	for i, t := range meals {
		y[0] += 50 // grams
		end := 900.0
		if i+1 < len(meals) {
			end = meals[i+1]
		}
		if err := r.Integrate(y, t, end); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("at 15 h: gut %.3f g, plasma %.3f g\n", y[0], y[1])
	// Output:
	// at 15 h: gut 0.124 g, plasma 4.990 g
}
