package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// fakeSubscriptions answers with the id and stored body it was given.
type fakeSubscriptions struct{ websocket bool }

func (fakeSubscriptions) Status(_ context.Context, id string, stored []byte) ([]byte, error) {
	return json.Marshal(map[string]any{"resourceType": "Bundle", "id": id, "stored": json.RawMessage(stored)})
}

func (f fakeSubscriptions) BindingToken(_ context.Context, id string) ([]byte, bool, error) {
	return []byte(`{"resourceType":"Parameters"}`), f.websocket, nil
}

func (fakeSubscriptions) Topics() []string { return []string{"https://example.org/topic/a"} }

func TestSubscriptionRoutes(t *testing.T) {
	e := newEnv(t, Options{Subscriptions: fakeSubscriptions{}})
	id := e.create("Subscription", `{"resourceType":"Subscription","status":"off","reason":"r","criteria":"https://example.org/topic/a","channel":{"type":"websocket"}}`)
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/fhir/Subscription/" + id + "/$status", http.StatusOK},
		{"GET", "/fhir/Subscription/nope/$status", http.StatusNotFound},
		{"POST", "/fhir/Subscription/" + id + "/$get-ws-binding-token", http.StatusBadRequest}, // not a websocket subscription
		{"GET", "/fhir/Subscription/nope/$get-ws-binding-token", http.StatusNotFound},
	} {
		if w := e.do(c.method, c.path, ""); w.Code != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, w.Code, w.Body, c.want)
		}
	}
	w := e.do("GET", "/fhir/Subscription/"+id+"/$status", "")
	var got struct {
		ID     string
		Stored struct{ Status string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.ID != id || got.Stored.Status != "off" {
		t.Errorf("$status was given %+v (%v), want the stored Subscription %s", got, err, id)
	}

	// The CapabilityStatement names the topics, the profile and the operations.
	var cs struct {
		Instantiates []string
		Rest         []struct {
			Resource []struct {
				Type             string
				SupportedProfile []string
				Extension        []struct{ URL, ValueCanonical string }
				Operation        []struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal(e.do("GET", "/fhir/metadata", "").Body.Bytes(), &cs); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cs.Instantiates, backportServer) {
		t.Errorf("instantiates %q", cs.Instantiates)
	}
	for _, r := range cs.Rest[0].Resource {
		if r.Type != "Subscription" {
			continue
		}
		var ops []string
		for _, o := range r.Operation {
			ops = append(ops, o.Name)
		}
		if len(r.Extension) != 1 || r.Extension[0].ValueCanonical != "https://example.org/topic/a" || len(r.SupportedProfile) != 1 ||
			!slices.Equal(ops, []string{"status", "get-ws-binding-token"}) {
			t.Errorf("Subscription: %+v", r)
		}
	}
}
