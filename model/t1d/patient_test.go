package t1d

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/ode"
	"github.com/google/go-cmp/cmp"
)

// TestBasalSteadyState: with the unquantised basal rate u2ss·BW/6000 and no
// meals, the initial state of every patient is (near) its basal steady
// state, so BG stays close to its initial value for a day. The files give
// the initial states to 9-12 significant digits; adolescent#001 and adult#001
// move by less than 1e-4 mg/dL in the first hour in simglucose (MODEL.md §2)
// and all 30 by less than 3e-9 mg/dL here, so 1e-6 mg/dL catches any wrong
// term of the right-hand side or parameter while leaving room for rounding.
func TestBasalSteadyState(t *testing.T) {
	for _, name := range Patients() {
		p, err := Patient(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewPatientModel(p, Method{})
		if err != nil {
			t.Fatal(err)
		}
		bg0, dev := m.BG(), 0.0
		if want := p.X0[12] / p.Vg; bg0 != want {
			t.Errorf("%s: initial BG %v, want Gs0/Vg = %v", name, bg0, want)
		}
		for range 1440 {
			if err := m.Step(0, p.BasalRate()); err != nil {
				t.Fatal(err)
			}
			dev = math.Max(dev, math.Abs(m.BG()-bg0))
		}
		t.Logf("%s: BG0 %.3f, max |BG − BG0| over 24 h %.2g mg/dL", name, bg0, dev)
		if dev > steadyTol {
			t.Errorf("%s: BG moved %.3g mg/dL from %.3f with basal only, want ≤ %g", name, dev, bg0, steadyTol)
		}
	}
}

const steadyTol = 1e-6

// TestEating checks the eating logic of MODEL.md §3 on adult#001: a 12 g
// announcement is eaten at 5 g/min over three minutes (5, 5, 2), Dbar
// accumulates what was eaten, and a second announcement during the meal
// extends it.
func TestEating(t *testing.T) {
	p, err := Patient("adult#001")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewPatientModel(p, Method{})
	if err != nil {
		t.Fatal(err)
	}
	type mem struct {
		Planned, LastEaten, LastFoodTaken float64
		Eating                            bool
	}
	steps := []struct {
		announced float64
		want      mem
	}{
		{0, mem{0, 0, 0, false}},
		{12, mem{7, 5, 5, true}},
		{0, mem{2, 5, 10, true}},
		{1, mem{0, 3, 13, true}},
		{0, mem{0, 0, 13, false}},
		{0, mem{0, 0, 13, false}},
		{4, mem{0, 4, 4, true}}, // a new meal restarts Dbar
	}
	var qstoAtStart float64
	for i, st := range steps {
		if i == len(steps)-1 {
			x := m.X()
			qstoAtStart = x[0] + x[1]
		}
		if err := m.Step(st.announced, p.BasalRate()); err != nil {
			t.Fatal(err)
		}
		s := m.State()
		got := mem{s.Planned, s.LastEaten, s.LastFoodTaken, s.Eating}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("minute %d (announced %v g): eating memory (-want +got):\n%s", i, st.announced, diff)
		}
		if s.T != float64(i+1) {
			t.Errorf("minute %d: T = %v, want %d", i, s.T, i+1)
		}
	}
	if s := m.State(); s.LastQsto != qstoAtStart || qstoAtStart <= 0 {
		t.Errorf("LastQsto = %v, want the stomach content %v (> 0) when the second meal started", s.LastQsto, qstoAtStart)
	}
	// 13 g eaten → 13000 mg entered the stomach (x0) and nothing was lost:
	// the gut holds what has not yet been absorbed.
	x := m.X()
	if x[0]+x[1]+x[2] <= 0 || x[0]+x[1]+x[2] > 17000 {
		t.Errorf("gut content %v mg, want in (0, 17000]", x[0]+x[1]+x[2])
	}
}

