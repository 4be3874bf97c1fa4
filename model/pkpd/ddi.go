package pkpd

import (
	"fmt"
	"math"
)

// Static drug–drug interaction (DDI) models: the AUC ratio of a victim
// (substrate) drug with and without a perpetrator, from the fraction of its
// clearance through the affected enzyme (fm) and the perpetrator's
// concentration relative to its inhibition/induction constants.
//
// Sources:
//   - Rowland M, Matin SB. Kinetics of drug-drug interactions. J Pharmacokinet
//     Biopharm 1973;1:553–567 (reversible inhibition, one pathway).
//   - Fahmi OA et al. Comparison of different algorithms for predicting
//     clinical drug-drug interactions, based on the use of CYP3A4 in vitro
//     data. Drug Metab Dispos 2009;37:1658–1666 (mechanistic static model).
//   - U.S. FDA. In Vitro Drug Interaction Studies — Cytochrome P450 Enzyme-
//     and Transporter-Mediated Drug Interactions. Guidance for Industry,
//     January 2020 (basic models R1, R1,gut, R2, R3 and the mechanistic
//     static model). The cut-offs below are as transcribed in
//     research/pkpd.md §7; confirm against the guidance text before
//     regulatory use.
//
// Concentration units are free but must agree within a call: inhibitor
// concentrations and Ki, KI, EC50 in the same unit (µM unbound is usual);
// kinact and kdeg in the same rate unit (1/h or 1/min).

// RelativeClearance returns the victim's clearance relative to its
// reference value when the fraction fm of reference clearance goes through a
// pathway whose activity is scaled by activity (dimensionless, ≥ 0):
//
//	CL/CL_ref = fm·activity + (1 − fm).
//
// The AUC ratio of a linear-PK drug is its reciprocal. With activity =
// 1/(1+[I]/Ki) this is reversible inhibition (ReversibleAUCR); with
// activity = AS/AS_ref it is the pharmacogenomic scaling of GeneClearance;
// the product of both models phenoconversion (drug–drug–gene interaction).
func RelativeClearance(fm, activity float64) (float64, error) {
	if err := ddiCheckFraction("fm", fm); err != nil {
		return 0, err
	}
	if !(activity >= 0) || math.IsInf(activity, 0) {
		return 0, fmt.Errorf("pkpd: activity = %v, want a finite value ≥ 0", activity)
	}
	return fm*activity + (1 - fm), nil
}

// ReversibleAUCR returns the AUC ratio for competitive (reversible)
// inhibition of one pathway (Rowland & Matin 1973):
//
//	AUCR = 1 / ( fm/(1 + [I]/Ki) + (1 − fm) ),
//
// fm in [0, 1], conc = [I] ≥ 0 and ki = Ki > 0 in the same concentration
// unit. As [I]/Ki → ∞, AUCR → 1/(1 − fm) (+Inf for fm = 1).
func ReversibleAUCR(fm, conc, ki float64) (float64, error) {
	if err := ddiCheckNonNeg("inhibitor concentration", conc); err != nil {
		return 0, err
	}
	if !(ki > 0) || math.IsInf(ki, 0) {
		return 0, fmt.Errorf("pkpd: Ki = %v, want a finite value > 0", ki)
	}
	cl, err := RelativeClearance(fm, 1/(1+conc/ki))
	if err != nil {
		return 0, err
	}
	return 1 / cl, nil
}

// StaticDDI holds the inputs of the mechanistic static model (Fahmi et al.
// 2009; FDA 2020): reversible inhibition (C), time-dependent inhibition (A)
// and induction (B) in the liver (h) and gut (g). A mechanism whose
// constants are left zero is absent.
type StaticDDI struct {
	Fm float64 // fraction of the victim's hepatic (systemic) clearance via the enzyme, [0, 1]
	// Fg is the victim's intestinal availability without interaction,
	// (0, 1]; 1 means no intestinal metabolism (e.g. IV victim).
	Fg float64

	IHepatic float64 // [I]h: inhibitor concentration at the liver enzyme (e.g. µM unbound), ≥ 0
	IGut     float64 // [I]g: inhibitor concentration in the enterocytes (same unit), ≥ 0

	Ki float64 // reversible inhibition constant (same unit); 0 or +Inf: no reversible inhibition

	Kinact      float64 // maximal inactivation rate constant (e.g. 1/h); 0: no time-dependent inhibition
	KI          float64 // inhibitor concentration at half Kinact (same unit as IHepatic); > 0 if Kinact > 0
	KdegHepatic float64 // hepatic enzyme degradation rate constant (unit of Kinact); > 0 if Kinact > 0
	KdegGut     float64 // intestinal enzyme degradation rate constant (unit of Kinact); > 0 if Kinact > 0

	Emax float64 // maximal induction (fold over baseline, minus 1); 0: no induction
	EC50 float64 // inducer concentration at half Emax (same unit as IHepatic); > 0 if Emax > 0
	// D is the induction calibration factor d; 0 means 1 (FDA default).
	D float64
}

