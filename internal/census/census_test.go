package census_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/hospital"
	"github.com/doppelhealth/doppel/internal/census"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

var at = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func hoursBefore(h float64) time.Time { return at.Add(-time.Duration(h * float64(time.Hour))) }

// hospitalLocations: an ED (type ER), a ward (by name) with a bed in it
// (partOf), an ICU (by id) and a clinic no unit claims.
func hospitalLocations() [][]byte {
	return [][]byte{
		locationJSON("ed", "Emergency", "ER", ""),
		locationJSON("w1", "Ward 1", "", ""),
		locationJSON("w1-b1", "Ward 1 bed 1", "", "w1"),
		locationJSON("icu", "Intensive care", "ICU", ""),
		locationJSON("clinic", "Clinic", "", ""),
	}
}

var units = []string{"ward", "icu"}

var mapping = census.Mapping{
	ED: census.Match{Types: []string{"ER"}},
	Units: map[string]census.Match{
		"ward": {Names: []string{"Ward 1"}},
		"icu":  {Locations: []string{"Location/icu"}},
	},
}

// TestBuildFromStore: the census of Encounters stored through fhirops in
// a SQLite store is the State written out by hand from the Encounters.
func TestBuildFromStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "fhir.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	svc := fhirops.New(st, reg, fhirops.Options{})
	z := time.Time{}
	res := append(hospitalLocations(),
		// On the ward for 48 h.
		encounterJSON("e1", "in-progress", "IMP", hoursBefore(50), z,
			loc{ref: "Location/ed", status: "completed", start: hoursBefore(50), end: hoursBefore(48)},
			loc{ref: "Location/w1", status: "active", start: hoursBefore(48)}),
		// In the ICU for 8 h after 2 h in the ED (the ED entry has no status).
		encounterJSON("e2", "in-progress", "IMP", hoursBefore(10), z,
			loc{ref: "Location/ed", start: hoursBefore(10), end: hoursBefore(8)},
			loc{ref: "Location/icu", status: "active", start: hoursBefore(8)}),
		// In the ED for 1.5 h.
		encounterJSON("e3", "arrived", "EMER", hoursBefore(1.5), z, loc{ref: "Location/ed", status: "active"}),
		// In a ward bed for 5 h: the bed is part of the ward.
		encounterJSON("e4", "in-progress", "IMP", hoursBefore(5), z, loc{ref: "Location/w1-b1", status: "active", start: hoursBefore(5)}),
		// Not in the census: finished, at an unclaimed place, not yet begun.
		encounterJSON("e5", "finished", "IMP", hoursBefore(100), hoursBefore(20), loc{ref: "Location/w1", start: hoursBefore(100), end: hoursBefore(20)}),
		encounterJSON("e6", "in-progress", "AMB", hoursBefore(3), z, loc{ref: "Location/clinic", status: "active", start: hoursBefore(3)}),
		encounterJSON("e7", "in-progress", "EMER", at.Add(time.Hour), z, loc{ref: "Location/ed", status: "active", start: at.Add(time.Hour)}),
	)
	if _, err := svc.Load(ctx, res); err != nil {
		t.Fatal(err)
	}
	src := census.NewStoreSource(st)
	r, err := census.NewResolver(ctx, src, units, mapping)
	if err != nil {
		t.Fatal(err)
	}
	got, rep, err := r.Build(ctx, src, at)
	if err != nil {
		t.Fatal(err)
	}
	want := &hospital.State{
		Inpatients:  []hospital.Inpatient{{Unit: 0, Elapsed: 5}, {Unit: 0, Elapsed: 48}, {Unit: 1, Elapsed: 8}},
		InTreatment: []hospital.EDPatient{{Elapsed: 1.5}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("census (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(census.Report{Encounters: 7, Used: 4, Unmapped: 1, Future: 1}, rep); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

// TestMappingErrors: a mapping that cannot be right is refused with a
// message that says what is wrong.
func TestMappingErrors(t *testing.T) {
	src := memSource{"Location": hospitalLocations()}
	for _, tc := range []struct {
		name string
		m    census.Mapping
		want string
	}{
		{"empty", census.Mapping{}, "the mapping is empty"},
		{"unknown unit", census.Mapping{Units: map[string]census.Match{"cardio": {Names: []string{"Ward 1"}}}},
			`names unit "cardio", which the model does not have (units: ward, icu)`},
		{"unknown location", census.Mapping{Units: map[string]census.Match{"ward": {Locations: []string{"Location/nope"}}}},
			`the mapping of unit ward names "Location/nope", but the store holds no such Location`},
		{"claimed twice", census.Mapping{ED: census.Match{Types: []string{"ICU"}}, Units: map[string]census.Match{"icu": {Locations: []string{"icu"}}}},
			"Location/icu is claimed by both the ED and unit icu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := census.NewResolver(context.Background(), src, units, tc.m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
