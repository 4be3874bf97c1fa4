package pkpd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Pharmacogenomics: CPIC star-allele diplotype → activity score → phenotype,
// and phenotype/activity score → clearance multiplier.
//
// Sources:
//   - CYP2D6: Caudle KE et al. Standardizing CYP2D6 genotype to phenotype
//     translation: consensus recommendations from CPIC and DPWG. Clin Transl
//     Sci 2020;13:116–124 (doi:10.1111/cts.12692). Allele activity values from
//     the CPIC CYP2D6 allele functionality table (*10 = 0.25 since that
//     consensus; 0.5 before).
//   - CYP2C9: Theken KN et al. CPIC guideline for CYP2C9 and NSAIDs. Clin
//     Pharmacol Ther 2020;108:191–200; Karnes JH et al. CPIC guideline for
//     CYP2C9, HLA-B and phenytoin. Clin Pharmacol Ther 2021;109:302–309.
//   - CYP2C19: Lee CR et al. CPIC guideline for CYP2C19 and clopidogrel
//     therapy: 2022 update. Clin Pharmacol Ther 2022;112:959–967; Lima JJ et
//     al. CPIC guideline for CYP2C19 and PPIs. Clin Pharmacol Ther
//     2021;109:1417–1423.
//
// CPIC content is CC0; CPIC asks users to note that its tables are updated
// over time. The built-in tables cover the common alleles listed in
// refs/clinical/cpic_allele_function.csv; callers needing more alleles or a
// different translation version build their own GeneTable.

// Gene names a pharmacogene.
type Gene string

// Genes with built-in CPIC tables.
const (
	CYP2D6  Gene = "CYP2D6"
	CYP2C9  Gene = "CYP2C9"
	CYP2C19 Gene = "CYP2C19"
)

// AlleleFunction is the CPIC clinical function of one allele.
type AlleleFunction int

// CPIC allele functions. The zero value is UnknownFunction.
const (
	UnknownFunction AlleleFunction = iota
	NoFunction
	DecreasedFunction
	NormalFunction
	IncreasedFunction
)

var alleleFunctionNames = [...]string{"unknown", "no function", "decreased", "normal", "increased"}

// String returns the CPIC wording ("no function", "decreased", …).
func (f AlleleFunction) String() string {
	if f < 0 || int(f) >= len(alleleFunctionNames) {
		return "AlleleFunction(" + strconv.Itoa(int(f)) + ")"
	}
	return alleleFunctionNames[f]
}

// Phenotype is a CPIC metabolizer phenotype, written as its usual
// abbreviation.
type Phenotype string

// CPIC phenotypes (standardized terms of Caudle KE et al. Genet Med
// 2017;19:215, as used by Caudle 2020 and Lee 2022).
const (
	PoorMetabolizer                Phenotype = "PM"
	LikelyPoorMetabolizer          Phenotype = "Likely PM"
	IntermediateMetabolizer        Phenotype = "IM"
	LikelyIntermediateMetabolizer  Phenotype = "Likely IM"
	NormalMetabolizer              Phenotype = "NM"
	RapidMetabolizer               Phenotype = "RM"
	UltrarapidMetabolizer          Phenotype = "UM"
	IndeterminateMetabolizerStatus Phenotype = "Indeterminate"
)

// StarAllele is one haplotype of a diplotype: a star-allele name such as
// "*4" and its copy number (1 unless a duplication "xN" was given).
type StarAllele struct {
	Name   string // "*" followed by digits and optional capital letters, e.g. "*1", "*3A"
	Copies int    // gene copies on this chromosome; 1 for a plain allele
}

// String writes the allele as in CPIC tables: "*2" or "*2x2".
func (a StarAllele) String() string {
	if a.Copies == 1 {
		return a.Name
	}
	return a.Name + "x" + strconv.Itoa(a.Copies)
}

// Diplotype is the pair of haplotypes of one gene, in the order written.
type Diplotype [2]StarAllele

// String writes the diplotype as "*1/*2x2".
func (d Diplotype) String() string { return d[0].String() + "/" + d[1].String() }

// MaxCopies is the largest copy number ParseDiplotype accepts on one
// haplotype (CYP2D6 arrays of more than a few copies are rare; the bound only
// rejects nonsense input).
const MaxCopies = 20

