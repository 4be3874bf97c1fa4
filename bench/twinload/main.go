package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type config struct {
	base, token, mqtt, nats, keyFile, prefix, label string
	namespace                                       string
	diabetes, ward, conns, sample                   int
	interval, wardInterval, duration                time.Duration
	speedup                                         float64
	header, skipSetup                               bool
}

func main() {
	var c config
	var tokenFile string
	flag.StringVar(&c.base, "fhir", "", "FHIR base `URL` of doppel serve, e.g. http://127.0.0.1:8080/fhir")
	flag.StringVar(&tokenFile, "token-file", "", "bearer token (doppel token --role admin) in `FILE`")
	flag.StringVar(&c.mqtt, "mqtt", "127.0.0.1:1883", "MQTT `HOST:PORT` of the server")
	flag.StringVar(&c.nats, "nats", "", "publish with the NATS protocol to JetStream at `URL` (subject doppel.devices.{device}.obs) instead of MQTT, over -conns connections")
	flag.StringVar(&c.keyFile, "key-file", "", "device key `FILE` of serve --device-key-file: one connection per device, each logged in as itself")
	flag.StringVar(&c.prefix, "prefix", "tl-", "prefix of the patient and device ids")
	flag.StringVar(&c.namespace, "namespace", "", "serve's --nats-namespace `NAME`: subjects start with NAME. (MQTT topics with NAME/), streams end in _NAME")
	flag.IntVar(&c.diabetes, "diabetes", 1000, "diabetes patients with a CGM")
	flag.IntVar(&c.ward, "ward", 100, "ward patients with a vitals monitor")
	flag.IntVar(&c.conns, "conns", 16, "MQTT connections carrying the devices (without -key-file)")
	flag.IntVar(&c.sample, "sample", 50, "diabetes patients followed over SSE for the latency")
	flag.DurationVar(&c.interval, "interval", 5*time.Minute, "simulated time between CGM readings")
	flag.DurationVar(&c.wardInterval, "ward-interval", 15*time.Minute, "simulated time between vitals sets")
	flag.DurationVar(&c.duration, "duration", time.Minute, "wall time of the load")
	flag.Float64Var(&c.speedup, "speedup", 1, "simulated time per wall time")
	flag.BoolVar(&c.skipSetup, "skip-setup", false, "the patients and devices exist already")
	flag.StringVar(&c.label, "label", "embedded NATS, SQLite", "first column of the result row")
	flag.BoolVar(&c.header, "header", false, "print the table header before the row")
	purge := flag.String("purge-nats", "", "delete the streams DEVICES and OBS (with -namespace: DEVICES_NAME, OBS_NAME) and their consumers of serve --nats on the NATS server at `URL` and exit")
	flag.Parse()
	if *purge != "" {
		if err := purgeNATS(context.Background(), *purge, c.namespace); err != nil {
			fmt.Fprintln(os.Stderr, "twinload:", err)
			os.Exit(1)
		}
		return
	}
	if c.base == "" || tokenFile == "" {
		fmt.Fprintln(os.Stderr, "twinload: -fhir and -token-file are required")
		os.Exit(2)
	}
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "twinload:", err)
		os.Exit(1)
	}
	c.token = strings.TrimSpace(string(tok))
	if err := run(context.Background(), c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "twinload:", err)
		os.Exit(1)
	}
}

// dev is one simulated device.
type dev struct {
	id, patient string
	ward        bool
	every       time.Duration // wall time between messages
	phase       time.Duration // wall offset of the first message
	sample      bool          // followed over SSE
}

