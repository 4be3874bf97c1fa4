package pkmodel

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"gonum.org/v1/gonum/mat"

	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/model/pkpd"
)

// Model is a decoded population PK model file. Units: amounts mg, volumes
// L, clearances L/h, rate constants 1/h, concentrations mg/L; covariates in
// the unit the file declares for each.
type Model struct {
	Name     string // library name, e.g. vancomycin-goti2018
	Title    string
	Drug     string
	Citation Citation
	// Compartments is 1, 2 or 3; Oral adds a first-order absorption depot
	// (parameter KA).
	Compartments int
	Oral         bool
	// Params are the structural parameters in the order of ParamNames.
	Params []Param
	// F is the bioavailable fraction of doses into the dose compartment
	// (the depot of an oral model, the central compartment of an IV one):
	// 0 < F ≤ 1, 1 when the file gives none. ALAG is their lag time in h
	// (0 when the file gives none). Neither has covariate effects or IIV.
	F, ALAG    float64
	Covariates []Covariate
	// IIV is log-normal: P_i = TV_i·exp(η_i) for the parameters named in
	// IIVNames, η ~ N(0, Omega) (log-scale variances and covariances, rows
	// in the order of IIVNames). CVConvention says how the file's %CV
	// became ω² ("lognormal", "approximate"; "" when Ω was given directly).
	IIVNames     []string
	Omega        [][]float64
	CVConvention string
	Residual     pkpd.ResidualError
	// Metabolism gives the fraction of clearance through each
	// pharmacogene's enzyme, so that a scenario need only give a genotype
	// or an inhibitor's enzyme; PD is the model's pharmacodynamic model
	// (nil when none). A scenario's pgx and pd override them.
	Metabolism []Pathway
	PD         *PD
	Notes      string
	// PK is the model as pkpd data, validated.
	PK *pkpd.DrugModel
}

// Citation is where a model comes from.
type Citation struct {
	Reference string // authors, title, journal, year;volume:pages
	DOI       string
	Source    string // tables and transcription checks
}

// Param is a structural parameter's typical value (at the covariates'
// reference values, before covariate effects).
type Param struct {
	Name  string
	Value float64 // in Unit
	Unit  string  // L/h, L or 1/h
	Doc   string
}

// Covariate is a patient characteristic the model uses.
type Covariate struct {
	Name        string // as written in dosing files, e.g. weight
	Description string
	Boolean     bool   // true/false (1/0), e.g. dialysis
	Unit        string // model unit of a continuous covariate, e.g. kg
	unit        Unit
	// Min and Max clamp the value before the effects apply (NaN: none),
	// e.g. CrCL capped at 150 mL/min.
	Min, Max float64
	Effects  []Effect
}

// Effect is one multiplicative covariate effect on a typical value.
type Effect struct {
	Param string
	// Kind is "power" ((x/Ref)^Theta), "exponential" (exp(Theta·(x−Ref)))
	// or "factor" (Theta^x for a boolean x).
	Kind       string
	Ref, Theta float64
}

// paramRoles lists the parameter names of each structure.
func paramNames(cmt int, oral bool) []string {
	var n []string
	switch cmt {
	case 1:
		n = []string{"CL", "V"}
	case 2:
		n = []string{"CL", "Vc", "Q", "Vp"}
	case 3:
		n = []string{"CL", "V1", "Q2", "V2", "Q3", "V3"}
	}
	if oral {
		n = append(n, "KA")
	}
	return n
}

// ParamNames returns the names of the structural parameters.
func (m *Model) ParamNames() []string { return paramNames(m.Compartments, m.Oral) }

// Linear returns the closed-form structural model.
func (m *Model) Linear() pkpd.Linear {
	return pkpd.Linear{Peripherals: m.Compartments - 1, Depot: m.Oral}
}

// Dosing returns the model's F and ALAG as the pkpd.Dosing of
// Linear().NewSchedule (keyed by the dose compartment, CMT 1).
func (m *Model) Dosing() pkpd.Dosing {
	var d pkpd.Dosing
	if m.F != 0 && m.F != 1 {
		d.F = map[int]float64{1: m.F}
	}
	if m.ALAG != 0 {
		d.Lag = map[int]float64{1: m.ALAG}
	}
	return d
}

// Covariate returns the named covariate.
func (m *Model) Covariate(name string) (*Covariate, bool) {
	for i := range m.Covariates {
		if m.Covariates[i].Name == name {
			return &m.Covariates[i], true
		}
	}
	return nil, false
}

