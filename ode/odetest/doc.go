// Package odetest holds standard initial-value problems with reference
// solutions, a convergence-order estimate, and the conformance suite that
// every integrator of package ode passes.
//
// # Problems
//
// Each Problem carries its derivative, its analytic Jacobian, an interval
// and a reference solution at the end of that interval, with the source of
// the reference:
//
//   - ExponentialDecay, HarmonicOscillator and EnrightPryceA3 (a
//     non-autonomous scalar equation) have closed-form solutions.
//   - VanDerPol (μ = 1000) and Robertson are stiff; their reference values
//     are those published with the Test Set for IVP Solvers (F. Mazzia and
//     C. Magherini, University of Bari, release 2.4, 2008), computed there
//     with RADAU5 in quadruple precision at tolerances of 1.1e-18.
//
// # Conformance
//
// Run checks an integrator against the problems (the stiff ones only for
// integrators that declare themselves stiff-capable) and against the
// contract of Integrate shared by package ode's integrators: restarts,
// reproducibility, empty and invalid intervals, and non-finite states. Like
// testing/slogtest, it returns an error describing every failure instead of
// taking a *testing.T, so that it can run from any test harness.
//
// Order estimates the order of convergence of a method from the errors at a
// sequence of step sizes (or tolerances).
package odetest
