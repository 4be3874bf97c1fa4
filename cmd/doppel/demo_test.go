package main

import (
	"net"
	"os"
	"path/filepath"
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
	_, _, b = send(t, "GET", root+"/metrics", "", "Authorization", "Bearer "+admin)
	for _, want := range []string{`doppel_twin_alerts_total{kind="news2-response"} `, `doppel_twin_alerts_total{kind="hypoglycaemia-predicted"} `, `doppel_ingest_accepted_total{source="stream"} `} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, stderr := stop(); code != 0 {
		t.Errorf("serve exit %d, stderr:\n%s", code, stderr)
	}
}

// TestDemoClockResumes: a demo started again on the same data directory
// goes on after the simulated time the last one reached (its twins'
// snapshots are of then), and runs speed minutes a second.
func TestDemoClockResumes(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "twins"), 0o700); err != nil {
		t.Fatal(err)
	}
	reached := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
	if err := os.WriteFile(filepath.Join(dir, "twins", demoClockFile), []byte(reached.Format(time.RFC3339)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := newDemo(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !d.clock.sim0.After(reached) || d.clock.sim0.Sub(reached) > time.Hour {
		t.Errorf("resumed at %v, want within an hour after %v", d.clock.sim0, reached)
	}
	c := demoClock{wall0: time.Now().Add(-2 * time.Second), sim0: reached, speed: 5 * 60}
	if got := c.Now().Sub(reached); got < 10*time.Minute || got > 11*time.Minute {
		t.Errorf("2 s at 5 simulated minutes a second: %v, want 10 min (and a little)", got)
	}
	if _, err := newDemo(dir, 0); err == nil {
		t.Error("--demo-speed 0 accepted")
	}
}
