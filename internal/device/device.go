package device

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
)

// Decoder decodes and validates device messages. The zero value is ready to
// use, with the defaults documented on each field.
type Decoder struct {
	Now       func() time.Time // the server clock; nil means time.Now
	MaxFuture time.Duration    // how far ahead of Now an effective time may be; 0 means 5 minutes
	MaxAge    time.Duration    // how far behind Now; 0 means 30 days (pumps and readers upload stored data late)
	MaxItems  int              // observations per message; 0 means 10,000
}

// Rejection is one refused observation: its index in the message's
// "observations" array, the error kind and a reason the device can read.
type Rejection struct {
	Index  int
	Kind   clinical.Kind
	Reason string
}

// Result is the outcome of one message.
type Result struct {
	Device     string
	Accepted   []clinical.Observation
	Rejected   []Rejection
	Duplicates []int // indexes of entries with the code and time of an earlier entry, dropped
}

// Response renders r as the JSON answer for the device:
// {"accepted":N,"duplicates":[i...],"rejected":[{"index":i,"kind":"out-of-range","reason":"..."}]}.
func (r Result) Response() []byte {
	b, _ := json.Marshal(r.response()) // plain structs of ints and strings: cannot fail
	return b
}

// response is the JSON of Response, also part of a Notice.
type response struct {
	Accepted   int         `json:"accepted"`
	Duplicates []int       `json:"duplicates"`
	Rejected   []rejection `json:"rejected"`
}

