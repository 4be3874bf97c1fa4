package pkpd

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Drug models as data: a published population PK model (structure, typical
// values with covariate effects, inter-individual variability, residual
// error) written as a plain struct that a model file can fill, turned into
// individual parameters (DrugModel.Individual), fitted to a patient's levels
// (Fit) and used to choose a regimen (Dose).
//
// Units are those of the package: doses in mg, times in h, volumes in L,
// clearances in L/h, KA in 1/h, concentrations in mg/L. A model published in
// other units must be converted by whoever fills the struct.

// Route is how doses of a DrugModel enter the body.
type Route string

// Routes of a DrugModel.
const (
	// RouteIV gives doses into the central compartment (bolus or
	// zero-order infusion).
	RouteIV Route = "iv"
	// RouteOral gives doses into a first-order absorption depot (rate KA).
	RouteOral Route = "oral"
)

// Structure is the structural model of a DrugModel: a Linear mammillary
// model with Compartments compartments (1, 2 or 3: the central one and 0 to
// 2 peripherals) and a route.
type Structure struct {
	Compartments int   // 1, 2 or 3
	Route        Route // RouteIV or RouteOral; "" means RouteIV
}

// EffectModel names a covariate model.
type EffectModel string

// Covariate models of a CovariateEffectSpec (see the CovariateEffect implementations).
const (
	EffectPower       EffectModel = "power"       // (x/Ref)^Theta: PowerCovariate
	EffectExponential EffectModel = "exponential" // exp(Theta·(x − Ref)): ExpCovariate
	EffectCategorical EffectModel = "categorical" // Theta^x for x ∈ {0, 1}: CategoricalCovariate
	EffectTable       EffectModel = "table"       // Factors[x] for integer codes x: TableCovariate
)

// CovariateEffectSpec is one multiplicative covariate effect on a typical value.
type CovariateEffectSpec struct {
	Covariate string      // covariate name, one of DrugModel.Covariates
	Model     EffectModel // power, exponential, categorical or table
	// Ref is the reference value of a power or exponential model, in the
	// covariate's unit (70 for weight in kg on (WT/70)^0.75).
	Ref float64
	// Theta is the exponent (power), the coefficient per covariate unit
	// (exponential) or the multiplier at x = 1 (categorical).
	Theta float64
	// Factors maps integer codes to multipliers (table).
	Factors map[int]float64
}

// Parameter is one structural parameter of a DrugModel with its typical
// value TV = Typical · Π effect factors.
type Parameter struct {
	// Name is CL, V1 (or V, Vc), Q (or Q2), V2 (or Vp), Q3, V3 or KA,
	// matched without regard to case; the model's outputs use it as
	// written.
	Name    string
	Typical float64 // θ in the parameter's unit (L/h, L or 1/h) at the reference covariates
	Effects []CovariateEffectSpec
}

// CovariateDef declares a covariate a DrugModel uses.
type CovariateDef struct {
	Name string // as in the patient's covariates, e.g. "WT", "CRCL", "HD"
	Unit string // documentation only ("kg", "mL/min", "" for an indicator); the caller converts
	// Min and Max, when not nil, clamp the value before the covariate
	// model sees it: a documented rule of the published model such as
	// Goti 2018's CrCL capped at 150 mL/min (Max 150).
	Min, Max *float64
	// Default, when not nil, is used when the patient's covariates lack
	// Name (for example 0 for an absent dialysis indicator); nil makes the
	// covariate required.
	Default *float64
}

// Variability is the inter-individual variability of a DrugModel:
// log-normal, P = TV·exp(η), η ~ N(0, Ω).
type Variability struct {
	// Params names the parameters that carry an η, in the order of the
	// rows of Omega (or of CV).
	Params []string
	// Omega is the full symmetric covariance matrix Ω of η (ω², log
	// scale). Leave it nil to give CV instead.
	Omega [][]float64
	// CV gives a diagonal Ω from coefficients of variation (fractions:
	// 0.398 for 39.8 %), converted with Convention. Ignored when Omega is
	// set.
	CV         []float64
	Convention CVConvention
}

// DrugModel is a published population pharmacokinetic model as data. Fill
// it, then call Validate (Individual, Fit and Dose validate too).
type DrugModel struct {
	Name     string // identifier, e.g. "vancomycin-goti2018"
	Drug     string // e.g. "vancomycin"
	Citation string // the publication the values come from

	Structure  Structure
	Parameters []Parameter
	Covariates []CovariateDef
	IIV        Variability
	Error      ResidualError // residual error of the concentrations (mg/L)

	// F is the bioavailable fraction of a dose (0 < F ≤ 1) given to the
	// dose compartment (the depot of RouteOral, the central compartment of
	// RouteIV); 0 means 1. It scales AMT; an infusion with a RATE keeps
	// its rate and lasts F·AMT/RATE h (NONMEM's F1). With F set, CL and
	// the volumes are the absolute ones, not the apparent CL/F and V/F of
	// a model fitted to oral data alone. It carries no covariate effect or
	// IIV.
	F float64
	// ALAG is the absorption lag time in h (≥ 0, default 0) of doses to
	// the dose compartment: a dose recorded at TIME enters at TIME + ALAG
	// (NONMEM's ALAG1). It carries no covariate effect or IIV.
	ALAG float64
}

// paramField is the Params field of a canonical parameter name.
type paramField int

const (
	fieldCL paramField = iota
	fieldV1
	fieldQ2
	fieldV2
	fieldQ3
	fieldV3
	fieldKA
	numFields
)

var fieldNames = [numFields]string{"CL", "V1", "Q2", "V2", "Q3", "V3", "KA"}

// fieldOf maps a parameter name or alias (case-insensitive) to its field.
func fieldOf(name string) (paramField, bool) {
	switch strings.ToUpper(name) {
	case "CL":
		return fieldCL, true
	case "V", "V1", "VC":
		return fieldV1, true
	case "Q", "Q2":
		return fieldQ2, true
	case "V2", "VP", "VP1":
		return fieldV2, true
	case "Q3":
		return fieldQ3, true
	case "V3", "VP2":
		return fieldV3, true
	case "KA":
		return fieldKA, true
	}
	return 0, false
}

func (f paramField) get(p Params) float64 {
	return [numFields]float64{p.CL, p.V1, p.Q2, p.V2, p.Q3, p.V3, p.KA}[f]
}

func (f paramField) set(p *Params, v float64) {
	switch f {
	case fieldCL:
		p.CL = v
	case fieldV1:
		p.V1 = v
	case fieldQ2:
		p.Q2 = v
	case fieldV2:
		p.V2 = v
	case fieldQ3:
		p.Q3 = v
	case fieldV3:
		p.V3 = v
	case fieldKA:
		p.KA = v
	}
}

// compiledModel is a validated DrugModel ready for evaluation.
type compiledModel struct {
	m       *DrugModel
	linear  Linear
	fields  []paramField        // of m.Parameters
	effects [][]CovariateEffect // of m.Parameters
	covIdx  map[string]int      // covariate name → index in m.Covariates
	etaPar  []int               // η index → index in m.Parameters
	omega   *mat.SymDense
	dose    Dosing // F and ALAG of the dose compartment, for NewSchedule
}

// Validate checks the model and returns the first error, naming the field.
func (m *DrugModel) Validate() error {
	_, err := m.compile()
	return err
}

func (m *DrugModel) errorf(format string, args ...any) error {
	name := m.Name
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Errorf("pkpd: model %q: "+format, append([]any{name}, args...)...)
}

func finitePositive(x float64) bool { return x > 0 && !math.IsInf(x, 0) }

func (m *DrugModel) compile() (*compiledModel, error) {
	if m == nil {
		return nil, fmt.Errorf("pkpd: drug model is nil")
	}
	c := &compiledModel{m: m, covIdx: make(map[string]int, len(m.Covariates))}
	switch m.Structure.Route {
	case RouteIV, "":
	case RouteOral:
		c.linear.Depot = true
	default:
		return nil, m.errorf("structure.route %q, want %q or %q", m.Structure.Route, RouteIV, RouteOral)
	}
	if m.Structure.Compartments < 1 || m.Structure.Compartments > 3 {
		return nil, m.errorf("structure.compartments = %d, want 1, 2 or 3", m.Structure.Compartments)
	}
	c.linear.Peripherals = m.Structure.Compartments - 1

	for i, cd := range m.Covariates {
		if cd.Name == "" {
			return nil, m.errorf("covariates[%d].name is empty", i)
		}
		if _, dup := c.covIdx[cd.Name]; dup {
			return nil, m.errorf("covariate %q is declared twice", cd.Name)
		}
		if cd.Min != nil && cd.Max != nil && !(*cd.Min <= *cd.Max) {
			return nil, m.errorf("covariate %q: min %v > max %v", cd.Name, *cd.Min, *cd.Max)
		}
		for _, b := range []*float64{cd.Min, cd.Max, cd.Default} {
			if b != nil && (math.IsNaN(*b) || math.IsInf(*b, 0)) {
				return nil, m.errorf("covariate %q: min, max and default must be finite", cd.Name)
			}
		}
		c.covIdx[cd.Name] = i
	}

	need := map[paramField]bool{fieldCL: true, fieldV1: true}
	if c.linear.Peripherals >= 1 {
		need[fieldQ2], need[fieldV2] = true, true
	}
	if c.linear.Peripherals >= 2 {
		need[fieldQ3], need[fieldV3] = true, true
	}
	if c.linear.Depot {
		need[fieldKA] = true
	}
	seen := make(map[paramField]string)
	for i, p := range m.Parameters {
		f, ok := fieldOf(p.Name)
		if !ok {
			return nil, m.errorf("parameters[%d].name %q is not CL, V1 (V, Vc), Q (Q2), V2 (Vp), Q3, V3 or KA", i, p.Name)
		}
		if !need[f] {
			return nil, m.errorf("parameter %q is not used by a %d-compartment %s model", p.Name, m.Structure.Compartments, c.route())
		}
		if prev, dup := seen[f]; dup {
			return nil, m.errorf("parameters %q and %q are the same parameter (%s)", prev, p.Name, fieldNames[f])
		}
		seen[f] = p.Name
		if !finitePositive(p.Typical) {
			return nil, m.errorf("parameter %q: typical = %v, want a finite value > 0", p.Name, p.Typical)
		}
		effs := make([]CovariateEffect, 0, len(p.Effects))
		for j, e := range p.Effects {
			ce, err := c.effect(p.Name, j, e)
			if err != nil {
				return nil, err
			}
			effs = append(effs, ce)
		}
		c.fields = append(c.fields, f)
		c.effects = append(c.effects, effs)
	}
	for f := range numFields {
		if need[f] && seen[f] == "" {
			return nil, m.errorf("parameters: %s is missing (a %d-compartment %s model needs it)", fieldNames[f], m.Structure.Compartments, c.route())
		}
	}

	if math.IsNaN(m.F) || m.F < 0 || m.F > 1 {
		return nil, m.errorf("F = %v, want 0 < F ≤ 1 (0 means 1)", m.F)
	}
	if !(m.ALAG >= 0) || math.IsInf(m.ALAG, 0) {
		return nil, m.errorf("ALAG = %v h, want a finite lag ≥ 0", m.ALAG)
	}
	if m.F > 0 && m.F != 1 {
		c.dose.F = map[int]float64{c.linear.Spec().DoseCmt: m.F}
	}
	if m.ALAG > 0 {
		c.dose.Lag = map[int]float64{c.linear.Spec().DoseCmt: m.ALAG}
	}

	if err := c.compileIIV(); err != nil {
		return nil, err
	}
	if err := m.Error.Validate(); err != nil {
		return nil, m.errorf("error: %v", strings.TrimPrefix(err.Error(), "pkpd: "))
	}
	return c, nil
}

func (c *compiledModel) route() Route {
	if c.linear.Depot {
		return RouteOral
	}
	return RouteIV
}

func (c *compiledModel) effect(param string, j int, e CovariateEffectSpec) (CovariateEffect, error) {
	m := c.m
	if _, ok := c.covIdx[e.Covariate]; !ok {
		return nil, m.errorf("parameter %q: effects[%d].covariate %q is not declared in covariates", param, j, e.Covariate)
	}
	bad := func(field string, v float64) error {
		return m.errorf("parameter %q: effects[%d] (%s): %s = %v is not valid", param, j, e.Covariate, field, v)
	}
	if math.IsNaN(e.Theta) || math.IsInf(e.Theta, 0) {
		return nil, bad("theta", e.Theta)
	}
	switch e.Model {
	case EffectPower:
		if !finitePositive(e.Ref) {
			return nil, bad("ref", e.Ref)
		}
		return PowerCovariate{Name: e.Covariate, Ref: e.Ref, Theta: e.Theta}, nil
	case EffectExponential:
		if math.IsNaN(e.Ref) || math.IsInf(e.Ref, 0) {
			return nil, bad("ref", e.Ref)
		}
		return ExpCovariate{Name: e.Covariate, Ref: e.Ref, Theta: e.Theta}, nil
	case EffectCategorical:
		if !finitePositive(e.Theta) {
			return nil, bad("theta", e.Theta)
		}
		return CategoricalCovariate{Name: e.Covariate, Theta: e.Theta}, nil
	case EffectTable:
		if len(e.Factors) == 0 {
			return nil, m.errorf("parameter %q: effects[%d] (%s): factors is empty", param, j, e.Covariate)
		}
		for k, v := range e.Factors {
			if !finitePositive(v) {
				return nil, bad(fmt.Sprintf("factors[%d]", k), v)
			}
		}
		return TableCovariate{Name: e.Covariate, Factors: e.Factors}, nil
	}
	return nil, m.errorf("parameter %q: effects[%d].model %q, want power, exponential, categorical or table", param, j, e.Model)
}

func (c *compiledModel) compileIIV() error {
	m := c.m
	v := m.IIV
	n := len(v.Params)
	for i, name := range v.Params {
		k := -1
		for j, p := range m.Parameters {
			if p.Name == name {
				k = j
			}
		}
		if k < 0 {
			return m.errorf("iiv.params[%d] %q is not a parameter of the model", i, name)
		}
		for _, prev := range c.etaPar {
			if prev == k {
				return m.errorf("iiv.params: %q appears twice", name)
			}
		}
		c.etaPar = append(c.etaPar, k)
	}
	om := mat.NewSymDense(max(n, 1), nil)
	switch {
	case v.Omega != nil:
		if len(v.Omega) != n {
			return m.errorf("iiv.omega has %d rows, want %d (one per iiv.params)", len(v.Omega), n)
		}
		for i, row := range v.Omega {
			if len(row) != n {
				return m.errorf("iiv.omega row %d has %d values, want %d", i+1, len(row), n)
			}
		}
		for i := range n {
			for j := range n {
				x := v.Omega[i][j]
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return m.errorf("iiv.omega[%d][%d] = %v, want a finite value", i+1, j+1, x)
				}
				if x != v.Omega[j][i] {
					return m.errorf("iiv.omega is not symmetric: [%d][%d] = %v, [%d][%d] = %v", i+1, j+1, x, j+1, i+1, v.Omega[j][i])
				}
				if j >= i {
					om.SetSym(i, j, x)
				}
			}
		}
	case v.CV != nil:
		if len(v.CV) != n {
			return m.errorf("iiv.cv has %d values, want %d (one per iiv.params)", len(v.CV), n)
		}
		for i, cv := range v.CV {
			w, err := OmegaSqFromCV(cv, v.Convention)
			if err != nil {
				return m.errorf("iiv.cv[%d] (%s): %v", i+1, v.Params[i], strings.TrimPrefix(err.Error(), "pkpd: "))
			}
			om.SetSym(i, i, w)
		}
	default:
		if n > 0 {
			return m.errorf("iiv: params given without omega or cv")
		}
	}
	if n == 0 {
		c.omega = nil
		return nil
	}
	var ch mat.Cholesky
	if !ch.Factorize(om) {
		return m.errorf("iiv.omega is not positive definite (a zero-variance η must be left out)")
	}
	c.omega = om
	return nil
}

