package pkpd

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Population variability: inter-individual variability (IIV) with a full
// omega matrix, covariate models and residual error models, in NONMEM's
// conventions (Beal SL, Sheiner LB et al. NONMEM Users Guides, ICON; Mould DR,
// Upton RN. Basic concepts in population modeling, simulation, and
// model-based drug development—part 2. CPT Pharmacometrics Syst Pharmacol
// 2013;2:e38).
//
// An individual parameter is θ_i = TV(covariates) · exp(η_i) with
// η ~ N(0, Ω): log-normal IIV. Randomness always comes from a caller's
// *rand.Rand, so a seeded PCG gives reproducible populations.

// IIV is a validated omega matrix Ω (the covariance of the etas, on the log
// scale, dimensionless) with its Cholesky factor, built by NewIIV (the zero
// value is not usable). It is immutable and safe for concurrent use; each
// goroutine passes its own *rand.Rand.
type IIV struct {
	names []string
	omega *mat.SymDense
	chol  mat.Cholesky
	l     []float64 // lower Cholesky factor L (Ω = L·Lᵀ), row-major n×n
}

// NewIIV validates omega (n×n, symmetric positive definite, finite) and
// names (one distinct, non-empty name per eta, e.g. the parameter it acts
// on: "CL", "V"), and factorizes omega. A zero-variance ("FIX 0") eta is not
// allowed: leave it out instead.
func NewIIV(names []string, omega mat.Symmetric) (*IIV, error) {
	if omega == nil {
		return nil, fmt.Errorf("pkpd: IIV omega matrix is nil")
	}
	n := omega.SymmetricDim()
	if len(names) != n {
		return nil, fmt.Errorf("pkpd: IIV omega matrix is %d×%d but %d eta names were given", n, n, len(names))
	}
	seen := make(map[string]bool, n)
	for i, name := range names {
		if name == "" {
			return nil, fmt.Errorf("pkpd: IIV eta %d has an empty name", i+1)
		}
		if seen[name] {
			return nil, fmt.Errorf("pkpd: IIV eta name %q appears twice", name)
		}
		seen[name] = true
	}
	for i := range n {
		for j := 0; j <= i; j++ {
			v := omega.At(i, j)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("pkpd: IIV omega[%s,%s] = %v, want a finite value", names[i], names[j], v)
			}
		}
		if v := omega.At(i, i); !(v > 0) {
			return nil, fmt.Errorf("pkpd: IIV omega[%s,%s] = %v, want a variance > 0", names[i], names[i], v)
		}
	}
	v := &IIV{names: append([]string(nil), names...), omega: mat.NewSymDense(n, nil)}
	v.omega.CopySym(omega)
	if ok := v.chol.Factorize(v.omega); !ok {
		return nil, fmt.Errorf("pkpd: IIV omega matrix (etas %v) is not positive definite", names)
	}
	var lt mat.TriDense
	v.chol.LTo(&lt)
	v.l = make([]float64, n*n)
	for i := range n {
		for j := 0; j <= i; j++ {
			v.l[i*n+j] = lt.At(i, j)
		}
	}
	return v, nil
}

// DiagonalOmega returns a diagonal omega matrix with the given variances
// (ω², dimensionless) on its diagonal.
func DiagonalOmega(variances ...float64) *mat.SymDense {
	m := mat.NewSymDense(len(variances), nil)
	for i, v := range variances {
		m.SetSym(i, i, v)
	}
	return m
}

// Len returns the number of etas.
func (v *IIV) Len() int { return len(v.names) }

// Names returns a copy of the eta names.
func (v *IIV) Names() []string { return append([]string(nil), v.names...) }

// Omega returns a copy of the omega matrix.
func (v *IIV) Omega() *mat.SymDense {
	m := mat.NewSymDense(v.Len(), nil)
	m.CopySym(v.omega)
	return m
}

// SampleEta draws η ~ N(0, Ω) as L·z with z standard normal from rng, into
// dst (allocated when nil) and returns it. It panics if dst is non-nil with
// a length other than Len.
func (v *IIV) SampleEta(dst []float64, rng *rand.Rand) []float64 {
	n := v.Len()
	if dst == nil {
		dst = make([]float64, n)
	} else if len(dst) != n {
		panic(fmt.Sprintf("pkpd: SampleEta: len(dst) = %d, want %d", len(dst), n))
	}
	// Draw all z first so dst can be filled from the bottom row up in place.
	for i := range dst {
		dst[i] = rng.NormFloat64()
	}
	for i := n - 1; i >= 0; i-- {
		s := 0.0
		for j := 0; j <= i; j++ {
			s += v.l[i*n+j] * dst[j]
		}
		dst[i] = s
	}
	return dst
}

