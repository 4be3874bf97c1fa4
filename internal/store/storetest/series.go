package storetest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/store"
	"github.com/google/go-cmp/cmp"
)

// seriesOf opens the target's store as a store.Series; the test is skipped
// for a store without time series.
func seriesOf(t *testing.T, tg Target) (store.Store, store.Series) {
	t.Helper()
	s := open(t, tg)
	ss, ok := s.(store.Series)
	if !ok {
		t.Skip("the store has no time series")
	}
	return s, ss
}

// cgm is a CGM sample of patient p at minute m after t0.
func cgm(p string, m int, v float64) store.Sample {
	return store.Sample{Patient: p, Code: "99504-3", Device: "dev-" + p, Time: t0.Add(time.Duration(m) * time.Minute), Value: v, Unit: "mg/dL"}
}

func appendSamples(t testing.TB, s store.Series, samples ...store.Sample) int {
	t.Helper()
	n, err := s.AppendSamples(context.Background(), samples)
	if err != nil {
		t.Fatalf("append samples: %v", err)
	}
	return n
}

func samples(t testing.TB, s store.Series, q store.SampleQuery) []store.Sample {
	t.Helper()
	out, err := s.Samples(context.Background(), q)
	if err != nil {
		t.Fatalf("samples: %v", err)
	}
	return out
}

// testSeries: idempotent appends, range queries in order, out-of-order
// arrival, several devices, day boundaries, exact values, refusals, and
// persistence across reopening.
func testSeries(t *testing.T, tg Target) {
	s, ss := seriesOf(t, tg)
	all := store.SampleQuery{Patient: "p1", Code: "99504-3"}

	// Out of order, with a duplicate in the batch (the first one wins).
	if n := appendSamples(t, ss, cgm("p1", 10, 110), cgm("p1", 0, 100), cgm("p1", 5, 105), cgm("p1", 5, 999)); n != 3 {
		t.Errorf("first append added %d, want 3", n)
	}
	// Re-sent samples, one with another value: nothing changes.
	if n := appendSamples(t, ss, cgm("p1", 0, 100), cgm("p1", 5, 1)); n != 0 {
		t.Errorf("re-sent samples added %d, want 0", n)
	}
	// Late arrivals between stored ones.
	if n := appendSamples(t, ss, cgm("p1", 15, 115), cgm("p1", 2, 102), cgm("p1", 10, 7)); n != 2 {
		t.Errorf("late samples added %d, want 2", n)
	}
	want := []store.Sample{cgm("p1", 0, 100), cgm("p1", 2, 102), cgm("p1", 5, 105), cgm("p1", 10, 110), cgm("p1", 15, 115)}
	if diff := cmp.Diff(want, samples(t, ss, all)); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}

	// Ranges are [From, To); Limit cuts in the order asked for.
	rng := all
	rng.From, rng.To = t0.Add(2*time.Minute), t0.Add(10*time.Minute)
	if diff := cmp.Diff(want[1:3], samples(t, ss, rng)); diff != "" {
		t.Errorf("range (-want +got):\n%s", diff)
	}
	last := all
	last.Newest, last.Limit = true, 2
	if diff := cmp.Diff([]store.Sample{want[4], want[3]}, samples(t, ss, last)); diff != "" {
		t.Errorf("newest 2 (-want +got):\n%s", diff)
	}
	first := all
	first.Limit = 1
	if diff := cmp.Diff(want[:1], samples(t, ss, first)); diff != "" {
		t.Errorf("first 1 (-want +got):\n%s", diff)
	}
	if got := samples(t, ss, store.SampleQuery{Patient: "p2", Code: "99504-3"}); len(got) != 0 {
		t.Errorf("another patient's samples: %v", got)
	}

	// A second device of the same patient and code: merged by time, ties
	// by device; each device has its own duplicates.
	other := cgm("p1", 5, 50)
	other.Device = "dev-b"
	if n := appendSamples(t, ss, other); n != 1 {
		t.Errorf("second device added %d, want 1", n)
	}
	rng.From, rng.To = t0.Add(5*time.Minute), t0.Add(6*time.Minute)
	if diff := cmp.Diff([]store.Sample{other, want[2]}, samples(t, ss, rng)); diff != "" {
		t.Errorf("two devices (-want +got):\n%s", diff)
	}

	// Values and times come back exactly, across UTC days (chunks).
	exact := []store.Sample{
		{Patient: "p3", Code: "8310-5", Time: time.Date(2024, 3, 1, 23, 59, 59, 999999999, time.UTC), Value: 36.6, Unit: "Cel"},
		{Patient: "p3", Code: "8310-5", Time: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC), Value: math.Pi, Unit: "Cel"},
		{Patient: "p3", Code: "8310-5", Time: time.Date(2024, 3, 2, 0, 0, 0, 1000, time.UTC), Value: -1e-300, Unit: "Cel"},
		{Patient: "p3", Code: "8310-5", Time: time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), Value: 0.1, Unit: "Cel"},
		{Patient: "p3", Code: "8310-5", Time: time.Date(2024, 3, 3, 8, 0, 0, 0, time.FixedZone("x", 3600)), Value: 1e15, Unit: "Cel"},
	}
	appendSamples(t, ss, exact...)
	got := samples(t, ss, store.SampleQuery{Patient: "p3", Code: "8310-5"})
	wantExact := []store.Sample{exact[3], exact[0], exact[1], exact[2], exact[4]}
	wantExact[4].Time = wantExact[4].Time.UTC()
	if diff := cmp.Diff(wantExact, got); diff != "" {
		t.Errorf("exact values (-want +got):\n%s", diff)
	}

	// Refusals fail the whole call.
	bad := map[string]store.Sample{
		"no patient": {Code: "8867-4", Time: t0, Value: 60, Unit: "/min"},
		"no code":    {Patient: "p4", Time: t0, Value: 60, Unit: "/min"},
		"no time":    {Patient: "p4", Code: "8867-4", Value: 60, Unit: "/min"},
		"NaN":        {Patient: "p4", Code: "8867-4", Time: t0, Value: math.NaN(), Unit: "/min"},
		"Inf":        {Patient: "p4", Code: "8867-4", Time: t0, Value: math.Inf(1), Unit: "/min"},
		"other unit": {Patient: "p1", Code: "99504-3", Device: "dev-p1", Time: t0.Add(time.Hour), Value: 5.5, Unit: "mmol/L"},
	}
	for name, b := range bad {
		ok := cgm("p4", 1, 90)
		if _, err := ss.AppendSamples(context.Background(), []store.Sample{ok, b}); err == nil {
			t.Errorf("%s: appended", name)
		}
	}
	if got := samples(t, ss, store.SampleQuery{Patient: "p4", Code: "99504-3"}); len(got) != 0 {
		t.Errorf("a refused call stored %v", got)
	}

	// After reopening, the samples are there.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, ss = seriesOf(t, tg)
	got = samples(t, ss, all)
	if len(got) != 6 || !got[0].Time.Equal(want[0].Time) {
		t.Errorf("after reopening: %d samples %v", len(got), got)
	}
}