// drugModel builds the pkpd model of m.
func (m *Model) drugModel() *pkpd.DrugModel {
	dm := &pkpd.DrugModel{
		Name:      m.Name,
		Drug:      m.Drug,
		Citation:  m.Citation.Reference + " doi:" + m.Citation.DOI,
		Structure: pkpd.Structure{Compartments: m.Compartments, Route: pkpd.RouteIV},
		IIV:       pkpd.Variability{Params: m.IIVNames, Omega: m.Omega},
		Error:     m.Residual,
		F:         m.F,
		ALAG:      m.ALAG,
	}
	if m.Oral {
		dm.Structure.Route = pkpd.RouteOral
	}
	for _, p := range m.Params {
		dm.Parameters = append(dm.Parameters, pkpd.Parameter{Name: p.Name, Typical: p.Value})
	}
	for _, c := range m.Covariates {
		def := pkpd.CovariateDef{Name: c.Name, Unit: c.Unit}
		if !math.IsNaN(c.Min) {
			def.Min = &c.Min
		}
		if !math.IsNaN(c.Max) {
			def.Max = &c.Max
		}
		dm.Covariates = append(dm.Covariates, def)
		for _, e := range c.Effects {
			i := slices.IndexFunc(dm.Parameters, func(p pkpd.Parameter) bool { return p.Name == e.Param })
			if i < 0 {
				continue // reported by the decoder
			}
			eff := pkpd.CovariateEffectSpec{Covariate: c.Name, Ref: e.Ref, Theta: e.Theta}
			switch e.Kind {
			case "power":
				eff.Model = pkpd.EffectPower
			case "exponential":
				eff.Model = pkpd.EffectExponential
			case "factor":
				eff.Model = pkpd.EffectCategorical
			}
			dm.Parameters[i].Effects = append(dm.Parameters[i].Effects, eff)
		}
	}
	return dm
}

// maxValue bounds numbers in model files: larger ones are typing mistakes.
const maxValue = 1e6

// ParseModel decodes and validates a model file. file is used in messages
// only. The error, if any, is a *scenario.Error naming file:line and field.
func ParseModel(file string, data []byte) (*Model, error) {
	d := scenario.NewDecoder(file, "model fields (name, title, drug, citation, structure, parameters, ...)")
	root, err := d.Document(data)
	if err != nil {
		return nil, err
	}
	m := &Model{}
	f := d.Fields(root, "", []string{"name", "title", "drug", "citation", "structure", "parameters", "covariates", "iiv", "residual", "metabolism", "pd", "notes"})
	str := func(name, example string, dst *string) {
		if n, ok := d.Required(root, f, name, "", example); ok {
			*dst, _ = d.Str(n, name, "a string")
		}
	}
	str("name", "name: vancomycin-goti2018", &m.Name)
	str("title", "title: Vancomycin in hospitalised adults", &m.Title)
	str("drug", "drug: vancomycin", &m.Drug)
	if p, ok := f["notes"]; ok {
		m.Notes, _ = d.Str(p.Val, "notes", "text")
	}
	if n, ok := d.Required(root, f, "citation", "", "citation: {reference: ..., doi: 10.1097/FTD.0000000000000490}"); ok {
		m.Citation = citation(d, n)
	}
	structOK := false
	if n, ok := d.Required(root, f, "structure", "", "structure: {compartments: 2, route: iv}"); ok {
		structOK = structure(d, n, m)
	}
	if !structOK {
		return nil, errOr(d)
	}
	if n, ok := d.Required(root, f, "parameters", "", "parameters: {CL: {value: 4.5 L/h}, ...}"); ok {
		parameters(d, n, m)
	}
	if p, ok := f["covariates"]; ok {
		covariates(d, p.Val, m)
	}
	if n, ok := d.Required(root, f, "iiv", "", "iiv: {cv: {CL: 39.8 %}}"); ok {
		iiv(d, n, m)
	}
	if n, ok := d.Required(root, f, "residual", "", "residual: {model: combined, additive: 3.4 mg/L, proportional: 22.7 %}"); ok {
		residual(d, n, m)
	}
	if p, ok := f["metabolism"]; ok {
		m.Metabolism = pathways(d, p.Val, "metabolism")
	}
	if p, ok := f["pd"]; ok {
		m.PD = pdModel(d, p.Val)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	m.PK = m.drugModel()
	if err := m.PK.Validate(); err != nil {
		d.Errorf(root, "", "%s", strings.TrimPrefix(err.Error(), "pkpd: "))
		return nil, d.Err()
	}
	return m, nil
}

// errOr returns the decoder's error (there is one when called).
func errOr(d *scenario.Decoder) error {
	if err := d.Err(); err != nil {
		return err
	}
	return fmt.Errorf("pkmodel: invalid model")
}

func mapping(d *scenario.Decoder, n *yaml.Node, field, example string) bool {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, field, "must be a mapping such as %s, got %s", example, scenario.Describe(n))
		return false
	}
	return true
}