// Penalty returns ηᵀΩ⁻¹η, the prior term of the NONMEM MAP objective
// (−2 log prior density up to ln det Ω and constants). It panics if
// len(eta) != Len.
func (v *IIV) Penalty(eta []float64) float64 {
	n := v.Len()
	if len(eta) != n {
		panic(fmt.Sprintf("pkpd: Penalty: len(eta) = %d, want %d", len(eta), n))
	}
	// Solve L·y = η by forward substitution; ηᵀΩ⁻¹η = yᵀy.
	var buf [8]float64
	y := buf[:0]
	if n > len(buf) {
		y = make([]float64, 0, n)
	}
	q := 0.0
	for i := range n {
		s := eta[i]
		for j := range i {
			s -= v.l[i*n+j] * y[j]
		}
		yi := s / v.l[i*n+i]
		y = append(y, yi)
		q += yi * yi
	}
	return q
}

// LogDet returns ln det Ω.
func (v *IIV) LogDet() float64 { return v.chol.LogDet() }

// LogNormal sets dst[i] = typical[i]·exp(eta[i]), the log-normal individual
// parameters, allocating dst when nil, and returns it. Units are those of
// typical. It panics on length mismatch.
func LogNormal(dst, typical, eta []float64) []float64 {
	if len(typical) != len(eta) {
		panic(fmt.Sprintf("pkpd: LogNormal: len(typical) = %d, len(eta) = %d", len(typical), len(eta)))
	}
	if dst == nil {
		dst = make([]float64, len(eta))
	} else if len(dst) != len(eta) {
		panic(fmt.Sprintf("pkpd: LogNormal: len(dst) = %d, want %d", len(dst), len(eta)))
	}
	for i := range eta {
		dst[i] = typical[i] * math.Exp(eta[i])
	}
	return dst
}

// CVConvention says how a published IIV "%CV" converts to ω².
type CVConvention int

const (
	// LogNormalCV is the exact log-normal relation ω² = ln(CV² + 1),
	// CV = sqrt(exp(ω²) − 1). The vancomycin reference (Goti 2018, refs e)
	// uses it.
	LogNormalCV CVConvention = iota
	// ApproxCV is the first-order approximation ω² = CV² (CV = ω), which
	// many NONMEM reports use when quoting sqrt(ω²)·100 as "%CV". It
	// overstates ω² for large CVs (CV 0.816: 0.666 vs 0.510).
	ApproxCV
)

// OmegaSqFromCV converts a coefficient of variation (a fraction: 0.398 for
// 39.8 %) to the log-scale variance ω².
func OmegaSqFromCV(cv float64, conv CVConvention) (float64, error) {
	if !(cv >= 0) || math.IsInf(cv, 0) {
		return 0, fmt.Errorf("pkpd: CV = %v, want a finite fraction ≥ 0 (0.398 for 39.8 %%)", cv)
	}
	switch conv {
	case LogNormalCV:
		return math.Log1p(cv * cv), nil
	case ApproxCV:
		return cv * cv, nil
	}
	return 0, fmt.Errorf("pkpd: unknown CV convention %d", conv)
}

// CVFromOmegaSq is the inverse of OmegaSqFromCV: the CV (a fraction) of a
// log-normal parameter with log-scale variance omega2.
func CVFromOmegaSq(omega2 float64, conv CVConvention) (float64, error) {
	if !(omega2 >= 0) || math.IsInf(omega2, 0) {
		return 0, fmt.Errorf("pkpd: omega² = %v, want a finite value ≥ 0", omega2)
	}
	switch conv {
	case LogNormalCV:
		return math.Sqrt(math.Expm1(omega2)), nil
	case ApproxCV:
		return math.Sqrt(omega2), nil
	}
	return 0, fmt.Errorf("pkpd: unknown CV convention %d", conv)
}

// CovariateEffect is one multiplicative covariate effect on a typical
// value: TV = θ · Π Factor(x_k).
type CovariateEffect interface {
	Covariate() string                 // covariate name, e.g. "WT"
	Factor(x float64) (float64, error) // multiplier (dimensionless) at covariate value x
}

// PowerCovariate is the power (allometric) model (x/Ref)^Theta, e.g. weight
// on clearance (WT/70)^0.75. x and Ref share a unit and must be > 0.
type PowerCovariate struct {
	Name       string
	Ref, Theta float64
}

