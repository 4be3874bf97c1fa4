package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/device"
)

// DeviceIngest serves POST /device/observations: a device posts a batch
// of readings in the format of package device and learns, per reading,
// whether it was accepted and why not (device.Result.Response). It is the
// HTTP twin of the MQTT topic doppel/devices/{device}/obs: the accepted
// readings go to Publish, the same observation stream MQTT feeds.
//
// A device authenticates with its id and secret, by HTTP Basic (user the
// device id) or as a bearer token (the secret, the device id taken from
// the message), and may post only for itself (SEC-22). It does not use
// the SMART tokens of the FHIR API: mount it beside that API, not behind
// its authentication.
type DeviceIngest struct {
	Decoder device.Decoder
	// Authenticate reports whether secret is device's; required.
	Authenticate func(device, secret string) bool
	// Patient resolves a device to the patient it is linked to; required.
	Patient func(ctx context.Context, device string) (patient string, ok bool)
	// Publish hands the accepted observations (Patient set) to the stream;
	// required. An error answers 503 and the device sends again (the
	// stream drops duplicates).
	Publish func(ctx context.Context, obs []clinical.Observation) error
	// Report, if set, sees every authenticated message's result (err is a
	// refusal of the whole message), for metrics. It sees no values.
	Report func(r device.Result, err error)
	// MaxBytes caps the body; 0 means 4 MiB.
	MaxBytes int64
	// Limit, if set, caps each device's messages: one over its limit is
	// answered 429 with Retry-After (and reported as a *device.Throttled).
	Limit *device.Limiter
}

// deviceError is the answer to a message refused whole.
type deviceError struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

func (d *DeviceIngest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	user, secret, basic := r.BasicAuth()
	if !basic {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			d.unauthorized(w)
			return
		}
		secret = tok
	} else if !clinical.ValidID(user) || !d.Authenticate(user, secret) {
		d.unauthorized(w) // before reading the body
		return
	} else if !d.allow(w, user) {
		return
	}
	max := d.MaxBytes
	if max == 0 {
		max = 4 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeDeviceJSON(w, http.StatusRequestEntityTooLarge, deviceError{clinical.Malformed.String(), "message larger than the limit"})
			return
		}
		writeDeviceJSON(w, http.StatusBadRequest, deviceError{clinical.Malformed.String(), "cannot read the body"})
		return
	}
	res, err := d.Decoder.DecodeBatch(body)
	if err == nil {
		if !basic && !d.Authenticate(res.Device, secret) {
			d.unauthorized(w)
			return
		}
		if !basic && !d.allow(w, res.Device) {
			return
		}
		if basic && res.Device != user {
			writeDeviceJSON(w, http.StatusForbidden, deviceError{"forbidden", "a device may post only its own readings"})
			return
		}
		patient, ok := d.Patient(r.Context(), res.Device)
		if !ok || !clinical.ValidID(patient) {
			err = &clinical.Error{Kind: clinical.UnknownDevice, Field: "device", Reason: "device is not registered to a patient"}
		} else {
			for i := range res.Accepted {
				res.Accepted[i].Patient = patient
			}
		}
	} else if !basic {
		d.unauthorized(w) // no device id to check the bearer against
		return
	}
	if err != nil {
		res = device.Result{}
	}
	if d.Report != nil {
		d.Report(res, err)
	}
	if err != nil {
		var ce *clinical.Error
		kind, reason := clinical.Malformed, "invalid message"
		if errors.As(err, &ce) {
			kind, reason = ce.Kind, ce.Reason
			if ce.Field != "" {
				reason = ce.Field + ": " + reason
			}
		}
		status := http.StatusBadRequest
		if kind != clinical.Malformed {
			status = http.StatusUnprocessableEntity
		}
		writeDeviceJSON(w, status, deviceError{kind.String(), reason})
		return
	}
	if len(res.Accepted) > 0 {
		if err := d.Publish(r.Context(), res.Accepted); err != nil {
			w.Header().Set("Retry-After", "1")
			writeDeviceJSON(w, http.StatusServiceUnavailable, deviceError{"unavailable", "the observation stream is not available; send again"})
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(res.Response())
}

// allow takes one message of the authenticated dev from its rate limit;
// over the limit it answers 429 and returns false.
func (d *DeviceIngest) allow(w http.ResponseWriter, dev string) bool {
	if d.Limit == nil {
		return true
	}
	ok, wait := d.Limit.Allow(dev)
	if ok {
		return true
	}
	err := &device.Throttled{RetryAfter: wait}
	if d.Report != nil {
		d.Report(device.Result{}, err)
	}
	kind, reason := device.WholeRefusal(err)
	w.Header().Set("Retry-After", strconv.Itoa(err.Seconds()))
	writeDeviceJSON(w, http.StatusTooManyRequests, deviceError{kind, reason})
	return false
}

func (d *DeviceIngest) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="doppel devices", charset="UTF-8"`)
	writeDeviceJSON(w, http.StatusUnauthorized, deviceError{"unauthorized", "device id and secret required (HTTP Basic, or the secret as a bearer token)"})
}

func writeDeviceJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
