package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/metrics"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/doppelhealth/doppel/internal/store/sqlstore"
	"github.com/doppelhealth/doppel/internal/twin"
)

func twinService(t *testing.T, dir string) *fhirops.Service {
	svc, _ := twinStore(t, dir)
	return svc
}

// twinStore is twinService with its store's time series.
func twinStore(t *testing.T, dir string) (*fhirops.Service, store.Series) {
	t.Helper()
	st, reg := openTestStore(t, dir)
	return fhirops.New(st, reg, fhirops.Options{}), st
}

// openTestStore opens a SQLite store in dir, closed when t ends, and a
// search registry.
func openTestStore(t testing.TB, dir string) (*sqlstore.Store, *search.Registry) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return st, reg
}

// countMatches returns how many resources of typ match the query.
func countMatches(t *testing.T, svc *fhirops.Service, typ string, q url.Values) int {
	t.Helper()
	b, err := svc.Search(context.Background(), typ, q, true, "http://x/fhir")
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Entry []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	return len(bundle.Entry)
}

// TestLiveTwins: a CGM message of device cgm-1, linked to patient p1 by
// its Device resource, reaches p1's twin (a forecast event) and is stored
// once as a time-series sample (not as an Observation), also when sent
// twice; its forecast is stored as three forecast Observations (once); a
// device without a Device resource reaches no one; after a restart the
// twin is back from its snapshot.
func TestLiveTwins(t *testing.T) {
	dir := t.TempDir()
	svc, series := twinStore(t, dir)
	ctx := context.Background()
	for _, r := range []struct{ typ, id, body string }{
		{"Patient", "p1", `{"resourceType":"Patient","id":"p1"}`},
		{"Device", "cgm-1", `{"resourceType":"Device","id":"cgm-1","patient":{"reference":"Patient/p1"}}`},
	} {
		if _, err := svc.Update(ctx, r.typ, r.id, []byte(r.body), ""); err != nil {
			t.Fatal(err)
		}
	}
	lt, err := startTwins(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), svc, dir, twinFlags{on: true, mqttAddr: "127.0.0.1:0"}, nil, twinDeps{series: series})
	if err != nil {
		t.Fatal(err)
	}
	events, stop := lt.mgr.Subscribe("p1", 8)
	defer stop()
	at := time.Now().UTC().Truncate(time.Second)
	msg := []byte(`{"device":"cgm-1","observations":[{"code":"cgm","t":"` + at.Format(time.RFC3339) + `","v":123,"unit":"mg/dL"}]}`)
	start := time.Now()
	for range 2 {
		if err := lt.stream.PublishDevice(ctx, "cgm-1", msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := lt.stream.PublishDevice(ctx, "cgm-9", msg); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-events:
		t.Logf("device message to forecast event: %v", time.Since(start))
		if e.Kind != twin.KindForecast || e.Forecast.Reading != 123 || !e.Forecast.At.Equal(at) {
			t.Errorf("event %+v, want the forecast after 123 mg/dL at %v", e, at)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no forecast event within 30 s")
	}
	got, err := series.Samples(ctx, store.SampleQuery{Patient: "p1", Code: "99504-3"})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Sample{{Patient: "p1", Code: "99504-3", Device: "cgm-1", Time: at, Value: 123, Unit: "mg/dL"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CGM samples of p1 (-want +got):\n%s", diff)
	}
	if n := countMatches(t, svc, "Observation", url.Values{"code": {"http://loinc.org|99504-3"}}); n != 0 {
		t.Errorf("%d CGM Observations, want 0 (CGM is a series; cgm-9 has no Device)", n)
	}
	before, _, err := lt.mgr.State(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countMatches(t, svc, "Observation", url.Values{"patient": {"Patient/p1"}, "code": {twinTagSystem + "|glucose-forecast"}, "_tag": {twinTagSystem + "|" + tagForecast}}); n != 3 {
		t.Errorf("%d forecast Observations of p1 after close, want 3 (30, 60, 120 min)", n)
	}
	again, err := startTwins(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), svc, dir, twinFlags{on: true, mqttAddr: "127.0.0.1:0"}, nil, twinDeps{series: series})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close(ctx)
	after, ok, err := again.mgr.State(ctx, "p1")
	if err != nil || !ok {
		t.Fatalf("twin of p1 after a restart: %v %v", ok, err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("twin after a restart (-before +after):\n%s", diff)
	}
}

// TestTwinAlertsStored: through the twins' sink, a predicted-hypoglycaemia
// alert is stored once as a RiskAssessment, a lost stream as a Flag, and
// a forecast as three Observations (the forecast event of the reading).
func TestTwinAlertsStored(t *testing.T) {
	svc := twinService(t, t.TempDir())
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	w, err := newWriteback(ctx, svc, writebackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []twin.Event{
		{Patient: "p1", Kind: twin.KindAlert, Time: at, Alert: &twin.Alert{Kind: twin.AlertHypo, Probability: 0.8, Message: "low"}},
		{Patient: "p1", Kind: twin.KindAlert, Time: at, Alert: &twin.Alert{Kind: twin.AlertHypo, Probability: 0.8, Message: "low"}},
		{Patient: "p1", Kind: twin.KindAlert, Time: at, Alert: &twin.Alert{Kind: twin.AlertStreamLost, Message: "no CGM"}},
		forecastEvent(cgmReading("p1", at, 120)),
	} {
		if err := (countingSink{w, newTwinMetrics(metrics.NewRegistry()).alerts}).Emit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	for typ, want := range map[string]int{"RiskAssessment": 1, "Flag": 1, "Observation": 3, "Provenance": 3} {
		q := url.Values{"_tag": {twinTagSystem + "|" + tagModelOutput}}
		if typ != "Provenance" {
			q.Set("patient", "Patient/p1")
		}
		if n := countMatches(t, svc, typ, q); n != want {
			t.Errorf("%d %s, want %d", n, typ, want)
		}
	}
}
