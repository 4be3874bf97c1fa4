package stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doppelhealth/doppel/internal/device"
)

// notice is what TestRejectedNotices reads of a device.Notice.
type notice struct {
	Message struct {
		SHA256 string
		Seq    uint64
	}
	Accepted int
	Rejected []struct {
		Index int
		Kind  string
	}
	Kind       string
	RetryAfter int `json:"retry_after_s"`
}

// TestRejectedNotices: a device logged in over MQTT subscribes to its own
// rejected topic (and to no other), publishes, and reads on it why a
// reading or a whole message was refused: an out-of-range value, and a
// message over its rate limit (1 a second, bursts of 2, on a clock that
// stands still). A message with nothing refused sends no notice.
func TestRejectedNotices(t *testing.T) {
	secrets := map[string]string{"cgm-a": "secret-a", "cgm-b": "secret-b"}
	s, err := Open(ctxT(t), Options{Dir: t.TempDir(), MQTTPort: -1,
		DeviceAuth: func(dev, secret string) bool { return secrets[dev] != "" && secrets[dev] == secret }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	clock := time.Date(2026, 11, 25, 10, 6, 0, 0, time.UTC)
	lim, err := device.NewLimiter(1, 2, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.Ingest(ctx, Ingest{Decoder: device.Decoder{Now: func() time.Time { return clock }}, Limit: lim,
			Patient: func(dev string) (string, bool) { return "p-" + dev, true }})
	}()

	m, err := dialMQTT(s.MQTTAddr(), "cgm-a", "cgm-a", "secret-a")
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	for _, c := range []struct {
		topic string
		want  byte
	}{{"doppel/devices/cgm-a/rejected", 0}, {"doppel/devices/cgm-b/rejected", 0x80}, {"doppel/#", 0x80}, {"doppel/devices/cgm-a/obs", 0x80}} {
		if got, err := m.subscribe(c.topic); err != nil || got != c.want {
			t.Errorf("SUBSCRIBE %s: SUBACK %#x, %v; want %#x", c.topic, got, err, c.want)
		}
	}
	bad := []byte(`{"device":"cgm-a","observations":[{"code":"cgm","t":"2026-11-25T10:00:00Z","v":5000,"unit":"mg/dL"},{"code":"cgm","t":"2026-11-25T10:00:00Z","v":100,"unit":"mg/dL"}]}`)
	good := []byte(`{"device":"cgm-a","observations":[{"code":"cgm","t":"2026-11-25T10:05:00Z","v":101,"unit":"mg/dL"}]}`)
	over := []byte(`{"device":"cgm-a","observations":[{"code":"cgm","t":"2026-11-25T10:06:00Z","v":102,"unit":"mg/dL"}]}`)
	for _, p := range [][]byte{bad, good, over} {
		if err := m.publish(device.Topic("cgm-a"), p); err != nil {
			t.Fatal(err)
		}
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	var want [2]notice
	want[0].Message.SHA256, want[0].Accepted = sum(bad), 1
	want[0].Rejected = []struct {
		Index int
		Kind  string
	}{{0, "out-of-range"}}
	want[1].Message.SHA256, want[1].Kind, want[1].RetryAfter = sum(over), "rate-limited", 1
	for i := range want {
		msg, err := m.next(10 * time.Second)
		if err != nil {
			t.Fatalf("notice %d: %v", i, err)
		}
		if msg.Topic != device.RejectedTopic("cgm-a") {
			t.Errorf("notice %d on topic %q", i, msg.Topic)
		}
		var got notice
		if err := json.Unmarshal(msg.Payload, &got); err != nil {
			t.Fatalf("notice %d: %v: %s", i, err, msg.Payload)
		}
		if got.Message.Seq == 0 {
			t.Errorf("notice %d without the message's sequence: %s", i, msg.Payload)
		}
		got.Message.Seq = 0
		if diff := cmp.Diff(want[i], got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("notice %d (-want +got):\n%s", i, diff)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Ingest = %v", err)
	}
}
