package stream

import (
	"context"
	"strings"
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
	// that share a name share the work.
	Consumer string
}

// Ingest moves device messages from DEVICES to OBS until ctx is done:
// each message is decoded and validated, its device resolved to a patient,
// and every accepted observation published with its duplicate key, so a
// message redelivered after a crash adds nothing. A message is acknowledged
// once all its observations are in OBS (or it was refused), so none is lost;
// when OBS refuses a publish the message is left for redelivery and the
// failure logged. It returns nil when ctx is done, or the error that kept
// it from starting.
func (s *Stream) Ingest(ctx context.Context, in Ingest) error {
	name := cmpOr(in.Consumer, "ingest")
	c, err := s.Consumer(ctx, Devices, name, "")
	if err != nil {
		return err
	}
	defer c.Stop()
	for {
		m, err := c.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.log.Warn("ingest: next message", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if err := s.ingestOne(ctx, in, m); err != nil && ctx.Err() == nil {
			s.log.Warn("ingest: publish failed; message left for redelivery", "err", err)
		}
	}
}

func (s *Stream) ingestOne(ctx context.Context, in Ingest, m Msg) error {
	subject := strings.TrimPrefix(m.Subject, s.prefix())
	dev, _ := device.DeviceFromSubject(subject)
	r, err := in.Decoder.DecodeMessage(subject, m.Data)
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
	return m.Ack(ctx)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
