package twin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/google/go-cmp/cmp"
)

// TestWhatIf: branches from the current state, do-nothing first; a bolus
// lowers and a meal raises the 120-min median; the live twin is unchanged:
// its next forecast equals that of an identical twin that was never asked.
func TestWhatIf(t *testing.T) {
	tr := simulate(t, 180, nil, nil)
	c := &clock{now: t0}
	asked, control := newManager(t, c, nil, nil), newManager(t, c, nil, nil)
	feed(t, asked, c, tr, nil, 0, 30)
	feed(t, control, c, tr, nil, 0, 30)
	ctx := context.Background()
	basal := 0.0
	branches, err := asked.WhatIf(ctx, "p1", []Plan{
		{Name: "bolus", BolusU: 4},
		{Name: "meal", MealG: 60, MealInMin: 15},
		{Name: "no basal", BasalUPerH: &basal},
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range branches {
		names = append(names, b.Plan.Name)
	}
	if diff := cmp.Diff([]string{"do nothing", "bolus", "meal", "no basal"}, names); diff != "" {
		t.Fatalf("branches (-want +got):\n%s", diff)
	}
	med := func(i int) float64 { return branches[i].Forecast.Bands[2].Median }
	if !(med(1) < med(0)) {
		t.Errorf("bolus 120-min median %.1f, do nothing %.1f: want lower", med(1), med(0))
	}
	if !(med(2) > med(0)) {
		t.Errorf("meal 120-min median %.1f, do nothing %.1f: want higher", med(2), med(0))
	}
	if !(med(3) > med(0)) {
		t.Errorf("no-basal 120-min median %.1f, do nothing %.1f: want higher", med(3), med(0))
	}
	feed(t, asked, c, tr, nil, 30, 31)
	feed(t, control, c, tr, nil, 30, 31)
	a, _, err := asked.State(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := control.State(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b, a); diff != "" {
		t.Errorf("a what-if changed the live twin (-never asked +asked):\n%s", diff)
	}
	if _, err := asked.WhatIf(ctx, "nobody", nil); !errors.Is(err, ErrNoTwin) {
		t.Errorf("what-if of an unknown patient: %v, want ErrNoTwin", err)
	}
	if _, err := asked.WhatIf(ctx, "p1", []Plan{{BolusU: -1}}); err == nil {
		t.Error("negative bolus: no error")
	}
}

// TestSnapshotRestore: a manager restarted from a snapshot gives the same
// next forecast as the one that kept running; a twin loaded at the start
// raises its lost-stream alert without waiting for data.
func TestSnapshotRestore(t *testing.T) {
	tr := simulate(t, 180, nil, nil)
	c := &clock{now: t0}
	snaps := &memSnapshots{}
	live := newManager(t, c, nil, snaps)
	feed(t, live, c, tr, nil, 0, 20)
	for _, o := range vitalsSet(t0, 16, 97, 120, 70, 37, "A") {
		o.Patient = "p1"
		if err := live.Observe(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	if err := live.SaveAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	restarted := newManager(t, c, rec, snaps)
	if err := restarted.Load(context.Background(), []string{"p1"}); err != nil {
		t.Fatal(err)
	}
	c.Set(c.Now().Add(20 * time.Minute))
	if err := restarted.CheckStreams(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.kinds(KindAlert, AlertStreamLost)); n != 1 {
		t.Errorf("restored twin, 20 min without a reading: %d lost-stream alerts, want 1", n)
	}
	feed(t, live, c, tr, nil, 19, 22) // reading 19 is a replay: ignored
	feed(t, restarted, c, tr, nil, 19, 22)
	ctx := context.Background()
	a, _, err := live.State(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	b, ok, err := restarted.State(ctx, "p1")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if a.Glucose == nil || a.NEWS2 == nil {
		t.Fatalf("state %+v, want glucose and NEWS2", a)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("restored twin differs (-kept running +restored):\n%s", diff)
	}
}

// TestRunSubscribe: Run's workers process deliveries, acknowledge them,
// and the subscriber of the patient sees its forecast.
func TestRunSubscribe(t *testing.T) {
	c := &clock{now: t0}
	m := newManager(t, c, nil, nil)
	events, stop := m.Subscribe("p1", 4)
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := make(chan Delivery)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, in) }()
	acked := make(chan error, 1)
	in <- Delivery{Obs: cgm("p1", t0, 150), Done: func(err error) { acked <- err }}
	if err := <-acked; err != nil {
		t.Fatal(err)
	}
	e := <-events
	if e.Kind != KindForecast || e.Forecast.Reading != 150 || len(e.Forecast.Bands) != 3 {
		t.Errorf("event %+v, want the forecast after the 150 mg/dL reading", e)
	}
	in <- Delivery{Obs: clinical.Observation{Device: "x", Code: clinical.CodeGlucoseCGM}, Done: func(err error) { acked <- err }}
	if err := <-acked; err == nil {
		t.Error("observation without a patient acknowledged without an error")
	}
	close(in)
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Run did not return after its input closed")
	}
}

// TestBroadcasterClose: Close ends every subscription; the cancel
// function of a closed one is harmless; later subscriptions are closed.
func TestBroadcasterClose(t *testing.T) {
	b := NewBroadcaster()
	ch, stop := b.Subscribe("p1", 1)
	b.Close()
	if _, ok := <-ch; ok {
		t.Error("subscription open after Close")
	}
	stop()
	late, _ := b.Subscribe("p1", 1)
	if _, ok := <-late; ok {
		t.Error("subscription after Close is open")
	}
}

// TestRunManyPatients: readings of many patients, interleaved, through
// Run's workers: every reading gives its patient one forecast, in the
// order of the patient's readings.
func TestRunManyPatients(t *testing.T) {
	rec := &recorder{}
	c := &clock{now: t0}
	m := newManager(t, c, rec, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := make(chan Delivery)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, in) }()
	const patients, readings = 40, 6
	for k := range readings {
		for p := range patients {
			id := "p" + string(rune('A'+p%26)) + string(rune('a'+p/26))
			in <- Delivery{Obs: cgm(id, t0.Add(time.Duration(5*k)*time.Minute), 100+float64(k))}
		}
	}
	close(in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	last := map[string]float64{}
	n := 0
	for _, e := range rec.kinds(KindForecast, "") {
		if e.Forecast.Reading <= last[e.Patient] {
			t.Errorf("%s: reading %v after %v", e.Patient, e.Forecast.Reading, last[e.Patient])
		}
		last[e.Patient] = e.Forecast.Reading
		n++
	}
	if len(last) != patients || n != patients*readings {
		t.Errorf("%d forecasts for %d patients, want %d for %d", n, len(last), patients*readings, patients)
	}
}
