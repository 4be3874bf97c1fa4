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

	"github.com/doppelhealth/doppel/internal/auth"
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

// exerciseSubscriptions runs serve with args (the store) twice on one
// data directory.
func exerciseSubscriptions(t *testing.T, args ...string) {
	args = append(args, "--subscription-allow", "127.0.0.1")
	got := make(chan map[string]any, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &b)
		got <- b
	}))
	defer hook.Close()
	next := func() (typ string, focus string) {
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

	dir := t.TempDir()
	base, stop := startServe(t, dir, args...)
	admin := []string{"Authorization", "Bearer " + adminToken(t, dir)}
	code, loc, body := send(t, "POST", base+"/Subscription", subscriptionBody("Observation?patient=Patient/p1", "rest-hook", hook.URL), admin...)
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
		{"another patient", auth.Grant{Role: "patient", Patient: "p1"}, "Observation?patient=Patient/p2", hook.URL, 403},
		{"scopes lack Flag", auth.Grant{Scope: "user/Observation.rs user/Subscription.cr"}, "Flag?patient=Patient/p1", hook.URL, 403},
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
