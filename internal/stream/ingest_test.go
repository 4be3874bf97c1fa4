package stream

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/device"
)

type report struct {
	Device   string
	Accepted int
	Rejected []int
	Kind     clinical.Kind // of a whole-message error
}

// TestIngestMQTT: device messages over MQTT reach the patient's OBS subject
// validated and normalised, refusals are reported, a re-sent message adds
// nothing, and an unregistered device reaches no patient.
func TestIngestMQTT(t *testing.T) {
	s := openEmbedded(t, t.TempDir())
	var mu sync.Mutex
	var reports []report
	reported := make(chan struct{}, 10)
	in := Ingest{
		Decoder: device.Decoder{Now: func() time.Time { return time.Date(2026, 11, 25, 10, 6, 0, 0, time.UTC) }},
		Patient: func(dev string) (string, bool) { return map[string]string{"cgm-1": "p1"}[dev], dev == "cgm-1" },
		Report: func(dev string, r device.Result, err error) {
			rep := report{Device: dev, Accepted: len(r.Accepted)}
			for _, x := range r.Rejected {
				rep.Rejected = append(rep.Rejected, x.Index)
			}
			var e *clinical.Error
			if errors.As(err, &e) {
				rep.Kind = e.Kind
			}
			mu.Lock()
			reports = append(reports, rep)
			mu.Unlock()
			reported <- struct{}{}
		},
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Ingest(ctx, in) }()

	m, err := dialMQTT(s.MQTTAddr(), "cgm-1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	batch := []byte(`{"device":"cgm-1","observations":[
		{"code":"cgm","t":"2026-11-25T10:00:00Z","v":6.0,"unit":"mmol/L"},
		{"code":"cgm","t":"2026-11-25T10:05:00Z","v":5000,"unit":"mg/dL"},
		{"code":"hr","t":"2026-11-25T10:05:00Z","v":-3,"unit":"/min"}]}`)
	for _, p := range []struct {
		topic string
		data  []byte
	}{
		{"doppel/devices/cgm-1/obs", batch},
		{"doppel/devices/cgm-1/obs", batch}, // re-sent
		{"doppel/devices/cgm-9/obs", []byte(`{"device":"cgm-9","observations":[{"code":"cgm","t":"2026-11-25T10:00:00Z","v":100,"unit":"mg/dL"}]}`)},
		{"doppel/devices/cgm-1/obs", []byte(`not json`)},
	} {
		if err := m.publish(p.topic, p.data); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		select {
		case <-reported:
		case <-time.After(10 * time.Second):
			t.Fatal("ingest reported fewer than 4 messages")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Ingest = %v", err)
	}
	want := []report{
		{Device: "cgm-1", Accepted: 1, Rejected: []int{1, 2}},
		{Device: "cgm-1", Accepted: 1, Rejected: []int{1, 2}},
		{Device: "cgm-9", Kind: clinical.UnknownDevice},
		{Device: "cgm-1", Kind: clinical.Malformed},
	}
	mu.Lock()
	if diff := cmp.Diff(want, reports); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
	mu.Unlock()

	c, err := s.Consumer(ctxT(t), Observations, "twin", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []clinical.Observation
	for _, msg := range fetchAll(t, c) {
		o, err := msg.Observation()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, o)
	}
	// 6.0 mmol/L x 18.016 = 108.096 mg/dL, once despite the re-send.
	want1 := []clinical.Observation{{Patient: "p1", Device: "cgm-1", Code: "99504-3",
		Value: &clinical.Quantity{Value: 6.0 * 18.016, Unit: "mg/dL"}, Effective: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}}
	if diff := cmp.Diff(want1, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("OBS (-want +got):\n%s", diff)
	}
}

// testIngestNATS: a device message published over NATS reaches the OBS
// subject of its patient once, on either back end.
func testIngestNATS(t *testing.T, s *Stream) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.Ingest(ctx, Ingest{
			Decoder: device.Decoder{Now: func() time.Time { return time.Date(2026, 11, 25, 10, 6, 0, 0, time.UTC) }},
			Patient: func(string) (string, bool) { return "p.1", true }})
	}()
	msg := []byte(`{"device":"hr.1","observations":[{"code":"hr","t":"2026-11-25T10:00:00Z","v":72,"unit":"/min"}]}`)
	for range 2 {
		if err := s.PublishDevice(ctxT(t), "hr.1", msg); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.Consumer(ctxT(t), Observations, "twin", s.ObservationSubject("p.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	nctx, ncancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer ncancel()
	m, err := c.Next(nctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Ack(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	o, err := m.Observation()
	if err != nil || o.Patient != "p.1" || o.Device != "hr.1" || o.Value.Value != 72 {
		t.Errorf("observation %+v, %v", o, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Ingest = %v", err)
	}
	all, err := s.Consumer(ctxT(t), Observations, "count", s.ObservationSubject("p.1"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fetchAll(t, all)); n != 1 {
		t.Errorf("%d observations from a message sent twice, want 1", n)
	}
}

func TestIngestNATSEmbedded(t *testing.T) { testIngestNATS(t, openEmbedded(t, t.TempDir())) }
func TestIngestNATSExternal(t *testing.T) { testIngestNATS(t, openExternal(t)) }