// NumEta returns the number of random effects η of the model (the length of
// IIV.Params).
func (m *DrugModel) NumEta() int { return len(m.IIV.Params) }

// Omega returns the covariance matrix Ω of η (ω², dimensionless), nil for a
// model without IIV.
func (m *DrugModel) Omega() (*mat.SymDense, error) {
	c, err := m.compile()
	if err != nil {
		return nil, err
	}
	if c.omega == nil {
		return nil, nil
	}
	return mat.NewSymDense(c.omega.SymmetricDim(), append([]float64(nil), c.omega.RawSymmetric().Data...)), nil
}

// covariates applies defaults and clamps; the result holds every declared
// covariate.
func (c *compiledModel) covariates(cov map[string]float64) (map[string]float64, error) {
	m := c.m
	for name := range cov {
		if _, ok := c.covIdx[name]; !ok {
			return nil, m.errorf("unknown covariate %q (the model declares %s)", name, c.covNames())
		}
	}
	out := make(map[string]float64, len(m.Covariates))
	for _, cd := range m.Covariates {
		x, ok := cov[cd.Name]
		switch {
		case ok:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, m.errorf("covariate %q = %v, want a finite value", cd.Name, x)
			}
		case cd.Default != nil:
			x = *cd.Default
		default:
			return nil, m.errorf("covariate %q is required and missing", cd.Name)
		}
		if cd.Min != nil {
			x = math.Max(x, *cd.Min)
		}
		if cd.Max != nil {
			x = math.Min(x, *cd.Max)
		}
		out[cd.Name] = x
	}
	return out, nil
}