// ParseDiplotype parses a star-allele diplotype such as "*1/*4", "*1/*2x2" or
// "*2x2/*41". Surrounding spaces are ignored; a duplication is written "xN"
// (or "×N") with 2 ≤ N ≤ MaxCopies. An unknown copy number ("xN" literally)
// is an error: CPIC leaves its activity undetermined.
func ParseDiplotype(s string) (Diplotype, error) {
	var d Diplotype
	t := strings.TrimSpace(s)
	left, right, ok := strings.Cut(t, "/")
	if !ok || strings.Contains(right, "/") {
		return d, fmt.Errorf("pkpd: diplotype %q: want two alleles separated by one \"/\", e.g. \"*1/*4\"", s)
	}
	for i, part := range [2]string{left, right} {
		a, err := parseStarAllele(strings.TrimSpace(part))
		if err != nil {
			return Diplotype{}, fmt.Errorf("pkpd: diplotype %q: allele %d: %w", s, i+1, err)
		}
		d[i] = a
	}
	return d, nil
}

func parseStarAllele(s string) (StarAllele, error) {
	name, copies := s, ""
	if i := strings.IndexAny(s, "x×"); i >= 0 {
		name = s[:i]
		_, size := pgxDupMark(s[i:])
		copies = s[i+size:]
		if copies == "" {
			return StarAllele{}, fmt.Errorf("%q has a duplication mark without a copy number", s)
		}
	}
	if len(name) < 2 || name[0] != '*' {
		return StarAllele{}, fmt.Errorf("%q is not a star allele (want \"*\" then digits, e.g. \"*4\")", s)
	}
	digits := 0
	for i := 1; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= '0' && c <= '9' && i == digits+1:
			digits++
		case c >= 'A' && c <= 'Z' && digits > 0:
		default:
			return StarAllele{}, fmt.Errorf("%q is not a star allele (want \"*\" then digits and optional capital letters)", s)
		}
	}
	if digits == 0 {
		return StarAllele{}, fmt.Errorf("%q is not a star allele (no allele number)", s)
	}
	a := StarAllele{Name: name, Copies: 1}
	if copies != "" {
		if copies == "N" || copies == "n" {
			return StarAllele{}, fmt.Errorf("%q has an unknown copy number; give it explicitly (e.g. x2)", s)
		}
		n, err := strconv.Atoi(copies)
		if err != nil || copies[0] == '+' || copies[0] == '-' {
			return StarAllele{}, fmt.Errorf("%q: copy number %q is not an integer", s, copies)
		}
		if n < 2 || n > MaxCopies {
			return StarAllele{}, fmt.Errorf("%q: copy number %d, want 2..%d", s, n, MaxCopies)
		}
		a.Copies = n
	}
	return a, nil
}

// pgxDupMark returns the duplication mark at the start of s and its byte size.
func pgxDupMark(s string) (string, int) {
	if strings.HasPrefix(s, "×") {
		return "×", len("×")
	}
	return s[:1], 1
}

// AlleleDef is one row of an allele function table.
type AlleleDef struct {
	Name     string         // star allele, e.g. "*4"
	Function AlleleFunction // CPIC clinical function
	Activity float64        // CPIC activity value (dimensionless); ignored by genes without an activity score
}

// ActivityBand maps activity scores to a phenotype: a score s belongs to the
// first band (in table order) with s ≤ Max, or s < Max when Open is set.
type ActivityBand struct {
	Phenotype Phenotype
	Max       float64 // upper bound of the band (dimensionless activity score)
	Open      bool    // bound is exclusive
}

// FunctionRule maps an unordered pair of allele functions to a phenotype (for
// genes without an activity score, such as CYP2C19).
type FunctionRule struct {
	A, B      AlleleFunction
	Phenotype Phenotype
}

// GeneTable holds the allele functions and the genotype-to-phenotype
// translation of one gene. A gene uses activity-score bands when Bands is
// non-empty, otherwise the function-pair Rules.
type GeneTable struct {
	Gene    Gene
	Source  string         // citation of the allele table and translation
	Alleles []AlleleDef    // known alleles; an allele not listed is an error
	Bands   []ActivityBand // AS → phenotype, ascending; empty for function-pair genes
	Rules   []FunctionRule // function pair → phenotype when Bands is empty
	// Duplications reports whether copy-number variants ("*2x2") are
	// defined; activity values are then multiplied by the copy number.
	Duplications bool
}

