package stream

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/doppelhealth/doppel/internal/clinical"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openEmbedded starts an embedded server on dir with MQTT on a free port.
func openEmbedded(t testing.TB, dir string) *Stream {
	t.Helper()
	s, err := Open(ctxT(t), Options{Dir: dir, MQTTPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openExternal connects to the NATS server named by DOPPEL_TEST_NATS (such
// as nats://127.0.0.1:4222) in a namespace of its own, and deletes the
// namespace's streams at the end; it skips the test when the variable is unset.
func openExternal(t *testing.T) *Stream {
	url := os.Getenv("DOPPEL_TEST_NATS")
	if url == "" {
		t.Skip("DOPPEL_TEST_NATS not set")
	}
	ns := fmt.Sprintf("t%d", time.Now().UnixNano())
	s, err := Open(ctxT(t), Options{URL: url, Namespace: ns, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer s.Close()
		js, _ := jetstream.New(s.nc)
		for _, name := range []string{s.devices, s.obs} {
			if err := js.DeleteStream(context.Background(), name); err != nil {
				t.Errorf("delete stream %s: %v", name, err)
			}
		}
	})
	return s
}

func obs(patient string, minute int, v float64) clinical.Observation {
	return clinical.Observation{Patient: patient, Device: "cgm-1", Code: clinical.CodeGlucoseCGM,
		Value: &clinical.Quantity{Value: v, Unit: "mg/dL"}, Effective: time.Date(2026, 11, 25, 10, minute, 0, 0, time.UTC)}
}

// fetchAll fetches until a fetch returns nothing, acknowledging every message.
func fetchAll(t *testing.T, c *Consumer) []Msg {
	t.Helper()
	var out []Msg
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		msgs, err := c.Fetch(ctx, 100)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			if err := m.Ack(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, msgs...)
	}
}

// testObservations is the suite both back ends pass: dedup by key, one
// subject per patient, a durable consumer that gets each message once.
func testObservations(t *testing.T, s *Stream) {
	ctx := ctxT(t)
	a1, a1again, a2, b1 := obs("p-a", 0, 100), obs("p-a", 0, 101), obs("p-a", 5, 110), obs("p.b", 0, 90)
	b1.Device = "cgm-2" // the key is (device, code, time): another device, another key
	for i, tc := range []struct {
		o       clinical.Observation
		wantDup bool
	}{{a1, false}, {a1again, true}, {a2, false}, {b1, false}} {
		dup, err := s.PublishObservation(ctx, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if dup != tc.wantDup {
			t.Errorf("publish %d: duplicate = %v, want %v", i, dup, tc.wantDup)
		}
	}
	c, err := s.Consumer(ctx, Observations, "twin-p-a", s.ObservationSubject("p-a"))
	if err != nil {
		t.Fatal(err)
	}
	var got []clinical.Observation
	for _, m := range fetchAll(t, c) {
		o, err := m.Observation()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, o)
	}
	if diff := cmp.Diff([]clinical.Observation{a1, a2}, got); diff != "" {
		t.Errorf("patient p-a's observations (-want +got):\n%s", diff)
	}
	// The same durable consumer again: everything was acknowledged.
	c, err = s.Consumer(ctx, Observations, "twin-p-a", s.ObservationSubject("p-a"))
	if err != nil {
		t.Fatal(err)
	}
	if rest := fetchAll(t, c); len(rest) != 0 {
		t.Errorf("%d messages delivered again after their ack", len(rest))
	}
	c, err = s.Consumer(ctx, Observations, "twin-p-b", s.ObservationSubject("p.b"))
	if err != nil {
		t.Fatal(err)
	}
	if msgs := fetchAll(t, c); len(msgs) != 1 {
		t.Errorf("patient p.b: %d messages, want 1", len(msgs))
	}
}

func TestObservationsEmbedded(t *testing.T) { testObservations(t, openEmbedded(t, t.TempDir())) }
func TestObservationsExternal(t *testing.T) { testObservations(t, openExternal(t)) }

func TestMQTTToConsumer(t *testing.T) {
	s := openEmbedded(t, t.TempDir())
	if s.ClientURL() != "" {
		t.Errorf("ClientURL = %q, want no NATS listener by default", s.ClientURL())
	}
	m, err := dialMQTT(s.MQTTAddr(), "cgm-1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	payloads := []string{
		`{"device":"cgm-1","observations":[{"code":"cgm","t":"2026-11-25T10:00:00Z","v":123,"unit":"mg/dL"}]}`,
		`{"device":"cgm-1","observations":[{"code":"cgm","t":"2026-11-25T10:05:00Z","v":125,"unit":"mg/dL"}]}`,
	}
	for _, p := range payloads {
		if err := m.publish("doppel/devices/cgm-1/obs", []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	// A device id with a dot travels as "//" in the subject.
	if err := m.publish("doppel/devices/cgm.2/obs", []byte(payloads[0])); err != nil {
		t.Fatal(err)
	}
	c, err := s.Consumer(ctxT(t), Devices, "ingest", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, msg := range fetchAll(t, c) {
		got = append(got, msg.Subject+" "+string(msg.Data))
	}
	want := []string{
		"doppel.devices.cgm-1.obs " + payloads[0],
		"doppel.devices.cgm-1.obs " + payloads[1],
		s.DeviceSubject("cgm.2") + " " + payloads[0],
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("consumed (-want +got):\n%s", diff)
	}
}

func TestRestartKeepsMessages(t *testing.T) {
	dir := t.TempDir()
	s := openEmbedded(t, dir)
	ctx := ctxT(t)
	for i := range 3 {
		if _, err := s.PublishObservation(ctx, obs("p-a", i, 100)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.Consumer(ctx, Observations, "twin", "")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(ctx, 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %d messages, %v", len(msgs), err)
	}
	if err := msgs[0].Ack(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openEmbedded(t, dir)
	// Within the dedup window a re-send after the restart is still a duplicate.
	if dup, err := s.PublishObservation(ctx, obs("p-a", 2, 100)); err != nil || !dup {
		t.Errorf("re-send after restart: duplicate = %v, %v; want true", dup, err)
	}
	c, err = s.Consumer(ctx, Observations, "twin", "")
	if err != nil {
		t.Fatal(err)
	}
	var minutes []int
	for _, m := range fetchAll(t, c) {
		o, err := m.Observation()
		if err != nil {
			t.Fatal(err)
		}
		minutes = append(minutes, o.Effective.Minute())
	}
	if diff := cmp.Diff([]int{1, 2}, minutes); diff != "" {
		t.Errorf("after restart, unacknowledged minutes (-want +got):\n%s", diff)
	}
}

func TestRun(t *testing.T) {
	s := openEmbedded(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if !s.nc.IsClosed() {
		t.Error("connection still open after Run returned")
	}
}

func TestNATSListener(t *testing.T) {
	s, err := Open(ctxT(t), Options{Dir: t.TempDir(), NoMQTT: true, NATSPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.MQTTAddr() != "" {
		t.Errorf("MQTTAddr = %q with NoMQTT", s.MQTTAddr())
	}
	// A NATS client over TCP publishes as a device would.
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.Publish(ctxT(t), s.DeviceSubject("hr-1"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
}
