package subscription

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/fhir"
)

// The topics this server offers (Subscription.criteria), as canonical URLs.
const (
	// TopicResource fires when a resource of the filter's type is created
	// or updated and matches the filter, a FHIR search on that type
	// ("Observation?patient=Patient/1&code=http://loinc.org|99504-3").
	TopicResource = "https://doppel.health/fhir/SubscriptionTopic/resource-write"
	// TopicTwin fires when a patient's live twin emits a forecast, a NEWS2
	// score or an alert; filter "patient=Patient/ID", optionally
	// "&kind=alert" (forecast, news2, alert; comma-separated).
	TopicTwin = "https://doppel.health/fhir/SubscriptionTopic/twin-event"
)

// Extension URLs of the Subscriptions R5 Backport IG (STU 1.1).
const (
	backportBase   = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
	extFilter      = backportBase + "backport-filter-criteria"
	extContent     = backportBase + "backport-payload-content"
	extHeartbeat   = backportBase + "backport-heartbeat-period"
	extTimeout     = backportBase + "backport-timeout"
	extMaxCount    = backportBase + "backport-max-count"
	profileStatus  = backportBase + "backport-subscription-status-r4"
	fhirJSON       = "application/fhir+json"
	maxFilterBytes = 2048
)

// Channel types and payload contents.
const (
	RestHook  = "rest-hook"
	WebSocket = "websocket"

	ContentEmpty = "empty"
	ContentIDs   = "id-only"
	ContentFull  = "full-resource"
)

// Subscription is a decoded R4 Subscription of the backport IG: what the
// engine needs to match events and deliver notifications.
type Subscription struct {
	ID     string
	Status string // requested, active, error, off
	End    time.Time
	Topic  string // TopicResource or TopicTwin
	// Type and Filter are the filter of TopicResource: the resource type
	// and the search parameters every filter criteria string gives (ANDed).
	Type   string
	Filter url.Values
	// Patient and Kinds are the filter of TopicTwin: the patient's id and
	// the event kinds wanted (none: all).
	Patient   string
	Kinds     []string
	Channel   string // RestHook or WebSocket
	Endpoint  string // rest-hook URL
	Headers   []string
	Content   string        // ContentEmpty, ContentIDs (default) or ContentFull
	Heartbeat time.Duration // 0: none
	Timeout   time.Duration // 0: the engine's default
	MaxCount  int           // events per notification; 0: the engine's default
}

// wire mirrors the JSON of an R4 Subscription, as far as it is read.
type wire struct {
	ResourceType string   `json:"resourceType"`
	ID           string   `json:"id"`
	Status       string   `json:"status"`
	End          string   `json:"end"`
	Criteria     string   `json:"criteria"`
	CriteriaExt  *element `json:"_criteria"`
	Channel      *struct {
		Extension  []extension `json:"extension"`
		Type       string      `json:"type"`
		Endpoint   string      `json:"endpoint"`
		Payload    string      `json:"payload"`
		PayloadExt *element    `json:"_payload"`
		Header     []string    `json:"header"`
	} `json:"channel"`
}

type element struct {
	Extension []extension `json:"extension"`
}

type extension struct {
	URL              string  `json:"url"`
	ValueString      *string `json:"valueString"`
	ValueCode        *string `json:"valueCode"`
	ValueUnsignedInt *int64  `json:"valueUnsignedInt"`
	ValuePositiveInt *int64  `json:"valuePositiveInt"`
}

// bad is the 400 of a Subscription the server cannot accept.
func bad(code, expr, format string, a ...any) *fhir.Error {
	return &fhir.Error{Status: http.StatusBadRequest, Issues: []fhir.Issue{{
		Severity: "error", Code: code, Expression: []string{expr},
		Diagnostics: "subscription: " + fmt.Sprintf(format, a...),
	}}}
}