// Covariate returns the covariate name.
func (c PowerCovariate) Covariate() string { return c.Name }

// Factor returns (x/Ref)^Theta.
func (c PowerCovariate) Factor(x float64) (float64, error) {
	if !(c.Ref > 0) || math.IsInf(c.Ref, 0) || math.IsNaN(c.Theta) || math.IsInf(c.Theta, 0) {
		return 0, fmt.Errorf("pkpd: power covariate %q: Ref = %v, Theta = %v, want Ref > 0 and finite values", c.Name, c.Ref, c.Theta)
	}
	if !(x > 0) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("pkpd: power covariate %q = %v, want a finite value > 0", c.Name, x)
	}
	return math.Pow(x/c.Ref, c.Theta), nil
}

// ExpCovariate is the exponential model exp(Theta·(x − Ref)), e.g. age on
// clearance. x and Ref share a unit.
type ExpCovariate struct {
	Name       string
	Ref, Theta float64
}

// Covariate returns the covariate name.
func (c ExpCovariate) Covariate() string { return c.Name }

// Factor returns exp(Theta·(x − Ref)).
func (c ExpCovariate) Factor(x float64) (float64, error) {
	if !popFinite(c.Ref) || !popFinite(c.Theta) {
		return 0, fmt.Errorf("pkpd: exponential covariate %q: Ref = %v, Theta = %v, want finite values", c.Name, c.Ref, c.Theta)
	}
	if !popFinite(x) {
		return 0, fmt.Errorf("pkpd: exponential covariate %q = %v, want a finite value", c.Name, x)
	}
	return math.Exp(c.Theta * (x - c.Ref)), nil
}

// CategoricalCovariate is the binary model Theta^x for an indicator x ∈ {0,
// 1}, e.g. 0.7^HD for haemodialysis on vancomycin clearance.
type CategoricalCovariate struct {
	Name  string
	Theta float64 // multiplier when x = 1, > 0
}

// Covariate returns the covariate name.
func (c CategoricalCovariate) Covariate() string { return c.Name }

// Factor returns 1 for x = 0 and Theta for x = 1.
func (c CategoricalCovariate) Factor(x float64) (float64, error) {
	if !(c.Theta > 0) || math.IsInf(c.Theta, 0) {
		return 0, fmt.Errorf("pkpd: categorical covariate %q: Theta = %v, want a finite value > 0", c.Name, c.Theta)
	}
	switch x {
	case 0:
		return 1, nil
	case 1:
		return c.Theta, nil
	}
	return 0, fmt.Errorf("pkpd: categorical covariate %q = %v, want 0 or 1", c.Name, x)
}

// TableCovariate maps integer category codes to multipliers, for
// covariates with more than two levels (e.g. genotype-predicted phenotype
// or formulation).
type TableCovariate struct {
	Name    string
	Factors map[int]float64 // code → multiplier (> 0)
}

// Covariate returns the covariate name.
func (c TableCovariate) Covariate() string { return c.Name }

// Factor returns Factors[x]; x must be an integer code present in the table.
func (c TableCovariate) Factor(x float64) (float64, error) {
	if x != math.Trunc(x) || math.Abs(x) > 1<<31 {
		return 0, fmt.Errorf("pkpd: table covariate %q = %v, want an integer category code", c.Name, x)
	}
	f, ok := c.Factors[int(x)]
	if !ok {
		return 0, fmt.Errorf("pkpd: table covariate %q: level %d not in the table", c.Name, int(x))
	}
	if !(f > 0) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("pkpd: table covariate %q: factor for level %d = %v, want a finite value > 0", c.Name, int(x), f)
	}
	return f, nil
}

// TypicalValue returns theta · Π effect.Factor(covariates[effect.Covariate()]),
// the typical value of a parameter (in theta's unit) for one subject. A
// covariate an effect needs but covariates lacks is an error naming it.
func TypicalValue(theta float64, covariates map[string]float64, effects ...CovariateEffect) (float64, error) {
	if !popFinite(theta) {
		return 0, fmt.Errorf("pkpd: typical value theta = %v, want a finite value", theta)
	}
	tv := theta
	for _, e := range effects {
		x, ok := covariates[e.Covariate()]
		if !ok {
			return 0, fmt.Errorf("pkpd: covariate %q is not given", e.Covariate())
		}
		f, err := e.Factor(x)
		if err != nil {
			return 0, err
		}
		tv *= f
	}
	return tv, nil
}

