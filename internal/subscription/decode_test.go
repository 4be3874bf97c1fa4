package subscription_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/subscription"
)

func TestDecode(t *testing.T) {
	got, err := subscription.Decode(readFile(t, "subscription-rest-hook.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := subscription.Subscription{
		ID: "admission", Status: "requested", End: time.Date(2027, 12, 31, 12, 0, 0, 0, time.UTC),
		Topic: subscription.TopicResource, Type: "Observation",
		Filter:  map[string][]string{"patient": {"Patient/p1"}, "code": {"http://loinc.org|99504-3"}},
		Channel: "rest-hook", Endpoint: "https://hooks.example.org/fhir/notify", Headers: []string{"Authorization: Bearer secret"},
		Content: "full-resource", Heartbeat: 120 * time.Second, Timeout: 30 * time.Second, MaxCount: 20,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Decode (-want +got):\n%s", d)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		name, body, expr string
	}{
		{"not JSON", `{`, "Subscription"},
		{"not a Subscription", `{"resourceType":"Patient"}`, "Subscription.resourceType"},
		{"bad status", `{"resourceType":"Subscription","status":"on"}`, "Subscription.status"},
		{"classic R4 criteria", `{"resourceType":"Subscription","status":"requested","criteria":"Observation?code=1","channel":{"type":"rest-hook"}}`, "Subscription.criteria"},
		{"no filter", `{"resourceType":"Subscription","status":"requested","criteria":"` + subscription.TopicResource + `","channel":{"type":"rest-hook"}}`, "Subscription.criteria"},
		{"twin without patient", `{"resourceType":"Subscription","status":"requested","criteria":"` + subscription.TopicTwin + `","channel":{"type":"websocket"}}`, "Subscription.criteria"},
		{"not a type", filtered(`Obs?code=1`, `{"type":"websocket"}`), "Subscription.criteria"},
		{"email", filtered(`Observation?code=1`, `{"type":"email","endpoint":"mailto:a@b"}`), "Subscription.channel.type"},
		{"file endpoint", filtered(`Observation?code=1`, `{"type":"rest-hook","endpoint":"file:///etc/passwd"}`), "Subscription.channel.endpoint"},
		{"header injection", filtered(`Observation?code=1`, `{"type":"websocket","header":["X: a\r\nY: b"]}`), "Subscription.channel.header[0]"},
		{"xml", filtered(`Observation?code=1`, `{"type":"websocket","payload":"application/fhir+xml"}`), "Subscription.channel.payload"},
		{"max count 0", filtered(`Observation?code=1`, `{"type":"websocket","extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-max-count","valuePositiveInt":0}]}`), "Subscription.channel.extension[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := subscription.Decode([]byte(c.body))
			fe, ok := err.(*fhir.Error)
			if !ok || fe.Status != 400 || len(fe.Issues) != 1 || !slices.Equal(fe.Issues[0].Expression, []string{c.expr}) {
				t.Errorf("Decode: %v, want a 400 at %s", err, c.expr)
			}
		})
	}
}

// filtered is a requested resource-write Subscription with filter and
// channel (JSON).
func filtered(filter, channel string) string {
	return `{"resourceType":"Subscription","status":"requested","criteria":"` + subscription.TopicResource +
		`","_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":"` +
		filter + `"}]},"channel":` + channel + `}`
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecode: Decode never panics, and what it accepts is one of the
// shapes the engine serves.
func FuzzDecode(f *testing.F) {
	f.Add(readFile(f, "subscription-rest-hook.json"))
	f.Add(readFile(f, "subscription-websocket-twin.json"))
	f.Add([]byte(filtered(`Observation?code=1`, `{"type":"websocket"}`)))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := subscription.Decode(body)
		if err != nil {
			if _, ok := err.(*fhir.Error); !ok {
				t.Fatalf("error %T, want *fhir.Error", err)
			}
			return
		}
		ok := slices.Contains([]string{"requested", "active", "error", "off"}, s.Status) &&
			slices.Contains([]string{"rest-hook", "websocket"}, s.Channel) &&
			slices.Contains([]string{"empty", "id-only", "full-resource"}, s.Content) &&
			(s.Topic == subscription.TopicResource && s.Type != "" || s.Topic == subscription.TopicTwin && s.Patient != "")
		if !ok {
			t.Fatalf("accepted %+v", s)
		}
	})
}
