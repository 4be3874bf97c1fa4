package twin

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/assim/glucose"
	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/model/t1d"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

// clock is a fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// recorder is a Sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Emit(_ context.Context, e Event) error {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	return nil
}

func (r *recorder) kinds(kind, alert string) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Kind == kind && (alert == "" || e.Alert.Kind == alert) {
			out = append(out, e)
		}
	}
	return out
}

// memSnapshots keeps snapshots in memory.
type memSnapshots struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memSnapshots) Save(_ context.Context, patient string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[patient] = append([]byte(nil), data...)
	return nil
}

func (s *memSnapshots) Load(_ context.Context, patient string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[patient], nil
}

// basalOnly delivers a fixed basal rate.
type basalOnly float64

func (b basalOnly) Act(t1d.Observation) t1d.Action { return t1d.Action{Basal: float64(b)} }

// truth is a simulated adult#001: noiseless CGM every 5 min for the
// duration, basal insulin and the given manual boluses and meals.
type truth struct {
	params  t1d.Params
	records []t1d.Record
}

func simulate(t *testing.T, minutes float64, boluses []t1d.Bolus, meals []t1d.Meal) truth {
	t.Helper()
	p, err := t1d.Patient("adult#001")
	if err != nil {
		t.Fatal(err)
	}
	sensor, err := t1d.Sensor("GuardianRT")
	if err != nil {
		t.Fatal(err)
	}
	pump, err := t1d.Pump("Insulet")
	if err != nil {
		t.Fatal(err)
	}
	res, err := t1d.Simulate(t1d.Config{Patient: p, Sensor: sensor, Pump: pump, Controller: basalOnly(p.BasalRate()),
		Boluses: boluses, Meals: meals, Duration: minutes})
	if err != nil {
		t.Fatal(err)
	}
	return truth{params: p, records: res.Records}
}

// setup is the twin of adult#001: the mean of the other adults with its
// weight and basal rate.
func setup(t *testing.T) func(string) (GlucoseSetup, error) {
	t.Helper()
	p, err := t1d.Patient("adult#001")
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, n := range t1d.Patients() {
		if n != p.Name && n[:5] == "adult" {
			others = append(others, n)
		}
	}
	pop, err := glucose.Population(others, p.BW, p.BasalRate())
	if err != nil {
		t.Fatal(err)
	}
	sensor, err := t1d.Sensor("GuardianRT")
	if err != nil {
		t.Fatal(err)
	}
	s := GlucoseSetup{Pop: pop, Sensor: sensor, Basal: p.BasalRate()}
	return func(string) (GlucoseSetup, error) { return s, nil }
}

