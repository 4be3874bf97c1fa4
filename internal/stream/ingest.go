package stream

import (
	"cmp"
	"context"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/device"
)

// Ingest configures [Stream.Ingest].
type Ingest struct {
	// Decoder validates device messages (clock, time window, limits).
	Decoder device.Decoder
	// Patient resolves a device id to the id of the patient it is linked
	// to (FHIR Device.patient); false refuses the whole message.
	Patient func(device string) (patient string, ok bool)
	// Report, if set, is called once per device message with its result
	// or the error that refused it as a whole (a *clinical.Error), for
	// metrics and for answering the device. It must not block for long.
	Report func(device string, r device.Result, err error)
	// Consumer is the durable consumer name; "" means "ingest". Replicas
	// that share a name share the work. With another name than "ingest",
	// readings published over MQTT to an embedded server before the first
	// Ingest under that name are not kept for it.
	Consumer string
	// Limit, if set, caps each device's messages: one over the limit is
	// refused whole with a *device.Throttled. Replicas each keep their own.
	Limit *device.Limiter
	// Workers is how many device messages are ingested at once; 0 means
	// 8. A device's messages all go to one worker, so they reach OBS in
	// order. Each message waits for its observations to be stored (synced
	// to disk on the embedded server) and for its own acknowledgement, so
	// one worker would leave the disk and the CPU idle in turn.
	Workers int
}

// Ingest moves device messages from DEVICES to OBS until ctx is done:
// each message is decoded and validated, its device resolved to a patient,
// and every accepted observation published with its duplicate key, so a
// message redelivered after a crash adds nothing. A message is acknowledged
// once all its observations are in OBS (or it was refused), so none is lost;
// when OBS refuses a publish the message is left for redelivery and the
// failure logged. It returns nil when ctx is done, or the error that kept
// it from starting.
//
// On the embedded server with MQTT, readings published over MQTT are taken
// from the server's MQTT message store, whose store is what an MQTT PUBACK
// confirms, and their copies in DEVICES are skipped (see mqttIngest); a
// NATS client that sets the header Nmqtt-Pub on its own publish has it
// skipped too.
func (s *Stream) Ingest(ctx context.Context, in Ingest) error {
	name := cmpOr(in.Consumer, ingestConsumer)
	c, err := s.Consumer(ctx, Devices, name, "")
	if err != nil {
		return err
	}
	if !s.mqttIngest() {
		s.ingestFrom(ctx, in, c, false)
		return nil
	}
	mc, err := s.Consumer(ctx, MQTTDevices, name, "")
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.ingestFrom(ctx, in, mc, false) })
	s.ingestFrom(ctx, in, c, true)
	wg.Wait()
	return nil
}

// ingestFrom ingests the messages of c until ctx is done; skipMQTT
// acknowledges those published over MQTT unread.
func (s *Stream) ingestFrom(ctx context.Context, in Ingest, c *Consumer, skipMQTT bool) {
	c.Each(ctx, cmp.Or(in.Workers, 8), s.log, func(m Msg) {
		if skipMQTT && m.fromMQTT() {
			_ = m.m.Ack() // not waiting: a copy acknowledged twice or redelivered is skipped again
			return
		}
		if err := s.ingestOne(ctx, in, m); err != nil && ctx.Err() == nil {
			s.log.Warn("ingest: publish failed; message left for redelivery", "err", err)
		}
	})
}

// Each hands the messages of c to fn on n goroutines until ctx is done,
// then stops c. Messages of one subject (a device's, a patient's) all go
// to one goroutine, in order; a message taken when ctx is done is left
// for redelivery. fn acknowledges. A failed fetch is logged and retried
// after a second.
func (c *Consumer) Each(ctx context.Context, n int, log *slog.Logger, fn func(Msg)) {
	defer c.Stop()
	work := make([]chan Msg, max(n, 1))
	var wg sync.WaitGroup
	for i := range work {
		work[i] = make(chan Msg, 64)
		wg.Go(func() {
			for m := range work[i] {
				if ctx.Err() == nil {
					fn(m)
				}
			}
		})
	}
	defer func() {
		for _, w := range work {
			close(w)
		}
		wg.Wait()
	}()
	for {
		m, err := c.Next(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Warn("stream: next message", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(m.Subject))
		select {
		case work[h.Sum32()%uint32(len(work))] <- m:
		case <-ctx.Done():
			return
		}
	}
}

func (s *Stream) ingestOne(ctx context.Context, in Ingest, m Msg) error {
	subject := strings.TrimPrefix(strings.TrimPrefix(m.Subject, mqttSubjectPrefix), s.prefix())
	dev, known := device.DeviceFromSubject(subject)
	var r device.Result
	var err error
	if ok, wait := true, time.Duration(0); known && in.Limit != nil {
		if ok, wait = in.Limit.Allow(dev); !ok {
			err = &device.Throttled{RetryAfter: wait}
		}
	}
	if err == nil {
		r, err = in.Decoder.DecodeMessage(subject, m.Data)
	}
	var patient string
	if err == nil {
		var ok bool
		if patient, ok = in.Patient(dev); !ok || !clinical.ValidID(patient) {
			err = &clinical.Error{Kind: clinical.UnknownDevice, Field: "device", Reason: "device is not registered to a patient"}
			r = device.Result{}
		}
	}
	for _, o := range r.Accepted {
		o.Patient = patient
		if _, perr := s.PublishObservation(ctx, o); perr != nil {
			m.m.NakWithDelay(time.Second) // redelivered; observations already published are deduplicated
			return perr
		}
	}
	if in.Report != nil {
		in.Report(dev, r, err)
	}
	if known && (err != nil || len(r.Rejected) > 0) {
		s.notify(dev, m, r, err)
	}
	return m.Ack(ctx)
}

// notify tells dev what was refused of message m on its rejected subject
// (MQTT topic doppel/devices/{device}/rejected). It is a plain NATS
// publish: a device subscribed at the time gets it (MQTT QoS 0), and a
// message redelivered after a crash may be noticed twice.
func (s *Stream) notify(dev string, m Msg, r device.Result, err error) {
	var seq uint64
	if md, merr := m.m.Metadata(); merr == nil {
		seq = md.Sequence.Stream
	}
	if perr := s.nc.Publish(s.RejectedSubject(dev), device.Notice(device.IDOf(m.Data, seq), r, err)); perr != nil {
		s.log.Warn("ingest: refusal notice not sent", "err", perr)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
