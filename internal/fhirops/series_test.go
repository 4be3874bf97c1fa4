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
	"github.com/google/go-cmp/cmp"
)

// TestSamples: $samples answers from the time series as Observations, by
// date range and in either order, with stable ids, within the caller's
// compartment.
func TestSamples(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "fhir.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var samples []store.Sample
	for m := range 6 { // 00:00 .. 00:25, 100..105 mg/dL
		samples = append(samples, store.Sample{Patient: "p1", Code: "99504-3", Device: "cgm1", Time: day.Add(time.Duration(5*m) * time.Minute), Value: float64(100 + m), Unit: "mg/dL"})
	}
	if _, err := st.AppendSamples(ctx, samples); err != nil {
		t.Fatal(err)
	}
	svc := fhirops.New(st, registry(t), fhirops.Options{})
	type obs struct {
		ID        string `json:"id"`
		Effective string `json:"effectiveDateTime"`
		Value     struct {
			Value float64 `json:"value"`
			Code  string  `json:"code"`
		} `json:"valueQuantity"`
		Subject struct{ Reference string } `json:"subject"`
	}
	get := func(ctx context.Context, query string) ([]obs, error) {
		vals, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		b, err := svc.Samples(ctx, st, "p1", vals, "")
		if err != nil {
			return nil, err
		}
		var bundle struct {
			Total int
			Entry []struct{ Resource obs }
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			t.Fatal(err)
		}
		out := []obs{}
		for _, e := range bundle.Entry {
			out = append(out, e.Resource)
		}
		return out, nil
	}
	times := func(os []obs) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.Effective[11:16])
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"code=99504-3", []string{"00:00", "00:05", "00:10", "00:15", "00:20", "00:25"}},
		{"code=http://loinc.org|99504-3&date=gt2024-03-01T00:05:00Z&date=le2024-03-01T00:20:00Z", []string{"00:10", "00:15", "00:20"}},
		{"code=99504-3&date=ge2024-03-01T00:05:00Z&date=lt2024-03-01T00:20:00Z&_sort=-date&_count=2", []string{"00:15", "00:10"}},
		{"code=99504-3&date=ge2024-03-02", nil},
		{"code=99504-3&date=le2024-03-01&_count=1", []string{"00:00"}},
		{"code=8867-4", nil},
	}
	for _, tc := range tests {
		got, err := get(ctx, tc.query)
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if diff := cmp.Diff(tc.want, times(got)); diff != "" {
			t.Errorf("%s: times (-want +got):\n%s", tc.query, diff)
		}
	}
	first, _ := get(ctx, "code=99504-3&_count=1")
	again, _ := get(ctx, "code=99504-3&_count=1")
	if len(first) != 1 || first[0].Value.Value != 100 || first[0].Value.Code != "mg/dL" || first[0].Subject.Reference != "Patient/p1" || !strings.HasPrefix(first[0].ID, "ts-") || first[0].ID != again[0].ID {
		t.Errorf("first Observation %+v, again %+v", first, again)
	}
	for _, bad := range []string{"", "date=ge2024-03-01", "code=99504-3&date=xx2024", "code=99504-3&_sort=value", "code=99504-3&foo=1", "code=99504-3&_count=0"} {
		if _, err := get(ctx, bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, err := get(as(access{kinds: []string{"search-type"}, compartment: "Patient/p2"}), "code=99504-3"); err == nil {
		t.Errorf("another patient's compartment: no error")
	}
	if _, err := get(as(access{kinds: []string{"read"}}), "code=99504-3"); err == nil {
		t.Errorf("without search: no error")
	}
	if got, err := get(as(access{kinds: []string{"search-type"}, compartment: "Patient/p1"}), "code=99504-3"); err != nil || len(got) != 6 {
		t.Errorf("own compartment: %d, %v", len(got), err)
	}
}

// TestSampledDays: $samples sampled=true gives one Observation per device
// and UTC day with valueSampledData on a regular grid (gaps as "E",
// irregular times at the nearest point), valid R4, read back by its id.
func TestSampledDays(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "fhir.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	s := func(device string, d time.Duration, v float64) store.Sample {
		return store.Sample{Patient: "p1", Code: "99504-3", Device: device, Time: day.Add(d), Value: v, Unit: "mg/dL"}
	}
	in := []store.Sample{
		// A gap at 00:10.
		s("a", 0, 100), s("a", 5*time.Minute, 102.5), s("a", 15*time.Minute, 110),
		// Steps of 4:59 and 5:01: the grid is 4:59, the third at point 2.
		s("b", 0, 90), s("b", 4*time.Minute+59*time.Second, 91), s("b", 10*time.Minute, 92),
		// One sample; and another day.
		s("c", time.Hour, 80), s("a", 24*time.Hour+time.Minute, 120),
	}
	if _, err := st.AppendSamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	svc := fhirops.New(st, registry(t), fhirops.Options{Series: st})
	type sampled struct {
		ID     string
		Device struct{ Reference string }
		Period struct{ Start, End string } `json:"effectivePeriod"`
		Data   struct {
			Origin struct {
				Value float64
				Code  string
			}
			Period     float64
			Dimensions int
			Data       string
		} `json:"valueSampledData"`
	}
	row := func(o sampled) string {
		return fmt.Sprintf("%s %s..%s origin %g %s period %g dim %d [%s]", o.Device.Reference, o.Period.Start, o.Period.End, o.Data.Origin.Value, o.Data.Origin.Code, o.Data.Period, o.Data.Dimensions, o.Data.Data)
	}
	vals := url.Values{"code": {"99504-3"}, "sampled": {"true"}, "date": {"ge2024-03-01T00:04:00Z", "lt2024-03-01T23:00:00Z"}}
	b, err := svc.Samples(ctx, st, "p1", vals, "")
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Entry []struct{ Resource json.RawMessage }
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range bundle.Entry {
		var o sampled
		if err := json.Unmarshal(e.Resource, &o); err != nil {
			t.Fatal(err)
		}
		got = append(got, row(o))
		r, err := fhir.Parse(e.Resource)
		if err == nil {
			err = fhir.Validate(r)
		}
		if err != nil {
			t.Errorf("%s: not valid: %v", e.Resource, err)
		}
		v, err := svc.Read(ctx, "Observation", o.ID)
		if err != nil || !bytes.Equal(v.Body, e.Resource) {
			t.Errorf("read %s: %s, %v; want %s", o.ID, v.Body, err, e.Resource)
		}
	}
	// The whole day of each device, though date starts at 00:04.
	want := []string{
		"Device/a 2024-03-01T00:00:00Z..2024-03-01T00:15:00Z origin 0 mg/dL period 300000 dim 1 [100 102.5 E 110]",
		"Device/b 2024-03-01T00:00:00Z..2024-03-01T00:09:58Z origin 0 mg/dL period 299000 dim 1 [90 91 92]",
		"Device/c 2024-03-01T01:00:00Z..2024-03-01T01:00:00Z origin 0 mg/dL period 0 dim 1 [80]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sampled (-want +got):\n%s", diff)
	}
	vals.Set("_sort", "-date")
	vals.Set("_count", "1")
	vals.Del("date")
	if b, err = svc.Samples(ctx, st, "p1", vals, ""); err != nil || !strings.Contains(string(b), "2024-03-02T00:01:00Z") || strings.Count(string(b), `"valueSampledData"`) != 1 {
		t.Errorf("newest day: %s, %v", b, err)
	}
}
