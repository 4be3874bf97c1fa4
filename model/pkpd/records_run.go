package pkpd

import (
	"fmt"
	"math"
)

// stepper advances the amounts of a model between events. Both the closed
// form (Linear) and the ODE path (ODEModel) implement it, so that one event
// loop gives both the same NONMEM semantics.
type stepper interface {
	// step advances y from t0 to t1 >= t0 with the constant infusion rates
	// rate (mg/h per compartment), calling emit(k, y) with the state at each
	// out[k], all of which lie in (t0, t1] in increasing order.
	step(y []float64, t0, t1 float64, rate []float64, out []float64, emit func(k int, y []float64)) error
	// linear reports whether the model is linear in its amounts and inputs,
	// so that steady states have a closed form.
	linear() bool
}

// covStepper is a stepper whose parameters follow time-varying
// covariates: setCov is called before every advance with the index of the
// record whose covariates apply to it (Event.Cov).
type covStepper interface {
	setCov(s *Schedule, rec int) error
}

// Profile is the result of a simulation: the amounts in every compartment
// at the requested output times and at the observation records.
type Profile struct {
	// NumCmt is the number of compartments (the row length of Amounts).
	NumCmt int
	// Times are the requested output times, h.
	Times []float64
	// Amounts holds the amounts in mg at Times, row-major:
	// Amounts[i*NumCmt + cmt-1] is compartment cmt at Times[i]. A requested
	// time is a left limit: the state before any event at that time.
	Amounts []float64
	// Obs lists the indices of the schedule's observation records (EVID 0)
	// and ObsAmounts the state at each of them, row-major as Amounts, with
	// file-order semantics at ties.
	Obs        []int
	ObsAmounts []float64
}

// Amount returns the amount in mg of compartment cmt (1-based) at Times[i].
func (p *Profile) Amount(i, cmt int) float64 { return p.Amounts[i*p.NumCmt+cmt-1] }

// ObsAmount returns the amount in mg of compartment cmt at the i-th
// observation record.
func (p *Profile) ObsAmount(i, cmt int) float64 { return p.ObsAmounts[i*p.NumCmt+cmt-1] }

// checkTimes validates requested output times.
func checkTimes(times []float64) error {
	for i, t := range times {
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return fmt.Errorf("pkpd: output time %d is not finite", i)
		}
		if i > 0 && t < times[i-1] {
			return fmt.Errorf("pkpd: output times must be non-decreasing: times[%d] = %g < times[%d] = %g", i, t, i-1, times[i-1])
		}
	}
	return nil
}

// maxCmt bounds the compartments of the closed-form models (state arrays
// on the stack).
const maxCmt = 4

// runSchedule processes the schedule s on st, calling emit(k, y) for each requested
// time times[k] (k >= 0) and emit(−1−j, y) for the j-th observation record.
// y, rate and count are work slices of length n.
func runSchedule(st stepper, s *Schedule, times []float64, y, rate []float64, count []int, emit func(k int, y []float64)) error {
	n := len(y)
	clear(y)
	clear(rate)
	clear(count)
	if s.Initial != nil {
		if len(s.Initial) != n {
			return fmt.Errorf("pkpd: Schedule.Initial has %d amounts, the model %d compartments", len(s.Initial), n)
		}
		for i, a := range s.Initial {
			if math.IsNaN(a) || math.IsInf(a, 0) {
				return fmt.Errorf("pkpd: Schedule.Initial[%d] is not finite", i)
			}
		}
		copy(y, s.Initial)
	}
	if len(times) == 0 && len(s.Events) == 0 {
		return nil
	}
	var tcur float64
	switch {
	case len(times) == 0:
		tcur = s.Events[0].Time
	case len(s.Events) == 0:
		tcur = times[0]
	default:
		tcur = math.Min(times[0], s.Events[0].Time)
	}
	ti := 0
	for ti < len(times) && times[ti] <= tcur {
		emit(ti, y)
		ti++
	}
	var base int
	shifted := func(k int, y []float64) { emit(base+k, y) }
	cs, _ := st.(covStepper)
	advance := func(t float64, cov int) error {
		if cs != nil && len(s.Records) > 0 {
			if err := cs.setCov(s, cov); err != nil {
				return err
			}
		}
		j := ti
		for j < len(times) && times[j] <= t {
			j++
		}
		base = ti
		if t > tcur || j > ti {
			if err := st.step(y, tcur, t, rate, times[ti:j], shifted); err != nil {
				return err
			}
		}
		ti = j
		tcur = t
		return nil
	}
	// Nothing after the last output time or observation record matters.
	tEnd := math.Inf(-1)
	if len(times) > 0 {
		tEnd = times[len(times)-1]
	}
	for i := len(s.Events) - 1; i >= 0; i-- {
		if s.Events[i].Kind == Observe {
			tEnd = math.Max(tEnd, s.Events[i].Time)
			break
		}
	}
	epoch := 0
	var ss [maxCmt]float64
	var ssDyn []float64
	for i := range s.Events {
		e := &s.Events[i]
		if e.Time > tEnd {
			break
		}
		if e.Implied && e.epoch < epoch {
			continue // cancelled by a reset
		}
		if err := advance(e.Time, e.Cov); err != nil {
			return err
		}
		if !e.Implied {
			epoch = e.epoch
		}
		c := e.Cmt - 1
		switch e.Kind {
		case Observe:
			emit(-1-e.out, y)
		case Bolus:
			y[c] += e.Amount
		case InfusionStart:
			rate[c] += e.Rate
			count[c]++
		case InfusionEnd:
			count[c]--
			rate[c] -= e.Rate
			if count[c] <= 0 {
				count[c], rate[c] = 0, 0
			}
		case Reset:
			clear(y)
			clear(rate)
			clear(count)
		case SteadyState:
			buf := ss[:]
			if n > maxCmt {
				if ssDyn == nil {
					ssDyn = make([]float64, n)
				}
				buf = ssDyn
			}
			buf = buf[:n]
			if err := steadyState(st, e, buf); err != nil {
				return fmt.Errorf("pkpd: %s: %w", recWhere(s.Records, e.Record), err)
			}
			if e.SS == 1 {
				clear(rate)
				clear(count)
				copy(y, buf)
			} else {
				for k := range y {
					y[k] += buf[k]
				}
			}
		}
	}
	if ti < len(times) {
		// After the last event both rules use the last record.
		if err := advance(times[len(times)-1], len(s.Records)-1); err != nil {
			return err
		}
	}
	return nil
}

// simulateProfile runs a schedule on st and collects a Profile.
func simulateProfile(st stepper, s *Schedule, times []float64) (*Profile, error) {
	if err := checkTimes(times); err != nil {
		return nil, err
	}
	n := s.NumCmt
	p := &Profile{
		NumCmt:     n,
		Times:      append([]float64(nil), times...),
		Amounts:    make([]float64, len(times)*n),
		Obs:        s.Obs,
		ObsAmounts: make([]float64, len(s.Obs)*n),
	}
	emit := func(k int, y []float64) {
		if k >= 0 {
			copy(p.Amounts[k*n:(k+1)*n], y)
		} else {
			j := -1 - k
			copy(p.ObsAmounts[j*n:(j+1)*n], y)
		}
	}
	y := make([]float64, n)
	rate := make([]float64, n)
	count := make([]int, n)
	if err := runSchedule(st, s, times, y, rate, count, emit); err != nil {
		return nil, err
	}
	return p, nil
}
