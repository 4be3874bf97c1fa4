package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
)

var hospitalFHIR = filepath.Join("..", "..", "examples", "hospital_fhir.yaml")

// censusResources are the Locations of examples/hospital_fhir.yaml's
// mapping and the Encounters of a census at time at: on the ward 2 (one
// of them in a bed that is part of ward w2), in the ICU 1 (by its name),
// in the ED 1; one finished and one at an unmapped clinic are not in it.
func censusResources(at time.Time) []string {
	ts := func(h float64) string {
		return at.Add(-time.Duration(h * float64(time.Hour))).UTC().Format(time.RFC3339)
	}
	enc := func(id, status, loc, start string) string {
		return fmt.Sprintf(`{"resourceType":"Encounter","id":%q,"status":%q,"class":{"code":"IMP"},"period":{"start":%q},"location":[{"location":{"reference":"Location/%s"},"status":"active","period":{"start":%q}}]}`, id, status, start, loc, start)
	}
	return []string{
		`{"resourceType":"Location","id":"ed","name":"Emergency","type":[{"coding":[{"code":"ER"}]}]}`,
		`{"resourceType":"Location","id":"w1","name":"Ward 1"}`,
		`{"resourceType":"Location","id":"w2","name":"Ward 2"}`,
		`{"resourceType":"Location","id":"w2-b7","name":"Ward 2 bed 7","partOf":{"reference":"Location/w2"}}`,
		`{"resourceType":"Location","id":"icu1","name":"Intensive care"}`,
		`{"resourceType":"Location","id":"clinic","name":"Clinic"}`,
		enc("e1", "in-progress", "w1", ts(30)),
		enc("e2", "in-progress", "w2-b7", ts(50)),
		enc("e3", "in-progress", "icu1", ts(12)),
		enc("e4", "arrived", "ed", ts(1)),
		enc("e5", "in-progress", "clinic", ts(2)),
		`{"resourceType":"Encounter","id":"e6","status":"finished","class":{"code":"IMP"},"period":{"start":"` + ts(90) + `","end":"` + ts(10) + `"},"location":[{"location":{"reference":"Location/w1"},"period":{"start":"` + ts(90) + `","end":"` + ts(10) + `"}}]}`,
	}
}

// loadStore writes resources into the SQLite store of data directory dir.
func loadStore(t *testing.T, dir string, resources []string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	bs := make([][]byte, len(resources))
	for i, r := range resources {
		bs[i] = []byte(r)
	}
	if _, err := fhirops.New(st, reg, fhirops.Options{}).Load(ctx, bs); err != nil {
		t.Fatal(err)
	}
}

// forecastJSON is what the tests read of doppel hospital --json.
type forecastJSON struct {
	Census struct {
		Source     string         `json:"source"`
		Inpatients map[string]int `json:"inpatients"`
		EDPatients int            `json:"ed_patients"`
		Unmapped   int            `json:"unmapped"`
	} `json:"census"`
	Units []struct {
		Name          string   `json:"name"`
		MeanOccupancy *float64 `json:"mean_occupancy"`
		PFull         *float64 `json:"p_full"`
	} `json:"units"`
	WhatIf []struct{ Name string } `json:"what_if"`
}

func checkForecast(t *testing.T, out []byte) {
	t.Helper()
	var got forecastJSON
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if diff := cmp.Diff(map[string]int{"ward": 2, "icu": 1}, got.Census.Inpatients); diff != "" || got.Census.EDPatients != 1 || got.Census.Unmapped != 1 || got.Census.Source != "fhir" {
		t.Errorf("census %+v (inpatients -want +got:\n%s)", got.Census, diff)
	}
	if len(got.Units) != 2 {
		t.Fatalf("units %+v, want ward and icu", got.Units)
	}
	for _, u := range got.Units {
		if u.MeanOccupancy == nil || u.PFull == nil {
			t.Errorf("unit %s: no mean_occupancy or p_full", u.Name)
		}
	}
	if len(got.WhatIf) != 1 {
		t.Errorf("what_if %+v, want one branch", got.WhatIf)
	}
}

