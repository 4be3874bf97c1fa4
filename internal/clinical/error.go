package clinical

// Kind classifies why input was refused. Kinds are append-only; a server maps
// each kind to one status (all of today's kinds are client errors, HTTP 422
// for a well-formed message with bad content and 400 for a malformed one).
type Kind uint8

// The error kinds.
const (
	Malformed     Kind = iota + 1 // not parseable, or a required field missing
	UnknownCode                   // the code is not in the table of supported codes
	BadUnit                       // the unit is not one the code accepts
	OutOfRange                    // the value is outside the plausible range
	BadTime                       // the effective time is missing, in the future or too old
	UnknownDevice                 // the device is not registered or not linked to a patient
)

func (k Kind) String() string {
	switch k {
	case Malformed:
		return "malformed"
	case UnknownCode:
		return "unknown-code"
	case BadUnit:
		return "bad-unit"
	case OutOfRange:
		return "out-of-range"
	case BadTime:
		return "bad-time"
	case UnknownDevice:
		return "unknown-device"
	}
	return "unknown-kind"
}

// Error is a refused input. Field names the element at fault (such as
// "value" or "component[8480-6]") and Reason says what is wrong in words a
// device's developer can act on. Neither holds the refused value, so an
// Error is safe to log.
type Error struct {
	Kind   Kind
	Field  string
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "clinical: " + e.Reason
	}
	return "clinical: " + e.Field + ": " + e.Reason
}