func citation(d *scenario.Decoder, n *yaml.Node) Citation {
	var c Citation
	if !mapping(d, n, "citation", "{reference: ..., doi: ...}") {
		return c
	}
	f := d.Fields(n, "citation", []string{"reference", "doi", "source"})
	if v, ok := d.Required(n, f, "reference", "citation", "reference: \"Goti V, ... Ther Drug Monit 2018;40(2):212-221\""); ok {
		c.Reference, _ = d.Str(v, "citation.reference", "a string")
	}
	if v, ok := d.Required(n, f, "doi", "citation", "doi: 10.1097/FTD.0000000000000490"); ok {
		if s, ok := d.Str(v, "citation.doi", "a DOI such as 10.1097/FTD.0000000000000490"); ok {
			if !strings.HasPrefix(s, "10.") || !strings.Contains(s, "/") {
				d.Errorf(v, "citation.doi", "must be a DOI such as 10.1097/FTD.0000000000000490 (without https://doi.org/), got %q", s)
			}
			c.DOI = s
		}
	}
	if v, ok := f["source"]; ok {
		c.Source, _ = d.Str(v.Val, "citation.source", "a string")
	}
	return c
}

func structure(d *scenario.Decoder, n *yaml.Node, m *Model) bool {
	if !mapping(d, n, "structure", "{compartments: 2, route: iv}") {
		return false
	}
	f := d.Fields(n, "structure", []string{"compartments", "route"})
	ok1, ok2 := false, false
	if v, ok := d.Required(n, f, "compartments", "structure", "compartments: 2"); ok {
		m.Compartments, ok1 = d.WholeNumber(v, "structure.compartments", 1, 3)
	}
	if v, ok := d.Required(n, f, "route", "structure", "route: iv"); ok {
		var r string
		if r, ok2 = d.Name(v, "structure.route", "route", []string{"iv", "oral"}); ok2 {
			m.Oral = r == "oral"
		}
	}
	return ok1 && ok2
}

// quantity decodes a "<number> <unit>" scalar converted to unit to.
func quantity(d *scenario.Decoder, n *yaml.Node, field string, to Unit) (float64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.Errorf(n, field, "must be a quantity such as \"1 %s\", got %s", to.Symbol, scenario.Describe(n))
		return 0, false
	}
	if n.Tag == "!!int" || n.Tag == "!!float" {
		d.Errorf(n, field, "must be a quantity with a unit, such as \"%s %s\", got the bare number %s", n.Value, to.Symbol, n.Value)
		return 0, false
	}
	q, err := ParseQuantity(n.Value)
	if err != nil {
		d.Errorf(n, field, "%s", strings.TrimPrefix(err.Error(), "pkmodel: "))
		return 0, false
	}
	v, err := q.In(to)
	if err != nil {
		d.Errorf(n, field, "wrong unit %s: want a unit that converts to %s", q.Unit.Symbol, to.Symbol)
		return 0, false
	}
	return v, true
}

