package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/twin"
)

// mqttPacket frames an MQTT 3.1.1 control packet: the fixed header byte,
// the remaining length (variable-length integer, §2.2.3) and the body.
func mqttPacket(header byte, body []byte) []byte {
	out := []byte{header}
	n := len(body)
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// mqttString is a length-prefixed UTF-8 string (§1.5.3).
func mqttString(s string) []byte {
	return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...)
}

// mqttPublish connects to addr as client id with password secret (user
// name id), publishes payload to topic with QoS 1 and waits for the
// PUBACK: a device as small as it gets. It returns the CONNACK return
// code; if it is not 0 nothing is published.
func mqttPublish(t *testing.T, addr, id, secret, topic string, payload []byte) byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	// Level 4, user name, password, clean session; keep-alive 30 s.
	connect := append(mqttString("MQTT"), 4, 0xC2, 0, 30)
	connect = append(connect, mqttString(id)...)
	connect = append(connect, mqttString(id)...)
	connect = append(connect, mqttString(secret)...)
	if _, err := c.Write(mqttPacket(0x10, connect)); err != nil {
		t.Fatal(err)
	}
	var ack [4]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		t.Fatal(err)
	}
	if ack[0] != 0x20 || ack[1] != 2 {
		t.Fatalf("CONNACK % x", ack)
	}
	if ack[3] != 0 {
		return ack[3]
	}
	publish := append(mqttString(topic), 0, 1) // packet id 1
	publish = append(publish, payload...)
	if _, err := c.Write(mqttPacket(0x32, publish)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		t.Fatal(err)
	}
	if want := [4]byte{0x40, 2, 0, 1}; ack != want {
		t.Fatalf("PUBACK % x, want % x", ack, want)
	}
	return 0
}

// putCGMPatient creates Patient p1 and its CGM Device cgm-1 on the FHIR
// base with the admin authorization.
func putCGMPatient(t *testing.T, base, admin string) {
	t.Helper()
	for _, r := range []struct{ path, body string }{
		{"/Patient/p1", `{"resourceType":"Patient","id":"p1"}`},
		{"/Device/cgm-1", `{"resourceType":"Device","id":"cgm-1","patient":{"reference":"Patient/p1"}}`},
	} {
		if code, _, b := send(t, "PUT", base+r.path, r.body, "Authorization", admin); code != 201 {
			t.Fatalf("PUT %s: %d %s", r.path, code, b)
		}
	}
}

