package fhirops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/doppelhealth/doppel/internal/store/sqlstore"
	"github.com/google/go-cmp/cmp"
)

var seriesDay = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// at is seriesDay plus a duration ("7m", "2m30s").
func at(d string) time.Time {
	x, err := time.ParseDuration(d)
	if err != nil {
		panic(err)
	}
	return seriesDay.Add(x)
}

func cgmSample(patient, device, d string, v float64) store.Sample {
	return store.Sample{Patient: patient, Code: "99504-3", Device: device, Time: at(d), Value: v, Unit: "mg/dL"}
}

// seriesService returns a service with Options.Series on a fresh store
// holding, for patient p1, CGM samples of device cgm1 at 00:00..00:25
// every 5 min (100..105 mg/dL) and one of cgm2 at 00:02:30 (99), and
// stored CGM Observations at 00:07 (107, device cgm1) and 00:12 (90) and
// one without a time (80); for p2 one sample at 00:01 (150).
func seriesService(t testing.TB) (*fhirops.Service, *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "fhir.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var ss []store.Sample
	for m := range 6 {
		ss = append(ss, cgmSample("p1", "cgm1", fmt.Sprintf("%dm", 5*m), float64(100+m)))
	}
	ss = append(ss, cgmSample("p1", "cgm2", "2m30s", 99), cgmSample("p2", "cgm9", "1m", 150))
	if _, err := st.AppendSamples(ctx, ss); err != nil {
		t.Fatal(err)
	}
	n := 0
	svc := fhirops.New(st, registry(t), fhirops.Options{Series: st, NewID: func() string { n++; return fmt.Sprintf("obs%d", n) }})
	for _, o := range []struct {
		effective, device string
		value             float64
	}{{"7m", "cgm1", 107}, {"12m", "", 90}, {"", "", 80}} {
		body := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"99504-3"}]},"subject":{"reference":"Patient/p1"},` +
			`"valueQuantity":{"value":` + fmt.Sprint(o.value) + `,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}`
		if o.effective != "" {
			body += `,"effectiveDateTime":"` + at(o.effective).Format(time.RFC3339) + `"`
		}
		if o.device != "" {
			body += `,"device":{"reference":"Device/` + o.device + `"}`
		}
		if _, err := svc.Create(ctx, "Observation", []byte(body+"}"), ""); err != nil {
			t.Fatal(err)
		}
	}
	return svc, st
}

// obsRow is how the tests name an Observation of a page: its time (mm:ss
// after midnight, "-" without one), value, and "s" for a sample or "r"
// for a stored resource.
func obsRow(t testing.TB, raw json.RawMessage) string {
	var o struct {
		ID        string
		Effective string                  `json:"effectiveDateTime"`
		Value     struct{ Value float64 } `json:"valueQuantity"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	when := "-"
	if o.Effective != "" {
		e, err := time.Parse(time.RFC3339Nano, o.Effective)
		if err != nil {
			t.Fatal(err)
		}
		when = e.Sub(seriesDay).String()
	}
	kind := "r"
	if strings.HasPrefix(o.ID, "ts-") {
		kind = "s"
	}
	return fmt.Sprintf("%s %g %s", when, o.Value.Value, kind)
}

func searchObs(t *testing.T, ctx context.Context, svc *fhirops.Service, query string) (searchBundle, []string, error) {
	t.Helper()
	vals, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	data, err := svc.Search(ctx, "Observation", vals, true, "http://x/fhir")
	if err != nil {
		return searchBundle{}, nil, err
	}
	var b searchBundle
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, e := range b.Entry {
		if e.Search.Mode == "match" {
			rows = append(rows, obsRow(t, e.Resource))
		}
	}
	return b, rows, nil
}

