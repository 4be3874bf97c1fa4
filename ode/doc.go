// Package ode solves initial-value problems y'(t) = f(t, y), y(t0) = y0, for
// systems of ordinary differential equations.
//
// Doppel's models are restarted at every discontinuity of their inputs (a
// meal, a bolus, a dose), so the central operation is Integrate: advance a
// state slice in place from t0 to t1, with no memory of earlier calls and no
// allocation. Every integrator has it:
//
//	Integrate(y []float64, t0, t1 float64) error
//
// # Methods
//
//   - RK4: the classical fourth-order Runge-Kutta method with a fixed step.
//   - DoPri5: the adaptive Dormand-Prince 5(4) pair with error control,
//     dense output of order 4 and event location (Hairer, Nørsett, Wanner,
//     Solving ODEs I, 2nd ed., Springer 1993, §II.4-II.6). The method for
//     non-stiff problems.
//   - DOP853: the adaptive Dormand-Prince method of order 8 with Hairer's
//     error estimator of orders 5 and 3, dense output of order 7 and event
//     location (Solving ODEs I, §II.10). The method for non-stiff problems
//     at tight tolerances (RelTol below about 1e-7), where it needs far
//     fewer evaluations of f than DoPri5.
//   - Rodas4: the L-stable Rosenbrock method RODAS of order 4(3), with an
//     analytic or finite-difference Jacobian, LU factorization by gonum's
//     LAPACK, dense output of order 3 and event location (Hairer, Wanner,
//     Solving ODEs II, 2nd ed., Springer 1996, §IV.7, §VI.4). The method for
//     stiff problems, such as fast and slow kinetics together.
//
// The adaptive methods take a Settings whose zero value is valid (RelTol
// 1e-6, AbsTol 1e-9, at most 100000 step attempts per call). An invalid
// setting, named in the error, is returned by every call.
//
// # Restarts
//
// Each call of Integrate or Solve starts afresh: the first step comes from
// Settings.InitialStep or from Hairer's starting-step heuristic, and nothing
// of an earlier call is reused, so results depend only on the arguments and
// are reproducible. Integrating [t0, t2] in one call or as [t0, t1] and
// [t1, t2] gives results that agree to the tolerance, not bit for bit.
//
// # Dense output and events
//
// Solve is Integrate with an Observer: the state at requested output times,
// computed by the method's continuous extension without shortening steps
// (or, with Observer.StepToTimes, at the ends of steps that land on them),
// and the zero crossings of event functions g(t, y), located by the Illinois
// method on the continuous extension. A terminal event stops the
// integration there, with y holding the state at the crossing, so that the
// caller can apply a discontinuity and restart; Result says where and why
// the call stopped, and counts its work.
//
// # Conventions
//
// State slices are []float64 of the problem's dimension n; a slice written
// by a function is named dst or dy. A Jacobian is an n×n row-major slice.
// Time is float64 in the model's own unit (Doppel's models document theirs,
// usually minutes). Integration runs forward only (t1 >= t0). Errors wrap
// the sentinels ErrInterval, ErrNotFinite, ErrStepSize, ErrMaxSteps and
// ErrSingular with the time of failure; a state of the wrong length is a
// programmer error and panics. Integrators are not safe for concurrent use:
// build one per goroutine (construction is cheap).
//
// Package ode/odetest holds the standard test problems with their reference
// solutions and the conformance suite every integrator passes.
package ode
