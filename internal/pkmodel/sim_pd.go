package pkmodel

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/model/pkpd"
	"github.com/doppelhealth/doppel/ode"
)

// geneNames are the pharmacogenes a PK scenario's genotype field accepts.
var geneNames = []string{string(pkpd.CYP2D6), string(pkpd.CYP2C9), string(pkpd.CYP2C19)}

// GenePathway is one pharmacogene of a PK scenario: the patient's diplotype,
// its CPIC call and the fraction of the drug's clearance through the gene's
// enzyme.
//
//	genotype: {CYP2D6: "*1/*4"}
//	pgx: {CYP2D6: {fm: 0.6}}        # fm: fraction of CL by the enzyme, [0, 1]
type GenePathway struct {
	Gene pkpd.Gene
	Call pkpd.PGxResult
	Fm   float64 // fraction of reference clearance through the enzyme, in [0, 1]
	// RefActivity is the activity score the model's clearance refers to
	// (default 2, a *1/*1 normal metabolizer).
	RefActivity float64
}

// Activity returns the enzyme activity relative to the reference, AS/AS_ref
// (dimensionless).
func (g GenePathway) Activity() float64 { return g.Call.ActivityScore / g.RefActivity }

// Inhibitor is a reversible (competitive) inhibitor of one clearance
// pathway at a constant unbound concentration (static model, Rowland &
// Matin 1973):
//
//	inhibitor: {conc: 2 uM, ki: 0.5 uM, fm: 0.6, enzyme: CYP2D6}
//
// conc and ki are in the same kind of unit (molar: nM, uM, mM, M; or mass
// per volume: mg/L, ug/mL, ng/mL, ...); only [I]/Ki is used. enzyme is
// optional; when it names a gene of the genotype field the inhibitor acts on
// that gene's pathway (phenoconversion) and takes its fm from pgx.
type Inhibitor struct {
	Ratio  float64   // [I]/Ki, dimensionless, ≥ 0
	Fm     float64   // fraction of reference clearance through the inhibited pathway, [0, 1]
	Enzyme pkpd.Gene // "" when not given
	Text   string    // conc and ki as written, for messages
}

// Activity returns the inhibited pathway's relative activity 1/(1+[I]/Ki).
func (in Inhibitor) Activity() float64 { return 1 / (1 + in.Ratio) }

// ClearanceFactor is a multiplier applied to the individual clearance and
// the reason for it.
type ClearanceFactor struct {
	Source string  // e.g. "CYP2D6 *1/*4: IM, AS 1 (ref 2), fm 0.6"
	Factor float64 // CL/CL_ref, dimensionless
}

// ClearanceFactors returns the multipliers of clearance that the scenario's
// genotype and inhibitor imply, in the order applied, and their product.
//
// A gene alone gives pkpd.GeneClearance{Fm}.Factor of its call; an
// inhibitor alone 1/pkpd.ReversibleAUCR. An inhibitor of the same enzyme as
// a genotyped gene (phenoconversion) gives one factor
// pkpd.RelativeClearance(fm, AS/AS_ref · 1/(1+[I]/Ki)): the inhibitor is
// assumed to scale the remaining activity of the patient's enzyme in
// proportion, whatever the genotype. Distinct pathways are parallel
// fractions of the same reference clearance, so their losses add:
// CL/CL_ref = 1 − Σ (1 − factor_i) = 1 − Σ fm_i·(1 − a_i), with Σ fm_i ≤ 1
// (checked when the scenario is parsed). The returned total is that sum,
// which for one source is its factor.
func (s *Sim) ClearanceFactors() ([]ClearanceFactor, float64, error) {
	var out []ClearanceFactor
	total := 1.0
	usedInh := false
	for _, g := range s.Genes {
		src := fmt.Sprintf("%s %s: %s", g.Gene, g.Call.Diplotype, g.Call.Phenotype)
		if g.Call.HasActivityScore {
			src += fmt.Sprintf(", AS %g (ref %g)", g.Call.ActivityScore, g.RefActivity)
		}
		src += fmt.Sprintf(", fm %g", g.Fm)
		var f float64
		var err error
		if in := s.Inhibitor; in != nil && in.Enzyme == g.Gene {
			if !g.Call.HasActivityScore {
				return nil, 0, fmt.Errorf("pkmodel: %s has no activity score: phenoconversion needs one", g.Gene)
			}
			f, err = pkpd.RelativeClearance(g.Fm, g.Activity()*in.Activity())
			src += fmt.Sprintf(" + inhibitor %s, [I]/Ki %g (phenoconversion)", in.Text, in.Ratio)
			usedInh = true
		} else {
			f, err = pkpd.GeneClearance{Fm: g.Fm, RefActivity: g.RefActivity}.Factor(g.Call)
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ClearanceFactor{src, f})
		total -= 1 - f
	}
	if in := s.Inhibitor; in != nil && !usedInh {
		aucr, err := pkpd.ReversibleAUCR(in.Fm, in.Ratio, 1)
		if err != nil {
			return nil, 0, err
		}
		src := fmt.Sprintf("inhibitor %s: [I]/Ki %g, fm %g, AUCR %.4g", in.Text, in.Ratio, in.Fm, aucr)
		if in.Enzyme != "" {
			src = fmt.Sprintf("%s inhibitor %s", in.Enzyme, src[len("inhibitor "):])
		}
		out = append(out, ClearanceFactor{src, 1 / aucr})
		total -= 1 - 1/aucr
	}
	return out, total, nil
}

