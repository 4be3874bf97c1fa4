package ode_test

import (
	"testing"

	"github.com/doppelhealth/doppel/ode"
	"github.com/doppelhealth/doppel/ode/odetest"
)

// Tolerances of the conformance runs. The adaptive methods control local
// errors; on these problems of unit scale their global error stays within
// ten times RelTol (observed: DoPri5 at RelTol 1e-10 at most 1.8e-10,
// Rodas4 at RelTol 1e-8 at most 8.4e-9 on the non-stiff and 1.2e-9 on the
// stiff problems). RK4's global error is about C·h⁴ with C below 1 on these
// problems (observed at most 7e-14 with h = 1e-3), so 1e-12 = h⁴ bounds it.

func TestRK4Conformance(t *testing.T) {
	err := odetest.Run(func(p ode.Problem) odetest.Integrator {
		return ode.NewRK4(p.F, len(p.Y0), 1e-3)
	}, odetest.Options{Tol: 1e-12})
	if err != nil {
		t.Error(err)
	}
}

func TestDoPri5Conformance(t *testing.T) {
	err := odetest.Run(func(p ode.Problem) odetest.Integrator {
		return ode.NewDoPri5(p.F, len(p.Y0), ode.Settings{RelTol: 1e-10, AbsTol: 1e-12})
	}, odetest.Options{Tol: 1e-9})
	if err != nil {
		t.Error(err)
	}
}

func TestRodas4Conformance(t *testing.T) {
	// AbsTol far below Robertson's y2 ≈ 8e-14, which Error measures relatively.
	s := ode.Settings{RelTol: 1e-8, AbsTol: 1e-16}
	for _, tc := range []struct {
		name     string
		analytic bool
	}{{"analytic Jacobian", true}, {"finite differences", false}} {
		t.Run(tc.name, func(t *testing.T) {
			err := odetest.Run(func(p ode.Problem) odetest.Integrator {
				jac := p.Jac
				if !tc.analytic {
					jac = nil
				}
				return ode.NewRodas4(p.F, jac, len(p.Y0), s)
			}, odetest.Options{Tol: 1e-7, Stiff: true, StiffTol: 1e-7})
			if err != nil {
				t.Error(err)
			}
		})
	}
}
