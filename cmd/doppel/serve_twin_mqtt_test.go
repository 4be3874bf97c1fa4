package main

import (
	"bufio"
	"encoding/json"
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
	for _, r := range []struct{ path, body string }{
		{"/Patient/p1", `{"resourceType":"Patient","id":"p1"}`},
		{"/Device/cgm-1", `{"resourceType":"Device","id":"cgm-1","patient":{"reference":"Patient/p1"}}`},
	} {
		if code, _, b := send(t, "PUT", base+r.path, r.body, "Authorization", admin); code != 201 {
			t.Fatalf("PUT %s: %d %s", r.path, code, b)
		}
	}
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
