package ode_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/ode"
	"github.com/doppelhealth/doppel/ode/odetest"
)

// newSolvers returns DoPri5, DOP853 and Rodas4 for p at RelTol 1e-10.
func newSolvers(p odetest.Problem) map[string]solver {
	s := ode.Settings{RelTol: 1e-10, AbsTol: 1e-12}
	return map[string]solver{
		"DoPri5": ode.NewDoPri5(p.F, len(p.Y0), s),
		"DOP853": ode.NewDOP853(p.F, len(p.Y0), s),
		"Rodas4": ode.NewRodas4(p.F, p.Jac, len(p.Y0), s),
	}
}

// record is one call of Output or OnEvent.
type record struct {
	event int // -1 for Output
	t     float64
	y     []float64
}

func observe(rec *[]record, times []float64, events ...ode.Event) ode.Observer {
	return ode.Observer{
		Times:  times,
		Output: func(t float64, y []float64) { *rec = append(*rec, record{-1, t, slices.Clone(y)}) },
		Events: events,
		OnEvent: func(i int, t float64, y []float64) {
			*rec = append(*rec, record{i, t, slices.Clone(y)})
		},
	}
}

// The harmonic oscillator y = (cos t, -sin t) has y1 = 0 at π/2 (falling),
// 3π/2 (rising) and 5π/2 (falling) in [0, 10]. The crossings are located to
// 1e-9: the solution is accurate to about 1e-10 at RelTol 1e-10 and
// |y1'| = 1 there, and the root finder itself stops at a few ulps.
func TestEventsHarmonicOscillator(t *testing.T) {
	p := odetest.HarmonicOscillator()
	y1 := func(_ float64, y []float64) float64 { return y[0] }
	const tol = 1e-9
	for _, tc := range []struct {
		dir  ode.Direction
		want []float64
	}{
		{ode.Either, []float64{math.Pi / 2, 3 * math.Pi / 2, 5 * math.Pi / 2}},
		{ode.Falling, []float64{math.Pi / 2, 5 * math.Pi / 2}},
		{ode.Rising, []float64{3 * math.Pi / 2}},
	} {
		for name, s := range newSolvers(p) {
			var rec []record
			y := p.Start()
			res, err := s.Solve(y, p.T0, p.T1, observe(&rec, nil, ode.Event{Func: y1, Direction: tc.dir}))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if res.T != p.T1 || res.Event != -1 {
				t.Errorf("%s direction %d: Result T = %v, Event = %d, want %v, -1", name, tc.dir, res.T, res.Event, p.T1)
			}
			if len(rec) != len(tc.want) {
				t.Errorf("%s direction %d: %d events, want %d: %v", name, tc.dir, len(rec), len(tc.want), rec)
				continue
			}
			for i, r := range rec {
				if r.event != 0 || math.Abs(r.t-tc.want[i]) > tol || math.Abs(r.y[0]) > tol {
					t.Errorf("%s direction %d: event %d at t = %.15g, y = %v; want event 0 at %.15g with y1 = 0 ± %g",
						name, tc.dir, i, r.t, r.y, tc.want[i], tol)
				}
			}
			if e := p.Error(y); e > 1e-8 {
				t.Errorf("%s: error at T1 %.3g with events, want <= 1e-8", name, e)
			}
		}
	}
}

// A terminal event stops the integration at the crossing with y there, and
// an integration restarted from it does not find the same crossing again.
func TestTerminalEventRestart(t *testing.T) {
	p := odetest.HarmonicOscillator()
	ev := ode.Event{Func: func(_ float64, y []float64) float64 { return y[0] }, Terminal: true}
	for name, s := range newSolvers(p) {
		y := p.Start()
		t0 := p.T0
		var stops []float64
		for range 5 {
			res, err := s.Solve(y, t0, p.T1, ode.Observer{Events: []ode.Event{ev}})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if res.Event == -1 {
				if res.T != p.T1 {
					t.Errorf("%s: stopped at %v without an event, want T1 = %v", name, res.T, p.T1)
				}
				break
			}
			if res.Event != 0 || !(res.T > t0) {
				t.Fatalf("%s: Result %+v after restart at %v", name, res, t0)
			}
			want := []float64{math.Cos(res.T), -math.Sin(res.T)}
			if math.Abs(y[0]-want[0]) > 1e-9 || math.Abs(y[1]-want[1]) > 1e-9 {
				t.Errorf("%s: y = %v at the event t = %v, want %v", name, y, res.T, want)
			}
			stops = append(stops, res.T)
			t0 = res.T
		}
		want := []float64{math.Pi / 2, 3 * math.Pi / 2, 5 * math.Pi / 2}
		if len(stops) != len(want) {
			t.Fatalf("%s: stopped at %v, want %v", name, stops, want)
		}
		for i := range want {
			if math.Abs(stops[i]-want[i]) > 1e-9 {
				t.Errorf("%s: stop %d at %.15g, want %.15g", name, i, stops[i], want[i])
			}
		}
		if e := p.Error(y); e > 1e-8 {
			t.Errorf("%s: error at T1 %.3g after restarts, want <= 1e-8", name, e)
		}
	}
}

