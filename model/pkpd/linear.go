package pkpd

import (
	"fmt"
	"math"
)

// Params are the parameters of a linear mammillary PK model, NONMEM's TRANS4
// and TRANS6 parameterisation. Unused fields (Q3 and V3 of a 2-compartment
// model, KA without a depot) are ignored.
type Params struct {
	CL float64 // clearance from the central compartment, L/h
	V1 float64 // central volume, L
	Q2 float64 // inter-compartmental clearance, central ↔ first peripheral, L/h
	V2 float64 // first peripheral volume, L
	Q3 float64 // inter-compartmental clearance, central ↔ second peripheral, L/h
	V3 float64 // second peripheral volume, L
	KA float64 // first-order absorption rate constant from the depot, 1/h
}

// Micro holds the micro-constants (first-order rate constants, 1/h) of a
// linear model: Kij is the rate from compartment i to j, 0 being outside,
// 1 the central, 2 and 3 the peripherals.
type Micro struct {
	K10, K12, K21, K13, K31, KA float64
}

// Micro converts clearances and volumes to micro-constants:
// K10 = CL/V1, K12 = Q2/V1, K21 = Q2/V2, K13 = Q3/V1, K31 = Q3/V3.
// Fields of absent compartments are zero.
func (m Linear) Micro(p Params) Micro {
	mc := Micro{K10: p.CL / p.V1}
	if m.Peripherals >= 1 {
		mc.K12, mc.K21 = p.Q2/p.V1, p.Q2/p.V2
	}
	if m.Peripherals >= 2 {
		mc.K13, mc.K31 = p.Q3/p.V1, p.Q3/p.V3
	}
	if m.Depot {
		mc.KA = p.KA
	}
	return mc
}

// Linear is a linear mammillary PK model with one central compartment, 0, 1
// or 2 peripheral compartments (the 1-, 2- and 3-compartment models) and an
// optional first-order absorption depot, solved in closed form.
//
// Compartments are numbered as in NONMEM's ADVAN routines: with a depot
// (ADVAN2, 4, 12) the depot is CMT 1, the central compartment CMT 2 and the
// peripherals CMT 3 and 4; without (ADVAN1, 3, 11) the central compartment
// is CMT 1 and the peripherals CMT 2 and 3. Doses go to the depot by
// default (the central compartment without a depot); observations are of
// the central compartment. Amounts are in mg and concentrations in mg/L
// (central amount / V1).
//
// # Solution
//
// Between events the inputs are constant (bolus doses change the state;
// zero-order infusions add a constant rate), so the amounts advance by the
// exact solution of the linear system, the superposition of the responses
// to the initial state, to the infusions and to the depot. With
// micro-constants K (the n×n system matrix of the central and peripheral
// compartments) whose eigenvalues are −λi, the λi being the macro-constants
// (α, β, γ: Gibaldi & Perrier, Pharmacokinetics, 2nd ed., Marcel Dekker
// 1982, ch. 2 and App. C; Bertrand & Mentré, Mathematical expressions of the
// pharmacokinetic and pharmacodynamic models implemented in the Monolix
// software, Inserm 2008, §2), the state transition is
//
//	exp(K h) = Σi exp(−λi h) Pi,  Pi = Πj≠i (K + λj I)/(λj − λi)
//
// (Sylvester's formula; Pi e1 holds the familiar coefficients such as
// (α − k21)/(α − β) of the 2-compartment model). An infusion of rate r
// adds Σi (1 − exp(−λi h))/λi Pi r, and a depot amount d0 adds
// Σi ka d0 φ(ka, λi, h) Pi e1 with φ(a, b, h) = (e^−ah − e^−bh)/(b − a).
//
// Near-equal rate constants: φ is evaluated as h·e^(−min(a,b)h)·g(|a−b|h)
// with g(x) = −expm1(−x)/x and g(0) = 1, which is accurate to rounding for
// every a, b, including ka = λi exactly (where φ = h e^−ah, the limit form:
// e.g. C = F·D·k·t·e^−kt/V for a 1-compartment model with ka = k).
// The macro-constants themselves are distinct for positive parameters
// (they interlace the peripheral rate constants), but close ones (a
// peripheral compartment with a tiny Q) lose about −log10(Δλ/λ) digits.
type Linear struct {
	// Peripherals is the number of peripheral compartments: 0, 1 or 2.
	Peripherals int
	// Depot adds a first-order absorption compartment (rate KA) as CMT 1.
	Depot bool
}