func run(ctx context.Context, c config, out io.Writer) error {
	if sim := time.Duration(float64(c.duration) * c.speedup); sim > 29*24*time.Hour {
		return fmt.Errorf("-duration x -speedup is %v, more than the 29 days of accepted readings", sim)
	}
	client := &http.Client{Timeout: time.Minute}
	var devs []*dev
	for i := range c.diabetes {
		devs = append(devs, &dev{id: fmt.Sprintf("%sd%d-cgm", c.prefix, i), patient: fmt.Sprintf("%sd%d", c.prefix, i), sample: i < c.sample})
	}
	for i := range c.ward {
		devs = append(devs, &dev{id: fmt.Sprintf("%sw%d-mon", c.prefix, i), patient: fmt.Sprintf("%sw%d", c.prefix, i), ward: true})
	}
	if !c.skipSetup {
		t0 := time.Now()
		if err := setup(ctx, client, c, devs); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "twinload: %d patients and devices created in %v\n", len(devs), time.Since(t0).Round(time.Millisecond))
	}
	// Each kind's devices are spread evenly over its interval; offered is
	// the observations due within the run per wall second.
	var due float64
	for i, d := range devs {
		iv, n, k, of := c.interval, 1, i, c.diabetes
		if d.ward {
			iv, n, k, of = c.wardInterval, 6, i-c.diabetes, c.ward
		}
		d.every = time.Duration(float64(iv) / c.speedup)
		d.phase = time.Duration(int64(d.every) * int64(k) / int64(of))
		if d.phase < c.duration {
			due += float64(n) * math.Ceil(float64(c.duration-d.phase)/float64(d.every))
		}
	}
	offered := due / c.duration.Seconds()

	// Followers first, so that no forecast is missed.
	lat := &latencies{sent: map[string]time.Time{}}
	fctx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	root := strings.TrimSuffix(c.base, "/fhir")
	var fwg sync.WaitGroup
	ready := make(chan error, c.sample)
	for _, d := range devs[:min(c.sample, c.diabetes)] {
		fwg.Go(func() { follow(fctx, client, root, c.token, d.patient, lat, ready) })
	}
	for range min(c.sample, c.diabetes) {
		if err := <-ready; err != nil {
			return err
		}
	}

	t0 := time.Now()
	conns, err := dialAll(c, devs)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "twinload: %d connections open in %v\n", len(conns), time.Since(t0).Round(time.Millisecond))
	start := time.Now()
	simEnd := start.Add(c.duration) // simulated time = simEnd - (wall end - wall now) x speedup
	simAt := func(wall time.Time) time.Time {
		return simEnd.Add(-time.Duration(float64(simEnd.Sub(wall)) * c.speedup)).UTC().Truncate(time.Second)
	}
	var wg sync.WaitGroup
	for _, cn := range conns {
		wg.Go(func() { cn.drive(ctx, start, c.duration, simAt, lat) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	var sent, acked, failed int64
	var errs []error
	for _, cn := range conns {
		sent += cn.sent.Load()
		acked += cn.waitAcks(10 * time.Second)
		failed += cn.failed.Load()
		if cn.err != nil {
			errs = append(errs, cn.err)
		}
		cn.close()
	}
	if len(errs) > 0 {
		fmt.Fprintf(os.Stderr, "twinload: %d connections failed, first: %v\n", len(errs), errs[0])
	}
	drainStart := time.Now()
	drained := lat.waitDrained(30 * time.Second)
	drain := time.Since(drainStart)
	stopFollow()
	fwg.Wait()

	l := lat.sorted()
	q := func(p float64) string {
		if len(l) == 0 {
			return "-"
		}
		return fmtDur(l[min(len(l)-1, int(math.Ceil(p*float64(len(l))))-1)])
	}
	drainS := fmtDur(drain)
	if !drained {
		drainS = "> 30 s (not drained)"
	}
	if c.header {
		fmt.Fprintln(out, "| setup | diabetes twins | ward patients | speedup | offered obs/s | acked obs/s | forecasts timed | p50 | p99 | max | drain |")
		fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	}
	fmt.Fprintf(out, "| %s | %d | %d | %g | %.0f | %.0f | %d | %s | %s | %s | %s |\n",
		c.label, c.diabetes, c.ward, c.speedup, offered, float64(obsCount(conns))*float64(acked)/float64(max(sent, 1))/elapsed.Seconds(), len(l), q(0.5), q(0.99), q(1), drainS)
	fmt.Fprintf(os.Stderr, "twinload: %d messages (%d observations) sent in %v, %d acknowledged, %d refused or unanswered\n",
		sent, obsCount(conns), elapsed.Round(time.Millisecond), acked, failed)
	return nil
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/1e6)
}

// setup PUTs the patients and their devices, 100 patients per transaction.
func setup(ctx context.Context, client *http.Client, c config, devs []*dev) error {
	for lo := 0; lo < len(devs); lo += 100 {
		var entries []any
		for _, d := range devs[lo:min(lo+100, len(devs))] {
			entries = append(entries,
				map[string]any{"resource": map[string]any{"resourceType": "Patient", "id": d.patient},
					"request": map[string]any{"method": "PUT", "url": "Patient/" + d.patient}},
				map[string]any{"resource": map[string]any{"resourceType": "Device", "id": d.id, "patient": map[string]any{"reference": "Patient/" + d.patient}},
					"request": map[string]any{"method": "PUT", "url": "Device/" + d.id}})
		}
		body, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, "POST", c.base, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("setup transaction: status %d: %.300s", resp.StatusCode, b)
		}
	}
	return nil
}

