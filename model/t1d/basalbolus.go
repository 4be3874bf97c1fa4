package t1d

import "fmt"

// BasalBolusOptions adjust the basal-bolus controller. The zero value gives
// simglucose's BBController.
type BasalBolusOptions struct {
	Target     float64 // correction target, mg/dL; 0 means 140
	CRScale    float64 // multiplies the patient's carbohydrate ratio CR; 0 means 1
	CFScale    float64 // multiplies the patient's correction factor CF; 0 means 1
	BasalScale float64 // multiplies the basal rate; 0 means 1
}

// DefaultTarget is the basal-bolus controller's correction target, mg/dL.
const DefaultTarget = 140.0

// correctionThreshold is the CGM reading above which the basal-bolus
// controller adds a correction bolus, mg/dL (fixed in simglucose, whatever
// the target).
const correctionThreshold = 150.0

// BasalBolus is simglucose's basal-bolus controller (BBController, MODEL.md
// §6): it delivers the patient's steady-state basal rate u2ss·BW/6000 U/min
// and, after a sample in which a meal was announced, a bolus of
// meal·SampleTime/CR U plus (CGM − target)/CF U when CGM > 150 mg/dL, spread
// over the next sample.
type BasalBolus struct {
	basal, cr, cf, target float64
}

// NewBasalBolus returns the basal-bolus controller for patient p.
func NewBasalBolus(p Params, opt BasalBolusOptions) (*BasalBolus, error) {
	def := func(v, d float64) float64 {
		if v == 0 {
			return d
		}
		return v
	}
	opt.Target = def(opt.Target, DefaultTarget)
	opt.CRScale = def(opt.CRScale, 1)
	opt.CFScale = def(opt.CFScale, 1)
	opt.BasalScale = def(opt.BasalScale, 1)
	for _, f := range []struct {
		name string
		v    float64
	}{{"Target", opt.Target}, {"CRScale", opt.CRScale}, {"CFScale", opt.CFScale}, {"BasalScale", opt.BasalScale}} {
		if !finite(f.v) || f.v < 0 {
			return nil, fmt.Errorf("t1d: basal-bolus option %s = %v, want a finite value > 0", f.name, f.v)
		}
	}
	c := &BasalBolus{basal: p.BasalRate(), cr: p.CR, cf: p.CF, target: opt.Target}
	if opt.BasalScale != 1 {
		c.basal *= opt.BasalScale
	}
	if opt.CRScale != 1 {
		c.cr *= opt.CRScale
	}
	if opt.CFScale != 1 {
		c.cf *= opt.CFScale
	}
	if !finite(c.cr) || c.cr <= 0 || !finite(c.cf) || c.cf <= 0 || !finite(c.basal) || c.basal < 0 {
		return nil, fmt.Errorf("t1d: basal-bolus for %q: CR = %v g/U, CF = %v mg/dL/U, basal = %v U/min, want CR, CF > 0", p.Name, c.cr, c.cf, c.basal)
	}
	return c, nil
}

// Act returns the basal rate and, if a meal was announced during the last
// sample, the bolus rate for the next sample.
func (c *BasalBolus) Act(obs Observation) Action {
	a := Action{Basal: c.basal}
	if obs.Meal > 0 {
		bolus := obs.Meal * obs.SampleTime / c.cr
		if obs.CGM > correctionThreshold {
			bolus += (obs.CGM - c.target) / c.cf
		}
		a.Bolus = bolus / obs.SampleTime
	}
	return a
}
