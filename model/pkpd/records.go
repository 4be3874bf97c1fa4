package pkpd

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Event identifiers (NONMEM EVID data item).
const (
	EVIDObs       = 0 // observation
	EVIDDose      = 1 // dose
	EVIDOther     = 2 // other event (e.g. a covariate change); no dose, no observation
	EVIDReset     = 3 // reset: every amount to zero, infusions and pending doses cancelled
	EVIDResetDose = 4 // reset, then dose
)

// Special values of Record.RATE.
const (
	RateModelled     = -1 // the rate is a model parameter (Dosing.Rate)
	DurationModelled = -2 // the duration is a model parameter (Dosing.Duration)
)

// Record is one row of a NONMEM-style event data set (NONMEM Users Guide VI,
// PREDPP, ch. V). Times are in h, amounts in mg, rates in mg/h. The zero
// value of an optional data item is NONMEM's default.
type Record struct {
	ID   int     // subject identifier
	Time float64 // h, non-negative, non-decreasing within a subject
	EVID int     // 0 observation, 1 dose, 2 other, 3 reset, 4 reset and dose
	AMT  float64 // dose amount, mg (before bioavailability F)
	// CMT is the 1-based compartment of a dose or observation; 0 means the
	// model's default dose (or observation) compartment.
	CMT int
	// RATE is 0 for a bolus, > 0 for a zero-order infusion at RATE mg/h,
	// −1 for a modelled rate (Dosing.Rate) and −2 for a modelled duration
	// (Dosing.Duration).
	RATE float64
	II   float64 // interdose interval, h (ADDL and SS doses)
	ADDL int     // additional doses, identical to this one, every II h
	// SS is 0 (no steady state), 1 (reset, then the state at steady state
	// of the dose pattern AMT, RATE, II) or 2 (steady-state amounts added to
	// the current state).
	SS  int
	MDV int     // 1: DV is missing (dose and other records)
	DV  float64 // observed value (e.g. mg/L), read only when EVID = 0 and MDV = 0
	// Covariates holds the record's covariate values by name (e.g. "WT" in
	// kg). How they apply between records is set by Carry.
	Covariates map[string]float64
	// Line is the record's line in the file it was read from (1 is the
	// header), or 0; errors name it when set, the record index otherwise.
	Line int
}

// recWhere names a record in an error message.
func recWhere(recs []Record, i int) string {
	if recs[i].Line > 0 {
		return fmt.Sprintf("line %d", recs[i].Line)
	}
	return fmt.Sprintf("record %d (ID %d, TIME %g)", i+1, recs[i].ID, recs[i].Time)
}

// isDose reports whether a record gives a dose.
func (r *Record) isDose() bool { return r.EVID == EVIDDose || r.EVID == EVIDResetDose }

// maxADDL bounds ADDL, and the dose intervals an SS record's lag time or
// infusion may span, so that a schedule stays of a reasonable size.
const maxADDL = 1000000

// Spec describes the compartments of a model for validating and expanding
// records.
type Spec struct {
	// NumCmt is the number of compartments; CMT must lie in 1..NumCmt.
	NumCmt int
	// DoseCmt is the compartment of a dose record with CMT = 0.
	DoseCmt int
	// ObsCmt is the compartment of an observation record with CMT = 0.
	ObsCmt int
	// NoDose lists the observation-only compartments: a dose into one of
	// them is an error.
	NoDose []int
	// Covariates lists the covariate names a record may carry; nil allows
	// any name.
	Covariates []string
}