func newManager(t *testing.T, c *clock, sink Sink, snaps Snapshots) *Manager {
	t.Helper()
	m, err := New(Options{Now: c.Now, Glucose: setup(t), Sink: sink, Snapshots: snaps, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func cgm(patient string, at time.Time, v float64) clinical.Observation {
	return clinical.Observation{Patient: patient, Device: "cgm-1", Code: clinical.CodeGlucoseCGM,
		Value: &clinical.Quantity{Value: v, Unit: "mg/dL"}, Effective: at}
}

// feed gives the manager the truth's readings k in [from, to) and the
// boluses given in that time, advancing the clock to each reading.
func feed(t *testing.T, m *Manager, c *clock, tr truth, boluses []t1d.Bolus, from, to int) {
	t.Helper()
	ctx := context.Background()
	for k := from; k < to; k++ {
		r := tr.records[k]
		at := t0.Add(time.Duration(r.T) * time.Minute)
		for _, b := range boluses {
			if b.T < r.T && b.T >= r.T-5 {
				o := clinical.Observation{Patient: "p1", Device: "pump-1", Code: clinical.CodeInsulin,
					Value: &clinical.Quantity{Value: b.Units, Unit: "[IU]"}, Effective: t0.Add(time.Duration(b.T) * time.Minute)}
				if err := m.Observe(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
		}
		c.Set(at)
		if err := m.Observe(ctx, cgm("p1", at, r.CGM)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHypoAlert: a 10 U bolus without a meal drives the simulated patient
// below 70 mg/dL; the twin, told of the bolus, emits a forecast after
// every reading and raises one hypoglycaemia alert before the true glucose
// crosses 70 mg/dL. Without the bolus (basal only) there is no alert.
func TestHypoAlert(t *testing.T) {
	bolus := []t1d.Bolus{{T: 60, Units: 15}}
	for _, tc := range []struct {
		name    string
		boluses []t1d.Bolus
		alert   bool
	}{
		{"bolus", bolus, true},
		{"basal", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := simulate(t, 360, tc.boluses, nil)
			rec := &recorder{}
			c := &clock{now: t0}
			m := newManager(t, c, rec, nil)
			feed(t, m, c, tr, tc.boluses, 0, len(tr.records))
			if got, want := len(rec.kinds(KindForecast, "")), len(tr.records); got != want {
				t.Errorf("%d forecasts, want one per reading (%d)", got, want)
			}
			alerts := rec.kinds(KindAlert, AlertHypo)
			if !tc.alert {
				if len(alerts) != 0 {
					t.Errorf("hypo alerts %+v, want none", alerts[0].Alert)
				}
				return
			}
			cross := time.Time{}
			for _, r := range tr.records {
				if r.BG < glucose.HypoThreshold {
					cross = t0.Add(time.Duration(r.T) * time.Minute)
					break
				}
			}
			if cross.IsZero() {
				t.Fatal("the simulated patient never went below 70 mg/dL; the scenario is wrong")
			}
			if len(alerts) != 1 {
				t.Fatalf("%d hypo alerts, want 1", len(alerts))
			}
			a := alerts[0]
			if a.Time.After(cross) || a.Alert.Probability < 0.5 {
				t.Errorf("alert at %v with P %.2f; true glucose below 70 at %v", a.Time, a.Alert.Probability, cross)
			}
			t.Logf("alert %v min before the crossing", cross.Sub(a.Time).Minutes())
		})
	}
}

// TestStreamLost: no CGM reading for more than 15 min raises one alert;
// a new reading re-arms it.
func TestStreamLost(t *testing.T) {
	rec := &recorder{}
	c := &clock{now: t0}
	m := newManager(t, c, rec, nil)
	ctx := context.Background()
	if err := m.Observe(ctx, cgm("p1", t0, 120)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at   time.Duration
		read bool // a reading arrives at this time
		want int  // lost-stream alerts so far
	}{
		{10 * time.Minute, false, 0},
		{15 * time.Minute, false, 0},
		{16 * time.Minute, false, 1},
		{40 * time.Minute, false, 1},
		{45 * time.Minute, true, 1},
		{55 * time.Minute, false, 1},
		{61 * time.Minute, false, 2},
	}
	for _, s := range steps {
		c.Set(t0.Add(s.at))
		if s.read {
			if err := m.Observe(ctx, cgm("p1", c.Now(), 120)); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.CheckStreams(ctx); err != nil {
			t.Fatal(err)
		}
		if got := len(rec.kinds(KindAlert, AlertStreamLost)); got != s.want {
			t.Errorf("at %v: %d lost-stream alerts, want %d", s.at, got, s.want)
		}
	}
}

func vitalsSet(at time.Time, rr, spo2, sys, hr, temp float64, acvpu string) []clinical.Observation {
	q := func(code string, v float64, unit string) clinical.Observation {
		return clinical.Observation{Patient: "w1", Device: "mon-1", Code: code, Value: &clinical.Quantity{Value: v, Unit: unit}, Effective: at}
	}
	return []clinical.Observation{
		q(clinical.CodeRespRate, rr, "/min"), q(clinical.CodeSpO2, spo2, "%"),
		{Patient: "w1", Device: "mon-1", Code: clinical.CodeBPPanel, Effective: at, Components: []clinical.Component{
			{Code: clinical.CodeSystolic, Value: clinical.Quantity{Value: sys, Unit: "mm[Hg]"}},
			{Code: clinical.CodeDiastolic, Value: clinical.Quantity{Value: 60, Unit: "mm[Hg]"}}}},
		q(clinical.CodeHeartRate, hr, "/min"), q(clinical.CodeBodyTemp, temp, "Cel"),
		{Patient: "w1", Device: "mon-1", Code: clinical.CodeConsciousness, ValueCode: acvpu, Effective: at},
	}
}

// TestNEWS2: a complete vitals set is scored; an incomplete one is not;
// a deteriorating set raises an alert. Expected scores from RCP 2017
// Chart 1 by hand: set 1 all in the 0-point bands; set 3: RR 25 (3),
// SpO2 91 % (3), systolic 100 (2), pulse 115 (2), 38.5 °C (1), alert
// (0) = 11, emergency response.
func TestNEWS2(t *testing.T) {
	rec := &recorder{}
	c := &clock{now: t0}
	m := newManager(t, c, rec, nil)
	ctx := context.Background()
	sets := [][]clinical.Observation{
		vitalsSet(t0, 16, 97, 120, 70, 37, "A"),
		vitalsSet(t0.Add(time.Hour), 20, 95, 110, 90, 37.5, "A")[:5], // no consciousness: incomplete
		vitalsSet(t0.Add(2*time.Hour), 25, 91, 100, 115, 38.5, "A"),
	}
	for _, s := range sets {
		for _, o := range s {
			if err := m.Observe(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	var totals []int
	for _, e := range rec.kinds(KindNEWS2, "") {
		totals = append(totals, e.NEWS2.Total)
	}
	if diff := cmp.Diff([]int{0, 11}, totals); diff != "" {
		t.Errorf("NEWS2 totals (-want +got):\n%s", diff)
	}
	// The state's history is the scored sets, as the events gave them.
	var want []ScorePoint
	for _, e := range rec.kinds(KindNEWS2, "") {
		want = append(want, ScorePoint{At: e.NEWS2.At, Total: e.NEWS2.Total})
	}
	st, ok, err := m.State(ctx, "w1")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if diff := cmp.Diff(want, st.NEWS2History); diff != "" {
		t.Errorf("NEWS2 history (-events +state):\n%s", diff)
	}
	alerts := rec.kinds(KindAlert, AlertNEWS2)
	if len(alerts) != 1 || alerts[0].Alert.Score != 11 || alerts[0].Alert.Response != "emergency response" {
		t.Errorf("NEWS2 alerts %+v, want one emergency at 11", alerts)
	}
}

// TestPendingBounded: insulin doses without any CGM reading are kept for
// the longest gap a twin bridges (24 h), not forever.
func TestPendingBounded(t *testing.T) {
	c := &clock{now: t0}
	m := newManager(t, c, nil, nil)
	ctx := context.Background()
	for h := range 72 {
		o := clinical.Observation{Patient: "p1", Device: "pump-1", Code: clinical.CodeInsulin,
			Value: &clinical.Quantity{Value: 1, Unit: "[IU]"}, Effective: t0.Add(time.Duration(h) * time.Hour)}
		if err := m.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	p, err := m.get(ctx, "p1", false)
	if err != nil || p == nil {
		t.Fatal(p, err)
	}
	n := len(p.glucose.pending)
	p.mu.Unlock()
	if n != 25 { // hours 47 to 71: within 24 h of the last dose
		t.Errorf("%d pending doses, want 25", n)
	}
}
