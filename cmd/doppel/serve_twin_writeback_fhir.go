package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/assim/glucose"
	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/twin"
)

// The FHIR shapes of what the twins write (writeback).
//
// A forecast must never pass for a measurement, for a person or for a
// program that charts glucose by LOINC code, so a glucose forecast is an
// Observation with:
//
//   - code: the Doppel code "glucose-forecast" (system urn:doppel:twin),
//     not LOINC 99504-3: a search of measured CGM glucose by its code
//     never returns a forecast (whose effective time lies in the future);
//     the display names the LOINC code it forecasts;
//   - status "preliminary" (FHIR R4: not final, not to be acted on as a
//     result), category and meta.tag "forecast" and meta.tag
//     "model-output" of the same system, method naming the model, device
//     the model's Device;
//   - effectiveDateTime: the time forecast (reading + horizon); issued:
//     when it was made; derivedFrom: the reading it follows;
//   - valueQuantity: the median (mg/dL); the 80 % and 95 % prediction
//     intervals and P(< 70 mg/dL) as components with Doppel codes
//     ("forecast-p10", "forecast-p90", "forecast-p2.5", "forecast-p97.5",
//     "forecast-p-below-70"; the horizon is effective minus the reading's
//     time, and the code text names it). Not referenceRange,
//     which means the normal range of a result, and not valueRange, which
//     would lose the median; R4 has no standard element for a predictive
//     distribution, and components are FHIR's way for values that are
//     parts of one observation.
//
// A probability of an event (NEWS2 escalation within 12 h, hypoglycaemia
// within 30 min) is what RiskAssessment.prediction is for. Flags mark the
// other alerts. The twins' models are Device resources (type "software",
// version: the Doppel build and the model), the author of every
// Provenance.

// Codes of urn:doppel:twin (twinTagSystem) in tags, categories and codes.
const (
	tagModelOutput = "model-output" // meta.tag of every twin output
	tagForecast    = "forecast"     // meta.tag and category of forecasts
	tagModel       = "model"        // meta.tag of a model's Device
)

// The models of the twins (twinModel keys).
const (
	modelGlucose = "glucose"
	modelNEWS2   = "news2"
)

// twinModel is one model the twins run, as a Device resource.
type twinModel struct {
	id, name, method string // model id, Device name, method text of its outputs
	version          string // the Doppel build
	deviceID         string
}

// twinModels are the twins' models in the build version.
func twinModels(version string) map[string]twinModel {
	ms := map[string]twinModel{
		modelGlucose: {id: "doppel-glucose-twin", name: "Doppel glucose twin",
			method: "assim/glucose: particle filter over the UVA/Padova S2008 model (model/t1d) with adapting insulin sensitivity, carbohydrate absorption and glucose production; forecast with basal insulin continuing and no meals"},
		modelNEWS2: {id: "doppel-news2-twin", name: "Doppel ward twin",
			method: "score: NEWS2 (RCP 2017) of each complete vitals set; trend of the vitals over 6 h (least squares, 200 Monte Carlo draws) crossing the next clinical response within 12 h"},
	}
	for k, m := range ms {
		m.version = version
		m.deviceID = "twin-model-" + hashID(m.id + "@" + version)[:16]
		ms[k] = m
	}
	return ms
}

// buildVersion is the Doppel version of this binary with its source
// revision when the build recorded one.
func buildVersion() string {
	v := version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value[:min(12, len(s.Value))]
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" && !strings.Contains(v, rev) {
		v += " " + rev + dirty
	}
	return v
}

func (m twinModel) ref() *anyRef { return &anyRef{Reference: "Device/" + m.deviceID} }

