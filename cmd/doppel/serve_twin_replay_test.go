package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/store"
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
