package hospital

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/doppelhealth/doppel/des"
)

// Config is a hospital model and how to run it. Times are in hours.
type Config struct {
	// Horizon is the length of a run from the start state, h.
	Horizon float64
	// Warmup is the time at the start of a run excluded from statistics,
	// h (use it when starting empty; a start state from the census needs
	// none).
	Warmup float64
	// Replications is the number of independent runs, at least 2 (for
	// confidence intervals).
	Replications int
	// Seed determines every random number of every replication.
	Seed uint64
	// StartHourOfWeek is the calendar position of time 0, hours after
	// Monday 00:00 (0 <= x < 168); it aligns the arrival profiles,
	// discharge windows and elective days.
	StartHourOfWeek float64

	Arrivals Arrivals
	ED       ED
	Units    []Unit

	Electives       []Elective
	CapacityChanges []CapacityChange
	Surges          []Surge
}

// Arrivals is the ED arrival process: Poisson with rate
// RatePerHour × HourOfDay[hour] × DayOfWeek[day]. The multipliers are used
// as given (nil means all 1); for RatePerHour to stay the mean rate they
// should average 1.
type Arrivals struct {
	RatePerHour float64
	HourOfDay   []float64 // 24 multipliers, hour 0 = 00:00–01:00; nil: flat
	DayOfWeek   []float64 // 7 multipliers, Monday first; nil: flat
}

// ED is the emergency department.
type ED struct {
	Cubicles  int
	Treatment des.Dist // treatment time, h
}

// Unit is an inpatient unit (ward, ICU, ...).
type Unit struct {
	Name string
	Beds int
	LOS  des.Dist // length of stay, h
	// Route is the probability that an ED arrival is admitted here. The
	// routes of all units sum to at most 1; the rest go home.
	Route float64
	// Transfer, if set, moves a share of the unit's patients to another
	// unit at the end of their stay.
	Transfer *Transfer
	// DischargeFrom and DischargeTo, hours of the day, restrict discharges
	// (and transfers out) to [From, To); both 0 means any time.
	DischargeFrom, DischargeTo float64
}

// Transfer sends a patient leaving a unit to unit To (an index in
// Config.Units) with probability P; the stay there is drawn from that
// unit's LOS.
type Transfer struct {
	To int
	P  float64
}

// Elective is a stream of scheduled admissions straight to a unit.
type Elective struct {
	Unit     int     // index in Config.Units
	PerDay   int     // admissions on each listed day
	Hour     float64 // hour of the day they arrive (0 <= h < 24)
	Weekdays []int   // 0 = Monday ... 6 = Sunday; nil: every day
	// CancelIfFull cancels an admission when no bed is free on arrival
	// (otherwise it waits for a bed).
	CancelIfFull bool
}

// CapacityChange sets the capacity of the ED (Unit = -1) or of a unit
// from time At on.
type CapacityChange struct {
	Unit     int // index in Config.Units, or EDUnit
	At       float64
	Capacity int
}

// EDUnit names the ED in a CapacityChange.
const EDUnit = -1

// Surge is a burst of Patients extra ED arrivals spread uniformly over
// [At, At+Duration) (a mass-casualty incident), routed by Mix: Mix[u] is
// the probability of admission to unit u (nil: the units' Routes).
type Surge struct {
	At, Duration float64
	Patients     int
	Mix          []float64
}

// Limits on what a configuration may ask for; larger values are almost
// certainly mistakes.
const (
	MaxReplications = 100_000
	MaxCapacity     = 1_000_000
	MaxHorizon      = 100 * 365 * 24.0
)

