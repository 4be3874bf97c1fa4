package pkpd

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Time-varying covariates. A covariate that changes during a course (a
// creatinine clearance measured daily, a weight) changes the individual
// parameters from then on. The closed form cannot superpose doses across a
// change of parameters, so the simulation restarts the analytic solution at
// every event from the amounts reached (Linear.SimulateVarying): each
// advance between events uses the parameters of the covariates that the
// schedule's carry rule assigns to it, and the amounts carry over. The
// concentration at a time is the central amount over the V1 in effect
// there.
//
// Two ways to give the changes, with their rules:
//
//   - On the records (NONMEM data sets, ReadCSV): the covariates of each
//     record, with ScheduleOptions.Carry; NOCB, the zero value, is NONMEM
//     PREDPP's rule (the record's values apply to the advance that ends at
//     it).
//   - As a timeline (CovariateChange, dosing and scenario files): a value
//     given at time t holds from t on, until the next change of the same
//     covariate. ApplyCovariates writes it onto the records (and adds an
//     EVID 2 record at each change) so that LOCF reproduces exactly this
//     step function.

// CovariateChange sets covariates from Time on (h): Values holds the new
// value of each covariate named (model units); the others keep theirs.
type CovariateChange struct {
	Time   float64
	Values map[string]float64
}

// ApplyCovariates returns recs (one subject, non-decreasing times) with the
// covariate timeline changes written on them, for ScheduleOptions{Carry:
// LOCF}: each record carries the values in effect at its time (base, then
// the changes at or before it), and an EVID 2 record is added at each
// change time, after the records at that time. recs is not modified.
func ApplyCovariates(recs []Record, base map[string]float64, changes []CovariateChange) ([]Record, error) {
	ch := slices.Clone(changes)
	for i, c := range ch {
		if !(c.Time >= 0) || math.IsInf(c.Time, 0) {
			return nil, fmt.Errorf("pkpd: covariates[%d].time = %v h, want a finite time ≥ 0", i, c.Time)
		}
		for k, v := range c.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("pkpd: covariates[%d].%s = %v, want a finite value", i, k, v)
			}
		}
	}
	slices.SortStableFunc(ch, func(a, b CovariateChange) int { return cmp.Compare(a.Time, b.Time) })
	id := 1
	if len(recs) > 0 {
		id = recs[0].ID
	}
	out := make([]Record, 0, len(recs)+len(ch))
	cur := maps.Clone(base)
	if cur == nil {
		cur = map[string]float64{}
	}
	j := 0
	// upTo applies the changes at times ≤ t (or < t when strict).
	upTo := func(t float64, strict bool) {
		for ; j < len(ch) && (ch[j].Time < t || (!strict && ch[j].Time == t)); j++ {
			maps.Copy(cur, ch[j].Values)
			out = append(out, Record{ID: id, Time: ch[j].Time, EVID: EVIDOther, MDV: 1, Covariates: maps.Clone(cur)})
		}
	}
	for _, r := range recs {
		upTo(r.Time, true)
		r.Covariates = maps.Clone(cur)
		// A change at the record's own time applies to it too.
		for k := j; k < len(ch) && ch[k].Time == r.Time; k++ {
			maps.Copy(r.Covariates, ch[k].Values)
		}
		out = append(out, r)
	}
	upTo(math.Inf(1), false)
	return out, nil
}

// varying reports whether any record carries covariates.
func varying(recs []Record) bool {
	return slices.ContainsFunc(recs, func(r Record) bool { return len(r.Covariates) > 0 })
}

// PredictVarying returns the central concentrations in mg/L at times (h,
// non-decreasing, left limits) and at the schedule's observation records
// (file order) with parameters that follow time-varying covariates, as
// SimulateVarying; each concentration is the central amount over the V1
// in effect at that time.
func (m Linear) PredictVarying(pf ParamsFunc, s *Schedule, times []float64) (conc, obs []float64, err error) {
	if pf == nil {
		return nil, nil, fmt.Errorf("pkpd: PredictVarying: nil ParamsFunc")
	}
	if err := m.checkShape(); err != nil {
		return nil, nil, err
	}
	n := m.NumCmt()
	if s.NumCmt != n {
		return nil, nil, fmt.Errorf("pkpd: schedule has %d compartments, the model %d", s.NumCmt, n)
	}
	if len(s.Records) == 0 {
		return nil, nil, fmt.Errorf("pkpd: PredictVarying: schedule without records")
	}
	if err := checkTimes(times); err != nil {
		return nil, nil, err
	}
	st := &linStepper{pf: pf, m: m, curRec: -1}
	if err := st.setCov(s, 0); err != nil {
		return nil, nil, err
	}
	conc = make([]float64, len(times))
	obs = make([]float64, len(s.Obs))
	c := m.Central() - 1
	emit := func(k int, y []float64) {
		v := y[c] / st.cur.V1
		if k >= 0 {
			conc[k] = v
		} else {
			obs[-1-k] = v
		}
	}
	y := make([]float64, n)
	rate := make([]float64, n)
	count := make([]int, n)
	if err := runSchedule(st, s, times, y, rate, count, emit); err != nil {
		return nil, nil, err
	}
	return conc, obs, nil
}

// ParamsFunc returns the individual parameters TV(cov)·exp(eta) as a
// function of the covariates in effect, for SimulateVarying and
// PredictVarying: the values given there override base (so records need
// carry only the covariates that change).
func (m *DrugModel) ParamsFunc(base map[string]float64, eta []float64) (ParamsFunc, error) {
	c, err := m.compile()
	if err != nil {
		return nil, err
	}
	if err := c.checkEta(eta); err != nil {
		return nil, err
	}
	return c.paramsFunc(base, eta), nil
}

func (c *compiledModel) paramsFunc(base map[string]float64, eta []float64) ParamsFunc {
	return func(cov map[string]float64) (Params, error) {
		merged := maps.Clone(base)
		if merged == nil {
			merged = map[string]float64{}
		}
		maps.Copy(merged, cov)
		tv, err := c.typical(merged)
		if err != nil {
			return Params{}, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "pkpd: "))
		}
		return c.params(tv, eta), nil
	}
}

// PredictRecords returns the central concentrations in mg/L at times (h,
// any order, left limits) and at the observation records of recs (file
// order), for covariates base, random effects eta and the dose records
// recs of one subject, with the model's F and ALAG. Covariates on the
// records override base and apply by opt.Carry (see ApplyCovariates for a
// timeline).
func (m *DrugModel) PredictRecords(base map[string]float64, eta []float64, recs []Record, times []float64, opt ScheduleOptions) (conc, obs []float64, err error) {
	c, err := m.compile()
	if err != nil {
		return nil, nil, err
	}
	if err := c.checkEta(eta); err != nil {
		return nil, nil, err
	}
	s, err := c.linear.NewSchedule(recs, c.dose, opt)
	if err != nil {
		return nil, nil, err
	}
	idx, sorted := sortTimes(times)
	buf, obs, err := c.linear.PredictVarying(c.paramsFunc(base, eta), s, sorted)
	if err != nil {
		return nil, nil, err
	}
	conc = make([]float64, len(times))
	for k, i := range idx {
		conc[i] = buf[k]
	}
	return conc, obs, nil
}
