// Package device turns messages from devices and wearables into validated
// [clinical.Observation] values, so that nothing implausible reaches a twin
// and a device learns, per reading, why one was refused.
//
// It is pure decoding: no I/O, no clock of its own (the [Decoder] takes a
// Now function), and it imports only internal/clinical and the standard
// library.
//
// # The batch format
//
// Devices, apps and gateways send one JSON object per message, over HTTP or
// as the payload of an MQTT 3.1.1 publish:
//
//	{"device": "cgm-1",
//	 "observations": [
//	   {"code": "cgm",   "t": "2026-11-25T10:00:00Z", "v": 123, "unit": "mg/dL"},
//	   {"code": "bp",    "t": "2026-11-25T10:00:00Z", "sys": 120, "dia": 80, "unit": "mm[Hg]"},
//	   {"code": "acvpu", "t": "2026-11-25T10:00:00Z", "c": "A"}
//	 ]}
//
// "device" is the FHIR id of the Device resource (the Device links to the
// patient; the message does not name the patient). "code" is a short name or
// a code of [clinical.Lookup] ("cgm" or "99504-3", "hr", "rr", "spo2",
// "temp", "carbs", "insulin", "bp", "acvpu"); "t" the effective time in RFC
// 3339 with a zone offset; "v" and "unit" a quantity (any unit the code
// accepts, converted to the canonical one: mmol/L glucose to mg/dL, [degF]
// to Cel); "sys" and "dia" the blood pressures; "c" an ACVPU letter.
// Unknown fields are refused, so a typo does not silently drop a value.
//
// Each observation is accepted or refused on its own: [Result] lists the
// accepted observations, the index and reason of each refused one, and the
// indexes of in-message duplicates (same code and time as an earlier entry),
// and [Result.Response] renders that as the JSON answer for the device.
// Refused are unknown codes, wrong units, values outside the plausible range
// of the code (glucose 5000 mg/dL, negative rates), and times more than
// MaxFuture ahead of Now or older than MaxAge.
//
// # MQTT
//
// A device publishes the same JSON to the MQTT topic [Topic]:
// doppel/devices/{device}/obs. The NATS server's MQTT gateway delivers it on
// the subject doppel.devices.{device}.obs (MQTT "/" becomes ".", and a "." in
// the device id becomes "//"); [Decoder.DecodeMessage] takes that subject,
// and refuses a payload whose "device" differs from the subject's, so a
// device can speak only for itself once the broker limits its topics.
//
// The server answers an MQTT publish with a PUBACK once the message is
// stored, before it is decoded: MQTT 3.1.1 has no way to say no. It tells
// the device what it refused on a second topic, [RejectedTopic]:
// doppel/devices/{device}/rejected, one [Notice] per message refused in
// part or whole (the [Result.Response] answer plus the message's SHA-256,
// so the device can match it to what it sent). A device may subscribe to
// its own rejected topic only; notices are sent at MQTT QoS 0 to the
// devices subscribed at the time.
//
// # Rate limit
//
// [Limiter] caps the messages of each device (a token bucket per device
// id): a message over the limit is refused whole with [Throttled], which
// HTTP answers with 429 and Retry-After, and MQTT with a notice of kind
// "rate-limited" and retry_after_s.
//
// # Duplicates
//
// [clinical.Observation.Key] is the duplicate key (device, code, time): the
// stream uses it as the JetStream message id and the store as a unique key,
// so a re-sent reading is stored once.
package device