// A ball dropped from height h0 = 10 m under gravity g = 9.81 m/s²,
// bouncing with restitution e = 0.8: impacts at t_1 = sqrt(2 h0/g) and
// t_{k+1} = t_k + 2 e^k v_1/g with v_1 = g t_1 (analytic). The caller
// reverses the velocity at each terminal event and restarts.
func TestBouncingBall(t *testing.T) {
	const g, h0, e = 9.81, 10.0, 0.8
	f := func(dy []float64, _ float64, y []float64) { dy[0], dy[1] = y[1], -g }
	jac := func(dst []float64, _ float64, _ []float64) { dst[0], dst[1], dst[2], dst[3] = 0, 1, 0, 0 }
	ground := ode.Event{Func: func(_ float64, y []float64) float64 { return y[0] }, Direction: ode.Falling, Terminal: true}
	s := ode.Settings{RelTol: 1e-10, AbsTol: 1e-12}
	for name, in := range map[string]solver{
		"DoPri5": ode.NewDoPri5(f, 2, s),
		"DOP853": ode.NewDOP853(f, 2, s),
		"Rodas4": ode.NewRodas4(f, jac, 2, s),
	} {
		tk := math.Sqrt(2 * h0 / g)
		v1 := g * tk
		y := []float64{h0, 0}
		t0 := 0.0
		for k := range 6 {
			res, err := in.Solve(y, t0, 100, ode.Observer{Events: []ode.Event{ground}})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if res.Event != 0 || math.Abs(res.T-tk) > 1e-9 {
				t.Errorf("%s: impact %d at %.15g (event %d), want %.15g", name, k, res.T, res.Event, tk)
			}
			if math.Abs(y[0]) > 1e-9 {
				t.Errorf("%s: height %v at impact %d, want 0", name, y[0], k)
			}
			y[1] = -e * y[1]
			t0 = res.T
			tk += 2 * math.Pow(e, float64(k+1)) * v1 / g
		}
	}
}

// Outputs and events arrive in time order; outputs after a terminal event
// are left for the restart, and a chain of restarts reports each output
// time once.
func TestOutputsAndEventsInOrder(t *testing.T) {
	p := odetest.HarmonicOscillator()
	times := []float64{0, 0.5, 1, 1.5, 2, 4, 4.5, 5, 9, 10, 11}
	events := []ode.Event{
		{Func: func(_ float64, y []float64) float64 { return y[0] }},                                        // π/2, 3π/2, 5π/2
		{Func: func(_ float64, y []float64) float64 { return y[1] }, Terminal: true, Direction: ode.Rising}, // π, 3π
	}
	const pi = math.Pi
	// 0 and 11 are outside (t0, t1].
	want := []record{
		{-1, 0.5, nil}, {-1, 1, nil}, {-1, 1.5, nil}, {0, pi / 2, nil}, {-1, 2, nil}, {1, pi, nil},
		{-1, 4, nil}, {-1, 4.5, nil}, {0, 3 * pi / 2, nil}, {-1, 5, nil}, {0, 5 * pi / 2, nil}, {-1, 9, nil}, {1, 3 * pi, nil},
		{-1, 10, nil},
	}
	for name, s := range newSolvers(p) {
		var rec []record
		y := p.Start()
		var stops []int
		for t0 := p.T0; t0 < p.T1; {
			res, err := s.Solve(y, t0, p.T1, observe(&rec, times, events...))
			if err != nil {
				t.Fatal(err)
			}
			stops = append(stops, res.Event)
			t0 = res.T
		}
		if !slices.Equal(stops, []int{1, 1, -1}) {
			t.Errorf("%s: calls ended with events %v, want [1 1 -1]", name, stops)
		}
		if len(rec) != len(want) {
			t.Fatalf("%s: %d records, want %d: %v", name, len(rec), len(want), rec)
		}
		for i, r := range rec {
			if r.event != want[i].event || math.Abs(r.t-want[i].t) > 1e-9 {
				t.Errorf("%s: record %d is (%d, %v), want (%d, %v)", name, i, r.event, r.t, want[i].event, want[i].t)
			}
			exact := []float64{math.Cos(r.t), -math.Sin(r.t)}
			if math.Abs(r.y[0]-exact[0]) > 1e-9 || math.Abs(r.y[1]-exact[1]) > 1e-9 {
				t.Errorf("%s: y(%v) = %v, want %v", name, r.t, r.y, exact)
			}
		}
	}
}

