package hospital

import (
	"errors"
	"fmt"
	"math"
)

// State is the hospital at time 0 of a run: who is where and for how long
// they have been there. The zero State is an empty hospital. A warm start
// fills it from the census (for example from FHIR Encounters in
// progress); a what-if runs several configurations from the same State.
//
// Patients may exceed the capacity of a unit (a census over the bed count
// is kept as it is); no new patient is admitted there until it is below
// capacity.
type State struct {
	// Inpatients are the patients in beds.
	Inpatients []Inpatient
	// InTreatment are the ED patients in cubicles under treatment.
	InTreatment []EDPatient
	// Boarding are admitted ED patients holding a cubicle while they wait
	// for a bed, in queue order (first served first).
	Boarding []Boarder
	// Waiting is the number of patients waiting for an ED cubicle.
	Waiting int
}

// Inpatient is a patient in a bed of unit Unit (an index in Config.Units)
// who has stayed Elapsed hours so far. The rest of the stay is drawn from
// the unit's LOS conditioned on exceeding Elapsed.
type Inpatient struct {
	Unit    int
	Elapsed float64
}

// EDPatient is a patient under treatment in the ED for Elapsed hours.
// If Decided, Dest is the disposition (a unit index, or Home); otherwise it
// is drawn from the routes.
type EDPatient struct {
	Elapsed float64
	Decided bool
	Dest    int
}

// Home is the disposition of a patient discharged from the ED.
const Home = -1

// Boarder is an admitted ED patient waiting Waited hours so far for a bed
// in unit Unit.
type Boarder struct {
	Unit   int
	Waited float64
}

// Validate reports the first problem of s for configuration c.
func (s *State) Validate(c *Config) error {
	if s == nil {
		return nil
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("hospital: state %s: %s", field, fmt.Sprintf(format, args...)))
	}
	ok := func(x float64) bool { return x >= 0 && !math.IsInf(x, 1) }
	for i, p := range s.Inpatients {
		if p.Unit < 0 || p.Unit >= len(c.Units) {
			bad(fmt.Sprintf("Inpatients[%d].Unit", i), "no unit %d", p.Unit)
		}
		if !ok(p.Elapsed) {
			bad(fmt.Sprintf("Inpatients[%d].Elapsed", i), "must be >= 0, got %v", p.Elapsed)
		}
	}
	for i, p := range s.InTreatment {
		if p.Decided && (p.Dest < Home || p.Dest >= len(c.Units)) {
			bad(fmt.Sprintf("InTreatment[%d].Dest", i), "no unit %d", p.Dest)
		}
		if !ok(p.Elapsed) {
			bad(fmt.Sprintf("InTreatment[%d].Elapsed", i), "must be >= 0, got %v", p.Elapsed)
		}
	}
	for i, p := range s.Boarding {
		if p.Unit < 0 || p.Unit >= len(c.Units) {
			bad(fmt.Sprintf("Boarding[%d].Unit", i), "no unit %d", p.Unit)
		}
		if !ok(p.Waited) {
			bad(fmt.Sprintf("Boarding[%d].Waited", i), "must be >= 0, got %v", p.Waited)
		}
	}
	if s.Waiting < 0 {
		bad("Waiting", "must be >= 0, got %d", s.Waiting)
	}
	return errors.Join(errs...)
}