// Validate checks records against a model's Spec and returns the first
// inconsistency as an error that names the record (its line, when read from
// a file) and the field: negative or decreasing times within a subject,
// unknown EVID, SS or CMT, a dose into an observation-only compartment, a
// dose without amount, SS or ADDL without II, ADDL with an SS infusion, an
// unknown covariate.
func Validate(recs []Record, spec Spec) error {
	for i := range recs {
		r := &recs[i]
		bad := func(format string, a ...any) error {
			return fmt.Errorf("pkpd: %s: "+format, append([]any{recWhere(recs, i)}, a...)...)
		}
		if math.IsNaN(r.Time) || math.IsInf(r.Time, 0) {
			return bad("TIME is not finite")
		}
		if r.Time < 0 {
			return bad("TIME %g is negative", r.Time)
		}
		if i > 0 && recs[i-1].ID == r.ID && r.Time < recs[i-1].Time {
			return bad("TIME %g is before the previous record's TIME %g of ID %d", r.Time, recs[i-1].Time, r.ID)
		}
		if r.EVID < 0 || r.EVID > 4 {
			return bad("EVID %d is not 0-4", r.EVID)
		}
		if r.CMT < 0 || r.CMT > spec.NumCmt {
			return bad("CMT %d is not in 1..%d", r.CMT, spec.NumCmt)
		}
		if r.MDV != 0 && r.MDV != 1 {
			return bad("MDV %d is not 0 or 1", r.MDV)
		}
		for _, v := range []struct {
			name string
			x    float64
		}{{"AMT", r.AMT}, {"RATE", r.RATE}, {"II", r.II}, {"DV", r.DV}} {
			if math.IsNaN(v.x) || math.IsInf(v.x, 0) {
				return bad("%s is not finite", v.name)
			}
		}
		if r.II < 0 {
			return bad("II %g is negative", r.II)
		}
		if r.ADDL < 0 {
			return bad("ADDL %d is negative", r.ADDL)
		}
		if r.ADDL > maxADDL {
			return bad("ADDL %d exceeds %d", r.ADDL, maxADDL)
		}
		if r.SS < 0 || r.SS > 2 {
			return bad("SS %d is not 0, 1 or 2", r.SS)
		}
		if !r.isDose() {
			if r.ADDL != 0 || r.SS != 0 {
				return bad("ADDL and SS need a dose record (EVID 1 or 4), EVID is %d", r.EVID)
			}
		} else {
			cmt := r.CMT
			if cmt == 0 {
				cmt = spec.DoseCmt
			}
			if slices.Contains(spec.NoDose, cmt) {
				return bad("CMT %d is an observation-only compartment and cannot take a dose", cmt)
			}
			if cmt < 1 || cmt > spec.NumCmt {
				return bad("CMT is 0 and the model has no default dose compartment")
			}
			if r.AMT < 0 {
				return bad("AMT %g is negative", r.AMT)
			}
			if r.RATE < 0 && r.RATE != RateModelled && r.RATE != DurationModelled {
				return bad("RATE %g is not >= 0, -1 (modelled rate) or -2 (modelled duration)", r.RATE)
			}
			constInf := r.SS != 0 && r.AMT == 0 && r.RATE > 0 && r.II == 0
			if r.AMT == 0 && !constInf {
				return bad("AMT is 0 on a dose record")
			}
			if r.SS != 0 && r.II <= 0 && !constInf {
				return bad("SS=%d needs II > 0", r.SS)
			}
			if r.ADDL > 0 && r.II <= 0 {
				return bad("ADDL=%d needs II > 0", r.ADDL)
			}
			if r.SS != 0 && r.RATE != 0 && r.ADDL != 0 {
				return bad("ADDL must be 0 for a steady-state infusion (SS=%d, RATE %g)", r.SS, r.RATE)
			}
		}
		if r.EVID == EVIDObs && r.CMT == 0 && (spec.ObsCmt < 1 || spec.ObsCmt > spec.NumCmt) {
			return bad("CMT is 0 and the model has no default observation compartment")
		}
		if spec.Covariates != nil {
			for name := range r.Covariates {
				if !slices.Contains(spec.Covariates, name) {
					return bad("unknown covariate %q (the model knows %v)", name, spec.Covariates)
				}
			}
		}
		for name, v := range r.Covariates {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return bad("covariate %s is not finite", name)
			}
		}
	}
	return nil
}

// Subjects splits records into runs of equal ID, in file order, returning
// the index ranges [start, end) of each subject.
func Subjects(recs []Record) [][2]int {
	var out [][2]int
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].ID == recs[i].ID {
			j++
		}
		out = append(out, [2]int{i, j})
		i = j
	}
	return out
}