// TestSearchSamples: a search of Observation merges the samples of the
// named patients with the stored Observations, by date, and answers every
// parameter for both.
func TestSearchSamples(t *testing.T) {
	svc, _ := seriesService(t)
	ctx := context.Background()
	all := []string{"0s 100 s", "2m30s 99 s", "5m0s 101 s", "7m0s 107 r", "10m0s 102 s", "12m0s 90 r", "15m0s 103 s", "20m0s 104 s", "25m0s 105 s", "- 80 r"}
	desc := []string{"25m0s 105 s", "20m0s 104 s", "15m0s 103 s", "12m0s 90 r", "10m0s 102 s", "7m0s 107 r", "5m0s 101 s", "2m30s 99 s", "0s 100 s", "- 80 r"}
	tests := []struct {
		query string
		want  []string
	}{
		{"patient=p1", all},
		{"subject=Patient/p1&code=99504-3", all},
		{"patient=p1&code=http://loinc.org|99504-3&_sort=-date", desc},
		{"patient=p1&_sort=date&date=ge2024-03-01T00:05:00Z&date=lt2024-03-01T00:15:00Z", []string{"5m0s 101 s", "7m0s 107 r", "10m0s 102 s", "12m0s 90 r"}},
		{"patient=p1&value-quantity=gt103", []string{"7m0s 107 r", "20m0s 104 s", "25m0s 105 s"}},
		{"patient=p1&value-quantity=le100|http://unitsofmeasure.org|mg/dL", []string{"0s 100 s", "2m30s 99 s", "12m0s 90 r", "- 80 r"}},
		{"patient=p1&device=Device/cgm2", []string{"2m30s 99 s"}},
		{"patient=p1&device=cgm1&date=le2024-03-01T00:07:00Z", []string{"0s 100 s", "5m0s 101 s", "7m0s 107 r"}},
		{"patient=p1&device:missing=true", []string{"12m0s 90 r", "- 80 r"}},
		{"patient=p1&category=vital-signs", nil}, // CGM is no vital sign
		{"patient=p1&code=8867-4", nil},
		{"patient=p1&code=8867-4,99504-3&code=99504-3&date=le2024-03-01T00:02:30Z", []string{"0s 100 s", "2m30s 99 s"}},
		{"patient=p1&code=8867-4&code=99504-3", nil},
		{"patient=p1&code=99504-3&code=8867-4", nil},
		{"patient=p1&code:not=99504-3", nil},
		{"patient=p1&identifier=urn:doppel:device-observation|", []string{"0s 100 s", "2m30s 99 s", "5m0s 101 s", "10m0s 102 s", "15m0s 103 s", "20m0s 104 s", "25m0s 105 s"}},
		{"patient=p2", []string{"1m0s 150 s"}},
		{"patient=p1,p2&date=le2024-03-01T00:02:30Z", []string{"0s 100 s", "1m0s 150 s", "2m30s 99 s"}},
		{"patient=p1&patient=p2", nil},
		{"subject:Group=p1", nil},
	}
	for _, tc := range tests {
		_, got, err := searchObs(t, ctx, svc, tc.query)
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.query, diff)
		}
	}
	// _id of a sample, found by a search first.
	b, _, _ := searchObs(t, ctx, svc, "patient=p1&device=cgm2")
	var one struct{ ID string }
	json.Unmarshal(b.Entry[0].Resource, &one)
	if _, got, err := searchObs(t, ctx, svc, "patient=p1&_id="+one.ID); err != nil || len(got) != 1 || got[0] != "2m30s 99 s" {
		t.Errorf("_id=%s: %v, %v", one.ID, got, err)
	}
	// _summary=count and _total count both kinds.
	for _, q := range []string{"patient=p1&_summary=count", "patient=p1&_count=0", "patient=p1&_count=2&_total=accurate"} {
		b, rows, err := searchObs(t, ctx, svc, q)
		if err != nil || b.Total == nil || *b.Total != len(all) || (strings.Contains(q, "_count=2") != (len(rows) == 2)) {
			t.Errorf("%s: total %v, %d rows, %v; want total %d", q, b.Total, len(rows), err, len(all))
		}
	}
	// Refused rather than answered wrongly.
	for _, q := range []string{"patient=p1&_sort=_lastUpdated", "patient=p1&subject:Patient.name=x", "patient=p1&_after=obs1", "patient=p1&_after=ts-zz-1"} {
		if _, _, err := searchObs(t, ctx, svc, q); status(err) != 400 {
			t.Errorf("%s: %v, want a 400", q, err)
		}
	}
	// Without a patient, chains and other sort keys are answered (for
	// the stored Observations).
	for _, q := range []string{"code=99504-3&_sort=value-quantity", "subject:Patient.name=x"} {
		if _, _, err := searchObs(t, ctx, svc, q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	// Without a patient: the stored ones, and a warning that says so.
	b, rows, err := searchObs(t, ctx, svc, "code=99504-3")
	if err != nil || len(rows) != 3 || len(b.Entry) != 4 || b.Entry[3].Search.Mode != "outcome" || !strings.Contains(string(b.Entry[3].Resource), "per patient") {
		t.Errorf("no patient: %v %v; want the 3 stored and an outcome", rows, err)
	}
}

// TestSearchSamplesPaging: following next links gives every match once,
// in order, while samples and resources are written between pages.
func TestSearchSamplesPaging(t *testing.T) {
	for _, order := range []string{"date", "-date"} {
		t.Run(order, func(t *testing.T) {
			svc, st := seriesService(t)
			ctx := context.Background()
			first, rows, err := searchObs(t, ctx, svc, "patient=p1&_count=3&_sort="+order)
			if err != nil {
				t.Fatal(err)
			}
			_, want, err := searchObs(t, ctx, svc, "patient=p1&_sort="+order)
			if err != nil {
				t.Fatal(err)
			}
			// Written after the first page: a sample after all the others
			// and one before them but the first; a sample is seen when it
			// sorts after the last sample shown (the pages before are
			// done), so the new last one when ascending, the new early one
			// when descending. A stored Observation is not seen (it is not
			// in the snapshot).
			if _, err := st.AppendSamples(ctx, []store.Sample{cgmSample("p1", "cgm1", "30m", 106), cgmSample("p1", "cgm1", "1m", 1)}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Create(ctx, "Observation", []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2024-03-01T00:03:00Z"}`), ""); err != nil {
				t.Fatal(err)
			}
			if order == "date" {
				want = append(want[:len(want)-1], "30m0s 106 s", want[len(want)-1])
			} else {
				want = append(want[:len(want)-2], "1m0s 1 s", want[len(want)-2], want[len(want)-1])
			}
			got := rows
			next := first.link("next")
			for pages := 1; next != ""; pages++ {
				if pages > 10 {
					t.Fatal("more than 10 pages")
				}
				u, err := url.Parse(next)
				if err != nil {
					t.Fatal(err)
				}
				b, rows, err := searchObs(t, ctx, svc, u.RawQuery)
				if err != nil {
					t.Fatalf("page %d (%s): %v", pages+1, next, err)
				}
				if b.link("previous") != "" {
					t.Errorf("a previous link: %s", b.link("previous"))
				}
				got = append(got, rows...)
				next = b.link("next")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadSample: an Observation of a sample or of a day reads back by id,
// the same bytes as in the search and on every read; version 1.
func TestReadSample(t *testing.T) {
	svc, _ := seriesService(t)
	ctx := context.Background()
	b, _, err := searchObs(t, ctx, svc, "patient=p1&device=cgm1")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range b.Entry {
		var o struct {
			ID   string
			Meta struct{ VersionID, LastUpdated string }
		}
		json.Unmarshal(e.Resource, &o)
		if !strings.HasPrefix(o.ID, "ts-") {
			continue
		}
		v1, err := svc.Read(ctx, "Observation", o.ID)
		if err != nil {
			t.Fatalf("read %s: %v", o.ID, err)
		}
		v2, _ := svc.Read(ctx, "Observation", o.ID)
		if !bytes.Equal(v1.Body, e.Resource) || !bytes.Equal(v1.Body, v2.Body) || v1.VersionID != 1 || o.Meta.VersionID != "1" {
			t.Errorf("read %s: %s, again %s, version %d; want %s", o.ID, v1.Body, v2.Body, v1.VersionID, e.Resource)
		}
		r, err := fhir.Parse(v1.Body)
		if err == nil {
			err = fhir.Validate(r)
		}
		if err != nil {
			t.Errorf("%s is not a valid Observation: %v", o.ID, err)
		}
		if _, err := svc.Read(as(access{kinds: []string{"read"}, compartment: "Patient/p2"}), "Observation", o.ID); status(err) != 404 {
			t.Errorf("read %s confined to p2: %v, want 404", o.ID, err)
		}
		if _, err := svc.Read(as(access{kinds: []string{"read"}, compartment: "Patient/p1"}), "Observation", o.ID); err != nil {
			t.Errorf("read %s confined to p1: %v", o.ID, err)
		}
	}
	for _, id := range []string{"ts-1-0", "ts-zz-lz4v2a7k0g00", "ts-01-1", "tsd-1-0", "ts-", "obs99"} {
		if _, err := svc.Read(ctx, "Observation", id); status(err) != 404 {
			t.Errorf("read %s: %v, want 404", id, err)
		}
	}
}

// TestSearchSamplesAccess: a token confined to a patient sees only its
// own samples, whatever it asks.
func TestSearchSamplesAccess(t *testing.T) {
	svc, _ := seriesService(t)
	p2 := as(access{kinds: []string{"search-type"}, compartment: "Patient/p2"})
	for _, q := range []string{"code=99504-3", "patient=p2"} {
		if _, rows, err := searchObs(t, p2, svc, q); err != nil || !cmp.Equal(rows, []string{"1m0s 150 s"}) {
			t.Errorf("confined to p2, %s: %v, %v", q, rows, err)
		}
	}
	if b, _, err := searchObs(t, p2, svc, "patient=p1"); err != nil || len(b.Entry) != 0 {
		t.Errorf("confined to p2, patient=p1: %v, %v; want nothing, not even a warning", b.Entry, err)
	}
	if _, _, err := searchObs(t, as(access{kinds: []string{"read"}}), svc, "patient=p1"); status(err) != 403 {
		t.Errorf("without search: %v, want 403", err)
	}
}
