package pkpd

// Pharmacodynamic models: direct-effect Emax models and the effect
// compartment (link) model. Indirect response models are in idr.go.
//
// Sources:
//   - Holford NHG, Sheiner LB. Understanding the dose-effect relationship:
//     clinical application of pharmacokinetic-pharmacodynamic models. Clin
//     Pharmacokinet 1981;6:429-453 (Emax, sigmoid Emax, inhibitory models).
//   - Macheras P, Iliadis A. Modeling in Biopharmaceutics, Pharmacokinetics
//     and Pharmacodynamics. 2nd ed., Springer 2016, ch. 10 (the same models,
//     with the Hill exponent).
//   - Sheiner LB, Stanski DR, Vozeh S, Miller RD, Ham J. Simultaneous
//     modeling of pharmacokinetics and pharmacodynamics: application to
//     d-tubocurarine. Clin Pharmacol Ther 1979;25:358-371 (effect
//     compartment).

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"

	"github.com/doppelhealth/doppel/ode"
)

// pdHill returns the Hill fraction c^γ/(c50^γ + c^γ) in [0, 1] for a
// concentration c and potency c50 in the same unit and a Hill exponent γ > 0
// (γ = 0 means 1). A concentration c <= 0 gives 0: a tiny negative value, as
// round-off leaves in numerical solutions, has no effect instead of producing
// NaN for non-integer γ. c = +Inf gives 1; NaN gives NaN.
func pdHill(c, c50, gamma float64) float64 {
	if c <= 0 {
		return 0
	}
	if math.IsInf(c, 1) {
		return 1
	}
	x := c / c50
	if gamma != 0 && gamma != 1 {
		x = math.Pow(x, gamma)
	}
	if math.IsInf(x, 1) {
		return 1
	}
	return x / (1 + x)
}

// pdPositive reports an error naming field unless v is positive and finite.
func pdPositive(field string, v float64, unit string) error {
	if !(v > 0) || math.IsInf(v, 1) {
		return fmt.Errorf("pkpd: %s = %g %s; must be positive and finite", field, v, unit)
	}
	return nil
}

// pdFinite reports an error naming field unless v is finite.
func pdFinite(field string, v float64, unit string) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("pkpd: %s = %g %s; must be finite", field, v, unit)
	}
	return nil
}

// pdHillExponent reports an error unless γ is zero (meaning 1) or positive
// and finite.
func pdHillExponent(field string, v float64) error {
	if v == 0 {
		return nil
	}
	return pdPositive(field, v, "(dimensionless)")
}

// Emax is the sigmoid Emax (Hill) model of a direct drug effect,
//
//	E(C) = E0 + Emax·C^γ / (EC50^γ + C^γ),
//
// with γ = Hill. With Hill 1 (or 0) it is the hyperbolic Emax model (Holford &
// Sheiner 1981; Macheras & Iliadis 2016, §10.2). Effects are in the caller's
// effect unit (written "E-units" below), concentrations in mg/L.
//
// The zero value is not valid: EC50 must be set.
type Emax struct {
	E0   float64 // baseline effect at C = 0, E-units; any finite value
	Emax float64 // maximal change from E0 as C → ∞, E-units; negative for a decreasing effect
	EC50 float64 // concentration giving half the maximal change, mg/L; > 0
	Hill float64 // Hill exponent γ, dimensionless; > 0, and 0 means 1 (hyperbolic)
}

// Validate reports the first invalid field of m, named, or nil.
func (m Emax) Validate() error {
	if err := pdFinite("Emax.E0", m.E0, "E-units"); err != nil {
		return err
	}
	if err := pdFinite("Emax.Emax", m.Emax, "E-units"); err != nil {
		return err
	}
	if err := pdPositive("Emax.EC50", m.EC50, "mg/L"); err != nil {
		return err
	}
	return pdHillExponent("Emax.Hill", m.Hill)
}