// NumCmt returns the number of compartments, depot included.
func (m Linear) NumCmt() int {
	n := 1 + m.Peripherals
	if m.Depot {
		n++
	}
	return n
}

// Central returns the CMT number of the central compartment.
func (m Linear) Central() int {
	if m.Depot {
		return 2
	}
	return 1
}

// Spec returns the compartments of the model for Validate and NewSchedule:
// doses by default into CMT 1 (the depot, or the central compartment without
// one), observations of the central compartment.
func (m Linear) Spec() Spec {
	return Spec{NumCmt: m.NumCmt(), DoseCmt: 1, ObsCmt: m.Central()}
}

func (m Linear) checkShape() error {
	if m.Peripherals < 0 || m.Peripherals > 2 {
		return fmt.Errorf("pkpd: Linear.Peripherals is %d, want 0, 1 or 2", m.Peripherals)
	}
	return nil
}

// check validates the model and the parameters it uses.
func (m Linear) check(p Params) error {
	if err := m.checkShape(); err != nil {
		return err
	}
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("pkpd: parameter %s is %g, want a finite value > 0", name, v)
		}
		return nil
	}
	if err := pos("CL", p.CL); err != nil {
		return err
	}
	if err := pos("V1", p.V1); err != nil {
		return err
	}
	if m.Peripherals >= 1 {
		if err := pos("Q2", p.Q2); err != nil {
			return err
		}
		if err := pos("V2", p.V2); err != nil {
			return err
		}
	}
	if m.Peripherals >= 2 {
		if err := pos("Q3", p.Q3); err != nil {
			return err
		}
		if err := pos("V3", p.V3); err != nil {
			return err
		}
	}
	if m.Depot {
		if err := pos("KA", p.KA); err != nil {
			return err
		}
	}
	return nil
}

// Macro returns the macro-constants λ1 > λ2 > λ3 (1/h; α, β, γ) of the
// central and peripheral compartments: the negated eigenvalues of the
// system matrix, one per compartment (the depot's ka not included).
func (m Linear) Macro(p Params) ([]float64, error) {
	if err := m.check(p); err != nil {
		return nil, err
	}
	var s linSys
	s.init(m, p)
	return append([]float64(nil), s.lam[:s.n]...), nil
}

// linSys is the closed-form solution of one linear model with fixed
// parameters.
type linSys struct {
	n     int  // central + peripheral compartments
	depot bool // state[0] is the depot
	ka    float64
	lam   [3]float64    // macro-constants
	proj  [3][9]float64 // spectral projectors, n×n row-major
	// Coefficients for the last step length h (most steps repeat one h).
	h                float64
	eLam, inLam, phi [3]float64
	eKa, inKa        float64
	lastCoef         bool
}

func (s *linSys) init(m Linear, p Params) {
	mc := m.Micro(p)
	s.n = 1 + m.Peripherals
	s.depot = m.Depot
	s.ka = mc.KA
	s.lastCoef = false
	var k [9]float64
	n := s.n
	switch n {
	case 1:
		s.lam[0] = mc.K10
	case 2:
		// α, β = (S ± sqrt(S² − 4 k10 k21))/2; β from α·β = k10·k21 to
		// avoid cancellation.
		sum := mc.K10 + mc.K12 + mc.K21
		disc := math.Sqrt(math.Max(0, sum*sum-4*mc.K10*mc.K21))
		s.lam[0] = (sum + disc) / 2
		s.lam[1] = mc.K10 * mc.K21 / s.lam[0]
	case 3:
		s.lam = cubicMacro(mc)
	}
	switch n {
	case 1:
		k[0] = -mc.K10
	case 2:
		k[0], k[1], k[2], k[3] = -(mc.K10 + mc.K12), mc.K21, mc.K12, -mc.K21
	case 3:
		k = [9]float64{
			-(mc.K10 + mc.K12 + mc.K13), mc.K21, mc.K31,
			mc.K12, -mc.K21, 0,
			mc.K13, 0, -mc.K31,
		}
	}
	// Sylvester's formula: Pi = Πj≠i (K + λj I)/(λj − λi).
	for i := 0; i < n; i++ {
		var p [9]float64
		for r := 0; r < n; r++ {
			p[r*n+r] = 1
		}
		for j := 0; j < n; j++ {
			if j == i {
				continue
			}
			var a [9]float64 // (K + λj I)/(λj − λi)
			d := s.lam[j] - s.lam[i]
			for r := 0; r < n; r++ {
				for c := 0; c < n; c++ {
					v := k[r*n+c]
					if r == c {
						v += s.lam[j]
					}
					a[r*n+c] = v / d
				}
			}
			var q [9]float64
			for r := 0; r < n; r++ {
				for c := 0; c < n; c++ {
					var sum float64
					for l := 0; l < n; l++ {
						sum += p[r*n+l] * a[l*n+c]
					}
					q[r*n+c] = sum
				}
			}
			p = q
		}
		s.proj[i] = p
	}
}

