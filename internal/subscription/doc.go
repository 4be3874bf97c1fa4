// Package subscription implements FHIR Subscriptions for R4 as the
// Subscriptions R5 Backport IG (STU 1.1,
// http://hl7.org/fhir/uv/subscriptions-backport/) defines them, so that
// clients learn of new data and of the live twins' forecasts and alerts
// without polling.
//
// A Subscription is a stored resource: its criteria is a topic canonical
// URL ([TopicResource]: a resource of a type is created or updated and
// matches a FHIR search, "Observation?patient=Patient/1&code=...";
// [TopicTwin]: a patient's twin emits a forecast, NEWS2 score or alert),
// its filters are backport-filter-criteria extensions of _criteria, and
// its channel is rest-hook or websocket, with the backport's payload
// content (empty, id-only, full-resource), heartbeat period, timeout and
// max count. Notifications are R4 history Bundles whose first entry is a
// SubscriptionStatus Parameters resource (handshake, heartbeat,
// event-notification; event numbers count from the subscription's start).
//
// The [Engine] learns of writes through the store it wraps ([Engine.Wrap]):
// a Subscription is checked as it is written (its filter must parse; its
// writer's scopes must allow searching what it selects, a patient-level
// token only inside its own compartment; a rest-hook endpoint's host must
// be one the administrator allowed, since the server would otherwise post
// wherever a client says), and a version reaches the engine only after
// its transaction has committed. Each subscription's filter is evaluated
// by the store's own search on the snapshot of the commit, so matching
// has exactly the server's search semantics. Each subscription has one
// delivery goroutine: events in order, batched up to max count, retried
// with back-off; a notification that fails all its attempts sets the
// status to error, and MaxFailures in a row turn the subscription off.
// Status changes are written to the stored Subscription, and the event
// count to the store's job table before each notification goes out, so
// both survive a restart, a crash included (after one, a notification
// that was numbered but not delivered leaves a gap in the numbers, the
// backport's sign of a missed event; no number is used twice). A subscription
// keeps the rights its writer had when it was written.
package subscription
