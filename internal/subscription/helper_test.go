package subscription_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/doppelhealth/doppel/internal/subscription"
)

var reg *search.Registry

func registry(t testing.TB) *search.Registry {
	t.Helper()
	if reg == nil {
		r, err := search.NewRegistry()
		if err != nil {
			t.Fatal(err)
		}
		reg = r
	}
	return reg
}

// env is an engine on a fresh SQLite store: api writes as the FHIR API
// does (through the engine's wrapper), raw is the engine's own service.
type env struct {
	st     store.Store
	api    *fhirops.Service
	raw    *fhirops.Service
	engine *subscription.Engine
	stop   func()
}

// newEnv starts an engine on the store in dir (a new one if "").
func newEnv(t testing.TB, dir string, opts subscription.Options) *env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "fhir.db"))
	if err != nil {
		t.Fatal(err)
	}
	raw := fhirops.New(st, registry(t), fhirops.Options{})
	if opts.BaseURL == "" {
		opts.BaseURL = "http://doppel.test/fhir"
	}
	if opts.Retry == nil {
		opts.Retry = []time.Duration{time.Millisecond}
	}
	e, err := subscription.New(st, registry(t), raw, opts)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(rctx) }()
	en := &env{st: st, api: fhirops.New(e.Wrap(st), registry(t), fhirops.Options{}), raw: raw, engine: e}
	var stopped bool
	en.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		st.Close()
	}
	t.Cleanup(en.stop)
	return en
}

// hook is a rest-hook endpoint that records what it receives and answers
// with status (200 unless set).
type hook struct {
	srv    *httptest.Server
	got    chan received
	status atomic.Int32
}

type received struct {
	header http.Header
	body   notificationBundle
}

// notificationBundle is what the tests read of a notification.
type notificationBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		FullURL  string `json:"fullUrl"`
		Resource struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Parameter    []struct {
				Name           string `json:"name"`
				ValueCode      string `json:"valueCode"`
				ValueString    string `json:"valueString"`
				ValueCanonical string `json:"valueCanonical"`
				ValueReference *struct {
					Reference string `json:"reference"`
				} `json:"valueReference"`
				Part []struct {
					Name           string `json:"name"`
					ValueString    string `json:"valueString"`
					ValueReference *struct {
						Reference string `json:"reference"`
					} `json:"valueReference"`
					ValueAttachment *struct {
						Data string `json:"data"`
					} `json:"valueAttachment"`
				} `json:"part"`
			} `json:"parameter"`
		} `json:"resource"`
	} `json:"entry"`
}

// param returns the value (code, string or canonical) of the status
// parameter name.
func (b notificationBundle) param(name string) string {
	if len(b.Entry) == 0 {
		return ""
	}
	for _, p := range b.Entry[0].Resource.Parameter {
		if p.Name == name {
			return p.ValueCode + p.ValueString + p.ValueCanonical
		}
	}
	return ""
}

// events returns the event numbers and focus references of the
// notification.
func (b notificationBundle) events() [][2]string {
	var out [][2]string
	if len(b.Entry) == 0 {
		return nil
	}
	for _, p := range b.Entry[0].Resource.Parameter {
		if p.Name != "notification-event" {
			continue
		}
		var ev [2]string
		for _, part := range p.Part {
			switch part.Name {
			case "event-number":
				ev[0] = part.ValueString
			case "focus":
				ev[1] = part.ValueReference.Reference
			}
		}
		out = append(out, ev)
	}
	return out
}

func newHook(t testing.TB) *hook {
	h := &hook{got: make(chan received, 64)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var b notificationBundle
		if err := json.Unmarshal(body, &b); err != nil {
			t.Errorf("hook: not JSON: %v", err)
		}
		h.got <- received{r.Header.Clone(), b}
		if s := h.status.Load(); s != 0 {
			w.WriteHeader(int(s))
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// next returns the next notification, failing the test if none comes.
func (h *hook) next(t testing.TB) received {
	t.Helper()
	select {
	case r := <-h.got:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("no notification came")
		return received{}
	}
}

// subscriptionJSON is a backport Subscription of topic with filter,
// channel type ch to endpoint, content and extra channel extensions.
func subscriptionJSON(topic, filter, ch, endpoint, content string) []byte {
	s := map[string]any{
		"resourceType": "Subscription", "status": "requested", "reason": "test",
		"criteria": topic,
		"_criteria": map[string]any{"extension": []map[string]any{{
			"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria", "valueString": filter}}},
		"channel": map[string]any{
			"type": ch, "endpoint": endpoint, "payload": "application/fhir+json",
			"_payload": map[string]any{"extension": []map[string]any{{
				"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content", "valueCode": content}}},
			"header": []string{"Authorization: Bearer hook-secret"},
		},
	}
	if ch == "websocket" {
		delete(s["channel"].(map[string]any), "endpoint")
	}
	b, _ := json.Marshal(s)
	return b
}

// observation is an Observation of patient with a LOINC code.
func observation(patient, code string) []byte {
	b, _ := json.Marshal(map[string]any{
		"resourceType": "Observation", "status": "final",
		"code":              map[string]any{"coding": []map[string]string{{"system": "http://loinc.org", "code": code}}},
		"subject":           map[string]string{"reference": "Patient/" + patient},
		"effectiveDateTime": "2026-11-25T10:00:00Z",
		"valueQuantity":     map[string]any{"value": 123, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
	})
	return b
}

// storedStatus returns the stored Subscription's status and error.
func storedStatus(t *testing.T, svc *fhirops.Service, id string) (string, string) {
	t.Helper()
	v, err := svc.Read(context.Background(), "Subscription", id)
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Status, Error string }
	if err := json.Unmarshal(v.Body, &s); err != nil {
		t.Fatal(err)
	}
	return s.Status, s.Error
}