// Params returns the individual parameters for random effects eta (nil:
// typical) with the clearance factors applied to CL.
func (s *Sim) Params(eta []float64) (pkpd.Params, error) {
	if eta == nil {
		eta = make([]float64, s.Model.PK.NumEta())
	}
	p, err := s.Model.PK.Individual(s.Covariates, eta)
	if err != nil {
		return p, err
	}
	_, f, err := s.ClearanceFactors()
	if err != nil {
		return p, err
	}
	p.CL *= f
	return p, nil
}

// Simulate runs the scenario's regimen recs at times (h) for random effects
// eta (nil: typical), with genotype and inhibitor applied to clearance.
func (s *Sim) Simulate(eta []float64, recs []pkpd.Record, times []float64) (*Profile, error) {
	p, err := s.Params(eta)
	if err != nil {
		return nil, err
	}
	return simulateParams(s.Model, p, recs, times)
}

// PD is the pharmacodynamic model of a PK scenario, driven by the central
// concentration (mg/L). Effects are in the user's effect unit (E-units).
//
//	pd: {model: emax, e0: 0, emax: 100, ec50: 10 mg/L, hill: 1,
//	     effect_compartment: {ke0: 0.5 1/h}}     # optional link model
//	pd: {model: idr, type: I, kin: 10, kout: 0.5 1/h, imax: 0.9, ic50: 5 mg/L}
//
// Either model takes an optional unit: string naming the effect unit
// (E-units), used only for labels.
type PD struct {
	Model string                  // "emax" or "idr"
	Unit  string                  // the effect unit as the user gave it; "": not given
	Emax  pkpd.Emax               // model emax
	Link  *pkpd.EffectCompartment // model emax with an effect compartment; nil: direct effect
	IDR   pkpd.IndirectResponse   // model idr; the response starts at its baseline kin/kout
}

// PDResult is the PD course on the output grid.
type PDResult struct {
	Ce     []float64 // effect-site concentration, mg/L; nil without an effect compartment
	Effect []float64 // effect (emax) or response R (idr), E-units
}