// Effect returns E(c) in E-units for a concentration c in mg/L; c <= 0 gives
// E0. It does not validate m (call Validate once).
func (m Emax) Effect(c float64) float64 {
	return m.E0 + m.Emax*pdHill(c, m.EC50, m.Hill)
}

// Imax is the inhibitory sigmoid Emax model of a direct drug effect that
// lowers a baseline,
//
//	E(C) = E0 − Imax·C^γ / (IC50^γ + C^γ),
//
// with γ = Hill (Holford & Sheiner 1981, inhibitory effect model; Macheras &
// Iliadis 2016, §10.2). With Imax = E0 the drug can abolish the effect.
// Effects are in E-units, concentrations in mg/L.
//
// The zero value is not valid: IC50 must be set.
type Imax struct {
	E0   float64 // baseline effect at C = 0, E-units; any finite value
	Imax float64 // maximal inhibition as C → ∞, E-units; >= 0
	IC50 float64 // concentration giving half the maximal inhibition, mg/L; > 0
	Hill float64 // Hill exponent γ, dimensionless; > 0, and 0 means 1 (hyperbolic)
}

// Validate reports the first invalid field of m, named, or nil.
func (m Imax) Validate() error {
	if err := pdFinite("Imax.E0", m.E0, "E-units"); err != nil {
		return err
	}
	if err := pdFinite("Imax.Imax", m.Imax, "E-units"); err != nil {
		return err
	}
	if m.Imax < 0 {
		return fmt.Errorf("pkpd: Imax.Imax = %g E-units; must not be negative (use Emax for a stimulatory effect)", m.Imax)
	}
	if err := pdPositive("Imax.IC50", m.IC50, "mg/L"); err != nil {
		return err
	}
	return pdHillExponent("Imax.Hill", m.Hill)
}

// Effect returns E(c) in E-units for a concentration c in mg/L; c <= 0 gives
// E0. It does not validate m (call Validate once).
func (m Imax) Effect(c float64) float64 {
	return m.E0 - m.Imax*pdHill(c, m.IC50, m.Hill)
}

// EffectCompartment is the effect compartment (link) model of Sheiner et al.
// 1979: a hypothetical compartment of negligible volume whose concentration
// Ce follows the plasma concentration Cp with a first-order delay,
//
//	dCe/dt = ke0·(Cp(t) − Ce),
//
// so that Ce equals Cp at steady state and hysteresis between Cp and effect
// collapses when the effect is a function of Ce (for example Emax.Effect).
// Times are in h, concentrations in mg/L.
//
// The zero value is not valid: Ke0 must be set.
type EffectCompartment struct {
	Ke0 float64 // equilibration rate constant, 1/h; > 0 (t½,eq = ln 2/Ke0)
}

// Validate reports an invalid Ke0, named, or nil.
func (m EffectCompartment) Validate() error {
	return pdPositive("EffectCompartment.Ke0", m.Ke0, "1/h")
}

// Rate returns dCe/dt in mg/L/h for plasma concentration cp and effect-site
// concentration ce, both in mg/L, so that the link can be integrated jointly
// with a PK system. It does not validate m.
func (m EffectCompartment) Rate(cp, ce float64) float64 {
	return m.Ke0 * (cp - ce)
}

// Simulate integrates dCe/dt = ke0·(cp(t) − Ce) with the Dormand-Prince 5(4)
// method of package ode (settings s; the zero value means ode's defaults,
// RelTol 1e-6) from times[0], where Ce = ce0 (mg/L, usually 0 before the
// first dose), and returns Ce in mg/L at every time (h, strictly increasing;
// the first result is ce0).
//
// cp is the plasma concentration in mg/L at time t in h. It must be defined
// on [times[0], times[len-1]]; the step-size control assumes it is smooth
// there. Where cp jumps (an IV bolus) or has a kink (start or end of an
// infusion, an oral dose), integrate piecewise between those times, passing
// the last Ce of one piece as ce0 of the next, or bound s.MaxStep.
func (m EffectCompartment) Simulate(cp func(t float64) float64, ce0 float64, times []float64, s ode.Settings) ([]float64, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if cp == nil {
		return nil, fmt.Errorf("pkpd: EffectCompartment.Simulate: nil plasma concentration function cp")
	}
	if err := pdFinite("EffectCompartment.Simulate: ce0", ce0, "mg/L"); err != nil {
		return nil, err
	}
	ke0 := m.Ke0
	return pdSimulate("EffectCompartment.Simulate", func(t, ce float64) float64 {
		return ke0 * (cp(t) - ce)
	}, ce0, times, s)
}

