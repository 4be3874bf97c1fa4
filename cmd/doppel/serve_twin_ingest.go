package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/device"
	"github.com/doppelhealth/doppel/internal/httpapi"
	"github.com/doppelhealth/doppel/internal/metrics"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/stream"
	"github.com/doppelhealth/doppel/internal/twin"
)

// twinMetrics are the live twins' series in /metrics.
type twinMetrics struct {
	accepted *metrics.Counter   // source
	rejected *metrics.Counter   // source, reason
	update   *metrics.Histogram // observation consumed -> twin done (events emitted)
	alerts   *metrics.Counter   // kind
	pending  *metrics.Gauge     // consumer: stored, not yet delivered
	unacked  *metrics.Gauge     // consumer: delivered, not yet acknowledged
	oldest   *metrics.Gauge     // consumer: age of the oldest unacknowledged message
}

func newTwinMetrics(reg *metrics.Registry) twinMetrics {
	return twinMetrics{
		accepted: reg.Counter("doppel_ingest_accepted_total", "Device readings accepted, by way in (stream: MQTT/NATS; http: POST /device/observations; fhir: Observations written through the FHIR API).", "source"),
		rejected: reg.Counter("doppel_ingest_rejected_total", "Device readings refused (a message refused whole counts once), by way in and reason (malformed, unknown-code, bad-unit, out-of-range, bad-time, unknown-device, rate-limited).", "source", "reason"),
		update: reg.Histogram("doppel_twin_update_duration_seconds", "Time from an observation taken from the stream to its twin done with it (stored, assimilated, forecast and alerts emitted).",
			[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}),
		alerts:  reg.Counter("doppel_twin_alerts_total", "Twin alerts raised, by kind.", "kind"),
		pending: reg.Gauge("doppel_stream_pending_messages", "Messages stored in JetStream and not yet delivered to the consumer (ingest: device messages, ingest-mqtt: those published over MQTT to the embedded server; twins: validated observations), read every "+lagEvery.String()+".", "consumer"),
		unacked: reg.Gauge("doppel_stream_ack_pending_messages", "Messages delivered to the consumer and not yet acknowledged (being processed).", "consumer"),
		oldest:  reg.Gauge("doppel_stream_oldest_unprocessed_age_seconds", "Age of the oldest message stored and not yet acknowledged by the consumer (0 when none): how far behind it is.", "consumer"),
	}
}

// lagEvery is how often the stream lag gauges are read.
const lagEvery = 5 * time.Second