func parameters(d *scenario.Decoder, n *yaml.Node, m *Model) {
	names := m.ParamNames()
	if !mapping(d, n, "parameters", "{CL: {value: 4.5 L/h}}") {
		return
	}
	f := d.Fields(n, "parameters", append(slices.Clone(names), "F", "ALAG"))
	defer dosingParams(d, f, m)
	for _, name := range names {
		path := "parameters." + name
		v, ok := d.Required(n, f, name, "parameters", name+": {value: ...}")
		if !ok {
			continue
		}
		unit := unitL
		switch {
		case name == "KA":
			unit = unitPerH
		case strings.HasPrefix(name, "CL") || strings.HasPrefix(name, "Q"):
			unit = unitLh
		}
		p := Param{Name: name, Unit: unit.Symbol}
		if !mapping(d, v, path, "{value: 4.5 L/h, doc: ...}") {
			continue
		}
		pf := d.Fields(v, path, []string{"value", "doc"})
		if val, ok := d.Required(v, pf, "value", path, "value: 4.5 "+unit.Symbol); ok {
			if x, ok := quantity(d, val, path+".value", unit); ok {
				if x <= 0 || x > maxValue {
					d.Errorf(val, path+".value", "must be > 0 and <= %g %s, got %s", maxValue, unit.Symbol, val.Value)
				}
				p.Value = x
			}
		}
		if doc, ok := pf["doc"]; ok {
			p.Doc, _ = d.Str(doc.Val, path+".doc", "text")
		}
		m.Params = append(m.Params, p)
	}
}

// dosingParams decodes the optional parameters F (a fraction: 0.8 or
// 80 %) and ALAG (a time: 0.5 h).
func dosingParams(d *scenario.Decoder, f map[string]scenario.Field, m *Model) {
	m.F = 1
	value := func(name, example, valueExample string) (*yaml.Node, string, bool) {
		path := "parameters." + name
		p, ok := f[name]
		if !ok || !mapping(d, p.Val, path, example) {
			return nil, "", false
		}
		pf := d.Fields(p.Val, path, []string{"value", "doc"})
		if doc, ok := pf["doc"]; ok {
			d.Str(doc.Val, path+".doc", "text")
		}
		v, ok := d.Required(p.Val, pf, "value", path, "value: "+valueExample)
		return v, path + ".value", ok
	}
	if v, path, ok := value("F", "{value: 0.8}", "0.8"); ok {
		var x float64
		if v.Tag == "!!int" || v.Tag == "!!float" {
			x, ok = d.Number(v, path, -maxValue, maxValue, "")
		} else {
			x, ok = quantity(d, v, path, unitRatio)
		}
		if ok {
			if !(x > 0 && x <= 1) {
				d.Errorf(v, path, "bioavailability must be > 0 and <= 1 (100 %%), got %s", v.Value)
			}
			m.F = x
		}
	}
	if v, path, ok := value("ALAG", "{value: 0.5 h}", "0.5 h"); ok {
		if x, ok := quantity(d, v, path, unitH); ok {
			if !(x >= 0 && x <= maxValue) {
				d.Errorf(v, path, "lag time must be >= 0 and <= %g h, got %s", maxValue, v.Value)
			}
			m.ALAG = x
		}
	}
}

func covariates(d *scenario.Decoder, n *yaml.Node, m *Model) {
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "covariates", "must be a list such as [{name: weight, unit: kg, effects: [...]}], got %s", scenario.Describe(n))
		return
	}
	for i, item := range n.Content {
		item = scenario.Resolve(item)
		path := fmt.Sprintf("covariates[%d]", i)
		if !mapping(d, item, path, "{name: weight, unit: kg, effects: [...]}") {
			continue
		}
		f := d.Fields(item, path, []string{"name", "description", "unit", "type", "min", "max", "effects"})
		c := Covariate{Min: math.NaN(), Max: math.NaN()}
		if v, ok := d.Required(item, f, "name", path, "name: weight"); ok {
			if c.Name, ok = d.Str(v, path+".name", "a covariate name"); ok {
				if _, dup := m.Covariate(c.Name); dup {
					d.Errorf(v, path+".name", "duplicate covariate %q", c.Name)
				}
			}
		}
		if v, ok := f["description"]; ok {
			c.Description, _ = d.Str(v.Val, path+".description", "text")
		}
		if v, ok := d.Required(item, f, "type", path, "type: continuous"); ok {
			t, _ := d.Name(v, path+".type", "covariate type", []string{"continuous", "boolean"})
			c.Boolean = t == "boolean"
		}
		if c.Boolean {
			for _, k := range []string{"unit", "min", "max"} {
				if v, ok := f[k]; ok {
					d.Errorf(v.Key, path+"."+k, "a boolean covariate has no %s", k)
				}
			}
		} else if v, ok := d.Required(item, f, "unit", path, "unit: kg"); ok {
			if s, ok := d.Str(v, path+".unit", "a UCUM unit such as kg"); ok {
				u, err := ParseUnit(s)
				if err != nil {
					d.Errorf(v, path+".unit", "%s", strings.TrimPrefix(err.Error(), "pkmodel: "))
				} else {
					c.Unit, c.unit = s, u
					for _, k := range []string{"min", "max"} {
						if v, ok := f[k]; ok {
							if x, ok := quantity(d, v.Val, path+"."+k, u); ok {
								if k == "min" {
									c.Min = x
								} else {
									c.Max = x
								}
							}
						}
					}
				}
			}
		}
		if v, ok := d.Required(item, f, "effects", path, "effects: [{on: CL, power: 0.75, reference: 70 kg}]"); ok {
			c.Effects = effects(d, v, path+".effects", &c, m)
		}
		m.Covariates = append(m.Covariates, c)
	}
}