// OneCompartmentBolus returns the effect-site concentration Ce in mg/L at time
// t in h after an IV bolus at t = 0 that gives the plasma profile
// Cp(t) = c0·exp(−ke·t), with c0 in mg/L and ke in 1/h, and Ce(0) = 0:
//
//	Ce(t) = c0·ke0·(exp(−ke·t) − exp(−ke0·t)) / (ke0 − ke),
//
// evaluated as a divided difference of exp(−k·t) so that ke = ke0 and nearby
// values (where the expression is 0/0) are accurate to rounding error. It is
// 0 for t <= 0. Add the contributions of several doses (superposition).
func (m EffectCompartment) OneCompartmentBolus(c0, ke, t float64) float64 {
	if t <= 0 {
		return 0
	}
	return -c0 * m.Ke0 * pdExpDiv1(ke, m.Ke0, t)
}

// OneCompartmentOral returns the effect-site concentration Ce in mg/L at time
// t in h after an oral dose at t = 0 into a one-compartment model with
// first-order absorption, whose plasma profile is the Bateman function
// Cp(t) = dose·ka/(V·(ka − ke))·(exp(−ke·t) − exp(−ka·t)), with Ce(0) = 0:
//
//	Ce(t) = dose·ka·ke0/V · Σ_k exp(−k·t) / Π_{j≠k} (j − k),  k, j ∈ {ka, ke, ke0},
//
// dose in mg (times the bioavailable fraction), ka and ke in 1/h, v in L.
// The sum is the second divided difference of exp(−k·t) over {ka, ke, ke0},
// evaluated so that equal or nearly equal rate constants (where the textbook
// expression is 0/0) are accurate to rounding error. It is 0 for t <= 0. Add
// the contributions of several doses (superposition).
func (m EffectCompartment) OneCompartmentOral(dose, ka, ke, v, t float64) float64 {
	if t <= 0 {
		return 0
	}
	return dose * ka * m.Ke0 / v * pdExpDiv2(ka, ke, m.Ke0, t)
}

// pdPhi1 returns (exp(z) − 1)/z, and 1 at z = 0.
func pdPhi1(z float64) float64 {
	if z == 0 {
		return 1
	}
	return math.Expm1(z) / z
}

// pdExpDiv1 returns the first divided difference of f(k) = exp(−k·t) over
// {a, b}: (f(b) − f(a))/(b − a), and f'(a) = −t·exp(−a·t) when a = b.
func pdExpDiv1(a, b, t float64) float64 {
	if a > b {
		a, b = b, a
	}
	return -t * math.Exp(-a*t) * pdPhi1(-(b-a)*t)
}

