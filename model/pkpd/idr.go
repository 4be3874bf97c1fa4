package pkpd

// Indirect response models.
//
// Sources:
//   - Dayneka NL, Garg V, Jusko WJ. Comparison of four basic models of
//     indirect pharmacodynamic responses. J Pharmacokinet Biopharm
//     1993;21:457-478 (models I-IV).
//   - Sharma A, Jusko WJ. Characteristics of indirect pharmacodynamic
//     models and applications to clinical drug responses. Br J Clin
//     Pharmacol 1998;45:229-239 (the Hill exponent in the drug function).

import (
	"fmt"
	"math"

	"github.com/doppelhealth/doppel/ode"
)

// IDRType selects one of the four basic indirect response models of Dayneka,
// Garg & Jusko 1993. The zero value is not a model.
type IDRType int

// The four indirect response models: the drug inhibits or stimulates the
// production (kin) or the loss (kout) of the response.
const (
	InhibitKin    IDRType = 1 // type I:   dR/dt = kin·(1 − I(C)) − kout·R
	InhibitKout   IDRType = 2 // type II:  dR/dt = kin − kout·(1 − I(C))·R
	StimulateKin  IDRType = 3 // type III: dR/dt = kin·(1 + S(C)) − kout·R
	StimulateKout IDRType = 4 // type IV:  dR/dt = kin − kout·(1 + S(C))·R
)

// String returns the model's Roman numeral, "I" to "IV", or "IDRType(n)".
func (t IDRType) String() string {
	switch t {
	case InhibitKin:
		return "I"
	case InhibitKout:
		return "II"
	case StimulateKin:
		return "III"
	case StimulateKout:
		return "IV"
	}
	return fmt.Sprintf("IDRType(%d)", int(t))
}

// inhibitory reports whether t is type I or II.
func (t IDRType) inhibitory() bool { return t == InhibitKin || t == InhibitKout }

// IndirectResponse is an indirect response model (Dayneka, Garg & Jusko
// 1993): the drug acts on the zero-order production rate kin or on the
// first-order loss rate constant kout of a response R, through
//
//	I(C) = Imax·C^γ / (IC50^γ + C^γ)   (types I and II),
//	S(C) = Smax·C^γ / (SC50^γ + C^γ)   (types III and IV),
//
// with γ = Hill (Sharma & Jusko 1998; γ = 1 in Dayneka et al.). Type
// gives the equation (see IDRType). Without drug R stays at its baseline
// R0 = kin/kout (Baseline). Responses are in the caller's unit (R-units),
// times in h, concentrations in mg/L.
//
// Types I and II use Imax and IC50 and types III and IV use Smax and SC50;
// the other pair must be zero, so that a mistyped model is an error rather
// than silently ignored parameters.
type IndirectResponse struct {
	Type IDRType // which of the four models
	Kin  float64 // zero-order production rate, R-units/h; > 0
	Kout float64 // first-order loss rate constant, 1/h; > 0
	Imax float64 // maximal fractional inhibition (types I, II), dimensionless; 0 < Imax <= 1
	IC50 float64 // concentration giving half of Imax (types I, II), mg/L; > 0
	Smax float64 // maximal fractional stimulation (types III, IV), dimensionless; > 0
	SC50 float64 // concentration giving half of Smax (types III, IV), mg/L; > 0
	Hill float64 // Hill exponent γ of I(C) or S(C), dimensionless; > 0, and 0 means 1
}

// Validate reports the first invalid field of m, named, or nil.
func (m IndirectResponse) Validate() error {
	if m.Type < InhibitKin || m.Type > StimulateKout {
		return fmt.Errorf("pkpd: IndirectResponse.Type = %d; must be 1 (InhibitKin, I) to 4 (StimulateKout, IV)", int(m.Type))
	}
	if err := pdPositive("IndirectResponse.Kin", m.Kin, "R-units/h"); err != nil {
		return err
	}
	if err := pdPositive("IndirectResponse.Kout", m.Kout, "1/h"); err != nil {
		return err
	}
	if m.Type.inhibitory() {
		if !(m.Imax > 0 && m.Imax <= 1) {
			return fmt.Errorf("pkpd: IndirectResponse.Imax = %g; must be in (0, 1] for type %v", m.Imax, m.Type)
		}
		if err := pdPositive("IndirectResponse.IC50", m.IC50, "mg/L"); err != nil {
			return err
		}
		if m.Smax != 0 || m.SC50 != 0 {
			return fmt.Errorf("pkpd: IndirectResponse.Smax = %g, SC50 = %g set for inhibitory type %v; use Imax and IC50", m.Smax, m.SC50, m.Type)
		}
	} else {
		if err := pdPositive("IndirectResponse.Smax", m.Smax, "(dimensionless)"); err != nil {
			return err
		}
		if err := pdPositive("IndirectResponse.SC50", m.SC50, "mg/L"); err != nil {
			return err
		}
		if m.Imax != 0 || m.IC50 != 0 {
			return fmt.Errorf("pkpd: IndirectResponse.Imax = %g, IC50 = %g set for stimulatory type %v; use Smax and SC50", m.Imax, m.IC50, m.Type)
		}
	}
	return pdHillExponent("IndirectResponse.Hill", m.Hill)
}

// Baseline returns the response without drug, R0 = kin/kout, in R-units.
func (m IndirectResponse) Baseline() float64 { return m.Kin / m.Kout }

// Rate returns dR/dt in R-units/h for concentration c in mg/L and response r
// in R-units, so that the model can be integrated jointly with a PK system.
// A concentration c <= 0 has no drug effect. It does not validate m; an
// invalid Type gives NaN.
func (m IndirectResponse) Rate(c, r float64) float64 {
	switch m.Type {
	case InhibitKin:
		return m.Kin*(1-m.Imax*pdHill(c, m.IC50, m.Hill)) - m.Kout*r
	case InhibitKout:
		return m.Kin - m.Kout*(1-m.Imax*pdHill(c, m.IC50, m.Hill))*r
	case StimulateKin:
		return m.Kin*(1+m.Smax*pdHill(c, m.SC50, m.Hill)) - m.Kout*r
	case StimulateKout:
		return m.Kin - m.Kout*(1+m.Smax*pdHill(c, m.SC50, m.Hill))*r
	}
	return math.NaN()
}

// Simulate integrates dR/dt = Rate(cp(t), R) with the Dormand-Prince 5(4)
// method of package ode (settings s; the zero value means ode's defaults,
// RelTol 1e-6) from times[0], where R = r0 (R-units; Baseline for a subject
// at rest), and returns R in R-units at every time (h, strictly increasing;
// the first result is r0).
//
// cp is the plasma concentration in mg/L at time t in h. It must be defined
// on [times[0], times[len-1]]; the step-size control assumes it is smooth
// there. Where cp jumps (an IV bolus) or has a kink (start or end of an
// infusion, an oral dose), integrate piecewise between those times, passing
// the last R of one piece as r0 of the next, or bound s.MaxStep.
func (m IndirectResponse) Simulate(cp func(t float64) float64, r0 float64, times []float64, s ode.Settings) ([]float64, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if cp == nil {
		return nil, fmt.Errorf("pkpd: IndirectResponse.Simulate: nil plasma concentration function cp")
	}
	if err := pdFinite("IndirectResponse.Simulate: r0", r0, "R-units"); err != nil {
		return nil, err
	}
	return pdSimulate("IndirectResponse.Simulate", func(t, r float64) float64 {
		return m.Rate(cp(t), r)
	}, r0, times, s)
}
