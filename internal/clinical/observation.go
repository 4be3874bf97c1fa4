package clinical

import (
	"strconv"
	"time"
)

// Quantity is a measured amount with its unit as a UCUM code
// (https://ucum.org/ucum), such as "mg/dL", "/min", "mm[Hg]" or "Cel".
type Quantity struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Component is one part of a panel observation, such as the systolic
// pressure (LOINC 8480-6) of a blood-pressure panel.
type Component struct {
	Code  string   `json:"code"`
	Value Quantity `json:"value"`
}

// Observation is one measurement or assessment of one patient at one
// instant, or one dose or intake entry (see [Code.Resource]).
//
// Exactly one of Value, ValueCode and Components carries the result,
// depending on the code: a quantity (glucose, heart rate), a coded value
// (the ACVPU letter for consciousness) or the components of a panel
// (blood pressure). Effective is in UTC.
type Observation struct {
	Patient    string      `json:"patient,omitempty"` // Patient resource id; empty until the device is resolved
	Device     string      `json:"device"`            // Device resource id
	Code       string      `json:"code"`              // LOINC code (ATC A10A for insulin), see [Lookup]
	Value      *Quantity   `json:"value,omitempty"`
	ValueCode  string      `json:"valueCode,omitempty"`
	Components []Component `json:"component,omitempty"`
	Effective  time.Time   `json:"effective"`
}

// Key is the duplicate key of o: the same device, code and effective time
// give the same key, whatever the value, so a device that re-sends a reading
// (after a lost acknowledgement) does not store it twice. The key has the
// form "DEVICE|CODE|UNIXNANO"; device ids cannot hold "|" (see
// [ValidID]), so distinct triples give distinct keys.
func (o Observation) Key() string {
	return o.Device + "|" + o.Code + "|" + strconv.FormatInt(o.Effective.UnixNano(), 10)
}

// ValidID reports whether id is a valid FHIR resource id: 1 to 64
// characters from A-Z, a-z, 0-9, "-" and "." (FHIR R4 datatypes, id).
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