func (m twinModel) device() any {
	type name struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	type ver struct {
		Type  concept `json:"type"`
		Value string  `json:"value"`
	}
	return struct {
		ResourceType string       `json:"resourceType"`
		ID           string       `json:"id"`
		Meta         meta         `json:"meta"`
		Identifier   []identifier `json:"identifier"`
		Status       string       `json:"status"`
		Manufacturer string       `json:"manufacturer"`
		DeviceName   []name       `json:"deviceName"`
		Type         concept      `json:"type"`
		Version      []ver        `json:"version"`
		Note         []annotation `json:"note"`
	}{"Device", m.deviceID, meta{[]coding{{System: twinTagSystem, Code: tagModel, Display: "model of a Doppel twin"}}},
		[]identifier{{System: "urn:doppel:twin-model", Value: m.id + "@" + m.version}}, "active", "Doppel",
		[]name{{m.name, "model-name"}},
		concept{Coding: []coding{{System: twinTagSystem, Code: "software", Display: "software: a model of a Doppel twin"}}, Text: "software"},
		[]ver{{concept{Text: "doppel"}, m.version}, {concept{Text: "model"}, m.id}},
		[]annotation{{m.method}}}
}

type meta struct {
	Tag []coding `json:"tag"`
}

// anyRef is a FHIR Reference: literal, or by identifier with a display
// (a device reading stored as a time-series sample is not a resource).
type anyRef struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

type annotation struct {
	Text string `json:"text"`
}

type period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

type rangeQ struct {
	Low  *quantity `json:"low,omitempty"`
	High *quantity `json:"high,omitempty"`
}

// outputSet is what one twin output writes: its resources (the first
// decides, for a forecast, the data time of what is stored) and what its
// Provenance says.
type outputSet struct {
	resources []outputResource
	model     twinModel
	provID    string
	patient   string
	at        time.Time                       // data time (Provenance.occurred)
	data      []clinical.Observation          // the observations it follows from
	state     string                          // forecasts: the data behind the twin's state, "" for none
	baseOf    func([]byte) (time.Time, error) // forecasts: the data time of a stored version of resources[0]
}

// outputResource is one resource of an output; body builds it as issued
// at now.
type outputResource struct {
	typ, id string
	body    func(now time.Time) any
}

func fhirTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// instant is a FHIR instant in UTC with milliseconds.
func instant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// round keeps d decimals of v (mg/dL to 0.1: the sensor reads whole mg/dL).
func round(v float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}

func mgdl(v float64) *quantity {
	return &quantity{Value: round(v, 1), Unit: "mg/dL", System: ucum, Code: "mg/dL"}
}

func twinMeta(forecast bool) meta {
	m := meta{[]coding{{System: twinTagSystem, Code: tagModelOutput, Display: "model output of a Doppel twin, not a measurement"}}}
	if forecast {
		m.Tag = append(m.Tag, coding{System: twinTagSystem, Code: tagForecast})
	}
	return m
}

// readingRef refers to a reading: the Observation written through the
// API that it came from, or the identifier of its duplicate key (what a
// device reading stored as a resource carries; a time-series sample has
// no resource).
func readingRef(o clinical.Observation) anyRef {
	if storedAlready(o) {
		return anyRef{Reference: o.Device}
	}
	return anyRef{Identifier: &identifier{System: deviceObsSystem, Value: hashID(o.Key())},
		Display: "code " + o.Code + ", Device/" + o.Device + ", " + fhirTime(o.Effective)}
}

