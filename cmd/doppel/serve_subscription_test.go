package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/internal/fhirops"
)

// subscriptionBody is a backport Subscription of the resource-write topic.
func subscriptionBody(filter, channel, endpoint string) string {
	ch := map[string]any{"type": channel, "payload": "application/fhir+json"}
	if endpoint != "" {
		ch["endpoint"] = endpoint
	}
	b, _ := json.Marshal(map[string]any{
		"resourceType": "Subscription", "status": "requested", "reason": "test",
		"criteria": "https://doppel.health/fhir/SubscriptionTopic/resource-write",
		"_criteria": map[string]any{"extension": []map[string]any{{
			"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria", "valueString": filter}}},
		"channel": ch,
	})
	return string(b)
}

// TestServeSubscriptions: over real HTTP, a rest-hook Subscription gets
// its handshake and a notification for an Observation created through the
// API, across a restart; $status answers; scopes and the host allow-list
// refuse what they must; a websocket client binds with a token from
// $get-ws-binding-token.
func TestServeSubscriptions(t *testing.T) {
	exerciseSubscriptions(t)
}

// TestServeSubscriptionsPostgres is TestServeSubscriptions on a fresh
// schema of the DOPPEL_TEST_POSTGRES database.
func TestServeSubscriptionsPostgres(t *testing.T) {
	dsn := os.Getenv("DOPPEL_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("DOPPEL_TEST_POSTGRES is not set")
	}
	exerciseSubscriptions(t, "--store", "postgres", "--dsn", durSchema(t, dsn))
}

// restHook starts a rest-hook endpoint; next returns the type of the
// next notification it receives and the focus of its event, if any, and
// fails the test when none comes within 20 s.
func restHook(t *testing.T) (url string, next func() (typ, focus string)) {
	got := make(chan map[string]any, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &b)
		got <- b
	}))
	t.Cleanup(hook.Close)
	return hook.URL, func() (typ string, focus string) {
		t.Helper()
		select {
		case b := <-got:
			st := b["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
			for _, p := range st["parameter"].([]any) {
				p := p.(map[string]any)
				switch p["name"] {
				case "type":
					typ = p["valueCode"].(string)
				case "notification-event":
					for _, part := range p["part"].([]any) {
						if part := part.(map[string]any); part["name"] == "focus" {
							focus = part["valueReference"].(map[string]any)["reference"].(string)
						}
					}
				}
			}
			return typ, focus
		case <-time.After(20 * time.Second):
			t.Fatal("no notification came")
			return "", ""
		}
	}
}

