package subscription_test

import (
	"fmt"

	"github.com/doppelhealth/doppel/internal/subscription"
)

// Decode reads a backport Subscription: the topic, its filter and the
// channel.
func ExampleDecode() {
	s, err := subscription.Decode([]byte(`{
	  "resourceType": "Subscription", "status": "requested",
	  "criteria": "https://doppel.health/fhir/SubscriptionTopic/twin-event",
	  "_criteria": {"extension": [{
	    "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria",
	    "valueString": "patient=Patient/p1&kind=alert"}]},
	  "channel": {"type": "websocket", "payload": "application/fhir+json",
	    "extension": [{"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period", "valueUnsignedInt": 60}]}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Topic == subscription.TopicTwin, s.Patient, s.Kinds, s.Channel, s.Content, s.Heartbeat)

	_, err = subscription.Decode([]byte(`{"resourceType": "Subscription", "status": "requested",
	  "criteria": "Observation?code=http://loinc.org|99504-3", "channel": {"type": "rest-hook"}}`))
	fmt.Println(err)
	// Output:
	// true p1 [alert] websocket id-only 1m0s
	// fhir: Subscription.criteria: subscription: unknown topic; this server offers https://doppel.health/fhir/SubscriptionTopic/resource-write and https://doppel.health/fhir/SubscriptionTopic/twin-event
}