// Effect computes the PD course of profile p (from Sim.Simulate of recs at
// p.Times). The effect compartment and the indirect response are integrated
// piecewise between the breakpoints of the concentration (dose times and
// infusion ends) and the output times, so that the ODE solver never steps
// across a jump or kink of Cp; within a piece Cp is evaluated from the
// closed-form PK solution, as a right limit at the piece's start.
func (s *Sim) Effect(p *Profile, recs []pkpd.Record) (*PDResult, error) {
	pd := s.PD
	if pd == nil {
		return nil, nil
	}
	if pd.Model == "emax" && pd.Link == nil {
		e := make([]float64, len(p.Conc))
		for i, c := range p.Conc {
			e[i] = pd.Emax.Effect(c)
		}
		return &PDResult{Effect: e}, nil
	}
	lin := s.Model.Linear()
	sched, err := lin.NewSchedule(recs, s.Model.Dosing(), pkpd.ScheduleOptions{})
	if err != nil {
		return nil, err
	}
	c := lin.Central()
	one := make([]float64, 1)
	var cerr error
	conc := func(t float64) float64 {
		one[0] = t
		pr, err := lin.Simulate(p.Params, sched, one)
		if err != nil {
			cerr = err
			return 0
		}
		return pr.Amount(0, c) / p.Params.V1
	}
	var rhs func(lo, hi, y0 float64) (float64, error)
	y0 := 0.0
	if pd.Model == "emax" {
		rhs = func(lo, hi, y float64) (float64, error) {
			ys, err := pd.Link.Simulate(rightOf(conc, lo), y, []float64{lo, hi}, ode.Settings{})
			if err != nil {
				return 0, err
			}
			return ys[1], nil
		}
	} else {
		y0 = pd.IDR.Baseline()
		rhs = func(lo, hi, y float64) (float64, error) {
			ys, err := pd.IDR.Simulate(rightOf(conc, lo), y, []float64{lo, hi}, ode.Settings{})
			if err != nil {
				return 0, err
			}
			return ys[1], nil
		}
	}
	ys, err := piecewise(rhs, y0, p.Times, s.breakpoints())
	if err != nil {
		return nil, fmt.Errorf("pkmodel: pd: %w", err)
	}
	if cerr != nil {
		return nil, cerr
	}
	if pd.Model == "idr" {
		return &PDResult{Effect: ys}, nil
	}
	e := make([]float64, len(ys))
	for i, ce := range ys {
		e[i] = pd.Emax.Effect(ce)
	}
	return &PDResult{Ce: ys, Effect: e}, nil
}

// rightOf evaluates cp on a piece starting at lo as its right limit there.
func rightOf(cp func(float64) float64, lo float64) func(float64) float64 {
	eps := 1e-9 * max(1, math.Abs(lo))
	return func(t float64) float64 { return cp(max(t, lo+eps)) }
}

// breakpoints returns the times where Cp jumps or has a kink: every dose
// and every infusion end (delayed by the model's ALAG, an infusion lasting
// F times as long), sorted.
func (s *Sim) breakpoints() []float64 {
	var ts []float64
	f := s.Model.F
	if f == 0 {
		f = 1
	}
	for _, d := range s.Doses {
		for k := range max(d.Count, 1) {
			t := d.Time + float64(k)*d.Every + s.Model.ALAG
			ts = append(ts, t)
			if d.Infusion > 0 {
				ts = append(ts, t+f*d.Infusion)
			}
		}
	}
	slices.Sort(ts)
	return slices.Compact(ts)
}

// piecewise integrates a scalar state from times[0] (value y0) and returns
// it at times (increasing), advancing over every interval between
// consecutive times and breakpoints with step(lo, hi, y).
func piecewise(step func(lo, hi, y float64) (float64, error), y0 float64, times, breaks []float64) ([]float64, error) {
	out := make([]float64, len(times))
	y, t := y0, times[0]
	out[0] = y0
	bi := 0
	for i := 1; i < len(times); i++ {
		for ; bi < len(breaks) && breaks[bi] <= t; bi++ {
		}
		for ; bi < len(breaks) && breaks[bi] < times[i]; bi++ {
			var err error
			if y, err = step(t, breaks[bi], y); err != nil {
				return nil, err
			}
			t = breaks[bi]
		}
		if times[i] > t {
			var err error
			if y, err = step(t, times[i], y); err != nil {
				return nil, err
			}
			t = times[i]
		}
		out[i] = y
	}
	return out, nil
}

// PDMetrics are the extremes of the effect on the output grid.
type PDMetrics struct {
	Min, TMin float64 // smallest effect, E-units, and its time, h
	Max, TMax float64 // largest effect, E-units, and its time, h
}

// EffectMetrics returns the smallest and largest effect on the grid times
// (the first time of each on ties).
func EffectMetrics(times, effect []float64) PDMetrics {
	m := PDMetrics{Min: math.Inf(1), Max: math.Inf(-1)}
	for i, e := range effect {
		if e < m.Min {
			m.Min, m.TMin = e, times[i]
		}
		if e > m.Max {
			m.Max, m.TMax = e, times[i]
		}
	}
	return m
}

