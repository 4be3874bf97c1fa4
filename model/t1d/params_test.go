package t1d

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPatients(t *testing.T) {
	names := Patients()
	if len(names) != 30 {
		t.Fatalf("%d patients, want 30", len(names))
	}
	for i, group := range []string{"adolescent", "adult", "child"} {
		for j := range 10 {
			want := group + "#0" + string(rune('0'+(j+1)/10)) + string(rune('0'+(j+1)%10))
			if got := names[10*i+j]; got != want {
				t.Errorf("Patients()[%d] = %q, want %q", 10*i+j, got, want)
			}
		}
	}
	for _, n := range names {
		p, err := Patient(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.validate(); err != nil {
			t.Error(err)
		}
		if p.Name != n || !(p.CR > 0) || !(p.CF > 0) || !(p.Age > 0) || !(p.TDI > 0) {
			t.Errorf("%s: name %q, CR %v, CF %v, Age %v, TDI %v", n, p.Name, p.CR, p.CF, p.Age, p.TDI)
		}
	}
}

// TestPatientValues checks one row of each file against the values in
// params/vpatient_params.csv and params/Quest.csv (adult#001) and the basal
// rate of refdata/README.md.
func TestPatientValues(t *testing.T) {
	p, err := Patient("adult#001")
	if err != nil {
		t.Fatal(err)
	}
	got := []float64{p.BW, p.Vg, p.Vi, p.Kmax, p.Kmin, p.Kabs, p.B, p.D, p.F, p.Kp1, p.Kp2, p.Kp3, p.Fsnc, p.Ke1, p.Ke2,
		p.K1, p.K2, p.Vm0, p.Vmx, p.Km0, p.M1, p.M2, p.M4, p.M30, p.Ka1, p.Ka2, p.Kd, p.P2u, p.Ib, p.Ki, p.Ksc, p.U2ss,
		p.CR, p.CF, p.Age, p.TDI}
	want := []float64{102.32, 1.9152, 0.054906, 0.046122, 0.0037927, 0.08906, 0.70391, 0.21057, 0.9, 4.73140582528,
		0.00469, 0.01208, 1, 0.0005, 339, 0.058138, 0.087114, 3.2667306607, 0.031319, 253.52, 0.15446, 0.225027424083,
		0.090010969633, 0.23169, 0.0019, 0.0078, 0.0152, 0.027802, 100.25, 0.0046374, 0.0766, 1.2386244136,
		10, 8.77310657487, 61, 50.416652}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("adult#001 parameters (-want +got):\n%s", diff)
	}
	x0 := [NumStates]float64{0, 0, 0, 265.370112, 162.457097269, 5.5043265, 0, 100.25, 100.25, 3.20762505142,
		72.4341762342, 141.153779328, 265.370112}
	if p.X0 != x0 {
		t.Errorf("adult#001 X0 = %v, want %v", p.X0, x0)
	}
	if got, want := p.BasalRate(), 0.02112267499992533; got != want {
		t.Errorf("adult#001 basal rate %v U/min, want %v", got, want)
	}
}

func TestSensorsAndPumps(t *testing.T) {
	if diff := cmp.Diff([]string{"Dexcom", "GuardianRT", "Navigator"}, Sensors()); diff != "" {
		t.Errorf("Sensors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Cozmo", "Insulet"}, Pumps()); diff != "" {
		t.Errorf("Pumps (-want +got):\n%s", diff)
	}
	nav, err := Sensor("Navigator")
	if err != nil {
		t.Fatal(err)
	}
	want := SensorParams{Name: "Navigator", PACF: 0.7, Gamma: -0.5444, Lambda: 15.9574, Delta: 1.6898, Xi: -5.47, SampleTime: 1, Min: 32, Max: 600}
	if diff := cmp.Diff(want, nav); diff != "" {
		t.Errorf("Navigator (-want +got):\n%s", diff)
	}
	for name, st := range map[string]float64{"Dexcom": 3, "GuardianRT": 5} {
		s, err := Sensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.SampleTime != st || s.Min != 39 || s.Max != 600 {
			t.Errorf("%s: sample time %v, range %v..%v, want %v, 39..600", name, s.SampleTime, s.Min, s.Max, st)
		}
	}
	cozmo, err := Pump("Cozmo")
	if err != nil {
		t.Fatal(err)
	}
	wantPump := PumpParams{Name: "Cozmo", MinBolus: 0, MaxBolus: 75, IncBolus: 0.05, MinBasal: 0, MaxBasal: 35, IncBasal: 0.05}
	if diff := cmp.Diff(wantPump, cozmo); diff != "" {
		t.Errorf("Cozmo (-want +got):\n%s", diff)
	}
}

func TestUnknownNames(t *testing.T) {
	for _, tc := range []struct {
		what string
		err  error
		want []string
	}{
		{"patient", func() error { _, err := Patient("adult#011"); return err }(), []string{`"adult#011"`, "adolescent#001", "child#010"}},
		{"patient case", func() error { _, err := Patient("Adult#001"); return err }(), []string{`"Adult#001"`}},
		{"sensor", func() error { _, err := Sensor("Libre"); return err }(), []string{`"Libre"`, "Dexcom, GuardianRT, Navigator"}},
		{"pump", func() error { _, err := Pump(""); return err }(), []string{`""`, "Cozmo, Insulet"}},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.what)
			continue
		}
		msg := tc.err.Error()
		if !strings.HasPrefix(msg, "t1d: unknown "+strings.Fields(tc.what)[0]) {
			t.Errorf("%s: error %q, want prefix %q", tc.what, msg, "t1d: unknown "+tc.what)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error %q does not mention %s", tc.what, msg, w)
			}
		}
	}
}

// TestParamsAreCopies: callers may modify what they get.
func TestParamsAreCopies(t *testing.T) {
	p, err := Patient("child#001")
	if err != nil {
		t.Fatal(err)
	}
	p.BW, p.X0[3] = -1, -1
	q, err := Patient("child#001")
	if err != nil {
		t.Fatal(err)
	}
	if q.BW <= 0 || q.X0[3] <= 0 {
		t.Errorf("modifying a returned Params changed the table: BW %v, X0[3] %v", q.BW, q.X0[3])
	}
	names := Patients()
	names[0] = "x"
	if Patients()[0] != "adolescent#001" {
		t.Error("modifying Patients() changed the table")
	}
}
