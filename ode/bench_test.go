package ode_test

import (
	"testing"

	"github.com/doppelhealth/doppel/ode"
	"github.com/doppelhealth/doppel/ode/odetest"
)

// TestNoAllocations checks that Integrate and Solve allocate nothing once
// the integrator is built (Solve with output times and events, after a
// first call has sized the event buffers).
func TestNoAllocations(t *testing.T) {
	p := odetest.HarmonicOscillator()
	s := ode.Settings{RelTol: 1e-8}
	y := p.Start()
	times := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	obs := ode.Observer{
		Times:   times,
		Output:  func(float64, []float64) {},
		Events:  []ode.Event{{Func: func(_ float64, y []float64) float64 { return y[0] }}},
		OnEvent: func(int, float64, []float64) {},
	}
	for _, tc := range []struct {
		name string
		in   odetest.Integrator
	}{
		{"RK4", ode.NewRK4(p.F, 2, 1e-2)},
		{"DoPri5", ode.NewDoPri5(p.F, 2, s)},
		{"DOP853", ode.NewDOP853(p.F, 2, s)},
		{"Rodas4", ode.NewRodas4(p.F, p.Jac, 2, s)},
		{"Rodas4 finite differences", ode.NewRodas4(p.F, nil, 2, s)},
	} {
		if a := testing.AllocsPerRun(10, func() {
			copy(y, p.Y0)
			if err := tc.in.Integrate(y, p.T0, p.T1); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%s: Integrate allocates %v times per call, want 0", tc.name, a)
		}
		sv, ok := tc.in.(solver)
		if !ok {
			continue
		}
		if a := testing.AllocsPerRun(10, func() {
			copy(y, p.Y0)
			if _, err := sv.Solve(y, p.T0, p.T1, obs); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%s: Solve allocates %v times per call, want 0", tc.name, a)
		}
	}
}

// Benchmarks: one call over the problem's whole interval, so ns/op covers
// many steps; the allocation counts show that the step loop allocates
// nothing.

func benchmark(b *testing.B, p odetest.Problem, in odetest.Integrator) {
	y := p.Start()
	b.ReportAllocs()
	for b.Loop() {
		copy(y, p.Y0)
		if err := in.Integrate(y, p.T0, p.T1); err != nil {
			b.Fatal(err)
		}
	}
	if s, ok := in.(interface{ Stats() ode.Stats }); ok {
		st := s.Stats()
		b.ReportMetric(float64(st.Steps)/float64(b.N), "steps/op")
		b.ReportMetric(float64(st.Evals)/float64(b.N), "evals/op")
	}
}

func BenchmarkRK4HarmonicOscillator(b *testing.B) {
	p := odetest.HarmonicOscillator()
	benchmark(b, p, ode.NewRK4(p.F, 2, 1e-2)) // 1000 steps, error 7e-10
}

func BenchmarkDoPri5HarmonicOscillator(b *testing.B) {
	p := odetest.HarmonicOscillator()
	benchmark(b, p, ode.NewDoPri5(p.F, 2, ode.Settings{RelTol: 1e-8}))
}

// At RelTol 1e-10 on the harmonic oscillator over [0, 10] (errors 7.7e-11
// and 6.5e-11), DOP853 takes 33 steps and 398 evaluations of f, DoPri5 338
// and 2030: about 12 µs against 100 µs.
func BenchmarkDoPri5HarmonicOscillatorTight(b *testing.B) {
	p := odetest.HarmonicOscillator()
	benchmark(b, p, ode.NewDoPri5(p.F, 2, ode.Settings{RelTol: 1e-10, AbsTol: 1e-12}))
}

func BenchmarkDOP853HarmonicOscillatorTight(b *testing.B) {
	p := odetest.HarmonicOscillator()
	benchmark(b, p, ode.NewDOP853(p.F, 2, ode.Settings{RelTol: 1e-10, AbsTol: 1e-12}))
}

func BenchmarkDoPri5HarmonicOscillatorDense(b *testing.B) {
	p := odetest.HarmonicOscillator()
	d := ode.NewDoPri5(p.F, 2, ode.Settings{RelTol: 1e-8})
	times := make([]float64, 100)
	for i := range times {
		times[i] = float64(i+1) / 10
	}
	obs := ode.Observer{
		Times:  times,
		Output: func(float64, []float64) {},
		Events: []ode.Event{{Func: func(_ float64, y []float64) float64 { return y[0] }}},
	}
	y := p.Start()
	b.ReportAllocs()
	for b.Loop() {
		copy(y, p.Y0)
		if _, err := d.Solve(y, p.T0, p.T1, obs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRodas4HarmonicOscillator(b *testing.B) {
	p := odetest.HarmonicOscillator()
	benchmark(b, p, ode.NewRodas4(p.F, p.Jac, 2, ode.Settings{RelTol: 1e-8}))
}

func BenchmarkRodas4VanDerPol(b *testing.B) {
	p := odetest.VanDerPol()
	benchmark(b, p, ode.NewRodas4(p.F, p.Jac, 2, ode.Settings{RelTol: 1e-6, AbsTol: 1e-6}))
}

func BenchmarkRodas4VanDerPolFiniteDifferences(b *testing.B) {
	p := odetest.VanDerPol()
	benchmark(b, p, ode.NewRodas4(p.F, nil, 2, ode.Settings{RelTol: 1e-6, AbsTol: 1e-6}))
}

func BenchmarkRodas4Robertson(b *testing.B) {
	p := odetest.Robertson()
	benchmark(b, p, ode.NewRodas4(p.F, p.Jac, 3, ode.Settings{RelTol: 1e-6, AbsTol: 1e-14}))
}