// pharmacogenomics decodes genotype: and pgx: into s.Genes.
func pharmacogenomics(d *scenario.Decoder, f map[string]scenario.Field, s *Sim) {
	gt, okG := f["genotype"]
	px, okP := f["pgx"]
	if !okG && !okP {
		return
	}
	if !okG {
		d.Errorf(px.Key, "pgx", "needs a genotype field such as genotype: {CYP2D6: \"*1/*4\"}")
		return
	}
	if !okP {
		d.Errorf(gt.Key, "genotype", "needs a pgx field giving each gene's fraction of clearance, such as pgx: {CYP2D6: {fm: 0.6}}")
		return
	}
	if !mapping(d, gt.Val, "genotype", "{CYP2D6: \"*1/*4\"}") || !mapping(d, px.Val, "pgx", "{CYP2D6: {fm: 0.6}}") {
		return
	}
	gf := d.FieldsOf(gt.Val, "genotype", "gene", geneNames)
	pf := d.FieldsOf(px.Val, "pgx", "gene", geneNames)
	for _, name := range geneNames {
		g, okg := gf[name]
		p, okp := pf[name]
		switch {
		case !okg && !okp:
			continue
		case !okp:
			d.Errorf(g.Key, "genotype."+name, "has no pgx.%s entry giving its fraction of clearance, such as pgx: {%s: {fm: 0.6}}", name, name)
			continue
		case !okg:
			d.Errorf(p.Key, "pgx."+name, "has no genotype.%s diplotype, such as genotype: {%s: \"*1/*1\"}", name, name)
			continue
		}
		gp := GenePathway{Gene: pkpd.Gene(name), RefActivity: 2}
		okCall := false
		if str, ok := d.Str(g.Val, "genotype."+name, "a diplotype such as \"*1/*4\""); ok {
			call, err := pkpd.CallDiplotype(gp.Gene, str)
			if err != nil {
				d.Errorf(g.Val, "genotype."+name, "%s", strings.TrimPrefix(err.Error(), "pkpd: "))
			} else {
				gp.Call, okCall = call, true
			}
		}
		path := "pgx." + name
		if !mapping(d, p.Val, path, "{fm: 0.6}") {
			continue
		}
		ff := d.Fields(p.Val, path, []string{"fm", "ref_activity"})
		okFm := false
		if v, ok := d.Required(p.Val, ff, "fm", path, "fm: 0.6"); ok {
			gp.Fm, okFm = d.Number(v, path+".fm", 0, 1, "")
		}
		if v, ok := ff["ref_activity"]; ok {
			if x, ok := d.Number(v.Val, path+".ref_activity", 0, 10, ""); ok {
				if x <= 0 {
					d.Errorf(v.Val, path+".ref_activity", "must be > 0, got %s", v.Val.Value)
				} else {
					gp.RefActivity = x
				}
			}
		}
		if okCall && okFm {
			if _, err := (pkpd.GeneClearance{Fm: gp.Fm, RefActivity: gp.RefActivity}).Factor(gp.Call); err != nil {
				d.Errorf(g.Val, "genotype."+name, "%s", strings.TrimPrefix(err.Error(), "pkpd: "))
				continue
			}
			s.Genes = append(s.Genes, gp)
		}
	}
	sum := 0.0
	for _, g := range s.Genes {
		sum += g.Fm
	}
	if sum > 1+1e-12 {
		d.Errorf(px.Key, "pgx", "the genes' fm sum to %g: fractions of one clearance sum to at most 1", sum)
	}
}

// molar are the molar concentration units an inhibitor accepts, in mol/L.
var molar = map[string]float64{"pM": 1e-12, "nM": 1e-9, "uM": 1e-6, "mM": 1e-3, "M": 1,
	"pmol/L": 1e-12, "nmol/L": 1e-9, "umol/L": 1e-6, "mmol/L": 1e-3, "mol/L": 1}

// concentration decodes a molar or mass concentration; molar reports which.
func concentration(d *scenario.Decoder, n *yaml.Node, field string) (v float64, isMolar, ok bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if num, unit, cut := strings.Cut(strings.TrimSpace(n.Value), " "); cut {
			if k, ok := molar[strings.TrimSpace(unit)]; ok {
				x, err := strconv.ParseFloat(num, 64)
				if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
					d.Errorf(n, field, "%q is not a number and a unit such as \"2 uM\"", n.Value)
					return 0, false, false
				}
				return x * k, true, true
			}
		}
	}
	v, ok = quantity(d, n, field, unitMgL)
	return v, false, ok
}