func effects(d *scenario.Decoder, n *yaml.Node, path string, c *Covariate, m *Model) []Effect {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.Errorf(n, path, "must be a non-empty list such as [{on: CL, power: 0.75, reference: 70 kg}], got %s", scenario.Describe(n))
		return nil
	}
	var out []Effect
	for i, item := range n.Content {
		item = scenario.Resolve(item)
		p := fmt.Sprintf("%s[%d]", path, i)
		if !mapping(d, item, p, "{on: CL, power: 0.75, reference: 70 kg}") {
			continue
		}
		known := []string{"on", "power", "exponential", "reference"}
		if c.Boolean {
			known = []string{"on", "factor"}
		}
		f := d.Fields(item, p, known)
		e := Effect{}
		if v, ok := d.Required(item, f, "on", p, "on: CL"); ok {
			e.Param, _ = d.Name(v, p+".on", "parameter", m.ParamNames())
		}
		if c.Boolean {
			if v, ok := d.Required(item, f, "factor", p, "factor: 0.7"); ok {
				e.Kind = "factor"
				if e.Theta, ok = d.Number(v, p+".factor", 0, maxValue, ""); ok && e.Theta <= 0 {
					d.Errorf(v, p+".factor", "must be > 0, got %s", v.Value)
				}
			}
		} else {
			pw, hasP := f["power"]
			ex, hasE := f["exponential"]
			switch {
			case hasP && hasE:
				d.Errorf(ex.Key, p+".exponential", "give either power or exponential, not both")
			case hasP:
				e.Kind = "power"
				e.Theta, _ = d.Number(pw.Val, p+".power", -10, 10, "")
			case hasE:
				e.Kind = "exponential"
				e.Theta, _ = d.Number(ex.Val, p+".exponential", -10, 10, "per "+c.Unit)
			default:
				d.Errorf(item, p, "missing the effect: add power: θ for (x/reference)^θ or exponential: θ for exp(θ·(x − reference))")
			}
			if v, ok := d.Required(item, f, "reference", p, "reference: 70 kg"); ok && c.Unit != "" {
				if x, ok := quantity(d, v, p+".reference", c.unit); ok {
					if e.Kind == "power" && x <= 0 {
						d.Errorf(v, p+".reference", "must be > 0 for a power effect, got %s", v.Value)
					}
					e.Ref = x
				}
			}
		}
		out = append(out, e)
	}
	return out
}

// cvConventions are the accepted iiv.cv_convention values.
var cvConventions = []string{"lognormal", "approximate"}

func iiv(d *scenario.Decoder, n *yaml.Node, m *Model) {
	if !mapping(d, n, "iiv", "{cv_convention: lognormal, cv: {CL: 39.8 %}}") {
		return
	}
	f := d.Fields(n, "iiv", []string{"cv_convention", "cv", "correlation", "omega"})
	cv, hasCV := f["cv"]
	om, hasOm := f["omega"]
	var names []string
	var omega *mat.SymDense
	switch {
	case hasCV && hasOm:
		d.Errorf(om.Key, "iiv.omega", "give either cv (with cv_convention) or omega, not both")
		return
	case hasOm:
		for _, k := range []string{"cv_convention", "correlation"} {
			if v, ok := f[k]; ok {
				d.Errorf(v.Key, "iiv."+k, "only with iiv.cv; omega gives the variances and covariances directly")
			}
		}
		names, omega = omegaBlock(d, om.Val, m)
	case hasCV:
		conv := ""
		if v, ok := d.Required(n, f, "cv_convention", "iiv", "cv_convention: lognormal"); ok {
			conv, _ = d.Name(v, "iiv.cv_convention", "CV convention (lognormal: ω² = ln(CV²+1); approximate: ω² = CV²)", cvConventions)
		}
		m.CVConvention = conv
		names, omega = cvBlock(d, cv.Val, conv, f, m)
	default:
		d.Errorf(n, "iiv", "missing cv or omega; add e.g. cv: {CL: 39.8 %%} with cv_convention: lognormal")
		return
	}
	if omega == nil {
		return
	}
	if _, err := pkpd.NewIIV(names, omega); err != nil {
		d.Errorf(n, "iiv", "%s", strings.TrimPrefix(err.Error(), "pkpd: "))
		return
	}
	m.IIVNames = names
	m.Omega = make([][]float64, len(names))
	for i := range names {
		m.Omega[i] = make([]float64, len(names))
		for j := range names {
			m.Omega[i][j] = omega.At(i, j)
		}
	}
}

