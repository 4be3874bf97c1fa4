package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/clinical/fhirobs"
	"github.com/doppelhealth/doppel/internal/device"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/httpapi"
	"github.com/doppelhealth/doppel/internal/metrics"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/stream"
	"github.com/doppelhealth/doppel/internal/twin"
)

// twinFlags are serve's live-twin flags.
type twinFlags struct {
	on       bool    // --twins
	demo     bool    // --demo
	speed    float64 // --demo-speed: simulated minutes per second
	nats     string  // --nats: external NATS URL
	mqttAddr string  // --mqtt-addr of the embedded server
	keyFile  string  // --device-key-file: key of the device secrets

	natsNamespace string        // --nats-namespace: subject prefix and stream-name suffix
	ackWait       time.Duration // --nats-ack-wait: redelivery delay of unacknowledged messages
	deviceRate    float64       // --device-rate: messages a second per device; 0 no limit
	deviceBurst   int           // --device-burst
	forecastEvery time.Duration // --twin-forecast-every: cadence of stored forecasts
}

func (f *twinFlags) register(c *cobra.Command) {
	c.Flags().BoolVar(&f.on, "twins", false, "run live patient twins: device data in by MQTT/NATS, forecasts and alerts out (/twin/{patient})")
	c.Flags().StringVar(&f.nats, "nats", "", "with --twins: external NATS (JetStream) `URL`; default an embedded server under DIR/nats")
	c.Flags().StringVar(&f.mqttAddr, "mqtt-addr", "127.0.0.1:1883", "with --twins: MQTT 3.1.1 listener of the embedded server, `HOST:PORT` (port 0: any free port)")
	c.Flags().BoolVar(&f.demo, "demo", false, "with live twins (implies --twins): create virtual patients (type-1 diabetes with noisy CGM, ward patients, one deteriorating) and stream their data in simulated time")
	c.Flags().Float64Var(&f.speed, "demo-speed", 5, "with --demo: simulated `MINUTES` per second of wall time (the twins' clock follows the simulation)")
	c.Flags().StringVar(&f.natsNamespace, "nats-namespace", "", "with --twins: prefix of every NATS subject (`NAME.`) and suffix of the stream names (DEVICES_NAME, OBS_NAME), so several servers share one NATS cluster; MQTT topics then start with NAME/")
	c.Flags().DurationVar(&f.ackWait, "nats-ack-wait", 30*time.Second, "with --twins: a message taken from the stream and not acknowledged within `D` (a crashed consumer) is delivered again")
	c.Flags().Float64Var(&f.deviceRate, "device-rate", 10, "with --twins: messages a second one device may send on average over MQTT, NATS or HTTP (`N`); more are refused (HTTP 429, MQTT a rate-limited notice); 0: no limit; with --demo at least --demo-speed")
	c.Flags().IntVar(&f.deviceBurst, "device-burst", 100, "with --device-rate: messages one device may send at once after a pause (`N`)")
	c.Flags().DurationVar(&f.forecastEvery, "twin-forecast-every", time.Hour, "with --twins: store a patient's forecast (FHIR Observations, RiskAssessment: updated in place, earlier versions in _history, each with its Provenance) when its data is at least `D` newer than the stored one's; 0: after every reading (about 40 kB of store a forecast)")
	c.Flags().StringVar(&f.keyFile, "device-key-file", "", "with --twins: devices log in to the embedded server with their id and the secret HMAC-SHA256(key in `FILE`, id) in hex; none: no device authentication (loopback only)")
}

// deviceSecret is the secret of device under key: the hex HMAC-SHA256 of
// its id. An operator computes it for a device with
// printf %s ID | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(xxd -p -c 256 FILE).
func deviceSecret(key []byte, device string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(device))
	return hex.EncodeToString(m.Sum(nil))
}

