// Package ode solves initial-value problems y'(t) = f(t, y), y(t0) = y0, for
// systems of ordinary differential equations.
//
// Doppel's models are restarted at every discontinuity of their inputs (a
// meal, a bolus, a dose), so the central operation is Integrate: advance a
// state slice in place from t0 to t1 with no memory of earlier calls and no
// allocation. Three methods are provided:
//
//   - RK4: the classical fixed-step fourth-order Runge-Kutta method.
//   - DoPri5: the adaptive Dormand-Prince 5(4) pair with error control,
//     dense output and event location (Hairer, Nørsett, Wanner, Solving
//     ODEs I, 2nd ed., Springer 1993, §II.4-II.6).
//   - a stiff method (see its type) with an analytic or finite-difference Jacobian.
//
// Conventions: state slices are []float64 of the problem's dimension n; a
// slice written by a function is named dst or dy; time is float64 in the
// model's own unit (Doppel's models document theirs, usually minutes or hours).
// Package ode/odetest holds the standard test problems and the conformance
// suite every integrator passes.
package ode