// Dosing holds the per-compartment dose parameters of an individual, keyed
// by the 1-based compartment number (NONMEM's Fn, ALAGn, Rn and Dn). A
// compartment missing from a map takes the default; the zero value is
// valid.
type Dosing struct {
	// F is the bioavailable fraction of a dose (default 1). It scales AMT;
	// an infusion with RATE > 0 keeps its rate and lasts F·AMT/RATE h.
	F map[int]float64
	// Lag is the absorption lag time ALAG in h (default 0): a dose recorded
	// at TIME enters at TIME + Lag.
	Lag map[int]float64
	// Rate is the modelled infusion rate in mg/h of doses with RATE = −1.
	Rate map[int]float64
	// Duration is the modelled infusion duration in h of doses with
	// RATE = −2.
	Duration map[int]float64
}

func (d *Dosing) f(cmt int) float64 {
	if v, ok := d.F[cmt]; ok {
		return v
	}
	return 1
}

// Carry selects how covariate values apply between records.
type Carry int

const (
	// NOCB (next observation carried backward) is NONMEM PREDPP's rule: the
	// advance from the previous event to an event record uses the covariates
	// of that record, and the advance to an implied event (an additional or
	// lagged dose, an infusion end) uses those of the next record.
	NOCB Carry = iota
	// LOCF (last observation carried forward) uses the covariates of the
	// last record processed before the advance, as mrgsolve does by default.
	LOCF
)

// EventKind says what an Event does.
type EventKind uint8

// Kinds of events.
const (
	Observe       EventKind = iota // an observation record (EVID 0) or a requested output time
	Bolus                          // Amount mg into Cmt
	InfusionStart                  // Rate mg/h into Cmt from Time on
	InfusionEnd                    // Rate mg/h into Cmt stops
	Reset                          // every amount to zero; infusions and pending implied doses cancelled
	SteadyState                    // the steady state of the dose pattern set (SS=1, after a Reset) or added (SS=2)
	Other                          // EVID 2: nothing happens to the state
)

var kindNames = [...]string{"observe", "bolus", "infusion start", "infusion end", "reset", "steady state", "other"}

