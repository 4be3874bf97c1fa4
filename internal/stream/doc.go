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
//
// A "." in an id is written "//" in device subjects (the NATS MQTT mapping)
// and "_" in patient subjects ("_" cannot occur in a FHIR id).
//
// With Options.DeviceAuth set, the embedded server authenticates every MQTT
// and NATS client and lets a device publish only to its own subject (SEC-22). With
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
// only once all of it is in OBS.
//
// An MQTT QoS 1 PUBACK means stored: nats-server v2.15 sends it once
// JetStream has acknowledged the store (server/mqtt.go, mqttProcessPub), so a
// device may forget a reading once acknowledged. The file store writes
// through the OS page cache (no fsync per message), which survives kill -9
// of the process but not a power loss.
//
// Consumers are durable pull consumers with explicit acks ([Stream.Consumer]):
// a message not acknowledged within the ack wait is delivered again, so a
// twin that crashes mid-update sees the message after its restart.
package stream