func (c *compiledModel) covNames() string {
	var s []string
	for _, cd := range c.m.Covariates {
		s = append(s, fmt.Sprintf("%q", cd.Name))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// typical returns the typical values, in the order of m.Parameters.
func (c *compiledModel) typical(cov map[string]float64) ([]float64, error) {
	x, err := c.covariates(cov)
	if err != nil {
		return nil, err
	}
	tv := make([]float64, len(c.m.Parameters))
	for i, p := range c.m.Parameters {
		v, err := TypicalValue(p.Typical, x, c.effects[i]...)
		if err != nil {
			return nil, c.m.errorf("parameter %q: %v", p.Name, strings.TrimPrefix(err.Error(), "pkpd: "))
		}
		if !finitePositive(v) {
			return nil, c.m.errorf("parameter %q: typical value %v for these covariates, want a finite value > 0", p.Name, v)
		}
		tv[i] = v
	}
	return tv, nil
}

// params writes tv·exp(η) into Params.
func (c *compiledModel) params(tv, eta []float64) Params {
	var p Params
	for i, f := range c.fields {
		f.set(&p, tv[i])
	}
	for k, i := range c.etaPar {
		c.fields[i].set(&p, tv[i]*math.Exp(eta[k]))
	}
	return p
}

func (c *compiledModel) checkEta(eta []float64) error {
	if len(eta) != len(c.etaPar) {
		return c.m.errorf("eta has %d values, want %d (iiv.params %v)", len(eta), len(c.etaPar), c.m.IIV.Params)
	}
	for i, e := range eta {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return c.m.errorf("eta[%d] = %v, want a finite value", i, e)
		}
	}
	return nil
}

// Typical returns the population (typical) parameters of a patient with
// covariates cov (η = 0): units L/h, L and 1/h. Covariates the model
// declares with a default may be left out; an undeclared one is an error.
func (m *DrugModel) Typical(cov map[string]float64) (Params, error) {
	return m.Individual(cov, make([]float64, m.NumEta()))
}

// Individual returns the parameters TV(cov)·exp(η) of a patient with
// covariates cov and random effects eta (length NumEta, in the order of
// IIV.Params).
func (m *DrugModel) Individual(cov map[string]float64, eta []float64) (Params, error) {
	c, err := m.compile()
	if err != nil {
		return Params{}, err
	}
	if err := c.checkEta(eta); err != nil {
		return Params{}, err
	}
	tv, err := c.typical(cov)
	if err != nil {
		return Params{}, err
	}
	return c.params(tv, eta), nil
}

// Named returns the model's parameters in p by the names the model gives
// them (Parameters[i].Name), e.g. {"CL": 2.56, "Vc": 48.0, "Q": 6.5,
// "Vp": 38.8}.
func (m *DrugModel) Named(p Params) map[string]float64 {
	out := make(map[string]float64, len(m.Parameters))
	for _, q := range m.Parameters {
		if f, ok := fieldOf(q.Name); ok {
			out[q.Name] = f.get(p)
		}
	}
	return out
}

// Linear returns the model's structural Linear model: doses of RouteIV go to
// CMT 1 (the central compartment), of RouteOral to CMT 1 (the depot), see
// Linear.
func (m *DrugModel) Linear() (Linear, error) {
	c, err := m.compile()
	if err != nil {
		return Linear{}, err
	}
	return c.linear, nil
}

// Dosing returns the model's F and ALAG as the Dosing of NewSchedule (F
// and Lag keyed by the dose compartment, CMT 1; empty maps stand for the
// defaults F = 1 and no lag). Predict, AUC, SteadyState, Fit and Dose
// apply it; a caller simulating the model's Linear with its own schedule
// passes it to Linear.NewSchedule.
func (m *DrugModel) Dosing() (Dosing, error) {
	c, err := m.compile()
	if err != nil {
		return Dosing{}, err
	}
	return c.dose, nil
}

// Predict returns the central concentrations in mg/L at times (h, any
// order; each a left limit, before a dose at the same time) for the dose
// records doses and parameters p (from Individual or Typical), with the
// model's F and ALAG applied to doses into CMT 1.
func (m *DrugModel) Predict(p Params, doses []Record, times []float64) ([]float64, error) {
	c, err := m.compile()
	if err != nil {
		return nil, err
	}
	s, err := c.linear.NewSchedule(doses, c.dose, ScheduleOptions{})
	if err != nil {
		return nil, err
	}
	return predictSorted(c.linear, p, s, times)
}

// predictSorted predicts at times in any order.
func predictSorted(lin Linear, p Params, s *Schedule, times []float64) ([]float64, error) {
	idx, sorted := sortTimes(times)
	dst := make([]float64, len(times))
	buf := make([]float64, len(times))
	if err := lin.PredictInto(buf, p, s, sorted); err != nil {
		return nil, err
	}
	for k, i := range idx {
		dst[i] = buf[k]
	}
	return dst, nil
}

// sortTimes returns the permutation that sorts times and the sorted copy.
func sortTimes(times []float64) ([]int, []float64) {
	idx := make([]int, len(times))
	for i := range idx {
		idx[i] = i
	}
	sortIdx(idx, times)
	sorted := make([]float64, len(times))
	for k, i := range idx {
		sorted[k] = times[i]
	}
	return idx, sorted
}

// sortIdx sorts idx stably by times[idx].
func sortIdx(idx []int, times []float64) {
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(times[a], times[b]) })
}
