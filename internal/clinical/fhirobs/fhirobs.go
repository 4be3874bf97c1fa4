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

// Coding, Concept, Quantity and Reference are the JSON shapes of the FHIR
// datatypes of the same names, as the resources written here use them.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type Concept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type Quantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	System string  `json:"system"`
	Code   string  `json:"code"`
}

type Reference struct {
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

func ucumQ(q clinical.Quantity) *Quantity {
	return &Quantity{Value: q.Value, Unit: q.Unit, System: UCUM, Code: q.Unit}
}

func codingOf(c clinical.Code) Concept {
	return Concept{Coding: []Coding{{System: c.System, Code: c.Code, Display: c.Display}}}
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
	subject := Reference{"Patient/" + o.Patient}
	at := o.Effective.UTC().Format(time.RFC3339Nano)
	if c.Resource == "MedicationAdministration" {
		if o.Value == nil {
			return "", nil, errors.New("fhirobs: insulin dose without a value")
		}
		type dosage struct {
			Dose *Quantity `json:"dose"`
		}
		b, err := json.Marshal(struct {
			ResourceType string       `json:"resourceType"`
			ID           string       `json:"id,omitempty"`
			Meta         *meta        `json:"meta,omitempty"`
			Identifier   []identifier `json:"identifier"`
			Status       string       `json:"status"`
			Medication   Concept      `json:"medicationCodeableConcept"`
			Subject      Reference    `json:"subject"`
			Effective    string       `json:"effectiveDateTime"`
			Device       []Reference  `json:"device"`
			Dosage       dosage       `json:"dosage"`
		}{"MedicationAdministration", id, mt, ids, "completed", codingOf(c), subject, at, []Reference{{"Device/" + o.Device}}, dosage{ucumQ(*o.Value)}})
		return "MedicationAdministration", b, err
	}
	obs := observation{ResourceType: "Observation", ID: id, Meta: mt, Identifier: ids, Status: "final", Code: codingOf(c), Subject: subject, Effective: at}
	for _, k := range o.Components {
		kc, ok := clinical.Lookup(k.Code)
		if !ok {
			return "", nil, fmt.Errorf("fhirobs: unknown component code %q", k.Code)
		}
		obs.Component = append(obs.Component, component{codingOf(kc), ucumQ(k.Value)})
	}
	if o.Value != nil {
		obs.Value = ucumQ(*o.Value)
	}
	if o.ValueCode != "" {
		obs.ValueCode = &Concept{Text: o.ValueCode}
	}
	obs.describe(o)
	b, err := json.Marshal(obs)
	return "Observation", b, err
}

type component struct {
	Code  Concept   `json:"code"`
	Value *Quantity `json:"valueQuantity"`
}

type period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type sampledData struct {
	Origin     Quantity `json:"origin"`
	Period     float64  `json:"period"`
	Dimensions int      `json:"dimensions"`
	Data       string   `json:"data"`
}

// observation is the JSON of an Observation.
type observation struct {
	ResourceType    string       `json:"resourceType"`
	ID              string       `json:"id,omitempty"`
	Meta            *meta        `json:"meta,omitempty"`
	Identifier      []identifier `json:"identifier,omitempty"`
	Status          string       `json:"status"`
	Category        []Concept    `json:"category,omitempty"`
	Code            Concept      `json:"code"`
	Subject         Reference    `json:"subject"`
	Effective       string       `json:"effectiveDateTime,omitempty"`
	EffectivePeriod *period      `json:"effectivePeriod,omitempty"`
	Device          *Reference   `json:"device,omitempty"`
	Value           *Quantity    `json:"valueQuantity,omitempty"`
	ValueCode       *Concept     `json:"valueCodeableConcept,omitempty"`
	ValueSampled    *sampledData `json:"valueSampledData,omitempty"`
	Component       []component  `json:"component,omitempty"`
}

// describe sets what every Observation of o's code and device carries:
// category and device.
func (obs *observation) describe(o clinical.Observation) {
	if o.Device != "" { // a sample stored without a device has none
		obs.Device = &Reference{"Device/" + o.Device}
	}
	if cat := Category(o.Code); cat != "" {
		obs.Category = []Concept{{Coding: []Coding{{System: CategorySystem, Code: cat}}}}
	}
}

// Grid is a run of samples of one series on a regular time grid, for
// Observation.valueSampledData (R4 datatypes.html#SampledData): the first
// point is at Start, point i at Start + i × PeriodMs milliseconds, and
// Data holds one decimal (in Unit) or "E" (no sample: a gap) per point,
// separated by single spaces; the origin is 0 in Unit and the factor 1.
// End is the last point's time (effectivePeriod.end).
type Grid struct {
	Start, End time.Time
	PeriodMs   float64
	Unit       string
	Data       string
}

// Sampled returns the Observation JSON of the samples of one series in g:
// o gives patient, device and code (o.Effective, Value and Components are
// not used). It has no identifier: it is no single reading.
func Sampled(o clinical.Observation, g Grid, m Meta) ([]byte, error) {
	c, ok := clinical.Lookup(o.Code)
	if !ok {
		return nil, fmt.Errorf("fhirobs: unknown code %q", o.Code)
	}
	obs := observation{ResourceType: "Observation", ID: m.ID, Status: "final", Code: codingOf(c), Subject: Reference{"Patient/" + o.Patient},
		EffectivePeriod: &period{g.Start.UTC().Format(time.RFC3339Nano), g.End.UTC().Format(time.RFC3339Nano)},
		ValueSampled:    &sampledData{Origin: Quantity{Value: 0, Unit: g.Unit, System: UCUM, Code: g.Unit}, Period: g.PeriodMs, Dimensions: 1, Data: g.Data}}
	if m.ID != "" {
		obs.Meta = &meta{"1", m.LastUpdated.UTC().Format(time.RFC3339Nano)}
	}
	obs.describe(o)
	return json.Marshal(obs)
}

// Record is what a Provenance of device data says: the Device that sent
// it (Agent, a Device id), the resources it made (Targets, references such
// as "Observation/tsd-1-k3"), the period the data covers, when it was first
// stored (Recorded) and the message that brought the first of it (Message,
// its [Identifier]).
type Record struct {
	ID         string // the Provenance's id
	Agent      string
	Targets    []string
	Start, End time.Time
	Recorded   time.Time
	Message    string
}

// Provenance returns the JSON of the Provenance resource of r (R4
// provenance.html): agent type "performer" (provenance-participant-type),
// the message as a source entity, identified by its identifier.
func Provenance(r Record) ([]byte, error) {
	if r.Agent == "" || len(r.Targets) == 0 {
		return nil, errors.New("fhirobs: a provenance needs an agent and a target")
	}
	type agent struct {
		Type Concept   `json:"type"`
		Who  Reference `json:"who"`
	}
	type what struct {
		Identifier identifier `json:"identifier"`
	}
	type entity struct {
		Role string `json:"role"`
		What what   `json:"what"`
	}
	var targets []Reference
	for _, t := range r.Targets {
		targets = append(targets, Reference{t})
	}
	return json.Marshal(struct {
		ResourceType string      `json:"resourceType"`
		ID           string      `json:"id,omitempty"`
		Target       []Reference `json:"target"`
		Occurred     period      `json:"occurredPeriod"`
		Recorded     string      `json:"recorded"`
		Agent        []agent     `json:"agent"`
		Entity       []entity    `json:"entity"`
	}{"Provenance", r.ID, targets, period{r.Start.UTC().Format(time.RFC3339Nano), r.End.UTC().Format(time.RFC3339Nano)}, r.Recorded.UTC().Format(time.RFC3339Nano),
		[]agent{{Concept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", Code: "performer", Display: "Performer"}}}, Reference{"Device/" + r.Agent}}},
		[]entity{{"source", what{identifier{IdentifierSystem, r.Message}}}}})
}
