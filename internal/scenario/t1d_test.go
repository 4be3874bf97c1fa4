package scenario

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/model/t1d"
	"github.com/google/go-cmp/cmp"
)

func TestT1DCatalog(t *testing.T) {
	cat := T1D()
	if len(cat.Patients) != 30 {
		t.Errorf("%d patients, want 30", len(cat.Patients))
	}
	var sensors []string
	for _, s := range cat.Sensors {
		sensors = append(sensors, s.Name+"/"+s.SampleTime.String())
	}
	if diff := cmp.Diff([]string{"Dexcom/3m0s", "GuardianRT/5m0s", "Navigator/1m0s"}, sensors); diff != "" {
		t.Errorf("sensors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Cozmo", "Insulet"}, cat.Pumps); diff != "" {
		t.Errorf("pumps (-want +got):\n%s", diff)
	}
}

func TestT1DConfig(t *testing.T) {
	s, err := Load("testdata/adult001_day.good.yaml", T1D())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := s.T1DConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Patient.Name != "adult#001" || cfg.Sensor.Name != "Navigator" || cfg.Pump.Name != "Insulet" {
		t.Errorf("patient, sensor, pump = %q, %q, %q", cfg.Patient.Name, cfg.Sensor.Name, cfg.Pump.Name)
	}
	if cfg.Noise != nil {
		t.Error("noise: false gave a noise source")
	}
	if cfg.Duration != 1440 {
		t.Errorf("Duration = %v min, want 1440", cfg.Duration)
	}
	want := []t1d.Meal{{T: 60, Carbs: 45}, {T: 360, Carbs: 70}, {T: 720, Carbs: 80}}
	if diff := cmp.Diff(want, cfg.Meals); diff != "" {
		t.Errorf("meals (-want +got):\n%s", diff)
	}
	if _, ok := cfg.Controller.(*t1d.BasalBolus); !ok {
		t.Errorf("controller is %T, want *t1d.BasalBolus", cfg.Controller)
	}
}

func TestT1DConfigEvents(t *testing.T) {
	src := `model: t1d
patient: child#001
start: 2018-01-01T00:00:00Z
duration: 6h
seed: 7
sensor: Dexcom
pump: Insulet
controller: {name: basal, basal_scale: 0.5}
meals: [{at: +1h, carbs: 0}, {at: +2h, carbs: 30}]
boluses: [{at: +2h, units: 3}, {at: +3h, units: 0}]
basal: [{at: +4h, rate: 0}]
`
	s, err := Parse("x.yaml", []byte(src), T1D())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := s.T1DConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Noise == nil {
		t.Error("sensor noise defaults to on, got no noise source")
	}
	if diff := cmp.Diff([]t1d.Meal{{T: 120, Carbs: 30}}, cfg.Meals); diff != "" {
		t.Errorf("meals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]t1d.Bolus{{T: 120, Units: 3}}, cfg.Boluses); diff != "" {
		t.Errorf("boluses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]t1d.BasalChange{{T: 240, UnitsPerHour: 0}}, cfg.BasalChanges); diff != "" {
		t.Errorf("basal changes (-want +got):\n%s", diff)
	}
	p, err := t1d.Patient("child#001")
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Controller.Act(t1d.Observation{CGM: 200, Meal: 30, SampleTime: 3})
	if want := (t1d.Action{Basal: p.BasalRate() / 2}); got != want {
		t.Errorf("basal controller Act = %+v, want %+v (half basal, no bolus)", got, want)
	}
	res, err := t1d.Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Records); n != 121 {
		t.Errorf("%d records, want 6 h / 3 min + 1 = 121", n)
	}
	// The manual 3 U bolus is the only bolus, and the basal is zero after 4 h.
	if tot, want := res.TotalInsulin(), 3+4*60*p.BasalRate()/2; abs(tot-want) > 0.01 {
		t.Errorf("total insulin %.4f U, want about %.4f U (3 U bolus + 4 h of half basal)", tot, want)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestT1DConfigWrongModel(t *testing.T) {
	s := &Scenario{File: "x.yaml", Model: "pkpd"}
	if _, err := s.T1DConfig(); err == nil || !strings.Contains(err.Error(), "not t1d") {
		t.Errorf("T1DConfig of a pkpd scenario = %v", err)
	}
}

func TestT1DPID(t *testing.T) {
	src := `model: t1d
patient: adult#001
start: 2018-01-01T00:00:00Z
duration: 1h
sensor: {name: Navigator, noise: false}
pump: Insulet
controller: {name: %s, target: 110, gain_scale: %s}
`
	p, err := t1d.Patient("adult#001")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, scale string
		obs         t1d.Observation
		want        func(t1d.Action) bool
		why         string
	}{
		{"pid", "0", t1d.Observation{T: 0, CGM: 250, Meal: 0, SampleTime: 1},
			func(a t1d.Action) bool { return a.Basal == p.BasalRate() && a.Bolus == 0 }, "zero gains: basal only"},
		{"pid", "1", t1d.Observation{T: 0, CGM: 250, Meal: 0, SampleTime: 1},
			func(a t1d.Action) bool { return a.Basal > p.BasalRate() && a.Bolus == 0 }, "high glucose: more than basal, no bolus"},
		{"hybrid-pid", "0", t1d.Observation{T: 0, CGM: 110, Meal: 50, SampleTime: 1},
			func(a t1d.Action) bool { return a.Basal == p.BasalRate() && math.Abs(a.Bolus-50/p.CR) < 1e-12 }, "meal bolus CHO/CR"},
	}
	for _, tt := range tests {
		s, err := Parse("pid.yaml", []byte(fmt.Sprintf(src, tt.name, tt.scale)), T1D())
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := s.T1DConfig()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := cfg.Controller.(*t1d.PID); !ok {
			t.Fatalf("%s: controller %T, want *t1d.PID", tt.name, cfg.Controller)
		}
		if a := cfg.Controller.Act(tt.obs); !tt.want(a) {
			t.Errorf("%s, gain_scale %s: Act(%+v) = %+v; want %s (basal %v U/min)", tt.name, tt.scale, tt.obs, a, tt.why, p.BasalRate())
		}
	}
}