// Validate reports the first problem with c, naming the field (in Go
// terms: Units[1].Route). Run calls it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("hospital: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !(c.Horizon > 0) || c.Horizon > MaxHorizon {
		bad("Horizon", "must be in (0, %g] h, got %v", MaxHorizon, c.Horizon)
	}
	if !(c.Warmup >= 0) || !(c.Warmup < c.Horizon) {
		bad("Warmup", "must be in [0, Horizon), got %v", c.Warmup)
	}
	if c.Replications < 2 || c.Replications > MaxReplications {
		bad("Replications", "must be in [2, %d] (two or more for confidence intervals), got %d", MaxReplications, c.Replications)
	}
	if !(c.StartHourOfWeek >= 0 && c.StartHourOfWeek < 168) {
		bad("StartHourOfWeek", "must be in [0, 168), got %v", c.StartHourOfWeek)
	}
	if !(c.Arrivals.RatePerHour >= 0) || !finite(c.Arrivals.RatePerHour) {
		bad("Arrivals.RatePerHour", "must be >= 0 and finite, got %v", c.Arrivals.RatePerHour)
	}
	checkProfile := func(field string, p []float64, n int) {
		if p == nil {
			return
		}
		if len(p) != n {
			bad(field, "must have %d values, got %d", n, len(p))
			return
		}
		for i, x := range p {
			if !(x >= 0) || !finite(x) {
				bad(fmt.Sprintf("%s[%d]", field, i), "must be >= 0 and finite, got %v", x)
			}
		}
	}
	checkProfile("Arrivals.HourOfDay", c.Arrivals.HourOfDay, 24)
	checkProfile("Arrivals.DayOfWeek", c.Arrivals.DayOfWeek, 7)
	if c.ED.Cubicles < 0 || c.ED.Cubicles > MaxCapacity {
		bad("ED.Cubicles", "must be in [0, %d], got %d", MaxCapacity, c.ED.Cubicles)
	}
	if c.ED.Treatment == nil {
		bad("ED.Treatment", "missing")
	}
	if len(c.Units) == 0 {
		bad("Units", "at least one unit is needed")
	}
	sum := 0.0
	names := map[string]bool{}
	for i, u := range c.Units {
		f := fmt.Sprintf("Units[%d]", i)
		if u.Name == "" || u.Name == "ed" || names[u.Name] {
			bad(f+".Name", "must be a unique name other than \"ed\", got %q", u.Name)
		}
		names[u.Name] = true
		if u.Beds < 0 || u.Beds > MaxCapacity {
			bad(f+".Beds", "must be in [0, %d], got %d", MaxCapacity, u.Beds)
		}
		if u.LOS == nil {
			bad(f+".LOS", "missing")
		}
		if !(u.Route >= 0 && u.Route <= 1) {
			bad(f+".Route", "must be a probability in [0, 1], got %v", u.Route)
		}
		sum += u.Route
		if t := u.Transfer; t != nil {
			if t.To < 0 || t.To >= len(c.Units) || t.To == i {
				bad(f+".Transfer.To", "must be the index of another unit, got %d", t.To)
			}
			if !(t.P >= 0 && t.P <= 1) {
				bad(f+".Transfer.P", "must be a probability in [0, 1], got %v", t.P)
			}
		}
		if !(u.DischargeFrom >= 0 && u.DischargeFrom < 24 && u.DischargeTo >= 0 && u.DischargeTo <= 24) ||
			(u.DischargeTo <= u.DischargeFrom && (u.DischargeFrom != 0 || u.DischargeTo != 0)) {
			bad(f+".DischargeFrom", "the discharge window must satisfy 0 <= from < to <= 24, got [%v, %v)", u.DischargeFrom, u.DischargeTo)
		}
	}
	if sum > 1+1e-9 {
		bad("Units.Route", "the routes sum to %v, more than 1", sum)
	}
	if transferCycle(c.Units) {
		bad("Units.Transfer", "transfers form a cycle")
	}
	for i, e := range c.Electives {
		f := fmt.Sprintf("Electives[%d]", i)
		if e.Unit < 0 || e.Unit >= len(c.Units) {
			bad(f+".Unit", "must be the index of a unit, got %d", e.Unit)
		}
		if e.PerDay < 0 || e.PerDay > MaxCapacity {
			bad(f+".PerDay", "must be in [0, %d], got %d", MaxCapacity, e.PerDay)
		}
		if !(e.Hour >= 0 && e.Hour < 24) {
			bad(f+".Hour", "must be in [0, 24), got %v", e.Hour)
		}
		for j, d := range e.Weekdays {
			if d < 0 || d > 6 {
				bad(fmt.Sprintf("%s.Weekdays[%d]", f, j), "must be 0 (Monday) to 6 (Sunday), got %d", d)
			}
		}
	}
	for i, cc := range c.CapacityChanges {
		f := fmt.Sprintf("CapacityChanges[%d]", i)
		if cc.Unit < EDUnit || cc.Unit >= len(c.Units) {
			bad(f+".Unit", "must be the index of a unit or EDUnit, got %d", cc.Unit)
		}
		if !(cc.At >= 0) || !finite(cc.At) {
			bad(f+".At", "must be >= 0, got %v", cc.At)
		}
		if cc.Capacity < 0 || cc.Capacity > MaxCapacity {
			bad(f+".Capacity", "must be in [0, %d], got %d", MaxCapacity, cc.Capacity)
		}
	}
	for i, s := range c.Surges {
		f := fmt.Sprintf("Surges[%d]", i)
		if !(s.At >= 0) || !finite(s.At) {
			bad(f+".At", "must be >= 0, got %v", s.At)
		}
		if !(s.Duration > 0) || !finite(s.Duration) {
			bad(f+".Duration", "must be > 0, got %v", s.Duration)
		}
		if s.Patients < 0 || s.Patients > MaxCapacity {
			bad(f+".Patients", "must be in [0, %d], got %d", MaxCapacity, s.Patients)
		}
		if s.Mix != nil {
			if len(s.Mix) != len(c.Units) {
				bad(f+".Mix", "must have one probability per unit (%d), got %d", len(c.Units), len(s.Mix))
			} else {
				t := 0.0
				for j, p := range s.Mix {
					if !(p >= 0 && p <= 1) {
						bad(fmt.Sprintf("%s.Mix[%d]", f, j), "must be a probability in [0, 1], got %v", p)
					}
					t += p
				}
				if t > 1+1e-9 {
					bad(f+".Mix", "the probabilities sum to %v, more than 1", t)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func transferCycle(units []Unit) bool {
	for i := range units {
		seen := map[int]bool{i: true}
		for j := i; units[j].Transfer != nil; {
			j = units[j].Transfer.To
			if j < 0 || j >= len(units) {
				break
			}
			if seen[j] {
				return true
			}
			seen[j] = true
		}
	}
	return false
}

// MeanArrivalRate is the long-run mean ED arrival rate per hour (without
// surges): the rate times the mean multipliers.
func (a Arrivals) MeanArrivalRate() float64 {
	mean := func(p []float64) float64 {
		if p == nil {
			return 1
		}
		s := 0.0
		for _, x := range p {
			s += x
		}
		return s / float64(len(p))
	}
	return a.RatePerHour * mean(a.HourOfDay) * mean(a.DayOfWeek)
}

// OfferedLoads returns the long-run offered load (mean busy places if
// capacity were unlimited, in Erlangs) of the ED (index 0, treatment only,
// without boarding) and each unit (index u+1): arrival rate × mean stay,
// with elective and transferred patients included. A load at or above
// capacity means the queue grows without bound.
func (c *Config) OfferedLoads() []float64 {
	lam := c.Arrivals.MeanArrivalRate()
	loads := make([]float64, len(c.Units)+1)
	if c.ED.Treatment != nil {
		loads[0] = lam * c.ED.Treatment.Mean()
	}
	base := make([]float64, len(c.Units)) // admissions per hour from outside
	for u, unit := range c.Units {
		base[u] = lam * unit.Route
	}
	for _, e := range c.Electives {
		days := 7.0
		if e.Weekdays != nil {
			days = float64(len(slices.Compact(slices.Sorted(slices.Values(e.Weekdays)))))
		}
		if e.Unit >= 0 && e.Unit < len(base) {
			base[e.Unit] += float64(e.PerDay) * days / 168
		}
	}
	// Transfers form no cycle (Validate), so len(Units) rounds of
	// in = base + transfers in reach the fixed point.
	in := slices.Clone(base)
	for range c.Units {
		next := slices.Clone(base)
		for u, unit := range c.Units {
			if t := unit.Transfer; t != nil && t.To >= 0 && t.To < len(in) {
				next[t.To] += in[u] * t.P
			}
		}
		in = next
	}
	for u, unit := range c.Units {
		if unit.LOS != nil {
			loads[u+1] = in[u] * unit.LOS.Mean()
		}
	}
	return loads
}
