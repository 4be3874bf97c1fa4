package pkpd

import (
	"fmt"
	"strings"
)

// linStepper is the closed-form stepper of a Linear model.
type linStepper struct {
	sys linSys
	// Time-varying parameters (SimulateVarying): pf maps covariates to
	// parameters; cur and curRec are those in use.
	pf     ParamsFunc
	m      Linear
	cur    Params
	curRec int
}

func (l *linStepper) setCov(s *Schedule, rec int) error {
	if l.pf == nil || rec == l.curRec {
		return nil
	}
	p, err := l.pf(s.Records[rec].Covariates)
	if err != nil {
		return fmt.Errorf("pkpd: %s: %w", recWhere(s.Records, rec), err)
	}
	if err := l.m.check(p); err != nil {
		return fmt.Errorf("pkpd: %s: %s", recWhere(s.Records, rec), strings.TrimPrefix(err.Error(), "pkpd: "))
	}
	l.curRec = rec
	if p != l.cur {
		l.cur = p
		l.sys.init(l.m, p)
	}
	return nil
}

// ParamsFunc returns an individual's parameters for the covariate values
// in effect (e.g. weight in kg, creatinine clearance in mL/min).
type ParamsFunc func(cov map[string]float64) (Params, error)

// SimulateVarying is Simulate with parameters that follow time-varying
// covariates: every advance between events uses pf of the covariates of
// the record that the schedule's carry rule assigns to it (NOCB: the record
// ending the advance, as NONMEM's PREDPP; LOCF: the last record before it).
// Amounts are the state, so a change of V1 changes the concentration but
// not the amount.
func (m Linear) SimulateVarying(pf ParamsFunc, s *Schedule, times []float64) (*Profile, error) {
	if pf == nil {
		return nil, fmt.Errorf("pkpd: SimulateVarying: nil ParamsFunc")
	}
	if err := m.checkShape(); err != nil {
		return nil, err
	}
	if s.NumCmt != m.NumCmt() {
		return nil, fmt.Errorf("pkpd: schedule has %d compartments, the model %d", s.NumCmt, m.NumCmt())
	}
	st := &linStepper{pf: pf, m: m, curRec: -1}
	if len(s.Records) == 0 {
		return nil, fmt.Errorf("pkpd: SimulateVarying: schedule without records")
	}
	if err := st.setCov(s, 0); err != nil {
		return nil, err
	}
	return simulateProfile(st, s, times)
}

func (l *linStepper) linear() bool { return true }

func (l *linStepper) step(y []float64, t0, t1 float64, rate []float64, out []float64, emit func(int, []float64)) error {
	t := t0
	for k, to := range out {
		l.sys.advance(y, to-t, rate)
		t = to
		emit(k, y)
	}
	l.sys.advance(y, t1-t, rate)
	return nil
}

// NewSchedule expands the records of one subject for this model: a
// shorthand for NewSchedule(recs, m.Spec(), d, opt).
func (m Linear) NewSchedule(recs []Record, d Dosing, opt ScheduleOptions) (*Schedule, error) {
	return NewSchedule(recs, m.Spec(), d, opt)
}

// Simulate runs the schedule s with parameters p in closed form and returns
// the amounts (mg) in every compartment at times (h, non-decreasing, left
// limits) and at the schedule's observation records.
func (m Linear) Simulate(p Params, s *Schedule, times []float64) (*Profile, error) {
	if err := m.check(p); err != nil {
		return nil, err
	}
	if s.NumCmt != m.NumCmt() {
		return nil, fmt.Errorf("pkpd: schedule has %d compartments, the model %d", s.NumCmt, m.NumCmt())
	}
	st := &linStepper{}
	st.sys.init(m, p)
	return simulateProfile(st, s, times)
}

// Predict returns the central concentrations in mg/L (central amount / V1)
// at times (h, non-decreasing; each a left limit, before any dose at that
// time) for the schedule s and parameters p, in closed form.
func (m Linear) Predict(p Params, s *Schedule, times []float64) ([]float64, error) {
	dst := make([]float64, len(times))
	if err := m.PredictInto(dst, p, s, times); err != nil {
		return nil, err
	}
	return dst, nil
}

// PredictInto is Predict writing into dst, which must have len(times)
// elements, for use in estimation loops: it allocates only a few small
// work buffers per call (more with steady-state records).
func (m Linear) PredictInto(dst []float64, p Params, s *Schedule, times []float64) error {
	if len(dst) != len(times) {
		return fmt.Errorf("pkpd: PredictInto: len(dst) = %d, len(times) = %d", len(dst), len(times))
	}
	if err := m.check(p); err != nil {
		return err
	}
	n := m.NumCmt()
	if s.NumCmt != n {
		return fmt.Errorf("pkpd: schedule has %d compartments, the model %d", s.NumCmt, n)
	}
	if err := checkTimes(times); err != nil {
		return err
	}
	var st linStepper
	st.sys.init(m, p)
	var y, rate [maxCmt]float64
	var count [maxCmt]int
	c := m.Central() - 1
	v := p.V1
	emit := func(k int, y []float64) {
		if k >= 0 {
			dst[k] = y[c] / v
		}
	}
	return runSchedule(&st, s, times, y[:n], rate[:n], count[:n], emit)
}

// PredictObs returns the central concentrations in mg/L at the schedule's
// observation records (EVID 0), in file order, in closed form, whatever
// their CMT (Simulate gives every compartment).
func (m Linear) PredictObs(p Params, s *Schedule) ([]float64, error) {
	prof, err := m.Simulate(p, s, nil)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(prof.Obs))
	for i := range out {
		out[i] = prof.ObsAmount(i, m.Central()) / p.V1
	}
	return out, nil
}