// watchLag sets the lag gauges of the ingest and twins consumers every
// lagEvery until ctx is done.
func (lt *liveTwins) watchLag(ctx context.Context) error {
	t := time.NewTicker(lagEvery)
	defer t.Stop()
	for {
		lt.recordLag(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// recordLag reads the lag of the consumers into the gauges: ingest (of
// DEVICES), ingest-mqtt (of the embedded server's MQTT message store, see
// stream.Stream.Ingest) and twins (of OBS); one not made yet or absent
// (no MQTT) is skipped.
func (lt *liveTwins) recordLag(ctx context.Context) {
	for _, c := range []struct {
		src         stream.Source
		name, label string
	}{{stream.Devices, "ingest", "ingest"}, {stream.MQTTDevices, "ingest", "ingest-mqtt"}, {stream.Observations, "twins", "twins"}} {
		l, err := lt.stream.Lag(ctx, c.src, c.name)
		if err != nil {
			continue
		}
		age := 0.0
		if !l.Oldest.IsZero() {
			age = max(0, time.Since(l.Oldest).Seconds())
		}
		lt.met.pending.Set(float64(l.Pending), c.label)
		lt.met.unacked.Set(float64(l.AckPending), c.label)
		lt.met.oldest.Set(age, c.label)
	}
}

// deviceLimiter is the rate limit of --device-rate, or nil without one.
func deviceLimiter(f twinFlags) (*device.Limiter, error) {
	if f.deviceRate == 0 {
		return nil, nil
	}
	l, err := device.NewLimiter(f.deviceRate, f.deviceBurst, time.Now)
	if err != nil {
		return nil, usageError(fmt.Errorf("--device-rate %v, --device-burst %d: want a rate > 0 (0: no limit) and a burst >= 1", f.deviceRate, f.deviceBurst))
	}
	return l, nil
}

// report counts the result of one device message.
func (m twinMetrics) report(source string, r device.Result, err error) {
	if err != nil {
		kind, _ := device.WholeRefusal(err)
		m.rejected.Inc(source, kind)
		return
	}
	if len(r.Accepted) > 0 {
		m.accepted.Add(float64(len(r.Accepted)), source)
	}
	for _, x := range r.Rejected {
		m.rejected.Inc(source, x.Kind.String())
	}
}

// countingSink counts the alerts going to a sink.
type countingSink struct {
	twin.Sink
	alerts *metrics.Counter
}

func (s countingSink) Emit(ctx context.Context, e twin.Event) error {
	if e.Kind == twin.KindAlert && e.Alert != nil {
		s.alerts.Inc(e.Alert.Kind)
	}
	return s.Sink.Emit(ctx, e)
}

// deviceIngest is POST /device/observations on the twins' stream, or nil
// when devices cannot authenticate (no --device-key-file): unlike the
// loopback MQTT listener, the HTTP API may face a network.
func (lt *liveTwins) deviceIngest() http.Handler {
	if lt == nil || lt.devAuth == nil {
		return nil
	}
	patient := func(ctx context.Context, dev string) (string, bool) { return devicePatient(ctx, lt.svc)(dev) }
	return &httpapi.DeviceIngest{
		Decoder:      device.Decoder{Now: lt.now},
		Authenticate: lt.devAuth,
		Patient:      patient,
		Publish: func(ctx context.Context, obs []clinical.Observation) error {
			for _, o := range obs {
				if _, err := lt.stream.PublishObservation(ctx, o); err != nil {
					return err
				}
			}
			return nil
		},
		Report: func(r device.Result, err error) { lt.met.report("http", r, err) },
		Limit:  lt.limit,
	}
}

// fhirSourcePrefix marks an observation taken from a FHIR Observation
// written through the API: its Device is "Observation/ID", which no
// device id can be (ids hold no "/"), so its duplicate key is unique and
// consume knows it is stored already.
const fhirSourcePrefix = "Observation/"

func storedAlready(o clinical.Observation) bool { return strings.HasPrefix(o.Device, fhirSourcePrefix) }

// feed returns st, whose Observations created through the FHIR API
// (create, update-as-create, transaction) are handed to the twins after
// the write commits: those with a code of clinical.Lookup and a Patient
// subject, through the stream's observation subject like device readings.
// Without twins it returns st.
func (lt *liveTwins) feed(st store.Store) store.Store {
	if lt == nil {
		return st
	}
	return feedStore{st, lt}
}

type feedStore struct {
	store.Store
	lt *liveTwins
}

func (f feedStore) Write(ctx context.Context, fn func(w store.Writer) error) error {
	var created []store.Version
	err := f.Store.Write(ctx, func(w store.Writer) error {
		created = created[:0] // fn may run again
		return fn(recordingWriter{w, &created})
	})
	if err != nil {
		return err
	}
	for _, v := range created {
		o, ok := clinicalFromFHIR(v.ID, v.Body)
		if !ok {
			continue
		}
		if _, perr := f.lt.stream.PublishObservation(ctx, o); perr != nil {
			f.lt.met.rejected.Inc("fhir", "unavailable")
			continue // stored; the twin misses it
		}
		f.lt.met.accepted.Inc("fhir")
	}
	return nil
}

// recordingWriter records the Observations created through it.
type recordingWriter struct {
	store.Writer
	created *[]store.Version
}

func (w recordingWriter) Put(ctx context.Context, v store.Version) (store.Version, error) {
	out, err := w.Writer.Put(ctx, v)
	if err == nil && v.Type == "Observation" && v.VersionID == 1 {
		*w.created = append(*w.created, store.Version{ID: v.ID, Body: v.Body})
	}
	return out, err
}

// clinicalFromFHIR maps a FHIR R4 Observation to the observation a twin
// reads: a LOINC code of clinical.Lookup, a Patient subject, an
// effectiveDateTime, and a valueQuantity (UCUM code, else unit), the
// quantities of its components (blood pressure) or a coded value (ACVPU
// letter as code or text); normalised like a device reading. Others,
// and those entered in error, are not for twins.
func clinicalFromFHIR(id string, body []byte) (clinical.Observation, bool) {
	type quantity struct {
		Value *float64 `json:"value"`
		Unit  string   `json:"unit"`
		Code  string   `json:"code"`
	}
	type concept struct {
		Coding []struct{ System, Code string } `json:"coding"`
		Text   string                          `json:"text"`
	}
	var r struct {
		Status  string    `json:"status"`
		Code    concept   `json:"code"`
		Subject reference `json:"subject"`
		At      string    `json:"effectiveDateTime"`
		Value   *quantity `json:"valueQuantity"`
		Coded   *concept  `json:"valueCodeableConcept"`
		Comps   []struct {
			Code  concept   `json:"code"`
			Value *quantity `json:"valueQuantity"`
		} `json:"component"`
	}
	if json.Unmarshal(body, &r) != nil || r.Status == "entered-in-error" || r.Status == "cancelled" {
		return clinical.Observation{}, false
	}
	loinc := func(c concept) string {
		for _, k := range c.Coding {
			if k.System == clinical.LOINC {
				if lc, ok := clinical.Lookup(k.Code); ok && lc.Resource == "Observation" {
					return k.Code
				}
			}
		}
		return ""
	}
	q := func(v *quantity) *clinical.Quantity {
		if v == nil || v.Value == nil {
			return nil
		}
		return &clinical.Quantity{Value: *v.Value, Unit: cmpOr(v.Code, v.Unit)}
	}
	patient, _ := strings.CutPrefix(r.Subject.Reference, "Patient/")
	at, err := time.Parse(time.RFC3339Nano, r.At)
	code := loinc(r.Code)
	if code == "" || err != nil || !clinical.ValidID(patient) || !clinical.ValidID(id) {
		return clinical.Observation{}, false
	}
	o := clinical.Observation{Patient: patient, Device: id, Code: code, Effective: at, Value: q(r.Value)}
	if r.Coded != nil {
		o.ValueCode = r.Coded.Text
		if len(r.Coded.Coding) > 0 {
			o.ValueCode = r.Coded.Coding[0].Code
		}
	}
	for _, c := range r.Comps {
		if cc, v := loinc(c.Code), q(c.Value); v != nil && cc != "" {
			o.Components = append(o.Components, clinical.Component{Code: cc, Value: *v})
		}
	}
	o, err = clinical.Normalize(o)
	if err != nil {
		return clinical.Observation{}, false
	}
	o.Device = fhirSourcePrefix + id
	return o, true
}

func cmpOr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