// cvBlock decodes iiv.cv and iiv.correlation into Ω.
func cvBlock(d *scenario.Decoder, n *yaml.Node, conv string, f map[string]scenario.Field, m *Model) ([]string, *mat.SymDense) {
	if !mapping(d, n, "iiv.cv", "{CL: 39.8 %}") {
		return nil, nil
	}
	cf := d.Fields(n, "iiv.cv", m.ParamNames())
	var names []string
	var vars []float64
	for _, name := range m.ParamNames() { // parameter order, not file order
		v, ok := cf[name]
		if !ok {
			continue
		}
		x, ok := quantity(d, v.Val, "iiv.cv."+name, unitRatio)
		if !ok || conv == "" {
			continue
		}
		if x <= 0 || x > 10 {
			d.Errorf(v.Val, "iiv.cv."+name, "must be > 0 %% and <= 1000 %%, got %s", v.Val.Value)
			continue
		}
		c := pkpd.LogNormalCV
		if conv == "approximate" {
			c = pkpd.ApproxCV
		}
		w, err := pkpd.OmegaSqFromCV(x, c)
		if err != nil {
			d.Errorf(v.Val, "iiv.cv."+name, "%s", strings.TrimPrefix(err.Error(), "pkpd: "))
			continue
		}
		names = append(names, name)
		vars = append(vars, w)
	}
	if len(names) == 0 {
		d.Errorf(n, "iiv.cv", "must give the CV of at least one parameter")
		return nil, nil
	}
	omega := pkpd.DiagonalOmega(vars...)
	if c, ok := f["correlation"]; ok {
		if !mapping(d, c.Val, "iiv.correlation", "{CL-Vc: 0.21}") {
			return nil, nil
		}
		for i := 0; i+1 < len(c.Val.Content); i += 2 {
			k, v := scenario.Resolve(c.Val.Content[i]), scenario.Resolve(c.Val.Content[i+1])
			path := "iiv.correlation." + k.Value
			a, b, ok := strings.Cut(k.Value, "-")
			ia, ib := slices.Index(names, a), slices.Index(names, b)
			if !ok || ia < 0 || ib < 0 || ia == ib {
				d.Errorf(k, path, "must name two parameters with a CV as A-B, e.g. CL-Vc; parameters with a CV: %s", strings.Join(names, ", "))
				continue
			}
			r, ok := d.Number(v, path, -1, 1, "")
			if !ok {
				continue
			}
			omega.SetSym(ia, ib, r*math.Sqrt(vars[ia]*vars[ib]))
		}
	}
	return names, omega
}