func (k EventKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one step of an expanded schedule.
type Event struct {
	Time   float64 // h
	Kind   EventKind
	Cmt    int     // 1-based compartment
	Amount float64 // mg, bioavailable amount (Bolus; InfusionStart: the infusion's total)
	Rate   float64 // mg/h (InfusionStart, InfusionEnd, SteadyState of an infusion)
	// Duration is the infusion's duration in h (InfusionStart, SteadyState).
	Duration float64
	// II, Lag and SS describe a SteadyState event: the dose interval in h,
	// the lag time of the dose in h, and SS (1 or 2).
	II, Lag float64
	SS      int
	// Record is the index of the record that caused the event.
	Record int
	// Cov is the index of the record whose covariates apply to the advance
	// that ends at this event (see Carry).
	Cov int
	// Implied is true for events that are not records: additional doses,
	// lagged doses, infusion ends, and the infusions still running at a
	// steady-state record.
	Implied bool
	// epoch counts the resets before the causing record; an implied event
	// of an earlier epoch is cancelled by the reset.
	epoch int
	seq   int // tie-break: position in processing order at equal Time
	out   int // output slot of an Observe event
}

// Schedule is the ordered event list of one subject.
//
// Ordering: events are sorted by time; at equal times, requested output
// times come first (they are left limits: the state before anything at that
// time), then records in file order (so an observation listed before a dose
// at the same TIME is a pre-dose trough, and one listed after it sees the
// dose), then implied events in the order they were generated. An
// additional dose never interrupts, and is never interrupted by, other
// records: ADDL=4 with II=12 at TIME 0 gives doses at 0, 12, 24, 36 and 48
// whatever lies between (NONMEM Users Guide VI, §V.K).
//
// Resets (EVID 3 and 4, SS=1) set every amount to zero, stop the infusions
// in progress and cancel the implied doses of earlier records not yet given.
type Schedule struct {
	Events []Event
	// Records are the subject's records the schedule was built from.
	Records []Record
	// Obs lists the indices into Records of the observation records
	// (EVID 0), in file order.
	Obs []int
	// NumCmt is the number of compartments of the model.
	NumCmt int
	// Initial, if not nil, holds the amounts in mg of every compartment at
	// the start of the simulation (the earliest of the first event and the
	// first output time); nil means an empty system. With it a simulation
	// continues from a snapshot (Profile amounts) of an earlier one; an
	// infusion running at the snapshot is entered as a new record with its
	// remaining amount. Resets still empty every compartment.
	Initial []float64
}

// ScheduleOptions tunes NewSchedule; the zero value is NONMEM's behaviour.
type ScheduleOptions struct {
	Carry Carry // covariate carry rule; the zero value is NOCB
}

// NewSchedule validates the records of one subject against spec and expands
// them, with the dose parameters d, into an ordered schedule: additional
// doses (ADDL), bioavailability F and lag time ALAG applied per
// compartment, infusion ends as events, modelled rates and durations
// resolved, resets and steady-state records marked. Requested output times
// are added later by the simulators.
func NewSchedule(recs []Record, spec Spec, d Dosing, opt ScheduleOptions) (*Schedule, error) {
	if err := Validate(recs, spec); err != nil {
		return nil, err
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].ID != recs[0].ID {
			return nil, fmt.Errorf("pkpd: %s: ID %d differs from the first record's ID %d; build one schedule per subject (see Subjects)", recWhere(recs, i), recs[i].ID, recs[0].ID)
		}
	}
	for cmt, f := range d.F {
		if !(f >= 0) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("pkpd: bioavailability F of CMT %d is %g, want a finite value >= 0", cmt, f)
		}
	}
	for cmt, l := range d.Lag {
		if !(l >= 0) || math.IsInf(l, 0) {
			return nil, fmt.Errorf("pkpd: lag time ALAG of CMT %d is %g, want a finite value >= 0", cmt, l)
		}
	}
	s := &Schedule{Records: recs, NumCmt: spec.NumCmt}
	epoch := 0
	seq := 0
	const recordClass, impliedClass = 1 << 40, 2 << 40
	add := func(e Event) { // an implied event
		e.Implied = true
		e.seq = impliedClass + seq
		seq++
		s.Events = append(s.Events, e)
	}
	for i := range recs {
		r := &recs[i]
		if r.EVID == EVIDReset || r.EVID == EVIDResetDose || r.SS == 1 {
			epoch++
		}
		base := Event{Time: r.Time, Record: i, epoch: epoch, seq: recordClass + i}
		switch r.EVID {
		case EVIDObs:
			e := base
			e.Kind = Observe
			e.Cmt = r.CMT
			if e.Cmt == 0 {
				e.Cmt = spec.ObsCmt
			}
			e.out = len(s.Obs)
			s.Obs = append(s.Obs, i)
			e.seq = recordClass + i
			s.Events = append(s.Events, e)
			continue
		case EVIDOther:
			e := base
			e.Kind = Other
			s.Events = append(s.Events, e)
			continue
		case EVIDReset:
			e := base
			e.Kind = Reset
			s.Events = append(s.Events, e)
			continue
		case EVIDResetDose:
			e := base
			e.Kind = Reset
			s.Events = append(s.Events, e)
		}
		// A dose record.
		cmt := r.CMT
		if cmt == 0 {
			cmt = spec.DoseCmt
		}
		f := d.f(cmt)
		lag := d.Lag[cmt]
		amt := f * r.AMT
		rate, dur := 0.0, 0.0
		switch {
		case r.RATE > 0:
			rate, dur = r.RATE, amt/r.RATE
		case r.RATE == RateModelled:
			v, ok := d.Rate[cmt]
			if !ok || !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("pkpd: %s: RATE=-1 needs a modelled rate > 0 for CMT %d (Dosing.Rate)", recWhere(recs, i), cmt)
			}
			rate, dur = v, amt/v
		case r.RATE == DurationModelled:
			v, ok := d.Duration[cmt]
			if !ok || !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("pkpd: %s: RATE=-2 needs a modelled duration > 0 for CMT %d (Dosing.Duration)", recWhere(recs, i), cmt)
			}
			rate, dur = amt/v, v
		}
		infusion := r.RATE != 0
		if r.SS != 0 {
			e := base
			e.Kind = SteadyState
			e.Cmt, e.Amount, e.Rate, e.Duration, e.II, e.Lag, e.SS = cmt, amt, rate, dur, r.II, lag, r.SS
			if r.AMT == 0 { // constant infusion at steady state
				e.Duration = math.Inf(1)
			}
			e.seq = recordClass + i
			s.Events = append(s.Events, e)
			if r.AMT == 0 {
				st := base
				st.Kind = InfusionStart
				st.Cmt, st.Rate, st.Duration = cmt, rate, math.Inf(1)
				st.Implied = true
				add(st)
				continue
			}
			// Earlier doses of the pattern, given at TIME−k·II, that arrive
			// after TIME because of the lag, and earlier infusions still
			// running at TIME; the rest is in the steady state itself.
			if (lag+dur)/r.II > maxADDL {
				return nil, fmt.Errorf("pkpd: %s: the lag time and infusion of an SS dose span more than %d dose intervals II", recWhere(recs, i), maxADDL)
			}
			for k := 1; ; k++ {
				start := r.Time + lag - float64(k)*r.II
				if start > r.Time {
					e := Event{Time: start, Cmt: cmt, Amount: amt, Record: i, epoch: epoch}
					if infusion {
						e.Kind, e.Rate, e.Duration = InfusionStart, rate, dur
						add(e)
						e.Time, e.Kind = start+dur, InfusionEnd
					} else {
						e.Kind = Bolus
					}
					add(e)
					continue
				}
				if !infusion || start+dur <= r.Time {
					break
				}
				st := Event{Time: r.Time, Kind: InfusionStart, Cmt: cmt, Rate: rate, Duration: start + dur - r.Time, Record: i, epoch: epoch}
				add(st)
				st.Time, st.Kind = start+dur, InfusionEnd
				add(st)
			}
		}
		n := r.ADDL
		for k := 0; k <= n; k++ {
			t := r.Time + float64(k)*r.II + lag
			e := Event{Time: t, Cmt: cmt, Amount: amt, Record: i, epoch: epoch, Implied: k > 0 || lag > 0}
			if infusion {
				e.Kind, e.Rate, e.Duration = InfusionStart, rate, dur
			} else {
				e.Kind = Bolus
			}
			if e.Implied {
				add(e)
			} else {
				e.seq = recordClass + i
				s.Events = append(s.Events, e)
			}
			if infusion && dur > 0 {
				en := Event{Time: t + dur, Kind: InfusionEnd, Cmt: cmt, Rate: rate, Record: i, epoch: epoch, Implied: true}
				add(en)
			}
		}
	}
	sort.SliceStable(s.Events, func(a, b int) bool {
		ea, eb := &s.Events[a], &s.Events[b]
		if ea.Time != eb.Time {
			return ea.Time < eb.Time
		}
		return ea.seq < eb.seq
	})
	s.assignCovariates(opt.Carry)
	return s, nil
}

// assignCovariates sets Event.Cov by the carry rule.
func (s *Schedule) assignCovariates(c Carry) {
	if len(s.Records) == 0 {
		return
	}
	// Records are processed in file order, so the record events appear
	// in the sorted list in increasing Record order.
	switch c {
	case LOCF:
		last := 0
		for i := range s.Events {
			e := &s.Events[i]
			e.Cov = last
			if !e.Implied && e.Record >= 0 {
				last = e.Record
			}
		}
	default: // NOCB
		next := len(s.Records) - 1
		for i := len(s.Events) - 1; i >= 0; i-- {
			e := &s.Events[i]
			if !e.Implied && e.Record >= 0 {
				next = e.Record
			}
			e.Cov = next
		}
	}
}

// Covariate returns the value of a covariate for the advance ending at
// event i of the schedule, by the schedule's carry rule, and whether the
// record it comes from carries it.
func (s *Schedule) Covariate(i int, name string) (float64, bool) {
	v, ok := s.Records[s.Events[i].Cov].Covariates[name]
	return v, ok
}