func TestObserverErrors(t *testing.T) {
	p := odetest.HarmonicOscillator()
	g := func(float64, []float64) float64 { return 1 }
	for _, tc := range []struct {
		obs  ode.Observer
		want string
	}{
		{ode.Observer{Times: []float64{1, 1}, Output: func(float64, []float64) {}}, "Observer.Times is not increasing at index 1"},
		{ode.Observer{Times: []float64{1, math.NaN()}, Output: func(float64, []float64) {}}, "Observer.Times is not increasing at index 1"},
		{ode.Observer{Times: []float64{1}}, "Observer.Output is nil"},
		{ode.Observer{Events: []ode.Event{{Func: g}, {}}}, "Observer.Events[1].Func is nil"},
		{ode.Observer{Events: []ode.Event{{Func: g, Direction: 2}}}, "Observer.Events[0].Direction = 2"},
	} {
		for name, s := range newSolvers(p) {
			y := p.Start()
			_, err := s.Solve(y, 0, 1, tc.obs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: Solve(%+v) = %v, want an error containing %q", name, tc.obs, err, tc.want)
			}
			if !slices.Equal(y, p.Y0) {
				t.Errorf("%s: y changed to %v on error", name, y)
			}
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	f := func(dy []float64, _ float64, y []float64) { dy[0] = -y[0] }
	for _, tc := range []struct {
		s    ode.Settings
		want string
	}{
		{ode.Settings{RelTol: -1}, "Settings.RelTol = -1"},
		{ode.Settings{RelTol: 1e-20}, "Settings.RelTol = 1e-20"},
		{ode.Settings{RelTol: math.NaN()}, "Settings.RelTol = NaN"},
		{ode.Settings{AbsTol: -1e-9}, "Settings.AbsTol = -1e-09"},
		{ode.Settings{AbsTol: math.Inf(1)}, "Settings.AbsTol = +Inf"},
		{ode.Settings{AbsTols: []float64{1, 2}}, "Settings.AbsTols has 2 components, want 1"},
		{ode.Settings{AbsTols: []float64{0}}, "Settings.AbsTols[0] = 0"},
		{ode.Settings{InitialStep: -1}, "Settings.InitialStep = -1"},
		{ode.Settings{MaxStep: math.NaN()}, "Settings.MaxStep = NaN"},
		{ode.Settings{MaxSteps: -5}, "Settings.MaxSteps = -5"},
	} {
		for name, in := range map[string]odetest.Integrator{
			"DoPri5": ode.NewDoPri5(f, 1, tc.s),
			"DOP853": ode.NewDOP853(f, 1, tc.s),
			"Rodas4": ode.NewRodas4(f, nil, 1, tc.s),
		} {
			y := []float64{1}
			err := in.Integrate(y, 0, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s with %+v: Integrate = %v, want an error containing %q", name, tc.s, err, tc.want)
			}
			if y[0] != 1 {
				t.Errorf("%s with %+v: y changed to %v on error", name, tc.s, y)
			}
		}
	}
	for _, h := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		err := ode.NewRK4(f, 1, h).Integrate([]float64{1}, 0, 1)
		if err == nil || !strings.Contains(err.Error(), "ode: RK4 step h = ") {
			t.Errorf("NewRK4(h = %v).Integrate = %v, want an error naming h", h, err)
		}
	}
}

// A per-component absolute tolerance is honoured: with a loose tolerance on
// a component that is zero throughout, the other component keeps the
// accuracy its own tolerance asks for.
func TestAbsTols(t *testing.T) {
	f := func(dy []float64, _ float64, y []float64) { dy[0], dy[1] = -y[0], 0 }
	y := []float64{1, 0}
	d := ode.NewDoPri5(f, 2, ode.Settings{RelTol: 1e-12, AbsTols: []float64{1e-14, 1}})
	if err := d.Integrate(y, 0, 1); err != nil {
		t.Fatal(err)
	}
	if e := math.Abs(y[0]-math.Exp(-1)) / math.Exp(-1); e > 1e-11 {
		t.Errorf("relative error %.3g, want <= 1e-11", e)
	}
}

func TestMaxStepsAndStepSize(t *testing.T) {
	p := odetest.Robertson()
	y := p.Start()
	err := ode.NewDoPri5(p.F, 3, ode.Settings{MaxSteps: 500}).Integrate(y, 0, 1e3)
	if !errors.Is(err, ode.ErrMaxSteps) {
		t.Errorf("DoPri5 on Robertson with MaxSteps 500: %v, want ErrMaxSteps", err)
	}
	// y' = y², y(0) = 1 blows up at t = 1.
	blowUp := func(dy []float64, _ float64, y []float64) { dy[0] = y[0] * y[0] }
	for name, in := range map[string]odetest.Integrator{
		"DoPri5": ode.NewDoPri5(blowUp, 1, ode.Settings{}),
		"DOP853": ode.NewDOP853(blowUp, 1, ode.Settings{}),
		"Rodas4": ode.NewRodas4(blowUp, nil, 1, ode.Settings{}),
	} {
		y := []float64{1}
		err := in.Integrate(y, 0, 2)
		if !errors.Is(err, ode.ErrStepSize) {
			t.Errorf("%s: y' = y² through its blow-up at t = 1: %v, want ErrStepSize", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "at t = 1.0000") {
			t.Errorf("%s: error %q does not place the failure at t = 1", name, err)
		}
	}
}

// Result.Stats counts one call; Stats accumulates.
func TestStats(t *testing.T) {
	p := odetest.HarmonicOscillator()
	for name, s := range newSolvers(p) {
		y := p.Start()
		r1, err := s.Solve(y, 0, 5, ode.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := s.Solve(y, 5, 10, ode.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		total := s.(interface{ Stats() ode.Stats }).Stats()
		sum := r1.Stats
		sum.Steps += r2.Stats.Steps
		sum.Rejected += r2.Stats.Rejected
		sum.Evals += r2.Stats.Evals
		sum.Jacobians += r2.Stats.Jacobians
		sum.Factorizations += r2.Stats.Factorizations
		if total != sum || r1.Stats.Steps == 0 || r1.Stats.Evals < 6*r1.Stats.Steps {
			t.Errorf("%s: Stats %+v, per call %+v and %+v", name, total, r1.Stats, r2.Stats)
		}
	}
}

// With Observer.StepToTimes every output is the end of a step: a call that
// stops at an output time takes the same steps up to it, so its final state
// is bit-identical to that output; and the outputs keep the accuracy of the
// steps.
func TestStepToTimes(t *testing.T) {
	p := odetest.HarmonicOscillator()
	times := []float64{0.7, 1.3, 2.9, 3, 7.5, 10}
	for name, s := range newSolvers(p) {
		var rec []record
		obs := observe(&rec, times)
		obs.StepToTimes = true
		y := p.Start()
		res, err := s.Solve(y, p.T0, p.T1, obs)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec) != len(times) || res.Stats.Steps < len(times) {
			t.Fatalf("%s: %d outputs in %d steps, want %d outputs, as many steps at least", name, len(rec), res.Stats.Steps, len(times))
		}
		for k, r := range rec {
			exact := []float64{math.Cos(r.t), -math.Sin(r.t)}
			if math.Abs(r.y[0]-exact[0]) > 1e-9 || math.Abs(r.y[1]-exact[1]) > 1e-9 {
				t.Errorf("%s: y(%v) = %v, want %v", name, r.t, r.y, exact)
			}
			var rec2 []record
			obs := observe(&rec2, times[:k+1])
			obs.StepToTimes = true
			y := p.Start()
			if _, err := s.Solve(y, p.T0, times[k], obs); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(y, r.y) {
				t.Errorf("%s: Solve to %v gives %v, the output there %v: not a step's end", name, times[k], y, r.y)
			}
		}
	}
}
