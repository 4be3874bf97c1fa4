package fhirobs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
)

// IdentifierSystem is the system of the identifier every device reading
// carries; its value is [Identifier].
const IdentifierSystem = "urn:doppel:device-observation"

// Identifier is the identifier value of o: 32 hex digits of the SHA-256 of
// its duplicate key (clinical.Observation.Key), the same for a re-sent
// reading, so that a conditional create on it stores a reading once.
func Identifier(o clinical.Observation) string {
	h := sha256.Sum256([]byte(o.Key()))
	return hex.EncodeToString(h[:16])
}

// Meta is the id and meta of a resource made on the fly (not stored, so
// the server does not assign them): version 1, last updated at LastUpdated.
// The zero Meta leaves id and meta out, for a resource about to be created.
type Meta struct {
	ID          string
	LastUpdated time.Time
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

type meta struct {
	VersionID   string `json:"versionId"`
	LastUpdated string `json:"lastUpdated"`
}

// UCUM is the code system of the units.
const UCUM = "http://unitsofmeasure.org"

// CategorySystem is the code system of Observation.category.
const CategorySystem = "http://terminology.hl7.org/CodeSystem/observation-category"

func ucumQ(q clinical.Quantity) *quantity {
	return &quantity{Value: q.Value, Unit: q.Unit, System: UCUM, Code: q.Unit}
}

func codingOf(c clinical.Code) concept {
	return concept{Coding: []coding{{System: c.System, Code: c.Code, Display: c.Display}}}
}

// Category is the Observation.category code of readings of code:
// "vital-signs", or "" for CGM glucose and carbohydrate intake (neither is
// a vital sign of the R4 vital-signs profile).
func Category(code string) string {
	if code == clinical.CodeGlucoseCGM || code == clinical.CodeCarbIntake {
		return ""
	}
	return "vital-signs"
}

// Resource returns the type and JSON of the FHIR resource that records o.
// o's code must be one of clinical.Codes; an insulin dose needs a value.
func Resource(o clinical.Observation, m Meta) (string, []byte, error) {
	c, ok := clinical.Lookup(o.Code)
	if !ok {
		return "", nil, fmt.Errorf("fhirobs: unknown code %q", o.Code)
	}
	var id string
	var mt *meta
	if m.ID != "" {
		id, mt = m.ID, &meta{"1", m.LastUpdated.UTC().Format(time.RFC3339Nano)}
	}
	ids := []identifier{{System: IdentifierSystem, Value: Identifier(o)}}
	subject := reference{"Patient/" + o.Patient}
	at := o.Effective.UTC().Format(time.RFC3339Nano)
	if c.Resource == "MedicationAdministration" {
		if o.Value == nil {
			return "", nil, errors.New("fhirobs: insulin dose without a value")
		}
		type dosage struct {
			Dose *quantity `json:"dose"`
		}
		b, err := json.Marshal(struct {
			ResourceType string       `json:"resourceType"`
			ID           string       `json:"id,omitempty"`
			Meta         *meta        `json:"meta,omitempty"`
			Identifier   []identifier `json:"identifier"`
			Status       string       `json:"status"`
			Medication   concept      `json:"medicationCodeableConcept"`
			Subject      reference    `json:"subject"`
			Effective    string       `json:"effectiveDateTime"`
			Device       []reference  `json:"device"`
			Dosage       dosage       `json:"dosage"`
		}{"MedicationAdministration", id, mt, ids, "completed", codingOf(c), subject, at, []reference{{"Device/" + o.Device}}, dosage{ucumQ(*o.Value)}})
		return "MedicationAdministration", b, err
	}
	type component struct {
		Code  concept   `json:"code"`
		Value *quantity `json:"valueQuantity"`
	}
	var comps []component
	for _, k := range o.Components {
		kc, ok := clinical.Lookup(k.Code)
		if !ok {
			return "", nil, fmt.Errorf("fhirobs: unknown component code %q", k.Code)
		}
		comps = append(comps, component{codingOf(kc), ucumQ(k.Value)})
	}
	var value *quantity
	if o.Value != nil {
		value = ucumQ(*o.Value)
	}
	var valueCode *concept
	if o.ValueCode != "" {
		valueCode = &concept{Text: o.ValueCode}
	}
	var device *reference // a sample stored without a device has none
	if o.Device != "" {
		device = &reference{"Device/" + o.Device}
	}
	var category []concept
	if cat := Category(o.Code); cat != "" {
		category = []concept{{Coding: []coding{{System: CategorySystem, Code: cat}}}}
	}
	b, err := json.Marshal(struct {
		ResourceType string       `json:"resourceType"`
		ID           string       `json:"id,omitempty"`
		Meta         *meta        `json:"meta,omitempty"`
		Identifier   []identifier `json:"identifier"`
		Status       string       `json:"status"`
		Category     []concept    `json:"category,omitempty"`
		Code         concept      `json:"code"`
		Subject      reference    `json:"subject"`
		Effective    string       `json:"effectiveDateTime"`
		Device       *reference   `json:"device,omitempty"`
		Value        *quantity    `json:"valueQuantity,omitempty"`
		ValueCode    *concept     `json:"valueCodeableConcept,omitempty"`
		Component    []component  `json:"component,omitempty"`
	}{"Observation", id, mt, ids, "final", category, codingOf(c), subject, at, device, value, valueCode, comps})
	return "Observation", b, err
}