// Decode reads an R4 Subscription of the backport IG (topic canonical in
// criteria, filters in the backport-filter-criteria extension of
// _criteria, channel rest-hook or websocket, payload content, heartbeat,
// timeout and max count in their extensions). An error is a *fhir.Error
// (400) naming the element at fault. Decode does not judge the filter's
// search parameters, the endpoint's host or the caller's rights: see
// [Engine.Check].
func Decode(body []byte) (Subscription, error) {
	var w wire
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return Subscription{}, bad("structure", "Subscription", "not a JSON Subscription: %s", jsonProblem(err))
	}
	if w.ResourceType != "Subscription" {
		return Subscription{}, bad("structure", "Subscription.resourceType", "want Subscription")
	}
	s := Subscription{ID: w.ID, Status: w.Status, Topic: w.Criteria}
	switch s.Status {
	case "requested", "active", "error", "off":
	default:
		return s, bad("value", "Subscription.status", "want requested, active, error or off")
	}
	if w.End != "" {
		t, err := time.Parse(time.RFC3339, w.End)
		if err != nil {
			return s, bad("value", "Subscription.end", "want an instant (2026-12-31T12:00:00Z)")
		}
		s.End = t
	}
	var filters []string
	if w.CriteriaExt != nil {
		for i, x := range w.CriteriaExt.Extension {
			if x.URL != extFilter {
				continue
			}
			if x.ValueString == nil || len(*x.ValueString) > maxFilterBytes {
				return s, bad("value", "Subscription.criteria.extension["+strconv.Itoa(i)+"]", "a filter criteria is a valueString of at most %d bytes", maxFilterBytes)
			}
			filters = append(filters, *x.ValueString)
		}
	}
	if err := s.decodeFilters(filters); err != nil {
		return s, err
	}
	if w.Channel == nil {
		return s, bad("required", "Subscription.channel", "a channel is required")
	}
	ch := w.Channel
	s.Channel, s.Endpoint, s.Headers = ch.Type, ch.Endpoint, ch.Header
	switch s.Channel {
	case RestHook:
		u, err := url.Parse(s.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, bad("value", "Subscription.channel.endpoint", "a rest-hook endpoint is an absolute http or https URL")
		}
	case WebSocket:
	default:
		return s, bad("not-supported", "Subscription.channel.type", "channel types offered: rest-hook, websocket")
	}
	for i, h := range s.Headers {
		name, _, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(h, "\r\n") {
			return s, bad("value", "Subscription.channel.header["+strconv.Itoa(i)+"]", "a header is \"Name: value\" on one line")
		}
	}
	if ch.Payload != "" && ch.Payload != fhirJSON && ch.Payload != "application/json" {
		return s, bad("not-supported", "Subscription.channel.payload", "payloads are application/fhir+json")
	}
	s.Content = ContentIDs
	if ch.PayloadExt != nil {
		for _, x := range ch.PayloadExt.Extension {
			if x.URL != extContent {
				continue
			}
			if x.ValueCode == nil {
				return s, bad("value", "Subscription.channel.payload.extension", "payload content is a valueCode")
			}
			s.Content = *x.ValueCode
		}
	}
	switch s.Content {
	case ContentEmpty, ContentIDs, ContentFull:
	default:
		return s, bad("value", "Subscription.channel.payload.extension", "payload content is empty, id-only or full-resource")
	}
	for i, x := range ch.Extension {
		expr := "Subscription.channel.extension[" + strconv.Itoa(i) + "]"
		switch x.URL {
		case extHeartbeat, extTimeout:
			if x.ValueUnsignedInt == nil || *x.ValueUnsignedInt < 0 || *x.ValueUnsignedInt > 86400*7 {
				return s, bad("value", expr, "want a valueUnsignedInt of seconds, at most a week")
			}
			d := time.Duration(*x.ValueUnsignedInt) * time.Second
			if x.URL == extHeartbeat {
				s.Heartbeat = d
			} else {
				s.Timeout = d
			}
		case extMaxCount:
			if x.ValuePositiveInt == nil || *x.ValuePositiveInt < 1 || *x.ValuePositiveInt > 1000 {
				return s, bad("value", expr, "want a valuePositiveInt from 1 to 1000")
			}
			s.MaxCount = int(*x.ValuePositiveInt)
		}
	}
	return s, nil
}

// decodeFilters reads the topic's filters.
func (s *Subscription) decodeFilters(filters []string) error {
	const expr = "Subscription.criteria"
	switch s.Topic {
	case TopicResource:
		if len(filters) == 0 {
			return bad("required", expr, "the resource-write topic needs a filter criteria \"Type?search\" in the backport-filter-criteria extension")
		}
		s.Filter = url.Values{}
		for _, f := range filters {
			typ, q, _ := strings.Cut(f, "?")
			if !fhir.IsResourceType(typ) {
				return bad("value", expr, "a filter criteria is \"Type?search\" with a resource type")
			}
			if s.Type != "" && s.Type != typ {
				return bad("value", expr, "every filter criteria must name the same resource type")
			}
			s.Type = typ
			vals, err := url.ParseQuery(q)
			if err != nil {
				return bad("value", expr, "the filter's search is not a query string")
			}
			for k, v := range vals {
				s.Filter[k] = append(s.Filter[k], v...)
			}
		}
	case TopicTwin:
		for _, f := range filters {
			vals, err := url.ParseQuery(strings.TrimPrefix(f, "?"))
			if err != nil {
				return bad("value", expr, "the twin-event filter is \"patient=Patient/ID&kind=forecast,news2,alert\"")
			}
			for k, v := range vals {
				switch k {
				case "patient":
					for _, p := range v {
						id, ok := strings.CutPrefix(p, "Patient/")
						if !ok || !clinical.ValidID(id) || (s.Patient != "" && s.Patient != id) {
							return bad("value", expr, "patient is one Patient/ID")
						}
						s.Patient = id
					}
				case "kind":
					for _, kk := range v {
						for k := range strings.SplitSeq(kk, ",") {
							if k != "forecast" && k != "news2" && k != "alert" {
								return bad("value", expr, "kind is forecast, news2 or alert")
							}
							s.Kinds = append(s.Kinds, k)
						}
					}
				default:
					return bad("not-supported", expr, "the twin-event topic filters by patient and kind only")
				}
			}
		}
		if s.Patient == "" {
			return bad("required", expr, "the twin-event topic needs the filter criteria \"patient=Patient/ID\"")
		}
	default:
		return bad("not-supported", expr, "unknown topic; this server offers %s and %s", TopicResource, TopicTwin)
	}
	return nil
}

// jsonProblem describes a JSON error without quoting the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "wrong JSON type at " + te.Field
	}
	return "not valid JSON"
}
