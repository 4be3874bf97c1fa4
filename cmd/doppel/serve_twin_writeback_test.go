package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/assim/glucose"
	"github.com/doppelhealth/doppel/internal/audit"
	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/metrics"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/twin"
)

// auditedService is a FHIR service on a fresh SQLite store in dir whose
// writes under twinCtx are recorded by the returned audit log, as serve
// wires the twins. wrap, if set, wraps the store under the audit.
func auditedService(t testing.TB, dir string, wrap func(store.Store) store.Store) (*fhirops.Service, *audit.Log) {
	t.Helper()
	st, reg := openTestStore(t, dir)
	var s store.Store = st
	if wrap != nil {
		s = wrap(s)
	}
	log := audit.New(st, reg, audit.Options{})
	return fhirops.New(log.Wrap(s), reg, fhirops.Options{}), log
}

// find returns the resources of typ that match q (all of them).
func find(t testing.TB, svc *fhirops.Service, typ string, q url.Values) []map[string]any {
	t.Helper()
	q.Set("_count", "1000")
	b, err := svc.Search(context.Background(), typ, q, true, "http://x/fhir")
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, q.Encode(), err)
	}
	var bundle struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range bundle.Entry {
		out = append(out, e.Resource)
	}
	return out
}

// jsonAt gets the value at a path of keys and indexes in a JSON tree.
func jsonAt(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

var wbT0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// cgmReading is a CGM reading of device cgm-1 for p.
func cgmReading(p string, t time.Time, v float64) clinical.Observation {
	return clinical.Observation{Patient: p, Device: "cgm-1", Code: clinical.CodeGlucoseCGM, Value: &clinical.Quantity{Value: v, Unit: "mg/dL"}, Effective: t}
}

// forecastEvent is a forecast after reading o, with made-up bands whose
// values have one decimal (so that they are stored as given).
func forecastEvent(o clinical.Observation) twin.Event {
	var bands []glucose.Band
	for i, m := range []int{30, 60, 120} {
		d := float64(i + 1)
		bands = append(bands, glucose.Band{Minutes: m, Median: o.Value.Value - 10*d, Lo80: o.Value.Value - 20*d, Hi80: o.Value.Value + 0.5*d,
			Lo95: o.Value.Value - 30*d, Hi95: o.Value.Value + 10.5*d, PBelow70: 0.125 * d})
	}
	return twin.Event{Patient: o.Patient, Kind: twin.KindForecast, Time: o.Effective, Data: []clinical.Observation{o},
		Forecast: &twin.Forecast{At: o.Effective, Reading: o.Value.Value, BG: o.Value.Value, Bands: bands, PHypo: 0.125}}
}

func newTestWriteback(t testing.TB, svc *fhirops.Service, opt writebackOptions) *writeback {
	t.Helper()
	w, err := newWriteback(context.Background(), svc, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

func emitAll(t testing.TB, w *writeback, events ...twin.Event) {
	t.Helper()
	for _, e := range events {
		if err := w.Emit(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestWritebackForecast: a glucose forecast is stored as three
// Observations that a search finds by patient, code and the model-output
// tag, that a search for measured CGM glucose (LOINC 99504-3) does not
// find, with the median as value and the intervals as components, each
// named with the reading by a Provenance whose author is the model's
// Device and whose source is the reading; the write is in the audit
// trail with the twin as its agent.
func TestWritebackForecast(t *testing.T) {
	svc, _ := auditedService(t, t.TempDir(), nil)
	ctx := context.Background()
	w := newTestWriteback(t, svc, writebackOptions{Now: func() time.Time { return wbT0.Add(time.Second) }})
	reading := cgmReading("p1", wbT0, 150)
	emitAll(t, w, forecastEvent(reading))

	got := find(t, svc, "Observation", url.Values{"patient": {"Patient/p1"}, "code": {twinTagSystem + "|glucose-forecast"}, "_tag": {twinTagSystem + "|" + tagModelOutput}, "_sort": {"date"}})
	type obs struct {
		Status, Effective, Issued string
		Median                    any
		Components                map[string]any
	}
	var gotObs []obs
	for _, o := range got {
		comps := map[string]any{}
		for _, c := range o["component"].([]any) {
			comps[jsonAt(c, "code", "coding", 0, "code").(string)] = jsonAt(c, "valueQuantity", "value")
		}
		gotObs = append(gotObs, obs{o["status"].(string), o["effectiveDateTime"].(string), o["issued"].(string), jsonAt(o, "valueQuantity", "value"), comps})
	}
	want := []obs{
		{"preliminary", "2026-11-25T10:30:00Z", "2026-11-25T10:00:01.000Z", 140.0, map[string]any{"forecast-p10": 130.0, "forecast-p90": 150.5, "forecast-p2.5": 120.0, "forecast-p97.5": 160.5, "forecast-p-below-70": 0.125}},
		{"preliminary", "2026-11-25T11:00:00Z", "2026-11-25T10:00:01.000Z", 130.0, map[string]any{"forecast-p10": 110.0, "forecast-p90": 151.0, "forecast-p2.5": 90.0, "forecast-p97.5": 171.0, "forecast-p-below-70": 0.25}},
		{"preliminary", "2026-11-25T12:00:00Z", "2026-11-25T10:00:01.000Z", 120.0, map[string]any{"forecast-p10": 90.0, "forecast-p90": 151.5, "forecast-p2.5": 60.0, "forecast-p97.5": 181.5, "forecast-p-below-70": 0.375}},
	}
	if diff := cmp.Diff(want, gotObs); diff != "" {
		t.Fatalf("forecast Observations of p1 (-want +got):\n%s", diff)
	}
	if n := len(find(t, svc, "Observation", url.Values{"code": {"http://loinc.org|99504-3"}})); n != 0 {
		t.Errorf("a search of measured CGM glucose found %d forecasts", n)
	}
	if n := len(find(t, svc, "Observation", url.Values{"patient": {"Patient/p1"}, "_tag": {twinTagSystem + "|" + tagForecast}, "status": {"final"}})); n != 0 {
		t.Errorf("%d forecasts with status final", n)
	}

	// The reading, stored as a resource the way a device reading is, is
	// what the Provenance's source entity names.
	if err := storeObservation(ctx, svc, reading); err != nil {
		t.Fatal(err)
	}
	for _, o := range got {
		ref := "Observation/" + o["id"].(string)
		provs := find(t, svc, "Provenance", url.Values{"target": {ref}})
		if len(provs) != 1 {
			t.Fatalf("%d Provenances of %s, want 1", len(provs), ref)
		}
		p := provs[0]
		if tg := jsonAt(p, "target"); !strings.Contains(mustJSON(t, tg), `"`+ref+`/_history/1"`) {
			t.Errorf("Provenance targets %v, want %s/_history/1 among them", tg, ref)
		}
		if jsonAt(p, "occurredDateTime") != "2026-11-25T10:00:00Z" || jsonAt(p, "activity", "coding", 0, "code") != "CREATE" {
			t.Errorf("Provenance occurred %v, activity %v; want the reading's time, CREATE", jsonAt(p, "occurredDateTime"), jsonAt(p, "activity"))
		}
		dev := jsonAt(p, "agent", 0, "who", "reference").(string)
		d, err := svc.Read(ctx, "Device", strings.TrimPrefix(dev, "Device/"))
		if err != nil {
			t.Fatalf("the Provenance's agent %s: %v", dev, err)
		}
		var device map[string]any
		json.Unmarshal(d.Body, &device)
		if jsonAt(device, "type", "text") != "software" || !strings.Contains(mustJSON(t, device["version"]), "doppel-glucose-twin") {
			t.Errorf("model Device %s", d.Body)
		}
		if jsonAt(o, "device", "reference") != dev {
			t.Errorf("forecast device %v, want the Provenance's agent %s", jsonAt(o, "device"), dev)
		}
		id := jsonAt(p, "entity", 0, "what", "identifier")
		sys, val := jsonAt(id, "system").(string), jsonAt(id, "value").(string)
		if jsonAt(p, "entity", 0, "role") != "source" || len(find(t, svc, "Observation", url.Values{"identifier": {sys + "|" + val}, "code": {"http://loinc.org|99504-3"}})) != 1 {
			t.Errorf("Provenance source %v does not name the reading", jsonAt(p, "entity", 0))
		}
	}

	events := find(t, svc, "AuditEvent", url.Values{"patient": {"Patient/p1"}, "entity": {"Observation/" + got[0]["id"].(string)}})
	if len(events) != 1 {
		t.Fatalf("%d AuditEvents of the forecast's write, want 1", len(events))
	}
	if who := jsonAt(events[0], "agent", 0, "who", "identifier", "value"); who != twinAgent {
		t.Errorf("AuditEvent agent %v, want %s", who, twinAgent)
	}
	if refs := mustJSON(t, events[0]["entity"]); !strings.Contains(refs, "Provenance/") {
		t.Errorf("AuditEvent entities %s: the Provenance is missing", refs)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// versionCount returns the number of versions of typ/id.
func versionCount(t testing.TB, svc *fhirops.Service, typ, id string) int {
	t.Helper()
	b, err := svc.History(context.Background(), typ, id, url.Values{}, "http://x/fhir")
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Total int `json:"total"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	return bundle.Total
}

// TestWritebackCadence: with a 15-min cadence, forecasts every 5 min
// update each horizon's Observation in place every 15 min (versions in
// _history, each with its Provenance); after a restart, forecasts of
// readings replayed are not written again, and the next one due is.
func TestWritebackCadence(t *testing.T) {
	dir := t.TempDir()
	svc, _ := auditedService(t, dir, nil)
	reg := metrics.NewRegistry()
	w := newTestWriteback(t, svc, writebackOptions{Every: 15 * time.Minute, Metrics: reg})
	var events []twin.Event
	for i := range 7 { // 10:00 ... 10:30
		events = append(events, forecastEvent(cgmReading("p1", wbT0.Add(time.Duration(5*i)*time.Minute), 150+float64(i))))
	}
	emitAll(t, w, events[:5]...) // 10:00 .. 10:20: stored at 10:00 and 10:15
	id := forecastID("p1", 30)
	if n := versionCount(t, svc, "Observation", id); n != 2 {
		t.Errorf("%d versions after 10:00-10:20, want 2 (10:00, 10:15)", n)
	}
	var text bytes.Buffer
	reg.WriteText(&text)
	for _, line := range []string{`doppel_twin_writeback_total{kind="forecast",result="written"} 2`, `doppel_twin_writeback_total{kind="forecast",result="cadence"} 3`} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("metrics lack %s:\n%s", line, text.String())
		}
	}
	w.Close()

	// A restart: a new write-back knows nothing but the store.
	w = newTestWriteback(t, svc, writebackOptions{Every: 15 * time.Minute})
	emitAll(t, w, events[3:]...) // 10:15 and 10:20 replayed, 10:25, 10:30 new
	if n := versionCount(t, svc, "Observation", id); n != 3 {
		t.Errorf("%d versions after the replay and 10:30, want 3", n)
	}
	v, err := svc.Read(context.Background(), "Observation", id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(v.Body), `"effectiveDateTime":"2026-11-25T11:00:00Z"`) {
		t.Errorf("current 30-min forecast %s, want the one of 10:30", v.Body)
	}
	provs := find(t, svc, "Provenance", url.Values{"target": {"Observation/" + id}})
	var targets []string
	for _, p := range provs {
		for _, tg := range p["target"].([]any) {
			if r := jsonAt(tg, "reference").(string); strings.HasPrefix(r, "Observation/"+id) {
				targets = append(targets, strings.TrimPrefix(r, "Observation/"+id))
			}
		}
	}
	if diff := cmp.Diff([]string{"/_history/1", "/_history/2", "/_history/3"}, targets, sortStrings); diff != "" {
		t.Errorf("Provenance targets (-want +got):\n%s", diff)
	}
}

var sortStrings = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

// TestWritebackAlerts: alerts are stored when emitted, once (also when
// emitted again after a restart): a predicted hypoglycaemia as a
// RiskAssessment on the reading, a NEWS2 escalation and a lost stream as
// Flags, each with its Provenance and audit record; the audit chain
// holds (doppel audit verify).
func TestWritebackAlerts(t *testing.T) {
	svc, log := auditedService(t, t.TempDir(), nil)
	reading := cgmReading("p1", wbT0, 80)
	alerts := []twin.Event{
		{Patient: "p1", Kind: twin.KindAlert, Time: wbT0, Data: []clinical.Observation{reading}, Alert: &twin.Alert{Kind: twin.AlertHypo, Probability: 0.8, Message: "low"}},
		{Patient: "p1", Kind: twin.KindAlert, Time: wbT0.Add(20 * time.Minute), Alert: &twin.Alert{Kind: twin.AlertStreamLost, Message: "no CGM"}},
		{Patient: "p2", Kind: twin.KindAlert, Time: wbT0, Alert: &twin.Alert{Kind: twin.AlertNEWS2, Score: 7, Response: "urgent", Message: "NEWS2 7"}},
	}
	for range 2 { // the second time by a restarted write-back
		w := newTestWriteback(t, svc, writebackOptions{})
		emitAll(t, w, alerts...)
		emitAll(t, w, alerts[0])
		w.Close()
	}
	for _, c := range []struct {
		typ, patient string
		want         int
	}{{"RiskAssessment", "p1", 1}, {"Flag", "p1", 1}, {"Flag", "p2", 1}, {"Observation", "p1", 0}} {
		got := find(t, svc, c.typ, url.Values{"patient": {"Patient/" + c.patient}, "_tag": {twinTagSystem + "|" + tagModelOutput}})
		if len(got) != c.want {
			t.Errorf("%d %s of %s, want %d", len(got), c.typ, c.patient, c.want)
			continue
		}
		for _, r := range got {
			ref := c.typ + "/" + r["id"].(string)
			if n := len(find(t, svc, "Provenance", url.Values{"target": {ref + "/_history/1"}})); n != 1 {
				t.Errorf("%d Provenances of %s, want 1", n, ref)
			}
			if n := len(find(t, svc, "AuditEvent", url.Values{"entity": {ref}, "patient": {"Patient/" + c.patient}})); n != 1 {
				t.Errorf("%d AuditEvents of %s, want 1", n, ref)
			}
		}
	}
	rep, err := log.Verify(context.Background())
	if err != nil || !rep.OK() || rep.Records != 2+3 { // the model Devices, the three alerts
		t.Errorf("audit chain: %+v, %v; want 5 records intact", rep, err)
	}
	ra := find(t, svc, "RiskAssessment", url.Values{"patient": {"Patient/p1"}})[0]
	if p := jsonAt(ra, "prediction", 0, "probabilityDecimal"); p != 0.8 {
		t.Errorf("hypoglycaemia probability %v, want 0.8", p)
	}
	if b := jsonAt(ra, "basis", 0, "identifier", "system"); b != deviceObsSystem {
		t.Errorf("hypoglycaemia basis %v, want the reading", jsonAt(ra, "basis"))
	}
}

// TestWritebackNEWS2Trend: a ward twin's trend forecast is one
// RiskAssessment per patient, updated in place, with the probability of
// escalation within 12 h and the median crossing time, based on the six
// vitals of the set.
func TestWritebackNEWS2Trend(t *testing.T) {
	svc, _ := auditedService(t, t.TempDir(), nil)
	w := newTestWriteback(t, svc, writebackOptions{})
	var vitals []clinical.Observation
	for _, c := range []string{clinical.CodeRespRate, clinical.CodeSpO2, clinical.CodeBPPanel, clinical.CodeHeartRate, clinical.CodeBodyTemp, clinical.CodeConsciousness} {
		vitals = append(vitals, clinical.Observation{Patient: "w1", Device: "mon-1", Code: c, Effective: wbT0})
	}
	h := 2.5
	emitAll(t, w,
		twin.Event{Patient: "w1", Kind: twin.KindNEWS2, Time: wbT0, Data: vitals, NEWS2: &twin.NEWS2{At: wbT0, Total: 3, Response: "ward-based response", PEscal: 0.25}},
		twin.Event{Patient: "w1", Kind: twin.KindNEWS2, Time: wbT0.Add(time.Hour), Data: vitals, NEWS2: &twin.NEWS2{At: wbT0.Add(time.Hour), Total: 5, Response: "urgent ward-based response", PEscal: 0.625, Escalate: &h}})
	got := find(t, svc, "RiskAssessment", url.Values{"patient": {"Patient/w1"}, "_tag": {twinTagSystem + "|" + tagForecast}})
	if len(got) != 1 {
		t.Fatalf("%d trend RiskAssessments, want 1", len(got))
	}
	ra := got[0]
	type pred struct {
		P         any
		High, End any
	}
	var preds []pred
	for i := range ra["prediction"].([]any) {
		preds = append(preds, pred{jsonAt(ra, "prediction", i, "probabilityDecimal"), jsonAt(ra, "prediction", i, "whenRange", "high", "value"), jsonAt(ra, "prediction", i, "whenPeriod", "end")})
	}
	want := []pred{{0.625, 12.0, nil}, {0.5, nil, "2026-11-25T13:30:00Z"}}
	if diff := cmp.Diff(want, preds); diff != "" {
		t.Errorf("predictions (-want +got):\n%s", diff)
	}
	if n := len(ra["basis"].([]any)); n != 6 {
		t.Errorf("%d basis entries, want the 6 vitals", n)
	}
	if n := versionCount(t, svc, "RiskAssessment", ra["id"].(string)); n != 2 {
		t.Errorf("%d versions, want 2", n)
	}
}

// stuckStore holds every write until release is closed, after telling
// entered that one began.
type stuckStore struct {
	store.Store
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stuckStore) Write(ctx context.Context, fn func(w store.Writer) error) error {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return s.Store.Write(ctx, fn)
}

// TestWritebackNeverBlocks: while the store is stuck, Emit returns at
// once; the forecasts that do not fit the queue are dropped and counted,
// the others written when the store comes back.
func TestWritebackNeverBlocks(t *testing.T) {
	stuck := &stuckStore{entered: make(chan struct{}), release: make(chan struct{})}
	svc, _ := auditedService(t, t.TempDir(), func(s store.Store) store.Store { stuck.Store = s; return stuck })
	close(stuck.release) // the model Devices
	newTestWriteback(t, svc, writebackOptions{}).Close()
	stuck.entered, stuck.release, stuck.once = make(chan struct{}), make(chan struct{}), sync.Once{}
	reg := metrics.NewRegistry()
	w := newTestWriteback(t, svc, writebackOptions{Workers: 1, Queue: 2, Metrics: reg})
	for i := range 5 {
		if i == 1 {
			<-stuck.entered // the worker holds the first
		}
		if err := w.Emit(context.Background(), forecastEvent(cgmReading("p"+string(rune('a'+i)), wbT0, 150))); err != nil {
			t.Fatal(err)
		}
	}
	close(stuck.release)
	w.Close()
	var text bytes.Buffer
	reg.WriteText(&text)
	for _, line := range []string{`doppel_twin_writeback_total{kind="forecast",result="written"} 3`, `doppel_twin_writeback_total{kind="forecast",result="dropped"} 2`} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("metrics lack %s:\n%s", line, text.String())
		}
	}
}

// TestWritebackDeviceOnce: the model Devices are created by the first
// write-back on a store and left as they are by the next.
func TestWritebackDeviceOnce(t *testing.T) {
	svc, _ := auditedService(t, t.TempDir(), nil)
	for range 2 {
		newTestWriteback(t, svc, writebackOptions{}).Close()
	}
	devs := find(t, svc, "Device", url.Values{"type": {twinTagSystem + "|software"}})
	if len(devs) != 2 {
		t.Fatalf("%d model Devices, want 2 (glucose, NEWS2)", len(devs))
	}
	for _, d := range devs {
		if n := versionCount(t, svc, "Device", d["id"].(string)); n != 1 {
			t.Errorf("Device/%s has %d versions, want 1", d["id"], n)
		}
	}
}

// benchService is auditedService for a benchmark, with a function that
// returns the bytes the store's database uses (pages in use, after a WAL
// checkpoint).
func benchService(b *testing.B, dir string) (*fhirops.Service, func() int64) {
	svc, _ := auditedService(b, dir, nil)
	db, err := sql.Open("sqlite", filepath.Join(dir, sqliteFile))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return svc, func() int64 {
		var n int64
		if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			b.Fatal(err)
		}
		if err := db.QueryRow("SELECT (c.page_count - f.freelist_count) * s.page_size FROM pragma_page_count() c, pragma_freelist_count() f, pragma_page_size() s").Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
}

// benchForecasts are forecasts of 1,000 patients, one reading each 5 min.
func benchForecasts(i int) twin.Event {
	const patients = 1000
	p := "bench-" + strconv.Itoa(i%patients)
	return forecastEvent(cgmReading(p, wbT0.Add(time.Duration(i/patients)*5*time.Minute), 100+float64(i%200)))
}

// BenchmarkWritebackForecast writes one glucose forecast at a time (three
// Observations in place, their Provenance, the audit record; no cadence)
// and reports the store's growth per forecast (SQLite, after a checkpoint).
func BenchmarkWritebackForecast(b *testing.B) {
	svc, used := benchService(b, b.TempDir())
	w := newTestWriteback(b, svc, writebackOptions{Workers: 1})
	ctx := context.Background()
	state := map[string]*stored{}
	before := used()
	i := 0
	for b.Loop() {
		if res, err := w.forecast(ctx, state, benchForecasts(i)); err != nil || res != wbWritten {
			b.Fatal(res, err)
		}
		i++
	}
	b.ReportMetric(float64(used()-before)/float64(i), "disk-B/forecast")
}

// BenchmarkWritebackThroughput hands forecasts to the write-back as the
// twins do (Emit: queue, 8 workers) and waits until 256 are written.
func BenchmarkWritebackThroughput(b *testing.B) {
	svc, _ := benchService(b, b.TempDir())
	w := newTestWriteback(b, svc, writebackOptions{})
	ctx := context.Background()
	const batch = 256
	i := 0
	for b.Loop() {
		for range batch {
			if err := w.Emit(ctx, benchForecasts(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
		if err := w.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "forecasts/s")
}