// omegaBlock decodes iiv.omega: {parameters: [CL, Vc], matrix: [[...], [...]]}
// (lower triangle or full, the log-scale variances and covariances).
func omegaBlock(d *scenario.Decoder, n *yaml.Node, m *Model) ([]string, *mat.SymDense) {
	const ex = "{parameters: [CL, Vc], matrix: [[0.446], [0.0372, 0.0704]]}"
	if !mapping(d, n, "iiv.omega", ex) {
		return nil, nil
	}
	f := d.Fields(n, "iiv.omega", []string{"parameters", "matrix"})
	var names []string
	if v, ok := d.Required(n, f, "parameters", "iiv.omega", "parameters: [CL, Vc]"); ok {
		if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			d.Errorf(v, "iiv.omega.parameters", "must be a list of parameter names such as [CL, Vc], got %s", scenario.Describe(v))
			return nil, nil
		}
		for i, it := range v.Content {
			s, ok := d.Name(scenario.Resolve(it), fmt.Sprintf("iiv.omega.parameters[%d]", i), "parameter", m.ParamNames())
			if !ok {
				return nil, nil
			}
			if slices.Contains(names, s) {
				d.Errorf(it, fmt.Sprintf("iiv.omega.parameters[%d]", i), "duplicate parameter %s", s)
				return nil, nil
			}
			names = append(names, s)
		}
	}
	v, ok := d.Required(n, f, "matrix", "iiv.omega", "matrix: [[0.446], [0.0372, 0.0704]]")
	if !ok || names == nil {
		return nil, nil
	}
	k := len(names)
	if v.Kind != yaml.SequenceNode || len(v.Content) != k {
		d.Errorf(v, "iiv.omega.matrix", "must be a list of %d rows (lower triangle or full), got %s", k, scenario.Describe(v))
		return nil, nil
	}
	omega := mat.NewSymDense(k, nil)
	for i, row := range v.Content {
		row = scenario.Resolve(row)
		p := fmt.Sprintf("iiv.omega.matrix[%d]", i)
		if row.Kind != yaml.SequenceNode || (len(row.Content) != i+1 && len(row.Content) != k) {
			d.Errorf(row, p, "must be a list of %d (lower triangle) or %d numbers, got %s", i+1, k, scenario.Describe(row))
			return nil, nil
		}
		for j := 0; j <= i; j++ {
			x, ok := d.Number(scenario.Resolve(row.Content[j]), fmt.Sprintf("%s[%d]", p, j), -maxValue, maxValue, "")
			if !ok {
				return nil, nil
			}
			omega.SetSym(i, j, x)
		}
		for j := i + 1; j < len(row.Content); j++ {
			d.Number(scenario.Resolve(row.Content[j]), fmt.Sprintf("%s[%d]", p, j), -maxValue, maxValue, "")
		}
	}
	// A full matrix must be symmetric.
	for i, row := range v.Content {
		row = scenario.Resolve(row)
		for j := i + 1; j < len(row.Content); j++ {
			var x float64
			if err := scenario.Resolve(row.Content[j]).Decode(&x); err == nil && x != omega.At(i, j) {
				d.Errorf(row.Content[j], fmt.Sprintf("iiv.omega.matrix[%d][%d]", i, j), "must equal matrix[%d][%d] = %g (Ω is symmetric), got %s", j, i, omega.At(i, j), row.Content[j].Value)
			}
		}
	}
	return names, omega
}

// residualModels are the accepted residual.model values.
var residualModels = []string{"additive", "proportional", "combined"}

func residual(d *scenario.Decoder, n *yaml.Node, m *Model) {
	if !mapping(d, n, "residual", "{model: combined, additive: 3.4 mg/L, proportional: 22.7 %}") {
		return
	}
	f := d.Fields(n, "residual", []string{"model", "additive", "proportional"})
	var kind string
	if v, ok := d.Required(n, f, "model", "residual", "model: combined"); ok {
		kind, _ = d.Name(v, "residual.model", "residual error model", residualModels)
	}
	r := pkpd.ResidualError{}
	want := map[string][]string{"additive": {"additive"}, "proportional": {"proportional"}, "combined": {"additive", "proportional"}}[kind]
	switch kind {
	case "additive":
		r.Model = pkpd.AdditiveError
	case "proportional":
		r.Model = pkpd.ProportionalError
	case "combined":
		r.Model = pkpd.CombinedError
	}
	for _, k := range []string{"additive", "proportional"} {
		v, has := f[k]
		if kind != "" && !slices.Contains(want, k) && has {
			d.Errorf(v.Key, "residual."+k, "a %s error model has no %s part", kind, k)
			continue
		}
		if kind == "" || !slices.Contains(want, k) {
			continue
		}
		if !has {
			ex := "additive: 3.4 mg/L"
			if k == "proportional" {
				ex = "proportional: 22.7 %"
			}
			d.Errorf(n, "residual."+k, "missing; a %s error model needs it, e.g. %s", kind, ex)
			continue
		}
		unit := unitMgL
		if k == "proportional" {
			unit = unitRatio
		}
		x, ok := quantity(d, v.Val, "residual."+k, unit)
		if !ok {
			continue
		}
		if x <= 0 || x > maxValue {
			d.Errorf(v.Val, "residual."+k, "must be > 0, got %s", v.Val.Value)
			continue
		}
		if k == "additive" {
			r.Add = x
		} else {
			r.Prop = x
		}
	}
	m.Residual = r
}
