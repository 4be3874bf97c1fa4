package subscription_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/doppelhealth/doppel/internal/subscription"
)

// BenchmarkNotify: one op is an Observation created through the wrapped
// store and its rest-hook notification received, with subs per-patient
// subscriptions on Observation (one of which matches).
func BenchmarkNotify(b *testing.B) {
	for _, subs := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			ctx := context.Background()
			h := newHook(b)
			en := newEnv(b, "", subscription.Options{AllowHosts: []string{"127.0.0.1"}})
			for i := range subs {
				if _, err := en.api.Create(ctx, "Subscription", subscriptionJSON(subscription.TopicResource,
					fmt.Sprintf("Observation?patient=Patient/p%d&code=http://loinc.org|%s", i, cgm), "rest-hook", h.srv.URL, "id-only"), ""); err != nil {
					b.Fatal(err)
				}
				h.next(b) // handshake
			}
			i := 0
			for b.Loop() {
				if _, err := en.api.Create(ctx, "Observation", observation(fmt.Sprintf("p%d", i%subs), cgm), ""); err != nil {
					b.Fatal(err)
				}
				if got := h.next(b).body.param("type"); got != "event-notification" {
					b.Fatalf("got %s", got)
				}
				i++
			}
		})
	}
}
