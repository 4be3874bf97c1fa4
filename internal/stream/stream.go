package stream

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/device"
)

// Options configures a Stream. The zero value with Dir set runs an embedded
// server with MQTT on 127.0.0.1:1883 and no NATS TCP listener.
type Options struct {
	// URL of an external NATS server or cluster ("nats://host:4222"). When
	// set, nothing is embedded and Dir, MQTT* and NATS* are ignored.
	URL string
	// Dir is the data directory; the embedded JetStream store is Dir/nats.
	Dir string

	MQTTHost string // MQTT listener host; "" means 127.0.0.1
	MQTTPort int    // 0 means 1883, -1 a free port (see Stream.MQTTAddr)
	NoMQTT   bool   // no MQTT listener

	NATSHost string // NATS client listener host; "" means 127.0.0.1
	NATSPort int    // 0 means no NATS TCP listener (in-process only), -1 a free port

	Namespace   string        // subject prefix and stream-name suffix; "" for none
	DedupWindow time.Duration // JetStream duplicate window of OBS; 0 means 10 minutes
	MaxAge      time.Duration // retention of both streams; 0 means 7 days
	Replicas    int           // stream replicas on a cluster; 0 means 1
	AckWait     time.Duration // consumer redelivery delay; 0 means 30 s

	// DeviceAuth, when set, turns on authentication on the embedded server
	// (SEC-22): every MQTT and NATS client logs in with a user name and
	// password. A device logs in with its id and a secret DeviceAuth
	// accepts, and may then publish only to its own subject (MQTT topic
	// doppel/devices/{id}/obs), an MQTT publish elsewhere being dropped,
	// and subscribe only to its refusal notices (RejectedSubject, MQTT
	// topic doppel/devices/{id}/rejected). nil means no authentication (loopback
	// development only). With an external URL, the cluster's own
	// configuration authenticates devices instead.
	DeviceAuth func(device, secret string) bool

	// EncryptionKey, when set, encrypts the embedded JetStream store at rest
	// (message blocks and stream metadata) with AES-256-GCM, NATS's own
	// store encryption (SEC-24); the server derives its keys from this
	// secret. A store written with a key cannot be read without it. Ignored
	// with an external URL: encrypt the cluster's own store there.
	EncryptionKey []byte

	Logger *slog.Logger // nil means no logging
}

// Stream is a connection to the message log, with the embedded server it
// started, if any.
type Stream struct {
	opts    Options
	srv     *server.Server
	so      *server.Options // the embedded server's options; it writes chosen ports back
	nc      *nats.Conn
	js      jetstream.JetStream
	devices string // stream names
	obs     string
	log     *slog.Logger
}

