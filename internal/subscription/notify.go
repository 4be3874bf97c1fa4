package subscription

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Notification types (SubscriptionStatus.type).
const (
	typeHandshake = "handshake"
	typeHeartbeat = "heartbeat"
	typeEvent     = "event-notification"
	typeQuery     = "query-status"
)

// Event is one thing a subscription is notified of.
type Event struct {
	Number int64     // events-since-subscription-start of this event
	Time   time.Time // when it happened
	// Focus is the resource the event is about, relative to the base
	// ("Observation/123"); Body, with Content full-resource, is its JSON;
	// Created says whether the write created it.
	Focus   string
	Body    []byte
	Created bool
	// Twin, for a twin event, is the twin.Event as JSON: carried, with
	// full-resource, as the attachment of a "twin-event" part.
	Twin []byte
}

type param struct {
	Name           string      `json:"name"`
	ValueReference *reference  `json:"valueReference,omitempty"`
	ValueCanonical string      `json:"valueCanonical,omitempty"`
	ValueCode      string      `json:"valueCode,omitempty"`
	ValueString    string      `json:"valueString,omitempty"`
	ValueInstant   string      `json:"valueInstant,omitempty"`
	ValueAttach    *attachment `json:"valueAttachment,omitempty"`
	ValueConcept   *concept    `json:"valueCodeableConcept,omitempty"`
	Part           []param     `json:"part,omitempty"`
}

type reference struct {
	Reference string `json:"reference"`
}

type attachment struct {
	ContentType string `json:"contentType"`
	Data        string `json:"data"`
}

type concept struct {
	Text string `json:"text"`
}

type entry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Request  *bundleRequest  `json:"request,omitempty"`
	Response *bundleResponse `json:"response,omitempty"`
}

type bundleRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type bundleResponse struct {
	Status string `json:"status"`
}

type bundle struct {
	ResourceType string  `json:"resourceType"`
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Timestamp    string  `json:"timestamp"`
	Total        *int    `json:"total,omitempty"`
	Entry        []entry `json:"entry"`
}

// status is what a SubscriptionStatus says besides its events.
type status struct {
	base    string // service base URL, "https://x/fhir"
	id      string
	topic   string
	status  string
	typ     string
	since   int64  // events-since-subscription-start
	errText string // the subscription's last error, if any
}

// statusResource renders the backport SubscriptionStatus (an R4
// Parameters resource) of st and events.
func statusResource(st status, content string, events []Event) ([]byte, error) {
	ps := []param{
		{Name: "subscription", ValueReference: &reference{st.base + "/Subscription/" + st.id}},
		{Name: "topic", ValueCanonical: st.topic},
		{Name: "status", ValueCode: st.status},
		{Name: "type", ValueCode: st.typ},
		{Name: "events-since-subscription-start", ValueString: strconv.FormatInt(st.since, 10)},
	}
	for _, e := range events {
		n := param{Name: "notification-event", Part: []param{
			{Name: "event-number", ValueString: strconv.FormatInt(e.Number, 10)},
			{Name: "timestamp", ValueInstant: e.Time.UTC().Format(time.RFC3339Nano)},
		}}
		if content != ContentEmpty && e.Focus != "" {
			n.Part = append(n.Part, param{Name: "focus", ValueReference: &reference{st.base + "/" + e.Focus}})
		}
		if content == ContentFull && e.Twin != nil {
			n.Part = append(n.Part, param{Name: "twin-event", ValueAttach: &attachment{ContentType: "application/json", Data: base64.StdEncoding.EncodeToString(e.Twin)}})
		}
		ps = append(ps, n)
	}
	if st.errText != "" {
		ps = append(ps, param{Name: "error", ValueConcept: &concept{Text: st.errText}})
	}
	return json.Marshal(struct {
		ResourceType string         `json:"resourceType"`
		Meta         map[string]any `json:"meta"`
		Parameter    []param        `json:"parameter"`
	}{"Parameters", map[string]any{"profile": []string{profileStatus}}, ps})
}

// notification renders a notification Bundle (type history): the
// SubscriptionStatus first, then per event its focus (id-only: the URL;
// full-resource: the resource too), at time now.
func notification(st status, content string, events []Event, now time.Time) ([]byte, error) {
	sr, err := statusResource(st, content, events)
	if err != nil {
		return nil, err
	}
	b := bundle{ResourceType: "Bundle", ID: uuid.NewString(), Type: "history", Timestamp: now.UTC().Format(time.RFC3339Nano)}
	b.Entry = append(b.Entry, entry{
		FullURL: "urn:uuid:" + uuid.NewString(), Resource: sr,
		Request:  &bundleRequest{Method: "GET", URL: st.base + "/Subscription/" + st.id + "/$status"},
		Response: &bundleResponse{Status: "200"},
	})
	if content == ContentEmpty {
		return json.Marshal(b)
	}
	for _, e := range events {
		if e.Twin != nil || e.Focus == "" {
			continue // a twin event's focus is its Patient, not part of the event
		}
		en := entry{FullURL: st.base + "/" + e.Focus, Request: &bundleRequest{Method: "PUT", URL: e.Focus}, Response: &bundleResponse{Status: "200"}}
		if e.Created {
			en.Request.Method, en.Response.Status = "POST", "201"
		}
		if content == ContentFull {
			en.Resource = e.Body
		}
		b.Entry = append(b.Entry, en)
	}
	return json.Marshal(b)
}

// statusBundle renders the answer of $status: a searchset Bundle with the
// SubscriptionStatus (type query-status).
func statusBundle(st status, now time.Time) ([]byte, error) {
	st.typ = typeQuery
	sr, err := statusResource(st, ContentEmpty, nil)
	if err != nil {
		return nil, err
	}
	one := 1
	return json.Marshal(bundle{ResourceType: "Bundle", ID: uuid.NewString(), Type: "searchset", Timestamp: now.UTC().Format(time.RFC3339Nano), Total: &one,
		Entry: []entry{{FullURL: "urn:uuid:" + uuid.NewString(), Resource: sr}}})
}
