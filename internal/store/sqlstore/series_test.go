package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/google/go-cmp/cmp"
)

// TestSeriesOf: the series of a patient (of one code, or of all), ordered
// by code and device, and a series found again by its number.
func TestSeriesOf(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	in := []store.Sample{
		{Patient: "p1", Code: "99504-3", Device: "cgm-b", Time: t0, Value: 100, Unit: "mg/dL"},
		{Patient: "p1", Code: "8867-4", Device: "mon", Time: t0, Value: 60, Unit: "/min"},
		{Patient: "p1", Code: "99504-3", Device: "cgm-a", Time: t0, Value: 101, Unit: "mg/dL"},
		{Patient: "p2", Code: "99504-3", Device: "cgm-c", Time: t0, Value: 102, Unit: "mg/dL"},
	}
	if _, err := s.AppendSamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	all, err := s.SeriesOf(ctx, "p1", "")
	if err != nil {
		t.Fatal(err)
	}
	key := func(f store.SeriesInfo) string { return f.Patient + " " + f.Code + " " + f.Device + " " + f.Unit }
	var got []string
	for _, f := range all {
		got = append(got, key(f))
	}
	want := []string{"p1 8867-4 mon /min", "p1 99504-3 cgm-a mg/dL", "p1 99504-3 cgm-b mg/dL"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SeriesOf(p1, all) (-want +got):\n%s", diff)
	}
	cgm, err := s.SeriesOf(ctx, "p1", "99504-3")
	if err != nil || len(cgm) != 2 || cgm[0] != all[1] || cgm[1] != all[2] {
		t.Errorf("SeriesOf(p1, 99504-3) = %v, %v; want %v", cgm, err, all[1:])
	}
	ids := map[int64]bool{}
	for _, f := range all {
		ids[f.ID] = true
		back, err := s.SeriesByID(ctx, f.ID)
		if err != nil || back != f {
			t.Errorf("SeriesByID(%d) = %v, %v; want %v", f.ID, back, err, f)
		}
	}
	if len(ids) != 3 {
		t.Errorf("ids %v: want three distinct", ids)
	}
	if _, err := s.SeriesByID(ctx, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SeriesByID(unknown) = %v, want ErrNotFound", err)
	}
	if none, err := s.SeriesOf(ctx, "p3", ""); err != nil || len(none) != 0 {
		t.Errorf("SeriesOf(p3) = %v, %v; want none", none, err)
	}
}