// TestHospitalFHIR: doppel hospital --fhir-data takes the census of
// examples/hospital_fhir.yaml from the store.
func TestHospitalFHIR(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	loadStore(t, dir, censusResources(at))
	code, out, stderr := doppel(t, "hospital", hospitalFHIR, "--fhir-data", dir, "--at", at.Format(time.RFC3339), "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkForecast(t, []byte(out))
	code, out, stderr = doppel(t, "hospital", hospitalFHIR, "--fhir-data", dir, "--at", at.Format(time.RFC3339))
	want := "census from the FHIR store at 2026-03-02T12:00:00Z: 3 inpatients, 1 in the ED; 1 Encounters in progress at Locations no unit claims were left out\n"
	if code != exitOK || !strings.Contains(out, want) {
		t.Errorf("text output: exit %d, %s%s\nwant it to say %q", code, out, stderr, want)
	}

	for _, tc := range []struct {
		name string
		args []string
		file string // replaces the example's text, if set
		want string
	}{
		{"no store", []string{hospitalFHIR}, "", "the file's fhir: section needs --fhir-data DIR"},
		{"no mapping", []string{hospitalED, "--fhir-data", dir}, "", "--fhir-data needs a fhir: section"},
		{"missing dir", []string{hospitalFHIR, "--fhir-data", filepath.Join(dir, "nope")}, "", "--fhir-data"},
		{"bad at", []string{hospitalFHIR, "--fhir-data", dir, "--at", "noon"}, "", `--at "noon"`},
		{"unknown location", []string{"--fhir-data", dir}, strings.Replace(mustRead(t, hospitalFHIR), "Location/w2]", "Location/w9]", 1),
			`the mapping of unit ward names "Location/w9", but the store holds no such Location`},
		{"unknown unit", []string{"--fhir-data", dir}, strings.Replace(mustRead(t, hospitalFHIR), "icu:  {types: [ICU]", "cardio:  {types: [ICU]", 1),
			`fhir.units.cardio: unknown unit; valid: ward, icu`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				f := filepath.Join(t.TempDir(), "h.yaml")
				if err := os.WriteFile(f, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append([]string{f}, args...)
			}
			code, _, stderr := doppel(t, append([]string{"hospital"}, args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitUsage, tc.want)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServeHospitalForecast: POST /twin/hospital/forecast runs the posted
// hospital file from the store's census and answers what doppel hospital
// --json prints; it needs a token that reads and searches Encounters and
// Locations (a patient token is refused), and it is audited as the
// operation $hospital-forecast.
func TestServeHospitalForecast(t *testing.T) {
	dir := t.TempDir()
	loadStore(t, dir, censusResources(time.Now()))
	base, stop := startServe(t, dir)
	url := strings.TrimSuffix(base, "/fhir") + "/twin/hospital/forecast"
	body := mustRead(t, hospitalFHIR)
	bearer := func(g auth.Grant) []string {
		return []string{"Authorization", "Bearer " + mintToken(t, dir, g), "Content-Type", "application/yaml"}
	}
	reader := bearer(auth.Grant{Subject: "bed-manager", Scope: "user/Encounter.rs user/Location.rs"})

	code, _, out := send(t, "POST", url, body, reader...)
	if code != http.StatusOK {
		t.Fatalf("forecast: %d %s", code, out)
	}
	checkForecast(t, out)

	for _, tc := range []struct {
		name string
		hdr  []string
		body string
		want int
	}{
		{"no token", []string{"Content-Type", "application/yaml"}, body, http.StatusUnauthorized},
		{"patient token", bearer(auth.Grant{Role: "patient", Patient: "p1"}), body, http.StatusForbidden},
		{"no Location scope", bearer(auth.Grant{Scope: "user/Encounter.rs"}), body, http.StatusForbidden},
		{"bad config", reader, "horizon: 7d\n", http.StatusBadRequest},
		{"census in the body", reader, body + "census: {ward: [1d]}\n", http.StatusBadRequest},
		{"too many replications", reader, strings.Replace(body, "replications: 50", "replications: 5000", 1), http.StatusUnprocessableEntity},
		{"empty body", reader, "", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, out := send(t, "POST", url, tc.body, tc.hdr...)
			if code != tc.want {
				t.Errorf("%d %s, want %d", code, out, tc.want)
			}
		})
	}

	// The audit trail: one operation record per request, the refusals too
	// (written by the time the server has stopped).
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("serve exit %d: %s", code, stderr)
	}
	base, stop = startServe(t, dir)
	admin := []string{"Authorization", "Bearer " + adminToken(t, dir)}
	code, _, out = send(t, "GET", base+"/AuditEvent?_count=100", "", admin...)
	stop()
	if code != http.StatusOK {
		t.Fatalf("AuditEvent search: %d %s", code, out)
	}
	var b struct {
		Entry []struct {
			Resource struct {
				Subtype []struct{ Code string }
				Outcome string
				Entity  []struct {
					Query string
				}
				Agent []struct {
					Who struct{ Display string }
				}
			}
		}
	}
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatal(err)
	}
	ops := 0
	for _, e := range b.Entry {
		if len(e.Resource.Subtype) > 0 && e.Resource.Subtype[0].Code == "operation" {
			ops++
		}
	}
	if ops != 7 {
		t.Errorf("%d operation AuditEvents, want one for each of the 7 authenticated forecast requests:\n%s", ops, out)
	}
}

// TestForecastStops: a forecast over its time limit is refused as too
// costly (422), one whose client has gone stops with the request's
// context, and one more than forecastConcurrent at once is refused (429).
func TestForecastStops(t *testing.T) {
	dir := t.TempDir()
	loadStore(t, dir, censusResources(time.Now()))
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	body := []byte(mustRead(t, hospitalFHIR))

	h := newHospitalForecaster(st)
	h.timeout = time.Nanosecond
	_, err = h.Forecast(context.Background(), body)
	var fe *fhir.Error
	if !errors.As(err, &fe) || fe.Status != http.StatusUnprocessableEntity || !strings.Contains(fe.Issues[0].Diagnostics, "did not finish within 1ns") {
		t.Errorf("over the time limit: %v, want a 422 too-costly", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newHospitalForecaster(st).Forecast(ctx, body); !errors.Is(err, context.Canceled) {
		t.Errorf("client gone: %v, want context.Canceled", err)
	}

	h = newHospitalForecaster(st)
	for range forecastConcurrent {
		h.running <- struct{}{} // forecasts running
	}
	if _, err = h.Forecast(context.Background(), body); !errors.As(err, &fe) || fe.Status != http.StatusTooManyRequests {
		t.Errorf("while %d run: %v, want a 429", forecastConcurrent, err)
	}
}

// TestHospitalFHIRCalibrate: with fhir.calibrate the arrivals, routes and
// stays are fitted to the store's Encounters. The Encounters are made so
// that the fit is known by hand: one ED arrival on each hour of 30 days
// (720 in 720 h: 1 an hour, flat profiles); every 5th of those in the
// first 27 days (130) admitted to the ward after 2 h, alternately for
// 24 h and 72 h, all gone by the census time (no censoring: the
// lognormal MLE is the mean and population SD of the log-stays,
// ln √(24·72) and ln 3 / 2); the others go home after 1 h or 4 h. Two of
// those are still in the ED at the census time, so 718 dispositions are
// known: the ward route is 130/718.
func TestHospitalFHIRCalibrate(t *testing.T) {
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	at := from.Add(720 * time.Hour)
	res := censusResources(at)[:6] // the Locations
	ts := func(h int) string { return from.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	admitted := 0
	for i := range 720 {
		switch {
		case i%5 == 0 && i < 27*24:
			los := 24
			if admitted%2 == 1 {
				los = 72
			}
			admitted++
			res = append(res, fmt.Sprintf(`{"resourceType":"Encounter","id":"c%d","status":"finished","class":{"code":"IMP"},"period":{"start":%q,"end":%q},"location":[`+
				`{"location":{"reference":"Location/ed"},"status":"completed","period":{"start":%q,"end":%q}},`+
				`{"location":{"reference":"Location/w1"},"status":"completed","period":{"start":%q,"end":%q}}]}`,
				i, ts(i), ts(i+2+los), ts(i), ts(i+2), ts(i+2), ts(i+2+los)))
		default:
			ed := 1 + 3*(i%2)
			status, end := "finished", fmt.Sprintf(`,"end":%q`, ts(i+ed))
			if i+ed > 720 {
				status, end = "in-progress", ""
			}
			res = append(res, fmt.Sprintf(`{"resourceType":"Encounter","id":"c%d","status":%q,"class":{"code":"EMER"},"period":{"start":%q%s},"location":[`+
				`{"location":{"reference":"Location/ed"},"period":{"start":%q%s}}]}`, i, status, ts(i), end, ts(i), end))
		}
	}
	dir := t.TempDir()
	loadStore(t, dir, res)
	file := filepath.Join(t.TempDir(), "h.yaml")
	text := strings.Replace(mustRead(t, hospitalFHIR), "  # calibrate: 90d", "  calibrate: 30d\n  time_zone: UTC", 1)
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := doppel(t, "hospital", file, "--fhir-data", dir, "--at", at.Format(time.RFC3339), "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Census struct {
			Calibration calibrationJSON `json:"calibration"`
		} `json:"census"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	c := got.Census.Calibration
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("rate_per_hour", c.RatePerHour, 1)
	for h, m := range c.HourOfDay {
		near(fmt.Sprintf("hour_of_day[%d]", h), m, 1)
	}
	for d, m := range c.DayOfWeek {
		near(fmt.Sprintf("day_of_week[%d]", d), m, 1)
	}
	if c.Arrivals != 720 || c.Routed != 718 || len(c.Units) != 2 {
		t.Fatalf("arrivals %d, routed %d, units %d: want 720, 718, 2", c.Arrivals, c.Routed, len(c.Units))
	}
	near("ward route", c.Units[0].Route, 130.0/718)
	near("icu route", c.Units[1].Route, 0)
	if l := c.Units[0].LOS; l == nil || l.Stays != 130 || l.Censored != 0 {
		t.Fatalf("ward LOS fit %+v, want 130 stays, none censored", l)
	}
	if l := c.Units[0].LOS; l.Dist != "lognormal" || l.Mu == nil || l.Sigma == nil {
		t.Fatalf("ward LOS fit %+v, want a lognormal", l)
	}
	near("ward LOS mu", *c.Units[0].LOS.Mu, math.Log(24*72)/2)
	near("ward LOS sigma", *c.Units[0].LOS.Sigma, math.Log(3)/2)
	if c.Units[1].LOS != nil {
		t.Errorf("icu LOS fitted to no stays: %+v", c.Units[1].LOS)
	}

	// stays: empirical resamples the stays: 24 h and 72 h, mean 48 h.
	if err := os.WriteFile(file, []byte(strings.Replace(text, "  calibrate: 30d", "  calibrate: 30d\n  stays: empirical", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = doppel(t, "hospital", file, "--fhir-data", dir, "--at", at.Format(time.RFC3339), "--json")
	if code != exitOK {
		t.Fatalf("stays: empirical: exit %d: %s", code, stderr)
	}
	got.Census.Calibration = calibrationJSON{}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if l := got.Census.Calibration.Units[0].LOS; l == nil || l.Dist != "empirical" || l.MeanHours != 48 || l.Mu != nil {
		t.Errorf("stays: empirical: ward fit %+v, want empirical with mean 48 h", l)
	}
}

// TestHospitalFHIREncrypted: --fhir-data opens an encrypted store with
// --encryption-key-file, as every command does (openStore), and refuses it
// without.
func TestHospitalFHIREncrypted(t *testing.T) {
	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	in := filepath.Join(t.TempDir(), "census.ndjson")
	if err := os.WriteFile(in, []byte(strings.Join(censusResources(at), "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, key := t.TempDir(), storeKey(t, "3c")
	if code, _, errOut := doppel(t, "import", "--data", data, "--encryption-key-file", key, in); code != exitOK {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	args := []string{"hospital", hospitalFHIR, "--fhir-data", data, "--at", at.Format(time.RFC3339), "--json"}
	if code, _, errOut := doppel(t, args...); code != exitUsage || !strings.Contains(errOut, "the store is encrypted: give --encryption-key-file") {
		t.Errorf("without the key: exit %d, %s", code, errOut)
	}
	code, out, errOut := doppel(t, append(args, "--encryption-key-file", key)...)
	if code != exitOK {
		t.Fatalf("with the key: exit %d, %s", code, errOut)
	}
	checkForecast(t, []byte(out))
}