// CPICTable returns a fresh copy of the built-in CPIC table for g (CYP2D6,
// CYP2C9 or CYP2C19); callers may modify the copy.
func CPICTable(g Gene) (GeneTable, error) {
	var t GeneTable
	switch g {
	case CYP2D6:
		t = GeneTable{
			Gene:   CYP2D6,
			Source: "CPIC CYP2D6 allele functionality table; Caudle et al. 2020 Clin Transl Sci 13:116 (CPIC/DPWG 2019 consensus)",
			Alleles: []AlleleDef{
				{"*1", NormalFunction, 1}, {"*2", NormalFunction, 1}, {"*35", NormalFunction, 1},
				{"*9", DecreasedFunction, 0.5}, {"*17", DecreasedFunction, 0.5},
				{"*29", DecreasedFunction, 0.5}, {"*41", DecreasedFunction, 0.5},
				{"*10", DecreasedFunction, 0.25},
				{"*3", NoFunction, 0}, {"*4", NoFunction, 0}, {"*5", NoFunction, 0}, {"*6", NoFunction, 0},
			},
			// AS 0 PM; 0 < AS < 1.25 IM; 1.25 ≤ AS ≤ 2.25 NM; AS > 2.25 UM.
			Bands: []ActivityBand{
				{PoorMetabolizer, 0, false},
				{IntermediateMetabolizer, 1.25, true},
				{NormalMetabolizer, 2.25, false},
				{UltrarapidMetabolizer, math.Inf(1), false},
			},
			Duplications: true,
		}
	case CYP2C9:
		t = GeneTable{
			Gene:   CYP2C9,
			Source: "CPIC: Theken et al. 2020 Clin Pharmacol Ther 108:191; Karnes et al. 2021 Clin Pharmacol Ther 109:302",
			Alleles: []AlleleDef{
				{"*1", NormalFunction, 1},
				{"*2", DecreasedFunction, 0.5}, {"*5", DecreasedFunction, 0.5},
				{"*8", DecreasedFunction, 0.5}, {"*11", DecreasedFunction, 0.5},
				{"*3", NoFunction, 0}, {"*6", NoFunction, 0}, {"*13", NoFunction, 0},
			},
			// AS 0 or 0.5 PM; AS 1 or 1.5 IM; AS 2 NM.
			Bands: []ActivityBand{
				{PoorMetabolizer, 1, true},
				{IntermediateMetabolizer, 2, true},
				{NormalMetabolizer, math.Inf(1), false},
			},
		}
	case CYP2C19:
		t = GeneTable{
			Gene:   CYP2C19,
			Source: "CPIC: Lee et al. 2022 Clin Pharmacol Ther 112:959 (clopidogrel); Lima et al. 2021 Clin Pharmacol Ther 109:1417 (PPIs)",
			Alleles: []AlleleDef{
				{"*1", NormalFunction, 0},
				{"*2", NoFunction, 0}, {"*3", NoFunction, 0}, {"*4", NoFunction, 0}, {"*5", NoFunction, 0},
				{"*6", NoFunction, 0}, {"*7", NoFunction, 0}, {"*8", NoFunction, 0},
				{"*9", DecreasedFunction, 0}, {"*10", DecreasedFunction, 0},
				{"*17", IncreasedFunction, 0},
			},
			Rules: []FunctionRule{
				{IncreasedFunction, IncreasedFunction, UltrarapidMetabolizer},
				{NormalFunction, IncreasedFunction, RapidMetabolizer},
				{NormalFunction, NormalFunction, NormalMetabolizer},
				{NormalFunction, NoFunction, IntermediateMetabolizer},
				{IncreasedFunction, NoFunction, IntermediateMetabolizer},
				{NormalFunction, DecreasedFunction, LikelyIntermediateMetabolizer},
				{IncreasedFunction, DecreasedFunction, LikelyIntermediateMetabolizer},
				{DecreasedFunction, DecreasedFunction, LikelyIntermediateMetabolizer},
				{DecreasedFunction, NoFunction, LikelyPoorMetabolizer},
				{NoFunction, NoFunction, PoorMetabolizer},
			},
		}
	default:
		return GeneTable{}, fmt.Errorf("pkpd: no built-in CPIC table for gene %q (have CYP2D6, CYP2C9, CYP2C19)", g)
	}
	return t, nil
}

// PGxResult is the phenotype call for one diplotype.
type PGxResult struct {
	Gene      Gene
	Diplotype Diplotype
	Functions [2]AlleleFunction // function of each haplotype's allele
	// ActivityScore is the CPIC activity score (sum over both haplotypes of
	// allele activity value × copies; dimensionless). Valid only when
	// HasActivityScore; genes without an AS system (CYP2C19) leave it 0.
	ActivityScore    float64
	HasActivityScore bool
	Phenotype        Phenotype
}