// forecastResources is the write of a forecast event: a glucose forecast
// or a NEWS2 trend forecast.
func (w *writeback) forecastResources(e twin.Event) (outputSet, error) {
	at := e.Time
	f := outputSet{patient: e.Patient, at: at, data: e.Data,
		provID: "tp-" + hashID(e.Patient+"|"+e.Kind+"|"+fhirTime(at))}
	subject := reference{Reference: "Patient/" + e.Patient}
	switch {
	case e.Kind == twin.KindForecast && e.Forecast != nil:
		f.model = w.models[modelGlucose]
		f.state = "CGM, insulin and carbohydrate data of Patient/" + e.Patient + " assimilated by the twin up to " + fhirTime(at)
		var derived []anyRef
		for _, o := range e.Data {
			derived = append(derived, readingRef(o))
		}
		for _, b := range e.Forecast.Bands {
			f.resources = append(f.resources, outputResource{typ: "Observation", id: forecastID(e.Patient, b.Minutes),
				body: func(now time.Time) any {
					return glucoseForecast(f.model, forecastID(e.Patient, b.Minutes), subject, at, now, b, derived)
				}})
		}
		if len(f.resources) == 0 {
			return f, errors.New("serve: glucose forecast without horizons")
		}
		h := time.Duration(e.Forecast.Bands[0].Minutes) * time.Minute
		f.baseOf = func(body []byte) (time.Time, error) {
			var o struct {
				Effective string `json:"effectiveDateTime"`
			}
			t, err := parseStoredTime(body, &o, &o.Effective)
			return t.Add(-h), err
		}
	case e.Kind == twin.KindNEWS2 && e.NEWS2 != nil:
		f.model = w.models[modelNEWS2]
		f.state = "vitals sets of Patient/" + e.Patient + " scored up to " + fhirTime(at) + " (trend of the last 6 h)"
		f.resources = []outputResource{{typ: "RiskAssessment", id: "tnw-" + hashID(e.Patient),
			body: func(time.Time) any { return news2Trend(f.model, subject, e) }}}
		f.baseOf = func(body []byte) (time.Time, error) {
			var r struct {
				Occurrence string `json:"occurrenceDateTime"`
			}
			return parseStoredTime(body, &r, &r.Occurrence)
		}
	default:
		return f, fmt.Errorf("serve: twin event %q without its forecast", e.Kind)
	}
	return f, nil
}

// parseStoredTime decodes body into v and parses the time *field.
func parseStoredTime(body []byte, v any, field *string) (time.Time, error) {
	if err := json.Unmarshal(body, v); err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, *field)
}

// forecastID is the id of a patient's glucose forecast at a horizon (min).
func forecastID(patient string, minutes int) string {
	return "tfc" + strconv.Itoa(minutes) + "-" + hashID(patient)
}

type component struct {
	Code  concept   `json:"code"`
	Value *quantity `json:"valueQuantity"`
}

// twinConcept is a code of urn:doppel:twin (defined at the top of this
// file), without a display: every coding of a stored version is also a
// row of the search index, and forecasts are many.
func twinConcept(code string) concept {
	return concept{Coding: []coding{{System: twinTagSystem, Code: code}}}
}

// glucoseForecast is the Observation of one horizon of a glucose forecast
// made at now from the reading at at.
func glucoseForecast(m twinModel, id string, subject reference, at, now time.Time, b glucose.Band, derived []anyRef) any {
	h := strconv.Itoa(b.Minutes)
	return struct {
		ResourceType string      `json:"resourceType"`
		ID           string      `json:"id"`
		Meta         meta        `json:"meta"`
		Status       string      `json:"status"`
		Category     []concept   `json:"category"`
		Code         concept     `json:"code"`
		Subject      reference   `json:"subject"`
		Effective    string      `json:"effectiveDateTime"`
		Issued       string      `json:"issued"`
		Value        *quantity   `json:"valueQuantity"`
		Method       concept     `json:"method"`
		Device       *anyRef     `json:"device"`
		DerivedFrom  []anyRef    `json:"derivedFrom,omitempty"`
		Component    []component `json:"component"`
	}{
		ResourceType: "Observation", ID: id, Meta: twinMeta(true),
		Status:   "preliminary",
		Category: []concept{twinConcept(tagForecast)},
		Code: concept{Coding: []coding{{System: twinTagSystem, Code: "glucose-forecast"}},
			Text: "glucose forecast, " + h + " min (of LOINC 99504-3): not a measurement"},
		Subject: subject, Effective: fhirTime(at.Add(time.Duration(b.Minutes) * time.Minute)), Issued: instant(now),
		Value:  mgdl(b.Median),
		Method: twinConcept(m.id),
		Device: m.ref(), DerivedFrom: derived,
		Component: []component{
			{twinConcept("forecast-p10"), mgdl(b.Lo80)},
			{twinConcept("forecast-p90"), mgdl(b.Hi80)},
			{twinConcept("forecast-p2.5"), mgdl(b.Lo95)},
			{twinConcept("forecast-p97.5"), mgdl(b.Hi95)},
			{twinConcept("forecast-p-below-70"), &quantity{Value: round(b.PBelow70, 3), Unit: "1", System: ucum, Code: "1"}},
		},
	}
}

