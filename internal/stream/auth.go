package stream

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/doppelhealth/doppel/internal/clinical"
)

// internalUser is the user name of Doppel's own in-process connection; it
// is not a FHIR id, so no device can claim it.
const internalUser = "$doppel"

// deviceAuth authenticates the embedded server's clients (MQTT and NATS,
// SEC-22): Doppel's own connection by a random secret made at Open, a device
// by its id as user name and a secret that Options.DeviceAuth accepts. A
// device may publish only to its own subject and subscribe only to its own
// rejected subject.
type deviceAuth struct {
	secret string // of the internal user
	check  func(device, secret string) bool
	stream *Stream
}

func newDeviceAuth(s *Stream, check func(device, secret string) bool) (*deviceAuth, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return &deviceAuth{secret: hex.EncodeToString(b), check: check, stream: s}, nil
}

// Check implements server.Authentication.
func (a *deviceAuth) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if o.Username == internalUser {
		if subtle.ConstantTimeCompare([]byte(o.Password), []byte(a.secret)) != 1 {
			return false
		}
		c.RegisterUser(&server.User{Username: internalUser})
		return true
	}
	if !clinical.ValidID(o.Username) || !a.check(o.Username, o.Password) {
		return false
	}
	c.RegisterUser(&server.User{Username: o.Username, Permissions: &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: []string{a.stream.DeviceSubject(o.Username)}},
		Subscribe: &server.SubjectPermission{Allow: []string{a.stream.RejectedSubject(o.Username)}},
	}})
	return true
}
