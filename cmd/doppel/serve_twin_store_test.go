package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
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
	"github.com/doppelhealth/doppel/internal/store/postgres"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/doppelhealth/doppel/internal/store/sqlstore"
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
// Provenance per series and day): the bytes of every table and index but
// the time series (SQLite: pages after VACUUM; PostgreSQL, when
// DOPPEL_TEST_POSTGRES is set: pg_total_relation_size), less those of an
// empty store, and, for comparison, the series' own bytes/sample.
func BenchmarkProvenanceBytes(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		sizes := func(path string) (series, other int64) {
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
		benchProvenanceBytes(b, func() (*sqlstore.Store, func() (int64, int64)) {
			path := filepath.Join(b.TempDir(), sqliteFile)
			st, err := sqlite.Open(context.Background(), path)
			if err != nil {
				b.Fatal(err)
			}
			return st, func() (int64, int64) { return sizes(path) }
		})
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := os.Getenv("DOPPEL_TEST_POSTGRES")
		if dsn == "" {
			b.Skip("DOPPEL_TEST_POSTGRES is not set")
		}
		benchProvenanceBytes(b, func() (*sqlstore.Store, func() (int64, int64)) {
			schema := durSchema(b, dsn)
			st, err := postgres.Open(context.Background(), schema)
			if err != nil {
				b.Fatal(err)
			}
			return st, func() (series, other int64) {
				db, err := sql.Open("pgx", schema)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				err = db.QueryRow(`SELECT COALESCE(SUM(CASE WHEN c.relname IN ('series', 'series_chunk') THEN pg_total_relation_size(c.oid) END), 0),
					COALESCE(SUM(CASE WHEN c.relname NOT IN ('series', 'series_chunk') THEN pg_total_relation_size(c.oid) END), 0)
					FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&series, &other)
				if err != nil {
					b.Fatal(err)
				}
				return series, other
			}
		})
	})
}

// benchProvenanceBytes stores the CGM and its Provenance in stores that
// open returns, with the sizes of their series and of the rest.
func benchProvenanceBytes(b *testing.B, open func() (*sqlstore.Store, func() (series, other int64))) {
	const patients, days, perDay = 50, 7, 288
	ctx := context.Background()
	reg, err := search.NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		st, sizes := open()
		st.Close()
		_, base := sizes()
		st, sizes = open()
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
		series, other := sizes()
		n := float64(patients * days * perDay)
		b.ReportMetric(float64(series)/n, "series-bytes/sample")
		b.ReportMetric(float64(other-base)/n, "provenance-bytes/sample")
		b.ReportMetric(float64(other-base)/float64(patients*days), "bytes/provenance")
	}
}