// Open starts the embedded server or connects to Options.URL, and creates
// (or updates) the DEVICES and OBS streams.
func Open(ctx context.Context, opts Options) (*Stream, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Stream{opts: opts, log: log, devices: "DEVICES", obs: "OBS"}
	if opts.Namespace != "" {
		if strings.ContainsAny(opts.Namespace, ". *>") {
			return nil, errors.New("stream: namespace must be one subject token")
		}
		s.devices += "_" + opts.Namespace
		s.obs += "_" + opts.Namespace
	}
	var err error
	if opts.URL != "" {
		s.nc, err = nats.Connect(opts.URL, nats.Name("doppel"), nats.MaxReconnects(-1))
	} else {
		var auth *deviceAuth
		if opts.DeviceAuth != nil {
			if auth, err = newDeviceAuth(s, opts.DeviceAuth); err != nil {
				return nil, fmt.Errorf("stream: %w", err)
			}
		}
		if s.mqttIngest() && !exists(filepath.Join(opts.Dir, "nats", "jetstream", server.DEFAULT_GLOBAL_ACCOUNT, "streams", mqttStream)) {
			// First start: the MQTT message store and the ingest consumer
			// must exist before a device can publish (see mqttIngest).
			err = s.bootstrap(ctx, auth)
		}
		if err == nil {
			err = s.startEmbedded(auth, !opts.NoMQTT)
		}
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("stream: connect: %w", err)
	}
	if err := s.setUp(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// startEmbedded starts the embedded server (with or without its MQTT
// listener) and connects to it in-process.
func (s *Stream) startEmbedded(auth *deviceAuth, mqtt bool) error {
	if err := s.startServer(auth, mqtt); err != nil {
		return err
	}
	copts := []nats.Option{nats.InProcessServer(s.srv), nats.Name("doppel")}
	if auth != nil {
		copts = append(copts, nats.UserInfo(internalUser, auth.secret))
	}
	var err error
	s.nc, err = nats.Connect("", copts...)
	return err
}

// setUp makes the JetStream context, the streams and, when MQTT readings
// are ingested from the MQTT message store, that store and the ingest
// consumer on it.
func (s *Stream) setUp(ctx context.Context) error {
	var err error
	if s.js, err = jetstream.New(s.nc); err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	if err := s.createStreams(ctx); err != nil {
		return err
	}
	if !s.mqttIngest() {
		return nil
	}
	if _, err := s.js.Stream(ctx, mqttStream); errors.Is(err, jetstream.ErrStreamNotFound) {
		// The configuration nats-server gives it (server/mqtt.go): it finds
		// the stream made and uses it.
		_, err = s.js.CreateStream(ctx, jetstream.StreamConfig{Name: mqttStream, Subjects: []string{mqttSubjectPrefix + ">"},
			Storage: jetstream.FileStorage, Retention: jetstream.InterestPolicy, Replicas: 1})
		if err != nil {
			return fmt.Errorf("stream: create stream %s: %w", mqttStream, err)
		}
	} else if err != nil {
		return fmt.Errorf("stream: stream %s: %w", mqttStream, err)
	}
	_, err = s.Consumer(ctx, MQTTDevices, ingestConsumer, "")
	return err
}

// bootstrap runs the embedded server once without MQTT to set it up.
func (s *Stream) bootstrap(ctx context.Context, auth *deviceAuth) error {
	if err := s.startEmbedded(auth, false); err != nil {
		return err
	}
	err := s.setUp(ctx)
	s.Close()
	s.srv, s.so, s.nc, s.js = nil, nil, nil, nil
	return err
}

// mqttIngest reports whether device readings published over MQTT are
// taken from the embedded server's MQTT message store ($MQTT_msgs) rather
// than from DEVICES. nats-server sends an MQTT QoS 1 PUBACK once the
// message is stored there (server/mqtt.go, mqttProcessPub and its ack
// pipeline), while DEVICES takes its copy from a queue of its own a moment
// later: a kill -9 in between would lose a reading the device was told is
// stored. The store keeps a message while a consumer has yet to
// acknowledge it (interest retention), so Doppel's durable ingest consumer
// on it, made before the MQTT listener first opens, keeps every
// acknowledged reading until it has been ingested.
func (s *Stream) mqttIngest() bool { return s.opts.URL == "" && !s.opts.NoMQTT }

// The MQTT message store of nats-server and the subjects in it.
const (
	mqttStream        = "$MQTT_msgs"
	mqttSubjectPrefix = "$MQTT.msgs."
	mqttHeader        = "Nmqtt-Pub" // set by nats-server on a message published over MQTT
	ingestConsumer    = "ingest"
)

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (s *Stream) startServer(auth *deviceAuth, mqtt bool) error {
	o := s.opts
	if o.Dir == "" {
		return errors.New("stream: Options.Dir is required for the embedded server")
	}
	so := &server.Options{
		ServerName: "doppel",
		NoSigs:     true,
		NoLog:      true,
		JetStream:  true,
		// Every stored message is flushed and synced before the publish is
		// acknowledged; by default the file store buffers writes in the
		// process for a while, so a kill -9 could lose a message whose MQTT
		// PUBACK the device already has (issue 7, item 8).
		SyncAlways: true,
		StoreDir:   filepath.Join(o.Dir, "nats"),
		Host:       cmpOr(o.NATSHost, "127.0.0.1"),
		Port:       o.NATSPort,
	}
	if o.NATSPort == 0 {
		so.DontListen = true
	}
	if len(o.EncryptionKey) > 0 {
		so.JetStreamKey = hex.EncodeToString(o.EncryptionKey)
		so.JetStreamCipher = server.AES
	}
	if auth != nil {
		so.CustomClientAuthentication = auth
	}
	if mqtt {
		so.MQTT = server.MQTTOpts{Host: cmpOr(o.MQTTHost, "127.0.0.1"), Port: o.MQTTPort}
		if o.MQTTPort == 0 {
			so.MQTT.Port = 1883
		}
	}
	srv, err := server.NewServer(so)
	if err != nil {
		return fmt.Errorf("stream: embedded server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return errors.New("stream: embedded server not ready within 10s (is the MQTT or NATS port in use?)")
	}
	s.srv, s.so = srv, so
	s.log.Info("embedded NATS started", "store", so.StoreDir, "mqtt", s.MQTTAddr(), "nats", s.ClientURL())
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *Stream) prefix() string {
	if s.opts.Namespace == "" {
		return ""
	}
	return s.opts.Namespace + "."
}

func (s *Stream) createStreams(ctx context.Context) error {
	maxAge := s.opts.MaxAge
	if maxAge == 0 {
		maxAge = 7 * 24 * time.Hour
	}
	dedup := s.opts.DedupWindow
	if dedup == 0 {
		dedup = 10 * time.Minute
	}
	replicas := max(s.opts.Replicas, 1)
	for _, c := range []jetstream.StreamConfig{
		{Name: s.devices, Subjects: []string{s.prefix() + "doppel.devices.*.obs"}, Duplicates: dedup},
		{Name: s.obs, Subjects: []string{s.prefix() + "obs.*"}, Duplicates: dedup},
	} {
		c.Storage = jetstream.FileStorage
		c.MaxAge = maxAge
		c.Replicas = replicas
		if _, err := s.js.CreateOrUpdateStream(ctx, c); err != nil {
			return fmt.Errorf("stream: create stream %s: %w", c.Name, err)
		}
	}
	return nil
}

// MQTTAddr is the host:port of the embedded MQTT listener, or "" when there
// is none.
func (s *Stream) MQTTAddr() string {
	if s.srv == nil || s.opts.NoMQTT || s.opts.URL != "" {
		return ""
	}
	// With port -1 the server writes the chosen port back into its
	// options (it keeps our pointer) before it is ready for connections.
	return net.JoinHostPort(s.so.MQTT.Host, strconv.Itoa(s.so.MQTT.Port))
}

// ClientURL is the NATS URL of the embedded server's client listener, or ""
// when it has none (in-process only) or when connected to an external URL.
func (s *Stream) ClientURL() string {
	if s.srv == nil || s.opts.NATSPort == 0 {
		return ""
	}
	return s.srv.ClientURL()
}

// DeviceSubject is the subject of device's raw messages.
func (s *Stream) DeviceSubject(dev string) string {
	return s.prefix() + device.Subject(dev)
}

// RejectedSubject is the subject on which device is told what was refused
// of its messages (MQTT topic doppel/devices/{device}/rejected, see
// device.Notice).
func (s *Stream) RejectedSubject(dev string) string {
	return s.prefix() + device.RejectedSubject(dev)
}

// ObservationSubject is the subject of a patient's observations.
func (s *Stream) ObservationSubject(patient string) string {
	return s.prefix() + "obs." + strings.ReplaceAll(patient, ".", "_")
}

// PublishDevice appends a raw device message to DEVICES, as an MQTT publish
// by the device would, and waits for the acknowledgement.
func (s *Stream) PublishDevice(ctx context.Context, dev string, payload []byte) error {
	if !clinical.ValidID(dev) {
		return errors.New("stream: invalid device id")
	}
	if _, err := s.js.Publish(ctx, s.DeviceSubject(dev), payload); err != nil {
		return fmt.Errorf("stream: publish: %w", err)
	}
	return nil
}

// PublishObservation appends o to OBS under its patient's subject with its
// duplicate key as message id, and waits for the acknowledgement. dup
// reports that JetStream had the key already (within the dedup window) and
// kept the first copy.
func (s *Stream) PublishObservation(ctx context.Context, o clinical.Observation) (dup bool, err error) {
	if !clinical.ValidID(o.Patient) {
		return false, errors.New("stream: observation without a valid patient id")
	}
	data, err := json.Marshal(o)
	if err != nil {
		return false, fmt.Errorf("stream: %w", err)
	}
	ack, err := s.js.Publish(ctx, s.ObservationSubject(o.Patient), data, jetstream.WithMsgID(o.Key()))
	if err != nil {
		return false, fmt.Errorf("stream: publish: %w", err)
	}
	return ack.Duplicate, nil
}

// Source picks the stream a consumer reads.
type Source int

// The sources.
const (
	Devices Source = iota
	Observations
	// MQTTDevices is the embedded server's MQTT message store, where
	// readings published over MQTT are ingested from (see Stream.Ingest).
	MQTTDevices
)

func (s *Stream) streamOf(src Source) string {
	switch src {
	case Observations:
		return s.obs
	case MQTTDevices:
		return mqttStream
	}
	return s.devices
}

// Consumer is a durable pull consumer. Use it from one goroutine.
type Consumer struct {
	c  jetstream.Consumer
	it jetstream.MessagesContext // for Next, made on first use
}

// Consumer creates or resumes the durable consumer name on src. filter is a
// subject within it (from DeviceSubject or ObservationSubject, or "" for
// all). A durable consumer remembers what was acknowledged across restarts.
func (s *Stream) Consumer(ctx context.Context, src Source, name, filter string) (*Consumer, error) {
	stream := s.streamOf(src)
	if src == MQTTDevices && filter == "" {
		filter = mqttSubjectPrefix + s.DeviceSubject("*")
	}
	wait := s.opts.AckWait
	if wait == 0 {
		wait = 30 * time.Second
	}
	c, err := s.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       name,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       wait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("stream: consumer %s: %w", name, err)
	}
	return &Consumer{c: c}, nil
}

// Lag is how far a durable consumer is behind its stream.
type Lag struct {
	Pending    uint64    // stored messages not yet delivered to the consumer
	AckPending int       // delivered, not yet acknowledged (being processed, or lost with a crashed process until the ack wait)
	Oldest     time.Time // when the oldest message not yet acknowledged was stored; zero when none is
}

// Lag reports the lag of the durable consumer name on src.
func (s *Stream) Lag(ctx context.Context, src Source, name string) (Lag, error) {
	stream := s.streamOf(src)
	c, err := s.js.Consumer(ctx, stream, name)
	if err != nil {
		return Lag{}, fmt.Errorf("stream: consumer %s: %w", name, err)
	}
	ci := c.CachedInfo() // fetched by js.Consumer just now
	l := Lag{Pending: ci.NumPending, AckPending: ci.NumAckPending}
	if l.Pending == 0 && l.AckPending == 0 {
		return l, nil
	}
	// Every message up to the ack floor is acknowledged: the first one
	// after it (that still exists and matches the filter) is the oldest.
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return Lag{}, fmt.Errorf("stream: stream %s: %w", stream, err)
	}
	m, err := st.GetMsg(ctx, ci.AckFloor.Stream+1, jetstream.WithGetMsgSubject(cmpOr(ci.Config.FilterSubject, ">")))
	if err != nil {
		return Lag{}, fmt.Errorf("stream: oldest message of %s: %w", name, err)
	}
	l.Oldest = m.Time
	return l, nil
}

// Msg is one delivered message. Ack it once processed; an unacknowledged
// message is delivered again after the ack wait.
type Msg struct {
	Subject string
	Data    []byte
	m       jetstream.Msg
}

func newMsg(m jetstream.Msg) Msg { return Msg{Subject: m.Subject(), Data: m.Data(), m: m} }

// fromMQTT reports whether m was published over MQTT.
func (m Msg) fromMQTT() bool { return m.m.Headers().Get(mqttHeader) != "" }

// Ack acknowledges m and waits for the server to confirm, so an acknowledged
// message is not redelivered.
func (m Msg) Ack(ctx context.Context) error { return m.m.DoubleAck(ctx) }

// Observation decodes m as a message of the OBS stream.
func (m Msg) Observation() (clinical.Observation, error) {
	var o clinical.Observation
	if err := json.Unmarshal(m.Data, &o); err != nil {
		return o, fmt.Errorf("stream: decode observation: %w", err)
	}
	return o, nil
}

// Fetch returns up to n messages: it returns when n have arrived, or when
// ctx is done (after 1 s when ctx has no deadline) with those that arrived,
// possibly none, which is not an error.
func (c *Consumer) Fetch(ctx context.Context, n int) ([]Msg, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Second)
		defer cancel()
	}
	batch, err := c.c.Fetch(n, jetstream.FetchContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("stream: fetch: %w", err)
	}
	var out []Msg
	for m := range batch.Messages() {
		out = append(out, newMsg(m))
	}
	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
		return out, fmt.Errorf("stream: fetch: %w", err)
	}
	return out, nil
}