type rejection struct {
	Index  int    `json:"index"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

func (r Result) response() response {
	out := response{Accepted: len(r.Accepted), Duplicates: r.Duplicates, Rejected: []rejection{}}
	if out.Duplicates == nil {
		out.Duplicates = []int{}
	}
	for _, x := range r.Rejected {
		out.Rejected = append(out.Rejected, rejection{x.Index, x.Kind.String(), x.Reason})
	}
	return out
}

type message struct {
	Device       string            `json:"device"`
	Observations []json.RawMessage `json:"observations"`
}

type entry struct {
	Code string   `json:"code"`
	T    string   `json:"t"`
	V    *float64 `json:"v"`
	Unit string   `json:"unit"`
	Sys  *float64 `json:"sys"`
	Dia  *float64 `json:"dia"`
	C    string   `json:"c"`
}

// DecodeBatch decodes one message in the batch format. The error is for the
// message as a whole (not JSON, no valid device id, no or too many
// observations) and is a *clinical.Error of kind Malformed; otherwise each
// observation is accepted, rejected or dropped as a duplicate in Result.
func (d Decoder) DecodeBatch(data []byte) (Result, error) {
	var m message
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Result{}, malformed("", "message is not a JSON object of the batch format")
	}
	if dec.More() {
		return Result{}, malformed("", "trailing data after the JSON object")
	}
	if !clinical.ValidID(m.Device) {
		return Result{}, malformed("device", "device must be a FHIR id (1-64 of A-Z a-z 0-9 - .)")
	}
	max := d.MaxItems
	if max == 0 {
		max = 10000
	}
	if len(m.Observations) == 0 || len(m.Observations) > max {
		return Result{}, malformed("observations", "observations must hold 1 to "+strconv.Itoa(max)+" entries")
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	t := now()
	future, age := d.MaxFuture, d.MaxAge
	if future == 0 {
		future = 5 * time.Minute
	}
	if age == 0 {
		age = 30 * 24 * time.Hour
	}
	r := Result{Device: m.Device}
	seen := map[string]bool{}
	for i, raw := range m.Observations {
		o, err := decodeEntry(m.Device, raw)
		if err == nil {
			o, err = clinical.Normalize(o)
		}
		if err == nil {
			switch {
			case o.Effective.After(t.Add(future)):
				err = &clinical.Error{Kind: clinical.BadTime, Field: "t", Reason: "time is more than " + future.String() + " ahead of the server clock"}
			case o.Effective.Before(t.Add(-age)):
				err = &clinical.Error{Kind: clinical.BadTime, Field: "t", Reason: "time is more than " + age.String() + " old"}
			}
		}
		if err != nil {
			r.Rejected = append(r.Rejected, reject(i, err))
			continue
		}
		if seen[o.Key()] {
			r.Duplicates = append(r.Duplicates, i)
			continue
		}
		seen[o.Key()] = true
		r.Accepted = append(r.Accepted, o)
	}
	return r, nil
}

func decodeEntry(device string, raw json.RawMessage) (clinical.Observation, error) {
	var e entry
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return clinical.Observation{}, malformed("", "entry is not an object with the fields code, t, v, unit, sys, dia, c (numbers as numbers)")
	}
	c, ok := clinical.Lookup(e.Code)
	if !ok {
		return clinical.Observation{}, &clinical.Error{Kind: clinical.UnknownCode, Field: "code", Reason: "unknown code; use one of cgm, hr, rr, spo2, bp, temp, acvpu, carbs, insulin or their codes"}
	}
	eff, err := time.Parse(time.RFC3339Nano, e.T)
	if err != nil {
		return clinical.Observation{}, &clinical.Error{Kind: clinical.BadTime, Field: "t", Reason: "t must be an RFC 3339 time with a zone, such as 2026-11-25T10:00:00Z"}
	}
	o := clinical.Observation{Device: device, Code: c.Code, Effective: eff, ValueCode: e.C}
	if e.V != nil {
		o.Value = &clinical.Quantity{Value: *e.V, Unit: e.Unit}
	}
	if e.Sys != nil || e.Dia != nil {
		if e.Sys == nil || e.Dia == nil {
			return clinical.Observation{}, malformed("sys", "blood pressure needs both sys and dia")
		}
		o.Components = []clinical.Component{
			{Code: clinical.CodeSystolic, Value: clinical.Quantity{Value: *e.Sys, Unit: e.Unit}},
			{Code: clinical.CodeDiastolic, Value: clinical.Quantity{Value: *e.Dia, Unit: e.Unit}},
		}
	}
	return o, nil
}

func malformed(field, reason string) error {
	return &clinical.Error{Kind: clinical.Malformed, Field: field, Reason: reason}
}

func reject(i int, err error) Rejection {
	var e *clinical.Error
	if !errors.As(err, &e) {
		e = &clinical.Error{Kind: clinical.Malformed, Reason: "invalid entry"}
	}
	reason := e.Reason
	if e.Field != "" {
		reason = e.Field + ": " + reason
	}
	return Rejection{Index: i, Kind: e.Kind, Reason: reason}
}

// Topic returns the MQTT topic on which device publishes its messages.
func Topic(device string) string { return "doppel/devices/" + device + "/obs" }

// SubjectPrefix begins every NATS subject of device messages; the NATS MQTT
// gateway maps [Topic] to SubjectPrefix+device+".obs" ("." in the id as "//").
const SubjectPrefix = "doppel.devices."

// Subject returns the NATS subject on which messages of device arrive: the
// NATS MQTT mapping of [Topic](device).
func Subject(device string) string {
	return SubjectPrefix + strings.ReplaceAll(device, ".", "//") + ".obs"
}

// DeviceFromSubject returns the device id of a subject made by [Subject].
func DeviceFromSubject(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, SubjectPrefix)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, ".obs")
	if !ok || strings.Contains(id, ".") {
		return "", false
	}
	id = strings.ReplaceAll(id, "//", ".")
	return id, clinical.ValidID(id)
}

// DecodeMessage decodes a batch that arrived on a NATS subject (from MQTT or
// a NATS client). The device named in the payload must be the subject's.
func (d Decoder) DecodeMessage(subject string, payload []byte) (Result, error) {
	dev, ok := DeviceFromSubject(subject)
	if !ok {
		return Result{}, malformed("topic", "topic must be doppel/devices/{device id}/obs")
	}
	r, err := d.DecodeBatch(payload)
	if err != nil {
		return Result{}, err
	}
	if r.Device != dev {
		return Result{}, malformed("device", "device in the message differs from the device of the topic")
	}
	return r, nil
}
