package main

import (
	"context"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/clinical/fhirobs"
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
		_, err := series.AppendSamples(ctx, ss)
		return err
	}
	return storeObservation(ctx, svc, o)
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
	_, err = svc.Create(ctx, typ, body, "identifier="+fhirobs.IdentifierSystem+"|"+fhirobs.Identifier(o))
	return err
}

// The JSON shapes of FHIR datatypes that the twins' other writes use
// (serve_twin_writeback.go, demo.go, serve_twin_ingest.go).
type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type reference struct {
	Reference string `json:"reference"`
}

type identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type quantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	System string  `json:"system"`
	Code   string  `json:"code"`
}

const ucum = fhirobs.UCUM
