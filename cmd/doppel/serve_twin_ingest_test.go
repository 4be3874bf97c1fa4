package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/twin"
)

// sseEvents reads the twin events of an SSE stream into a channel.
func sseEvents(t *testing.T, url, token string) <-chan twin.Event {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	ch := make(chan twin.Event, 64)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				var e twin.Event
				if json.Unmarshal([]byte(data), &e) == nil {
					ch <- e
				}
			}
		}
	}()
	return ch
}

func nextEvent(t *testing.T, ch <-chan twin.Event) twin.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("event stream ended")
		}
		return e
	case <-time.After(20 * time.Second):
		t.Fatal("no twin event within 20 s")
	}
	return twin.Event{}
}

// TestServeTwinsHTTPIngest: readings posted to /device/observations and
// a CGM Observation created through the FHIR API reach the patient's
// twin, each once and stored once (a sample, an Observation); refused
// readings (5000 mg/dL, a time a day ahead) are answered with their
// reasons, counted in /metrics and never reach the twin.
func TestServeTwinsHTTPIngest(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mqttAddr := l.Addr().String()
	l.Close()
	keyFile := filepath.Join(t.TempDir(), "device.key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	// HMAC-SHA256 of "cgm-1" under the key, by openssl (see TestServeTwinsMQTT).
	secret := "8d5bbf3f3453790822648479d1f2ccb5ecb813565026ec921edd3fe4988f6d56"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("cgm-1:"+secret))
	base, stop := startServe(t, dir, "--twins", "--mqtt-addr", mqttAddr, "--device-key-file", keyFile)
	root := strings.TrimSuffix(base, "/fhir")
	admin := "Bearer " + adminToken(t, dir)
	putCGMPatient(t, base, admin)
	events := sseEvents(t, root+"/twin/p1/events", mintToken(t, dir, auth.Grant{Role: "patient", Patient: "p1"}))
	at := time.Now().UTC().Truncate(time.Second).Add(-10 * time.Minute)
	ts := func(d time.Duration) string { return at.Add(d).Format(time.RFC3339) }

	bad := `{"device":"cgm-1","observations":[{"code":"cgm","t":"` + ts(0) + `","v":5000,"unit":"mg/dL"},{"code":"cgm","t":"` + ts(24*time.Hour) + `","v":100,"unit":"mg/dL"}]}`
	code, _, b := send(t, "POST", root+"/device/observations", bad, "Authorization", basic)
	var res struct {
		Accepted int
		Rejected []struct {
			Index int
			Kind  string
		}
	}
	if err := json.Unmarshal(b, &res); err != nil || code != 200 {
		t.Fatalf("bad readings: %d %s", code, b)
	}
	wantRes := struct {
		Accepted int
		Rejected []struct {
			Index int
			Kind  string
		}
	}{0, []struct {
		Index int
		Kind  string
	}{{0, "out-of-range"}, {1, "bad-time"}}}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("answer to bad readings (-want +got):\n%s", diff)
	}
	if code, _, b := send(t, "POST", root+"/device/observations", bad, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("cgm-1:wrong"))); code != 401 {
		t.Errorf("wrong secret: %d %s", code, b)
	}
	if code, _, b := send(t, "POST", root+"/device/observations", bad, "Authorization", admin); code != 401 {
		t.Errorf("a user token is no device secret: %d %s", code, b)
	}

	good := `{"device":"cgm-1","observations":[{"code":"cgm","t":"` + ts(0) + `","v":123,"unit":"mg/dL"}]}`
	for range 2 { // the second is a duplicate
		if code, _, b := send(t, "POST", root+"/device/observations", good, "Authorization", "Bearer "+secret); code != 200 || !strings.HasPrefix(string(b), `{"accepted":1,`) {
			t.Fatalf("good reading: %d %s", code, b)
		}
	}
	if e := nextEvent(t, events); e.Kind != twin.KindForecast || e.Forecast.Reading != 123 {
		t.Errorf("first event %+v, want the forecast after 123 mg/dL (the refused readings reach no twin)", e)
	}

	obs := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"99504-3"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"` + ts(5*time.Minute) + `","valueQuantity":{"value":7,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}`
	if code, _, b := send(t, "POST", base+"/Observation", obs, "Authorization", admin, "Content-Type", "application/fhir+json"); code != 201 {
		t.Fatalf("POST Observation: %d %s", code, b)
	}
	if e := nextEvent(t, events); e.Kind != twin.KindForecast || e.Forecast.Reading != 7*clinical.GlucoseMgPerMmol {
		t.Errorf("second event %+v, want the forecast after the FHIR Observation (7 mmol/L)", e)
	}
	code, _, b = send(t, "GET", base+"/Observation?patient=p1&code=99504-3", "", "Authorization", admin)
	if code != 200 || !strings.Contains(string(b), `"total":2`) || !strings.Contains(string(b), `"id":"ts-`) || !strings.Contains(string(b), `"value":7}`) {
		t.Errorf("CGM Observations of p1: %d %s, want the device reading (a sample, id ts-...) and the one posted", code, b)
	}
	code, _, b = send(t, "GET", base+"/Patient/p1/$samples?code=99504-3", "", "Authorization", admin)
	if n := strings.Count(string(b), `"resourceType":"Observation"`); code != 200 || n != 1 {
		t.Errorf("samples of p1: %d, %d Observations, want 1", code, n)
	}
	_, _, b = send(t, "GET", root+"/metrics", "", "Authorization", admin)
	for _, want := range []string{
		`doppel_ingest_accepted_total{source="http"} 2`,
		`doppel_ingest_accepted_total{source="fhir"} 1`,
		`doppel_ingest_rejected_total{source="http",reason="out-of-range"} 1`,
		`doppel_ingest_rejected_total{source="http",reason="bad-time"} 1`,
		`doppel_twin_update_duration_seconds_count 2`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, stderr := stop(); code != 0 {
		t.Errorf("serve exit %d, stderr:\n%s", code, stderr)
	}
}

