package glucose

import (
	"fmt"

	"github.com/doppelhealth/doppel/model/t1d"
)

// fields lists the model parameters of p that Population averages.
func fields(p *t1d.Params) []*float64 {
	return []*float64{&p.Vg, &p.Vi, &p.Kmax, &p.Kmin, &p.Kabs, &p.B, &p.D, &p.F, &p.Kp1, &p.Kp2, &p.Kp3,
		&p.Fsnc, &p.Ke1, &p.Ke2, &p.K1, &p.K2, &p.Vm0, &p.Vmx, &p.Km0, &p.M1, &p.M2, &p.M4, &p.M30,
		&p.Ka1, &p.Ka2, &p.Kd, &p.P2u, &p.Ki, &p.Ksc}
}

// steadyDays is how long Population runs the basal steady state, days per
// stage; the slowest mode (liver insulin, hepatic glucose) settles within
// hours.
const steadyDays = 2

// Population returns the parameters a twin starts from: the arithmetic mean
// of the model parameters of the named virtual patients (for an honest
// test, a group that leaves out the patient being tracked), personalised
// with what a clinic knows of the patient: body weight bw (kg) and basal
// insulin rate basal (U/min), which sets U2ss = basal·6000/bw (the
// simglucose cohort's basal rates are their steady-state rates). The
// initial state X0 is the steady state under that basal rate with no meals
// (found by simulating it), and Ib is set to its plasma insulin so that
// insulin action X is 0 at basal, as in every cohort patient. CR, CF, Age
// and TDI are averaged too but the model does not use them.
func Population(names []string, bw, basal float64) (t1d.Params, error) {
	if len(names) == 0 {
		return t1d.Params{}, fmt.Errorf("glucose: population of no patients")
	}
	if !(bw > 0) || !(basal > 0) || !finite(bw) || !finite(basal) {
		return t1d.Params{}, fmt.Errorf("glucose: body weight %v kg, basal %v U/min, want finite values > 0", bw, basal)
	}
	var avg t1d.Params
	af := fields(&avg)
	for _, name := range names {
		p, err := t1d.Patient(name)
		if err != nil {
			return t1d.Params{}, fmt.Errorf("glucose: %w", err)
		}
		for i, v := range fields(&p) {
			*af[i] += *v / float64(len(names))
		}
		for i := range avg.X0 {
			avg.X0[i] += p.X0[i] / float64(len(names))
		}
		avg.CR += p.CR / float64(len(names))
		avg.CF += p.CF / float64(len(names))
		avg.Age += p.Age / float64(len(names))
		avg.TDI += p.TDI / float64(len(names))
		avg.Ib += p.Ib / float64(len(names))
	}
	avg.Name = "population"
	avg.BW = bw
	avg.U2ss = basal * 6000 / bw
	// Two stages: settle the insulin subsystem, set Ib to its plasma
	// insulin, then settle glucose with insulin action at 0.
	for stage := range 2 {
		m, err := t1d.NewPatientModel(avg, t1d.Method{})
		if err != nil {
			return t1d.Params{}, fmt.Errorf("glucose: %w", err)
		}
		for range steadyDays * 1440 {
			if err := m.Step(0, basal); err != nil {
				return t1d.Params{}, fmt.Errorf("glucose: %w", err)
			}
		}
		avg.X0 = m.X()
		if stage == 0 {
			avg.Ib = avg.X0[5] / avg.Vi
		}
	}
	return avg, nil
}