// latencies pairs publishes of the sample patients' readings with their
// forecast events.
type latencies struct {
	mu   sync.Mutex
	sent map[string]time.Time // patient|effective time -> PUBLISH written
	last map[string]time.Time // patient -> effective time of its last reading sent
	got  map[string]time.Time // patient -> effective time of its last forecast
	d    []time.Duration
}

func (l *latencies) published(patient string, at, wall time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent[patient+"|"+at.Format(time.RFC3339)] = wall
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	l.last[patient] = at
}

func (l *latencies) forecast(patient string, at time.Time) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	k := patient + "|" + at.UTC().Format(time.RFC3339)
	if w, ok := l.sent[k]; ok {
		l.d = append(l.d, now.Sub(w))
		delete(l.sent, k)
	}
	if l.got == nil {
		l.got = map[string]time.Time{}
	}
	if at.After(l.got[patient]) {
		l.got[patient] = at
	}
}

// waitDrained waits until every sample patient has the forecast of its
// last reading sent.
func (l *latencies) waitDrained(limit time.Duration) bool {
	end := time.Now().Add(limit)
	for {
		l.mu.Lock()
		done := true
		for p, at := range l.last {
			if l.got[p].Before(at) {
				done = false
				break
			}
		}
		l.mu.Unlock()
		if done {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *latencies) sorted() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(slices.Values(l.d))
}

// follow reads the patient's events until ctx ends; ready gets nil once
// subscribed (or the error).
func follow(ctx context.Context, client *http.Client, root, tok, patient string, l *latencies, ready chan<- error) {
	req, err := http.NewRequestWithContext(ctx, "GET", root+"/twin/"+patient+"/events", nil)
	if err != nil {
		ready <- err
		return
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	sse := &http.Client{Transport: client.Transport} // no timeout: a stream
	resp, err := sse.Do(req)
	if err != nil {
		ready <- err
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ready <- fmt.Errorf("events of %s: status %d", patient, resp.StatusCode)
		return
	}
	ready <- nil
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e struct {
			Kind string
			Time time.Time
		}
		if json.Unmarshal([]byte(data), &e) == nil && e.Kind == "forecast" {
			l.forecast(patient, e.Time)
		}
	}
}

// conn is one MQTT connection and the devices it carries.
type conn struct {
	c      net.Conn // MQTT, or nil with js
	js     jetstream.JetStream
	nc     *nats.Conn
	acks   chan jetstream.PubAckFuture // of js, in order
	devs   []*dev
	w      *bufio.Writer
	pid    uint16
	window chan struct{} // a slot per unacknowledged message
	sent   atomic.Int64
	acked  atomic.Int64
	failed atomic.Int64
	obs    atomic.Int64
	done   chan struct{} // closed when the reader stops
	err    error
	ns     string // serve's --nats-namespace, "" for none
}

const maxInflight = 512

// dialAll connects: one connection per device with a key file, else
// c.conns connections sharing the devices.
func dialAll(c config, devs []*dev) ([]*conn, error) {
	var key []byte
	groups := make([][]*dev, 0, c.conns)
	if c.keyFile != "" {
		k, err := os.ReadFile(c.keyFile)
		if err != nil {
			return nil, err
		}
		key = k
		for _, d := range devs {
			groups = append(groups, []*dev{d})
		}
	} else {
		n := max(1, min(c.conns, len(devs)))
		groups = make([][]*dev, n)
		for i, d := range devs {
			groups[i%n] = append(groups[i%n], d)
		}
	}
	conns := make([]*conn, len(groups))
	for i, g := range groups {
		if c.nats != "" {
			cn, err := dialNATS(c.nats)
			if err != nil {
				closeAll(conns[:i])
				return nil, fmt.Errorf("connection %d: %w", i, err)
			}
			cn.devs, cn.ns = g, c.namespace
			conns[i] = cn
			continue
		}
		user, pass := fmt.Sprintf("twinload-%d", i), ""
		if key != nil {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(g[0].id))
			user, pass = g[0].id, hex.EncodeToString(m.Sum(nil))
		}
		cn, err := dial(c.mqtt, user, pass)
		if err != nil {
			closeAll(conns[:i])
			return nil, fmt.Errorf("connection %d: %w", i, err)
		}
		cn.devs, cn.ns = g, c.namespace
		conns[i] = cn
	}
	return conns, nil
}