// TestStateBranch: a run restored from a snapshot continues exactly like the
// run that was not interrupted, and snapshots are values.
func TestStateBranch(t *testing.T) {
	p, err := Patient("child#003")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewPatientModel(p, Method{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(m *PatientModel, from, to int) {
		for i := from; i < to; i++ {
			cho := 0.0
			if i == 30 || i == 70 {
				cho = 40
			}
			if err := m.Step(cho, p.BasalRate()); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(m, 0, 72) // snapshot in the middle of a meal
	snap := m.State()
	run(m, 72, 200)
	want := m.State()

	other, err := NewPatientModel(p, Method{})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.SetState(snap); err != nil {
		t.Fatal(err)
	}
	run(other, 72, 200)
	if diff := cmp.Diff(want, other.State()); diff != "" {
		t.Errorf("branch from snapshot differs (-want +got):\n%s", diff)
	}
	if snap.T != 72 || snap.Planned == 0 {
		t.Errorf("snapshot changed after it was taken: T %v, planned %v", snap.T, snap.Planned)
	}
	m.Reset()
	if m.T() != 0 || m.X() != p.X0 {
		t.Errorf("Reset: T %v, X %v, want 0 and X0", m.T(), m.X())
	}
}

func TestPatientModelErrors(t *testing.T) {
	good, err := Patient("adult#001")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewPatientModel(good, Method{})
	if err != nil {
		t.Fatal(err)
	}
	before := m.State()
	for _, tc := range []struct {
		name          string
		cho, ins      float64
		wantSubstring string
	}{
		{"negative carbs", -1, 0.02, "announced carbohydrate"},
		{"NaN carbs", math.NaN(), 0.02, "announced carbohydrate"},
		{"negative insulin", 0, -0.1, "insulin rate"},
		{"infinite insulin", 0, math.Inf(1), "insulin rate"},
	} {
		err := m.Step(tc.cho, tc.ins)
		if err == nil || !strings.Contains(err.Error(), tc.wantSubstring) || !strings.HasPrefix(err.Error(), "t1d: ") {
			t.Errorf("%s: Step error %v, want one mentioning %q", tc.name, err, tc.wantSubstring)
		}
	}
	if diff := cmp.Diff(before, m.State()); diff != "" {
		t.Errorf("failed steps changed the state (-before +after):\n%s", diff)
	}

	bad := func(f func(p *Params)) Params { p := good; f(&p); return p }
	for _, tc := range []struct {
		name   string
		p      Params
		method Method
		want   string
	}{
		{"zero Vg", bad(func(p *Params) { p.Vg = 0 }), Method{}, "Vg"},
		{"NaN Kp1", bad(func(p *Params) { p.Kp1 = math.NaN() }), Method{}, "Kp1"},
		{"b = 1", bad(func(p *Params) { p.B = 1 }), Method{}, "B ="},
		{"infinite X0", bad(func(p *Params) { p.X0[4] = math.Inf(1) }), Method{}, "X0[4]"},
		{"step > 1", good, Method{Step: 2}, "Method.Step"},
		{"negative refine", good, Method{Refine: -1}, "Method.Refine"},
	} {
		_, err := NewPatientModel(tc.p, tc.method)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NewPatientModel error %v, want one naming %q", tc.name, err, tc.want)
		}
	}

	for _, tc := range []struct {
		name string
		f    func(s *PatientState)
		want string
	}{
		{"NaN state", func(s *PatientState) { s.X[3] = math.NaN() }, "X[3]"},
		{"negative time", func(s *PatientState) { s.T = -1 }, "state T"},
		{"negative planned", func(s *PatientState) { s.Planned = -5 }, "Planned"},
	} {
		s := m.State()
		tc.f(&s)
		if err := m.SetState(s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: SetState error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}

// failing is an Integrator that always fails.
type failing struct{}

func (failing) Integrate(y []float64, t0, t1 float64) error { return ode.ErrNotFinite }

func TestIntegratorError(t *testing.T) {
	p, err := Patient("adult#001")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewPatientModel(p, Method{New: func(ode.Func, int) Integrator { return failing{} }})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Step(0, p.BasalRate())
	if !errors.Is(err, ode.ErrNotFinite) || !strings.Contains(err.Error(), "adult#001") {
		t.Errorf("Step error %v, want ode.ErrNotFinite wrapped with the patient name", err)
	}
	if m.T() != 0 || m.X() != p.X0 {
		t.Errorf("failed step changed the model: T %v", m.T())
	}
}

// TestMethodConvergence bounds the integration error of the default Method
// on all 30 patients over the standard day (basal-bolus, Navigator, meals of
// 45, 70 and 80 g): BG must stay within 1e-4 mg/dL of plain RK4 with h =
// 1/64 min, which is itself within about 1e-6 mg/dL of the converged
// solution (its error shrinks at least like h² through the kinks). The
// default reaches 1.5e-5; the tolerance leaves room for simglucose's own
// integration error (rtol 1e-6, about 1e-4 mg/dL at worst) inside the
// 1e-3 mg/dL accuracy bar. Plain RK4 with h = 0.25 min, the largest step
// MODEL.md §11 allows, reaches 4.6e-4 here.
func TestMethodConvergence(t *testing.T) {
	if testing.Short() {
		t.Skip("30 patient-days at h = 1/64 min")
	}
	const tol = 1e-4
	sensor, pump := mustSensorPump(t)
	worst := 0.0
	for _, name := range Patients() {
		p, err := Patient(name)
		if err != nil {
			t.Fatal(err)
		}
		run := func(m Method) []Record {
			ctrl, err := NewBasalBolus(p, BasalBolusOptions{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := Simulate(Config{Patient: p, Sensor: sensor, Pump: pump, Controller: ctrl,
				Meals: standardDay, Duration: 1440, Method: m})
			if err != nil {
				t.Fatal(err)
			}
			return res.Records
		}
		fine, got := run(RK4(1.0/64)), run(Method{})
		d, at := 0.0, 0.0
		for i := range fine {
			if e := math.Abs(got[i].BG - fine[i].BG); e > d {
				d, at = e, fine[i].T
			}
		}
		worst = math.Max(worst, d)
		if d > tol {
			t.Errorf("%s: BG differs by %.3g mg/dL at %v min from RK4 h = 1/64, want ≤ %g", name, d, at, tol)
		}
	}
	t.Logf("worst BG difference over 30 patients: %.3g mg/dL", worst)
}

func mustSensorPump(tb testing.TB) (SensorParams, PumpParams) {
	tb.Helper()
	s, err := Sensor("Navigator")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := Pump("Insulet")
	if err != nil {
		tb.Fatal(err)
	}
	return s, p
}

// TestSetParams: a model switched to another patient's parameters and state
// runs exactly as a model built for that patient, and invalid parameters
// leave it unchanged.
func TestSetParams(t *testing.T) {
	a, err := Patient("adult#001")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Patient("child#003")
	if err != nil {
		t.Fatal(err)
	}
	run := func(m *PatientModel) PatientState {
		for i := range 240 {
			cho := 0.0
			if i == 30 {
				cho = 40
			}
			if err := m.Step(cho, b.BasalRate()); err != nil {
				t.Fatal(err)
			}
		}
		return m.State()
	}
	want, err := NewPatientModel(b, Method{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewPatientModel(a, Method{})
	if err != nil {
		t.Fatal(err)
	}
	run(m) // leave a meal's trace in the state before switching
	bad := b
	bad.Vg = -1
	if err := m.SetParams(bad); err == nil || m.Params().Name != a.Name {
		t.Fatalf("SetParams(Vg = -1): error %v, patient %q; want an error and adult#001 kept", err, m.Params().Name)
	}
	if err := m.SetParams(b); err != nil {
		t.Fatal(err)
	}
	if err := m.SetState(want.State()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(run(want), run(m)); diff != "" {
		t.Errorf("after SetParams (-fresh +switched):\n%s", diff)
	}
}