// pdExpDiv2 returns the second divided difference of f(k) = exp(−k·t) over
// {a, b, c}, which is positive for t > 0 (Hermite-Genocchi: t² times the
// mean of exp(−k·t) over the simplex of the nodes). With the nodes sorted,
// a <= b <= c, and h = (c − a)·t:
//   - h >= 1e-2: (f[b,c] − f[a,b])/(c − a), with the first differences from
//     pdExpDiv1; the cancellation costs a factor of at most about 2/h, so the
//     relative error stays below about 1e-13;
//   - h < 1e-2: the Taylor series about a, exp(−a·t)·t²·Σ_m (−1)^m
//     h_m(u, w)/(m+2)!, where u = (b − a)·t, w = (c − a)·t and h_m is the
//     complete homogeneous symmetric polynomial of degree m (the divided
//     difference of x^(m+2) over {0, u, w}); terms fall by a factor below
//     1e-2 each, and 12 terms reach rounding error.
func pdExpDiv2(a, b, c, t float64) float64 {
	// Sort the three nodes.
	if a > b {
		a, b = b, a
	}
	if b > c {
		b, c = c, b
	}
	if a > b {
		a, b = b, a
	}
	if (c-a)*t >= 1e-2 {
		return (pdExpDiv1(b, c, t) - pdExpDiv1(a, b, t)) / (c - a)
	}
	u, w := (b-a)*t, (c-a)*t
	// h_m(u, w) = Σ_{i=0}^{m} u^i w^(m−i), built by h_m = w·h_{m−1} + u^m.
	sum, hm, um, fact, sign := 0.0, 1.0, 1.0, 2.0, 1.0
	for m := 0; m < 12; m++ {
		if m > 0 {
			um *= u
			hm = w*hm + um
			fact *= float64(m + 2)
			sign = -sign
		}
		sum += sign * hm / fact
	}
	return math.Exp(-a*t) * t * t * sum
}

// pdSimulate integrates the scalar ODE y' = rate(t, y), y(times[0]) = y0, with
// DoPri5 and returns y at every time. name prefixes errors.
func pdSimulate(name string, rate func(t, y float64) float64, y0 float64, times []float64, s ode.Settings) ([]float64, error) {
	for i, t := range times {
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("pkpd: %s: times[%d] = %g h; must be finite", name, i, t)
		}
		if i > 0 && !(t > times[i-1]) {
			return nil, fmt.Errorf("pkpd: %s: times[%d] = %g h is not after times[%d] = %g h; times must be strictly increasing", name, i, t, i-1, times[i-1])
		}
	}
	out := make([]float64, len(times))
	if len(times) == 0 {
		return out, nil
	}
	out[0] = y0
	if len(times) == 1 {
		return out, nil
	}
	in := ode.NewDoPri5(func(dy []float64, t float64, y []float64) {
		dy[0] = rate(t, y[0])
	}, 1, s)
	k := 1
	obs := ode.Observer{
		Times: times[1:],
		Output: func(_ float64, y []float64) {
			out[k] = y[0]
			k++
		},
	}
	y := []float64{y0}
	if _, err := in.Solve(y, times[0], times[len(times)-1], obs); err != nil {
		return nil, fmt.Errorf("pkpd: %s: %w", name, err)
	}
	if k != len(times) {
		// Solve reports every output time in (t0, t1] when it reaches t1.
		return nil, fmt.Errorf("pkpd: %s: integrator reported %d of %d output times", name, k, len(times))
	}
	return out, nil
}

// Reference case d (testdata/README_pd.md): R 4.2.2 + deSolve 1.34 (lsoda,
// rtol 1e-10, atol 1e-12), script d_pd_models.R.
//
//go:embed testdata/d_emax.csv testdata/d_indirect_response.csv testdata/d_pd_summary.csv
var pdRefFiles embed.FS

// PDCheck is one quantity of a pharmacodynamic model compared with its
// reference by PDValidationCases.
type PDCheck struct {
	Name      string  // what is compared, e.g. "indirect response type I: R on the grid"
	Reference string  // the reference file and its origin
	MaxError  float64 // largest relative error |got − ref|/max(|ref|, 1e-3·max|ref|), the floor for values near 0
	At        float64 // time of the largest error (or of the grid extremum found), h
	Tolerance float64 // the bar MaxError must not exceed, relative
}

// Pass reports whether the check is within its tolerance.
func (c PDCheck) Pass() bool { return c.MaxError <= c.Tolerance }

