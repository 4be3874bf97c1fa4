package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/twin"
)

// TestServeDemo: doppel serve --demo streams its virtual patients in
// simulated time: within seconds a diabetes twin forecasts, the
// overdosed patient's twin predicts hypoglycaemia and the deteriorating
// ward patient's NEWS2 escalates (alerts on the SSE streams).
func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mqttAddr := l.Addr().String()
	l.Close()
	start := time.Now()
	base, stop := startServe(t, dir, "--demo", "--demo-speed", "60", "--mqtt-addr", mqttAddr)
	root := strings.TrimSuffix(base, "/fhir")
	admin := adminToken(t, dir)
	t1 := sseEvents(t, root+"/twin/demo-t1d-1/events", admin)
	ward := sseEvents(t, root+"/twin/demo-ward-3/events", admin)
	deadline := time.After(15 * time.Second)
	var forecast, hypo, news2 bool
	for !(forecast && hypo && news2) {
		select {
		case e := <-t1:
			forecast = forecast || e.Kind == twin.KindForecast
			if e.Kind == twin.KindAlert && e.Alert.Kind == twin.AlertHypo && !hypo {
				hypo = true
				t.Logf("hypoglycaemia alert after %v wall, at simulated %v: %s", time.Since(start), e.Time, e.Alert.Message)
			}
		case e := <-ward:
			if e.Kind == twin.KindAlert && e.Alert.Kind == twin.AlertNEWS2 && !news2 {
				news2 = true
				t.Logf("NEWS2 alert after %v wall: %s", time.Since(start), e.Alert.Message)
			}
		case <-deadline:
			t.Fatalf("after 15 s: forecast %v, hypoglycaemia alert %v, NEWS2 alert %v; want all", forecast, hypo, news2)
		}
	}
	code, _, b := send(t, "GET", base+"/Device?patient=demo-ward-3", "", "Authorization", "Bearer "+admin)
	if code != 200 || !strings.Contains(string(b), `"id":"demo-ward-3-monitor"`) {
		t.Errorf("Device of demo-ward-3: %d %s", code, b)
	}
	if code, stderr := stop(); code != 0 {
		t.Errorf("serve exit %d, stderr:\n%s", code, stderr)
	}
}
