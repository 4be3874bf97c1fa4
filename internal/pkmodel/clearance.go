package pkmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/model/pkpd"
)

// geneNames are the pharmacogenes that genotype, pgx and metabolism fields
// accept.
var geneNames = []string{string(pkpd.CYP2D6), string(pkpd.CYP2C9), string(pkpd.CYP2C19)}

// Pathway is a clearance pathway through a pharmacogene's enzyme, as a
// model file's metabolism or a scenario's pgx gives it:
//
//	metabolism: {CYP2D6: {fm: 0.6, ref_activity: 2}}
type Pathway struct {
	Gene pkpd.Gene
	Fm   float64 // fraction of the reference clearance through the enzyme, in [0, 1]
	// RefActivity is the activity score the model's clearance refers to
	// (default 2, a *1/*1 normal metabolizer).
	RefActivity float64
}

// GenePathway is one pharmacogene of an individual: the diplotype's CPIC
// call and the gene's pathway.
type GenePathway struct {
	Pathway
	Call pkpd.PGxResult
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
// optional; when it names a genotyped gene the inhibitor acts on that
// gene's pathway (phenoconversion) and takes its fm. fm, when left out,
// is the enzyme's fm (scenario pgx, then the model's metabolism).
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

// Clearance is what changes one individual's clearance: genotyped
// pathways and an inhibitor (nil when none).
type Clearance struct {
	Genes     []GenePathway
	Inhibitor *Inhibitor
}

// ClearanceFactors returns the multipliers of clearance that the genotype
// and inhibitor imply, in the order applied, and their combination.
//
// A gene alone gives pkpd.GeneClearance{Fm}.Factor of its call; an
// inhibitor alone 1/pkpd.ReversibleAUCR. An inhibitor of the same enzyme as
// a genotyped gene (phenoconversion) gives one factor
// pkpd.RelativeClearance(fm, AS/AS_ref · 1/(1+[I]/Ki)): the inhibitor is
// assumed to scale the remaining activity of the patient's enzyme in
// proportion, whatever the genotype. Distinct pathways are parallel
// fractions of the same reference clearance, so their losses add:
// CL/CL_ref = 1 − Σ (1 − factor_i) = 1 − Σ fm_i·(1 − a_i), with Σ fm_i ≤ 1
// (checked when the file is parsed). The returned total is that sum,
// which for one source is its factor.
func (c Clearance) ClearanceFactors() ([]ClearanceFactor, float64, error) {
	var out []ClearanceFactor
	total := 1.0
	usedInh := false
	for _, g := range c.Genes {
		src := fmt.Sprintf("%s %s: %s", g.Gene, g.Call.Diplotype, g.Call.Phenotype)
		if g.Call.HasActivityScore {
			src += fmt.Sprintf(", AS %g (ref %g)", g.Call.ActivityScore, g.RefActivity)
		}
		src += fmt.Sprintf(", fm %g", g.Fm)
		var f float64
		var err error
		if in := c.Inhibitor; in != nil && in.Enzyme == g.Gene {
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
	if in := c.Inhibitor; in != nil && !usedInh {
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

// GenotypeDist is a gene of a scenario or population: its pathway and the
// diplotypes' CPIC calls with their probabilities (one call of
// probability 1 for a fixed genotype).
//
//	genotype: {CYP2D6: "*1/*4"}                                   # fixed
//	genotype: {CYP2D6: {"*1/*1": 0.55, "*1/*4": 0.35, "*4/*4": 0.10}}  # trial: frequencies
type GenotypeDist struct {
	Pathway
	Calls []pkpd.PGxResult
	P     []float64 // probabilities, summing to 1
}

// sample draws a call; a fixed genotype draws nothing from rng.
func (g GenotypeDist) sample(rng *rand.Rand) GenePathway {
	if len(g.Calls) == 1 {
		return GenePathway{g.Pathway, g.Calls[0]}
	}
	u := rng.Float64()
	for i, p := range g.P {
		if u < p {
			return GenePathway{g.Pathway, g.Calls[i]}
		}
		u -= p
	}
	return GenePathway{g.Pathway, g.Calls[len(g.Calls)-1]}
}

// pathways decodes a {GENE: {fm: 0.6, ref_activity: 2}} mapping (a model's
// metabolism, a scenario's pgx) in gene order, checking Σ fm ≤ 1.
func pathways(d *scenario.Decoder, n *yaml.Node, field string) []Pathway {
	if !mapping(d, n, field, "{CYP2D6: {fm: 0.6}}") {
		return nil
	}
	f := d.FieldsOf(n, field, "gene", geneNames)
	var out []Pathway
	sum := 0.0
	for _, name := range geneNames {
		p, ok := f[name]
		if !ok {
			continue
		}
		path := field + "." + name
		if !mapping(d, p.Val, path, "{fm: 0.6}") {
			continue
		}
		pw := Pathway{Gene: pkpd.Gene(name), RefActivity: 2}
		ff := d.Fields(p.Val, path, []string{"fm", "ref_activity"})
		okFm := false
		if v, ok := d.Required(p.Val, ff, "fm", path, "fm: 0.6"); ok {
			pw.Fm, okFm = d.Number(v, path+".fm", 0, 1, "")
		}
		if v, ok := ff["ref_activity"]; ok {
			if x, ok := d.Number(v.Val, path+".ref_activity", 0, 10, ""); ok {
				if x <= 0 {
					d.Errorf(v.Val, path+".ref_activity", "must be > 0, got %s", v.Val.Value)
					okFm = false
				} else {
					pw.RefActivity = x
				}
			}
		}
		if okFm {
			out = append(out, pw)
			sum += pw.Fm
		}
	}
	if sum > 1+1e-12 {
		d.Errorf(n, field, "the genes' fm sum to %g: fractions of one clearance sum to at most 1", sum)
	}
	return out
}

// pathwayOf returns the pathway of gene g: the scenario's pgx entry when
// it has one, else the model's metabolism.
func pathwayOf(g pkpd.Gene, pgx []Pathway, m *Model) (Pathway, bool) {
	for _, list := range [][]Pathway{pgx, m.Metabolism} {
		if i := slices.IndexFunc(list, func(p Pathway) bool { return p.Gene == g }); i >= 0 {
			return list[i], true
		}
	}
	return Pathway{}, false
}

// decodeClearance decodes the genotype:, pgx: and inhibitor: fields of a
// scenario (dist: a population, whose genotypes may be frequency
// distributions) against the model m.
func decodeClearance(d *scenario.Decoder, f map[string]scenario.Field, m *Model, dist bool) ([]GenotypeDist, *Inhibitor) {
	var pgx []Pathway
	px, okP := f["pgx"]
	if okP {
		pgx = pathways(d, px.Val, "pgx")
	}
	var genes []GenotypeDist
	gt, okG := f["genotype"]
	if okG && mapping(d, gt.Val, "genotype", "{CYP2D6: \"*1/*4\"}") {
		gf := d.FieldsOf(gt.Val, "genotype", "gene", geneNames)
		for _, name := range geneNames {
			g, ok := gf[name]
			if !ok {
				continue
			}
			path := "genotype." + name
			pw, ok := pathwayOf(pkpd.Gene(name), pgx, m)
			if !ok && okP && hasKey(px.Val, name) {
				continue // pgx has the gene but it did not decode: reported there
			}
			if !ok {
				d.Errorf(g.Key, path, "has no fraction of clearance: add pgx: {%s: {fm: 0.6}} or declare metabolism: {%s: {fm: ...}} in the model file (%s declares none for %s)", name, name, m.Name, name)
				continue
			}
			if gd, ok := genotypeDist(d, g.Val, path, pw, dist); ok {
				genes = append(genes, gd)
			}
		}
	}
	if okP {
		for _, p := range pgx {
			if !okG || !hasKey(gt.Val, string(p.Gene)) {
				d.Errorf(px.Key, "pgx."+string(p.Gene), "has no genotype.%s diplotype, such as genotype: {%s: \"*1/*1\"}", p.Gene, p.Gene)
			}
		}
	}
	sum := 0.0
	for _, g := range genes {
		sum += g.Fm
	}
	if sum > 1+1e-12 && d.Err() == nil { // else reported at pgx or metabolism
		d.Errorf(gt.Key, "genotype", "the genotyped genes' fm sum to %g: fractions of one clearance sum to at most 1", sum)
	}
	var in *Inhibitor
	if p, ok := f["inhibitor"]; ok {
		in = inhibitor(d, p.Val, genes, pgx, m)
	}
	return genes, in
}

// hasKey reports whether the mapping n has the key k.
func hasKey(n *yaml.Node, k string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if scenario.Resolve(n.Content[i]).Value == k {
			return true
		}
	}
	return false
}

// genotypeDist decodes one gene's diplotype (or, with dist, a mapping of
// diplotypes to frequencies).
func genotypeDist(d *scenario.Decoder, n *yaml.Node, path string, pw Pathway, dist bool) (GenotypeDist, bool) {
	gd := GenotypeDist{Pathway: pw}
	call := func(v *yaml.Node, field, s string) bool {
		c, err := pkpd.CallDiplotype(pw.Gene, s)
		if err == nil {
			_, err = pkpd.GeneClearance{Fm: pw.Fm, RefActivity: pw.RefActivity}.Factor(c)
		}
		if err != nil {
			d.Errorf(v, field, "%s", strings.TrimPrefix(err.Error(), "pkpd: "))
			return false
		}
		gd.Calls = append(gd.Calls, c)
		return true
	}
	if n.Kind == yaml.MappingNode && dist {
		ok := true
		sum := 0.0
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := scenario.Resolve(n.Content[i]), scenario.Resolve(n.Content[i+1])
			field := path + "." + k.Value
			p, okp := d.Number(v, field, 0, 1, "")
			if !call(k, field, k.Value) || !okp {
				ok = false
				continue
			}
			gd.P = append(gd.P, p)
			sum += p
		}
		if ok && (len(gd.Calls) == 0 || math.Abs(sum-1) > 1e-6) {
			d.Errorf(n, path, "the diplotype frequencies must sum to 1, got %g", sum)
			ok = false
		}
		return gd, ok
	}
	want := "a diplotype such as \"*1/*4\""
	if dist {
		want += " or frequencies such as {\"*1/*1\": 0.6, \"*1/*4\": 0.4}"
	}
	s, ok := d.Str(n, path, want)
	if !ok || !call(n, path, s) {
		return gd, false
	}
	gd.P = []float64{1}
	return gd, true
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

// inhibitor decodes inhibitor: {conc, ki, fm, enzyme}; genes are the
// genotyped genes, pgx the scenario's pathways.
func inhibitor(d *scenario.Decoder, n *yaml.Node, genes []GenotypeDist, pgx []Pathway, m *Model) *Inhibitor {
	if !mapping(d, n, "inhibitor", "{conc: 2 uM, ki: 0.5 uM, fm: 0.6}") {
		return nil
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
	gi := slices.IndexFunc(genes, func(g GenotypeDist) bool { return g.Gene == in.Enzyme })
	shared := in.Enzyme != "" && gi >= 0
	if v, ok := f["fm"]; ok {
		in.Fm, okF = d.Number(v.Val, "inhibitor.fm", 0, 1, "")
		if okF && shared && in.Fm != genes[gi].Fm {
			d.Errorf(v.Val, "inhibitor.fm", "is %g but the fm of %s is %g: an inhibitor of %s acts on that pathway (leave fm out or make them equal)", in.Fm, in.Enzyme, genes[gi].Fm, in.Enzyme)
			okF = false
		}
	} else if shared {
		in.Fm, okF = genes[gi].Fm, true
	} else if pw, ok := pathwayOf(in.Enzyme, pgx, m); ok && in.Enzyme != "" {
		in.Fm, okF = pw.Fm, true
	} else {
		d.Required(n, f, "fm", "inhibitor", "fm: 0.6 (or an enzyme whose fm the model's metabolism gives)")
	}
	if okF && !shared {
		sum := in.Fm
		for _, g := range genes {
			sum += g.Fm
		}
		if sum > 1+1e-12 {
			d.Errorf(n, "inhibitor.fm", "%g plus the genotyped genes' fm gives %g: fractions of one clearance sum to at most 1", in.Fm, sum)
			okF = false
		}
	}
	if okC && okK && okF {
		in.Ratio = conc / ki
		return in
	}
	return nil
}

func kind(isMolar bool) string {
	if isMolar {
		return "molar"
	}
	return "mass"
}