// Call translates a diplotype into activity score and phenotype.
func (t GeneTable) Call(d Diplotype) (PGxResult, error) {
	r := PGxResult{Gene: t.Gene, Diplotype: d}
	as := 0.0
	for i, h := range d {
		def, ok := t.allele(h.Name)
		if !ok {
			return PGxResult{}, fmt.Errorf("pkpd: %s diplotype %s: allele %s not in the allele function table", t.Gene, d, h.Name)
		}
		if h.Copies < 1 {
			return PGxResult{}, fmt.Errorf("pkpd: %s diplotype %s: allele %s has copy number %d, want ≥ 1", t.Gene, d, h.Name, h.Copies)
		}
		if h.Copies > 1 && !t.Duplications {
			return PGxResult{}, fmt.Errorf("pkpd: %s diplotype %s: copy-number variants are not defined for %s", t.Gene, d, t.Gene)
		}
		r.Functions[i] = def.Function
		as += def.Activity * float64(h.Copies)
	}
	if len(t.Bands) > 0 {
		r.ActivityScore, r.HasActivityScore = as, true
		for _, b := range t.Bands {
			if as < b.Max || (!b.Open && as == b.Max) {
				r.Phenotype = b.Phenotype
				return r, nil
			}
		}
		return PGxResult{}, fmt.Errorf("pkpd: %s diplotype %s: activity score %v outside every phenotype band", t.Gene, d, as)
	}
	for _, rule := range t.Rules {
		if (rule.A == r.Functions[0] && rule.B == r.Functions[1]) || (rule.A == r.Functions[1] && rule.B == r.Functions[0]) {
			r.Phenotype = rule.Phenotype
			return r, nil
		}
	}
	r.Phenotype = IndeterminateMetabolizerStatus
	return r, nil
}

func (t GeneTable) allele(name string) (AlleleDef, bool) {
	for _, a := range t.Alleles {
		if a.Name == name {
			return a, true
		}
	}
	return AlleleDef{}, false
}

// CallDiplotype parses diplotype (e.g. "*1/*2x2") and calls its phenotype
// with the built-in CPIC table of gene.
func CallDiplotype(gene Gene, diplotype string) (PGxResult, error) {
	t, err := CPICTable(gene)
	if err != nil {
		return PGxResult{}, err
	}
	d, err := ParseDiplotype(diplotype)
	if err != nil {
		return PGxResult{}, err
	}
	return t.Call(d)
}

// GeneClearance maps a PGx call to a clearance multiplier for one drug.
//
// Without an override the multiplier is the fraction-metabolised
// approximation
//
//	CL/CL_ref = fm·(AS/AS_ref) + (1 − fm),
//
// i.e. the enzyme's partial clearance is taken proportional to the activity
// score, the rest of clearance unchanged. This is the same fm lever as static
// DDI (RelativeClearance; research/pkpd.md §1.5, §6) and is an approximation,
// not a CPIC rule: CPIC/DPWG define activity scores for phenotype assignment
// (Gaedigk et al. 2008 Clin Pharmacol Ther 83:234; Caudle et al. 2020), and
// real exposure changes are drug-specific — put them in Override when known
// (e.g. from a label or a CPIC guideline's PK data). AUC/AUC_ref ≈ 1/(CL/CL_ref)
// for a drug with linear PK.
type GeneClearance struct {
	// Fm is the fraction of the drug's clearance through the gene's enzyme
	// in reference (normal) metabolizers, in [0, 1].
	Fm float64
	// RefActivity is AS_ref, the activity score the population clearance
	// refers to; 0 means 2 (two fully functional alleles, *1/*1).
	RefActivity float64
	// Override gives drug-specific clearance multipliers (relative to the
	// reference phenotype) by phenotype; an entry takes precedence over the
	// fm formula. Genes without an activity score (CYP2C19) need an entry
	// for every phenotype used.
	Override map[Phenotype]float64
}

// Factor returns the clearance multiplier CL/CL_ref (dimensionless) for r.
func (g GeneClearance) Factor(r PGxResult) (float64, error) {
	if f, ok := g.Override[r.Phenotype]; ok {
		if !(f > 0) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("pkpd: gene clearance Override[%s] = %v, want a finite value > 0", r.Phenotype, f)
		}
		return f, nil
	}
	if !r.HasActivityScore {
		return 0, fmt.Errorf("pkpd: gene clearance: %s phenotype %s has no activity score and no Override entry", r.Gene, r.Phenotype)
	}
	ref := g.RefActivity
	if ref == 0 {
		ref = 2
	}
	if !(ref > 0) || math.IsInf(ref, 0) {
		return 0, fmt.Errorf("pkpd: gene clearance RefActivity = %v, want a finite value > 0", g.RefActivity)
	}
	return RelativeClearance(g.Fm, r.ActivityScore/ref)
}