// cubicMacro returns the three macro-constants of the 3-compartment model,
// the roots of λ³ − a2 λ² + a1 λ − a0 (Bertrand & Mentré 2008, §2.3; NONMEM
// ADVAN11), by the trigonometric solution polished with two Newton steps.
func cubicMacro(mc Micro) [3]float64 {
	a0 := mc.K10 * mc.K21 * mc.K31
	a1 := mc.K10*mc.K31 + mc.K21*mc.K31 + mc.K21*mc.K13 + mc.K10*mc.K21 + mc.K31*mc.K12
	a2 := mc.K10 + mc.K12 + mc.K13 + mc.K21 + mc.K31
	p := a1 - a2*a2/3
	q := 2*a2*a2*a2/27 - a1*a2/3 + a0
	r1 := math.Sqrt(math.Max(0, -p*p*p/27))
	c := 0.0
	if r1 > 0 {
		c = math.Max(-1, math.Min(1, -q/(2*r1)))
	}
	phi := math.Acos(c) / 3
	r2 := 2 * math.Cbrt(r1)
	var lam [3]float64
	for i := range lam {
		lam[i] = a2/3 - r2*math.Cos(phi+2*math.Pi*float64(i)/3)
		for range 2 {
			x := lam[i]
			f := ((x-a2)*x+a1)*x - a0
			df := (3*x-2*a2)*x + a1
			if df != 0 {
				lam[i] = x - f/df
			}
		}
	}
	// Sort descending.
	for i := 0; i < 3; i++ {
		for j := i + 1; j < 3; j++ {
			if lam[j] > lam[i] {
				lam[i], lam[j] = lam[j], lam[i]
			}
		}
	}
	return lam
}

// oneMinusExpOver returns (1 − e^(−x))/x, 1 at x = 0, accurate for all x >= 0.
func oneMinusExpOver(x float64) float64 {
	if x == 0 {
		return 1
	}
	return -math.Expm1(-x) / x
}

// expDiff returns (e^(−ah) − e^(−bh))/(b − a), and its limit h·e^(−ah) at a = b,
// accurate to rounding for all a, b >= 0, h >= 0.
func expDiff(a, b, h float64) float64 {
	lo, d := a, b-a
	if b < a {
		lo, d = b, a-b
	}
	return h * math.Exp(-lo*h) * oneMinusExpOver(d*h)
}

func (s *linSys) coef(h float64) {
	if s.lastCoef && h == s.h {
		return
	}
	s.h, s.lastCoef = h, true
	for i := 0; i < s.n; i++ {
		l := s.lam[i]
		s.eLam[i] = math.Exp(-l * h)
		s.inLam[i] = h * oneMinusExpOver(l*h)
		if s.depot {
			s.phi[i] = expDiff(s.ka, l, h)
		}
	}
	if s.depot {
		s.eKa = math.Exp(-s.ka * h)
		s.inKa = h * oneMinusExpOver(s.ka*h)
	}
}

// advance moves the amounts y forward by h >= 0 h with the constant
// infusion rates rate (mg/h per compartment, same layout as y).
func (s *linSys) advance(y []float64, h float64, rate []float64) {
	if h == 0 {
		return
	}
	s.coef(h)
	o := 0
	var d0, rd float64
	if s.depot {
		o = 1
		d0, rd = y[0], rate[0]
		y[0] = d0*s.eKa + rd*s.inKa
	}
	n := s.n
	x := y[o : o+n]
	r := rate[o : o+n]
	var x0 [3]float64
	copy(x0[:], x)
	for k := 0; k < n; k++ {
		x[k] = 0
	}
	for i := 0; i < n; i++ {
		var c [3]float64
		for k := 0; k < n; k++ {
			c[k] = s.eLam[i]*x0[k] + s.inLam[i]*r[k]
		}
		if s.depot {
			c[0] += s.ka*d0*s.phi[i] + rd*(s.inLam[i]-s.phi[i])
		}
		p := &s.proj[i]
		for row := 0; row < n; row++ {
			var sum float64
			for k := 0; k < n; k++ {
				sum += p[row*n+k] * c[k]
			}
			x[row] += sum
		}
	}
}
