package device

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/doppelhealth/doppel/internal/clinical"
)

// RejectedTopic returns the MQTT topic on which the server tells device
// what it refused of its messages: MQTT 3.1.1 has no negative PUBACK, and
// a PUBACK only means that the message is stored. A device subscribes to
// its own RejectedTopic (it may subscribe to no other) and reads a
// [Notice] for each message refused in part or whole.
func RejectedTopic(device string) string { return "doppel/devices/" + device + "/rejected" }

// RejectedSubject is the NATS subject of [RejectedTopic](device).
func RejectedSubject(device string) string {
	return SubjectPrefix + strings.ReplaceAll(device, ".", "//") + ".rejected"
}

// MessageID identifies a device message in a [Notice]: the hex SHA-256 of
// its payload, which the device can compute itself to match a notice to
// what it sent, and the message's sequence number in the server's log.
type MessageID struct {
	SHA256 string `json:"sha256"`
	Seq    uint64 `json:"seq,omitempty"`
}

// IDOf returns the MessageID of payload stored at sequence seq.
func IDOf(payload []byte, seq uint64) MessageID {
	h := sha256.Sum256(payload)
	return MessageID{SHA256: hex.EncodeToString(h[:]), Seq: seq}
}

// Notice renders what a device reads on its [RejectedTopic] about one
// message: the answer of [Result.Response] with the message's id, and for
// a message refused whole (err a *clinical.Error or a *Throttled) its
// kind and reason, plus retry_after_s when throttled:
//
//	{"message":{"sha256":"…","seq":41},"accepted":0,"duplicates":[],
//	 "rejected":[{"index":0,"kind":"out-of-range","reason":"value: …"}]}
//	{"message":{"sha256":"…","seq":42},"accepted":0,"duplicates":[],"rejected":[],
//	 "kind":"rate-limited","reason":"…","retry_after_s":3}
func Notice(id MessageID, r Result, err error) []byte {
	out := struct {
		Message MessageID `json:"message"`
		response
		Kind       string `json:"kind,omitempty"`
		Reason     string `json:"reason,omitempty"`
		RetryAfter int    `json:"retry_after_s,omitempty"`
	}{Message: id}
	if err != nil {
		r = Result{}
		out.Kind, out.Reason = WholeRefusal(err)
		var th *Throttled
		if errors.As(err, &th) {
			out.RetryAfter = th.Seconds()
		}
	}
	out.response = r.response()
	b, _ := json.Marshal(out) // plain structs of ints and strings: cannot fail
	return b
}

// WholeRefusal returns the kind and reason of a message refused whole:
// "rate-limited" for a *Throttled, the kind of a *clinical.Error, else
// "malformed".
func WholeRefusal(err error) (kind, reason string) {
	var th *Throttled
	if errors.As(err, &th) {
		return "rate-limited", "more messages than the device's rate limit; send again after retry_after_s"
	}
	var ce *clinical.Error
	if !errors.As(err, &ce) {
		return clinical.Malformed.String(), "invalid message"
	}
	reason = ce.Reason
	if ce.Field != "" {
		reason = ce.Field + ": " + reason
	}
	return ce.Kind.String(), reason
}
