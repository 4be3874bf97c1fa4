package odetest_test

import (
	"fmt"

	"github.com/doppelhealth/doppel/ode"
	"github.com/doppelhealth/doppel/ode/odetest"
)

// Run checks an integrator against the problems and the contract of
// Integrate; nil means it passed.
func ExampleRun() {
	err := odetest.Run(func(p ode.Problem) odetest.Integrator {
		return ode.NewRodas4(p.F, p.Jac, len(p.Y0), ode.Settings{RelTol: 1e-8, AbsTol: 1e-16})
	}, odetest.Options{Tol: 1e-7, Stiff: true, StiffTol: 1e-7})
	fmt.Println(err)
	// Output:
	// <nil>
}

// Order measures RK4's order of convergence on the harmonic oscillator.
func ExampleOrder() {
	rk4 := func(p ode.Problem, h float64) odetest.Integrator { return ode.NewRK4(p.F, len(p.Y0), h) }
	order, err := odetest.Order(rk4, odetest.HarmonicOscillator(), []float64{0.2, 0.1, 0.05, 0.025})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("RK4 converges with order %.1f\n", order)
	// Output:
	// RK4 converges with order 4.0
}

// A problem's reference solution and its source.
func ExampleRobertson() {
	p := odetest.Robertson()
	fmt.Printf("%s at t = %g: %.6e\n", p.Name, p.T1, p.Want)
	fmt.Println(p.Source)
	// Output:
	// Robertson at t = 1e+11: [2.083340e-08 8.333361e-14 1.000000e+00]
	// Test Set for IVP Solvers (Mazzia & Magherini, Bari, release 2.4), problem ROBER, subroutine solut
}
