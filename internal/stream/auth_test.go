package stream

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
)

// TestDeviceAuth (SEC-22): a device logs in with its own secret and can
// publish only for itself, over MQTT and over NATS.
func TestDeviceAuth(t *testing.T) {
	secrets := map[string]string{"cgm-a": "secret-a", "cgm-b": "secret-b"}
	s, err := Open(ctxT(t), Options{Dir: t.TempDir(), MQTTPort: -1, NATSPort: -1,
		DeviceAuth: func(dev, secret string) bool { return secrets[dev] != "" && secrets[dev] == secret }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	for _, login := range []struct{ user, pass string }{{"", ""}, {"cgm-a", "secret-b"}, {"cgm-x", ""}, {internalUser, "guess"}} {
		if m, err := dialMQTT(s.MQTTAddr(), "c1", login.user, login.pass); err == nil {
			m.close()
			t.Errorf("MQTT login %q/%q accepted", login.user, login.pass)
		}
		if nc, err := nats.Connect(s.ClientURL(), nats.UserInfo(login.user, login.pass)); err == nil {
			nc.Close()
			t.Errorf("NATS login %q/%q accepted", login.user, login.pass)
		}
	}

	m, err := dialMQTT(s.MQTTAddr(), "cgm-a", "cgm-a", "secret-a")
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	if err := m.publish("doppel/devices/cgm-a/obs", []byte("mqtt a as a")); err != nil {
		t.Fatal(err)
	}
	// MQTT 3.1.1 has no negative PUBACK: the server acknowledges or drops
	// the connection; either way nothing may reach cgm-b's subject.
	_ = m.publish("doppel/devices/cgm-b/obs", []byte("mqtt a as b"))

	nc, err := nats.Connect(s.ClientURL(), nats.UserInfo("cgm-a", "secret-a"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	denied := make(chan error, 1)
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case denied <- err:
		default:
		}
	})
	if err := nc.Publish(s.DeviceSubject("cgm-b"), []byte("nats a as b")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish(s.DeviceSubject("cgm-a"), []byte("nats a as a")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-denied:
		t.Logf("NATS publish as cgm-b: %v", err)
	case <-time.After(5 * time.Second):
		t.Error("no permissions violation reported for cgm-a publishing as cgm-b")
	}
	if _, err := nc.SubscribeSync(">"); err == nil {
		if err := nc.Flush(); err == nil {
			select {
			case err := <-denied:
				t.Logf("subscribe: %v", err)
			case <-time.After(5 * time.Second):
				t.Error("a device subscribed to >")
			}
		}
	}

	c, err := s.Consumer(ctxT(t), Devices, "check", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, msg := range fetchAll(t, c) {
		got = append(got, msg.Subject+" "+string(msg.Data))
	}
	want := []string{"doppel.devices.cgm-a.obs mqtt a as a", "doppel.devices.cgm-a.obs nats a as a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	// Doppel's own connection still works.
	if _, err := s.PublishObservation(ctxT(t), obs("p-a", 0, 100)); err != nil {
		t.Errorf("internal publish with auth on: %v", err)
	}
}

// TestMQTT5Refused (SEC-23): the NATS MQTT gateway speaks 3.1.1 only; a v5
// CONNECT gets CONNACK return code 1, unacceptable protocol version
// (MQTT 3.1.1 §3.2.2.3).
func TestMQTT5Refused(t *testing.T) {
	s := openEmbedded(t, t.TempDir())
	c, err := net.DialTimeout("tcp", s.MQTTAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	body := append(appendString(nil, "MQTT"), 5, 0x02, 0, 60, 0) // level 5, clean start, keep alive, no properties
	body = appendString(body, "v5-device")
	if _, err := c.Write(packet(0x10, body)); err != nil {
		t.Fatal(err)
	}
	m := &mqttConn{c: c, r: bufio.NewReader(c)}
	typ, ack, err := m.read()
	if err != nil || typ != 0x20 || len(ack) != 2 || ack[1] != 1 {
		t.Errorf("CONNACK type %#x body %x err %v; want return code 1", typ, ack, err)
	}
}
