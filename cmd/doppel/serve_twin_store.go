package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
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
// MedicationAdministration), created once: its identifier is derived from
// the duplicate key (device, code, time), and the create is conditional.
func storeObservation(ctx context.Context, svc *fhirops.Service, o clinical.Observation) error {
	typ, body, err := fhirObservation(o)
	if err != nil {
		return err
	}
	_, err = svc.Create(ctx, typ, body, "identifier="+deviceObsSystem+"|"+hashID(o.Key()))
	return err
}

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type quantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	System string  `json:"system"`
	Code   string  `json:"code"`
}

type reference struct {
	Reference string `json:"reference"`
}

type identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

const ucum = "http://unitsofmeasure.org"

func ucumQ(q clinical.Quantity) *quantity {
	return &quantity{Value: q.Value, Unit: q.Unit, System: ucum, Code: q.Unit}
}

// fhirObservation maps o to the FHIR resource its code records.
func fhirObservation(o clinical.Observation) (string, []byte, error) {
	c, ok := clinical.Lookup(o.Code)
	if !ok {
		return "", nil, fmt.Errorf("serve: unknown code %q", o.Code)
	}
	cc := concept{Coding: []coding{{System: c.System, Code: c.Code, Display: c.Display}}}
	ids := []identifier{{System: deviceObsSystem, Value: hashID(o.Key())}}
	subject := reference{"Patient/" + o.Patient}
	at := o.Effective.UTC().Format(time.RFC3339Nano)
	if c.Resource == "MedicationAdministration" {
		if o.Value == nil {
			return "", nil, errors.New("serve: insulin dose without a value")
		}
		type dosage struct {
			Dose *quantity `json:"dose"`
		}
		b, err := json.Marshal(struct {
			ResourceType string       `json:"resourceType"`
			Identifier   []identifier `json:"identifier"`
			Status       string       `json:"status"`
			Medication   concept      `json:"medicationCodeableConcept"`
			Subject      reference    `json:"subject"`
			Effective    string       `json:"effectiveDateTime"`
			Device       []reference  `json:"device"`
			Dosage       dosage       `json:"dosage"`
		}{"MedicationAdministration", ids, "completed", cc, subject, at, []reference{{"Device/" + o.Device}}, dosage{ucumQ(*o.Value)}})
		return "MedicationAdministration", b, err
	}
	type component struct {
		Code  concept   `json:"code"`
		Value *quantity `json:"valueQuantity"`
	}
	var comps []component
	for _, k := range o.Components {
		kc, _ := clinical.Lookup(k.Code)
		comps = append(comps, component{concept{Coding: []coding{{System: kc.System, Code: kc.Code, Display: kc.Display}}}, ucumQ(k.Value)})
	}
	var value *quantity
	if o.Value != nil {
		value = ucumQ(*o.Value)
	}
	var valueCode *concept
	if o.ValueCode != "" {
		valueCode = &concept{Text: o.ValueCode}
	}
	var category []concept
	if o.Code != clinical.CodeGlucoseCGM && o.Code != clinical.CodeCarbIntake {
		category = []concept{{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/observation-category", Code: "vital-signs"}}}}
	}
	b, err := json.Marshal(struct {
		ResourceType string       `json:"resourceType"`
		Identifier   []identifier `json:"identifier"`
		Status       string       `json:"status"`
		Category     []concept    `json:"category,omitempty"`
		Code         concept      `json:"code"`
		Subject      reference    `json:"subject"`
		Effective    string       `json:"effectiveDateTime"`
		Device       reference    `json:"device"`
		Value        *quantity    `json:"valueQuantity,omitempty"`
		ValueCode    *concept     `json:"valueCodeableConcept,omitempty"`
		Component    []component  `json:"component,omitempty"`
	}{"Observation", ids, "final", category, cc, subject, at, reference{"Device/" + o.Device}, value, valueCode, comps})
	return "Observation", b, err
}