// TestClinicalFromFHIR: which FHIR Observations a twin reads, and as what.
func TestClinicalFromFHIR(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	head := `{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-11-25T10:00:00Z",`
	for _, c := range []struct {
		name, body string
		want       *clinical.Observation
	}{
		{"heart rate", head + `"code":{"coding":[{"system":"http://snomed.info/sct","code":"x"},{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":72,"unit":"beats/minute","code":"/min"}}`,
			&clinical.Observation{Patient: "p1", Device: "Observation/o1", Code: "8867-4", Value: &clinical.Quantity{Value: 72, Unit: "/min"}, Effective: at}},
		{"temperature in F, unit only", head + `"code":{"coding":[{"system":"http://loinc.org","code":"8310-5"}]},"valueQuantity":{"value":98.6,"unit":"[degF]"}}`,
			&clinical.Observation{Patient: "p1", Device: "Observation/o1", Code: "8310-5", Value: &clinical.Quantity{Value: 37, Unit: "Cel"}, Effective: at}},
		{"blood pressure", head + `"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"code":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"code":"mm[Hg]"}}]}`,
			&clinical.Observation{Patient: "p1", Device: "Observation/o1", Code: "85354-9", Effective: at, Components: []clinical.Component{
				{Code: "8480-6", Value: clinical.Quantity{Value: 120, Unit: "mm[Hg]"}}, {Code: "8462-4", Value: clinical.Quantity{Value: 80, Unit: "mm[Hg]"}}}}},
		{"ACVPU", head + `"code":{"coding":[{"system":"http://loinc.org","code":"67775-7"}]},"valueCodeableConcept":{"text":"V"}}`,
			&clinical.Observation{Patient: "p1", Device: "Observation/o1", Code: "67775-7", ValueCode: "V", Effective: at}},
		{"entered in error", strings.Replace(head, "final", "entered-in-error", 1) + `"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":72,"code":"/min"}}`, nil},
		{"other code", head + `"code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"valueQuantity":{"value":5,"code":"mmol/L"}}`, nil},
		{"out of range", head + `"code":{"coding":[{"system":"http://loinc.org","code":"99504-3"}]},"valueQuantity":{"value":5000,"code":"mg/dL"}}`, nil},
		{"group subject", strings.Replace(head, "Patient/p1", "Group/g", 1) + `"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":72,"code":"/min"}}`, nil},
		{"no time", strings.Replace(head, "2026-11-25T10:00:00Z", "", 1) + `"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":72,"code":"/min"}}`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, ok := clinicalFromFHIR("o1", []byte(c.body))
			if c.want == nil {
				if ok {
					t.Errorf("taken as %+v, want not for twins", o)
				}
				return
			}
			if diff := cmp.Diff(*c.want, o); !ok || diff != "" {
				t.Errorf("ok %v (-want +got):\n%s", ok, diff)
			}
		})
	}
}

func FuzzClinicalFromFHIR(f *testing.F) {
	f.Add(`{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-11-25T10:00:00Z","code":{"coding":[{"system":"http://loinc.org","code":"99504-3"}]},"valueQuantity":{"value":120,"code":"mg/dL"}}`)
	f.Add(`{"status":"final","subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-11-25T10:00:00+02:00","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120}}]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		o, ok := clinicalFromFHIR("o1", []byte(body))
		if !ok {
			return
		}
		if !storedAlready(o) || !clinical.ValidID(o.Patient) {
			t.Errorf("taken as %+v: want a patient and the FHIR source mark", o)
		}
		o.Device = "o1"
		if _, err := clinical.Normalize(o); err != nil {
			t.Errorf("taken observation not normal: %v", err)
		}
	})
}