// Identifier systems of what the twins write to the store.
const (
	deviceObsSystem = fhirobs.IdentifierSystem // value: hash of the duplicate key
	twinAlertSystem = "urn:doppel:twin-alert"
	twinTagSystem   = "urn:doppel:twin"
)

// streamKey derives the embedded JetStream store's encryption secret from
// the store key of --encryption-key-file, so that one key file protects
// both and neither secret is used for two purposes.
func streamKey(storeKey []byte) []byte {
	m := hmac.New(sha256.New, storeKey)
	m.Write([]byte("doppel: JetStream store encryption"))
	return m.Sum(nil)
}

// liveTwins is the running twin layer of serve: the stream, the ingest
// from devices to patients, the consumer that stores each observation and
// hands it to the twin manager.
type liveTwins struct {
	mgr     *twin.Manager
	wb      *writeback // forecasts and alerts to the store (serve_twin_writeback.go)
	stream  *stream.Stream
	svc     *fhirops.Service
	devAuth func(device, secret string) bool // nil without --device-key-file
	limit   *device.Limiter                  // nil without --device-rate
	now     func() time.Time                 // the twins' and the decoders' clock
	met     twinMetrics
	logger  *slog.Logger
	ctx     context.Context // of the goroutines below; ends at Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// twinDeps are what startTwins is given besides flags.
type twinDeps struct {
	series store.Series      // numeric readings as samples (see consume); nil: as Observations
	mreg   *metrics.Registry // the twins' metrics; nil: not exported
	now    func() time.Time  // nil: time.Now (the demo's simulated clock otherwise)
	// glucose is the diabetes twins' setup (twin.Options.Glucose); nil: from
	// the patient's record (serve_twin_params.go).
	glucose func(patient string) (twin.GlucoseSetup, error)
}

// run runs fn until the twins close; an error before is logged.
func (lt *liveTwins) run(name string, fn func(ctx context.Context) error) {
	lt.wg.Go(func() {
		if err := fn(lt.ctx); err != nil && lt.ctx.Err() == nil {
			lt.logger.Error("twins: "+name+" stopped", "err", err)
		}
	})
}

// startTwins opens the stream (embedded under dir/nats, or f.nats) and
// starts ingest, the observation consumer and the twins. svc writes to the
// store without an access context (the server's own writes).
func startTwins(ctx context.Context, logger *slog.Logger, svc *fhirops.Service, dir string, f twinFlags, storeKey []byte, deps twinDeps) (*liveTwins, error) {
	if deps.mreg == nil {
		deps.mreg = metrics.NewRegistry()
	}
	if deps.now == nil {
		deps.now = time.Now
	}
	met := newTwinMetrics(deps.mreg)
	var devAuth func(device, secret string) bool
	if f.ackWait != 0 && f.ackWait < time.Second { // 0: the stream's default
		return nil, usageError(fmt.Errorf("--nats-ack-wait %v: want 1s or more", f.ackWait))
	}
	limit, err := deviceLimiter(f)
	if err != nil {
		return nil, err
	}
	so := stream.Options{URL: f.nats, Dir: dir, Logger: logger, Namespace: f.natsNamespace, AckWait: f.ackWait}
	if f.nats == "" {
		if storeKey != nil { // the stream store is encrypted with the store (SEC-24)
			so.EncryptionKey = streamKey(storeKey)
		}
		host, port, err := net.SplitHostPort(f.mqttAddr)
		if err != nil {
			return nil, usageError(fmt.Errorf("--mqtt-addr: %w", err))
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return nil, usageError(fmt.Errorf("--mqtt-addr: bad port %q", port))
		}
		if p == 0 {
			p = -1 // stream: a free port
		}
		so.MQTTHost, so.MQTTPort = host, p
		if f.keyFile != "" {
			key, err := readKey("--device-key-file", f.keyFile, dir)
			if err != nil {
				return nil, err
			}
			devAuth = func(device, secret string) bool { // SEC-22
				return clinical.ValidID(device) && hmac.Equal([]byte(deviceSecret(key, device)), []byte(secret))
			}
			so.DeviceAuth = devAuth
		}
	} else if f.keyFile != "" {
		return nil, usageError(errors.New("--device-key-file is for the embedded server; an external NATS (--nats) authenticates devices itself"))
	}
	s, err := stream.Open(ctx, so)
	if err != nil {
		return nil, err
	}
	snaps, err := newFileSnapshots(filepath.Join(dir, "twins"), storeKey)
	if err != nil {
		s.Close()
		return nil, err
	}
	rec, err := newRecord(context.WithoutCancel(ctx), svc, logger) // personal parameters, scale 2 (serve_twin_params.go)
	if err != nil {
		s.Close()
		return nil, err
	}
	if deps.glucose == nil {
		deps.glucose = rec.glucose
	}
	wb, err := newWriteback(ctx, svc, writebackOptions{Every: f.forecastEvery, Now: deps.now, Metrics: deps.mreg, Logger: logger})
	if err != nil {
		s.Close()
		return nil, err
	}
	mgr, err := twin.New(twin.Options{Now: deps.now, Glucose: deps.glucose, Scale2: rec.scale2, Sink: countingSink{wb, met.alerts}, Snapshots: rec.snapshots(snaps)})
	if err != nil {
		wb.Close()
		s.Close()
		return nil, err
	}
	rec.mgr = mgr
	if err := mgr.Load(ctx, snaps.patients()); err != nil {
		wb.Close()
		s.Close()
		return nil, err
	}
	if n, err := replayTwins(ctx, mgr, svc, deps.series); err != nil {
		wb.Close()
		s.Close()
		return nil, err
	} else if n > 0 {
		logger.Info("twins: replayed the stored diabetes data newer than the snapshots", "entries", n)
	}
	cons, err := s.Consumer(ctx, stream.Observations, "twins", "")
	if err != nil {
		wb.Close()
		s.Close()
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	lt := &liveTwins{mgr: mgr, wb: wb, stream: s, svc: svc, devAuth: devAuth, limit: limit, now: deps.now, met: met, logger: logger, ctx: rctx, cancel: cancel}
	in := make(chan twin.Delivery)
	lt.run("ingest", func(rctx context.Context) error {
		return s.Ingest(rctx, stream.Ingest{Decoder: device.Decoder{Now: deps.now}, Patient: devicePatient(rctx, svc), Limit: limit,
			Report: func(dev string, r device.Result, err error) {
				met.report("stream", r, err)
				if err != nil || len(r.Rejected) > 0 {
					logger.Warn("twins: device message refused in part or whole", "rejected", len(r.Rejected), "whole", err != nil)
				}
			}})
	})
	lt.run("manager", func(rctx context.Context) error { return mgr.Run(rctx, in) })
	lt.run("lag", lt.watchLag)
	lt.run("consumer", func(rctx context.Context) error { return consume(rctx, cons, svc, deps.series, in, met, logger) })
	lt.run("snapshots", func(rctx context.Context) error {
		t := time.NewTicker(5 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return nil
			case <-t.C:
				if err := mgr.SaveAll(rctx); err != nil {
					logger.Warn("twins: snapshot failed", "err", err)
				}
			}
		}
	})
	return lt, nil
}

// consume stores each observation of OBS and hands it to the twins; the
// message is acknowledged when its twin has processed it. A numeric
// reading (CGM, vitals) goes to series, when there is one, as samples
// (one per component of a blood pressure); insulin, carbohydrate and
// coded values (ACVPU) become FHIR resources. An observation that came
// from a FHIR Observation written through the API (storedAlready) is stored
// already and only reaches the twin.
func consume(ctx context.Context, cons *stream.Consumer, svc *fhirops.Service, series store.Series, in chan<- twin.Delivery, met twinMetrics, logger *slog.Logger) error {
	// Eight patients at once, each patient's readings in order: a reading
	// waits for its commit, and the store's writer commits those waiting
	// together.
	cons.Each(ctx, 8, logger, func(msg stream.Msg) {
		o, err := msg.Observation()
		if err != nil { // not ours to retry: drop it
			logger.Warn("twins: undecodable observation dropped", "err", err)
			_ = msg.Ack(ctx)
			return
		}
		received := time.Now()
		if err := storeReading(ctx, svc, series, o); err != nil {
			logger.Warn("twins: storing an observation failed; it will be redelivered", "err", err)
			return
		}
		select {
		case in <- twin.Delivery{Obs: o, Done: func(err error) {
			if err != nil {
				logger.Warn("twins: a twin refused an observation", "err", err)
			}
			met.update.Observe(time.Since(received).Seconds())
			_ = msg.Ack(ctx)
		}}:
		case <-ctx.Done():
		}
	})
	return nil
}

// startTwinsIf starts the twins when --twins asks for them and serves
// them through opts; otherwise it returns nil, on which Close and
// onShutdown do nothing. The twins write with their own service on st,
// outside any request; what they write back is recorded in the audit
// trail of opts.Audit (writeback).
func startTwinsIf(ctx context.Context, logger *slog.Logger, st store.Store, reg *search.Registry, dir string, f twinFlags, opts *httpapi.Options, storeKey []byte, mreg *metrics.Registry) (*liveTwins, error) {
	if !f.on && !f.demo {
		if f.nats != "" {
			return nil, usageError(errors.New("--nats needs --twins"))
		}
		return nil, nil
	}
	deps := twinDeps{mreg: mreg}
	deps.series, _ = st.(store.Series)
	var d *demo
	if f.demo {
		var err error
		if d, err = newDemo(dir, f.speed); err != nil {
			return nil, err
		}
		if f.deviceRate > 0 { // a demo device sends about one message per 5 simulated minutes
			f.deviceRate = max(f.deviceRate, f.speed)
		}
		deps.now, deps.glucose = d.clock.Now, d.glucose
	}
	svc := fhirops.New(auditedStore(st, opts.Audit), reg, fhirops.Options{})
	lt, err := startTwins(ctx, logger, svc, dir, f, storeKey, deps)
	if err != nil {
		return nil, err
	}
	if d != nil {
		if err := d.start(ctx, lt); err != nil {
			lt.Close(ctx)
			return nil, err
		}
	}
	opts.Twins = drugTwins{lt.mgr, svc} // drug plans of the what-if (serve_twin_drug.go)
	return lt, nil
}

// onShutdown ends the event streams when hs shuts down, which would
// otherwise wait for their clients to leave.
func (lt *liveTwins) onShutdown(hs *http.Server) {
	if lt != nil {
		hs.RegisterOnShutdown(lt.mgr.CloseSubscriptions)
	}
}

// Close stops the twins, writes their queued forecasts, snapshots them
// and closes the stream.
func (lt *liveTwins) Close(ctx context.Context) error {
	if lt == nil {
		return nil
	}
	lt.mgr.CloseSubscriptions()
	lt.cancel()
	lt.wg.Wait()
	lt.wb.Close()
	return errors.Join(lt.mgr.SaveAll(ctx), lt.stream.Close())
}

// devicePatient resolves a device id to its patient through the store's
// Device resource (Device.patient, FHIR R4).
func devicePatient(ctx context.Context, svc *fhirops.Service) func(string) (string, bool) {
	return func(id string) (string, bool) {
		v, err := svc.Read(ctx, "Device", id)
		if err != nil {
			return "", false
		}
		var d struct {
			Patient struct {
				Reference string `json:"reference"`
			} `json:"patient"`
		}
		if json.Unmarshal(v.Body, &d) != nil {
			return "", false
		}
		p, ok := strings.CutPrefix(d.Patient.Reference, "Patient/")
		return p, ok && clinical.ValidID(p)
	}
}

// hashID is a short identifier value derived from key.
func hashID(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:16])
}
