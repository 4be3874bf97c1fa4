package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

// TestReadingProvenance: a stored device reading has a Provenance naming
// its Device, what it made and the message: one per series and day for
// samples, one per reading stored as a resource; a message delivered
// again writes none.
func TestReadingProvenance(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	svc := fhirops.New(st, reg, fhirops.Options{Series: st})
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	cgm := func(min int, v float64) clinical.Observation {
		return clinical.Observation{Patient: "p1", Device: "cgm-1", Code: clinical.CodeGlucoseCGM, Effective: day.Add(time.Duration(min) * time.Minute),
			Value: &clinical.Quantity{Value: v, Unit: "mg/dL"}}
	}
	bp := clinical.Observation{Patient: "p1", Device: "mon-1", Code: clinical.CodeBPPanel, Effective: day.Add(time.Hour), Components: []clinical.Component{
		{Code: clinical.CodeSystolic, Value: clinical.Quantity{Value: 120, Unit: "mm[Hg]"}}, {Code: clinical.CodeDiastolic, Value: clinical.Quantity{Value: 80, Unit: "mm[Hg]"}}}}
	dose := clinical.Observation{Patient: "p1", Device: "pump-1", Code: clinical.CodeInsulin, Effective: day.Add(2 * time.Hour), Value: &clinical.Quantity{Value: 2, Unit: "[IU]"}}
	// Each message twice (redelivery); CGM on two days.
	for _, o := range []clinical.Observation{cgm(0, 100), cgm(0, 100), cgm(5, 104), bp, dose, bp, dose, cgm(24*60+5, 120)} {
		if err := storeReading(ctx, svc, st, o); err != nil {
			t.Fatal(err)
		}
	}
	b, err := svc.Search(ctx, "Provenance", url.Values{"_count": {"100"}}, true, "")
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Entry []struct{ Resource json.RawMessage }
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	type prov struct {
		ID     string
		Meta   struct{ VersionID string }
		Target []struct{ Reference string }
		Agent  []struct{ Who struct{ Reference string } }
		Entity []struct {
			Role string
			What struct {
				Identifier struct{ System, Value string }
			}
		}
		Occurred struct{ Start, End string } `json:"occurredPeriod"`
	}
	var got []string
	for _, e := range bundle.Entry {
		r, err := fhir.Parse(e.Resource)
		if err == nil {
			err = fhir.Validate(r)
		}
		if err != nil {
			t.Errorf("%s: %v", e.Resource, err)
		}
		var p prov
		if err := json.Unmarshal(e.Resource, &p); err != nil {
			t.Fatal(err)
		}
		if p.Meta.VersionID != "1" || len(p.Target) != 1 || len(p.Entity) != 1 || p.Entity[0].Role != "source" || p.Entity[0].What.Identifier.System != "urn:doppel:device-observation" {
			t.Errorf("Provenance %s", e.Resource)
			continue
		}
		// The target reads back, and holds the reading.
		typ, id, _ := strings.Cut(p.Target[0].Reference, "/")
		v, err := svc.Read(ctx, typ, id)
		if err != nil {
			t.Errorf("target %s: %v", p.Target[0].Reference, err)
			continue
		}
		kind := typ
		if strings.HasPrefix(id, "tsd-") {
			var o struct {
				Code struct{ Coding []struct{ Code string } }
				V    struct{ Data string } `json:"valueSampledData"`
			}
			json.Unmarshal(v.Body, &o)
			kind = "day of " + o.Code.Coding[0].Code + " [" + o.V.Data + "]"
		}
		got = append(got, p.Agent[0].Who.Reference+" "+p.Occurred.Start[:10]+" "+kind)
	}
	slices.Sort(got)
	want := []string{
		"Device/cgm-1 2026-11-25 day of 99504-3 [100 104]",
		"Device/cgm-1 2026-11-26 day of 99504-3 [120]",
		"Device/mon-1 2026-11-25 day of 8462-4 [80]",
		"Device/mon-1 2026-11-25 day of 8480-6 [120]",
		"Device/pump-1 2026-11-25 MedicationAdministration",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Provenances:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkProvenanceBytes: what the Provenance of device data adds to the
// store, per CGM sample (50 patients × 7 days of 5-minute CGM, one
// Provenance per series and day): the pages of every table and index but
// the time series after VACUUM, less those of an empty store, and, for
// comparison, the series' own bytes/sample.
func BenchmarkProvenanceBytes(b *testing.B) {
	const patients, days, perDay = 50, 7, 288
	ctx := context.Background()
	reg, err := search.NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	pages := func(path string) (series, other int64) {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec("VACUUM"); err != nil {
			b.Fatal(err)
		}
		err = db.QueryRow(`SELECT COALESCE(SUM(CASE WHEN name IN ('series', 'series_chunk', 'sqlite_autoindex_series_1') THEN pgsize END), 0),
			COALESCE(SUM(CASE WHEN name NOT IN ('series', 'series_chunk', 'sqlite_autoindex_series_1') THEN pgsize END), 0) FROM dbstat`).Scan(&series, &other)
		if err != nil {
			b.Fatal(err)
		}
		return series, other
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		dir := b.TempDir()
		empty := filepath.Join(dir, "empty.db")
		st, err := sqlite.Open(ctx, empty)
		if err != nil {
			b.Fatal(err)
		}
		st.Close()
		_, base := pages(empty)
		path := filepath.Join(dir, sqliteFile)
		if st, err = sqlite.Open(ctx, path); err != nil {
			b.Fatal(err)
		}
		svc := fhirops.New(st, reg, fhirops.Options{Series: st})
		g := 120.0
		for d := range days {
			for p := range patients {
				var ss []store.Sample
				var first clinical.Observation
				for i := range perDay {
					g = math.Round(min(400, max(40, g+float64((i*7919+p*31)%9-4))))
					o := clinical.Observation{Patient: fmt.Sprintf("patient-%04d", p), Device: fmt.Sprintf("cgm-%04d", p), Code: clinical.CodeGlucoseCGM,
						Effective: t0.Add(time.Duration(d*perDay+i) * 5 * time.Minute), Value: &clinical.Quantity{Value: g, Unit: "mg/dL"}}
					if i == 0 {
						first = o
					}
					ss = append(ss, samples(o)...)
				}
				// As storeReading does for each reading: the samples,
				// then the day's Provenance (written by the first).
				if _, err := st.AppendSamples(ctx, ss); err != nil {
					b.Fatal(err)
				}
				if err := recordSamples(ctx, svc, st, first); err != nil {
					b.Fatal(err)
				}
			}
		}
		st.Close()
		series, other := pages(path)
		n := float64(patients * days * perDay)
		b.ReportMetric(float64(series)/n, "series-bytes/sample")
		b.ReportMetric(float64(other-base)/n, "provenance-bytes/sample")
		b.ReportMetric(float64(other-base)/float64(patients*days), "bytes/provenance")
	}
}
