// Package stream is Doppel's message log: device messages and validated
// observations go through NATS JetStream, so an acknowledged write survives
// a crash and each consumer (a patient's twin, the store) reads it at its own
// pace, exactly once in effect.
//
// [Open] either starts an embedded NATS server (JetStream file store under
// Options.Dir/nats, MQTT 3.1.1 for devices, listeners on loopback only unless
// configured, the client connected in-process with no TCP) or connects to an
// external NATS cluster by URL. Both run the same code after the connection
// is made, so the tests of one cover the other.
//
// # Subjects and streams
//
//	doppel.devices.{device}.obs   raw device messages, stream DEVICES: MQTT topic
//	                              doppel/devices/{device}/obs, or a NATS publish
//	obs.{patient}                 validated observations (clinical.Observation as
//	                              JSON), stream OBS, one subject per patient so a
//	                              twin consumes its patient only
//	doppel.devices.{device}.rejected
//	                              refusal notices for the device (device.Notice):
//	                              MQTT topic doppel/devices/{device}/rejected, not
//	                              stored, sent to the subscribers of the moment
//
// A "." in an id is written "//" in device subjects (the NATS MQTT mapping)
// and "_" in patient subjects ("_" cannot occur in a FHIR id).
//
// With Options.DeviceAuth set, the embedded server authenticates every MQTT
// and NATS client and lets a device publish only to its own subject and
// subscribe only to its own rejected subject (SEC-22). With
// Options.Namespace set, every subject starts with "{namespace}." and stream
// names end in "_{namespace}", so several deployments (or tests) can share
// one cluster.
//
// OBS deduplicates: [Stream.PublishObservation] sends the observation's
// duplicate key ([clinical.Observation.Key]) as the Nats-Msg-Id, and
// JetStream drops a message whose id it saw within Options.DedupWindow. The
// store's unique key covers re-sends older than that.
//
// [Stream.Ingest] joins the two: it consumes DEVICES, validates each
// message with package device, resolves the device to its patient and
// publishes the accepted observations to OBS, acknowledging a device message
// only once all of it is in OBS. What it refuses, in part or whole (invalid
// readings, an unknown device, a device over its rate limit,
// Ingest.Limit), it tells the device on its rejected subject: an MQTT
// PUBACK only says that the message is stored.
//
// An MQTT QoS 1 PUBACK means stored: nats-server v2.15 sends it once
// JetStream has stored the message in its MQTT message store $MQTT_msgs
// (server/mqtt.go, mqttProcessPub), so a device may forget a reading once
// acknowledged. DEVICES takes its own copy a moment later, from a queue in
// memory, so on the embedded server [Stream.Ingest] reads MQTT readings
// from $MQTT_msgs, where a durable consumer made before the MQTT listener
// first opens keeps them until ingested, and skips their DEVICES copies.
// The embedded file store
// syncs every message to disk before that acknowledgement
// (server.Options.SyncAlways), so an acknowledged reading survives kill -9
// and a power loss; an external server's durability is its own
// configuration (nats-server syncs every 2 minutes by default: set
// sync_interval: always in its jetstream block for the same guarantee).
//
// Consumers are durable pull consumers with explicit acks ([Stream.Consumer]):
// a message not acknowledged within the ack wait (Options.AckWait) is
// delivered again, so a twin that crashes mid-update sees the message after
// its restart. [Stream.Lag] reports how far a consumer is behind: messages
// not yet delivered, delivered but not acknowledged, and the time the
// oldest unacknowledged one was stored.
package stream