// testSeriesBatch: one call with two days of 5-minute CGM of 20 patients
// (11,520 samples), then concurrent single-sample appends.
func testSeriesBatch(t *testing.T, tg Target) {
	_, ss := seriesOf(t, tg)
	const patients, perDay = 20, 288
	var batch []store.Sample
	for p := range patients {
		for m := range 2 * perDay {
			batch = append(batch, cgm(fmt.Sprintf("p%d", p), 5*m, float64(80+(p+m)%200)))
		}
	}
	if n := appendSamples(t, ss, batch...); n != len(batch) {
		t.Errorf("batch added %d, want %d", n, len(batch))
	}
	got := samples(t, ss, store.SampleQuery{Patient: "p7", Code: "99504-3"})
	if diff := cmp.Diff(batch[7*2*perDay:8*2*perDay], got); diff != "" {
		t.Errorf("p7 (-want +got):\n%s", diff)
	}
	var wg sync.WaitGroup
	errs := make(chan error, patients)
	for p := range patients {
		wg.Go(func() {
			if _, err := ss.AppendSamples(context.Background(), []store.Sample{cgm(fmt.Sprintf("p%d", p), 5*2*perDay, 150)}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := samples(t, ss, store.SampleQuery{Patient: "p3", Code: "99504-3"}); len(got) != 2*perDay+1 {
		t.Errorf("p3 has %d samples, want %d", len(got), 2*perDay+1)
	}
}
