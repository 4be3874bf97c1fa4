// Package main is odebench, the Go half of bench/ode_vs_scipy.sh: it solves
// the problems of package ode/odetest with package ode's adaptive
// integrators (DoPri5 on the non-stiff problems, Rodas4 with the problems'
// analytic Jacobians on the stiff ones) at the given tolerances, and prints
// one line per problem, method and tolerance with the median wall time of
// one solve, the work counters and the error against the problem's
// reference solution (odetest.Problem.Error).
//
//	go run ./bench/odebench [-tols 1e-6/1e-9,1e-8/1e-10] [-mintime 0.5s]
//	                        [-problems NAME,...] [-format jsonl|csv|table]
//
// One solve is what a caller of scipy.integrate.solve_ivp gets from one
// call: build the integrator (NewDoPri5 or NewRodas4) and integrate a copy
// of Y0 from T0 to T1 with Integrate. Solves are timed in batches of at
// least a millisecond, after a warm-up solve, until -mintime has passed
// and at least 5 batches were taken; the time reported is the median over
// batches of the batch time divided by its number of solves.
//
// The program is not part of go test; bench/README.md describes the
// comparison it belongs to.
package main
