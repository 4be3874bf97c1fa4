package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/clinical/fhirobs"
	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/store"
)

// storeReading stores o: nothing if it came from a stored FHIR
// Observation, samples of series for a numeric reading, else a FHIR
// resource (storeObservation).
func storeReading(ctx context.Context, svc *fhirops.Service, series store.Series, o clinical.Observation) error {
	if storedAlready(o) {
		return nil
	}
	if ss := samples(o); series != nil && len(ss) > 0 {
		if _, err := series.AppendSamples(ctx, ss); err != nil {
			return err
		}
		return recordSamples(ctx, svc, series, o)
	}
	return storeObservation(ctx, svc, o)
}

// Provenance of device data (R4 provenance.html: agent the Device, target
// what it made, entity the message, recorded when first stored) costs a
// FHIR resource, about 1 kB stored: one per message would cost several
// hundred times a CGM sample (about 2 B). So samples get one Provenance
// per series (patient, code, device) and UTC day, written with the day's
// first message and never rewritten: its target is the day's
// valueSampledData Observation (fhirops.SampledID), its period the day,
// its entity that first message. A reading stored as a resource (insulin,
// carbohydrate, consciousness) gets one Provenance of its own.
//
// Provenance ids are derived from what they record, so a message
// delivered again (after a crash before its acknowledgement) finds its
// Provenance written and writes nothing, or writes it if the crash came
// between the samples and the Provenance (they are two store writes).

// recordSamples writes the Provenance of the series-days of o's samples
// that have none.
func recordSamples(ctx context.Context, svc *fhirops.Service, series store.Series, o clinical.Observation) error {
	e := o.Effective.UTC()
	day := time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, time.UTC)
	for _, sm := range samples(o) {
		infos, err := series.SeriesOf(ctx, sm.Patient, sm.Code)
		if err != nil {
			return err
		}
		for _, f := range infos {
			if f.Device != sm.Device {
				continue
			}
			target := fhirops.SampledID(f.ID, o.Effective)
			r := fhirobs.Record{ID: "prov-" + target, Agent: o.Device, Targets: []string{"Observation/" + target}, Start: day, End: day.Add(24*time.Hour - time.Nanosecond), Message: fhirobs.Identifier(o)}
			if err := putProvenance(ctx, svc, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// putProvenance writes r as a Provenance unless one of its id exists.
func putProvenance(ctx context.Context, svc *fhirops.Service, r fhirobs.Record) error {
	_, err := svc.Read(ctx, "Provenance", r.ID)
	if fe, ok := errors.AsType[*fhir.Error](err); !ok || fe.Status != http.StatusNotFound {
		return err // nil: written already
	}
	r.Recorded = time.Now().UTC()
	body, err := fhirobs.Provenance(r)
	if err != nil {
		return err
	}
	_, err = svc.Update(ctx, "Provenance", r.ID, body, "")
	return err
}

// samples are the time-series samples of o: its value, or the values of
// its components; none for insulin, carbohydrate and coded values.
func samples(o clinical.Observation) []store.Sample {
	if o.Code == clinical.CodeInsulin || o.Code == clinical.CodeCarbIntake {
		return nil
	}
	var ss []store.Sample
	if o.Value != nil {
		ss = append(ss, store.Sample{Patient: o.Patient, Code: o.Code, Device: o.Device, Time: o.Effective, Value: o.Value.Value, Unit: o.Value.Unit})
	}
	for _, c := range o.Components {
		ss = append(ss, store.Sample{Patient: o.Patient, Code: c.Code, Device: o.Device, Time: o.Effective, Value: c.Value.Value, Unit: c.Value.Unit})
	}
	return ss
}

// storeObservation writes o as a FHIR Observation (or, for insulin, a
// MedicationAdministration; fhirobs.Resource), created once: its
// identifier is derived from the duplicate key (device, code, time), and
// the create is conditional.
func storeObservation(ctx context.Context, svc *fhirops.Service, o clinical.Observation) error {
	typ, body, err := fhirobs.Resource(o, fhirobs.Meta{})
	if err != nil {
		return err
	}
	msg := fhirobs.Identifier(o)
	out, err := svc.Create(ctx, typ, body, "identifier="+fhirobs.IdentifierSystem+"|"+msg)
	if err != nil {
		return err
	}
	return putProvenance(ctx, svc, fhirobs.Record{ID: "prov-" + msg, Agent: o.Device, Targets: []string{typ + "/" + out.Version.ID}, Start: o.Effective, End: o.Effective, Message: msg})
}

// The JSON shapes of FHIR datatypes that the twins' other writes use
// (serve_twin_writeback.go, demo.go, serve_twin_ingest.go).
type (
	coding    = fhirobs.Coding
	concept   = fhirobs.Concept
	reference = fhirobs.Reference
	quantity  = fhirobs.Quantity
)

type identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

const ucum = fhirobs.UCUM