// Next returns the next message, waiting for it until ctx is done (then it
// returns ctx's error). Unlike Fetch it keeps pull requests outstanding
// (up to 256 messages buffered), so a message is handed over as soon as it
// arrives; call Stop when done.
func (c *Consumer) Next(ctx context.Context) (Msg, error) {
	if c.it == nil {
		it, err := c.c.Messages(jetstream.PullMaxMessages(256))
		if err != nil {
			return Msg{}, fmt.Errorf("stream: next: %w", err)
		}
		c.it = it
	}
	m, err := c.it.Next(jetstream.NextContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return Msg{}, ctx.Err()
		}
		return Msg{}, fmt.Errorf("stream: next: %w", err)
	}
	return newMsg(m), nil
}

// Stop ends the pull requests of Next. Buffered messages not yet returned
// are delivered again after the ack wait.
func (c *Consumer) Stop() {
	if c.it != nil {
		c.it.Stop()
		c.it = nil
	}
}

// Run blocks until ctx is done, then closes s. It returns early with an
// error if the connection to NATS is closed underneath it.
func (s *Stream) Run(ctx context.Context) error {
	closed := make(chan struct{})
	s.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	select {
	case <-ctx.Done():
		s.Close()
		return nil
	case <-closed:
		s.Close()
		return errors.New("stream: NATS connection closed")
	}
}

// Close drains the connection (pending publishes are flushed) and shuts the
// embedded server down, waiting until it has stopped. It is safe to call
// more than once.
func (s *Stream) Close() error {
	if s.nc != nil && !s.nc.IsClosed() {
		s.nc.Close()
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
	return nil
}