// PDValidationCases runs the pharmacodynamic reference case d of the
// Doppel reference set (R deSolve; embedded, so it does no I/O) and returns
// one check per compared quantity: the direct Emax and sigmoid Emax models,
// the effect compartment (ODE and closed form) and its effect, the four
// indirect response models on the 0..72 h grid, and their grid extrema.
// The plasma profile is the analytic one-compartment oral profile of case a
// (320 mg, ka 1.5/h, ke 0.08/h, V 40 L); the ODEs run at RelTol 1e-12.
//
// Tolerances (relative): 1e-8 for what R integrated with lsoda (Ce and R;
// lsoda at rtol 1e-10 is accurate to about 1e-10..1e-9 over 72 h, and its
// Ce is within 4.1e-10 mg/L of the closed form); 1e-9 and 2e-9 for the
// direct effects, which R computed from its lsoda concentration (within
// 2.3e-11 of the analytic one in case a; Hill 2 doubles the relative error);
// 1e-10 against R's closed form for Ce, printed to 12 digits.
func PDValidationCases() ([]PDCheck, error) {
	emax, err := pdReadRef("d_emax.csv")
	if err != nil {
		return nil, err
	}
	idr, err := pdReadRef("d_indirect_response.csv")
	if err != nil {
		return nil, err
	}
	sum, err := pdReadRef("d_pd_summary.csv")
	if err != nil {
		return nil, err
	}
	const (
		dose, ka, ke, v = 320.0, 1.5, 0.08, 40.0 // mg, 1/h, 1/h, L
		refEmax         = "d_emax.csv (R 4.2.2 deSolve lsoda rtol 1e-10, d_pd_models.R)"
		refIDR          = "d_indirect_response.csv (R 4.2.2 deSolve lsoda rtol 1e-10, d_pd_models.R)"
		refSum          = "d_pd_summary.csv (R 4.2.2 deSolve lsoda rtol 1e-10, d_pd_models.R)"
	)
	cp := func(t float64) float64 {
		if t < 0 {
			return 0
		}
		return dose * ka / (v * (ka - ke)) * -math.Exp(-ke*t) * math.Expm1(-(ka-ke)*t)
	}
	tight := ode.Settings{RelTol: 1e-12, AbsTol: 1e-14}
	times := emax.col["time"]
	direct := Emax{E0: 10, Emax: 100, EC50: 2, Hill: 1}
	sigmoid := Emax{E0: 10, Emax: 100, EC50: 2, Hill: 2}
	link := EffectCompartment{Ke0: 0.3}
	ce, err := link.Simulate(cp, 0, times, tight)
	if err != nil {
		return nil, err
	}
	n := len(times)
	eDirect, eSigmoid, eLink, ceClosed := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, t := range times {
		eDirect[i] = direct.Effect(cp(t))
		eSigmoid[i] = sigmoid.Effect(cp(t))
		eLink[i] = sigmoid.Effect(ce[i])
		ceClosed[i] = link.OneCompartmentOral(dose, ka, ke, v, t)
	}
	var checks []PDCheck
	add := func(name, ref string, got, want []float64, at []float64, tol float64) {
		c := PDCheck{Name: name, Reference: ref, Tolerance: tol}
		scale := 0.0
		for _, w := range want {
			scale = math.Max(scale, math.Abs(w))
		}
		for i := range want {
			e := math.Abs(got[i]-want[i]) / math.Max(math.Abs(want[i]), 1e-3*scale)
			if !(e <= c.MaxError) {
				c.MaxError, c.At = e, at[i]
			}
		}
		checks = append(checks, c)
	}
	add("Emax (E0 10, Emax 100, EC50 2 mg/L): E of the analytic C", refEmax, eDirect, emax.col["E_direct_emax"], times, 1e-9)
	add("sigmoid Emax (Hill 2): E of the analytic C", refEmax, eSigmoid, emax.col["E_direct_sigmoid"], times, 2e-9)
	add("effect compartment (ke0 0.3/h): Ce by ODE vs lsoda", refEmax, ce, emax.col["Ce"], times, 1e-8)
	add("effect compartment: Ce by ODE vs R closed form", refEmax, ce, emax.col["Ce_analytic"], times, 1e-10)
	add("effect compartment: Ce closed form vs R closed form", refEmax, ceClosed, emax.col["Ce_analytic"], times, 1e-10)
	add("effect compartment: sigmoid Emax of Ce", refEmax, eLink, emax.col["E_effect_cmt_sigmoid"], times, 1e-8)
	checks = append(checks, pdExtremum("effect compartment: grid max of Ce", refSum, ce, times, true,
		sum.val["Ce_max_grid"], sum.val["t_Ce_max_grid"], 1e-8))

	idrTimes := idr.col["time"]
	for _, tc := range []struct {
		m   IndirectResponse
		col string
		key string
		max bool
	}{
		{IndirectResponse{Type: InhibitKin, Kin: 10, Kout: 0.5, Imax: 0.9, IC50: 2}, "R_typeI", "typeI", false},
		{IndirectResponse{Type: InhibitKout, Kin: 10, Kout: 0.5, Imax: 0.9, IC50: 2}, "R_typeII", "typeII", true},
		{IndirectResponse{Type: StimulateKin, Kin: 10, Kout: 0.5, Smax: 2, SC50: 2}, "R_typeIII", "typeIII", true},
		{IndirectResponse{Type: StimulateKout, Kin: 10, Kout: 0.5, Smax: 2, SC50: 2}, "R_typeIV", "typeIV", false},
	} {
		r, err := tc.m.Simulate(cp, tc.m.Baseline(), idrTimes, tight)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("indirect response type %v (kin 10/h, kout 0.5/h)", tc.m.Type)
		add(name+": R on the grid", refIDR, r, idr.col[tc.col], idrTimes, 1e-8)
		kind := "min"
		if tc.max {
			kind = "max"
		}
		checks = append(checks, pdExtremum(name+": grid "+kind+" of R", refSum, r, idrTimes, tc.max,
			sum.val[tc.key+"_"+kind+"_R_grid"], sum.val[tc.key+"_t_at_"+kind+"_grid"], 1e-8))
	}
	return checks, nil
}