type prediction struct {
	Outcome     concept `json:"outcome"`
	Probability float64 `json:"probabilityDecimal"`
	WhenRange   *rangeQ `json:"whenRange,omitempty"`
	WhenPeriod  *period `json:"whenPeriod,omitempty"`
}

type riskAssessment struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Meta         meta         `json:"meta"`
	Identifier   []identifier `json:"identifier,omitempty"`
	Status       string       `json:"status"`
	Method       concept      `json:"method"`
	Subject      reference    `json:"subject"`
	Occurrence   string       `json:"occurrenceDateTime"`
	Performer    *anyRef      `json:"performer"`
	Basis        []anyRef     `json:"basis,omitempty"`
	Prediction   []prediction `json:"prediction"`
	Note         []annotation `json:"note,omitempty"`
}

func hoursQ(h float64) *quantity { return &quantity{Value: h, Unit: "h", System: ucum, Code: "h"} }

// news2Trend is the RiskAssessment of a ward twin's trend forecast: the
// probability that the NEWS2 response escalates within 12 h and, when at
// least half the draws do, the median crossing time (P = 0.5 by then).
func news2Trend(m twinModel, subject reference, e twin.Event) any {
	n := e.NEWS2
	outcome := concept{Coding: []coding{{System: twinTagSystem, Code: "news2-escalation", Display: "NEWS2 clinical response escalates"}},
		Text: "NEWS2 clinical response rises above " + n.Response + " (RCP 2017 Chart 2)"}
	preds := []prediction{{Outcome: outcome, Probability: round(n.PEscal, 3), WhenRange: &rangeQ{Low: hoursQ(0), High: hoursQ(12)}}}
	if n.Escalate != nil {
		preds = append(preds, prediction{Outcome: outcome, Probability: 0.5,
			WhenPeriod: &period{Start: fhirTime(n.At), End: fhirTime(n.At.Add(time.Duration(*n.Escalate * float64(time.Hour))).Truncate(time.Second))}})
	}
	red := ""
	if n.Red {
		red = ", a single parameter scoring 3"
	}
	var basis []anyRef
	for _, o := range e.Data {
		basis = append(basis, readingRef(o))
	}
	return riskAssessment{ResourceType: "RiskAssessment", ID: "tnw-" + hashID(e.Patient), Meta: twinMeta(true), Status: "preliminary",
		Method: concept{Coding: []coding{{System: twinTagSystem, Code: m.id}}, Text: m.method}, Subject: subject,
		Occurrence: fhirTime(n.At), Performer: m.ref(), Basis: basis, Prediction: preds,
		Note: []annotation{{fmt.Sprintf("NEWS2 %d (%s%s) at %s", n.Total, n.Response, red, fhirTime(n.At))}}}
}