// inhibitor decodes inhibitor: {conc, ki, fm, enzyme}.
func inhibitor(d *scenario.Decoder, n *yaml.Node, s *Sim) {
	if !mapping(d, n, "inhibitor", "{conc: 2 uM, ki: 0.5 uM, fm: 0.6}") {
		return
	}
	f := d.Fields(n, "inhibitor", []string{"conc", "ki", "fm", "enzyme"})
	in := &Inhibitor{}
	var conc, ki float64
	var cm, km, okC, okK, okF bool
	if v, ok := d.Required(n, f, "conc", "inhibitor", "conc: 2 uM"); ok {
		if conc, cm, okC = concentration(d, v, "inhibitor.conc"); okC && conc < 0 {
			d.Errorf(v, "inhibitor.conc", "must be ≥ 0, got %s", v.Value)
			okC = false
		}
		in.Text = v.Value
	}
	if v, ok := d.Required(n, f, "ki", "inhibitor", "ki: 0.5 uM"); ok {
		if ki, km, okK = concentration(d, v, "inhibitor.ki"); okK && !(ki > 0) {
			d.Errorf(v, "inhibitor.ki", "must be > 0, got %s", v.Value)
			okK = false
		}
		if okC && okK && cm != km {
			d.Errorf(v, "inhibitor.ki", "is a %s concentration but conc is a %s one: give both in molar (uM) or both in mass (mg/L) units", kind(km), kind(cm))
			okK = false
		}
		in.Text += ", Ki " + v.Value
	}
	if v, ok := f["enzyme"]; ok {
		if g, ok := d.Name(v.Val, "inhibitor.enzyme", "gene", geneNames); ok {
			in.Enzyme = pkpd.Gene(g)
		}
	}
	shared := slices.IndexFunc(s.Genes, func(g GenePathway) bool { return g.Gene == in.Enzyme }) >= 0
	if v, ok := f["fm"]; ok {
		in.Fm, okF = d.Number(v.Val, "inhibitor.fm", 0, 1, "")
		if okF && shared {
			g := s.Genes[slices.IndexFunc(s.Genes, func(g GenePathway) bool { return g.Gene == in.Enzyme })]
			if in.Fm != g.Fm {
				d.Errorf(v.Val, "inhibitor.fm", "is %g but pgx.%s.fm is %g: an inhibitor of %s acts on that pathway (leave fm out or make them equal)", in.Fm, in.Enzyme, g.Fm, in.Enzyme)
				okF = false
			}
		}
	} else if shared {
		okF = true
	} else {
		d.Required(n, f, "fm", "inhibitor", "fm: 0.6")
	}
	if okF && !shared {
		sum := in.Fm
		for _, g := range s.Genes {
			sum += g.Fm
		}
		if sum > 1+1e-12 {
			d.Errorf(n, "inhibitor.fm", "%g plus the genes' pgx fm gives %g: fractions of one clearance sum to at most 1", in.Fm, sum)
			okF = false
		}
	}
	if okC && okK && okF {
		in.Ratio = conc / ki
		s.Inhibitor = in
	}
}

func kind(isMolar bool) string {
	if isMolar {
		return "molar"
	}
	return "mass"
}

// idrTypes are the accepted spellings of pd.type.
var idrTypes = []string{"I", "II", "III", "IV"}

