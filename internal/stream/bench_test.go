package stream

import (
	"context"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/device"
)

var benchPayload = []byte(`{"device":"cgm-1","observations":[{"code":"cgm","t":"2026-11-25T10:00:00Z","v":123,"unit":"mg/dL"}]}`)

func benchMQTT(b *testing.B) (*Stream, *mqttConn) {
	s := openEmbedded(b, b.TempDir())
	m, err := dialMQTT(s.MQTTAddr(), "bench", "", "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.close)
	return s, m
}

// BenchmarkMQTTPublishQoS1: one QoS 1 publish from one client, waiting for
// its PUBACK, into the DEVICES stream (file store).
func BenchmarkMQTTPublishQoS1(b *testing.B) {
	_, m := benchMQTT(b)
	for b.Loop() {
		if err := m.publish("doppel/devices/cgm-1/obs", benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMQTTToConsumer: publish at QoS 1, then fetch the message from a
// durable consumer and acknowledge it; ns/op is the publish-to-consume
// latency of one message with nothing else in flight.
func BenchmarkMQTTToConsumer(b *testing.B) {
	s, m := benchMQTT(b)
	c, err := s.Consumer(context.Background(), Devices, "bench", "")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if err := m.publish("doppel/devices/cgm-1/obs", benchPayload); err != nil {
			b.Fatal(err)
		}
		msgs, err := c.Fetch(ctx, 1)
		if err != nil || len(msgs) != 1 {
			b.Fatalf("fetch: %d, %v", len(msgs), err)
		}
		if err := msgs[0].Ack(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMQTTIngestToOBS: one device message (one CGM value) over MQTT at
// QoS 1, through Ingest (decode, validate, resolve, publish with dedup), read
// from the patient's OBS consumer and acknowledged; ns/op is the end-to-end
// latency with nothing else in flight.
func BenchmarkMQTTIngestToOBS(b *testing.B) {
	s, m := benchMQTT(b)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Ingest(ctx, Ingest{Decoder: device.Decoder{Now: func() time.Time { return now }},
			Patient: func(string) (string, bool) { return "p1", true }})
	}()
	defer func() { cancel(); <-done }()
	c, err := s.Consumer(ctx, Observations, "twin-p1", s.ObservationSubject("p1"))
	if err != nil {
		b.Fatal(err)
	}
	t := now.Add(-24 * time.Hour)
	for b.Loop() {
		t = t.Add(time.Second) // a new reading each time, not a duplicate
		msg := `{"device":"cgm-1","observations":[{"code":"cgm","t":"` + t.Format(time.RFC3339) + `","v":123,"unit":"mg/dL"}]}`
		if err := m.publish("doppel/devices/cgm-1/obs", []byte(msg)); err != nil {
			b.Fatal(err)
		}
		msgs, err := c.Fetch(ctx, 1)
		if err != nil || len(msgs) != 1 {
			b.Fatalf("fetch: %d, %v", len(msgs), err)
		}
		if err := msgs[0].Ack(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