// ErrorModel selects a residual error model.
type ErrorModel int

const (
	// CombinedError: variance = Add² + (Prop·f)² (NONMEM Y = F + F·EPS(1) +
	// EPS(2); nlmixr2 "combined2"). With Prop = 0 it is additive, with Add =
	// 0 proportional; it is the zero value.
	CombinedError ErrorModel = iota
	// AdditiveError: variance = Add²; Prop must be 0.
	AdditiveError
	// ProportionalError: variance = (Prop·f)²; Add must be 0.
	ProportionalError
	// CombinedSDError: SD = Add + Prop·|f| (nlmixr2 "combined1"; the SDs,
	// not the variances, add).
	CombinedSDError
)

var residualModelNames = [...]string{"combined", "additive", "proportional", "combined-SD"}

// String returns the model name.
func (m ErrorModel) String() string {
	if m < 0 || int(m) >= len(residualModelNames) {
		return fmt.Sprintf("ErrorModel(%d)", int(m))
	}
	return residualModelNames[m]
}

// ResidualError is the residual (intra-individual) error model: an
// observation is y = f + ε with ε ~ N(0, Variance(f)), f the model
// prediction (mg/L, or the observation's unit).
type ResidualError struct {
	Model ErrorModel
	Add   float64 // additive SD, in the unit of f (mg/L), ≥ 0
	Prop  float64 // proportional SD as a fraction of f (0.227 for 22.7 %), ≥ 0
}

// Validate reports whether the parameters are finite, non-negative, not both
// zero, and consistent with Model.
func (r ResidualError) Validate() error {
	if !(r.Add >= 0) || math.IsInf(r.Add, 0) {
		return fmt.Errorf("pkpd: residual error Add = %v, want a finite SD ≥ 0", r.Add)
	}
	if !(r.Prop >= 0) || math.IsInf(r.Prop, 0) {
		return fmt.Errorf("pkpd: residual error Prop = %v, want a finite fraction ≥ 0", r.Prop)
	}
	switch r.Model {
	case CombinedError, CombinedSDError:
		if r.Add == 0 && r.Prop == 0 {
			return fmt.Errorf("pkpd: %v residual error has Add = Prop = 0", r.Model)
		}
	case AdditiveError:
		if r.Add == 0 || r.Prop != 0 {
			return fmt.Errorf("pkpd: additive residual error wants Add > 0 and Prop = 0, got Add = %v, Prop = %v", r.Add, r.Prop)
		}
	case ProportionalError:
		if r.Prop == 0 || r.Add != 0 {
			return fmt.Errorf("pkpd: proportional residual error wants Prop > 0 and Add = 0, got Add = %v, Prop = %v", r.Add, r.Prop)
		}
	default:
		return fmt.Errorf("pkpd: residual error Model = %v, want combined, additive, proportional or combined-SD", r.Model)
	}
	return nil
}

// Variance returns the residual variance at prediction f, in f's unit
// squared. Call Validate once beforehand; Variance does not check.
func (r ResidualError) Variance(f float64) float64 {
	switch r.Model {
	case AdditiveError:
		return r.Add * r.Add
	case ProportionalError:
		p := r.Prop * f
		return p * p
	case CombinedSDError:
		s := r.Add + r.Prop*math.Abs(f)
		return s * s
	default:
		p := r.Prop * f
		return r.Add*r.Add + p*p
	}
}

// SD returns the residual standard deviation at prediction f (f's unit).
func (r ResidualError) SD(f float64) float64 {
	if r.Model == CombinedSDError {
		return r.Add + r.Prop*math.Abs(f)
	}
	return math.Sqrt(r.Variance(f))
}

// Sample returns a simulated observation f + SD(f)·z with z ~ N(0, 1) from
// rng.
func (r ResidualError) Sample(rng *rand.Rand, f float64) float64 {
	return f + r.SD(f)*rng.NormFloat64()
}

// NegTwoLogLik returns (y − f)²/s² + ln s² with s² = Variance(f): the
// observation's contribution to −2 log-likelihood less ln 2π, as in the
// NONMEM objective with INTERACTION. It is +Inf when s² = 0.
func (r ResidualError) NegTwoLogLik(y, f float64) float64 {
	s2 := r.Variance(f)
	if s2 == 0 {
		return math.Inf(1)
	}
	d := y - f
	return d*d/s2 + math.Log(s2)
}

func popFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