// alertResources is the write of an alert: a RiskAssessment for a
// predicted hypoglycaemia, a Flag for the others.
func (w *writeback) alertResources(e twin.Event) (outputSet, error) {
	at := fhirTime(e.Time)
	key := hashID(e.Patient + "|" + e.Alert.Kind + "|" + at)
	f := outputSet{patient: e.Patient, at: e.Time, data: e.Data, provID: "tp-" + key, model: w.models[modelGlucose]}
	if e.Alert.Kind == twin.AlertNEWS2 {
		f.model = w.models[modelNEWS2]
	}
	id := []identifier{{System: twinAlertSystem, Value: key}}
	subject := reference{Reference: "Patient/" + e.Patient}
	var basis []anyRef
	for _, o := range e.Data {
		basis = append(basis, readingRef(o))
	}
	if e.Alert.Kind == twin.AlertHypo {
		ra := riskAssessment{ResourceType: "RiskAssessment", ID: "ta-" + key, Meta: twinMeta(false), Identifier: id, Status: "final",
			Method: concept{Coding: []coding{{System: twinTagSystem, Code: f.model.id}}, Text: f.model.method}, Subject: subject,
			Occurrence: at, Performer: f.model.ref(), Basis: basis,
			Prediction: []prediction{{
				Outcome:     concept{Coding: []coding{{System: "http://snomed.info/sct", Code: "302866003", Display: "Hypoglycemia"}}, Text: "glucose below 70 mg/dL"},
				Probability: round(e.Alert.Probability, 3),
				WhenRange:   &rangeQ{High: &quantity{Value: glucose.HypoWindow, Unit: "min", System: ucum, Code: "min"}},
			}},
			Note: []annotation{{e.Alert.Message}}}
		f.resources = []outputResource{{typ: "RiskAssessment", id: ra.ID, body: func(time.Time) any { return ra }}}
		return f, nil
	}
	flag := struct {
		ResourceType string       `json:"resourceType"`
		ID           string       `json:"id"`
		Meta         meta         `json:"meta"`
		Identifier   []identifier `json:"identifier"`
		Status       string       `json:"status"`
		Code         concept      `json:"code"`
		Subject      reference    `json:"subject"`
		Period       period       `json:"period"`
		Author       *anyRef      `json:"author"`
	}{"Flag", "ta-" + key, twinMeta(false), id, "active",
		concept{Coding: []coding{{System: twinTagSystem, Code: e.Alert.Kind}}, Text: e.Alert.Message}, subject, period{Start: at}, f.model.ref()}
	f.resources = []outputResource{{typ: "Flag", id: flag.ID, body: func(time.Time) any { return flag }}}
	return f, nil
}

type provenance struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Meta         meta         `json:"meta"`
	Target       []reference  `json:"target"`
	Occurred     string       `json:"occurredDateTime"`
	Recorded     string       `json:"recorded"`
	Activity     concept      `json:"activity"`
	Agent        []provAgent  `json:"agent"`
	Entity       []provEntity `json:"entity,omitempty"`
}

type provAgent struct {
	Type concept `json:"type"`
	Who  *anyRef `json:"who"`
}

type provEntity struct {
	Role string `json:"role"`
	What anyRef `json:"what"`
}

// provenance is the Provenance of f's write: targets are the versions
// written, recorded now; update says whether they replace earlier
// versions; since, for a forecast, when the data of the version replaced
// ended.
func (f outputSet) provenance(targets []reference, now time.Time, update bool, since string) provenance {
	act := "CREATE"
	if update {
		act = "UPDATE"
	}
	p := provenance{ResourceType: "Provenance", ID: f.provID, Meta: twinMeta(false), Target: targets,
		Occurred: fhirTime(f.at), Recorded: instant(now),
		Activity: concept{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/v3-DataOperation", Code: act}}},
		Agent: []provAgent{{Type: concept{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", Code: "author"}}},
			Who: f.model.ref()}},
	}
	for _, o := range f.data {
		p.Entity = append(p.Entity, provEntity{"source", readingRef(o)})
	}
	if f.state != "" {
		s := f.state
		if update && since != "" {
			s += "; the version replaced followed the data up to " + since
		}
		p.Entity = append(p.Entity, provEntity{"source", anyRef{Display: s}})
	}
	return p
}