// purgeNATS deletes serve's streams in namespace ns on the server at url.
func purgeNATS(ctx context.Context, url, ns string) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for _, name := range []string{"DEVICES", "OBS"} {
		if ns != "" {
			name += "_" + ns
		}
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("delete stream %s: %w", name, err)
		}
	}
	return nil
}

func closeAll(conns []*conn) {
	for _, c := range conns {
		c.close()
	}
}

func (cn *conn) close() {
	if cn.nc != nil {
		cn.nc.Close()
		close(cn.acks)
		<-cn.done
		return
	}
	cn.c.Close()
}

// dialNATS connects to JetStream and starts collecting publish
// acknowledgements.
func dialNATS(url string) (*conn, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(maxInflight))
	if err != nil {
		nc.Close()
		return nil, err
	}
	cn := &conn{nc: nc, js: js, acks: make(chan jetstream.PubAckFuture, maxInflight), window: make(chan struct{}, maxInflight), done: make(chan struct{})}
	go func() {
		defer close(cn.done)
		for f := range cn.acks {
			select {
			case <-f.Ok():
				cn.acked.Add(1)
			case err := <-f.Err():
				if cn.err == nil {
					cn.err = err
				}
			}
			<-cn.window
		}
	}()
	return cn, nil
}

func mqttPacket(header byte, body []byte) []byte {
	out := []byte{header}
	for n := len(body); ; {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

func mqttString(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }

// dial connects with a clean session (MQTT 3.1.1 §3.1), with user name
// and password when pass is set, and starts reading PUBACKs.
func dial(addr, user, pass string) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	flags := byte(0x02)
	if pass != "" {
		flags |= 0xC0
	}
	body := append(mqttString("MQTT"), 4, flags, 0, 0) // keep-alive off
	body = append(body, mqttString(user)...)
	if pass != "" {
		body = append(body, mqttString(user)...)
		body = append(body, mqttString(pass)...)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(mqttPacket(0x10, body)); err != nil {
		c.Close()
		return nil, err
	}
	var ack [4]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		c.Close()
		return nil, err
	}
	if ack[0] != 0x20 || ack[3] != 0 {
		c.Close()
		return nil, fmt.Errorf("CONNACK % x", ack)
	}
	_ = c.SetDeadline(time.Time{})
	cn := &conn{c: c, w: bufio.NewWriter(c), window: make(chan struct{}, maxInflight), done: make(chan struct{})}
	go cn.read()
	return cn, nil
}

// read counts PUBACKs until the connection closes.
func (cn *conn) read() {
	defer close(cn.done)
	r := bufio.NewReader(cn.c)
	var ack [4]byte
	for {
		if _, err := io.ReadFull(r, ack[:]); err != nil {
			return
		}
		if ack[0] != 0x40 || ack[1] != 2 {
			cn.err = fmt.Errorf("unexpected packet % x", ack)
			cn.c.Close()
			return
		}
		cn.acked.Add(1)
		<-cn.window
	}
}

// drive sends the devices' messages on schedule for d from start.
func (cn *conn) drive(ctx context.Context, start time.Time, d time.Duration, simAt func(time.Time) time.Time, l *latencies) {
	next := make([]time.Time, len(cn.devs))
	for i, dv := range cn.devs {
		next[i] = start.Add(dv.phase)
	}
	end := start.Add(d)
	for ctx.Err() == nil {
		i := 0
		for j := range next { // the earliest due; devices per connection are few hundred at most
			if next[j].Before(next[i]) {
				i = j
			}
		}
		due := next[i]
		if !due.Before(end) {
			return
		}
		if w := time.Until(due); w > 0 {
			if err := cn.flush(); err != nil {
				cn.err = err
				return
			}
			time.Sleep(w)
		}
		dv := cn.devs[i]
		at := simAt(due)
		msg, n := message(dv, at)
		select {
		case cn.window <- struct{}{}:
		case <-cn.done:
			if cn.err == nil {
				cn.err = errors.New("connection closed by the server")
			}
			return
		}
		if err := cn.publish(dv.id, msg); err != nil {
			cn.err = err
			return
		}
		if dv.sample {
			if err := cn.flush(); err != nil {
				cn.err = err
				return
			}
			l.published(dv.patient, at, time.Now())
		}
		cn.sent.Add(1)
		cn.obs.Add(int64(n))
		next[i] = due.Add(dv.every)
	}
}

// publish sends msg of device id without waiting for its acknowledgement.
func (cn *conn) publish(id string, msg []byte) error {
	if cn.js != nil {
		subject := "doppel.devices." + id + ".obs"
		if cn.ns != "" {
			subject = cn.ns + "." + subject
		}
		f, err := cn.js.PublishAsync(subject, msg)
		if err != nil {
			<-cn.window
			return err
		}
		cn.acks <- f
		return nil
	}
	cn.pid = cn.pid%65535 + 1
	topic := "doppel/devices/" + id + "/obs"
	if cn.ns != "" {
		topic = cn.ns + "/" + topic
	}
	body := append(mqttString(topic), byte(cn.pid>>8), byte(cn.pid))
	_, err := cn.w.Write(mqttPacket(0x32, append(body, msg...)))
	return err
}

func (cn *conn) flush() error {
	if cn.nc != nil {
		return nil // PublishAsync writes through the client's own buffer and flusher
	}
	return cn.w.Flush()
}

// waitAcks flushes and waits up to limit for the outstanding PUBACKs; it
// returns the acknowledged count.
func (cn *conn) waitAcks(limit time.Duration) int64 {
	_ = cn.flush()
	end := time.Now().Add(limit)
	for cn.acked.Load() < cn.sent.Load() && time.Now().Before(end) {
		select {
		case <-cn.done:
			cn.failed.Store(cn.sent.Load() - cn.acked.Load())
			return cn.acked.Load()
		case <-time.After(5 * time.Millisecond):
		}
	}
	cn.failed.Store(cn.sent.Load() - cn.acked.Load())
	return cn.acked.Load()
}

func obsCount(conns []*conn) int64 {
	var n int64
	for _, c := range conns {
		n += c.obs.Load()
	}
	return n
}

// message is the device's batch at at and its number of observations:
// a CGM reading wandering around 140 mg/dL, or a set of normal vitals.
func message(d *dev, at time.Time) ([]byte, int) {
	t := at.Format(time.RFC3339)
	if !d.ward {
		v := 140 + 50*math.Sin(float64(at.Unix())/7200+float64(len(d.id)))
		return fmt.Appendf(nil, `{"device":%q,"observations":[{"code":"cgm","t":%q,"v":%.0f,"unit":"mg/dL"}]}`, d.id, t, v), 1
	}
	return fmt.Appendf(nil, `{"device":%q,"observations":[`+
		`{"code":"rr","t":%[2]q,"v":16,"unit":"/min"},{"code":"spo2","t":%[2]q,"v":97,"unit":"%%"},`+
		`{"code":"bp","t":%[2]q,"sys":124,"dia":78,"unit":"mm[Hg]"},{"code":"hr","t":%[2]q,"v":72,"unit":"/min"},`+
		`{"code":"temp","t":%[2]q,"v":36.8,"unit":"Cel"},{"code":"acvpu","t":%[2]q,"c":"A"}]}`, d.id, t), 6
}