// exerciseSubscriptions runs serve with args (the store) twice on one
// data directory.
func exerciseSubscriptions(t *testing.T, args ...string) {
	args = append(args, "--subscription-allow", "127.0.0.1")
	hookURL, next := restHook(t)

	dir := t.TempDir()
	base, stop := startServe(t, dir, args...)
	admin := []string{"Authorization", "Bearer " + adminToken(t, dir)}
	code, loc, body := send(t, "POST", base+"/Subscription", subscriptionBody("Observation?patient=Patient/p1", "rest-hook", hookURL), admin...)
	if code != http.StatusCreated {
		t.Fatalf("create Subscription: %d %s", code, body)
	}
	subID := strings.Split(loc, "/")[len(strings.Split(loc, "/"))-3]
	if typ, _ := next(); typ != "handshake" {
		t.Errorf("first notification %s, want handshake", typ)
	}
	obs := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
	code, loc, _ = send(t, "POST", base+"/Observation", obs, admin...)
	if code != http.StatusCreated {
		t.Fatalf("create Observation: %d", code)
	}
	if typ, focus := next(); typ != "event-notification" || !strings.HasSuffix(loc, "/_history/1") || focus != strings.TrimSuffix(loc, "/_history/1") {
		t.Errorf("notification %s of %s, want event-notification of %s", typ, focus, loc)
	}
	code, _, body = send(t, "GET", base+"/Subscription/"+subID+"/$status", "", admin...)
	if code != http.StatusOK || !strings.Contains(string(body), `"query-status"`) {
		t.Errorf("$status: %d %s", code, body)
	}

	for _, c := range []struct {
		name   string
		grant  auth.Grant
		filter string
		host   string
		want   int
	}{
		{"another patient", auth.Grant{Role: "patient", Patient: "p1"}, "Observation?patient=Patient/p2", hookURL, 403},
		{"scopes lack Flag", auth.Grant{Scope: "user/Observation.rs user/Subscription.cr"}, "Flag?patient=Patient/p1", hookURL, 403},
		{"host not allowed", auth.Grant{Role: "admin"}, "Observation?patient=Patient/p1", "http://10.1.2.3/hook", 400},
	} {
		tok := []string{"Authorization", "Bearer " + mintToken(t, dir, c.grant)}
		if code, _, body := send(t, "POST", base+"/Subscription", subscriptionBody(c.filter, "rest-hook", c.host), tok...); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
	}

	// websocket
	code, loc, body = send(t, "POST", base+"/Subscription", subscriptionBody("Observation?patient=Patient/p1", "websocket", ""), admin...)
	if code != http.StatusCreated {
		t.Fatalf("create websocket Subscription: %d %s", code, body)
	}
	wsID := strings.Split(loc, "/")[len(strings.Split(loc, "/"))-3]
	var tok struct {
		Parameter []struct{ Name, ValueString string }
	}
	for range 100 { // the subscription is active once its delivery has started
		code, _, body = send(t, "POST", base+"/Subscription/"+wsID+"/$get-ws-binding-token", "", admin...)
		if code == http.StatusOK {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := json.Unmarshal(body, &tok); code != http.StatusOK || err != nil {
		t.Fatalf("$get-ws-binding-token: %d %s", code, body)
	}
	// Reading a Subscription is not reading what it sends.
	readSubs := []string{"Authorization", "Bearer " + mintToken(t, dir, auth.Grant{Scope: "user/Subscription.rs"})}
	if code, _, body := send(t, "POST", base+"/Subscription/"+wsID+"/$get-ws-binding-token", "", readSubs...); code != http.StatusForbidden {
		t.Errorf("binding token for a token without Observation: %d %s, want 403", code, body)
	}
	params := map[string]string{}
	for _, p := range tok.Parameter {
		params[p.Name] = p.ValueString
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, params["websocket-url"], nil)
	if err != nil {
		t.Fatalf("dial %s: %v", params["websocket-url"], err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("bind-with-token "+params["token"])); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || !strings.Contains(string(msg), `"handshake"`) {
		t.Errorf("websocket: %v %s, want a handshake", err, msg)
	}
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("serve exit %d: %s", code, stderr)
	}

	// After a restart the subscription is still active: no handshake, the
	// next event.
	base, stop = startServe(t, dir, args...)
	defer stop()
	if code, _, _ := send(t, "POST", base+"/Observation", obs, admin...); code != http.StatusCreated {
		t.Fatalf("create Observation: %d", code)
	}
	if typ, _ := next(); typ != "event-notification" {
		t.Errorf("after restart: %s, want event-notification", typ)
	}
}

// TestServeSubscriptionsPatient: a patient-level SMART token subscribes
// to its own Observations and is notified of its new CGM reading; the
// server tags the Subscription with the patient (a forged tag is
// replaced); a filter naming another patient is refused; another
// patient's Subscription does not exist for it.
func TestServeSubscriptionsPatient(t *testing.T) {
	hookURL, next := restHook(t)
	dir := t.TempDir()
	base, stop := startServe(t, dir, "--subscription-allow", "127.0.0.1")
	defer stop()
	admin := []string{"Authorization", "Bearer " + adminToken(t, dir)}
	patient := func(id string) []string {
		return []string{"Authorization", "Bearer " + mintToken(t, dir, auth.Grant{Subject: "app-" + id, Patient: id,
			Scope: "patient/Observation.rs patient/Subscription.cruds"})}
	}
	p1, p2 := patient("p1"), patient("p2")
	idOf := func(loc string) string { parts := strings.Split(loc, "/"); return parts[len(parts)-3] }

	var sub map[string]any
	_ = json.Unmarshal([]byte(subscriptionBody("Observation?patient=Patient/p1", "rest-hook", hookURL)), &sub)
	sub["meta"] = map[string]any{"tag": []any{map[string]any{"system": fhirops.OwnerSystem, "code": "Patient/p2"}}}
	forged, _ := json.Marshal(sub)
	code, loc, body := send(t, "POST", base+"/Subscription", string(forged), p1...)
	if code != http.StatusCreated {
		t.Fatalf("patient creates a Subscription of its Observations: %d %s", code, body)
	}
	own := idOf(loc)
	if typ, _ := next(); typ != "handshake" {
		t.Errorf("first notification %s, want handshake", typ)
	}
	code, _, body = send(t, "GET", base+"/Subscription/"+own, "", p1...)
	var stored struct {
		Meta struct {
			Tag []struct{ System, Code string }
		}
	}
	if err := json.Unmarshal(body, &stored); code != http.StatusOK || err != nil {
		t.Fatalf("patient reads its Subscription: %d %s", code, body)
	}
	if diff := cmp.Diff([]struct{ System, Code string }{{fhirops.OwnerSystem, "Patient/p1"}}, stored.Meta.Tag); diff != "" {
		t.Errorf("tags of the patient's Subscription, the client's owner tag replaced (-want +got):\n%s", diff)
	}

	cgm := func(pid string) string {
		return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"99504-3"}]},` +
			`"subject":{"reference":"Patient/` + pid + `"},"effectiveDateTime":"2026-01-02T03:04:05Z","valueQuantity":{"value":112,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}}`
	}
	if code, _, body := send(t, "POST", base+"/Observation", cgm("p2"), admin...); code != http.StatusCreated {
		t.Fatalf("create p2's Observation: %d %s", code, body)
	}
	code, loc, body = send(t, "POST", base+"/Observation", cgm("p1"), admin...)
	if code != http.StatusCreated {
		t.Fatalf("create p1's Observation: %d %s", code, body)
	}
	if typ, focus := next(); typ != "event-notification" || focus != strings.TrimSuffix(loc, "/_history/1") {
		t.Errorf("notification %s of %s, want event-notification of %s (not p2's)", typ, focus, loc)
	}

	code, _, body = send(t, "POST", base+"/Subscription", subscriptionBody("Observation?patient=Patient/p2", "rest-hook", hookURL), p1...)
	if code != http.StatusForbidden || !strings.Contains(string(body), "subscription:") {
		t.Errorf("patient subscribes to another patient: %d %s, want 403 from the subscription engine", code, body)
	}
	code, loc, body = send(t, "POST", base+"/Subscription", subscriptionBody("Observation?patient=Patient/p2", "websocket", ""), p2...)
	if code != http.StatusCreated {
		t.Fatalf("p2 creates its Subscription: %d %s", code, body)
	}
	theirs := idOf(loc)
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/Subscription/" + theirs, http.StatusNotFound},
		{"GET", "/Subscription/" + theirs + "/$status", http.StatusNotFound},
		{"DELETE", "/Subscription/" + theirs, http.StatusForbidden},
		{"GET", "/Subscription/" + own + "/$status", http.StatusOK},
	} {
		if code, _, body := send(t, c.method, base+c.path, "", p1...); code != c.want {
			t.Errorf("p1 %s %s: %d %s, want %d", c.method, c.path, code, body, c.want)
		}
	}
	code, _, body = send(t, "GET", base+"/Subscription", "", p1...)
	var bundle struct {
		Entry []struct{ Resource struct{ ID string } }
	}
	if err := json.Unmarshal(body, &bundle); code != http.StatusOK || err != nil {
		t.Fatalf("p1 searches Subscriptions: %d %s", code, body)
	}
	if len(bundle.Entry) != 1 || bundle.Entry[0].Resource.ID != own {
		t.Errorf("p1's Subscription search: %s, want only %s", body, own)
	}
	if code, _, body := send(t, "DELETE", base+"/Subscription/"+own, "", p1...); code >= 300 {
		t.Errorf("patient deletes its Subscription: %d %s", code, body)
	}
}