// pdExtremum compares the grid extremum of x with the reference value want
// at time wantT; a different time is an infinite error.
func pdExtremum(name, ref string, x, times []float64, max bool, want, wantT, tol float64) PDCheck {
	best := 0
	for i := range x {
		if (max && x[i] > x[best]) || (!max && x[i] < x[best]) {
			best = i
		}
	}
	c := PDCheck{Name: name, Reference: ref, At: times[best], Tolerance: tol,
		MaxError: math.Abs(x[best]-want) / math.Abs(want)}
	if times[best] != wantT {
		c.MaxError = math.Inf(1)
	}
	return c
}

// pdRef is an embedded reference table: columns by header, or for a
// two-column quantity,value table the values by quantity.
type pdRef struct {
	col map[string][]float64
	val map[string]float64
}

// pdReadRef parses an embedded reference CSV of case d.
func pdReadRef(name string) (pdRef, error) {
	b, err := pdRefFiles.ReadFile("testdata/" + name)
	if err != nil {
		return pdRef{}, fmt.Errorf("pkpd: reference %s: %w", name, err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) < 2 {
		return pdRef{}, fmt.Errorf("pkpd: reference %s: malformed (%v)", name, err)
	}
	r := pdRef{col: make(map[string][]float64), val: make(map[string]float64)}
	for li, row := range rows[1:] {
		for j, h := range rows[0] {
			if len(rows[0]) == 2 && j == 0 {
				continue
			}
			x, err := strconv.ParseFloat(row[j], 64)
			if err != nil {
				return pdRef{}, fmt.Errorf("pkpd: reference %s line %d: %w", name, li+2, err)
			}
			if len(rows[0]) == 2 {
				r.val[row[0]] = x
			} else {
				r.col[h] = append(r.col[h], x)
			}
		}
	}
	return r, nil
}
