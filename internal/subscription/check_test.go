package subscription_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/subscription"
)

// token is a test Access: the types it may read and search, and its
// compartment.
type token struct {
	types       []string
	compartment string
}

func (a token) Allows(kind, typ string) bool {
	return (kind == "read" || kind == "search-type" || kind == "create") && (slices.Contains(a.types, typ) || typ == "Subscription")
}
func (a token) Compartment() string { return a.compartment }

type accessKey struct{}

func accessOf(ctx context.Context) (subscription.Access, bool) {
	a, ok := ctx.Value(accessKey{}).(subscription.Access)
	return a, ok
}

// status is the HTTP status of err: 0 for nil, -1 if not a *fhir.Error.
func status(err error) int {
	if err == nil {
		return 0
	}
	var fe *fhir.Error
	if errors.As(err, &fe) {
		return fe.Status
	}
	return -1
}

func TestCheck(t *testing.T) {
	en := newEnv(t, "", subscription.Options{AllowHosts: []string{"hooks.example.org"}, AccessOf: accessOf})
	p1 := token{types: []string{"Observation", "Flag"}, compartment: "Patient/p1"}
	user := token{types: []string{"Observation"}}
	hook := "https://hooks.example.org/fhir"
	for _, c := range []struct {
		name          string
		access        subscription.Access // nil: unrestricted
		topic, filter string
		endpoint      string
		want          int
	}{
		{"own compartment", p1, subscription.TopicResource, "Observation?patient=Patient/p1&code=http://loinc.org|" + cgm, hook, 0},
		{"own compartment by subject", p1, subscription.TopicResource, "Observation?subject=Patient/p1", hook, 0},
		{"own flags", p1, subscription.TopicResource, "Flag?patient=Patient/p1", hook, 0},
		{"another patient", p1, subscription.TopicResource, "Observation?patient=Patient/p2", hook, 403},
		{"no patient in the filter", p1, subscription.TopicResource, "Observation?code=http://loinc.org|" + cgm, hook, 403},
		{"two patients", p1, subscription.TopicResource, "Observation?patient=Patient/p1,Patient/p2", hook, 403},
		{"chained", p1, subscription.TopicResource, "Observation?patient=Patient/p1&subject:Patient.name=x", hook, 403},
		{"own twin", p1, subscription.TopicTwin, "patient=Patient/p1", hook, 0},
		{"another patient's twin", p1, subscription.TopicTwin, "patient=Patient/p2", hook, 403},
		{"a type the scopes lack", user, subscription.TopicResource, "Flag?patient=Patient/p1", hook, 403},
		{"user token, any patient", user, subscription.TopicResource, "Observation?patient=Patient/p2", hook, 0},
		{"host not allowed", nil, subscription.TopicResource, "Observation?patient=Patient/p1", "http://10.0.0.1/hook", 400},
		{"unknown search parameter", nil, subscription.TopicResource, "Observation?colour=blue", hook, 400},
		{"result parameter", nil, subscription.TopicResource, "Observation?patient=Patient/p1&_count=5", hook, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			if c.access != nil {
				ctx = context.WithValue(ctx, accessKey{}, c.access)
			}
			s, err := subscription.Decode(subscriptionJSON(c.topic, c.filter, "rest-hook", c.endpoint, "id-only"))
			if err != nil {
				t.Fatal(err)
			}
			if got := status(en.engine.Check(ctx, s)); got != c.want {
				t.Errorf("Check: status %d, want %d (%v)", got, c.want, en.engine.Check(ctx, s))
			}
		})
	}
	// Through the store: a refused Subscription is not stored.
	ctx := context.WithValue(context.Background(), accessKey{}, subscription.Access(user))
	_, err := en.api.Create(ctx, "Subscription", subscriptionJSON(subscription.TopicResource, "Flag?patient=Patient/p1", "rest-hook", hook, "id-only"), "")
	if status(err) != 403 {
		t.Errorf("create: %v, want 403", err)
	}
	page, err := en.api.Search(context.Background(), "Subscription", url.Values{}, true, "http://doppel.test/fhir")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page, []byte(`"entry"`)) {
		t.Errorf("a refused Subscription was stored: %s", page)
	}
}
