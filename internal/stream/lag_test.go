package stream

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testLag: the twins' consumer lag counts what is stored and not yet
// delivered, what is delivered and not acknowledged, and the time the
// oldest unacknowledged message was stored (its JetStream timestamp).
func testLag(t *testing.T, s *Stream) {
	ctx := ctxT(t)
	c, err := s.Consumer(ctx, Observations, "lagging", "")
	if err != nil {
		t.Fatal(err)
	}
	lag := func() Lag {
		t.Helper()
		l, err := s.Lag(ctx, Observations, "lagging")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if diff := cmp.Diff(Lag{}, lag()); diff != "" {
		t.Errorf("lag of an empty stream (-want +got):\n%s", diff)
	}
	for i := range 3 {
		if _, err := s.PublishObservation(ctx, obs("p1", i, 100)); err != nil {
			t.Fatal(err)
		}
	}
	stored := func(m Msg) time.Time {
		t.Helper()
		md, err := m.m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		return md.Timestamp
	}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	first, err := c.Fetch(fctx, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("fetched %d, %v", len(first), err)
	}
	if diff := cmp.Diff(Lag{Pending: 1, AckPending: 2, Oldest: stored(first[0])}, lag()); diff != "" {
		t.Errorf("two delivered, none acknowledged (-want +got):\n%s", diff)
	}
	if err := first[0].Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Lag{Pending: 1, AckPending: 1, Oldest: stored(first[1])}, lag()); diff != "" {
		t.Errorf("the first acknowledged (-want +got):\n%s", diff)
	}
	if err := first[1].Ack(ctx); err != nil {
		t.Fatal(err)
	}
	fetchAll(t, c)
	if diff := cmp.Diff(Lag{}, lag()); diff != "" {
		t.Errorf("all acknowledged (-want +got):\n%s", diff)
	}
	if _, err := s.Lag(ctx, Observations, "no-such-consumer"); err == nil {
		t.Error("lag of a consumer that does not exist")
	}
}

func TestLagEmbedded(t *testing.T) { testLag(t, openEmbedded(t, t.TempDir())) }
func TestLagExternal(t *testing.T) { testLag(t, openExternal(t)) }

// TestNamespaces: two deployments with their own namespaces share one NATS
// server (here an embedded one reached over TCP) and see only their own
// messages; each consumer has the ack wait it was configured with.
func TestNamespaces(t *testing.T) {
	host, err := Open(ctxT(t), Options{Dir: t.TempDir(), NoMQTT: true, NATSPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	open := func(ns string, wait time.Duration) *Stream {
		s, err := Open(ctxT(t), Options{URL: host.ClientURL(), Namespace: ns, AckWait: wait})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open("site-a", 2*time.Second), open("site-b", 0)
	if got, want := a.ObservationSubject("p1")+" "+a.obs+" "+a.DeviceSubject("cgm-1")+" "+a.RejectedSubject("cgm-1"),
		"site-a.obs.p1 OBS_site-a site-a.doppel.devices.cgm-1.obs site-a.doppel.devices.cgm-1.rejected"; got != want {
		t.Errorf("names in namespace site-a: %q, want %q", got, want)
	}
	if _, err := a.PublishObservation(ctxT(t), obs("p1", 0, 100)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s    *Stream
		n    int
		wait time.Duration
	}{{a, 1, 2 * time.Second}, {b, 0, 30 * time.Second}, {host, 0, 30 * time.Second}} {
		cons, err := c.s.Consumer(ctxT(t), Observations, "twins", "")
		if err != nil {
			t.Fatal(err)
		}
		if got := cons.c.CachedInfo().Config.AckWait; got != c.wait {
			t.Errorf("%s: ack wait %v, want %v", c.s.obs, got, c.wait)
		}
		if got := len(fetchAll(t, cons)); got != c.n {
			t.Errorf("%s: %d observations, want %d", c.s.obs, got, c.n)
		}
	}
	if _, err := Open(ctxT(t), Options{URL: host.ClientURL(), Namespace: "a.b"}); err == nil {
		t.Error("namespace with a dot accepted")
	}
}
