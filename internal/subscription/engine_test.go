package subscription_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/subscription"
	"github.com/doppelhealth/doppel/internal/twin"
)

const cgm = "99504-3"

// fakeTwins hands out one event channel per patient.
type fakeTwins struct {
	subscribed chan string
	events     chan twin.Event
}

func (f *fakeTwins) Subscribe(patient string, _ int) (<-chan twin.Event, func()) {
	f.subscribed <- patient
	return f.events, func() {}
}

// waitStatus polls the stored status until it is want.
func waitStatus(t *testing.T, en *env, id, want string) string {
	t.Helper()
	for range 400 {
		got, errText := storedStatus(t, en.raw, id)
		if got == want {
			return errText
		}
		time.Sleep(50 * time.Millisecond)
	}
	got, _ := storedStatus(t, en.raw, id)
	t.Fatalf("status %s, want %s", got, want)
	return ""
}

func TestRestHook(t *testing.T) {
	ctx := context.Background()
	h := newHook(t)
	twins := &fakeTwins{subscribed: make(chan string, 1), events: make(chan twin.Event, 4)}
	en := newEnv(t, "", subscription.Options{AllowHosts: []string{"127.0.0.1"}, Twins: twins})

	sub, err := en.api.Create(ctx, "Subscription", subscriptionJSON(subscription.TopicResource,
		"Observation?patient=Patient/p1&code=http://loinc.org|"+cgm, "rest-hook", h.srv.URL+"/hook", "full-resource"), "")
	if err != nil {
		t.Fatal(err)
	}
	hs := h.next(t)
	if got := []string{hs.body.Type, hs.body.param("type"), hs.body.param("topic"), hs.header.Get("Authorization")}; !cmp.Equal(got,
		[]string{"history", "handshake", subscription.TopicResource, "Bearer hook-secret"}) {
		t.Errorf("handshake: %q", got)
	}
	waitStatus(t, en, sub.Version.ID, "active")

	var want []string
	for _, o := range []struct {
		patient, code string
		match         bool
	}{{"p1", cgm, true}, {"p2", cgm, false}, {"p1", "8867-4", false}, {"p1", cgm, true}} {
		out, err := en.api.Create(ctx, "Observation", observation(o.patient, o.code), "")
		if err != nil {
			t.Fatal(err)
		}
		if o.match {
			want = append(want, "http://doppel.test/fhir/Observation/"+out.Version.ID)
		}
	}
	// The two matches come in one notification or two (max count
	// batches what is waiting), numbered 1 and 2, each with its entry.
	var events [][2]string
	var entries []string
	for len(events) < len(want) {
		n := h.next(t)
		if got := n.body.param("type"); got != "event-notification" {
			t.Fatalf("got %s, want an event-notification", got)
		}
		events = append(events, n.body.events()...)
		for _, e := range n.body.Entry[1:] {
			if e.Resource.ResourceType != "Observation" {
				t.Errorf("entry %s holds a %q, want the Observation", e.FullURL, e.Resource.ResourceType)
			}
			entries = append(entries, e.FullURL)
		}
	}
	if wantEvents := [][2]string{{"1", want[0]}, {"2", want[1]}}; !cmp.Equal(events, wantEvents) || !cmp.Equal(entries, want) {
		t.Errorf("events %q with entries %q, want %q", events, entries, wantEvents)
	}

	// A twin alert as the twins store it (a RiskAssessment written
	// outside any request) reaches a RiskAssessment subscriber.
	if _, err := en.api.Create(ctx, "Subscription", subscriptionJSON(subscription.TopicResource,
		"RiskAssessment?patient=Patient/p1", "rest-hook", h.srv.URL+"/risk", "id-only"), ""); err != nil {
		t.Fatal(err)
	}
	if hs := h.next(t); hs.body.param("type") != "handshake" {
		t.Errorf("RiskAssessment subscription: %s first", hs.body.param("type"))
	}
	ra, err := en.api.Create(ctx, "RiskAssessment", []byte(`{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/p1"},
	  "prediction":[{"outcome":{"text":"glucose below 70 mg/dL"},"probabilityDecimal":0.8}]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.next(t).body.events(); !cmp.Equal(got, [][2]string{{"1", "http://doppel.test/fhir/RiskAssessment/" + ra.Version.ID}}) {
		t.Errorf("RiskAssessment notification: events %q", got)
	}

	// The twin topic: an alert of p1's twin (a forecast is filtered out).
	tsub, err := en.api.Create(ctx, "Subscription", subscriptionJSON(subscription.TopicTwin,
		"patient=Patient/p1&kind=alert", "rest-hook", h.srv.URL+"/twin", "full-resource"), "")
	if err != nil {
		t.Fatal(err)
	}
	if p := <-twins.subscribed; p != "p1" {
		t.Errorf("twin of %s subscribed", p)
	}
	if hs := h.next(t); hs.body.param("type") != "handshake" {
		t.Errorf("twin subscription: %s first", hs.body.param("type"))
	}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	twins.events <- twin.Event{Patient: "p1", Kind: twin.KindForecast, Time: at}
	twins.events <- twin.Event{Patient: "p1", Kind: twin.KindAlert, Time: at, Alert: &twin.Alert{Kind: twin.AlertHypo, Probability: 0.8, Message: "hypo"}}
	n := h.next(t)
	if got := n.body.events(); !cmp.Equal(got, [][2]string{{"1", "http://doppel.test/fhir/Patient/p1"}}) {
		t.Errorf("twin notification: events %q", got)
	}
	var te twin.Event
	for _, p := range n.body.Entry[0].Resource.Parameter {
		for _, part := range p.Part {
			if part.Name == "twin-event" {
				js, _ := base64.StdEncoding.DecodeString(part.ValueAttachment.Data)
				_ = json.Unmarshal(js, &te)
			}
		}
	}
	if te.Kind != twin.KindAlert || te.Alert == nil || te.Alert.Kind != twin.AlertHypo {
		t.Errorf("twin-event part: %+v", te)
	}

	// $status
	body, err := en.engine.Status(ctx, tsub.Version.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sb notificationBundle
	if err := json.Unmarshal(body, &sb); err != nil {
		t.Fatal(err)
	}
	if got := []string{sb.Type, sb.param("type"), sb.param("events-since-subscription-start")}; !cmp.Equal(got, []string{"searchset", "query-status", "1"}) {
		t.Errorf("$status: %q", got)
	}
}

func TestRetryErrorOff(t *testing.T) {
	ctx := context.Background()
	h := newHook(t)
	h.status.Store(http.StatusInternalServerError)
	en := newEnv(t, "", subscription.Options{AllowHosts: []string{"127.0.0.1"}, MaxFailures: 2, Retry: []time.Duration{time.Millisecond, time.Millisecond}})
	sub, err := en.api.Create(ctx, "Subscription", subscriptionJSON(subscription.TopicResource,
		"Observation?patient=Patient/p1", "rest-hook", h.srv.URL, "id-only"), "")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // the handshake, tried three times
		if got := h.next(t).body.param("type"); got != "handshake" {
			t.Fatalf("got %s, want a handshake", got)
		}
	}
	if errText := waitStatus(t, en, sub.Version.ID, "error"); !strings.Contains(errText, "HTTP 500") {
		t.Errorf("error %q, want it to name HTTP 500", errText)
	}
	if _, err := en.api.Create(ctx, "Observation", observation("p1", cgm), ""); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := h.next(t).body.param("type"); got != "event-notification" {
			t.Fatalf("got %s, want the event", got)
		}
	}
	waitStatus(t, en, sub.Version.ID, "off") // the second notification in a row failed
}

func TestRestart(t *testing.T) {
	ctx := context.Background()
	h := newHook(t)
	dir := t.TempDir()
	opts := subscription.Options{AllowHosts: []string{"127.0.0.1"}}
	en := newEnv(t, dir, opts)
	sub, err := en.api.Create(ctx, "Subscription", subscriptionJSON(subscription.TopicResource,
		"Observation?patient=Patient/p1", "rest-hook", h.srv.URL, "id-only"), "")
	if err != nil {
		t.Fatal(err)
	}
	h.next(t) // handshake
	waitStatus(t, en, sub.Version.ID, "active")
	if _, err := en.api.Create(ctx, "Observation", observation("p1", cgm), ""); err != nil {
		t.Fatal(err)
	}
	if got := h.next(t).body.events(); len(got) != 1 || got[0][0] != "1" {
		t.Fatalf("first event %q", got)
	}
	// The count is saved before the notification goes out, so a crash
	// (no clean stop) could not number an event twice.
	jobs, err := en.st.ListJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var saved []string
	for _, j := range jobs {
		if j.Kind == "subscription" {
			saved = append(saved, string(j.Result))
		}
	}
	if !cmp.Equal(saved, []string{`{"events":1}`}) {
		t.Errorf("saved event counts %q before the stop, want one of 1", saved)
	}
	en.stop()

	en = newEnv(t, dir, opts) // no handshake again: the next message is the event, numbered on
	if _, err := en.api.Create(ctx, "Observation", observation("p1", cgm), ""); err != nil {
		t.Fatal(err)
	}
	n := h.next(t)
	if got := []string{n.body.param("type"), n.body.param("status"), n.body.param("events-since-subscription-start")}; !cmp.Equal(got,
		[]string{"event-notification", "active", "2"}) {
		t.Errorf("after restart: %q", got)
	}
}

func TestWebSocket(t *testing.T) {
	ctx := context.Background()
	en := newEnv(t, "", subscription.Options{})
	srv := httptest.NewServer(http.HandlerFunc(en.engine.ServeWebSocket))
	t.Cleanup(srv.Close)
	sub, err := en.api.Create(ctx, "Subscription", subscriptionJSON(subscription.TopicResource,
		"Observation?patient=Patient/p1", "websocket", "", "id-only"), "")
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, en, sub.Version.ID, "active")
	body, ok, err := en.engine.BindingToken(ctx, sub.Version.ID)
	if err != nil || !ok {
		t.Fatalf("BindingToken: %v %v", ok, err)
	}
	var tok struct {
		Parameter []struct{ Name, ValueString string }
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	var token, wsURL string
	for _, p := range tok.Parameter {
		switch p.Name {
		case "token":
			token = p.ValueString
		case "websocket-url":
			wsURL = p.ValueString
		}
	}
	if u, err := url.Parse(wsURL); err != nil || u.Scheme != "ws" || u.Path != "/subscriptions/websocket" {
		t.Errorf("websocket-url %q", wsURL)
	}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	read := func() notificationBundle {
		t.Helper()
		_, data, err := c.Read(dctx)
		if err != nil {
			t.Fatal(err)
		}
		var b notificationBundle
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := c.Write(dctx, websocket.MessageText, []byte("bind-with-token "+token)); err != nil {
		t.Fatal(err)
	}
	if got := read().param("type"); got != "handshake" {
		t.Errorf("got %s, want the handshake", got)
	}
	out, err := en.api.Create(ctx, "Observation", observation("p1", cgm), "")
	if err != nil {
		t.Fatal(err)
	}
	n := read()
	if got := n.events(); !cmp.Equal(got, [][2]string{{"1", "http://doppel.test/fhir/Observation/" + out.Version.ID}}) {
		t.Errorf("events %q", got)
	}

	// A wrong token closes the connection.
	c2, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	_ = c2.Write(dctx, websocket.MessageText, []byte("bind-with-token nope"))
	if _, _, err := c2.Read(dctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("bad token: %v, want a policy-violation close", err)
	}
}

func TestHeartbeat(t *testing.T) {
	h := newHook(t)
	en := newEnv(t, "", subscription.Options{AllowHosts: []string{"127.0.0.1"}})
	body := strings.Replace(string(subscriptionJSON(subscription.TopicResource, "Observation?patient=Patient/p1", "rest-hook", h.srv.URL, "empty")),
		`"channel":{`, `"channel":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period","valueUnsignedInt":1}],`, 1)
	if _, err := en.api.Create(context.Background(), "Subscription", []byte(body), ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"handshake", "heartbeat"} {
		n := h.next(t)
		if got := n.body.param("type"); got != want || len(n.body.Entry) != 1 {
			t.Errorf("got %s with %d entries, want %s with the status only", got, len(n.body.Entry), want)
		}
	}
}

func TestEnd(t *testing.T) {
	h := newHook(t)
	en := newEnv(t, "", subscription.Options{AllowHosts: []string{"127.0.0.1"}})
	for _, c := range []struct {
		end       time.Time
		handshake bool
	}{
		{time.Now().Add(-time.Hour), false},     // ended already: off, no handshake
		{time.Now().Add(3 * time.Second), true}, // handshake, then off at the end (end has whole seconds)
	} {
		body := strings.Replace(string(subscriptionJSON(subscription.TopicResource, "Observation?patient=Patient/p1", "rest-hook", h.srv.URL, "empty")),
			`"criteria"`, `"end":"`+c.end.UTC().Format(time.RFC3339)+`","criteria"`, 1)
		out, err := en.api.Create(context.Background(), "Subscription", []byte(body), "")
		if err != nil {
			t.Fatal(err)
		}
		waitStatus(t, en, out.Version.ID, "off")
		if got := len(h.got) == 1; got != c.handshake {
			t.Errorf("end %v: handshake %v, want %v", c.end, got, c.handshake)
		}
		for len(h.got) > 0 {
			<-h.got
		}
	}
}
