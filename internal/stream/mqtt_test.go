package stream

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// mqttConn is a minimal MQTT 3.1.1 client (OASIS mqtt-v3.1.1-os, sections
// 2 and 3): CONNECT, PUBLISH at QoS 1 waiting for PUBACK, SUBSCRIBE at
// QoS 0, DISCONNECT. It
// exists so the tests speak the device protocol without a client library.
// It also subscribes at QoS 0 and reads what arrives.
type mqttConn struct {
	c     net.Conn
	r     *bufio.Reader
	pid   uint16
	inbox []mqttMsg // PUBLISHes that arrived while waiting for an acknowledgement
}

// mqttMsg is a PUBLISH received at QoS 0.
type mqttMsg struct {
	Topic   string
	Payload []byte
}

// appendString appends an MQTT UTF-8 string: a 2-byte big-endian length, then the bytes (§1.5.3).
func appendString(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
}

// packet frames a control packet: the first byte, the remaining length as a
// variable-length integer (§2.2.3), the body.
func packet(first byte, body []byte) []byte {
	out := []byte{first}
	n := len(body)
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		out = append(out, d)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// dialMQTT connects and sends CONNECT with a clean session; user and
// password are sent when user is not empty. It returns the CONNACK return
// code as an error when it is not 0 (accepted).
func dialMQTT(addr, clientID, user, password string) (*mqttConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	flags := byte(0x02) // clean session (§3.1.2.4)
	body := appendString(nil, "MQTT")
	if user != "" {
		flags |= 0xC0 // user name and password flags (§3.1.2.8, §3.1.2.9)
	}
	body = append(body, 4, flags, 0, 60) // protocol level 4 = 3.1.1, keep alive 60 s
	body = appendString(body, clientID)
	if user != "" {
		body = appendString(appendString(body, user), password)
	}
	m := &mqttConn{c: c, r: bufio.NewReader(c)}
	if _, err := c.Write(packet(0x10, body)); err != nil {
		c.Close()
		return nil, err
	}
	typ, ack, err := m.read()
	if err != nil || typ != 0x20 || len(ack) != 2 {
		c.Close()
		return nil, fmt.Errorf("mqtt: no CONNACK (type %#x, %v)", typ, err)
	}
	if ack[1] != 0 {
		c.Close()
		return nil, fmt.Errorf("mqtt: CONNACK return code %d", ack[1])
	}
	return m, nil
}

func (m *mqttConn) read() (byte, []byte, error) {
	first, err := m.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mult := 0, 1
	for range 4 {
		d, err := m.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(d&0x7f) * mult
		mult *= 128
		if d&0x80 == 0 {
			break
		}
	}
	body := make([]byte, n)
	_, err = io.ReadFull(m.r, body)
	return first & 0xf0, body, err
}

// publish sends a QoS 1 PUBLISH (§3.3) and waits for its PUBACK (§3.4).
func (m *mqttConn) publish(topic string, payload []byte) error {
	m.pid++
	if m.pid == 0 {
		m.pid = 1
	}
	body := binary.BigEndian.AppendUint16(appendString(nil, topic), m.pid)
	m.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := m.c.Write(packet(0x32, append(body, payload...))); err != nil {
		return err
	}
	typ, ack, err := m.readAck()
	if err != nil {
		return err
	}
	if typ != 0x40 || len(ack) != 2 || binary.BigEndian.Uint16(ack) != m.pid {
		return fmt.Errorf("mqtt: want PUBACK %d, got type %#x %x", m.pid, typ, ack)
	}
	return nil
}

// readAck reads the next packet that is not a PUBLISH, keeping those in
// the inbox.
func (m *mqttConn) readAck() (byte, []byte, error) {
	for {
		typ, body, err := m.read()
		if err != nil || typ != 0x30 {
			return typ, body, err
		}
		m.inbox = append(m.inbox, parsePublish(body))
	}
}

// parsePublish splits the body of a QoS 0 PUBLISH (§3.3.2): the topic
// name, then the payload (no packet id at QoS 0).
func parsePublish(body []byte) mqttMsg {
	if len(body) < 2 {
		return mqttMsg{}
	}
	n := int(binary.BigEndian.Uint16(body))
	if 2+n > len(body) {
		return mqttMsg{}
	}
	return mqttMsg{Topic: string(body[2 : 2+n]), Payload: body[2+n:]}
}

// subscribe sends SUBSCRIBE for one topic filter at QoS 0 (§3.8) and
// returns the SUBACK return code (§3.9.3): 0 granted, 0x80 refused.
func (m *mqttConn) subscribe(topic string) (byte, error) {
	m.pid++
	if m.pid == 0 {
		m.pid = 1
	}
	body := append(appendString(binary.BigEndian.AppendUint16(nil, m.pid), topic), 0)
	m.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := m.c.Write(packet(0x82, body)); err != nil {
		return 0, err
	}
	typ, ack, err := m.readAck()
	if err != nil {
		return 0, err
	}
	if typ != 0x90 || len(ack) != 3 || binary.BigEndian.Uint16(ack) != m.pid {
		return 0, fmt.Errorf("mqtt: want SUBACK %d, got type %#x %x", m.pid, typ, ack)
	}
	return ack[2], nil
}

// next returns the next PUBLISH received, waiting up to d.
func (m *mqttConn) next(d time.Duration) (mqttMsg, error) {
	if len(m.inbox) > 0 {
		msg := m.inbox[0]
		m.inbox = m.inbox[1:]
		return msg, nil
	}
	m.c.SetDeadline(time.Now().Add(d))
	for {
		typ, body, err := m.read()
		if err != nil {
			return mqttMsg{}, err
		}
		if typ == 0x30 {
			return parsePublish(body), nil
		}
	}
}

func (m *mqttConn) close() {
	m.c.Write([]byte{0xE0, 0}) // DISCONNECT
	m.c.Close()
}
