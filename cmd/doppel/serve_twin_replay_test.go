package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/twin"
)

// TestReplayCGM: CGM readings stored while no twin state was saved (as
// after a kill -9 between snapshots) reach the patient's twin when the
// twins start: its last reading is the newest stored one; a patient
// without a Device gets no twin.
func TestReplayCGM(t *testing.T) {
	dir := t.TempDir()
	svc, series := twinStore(t, dir)
	ctx := context.Background()
	for _, r := range []struct{ typ, id, body string }{
		{"Patient", "p1", `{"resourceType":"Patient","id":"p1"}`},
		{"Patient", "p2", `{"resourceType":"Patient","id":"p2"}`},
		{"Device", "cgm-1", `{"resourceType":"Device","id":"cgm-1","patient":{"reference":"Patient/p1"}}`},
	} {
		if _, err := svc.Update(ctx, r.typ, r.id, []byte(r.body), ""); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	var ss []store.Sample
	for i := range 6 {
		at := start.Add(time.Duration(5*i) * time.Minute)
		ss = append(ss,
			store.Sample{Patient: "p1", Code: clinical.CodeGlucoseCGM, Device: "cgm-1", Time: at, Value: 120 + float64(i), Unit: "mg/dL"},
			store.Sample{Patient: "p2", Code: clinical.CodeGlucoseCGM, Device: "cgm-2", Time: at, Value: 130, Unit: "mg/dL"})
	}
	if _, err := series.AppendSamples(ctx, ss); err != nil {
		t.Fatal(err)
	}
	lt, err := startTwins(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), svc, dir, twinFlags{on: true, mqttAddr: "127.0.0.1:0"}, nil, twinDeps{series: series})
	if err != nil {
		t.Fatal(err)
	}
	defer lt.Close(ctx)
	st, ok, err := lt.mgr.State(ctx, "p1")
	if err != nil || !ok || st.Glucose == nil {
		t.Fatalf("twin of p1 after start: %+v %v %v", st, ok, err)
	}
	if want := start.Add(25 * time.Minute); !st.Glucose.LastReading.Equal(want) || st.Glucose.Reading != 125 {
		t.Errorf("p1's twin: last reading %v at %v, want 125 at %v", st.Glucose.Reading, st.Glucose.LastReading, want)
	}
	if _, ok, _ := lt.mgr.State(ctx, "p2"); ok {
		t.Error("p2 has no Device, but got a twin")
	}
}

// TestReplayDoses: a twin that stops between snapshots (as after a
// kill -9) and replays what was stored after its snapshot — CGM samples,
// carbohydrate entries and insulin doses, interleaved in time — ends in
// the state of a twin that saw the same stream without stopping: the
// same estimate and forecast after the next reading, to 1e-9. A dose
// that was waiting in the snapshot, replayed, and then delivered again
// by the stream counts once.
func TestReplayDoses(t *testing.T) {
	dir := t.TempDir()
	svc, series := twinStore(t, dir)
	ctx := context.Background()
	putAll(t, svc, `{"resourceType":"Patient","id":"p1"}`,
		`{"resourceType":"Device","id":"cgm-1","patient":{"reference":"Patient/p1"}}`,
		`{"resourceType":"Device","id":"pump-1","patient":{"reference":"Patient/p1"}}`,
		`{"resourceType":"Device","id":"app-1","patient":{"reference":"Patient/p1"}}`)
	start := time.Now().UTC().Truncate(time.Minute).Add(-7 * time.Hour)
	at := func(min int) time.Time { return start.Add(time.Duration(min) * time.Minute) }
	cgm := func(min int) clinical.Observation {
		return clinical.Observation{Patient: "p1", Device: "cgm-1", Code: clinical.CodeGlucoseCGM, Effective: at(min),
			Value: &clinical.Quantity{Value: 140 + 50*math.Sin(float64(min)/40), Unit: "mg/dL"}}
	}
	insulin := func(min int, u float64) clinical.Observation {
		return clinical.Observation{Patient: "p1", Device: "pump-1", Code: clinical.CodeInsulin, Effective: at(min),
			Value: &clinical.Quantity{Value: u, Unit: "[IU]"}}
	}
	carbs := func(min int, g float64) clinical.Observation {
		return clinical.Observation{Patient: "p1", Device: "app-1", Code: clinical.CodeCarbIntake, Effective: at(min),
			Value: &clinical.Quantity{Value: g, Unit: "g"}}
	}
	var before, after []clinical.Observation // seen before the snapshot; stored after it
	for m := 0; m <= 120; m += 5 {
		before = append(before, cgm(m))
	}
	before = append(before, carbs(60, 50), insulin(60, 5), insulin(122, 1.5)) // the last one waits in the snapshot
	for m := 125; m < 360; m += 5 {
		after = append(after, cgm(m))
	}
	after = append(after, carbs(250, 30), insulin(252, 3), carbs(250, 10) /* same key as the 30 g: stored once */, insulin(357, 2))
	sortObs := func(os []clinical.Observation) {
		slices.SortStableFunc(os, func(a, b clinical.Observation) int { return a.Effective.Compare(b.Effective) })
	}
	sortObs(before)
	sortObs(after)

	ref, err := twin.New(twin.Options{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	flags := twinFlags{on: true, mqttAddr: "127.0.0.1:0"}
	lt, err := startTwins(ctx, logger, svc, dir, flags, nil, twinDeps{series: series})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range before {
		if err := storeReading(ctx, svc, series, o); err != nil {
			t.Fatal(err)
		}
		for _, m := range []*twin.Manager{ref, lt.mgr} {
			if err := m.Observe(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := lt.Close(ctx); err != nil { // the snapshot
		t.Fatal(err)
	}
	for _, o := range after { // stored, seen by the live twin, then lost with the process
		if err := storeReading(ctx, svc, series, o); err != nil {
			t.Fatal(err)
		}
		if err := ref.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	lt, err = startTwins(ctx, logger, svc, dir, flags, nil, twinDeps{series: series})
	if err != nil {
		t.Fatal(err)
	}
	defer lt.Close(ctx)
	// The stream redelivers the unacknowledged last dose, then a new reading comes.
	for _, o := range []clinical.Observation{insulin(357, 2), cgm(360)} {
		if err := lt.mgr.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := ref.Observe(ctx, cgm(360)); err != nil {
		t.Fatal(err)
	}
	want, _, err := ref.State(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := lt.mgr.State(ctx, "p1")
	if err != nil || !ok || got.Glucose == nil {
		t.Fatalf("twin after restart and replay: %+v %v %v", got, ok, err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("twin after restart and replay vs a twin that never stopped (-want +got):\n%s", diff)
	}
}

// TestDevicePatientsPages: the patients of more Devices than one page of
// search results (1,000) are all listed, once each.
func TestDevicePatientsPages(t *testing.T) {
	svc := twinService(t, t.TempDir())
	ctx := context.Background()
	var want []string
	for i := range 1203 {
		p := fmt.Sprintf("p%04d", i/2) // two devices per patient
		body := fmt.Sprintf(`{"resourceType":"Device","id":"d%d","patient":{"reference":"Patient/%s"}}`, i, p)
		if _, err := svc.Update(ctx, "Device", fmt.Sprintf("d%d", i), []byte(body), ""); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			want = append(want, p)
		}
	}
	got, err := devicePatients(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patients of the Devices (-want +got):\n%s", diff)
	}
}