// Commonly used CYP3A degradation rate constants (1/h) for StaticDDI
// (Fahmi et al. 2009; FDA 2020), as used in refs/pkpd g_ddi_msm_cases.csv.
const (
	CYP3AKdegHepatic = 0.019 // 1/h (half-life ≈ 36 h)
	CYP3AKdegGut     = 0.03  // 1/h (half-life ≈ 23 h)
)

// StaticDDIResult is the AUC ratio of the mechanistic static model and its
// factors (all dimensionless).
type StaticDDIResult struct {
	AUCR  float64 // Gut · Liver
	Gut   float64 // 1 / (Ag·Bg·Cg·(1 − Fg) + Fg)
	Liver float64 // 1 / (Ah·Bh·Ch·fm + (1 − fm))

	AHepatic, BHepatic, CHepatic float64 // TDI, induction and reversible terms in the liver
	AGut, BGut, CGut             float64 // same terms in the gut
}

// Evaluate computes the mechanistic static model
//
//	AUCR = 1/[Ag·Bg·Cg·(1 − Fg) + Fg] · 1/[Ah·Bh·Ch·fm + (1 − fm)]
//	A = kdeg / (kdeg + kinact·[I]/([I] + KI))     time-dependent inhibition
//	B = 1 + d·Emax·[I]/([I] + EC50)               induction
//	C = 1 / (1 + [I]/Ki)                          reversible inhibition
//
// with [I] = IHepatic, kdeg = KdegHepatic for the liver and IGut, KdegGut for
// the gut.
func (m StaticDDI) Evaluate() (StaticDDIResult, error) {
	if err := m.validate(); err != nil {
		return StaticDDIResult{}, err
	}
	d := m.D
	if d == 0 {
		d = 1
	}
	a := func(i, kdeg float64) float64 {
		if m.Kinact == 0 {
			return 1
		}
		return kdeg / (kdeg + m.Kinact*i/(i+m.KI))
	}
	b := func(i float64) float64 {
		if m.Emax == 0 {
			return 1
		}
		return 1 + d*m.Emax*i/(i+m.EC50)
	}
	c := func(i float64) float64 {
		if m.Ki == 0 || math.IsInf(m.Ki, 1) {
			return 1
		}
		return 1 / (1 + i/m.Ki)
	}
	r := StaticDDIResult{
		AHepatic: a(m.IHepatic, m.KdegHepatic), BHepatic: b(m.IHepatic), CHepatic: c(m.IHepatic),
		AGut: a(m.IGut, m.KdegGut), BGut: b(m.IGut), CGut: c(m.IGut),
	}
	r.Gut = 1 / (r.AGut*r.BGut*r.CGut*(1-m.Fg) + m.Fg)
	r.Liver = 1 / (r.AHepatic*r.BHepatic*r.CHepatic*m.Fm + (1 - m.Fm))
	r.AUCR = r.Gut * r.Liver
	return r, nil
}

func (m StaticDDI) validate() error {
	if err := ddiCheckFraction("static DDI Fm", m.Fm); err != nil {
		return err
	}
	if !(m.Fg > 0 && m.Fg <= 1) {
		return fmt.Errorf("pkpd: static DDI Fg = %v, want (0, 1] (1 = no intestinal metabolism)", m.Fg)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"IHepatic", m.IHepatic}, {"IGut", m.IGut}, {"Kinact", m.Kinact}, {"Emax", m.Emax}, {"D", m.D}} {
		if err := ddiCheckNonNeg("static DDI "+f.name, f.v); err != nil {
			return err
		}
	}
	if !(m.Ki >= 0) {
		return fmt.Errorf("pkpd: static DDI Ki = %v, want > 0 (or 0/+Inf for none)", m.Ki)
	}
	if m.Kinact > 0 {
		for _, f := range []struct {
			name string
			v    float64
		}{{"KI", m.KI}, {"KdegHepatic", m.KdegHepatic}, {"KdegGut", m.KdegGut}} {
			if !(f.v > 0) || math.IsInf(f.v, 0) {
				return fmt.Errorf("pkpd: static DDI %s = %v, want a finite value > 0 when Kinact > 0", f.name, f.v)
			}
		}
	}
	if m.Emax > 0 && (!(m.EC50 > 0) || math.IsInf(m.EC50, 0)) {
		return fmt.Errorf("pkpd: static DDI EC50 = %v, want a finite value > 0 when Emax > 0", m.EC50)
	}
	return nil
}

