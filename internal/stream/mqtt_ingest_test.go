package stream

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/device"
)

// TestMQTTKeptUntilIngested: a reading PUBACKed over MQTT is kept in the
// embedded server's MQTT message store for the ingest consumer, across a
// restart, until ingested; it is ingested once (its copy in DEVICES is
// skipped) and reaches its patient's observations once.
func TestMQTTKeptUntilIngested(t *testing.T) {
	dir := t.TempDir()
	s := openEmbedded(t, dir)
	m, err := dialMQTT(s.MQTTAddr(), "cgm-1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"device":"cgm-1","observations":[{"code":"cgm","t":"2026-11-25T10:00:00Z","v":100,"unit":"mg/dL"}]}`)
	if err := m.publish(device.Topic("cgm-1"), msg); err != nil {
		t.Fatal(err)
	}
	m.close()
	s.Close()

	s = openEmbedded(t, dir)
	if l, err := s.Lag(ctxT(t), MQTTDevices, "ingest"); err != nil || l.Pending != 1 {
		t.Fatalf("MQTT store after a restart: %+v, %v; want the reading pending for ingest", l, err)
	}
	var reports atomic.Int32
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.Ingest(ctx, Ingest{Decoder: device.Decoder{Now: func() time.Time { return time.Date(2026, 11, 25, 10, 6, 0, 0, time.UTC) }},
			Patient: func(string) (string, bool) { return "p1", true },
			Report:  func(string, device.Result, error) { reports.Add(1) }})
	}()
	c, err := s.Consumer(ctxT(t), Observations, "check", s.ObservationSubject("p1"))
	if err != nil {
		t.Fatal(err)
	}
	nctx, ncancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer ncancel()
	first, err := c.Next(nctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Stop()
	// Both copies (MQTT store and DEVICES) taken and acknowledged.
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		a, _ := s.Lag(ctxT(t), MQTTDevices, "ingest")
		b, _ := s.Lag(ctxT(t), Devices, "ingest")
		if a == (Lag{}) && b == (Lag{}) {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Ingest = %v", err)
	}
	if n := reports.Load(); n != 1 {
		t.Errorf("the reading ingested %d times, want once", n)
	}
	for _, src := range []Source{MQTTDevices, Devices} {
		if l, err := s.Lag(ctxT(t), src, "ingest"); err != nil || l != (Lag{}) {
			t.Errorf("source %d after ingest: %+v, %v; want nothing left", src, l, err)
		}
	}
	o, err := first.Observation()
	if err != nil || o.Patient != "p1" {
		t.Errorf("observation %+v, %v", o, err)
	}
	all, err := s.Consumer(ctxT(t), Observations, "count", "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fetchAll(t, all)); n != 1 {
		t.Errorf("%d observations, want 1", n)
	}
}

// TestIngestOrderPerDevice: with several workers, each device's messages
// reach its patient's observations in the order they were sent.
func TestIngestOrderPerDevice(t *testing.T) {
	s := openEmbedded(t, t.TempDir())
	const devices, each = 6, 30
	for i := range each {
		for d := range devices {
			msg := fmt.Appendf(nil, `{"device":"cgm-%d","observations":[{"code":"cgm","t":"2026-11-25T%02d:%02d:00Z","v":100,"unit":"mg/dL"}]}`, d, 8+i/60, i%60)
			if err := s.PublishDevice(ctxT(t), fmt.Sprintf("cgm-%d", d), msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.Ingest(ctx, Ingest{Decoder: device.Decoder{Now: func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) }},
			Patient: func(dev string) (string, bool) { return "p-" + dev, true }, Workers: 4})
	}()
	c, err := s.Consumer(ctxT(t), Observations, "check", "")
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]time.Time{}
	for n := 0; n < devices*each; n++ {
		nctx, ncancel := context.WithTimeout(t.Context(), 10*time.Second)
		m, err := c.Next(nctx)
		ncancel()
		if err != nil {
			t.Fatalf("after %d observations: %v", n, err)
		}
		o, err := m.Observation()
		if err != nil {
			t.Fatal(err)
		}
		if !o.Effective.After(last[o.Patient]) {
			t.Errorf("%s: %v after %v", o.Patient, o.Effective, last[o.Patient])
		}
		last[o.Patient] = o.Effective
		if err := m.Ack(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	c.Stop()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Ingest = %v", err)
	}
}