// TestServeTwinsMQTT: end to end through doppel serve --twins
// --device-key-file: a CGM device logs in with its secret (a wrong one is
// refused: CONNACK 5, not authorized, from nats-server; 4 would do too)
// and publishes by MQTT; the patient's own token follows the twin's events
// over SSE and receives the forecast; the reading is stored as an
// Observation; the server then stops cleanly with the stream still open.
func TestServeTwinsMQTT(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mqttAddr := l.Addr().String()
	l.Close()
	keyFile := filepath.Join(t.TempDir(), "device.key")
	key := []byte("0123456789abcdef0123456789abcdef")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, dir, "--twins", "--mqtt-addr", mqttAddr, "--device-key-file", keyFile)
	root := strings.TrimSuffix(base, "/fhir")
	admin := "Bearer " + adminToken(t, dir)
	putCGMPatient(t, base, admin)
	req, err := http.NewRequest("GET", root+"/twin/p1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+mintToken(t, dir, auth.Grant{Role: "patient", Patient: "p1"}))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Scan() // the opening comment: subscribed
	at := time.Now().UTC().Truncate(time.Second)
	start := time.Now()
	msg := []byte(`{"device":"cgm-1","observations":[{"code":"cgm","t":"` + at.Format(time.RFC3339) + `","v":5.5,"unit":"mmol/L"}]}`)
	if rc := mqttPublish(t, mqttAddr, "cgm-1", "wrong", "doppel/devices/cgm-1/obs", msg); rc != 4 && rc != 5 {
		t.Errorf("wrong secret: CONNACK %d, want 4 or 5 (bad user name or password, not authorized)", rc)
	}
	// HMAC-SHA256 of "cgm-1" under the key, by openssl (see deviceSecret).
	secret := "8d5bbf3f3453790822648479d1f2ccb5ecb813565026ec921edd3fe4988f6d56"
	if rc := mqttPublish(t, mqttAddr, "cgm-1", secret, "doppel/devices/cgm-1/obs", msg); rc != 0 {
		t.Fatalf("device secret refused: CONNACK %d", rc)
	}
	var ev twin.Event
	for lines.Scan() {
		if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	t.Logf("MQTT publish to SSE forecast event: %v", time.Since(start))
	if ev.Kind != twin.KindForecast || ev.Forecast == nil || ev.Forecast.Reading != 5.5*18.016 {
		t.Errorf("event %+v, want the forecast after 5.5 mmol/L = 99.088 mg/dL", ev)
	}
	code, _, b := send(t, "GET", base+"/Patient/p1/$samples?code=99504-3", "", "Authorization", admin)
	if code != 200 || strings.Count(string(b), `"resourceType":"Observation"`) != 1 {
		t.Errorf("stored CGM samples: %d %s", code, b)
	}
	if code, stderr := stop(); code != 0 {
		t.Errorf("serve exit %d, stderr:\n%s", code, stderr)
	}
}

// TestServeDeviceLimitsAndNotices: with --device-rate, a device's messages
// over HTTP and MQTT share one limit (here bursts of 2, then one per 100 s):
// the third message is refused, over HTTP with 429 and Retry-After, over
// MQTT (PUBACKed: stored) with a notice on the device's rejected topic,
// where it also reads why a reading was refused. A device may subscribe
// to its own rejected topic only. The refusals and the stream lag are in
// /metrics.
func TestServeDeviceLimitsAndNotices(t *testing.T) {
	dir := t.TempDir()
	mqttAddr := freeAddr(t)
	keyFile := filepath.Join(t.TempDir(), "device.key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, dir, "--twins", "--mqtt-addr", mqttAddr, "--device-key-file", keyFile,
		"--device-rate", "0.01", "--device-burst", "2")
	root := strings.TrimSuffix(base, "/fhir")
	admin := "Bearer " + adminToken(t, dir)
	putCGMPatient(t, base, admin)
	// HMAC-SHA256 of "cgm-1" under the key, by openssl (see TestServeTwinsMQTT).
	secret := "8d5bbf3f3453790822648479d1f2ccb5ecb813565026ec921edd3fe4988f6d56"
	m, err := mqttDial(mqttAddr, "cgm-1", secret)
	if err != nil {
		t.Fatal(err)
	}
	defer m.c.Close()
	for _, c := range []struct {
		topic string
		want  byte
	}{{"doppel/devices/cgm-1/rejected", 0}, {"doppel/devices/cgm-2/rejected", 0x80}, {"doppel/devices/+/rejected", 0x80}} {
		if got, err := m.subscribe(c.topic); err != nil || got != c.want {
			t.Errorf("SUBSCRIBE %s: %#x, %v; want %#x", c.topic, got, err, c.want)
		}
	}
	at := time.Now().UTC().Truncate(time.Second).Add(-10 * time.Minute)
	reading := func(min int, v float64) []byte {
		return fmt.Appendf(nil, `{"device":"cgm-1","observations":[{"code":"cgm","t":%q,"v":%g,"unit":"mg/dL"}]}`,
			at.Add(time.Duration(min)*time.Minute).Format(time.RFC3339), v)
	}
	type notice struct {
		Accepted int
		Rejected []struct {
			Index int
			Kind  string
		}
		Kind       string
		RetryAfter int `json:"retry_after_s"`
	}
	readNotice := func() notice {
		t.Helper()
		topic, payload, err := m.next(20 * time.Second)
		if err != nil {
			t.Fatalf("no notice: %v", err)
		}
		var n notice
		if err := json.Unmarshal(payload, &n); err != nil || topic != "doppel/devices/cgm-1/rejected" {
			t.Fatalf("notice on %s: %s (%v)", topic, payload, err)
		}
		return n
	}
	// 1: over MQTT, out of range.
	if err := m.publish("doppel/devices/cgm-1/obs", reading(0, 5000)); err != nil {
		t.Fatal(err)
	}
	if n := readNotice(); n.Kind != "" || len(n.Rejected) != 1 || n.Rejected[0].Kind != "out-of-range" {
		t.Errorf("notice %+v, want reading 0 out-of-range", n)
	}
	// 2 and 3: over HTTP; the third message of the device is over its limit.
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("cgm-1:"+secret))
	if code, _, b := send(t, "POST", root+"/device/observations", string(reading(1, 120)), "Authorization", basic); code != 200 {
		t.Fatalf("second message: %d %s", code, b)
	}
	req, err := http.NewRequest("POST", root+"/device/observations", bytes.NewReader(reading(2, 121)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", basic)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ra := resp.Header.Get("Retry-After"); resp.StatusCode != 429 || (ra != "99" && ra != "100") || !strings.Contains(string(b), `"kind":"rate-limited"`) {
		t.Errorf("third message: %d, Retry-After %q, %s; want 429, 99 to 100 s (one message per 100 s)", resp.StatusCode, ra, b)
	}
	// 4: over MQTT, still over the limit: stored, refused, noticed.
	if err := m.publish("doppel/devices/cgm-1/obs", reading(3, 122)); err != nil {
		t.Fatal(err)
	}
	if n := readNotice(); n.Kind != "rate-limited" || n.RetryAfter < 99 || n.RetryAfter > 100 {
		t.Errorf("notice %+v, want rate-limited, retry after 99 to 100 s", n)
	}
	want := []string{
		`doppel_ingest_rejected_total{source="stream",reason="out-of-range"} 1`,
		`doppel_ingest_rejected_total{source="stream",reason="rate-limited"} 1`,
		`doppel_ingest_rejected_total{source="http",reason="rate-limited"} 1`,
		`doppel_ingest_accepted_total{source="http"} 1`,
		`doppel_stream_pending_messages{consumer="ingest"} 0`,
		`doppel_stream_pending_messages{consumer="ingest-mqtt"} 0`,
		`doppel_stream_pending_messages{consumer="twins"} 0`,
		`doppel_stream_oldest_unprocessed_age_seconds{consumer="twins"} 0`,
	}
	var missing []string
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		// The lag gauges are read every 5 s.
		_, _, b := send(t, "GET", root+"/metrics", "", "Authorization", admin)
		missing = missing[:0]
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			break
		}
	}
	if len(missing) > 0 {
		t.Errorf("/metrics lacks %q", missing)
	}
	if code, stderr := stop(); code != 0 {
		t.Errorf("serve exit %d, stderr:\n%s", code, stderr)
	}
}