// FDA 2020 basic-model cut-offs: a clinical DDI study (or a mechanistic
// model) is indicated when R1 ≥ BasicR1Cutoff, R1,gut ≥ BasicR1GutCutoff
// (CYP3A), R2 ≥ BasicR2Cutoff, or R3 ≤ BasicR3Cutoff.
const (
	BasicR1Cutoff    = 1.02
	BasicR1GutCutoff = 11
	BasicR2Cutoff    = 1.25
	BasicR3Cutoff    = 0.8
)

// BasicR1 returns the basic-model ratio for reversible inhibition,
// R1 = 1 + Imax,u/Ki,u, with imaxu the unbound maximal systemic inhibitor
// concentration and kiu the unbound Ki in the same unit.
func BasicR1(imaxu, kiu float64) (float64, error) {
	if err := ddiCheckNonNeg("Imax,u", imaxu); err != nil {
		return 0, err
	}
	if !(kiu > 0) || math.IsInf(kiu, 0) {
		return 0, fmt.Errorf("pkpd: Ki,u = %v, want a finite value > 0", kiu)
	}
	return 1 + imaxu/kiu, nil
}

// GutConc returns the FDA intestinal inhibitor concentration Igut = dose /
// 250 mL in µM, for dose in mg and mw the molecular weight in g/mol.
func GutConc(doseMg, mw float64) (float64, error) {
	if err := ddiCheckNonNeg("dose", doseMg); err != nil {
		return 0, err
	}
	if !(mw > 0) || math.IsInf(mw, 0) {
		return 0, fmt.Errorf("pkpd: molecular weight = %v g/mol, want a finite value > 0", mw)
	}
	// mg / (g/mol) = mmol; / 0.250 L = mmol/L = mM; × 1000 = µM.
	return doseMg / mw / 0.250 * 1000, nil
}

// BasicR1Gut returns R1,gut = 1 + Igut/Ki,u with Igut = dose/250 mL (µM,
// see GutConc), dose in mg, mw in g/mol and kiu in µM.
func BasicR1Gut(doseMg, mw, kiu float64) (float64, error) {
	igut, err := GutConc(doseMg, mw)
	if err != nil {
		return 0, err
	}
	return BasicR1(igut, kiu)
}

// BasicR2 returns the basic-model ratio for time-dependent inhibition,
//
//	R2 = (kobs + kdeg)/kdeg,  kobs = kinact·50·Imax,u / (KI,u + 50·Imax,u),
//
// with kinact and kdeg in the same rate unit and imaxu, kiu (KI,u) in the
// same concentration unit.
func BasicR2(kinact, kiu, kdeg, imaxu float64) (float64, error) {
	if err := ddiCheckNonNeg("Imax,u", imaxu); err != nil {
		return 0, err
	}
	if err := ddiCheckNonNeg("kinact", kinact); err != nil {
		return 0, err
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"KI,u", kiu}, {"kdeg", kdeg}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return 0, fmt.Errorf("pkpd: %s = %v, want a finite value > 0", f.name, f.v)
		}
	}
	kobs := kinact * 50 * imaxu / (kiu + 50*imaxu)
	return (kobs + kdeg) / kdeg, nil
}

// BasicR3 returns the basic-model ratio for induction,
//
//	R3 = 1 / (1 + d·Emax·10·Imax,u / (EC50,u + 10·Imax,u)),
//
// with d the calibration factor (usually 1), emax the maximal fold induction
// minus 1 and ec50u, imaxu in the same concentration unit.
func BasicR3(d, emax, ec50u, imaxu float64) (float64, error) {
	if err := ddiCheckNonNeg("Imax,u", imaxu); err != nil {
		return 0, err
	}
	if err := ddiCheckNonNeg("d", d); err != nil {
		return 0, err
	}
	if err := ddiCheckNonNeg("Emax", emax); err != nil {
		return 0, err
	}
	if !(ec50u > 0) || math.IsInf(ec50u, 0) {
		return 0, fmt.Errorf("pkpd: EC50,u = %v, want a finite value > 0", ec50u)
	}
	return 1 / (1 + d*emax*10*imaxu/(ec50u+10*imaxu)), nil
}

func ddiCheckFraction(name string, v float64) error {
	if !(v >= 0 && v <= 1) {
		return fmt.Errorf("pkpd: %s = %v, want a fraction in [0, 1]", name, v)
	}
	return nil
}

func ddiCheckNonNeg(name string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 0) {
		return fmt.Errorf("pkpd: %s = %v, want a finite value ≥ 0", name, v)
	}
	return nil
}