// pdModel decodes pd:.
func pdModel(d *scenario.Decoder, n *yaml.Node) *PD {
	const ex = "{model: emax, e0: 0, emax: 100, ec50: 10 mg/L}"
	if !mapping(d, n, "pd", ex) {
		return nil
	}
	mf := d.Fields(n, "pd", []string{"model", "e0", "emax", "ec50", "hill", "effect_compartment",
		"type", "kin", "kout", "imax", "ic50", "smax", "sc50", "unit"})
	v, ok := d.Required(n, mf, "model", "pd", "model: emax")
	if !ok {
		return nil
	}
	name, ok := d.Name(v, "pd.model", "PD model", []string{"emax", "idr"})
	if !ok {
		return nil
	}
	allowed := map[string][]string{
		"emax": {"model", "e0", "emax", "ec50", "hill", "effect_compartment", "unit"},
		"idr":  {"model", "type", "kin", "kout", "imax", "ic50", "smax", "sc50", "hill", "unit"},
	}[name]
	bad := false
	for k, fld := range mf {
		if !slices.Contains(allowed, k) {
			d.Errorf(fld.Key, "pd."+k, "is not a field of the %s model (fields: %s)", name, strings.Join(allowed, ", "))
			bad = true
		}
	}
	pd := &PD{Model: name}
	if v, ok := mf["unit"]; ok {
		if u, ok := d.Str(v.Val, "pd.unit", "an effect unit such as \"% inhibition\""); ok {
			pd.Unit = u
		} else {
			bad = true
		}
	}
	num := func(key, example string, lo, hi float64) float64 {
		if v, ok := d.Required(n, mf, key, "pd", example); ok {
			x, ok := d.Number(v, "pd."+key, lo, hi, "")
			if !ok {
				bad = true
			}
			return x
		}
		bad = true
		return 0
	}
	pos := func(key, example string, to Unit) float64 {
		if v, ok := d.Required(n, mf, key, "pd", example); ok {
			x, ok := quantity(d, v, "pd."+key, to)
			if ok && !(x > 0) {
				d.Errorf(v, "pd."+key, "must be > 0, got %s", v.Value)
				ok = false
			}
			if !ok {
				bad = true
			}
			return x
		}
		bad = true
		return 0
	}
	hill := 1.0
	if v, ok := mf["hill"]; ok {
		if x, ok := d.Number(v.Val, "pd.hill", 0, 100, ""); !ok {
			bad = true
		} else if !(x > 0) {
			d.Errorf(v.Val, "pd.hill", "must be > 0, got %s", v.Val.Value)
			bad = true
		} else {
			hill = x
		}
	}
	big := math.MaxFloat64
	switch name {
	case "emax":
		pd.Emax = pkpd.Emax{
			E0:   num("e0", "e0: 0", -big, big),
			Emax: num("emax", "emax: 100", -big, big),
			EC50: pos("ec50", "ec50: 10 mg/L", unitMgL),
			Hill: hill,
		}
		if !bad {
			if err := pd.Emax.Validate(); err != nil {
				d.Errorf(n, "pd", "%s", strings.TrimPrefix(err.Error(), "pkpd: "))
				bad = true
			}
		}
		if v, ok := mf["effect_compartment"]; ok && mapping(d, v.Val, "pd.effect_compartment", "{ke0: 0.5 1/h}") {
			ef := d.Fields(v.Val, "pd.effect_compartment", []string{"ke0"})
			if k, ok := d.Required(v.Val, ef, "ke0", "pd.effect_compartment", "ke0: 0.5 1/h"); ok {
				x, ok := quantity(d, k, "pd.effect_compartment.ke0", unitPerH)
				if ok && !(x > 0) {
					d.Errorf(k, "pd.effect_compartment.ke0", "must be > 0, got %s", k.Value)
					ok = false
				}
				if ok {
					pd.Link = &pkpd.EffectCompartment{Ke0: x}
				} else {
					bad = true
				}
			} else {
				bad = true
			}
		} else if ok {
			bad = true
		}
	case "idr":
		tv, ok := d.Required(n, mf, "type", "pd", "type: I")
		if !ok {
			return nil
		}
		t, ok := d.Name(tv, "pd.type", "indirect response type", idrTypes)
		if !ok {
			return nil
		}
		typ := pkpd.IDRType(slices.Index(idrTypes, t) + 1)
		pd.IDR = pkpd.IndirectResponse{Type: typ, Hill: hill,
			Kin:  num("kin", "kin: 10", 0, big),
			Kout: pos("kout", "kout: 0.5 1/h", unitPerH),
		}
		inhibit := typ == pkpd.InhibitKin || typ == pkpd.InhibitKout
		for _, k := range []string{"imax", "ic50", "smax", "sc50"} {
			if _, ok := mf[k]; ok && inhibit == (k[0] == 's') {
				d.Errorf(mf[k].Key, "pd."+k, "is not a parameter of indirect response type %s (types I and II take imax and ic50, III and IV smax and sc50)", t)
				bad = true
			}
		}
		if inhibit {
			pd.IDR.Imax = num("imax", "imax: 0.9", 0, 1)
			pd.IDR.IC50 = pos("ic50", "ic50: 5 mg/L", unitMgL)
		} else {
			pd.IDR.Smax = num("smax", "smax: 2", 0, big)
			pd.IDR.SC50 = pos("sc50", "sc50: 5 mg/L", unitMgL)
		}
		if !bad {
			if err := pd.IDR.Validate(); err != nil {
				d.Errorf(n, "pd", "%s", strings.TrimPrefix(err.Error(), "pkpd: "))
				bad = true
			}
		}
	}
	if bad {
		return nil
	}
	return pd
}
