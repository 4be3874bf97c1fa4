package pkpd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// gReadCSV reads a reference CSV from testdata into header-keyed rows.
func gReadCSV(t *testing.T, name string) []map[string]string {
	t.Helper()
	recs := readCSV(t, name)
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := make(map[string]string, len(r))
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return rows
}

// gFloat parses a float cell (R writes Inf as "Inf").
func gFloat(t *testing.T, row map[string]string, col string) float64 {
	t.Helper()
	s, ok := row[col]
	if !ok {
		t.Fatalf("no column %q in %v", col, row)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("column %q: %v", col, err)
	}
	return v
}

// TestPGxActivityScores checks every diplotype of refs/pkpd
// g_pgx_activity_scores.csv (computed by g_ddi_pgx_pv.R from the CPIC
// tables): activity score and phenotype exactly (activity values are
// multiples of 0.25, exact in binary), and the fm = 0.9 AUC ratio
// 1/(0.9·AS/2 + 0.1), printed to 8 significant digits, to 1e-7 relative.
func TestPGxActivityScores(t *testing.T) {
	rows := gReadCSV(t, "g_pgx_activity_scores.csv")
	if len(rows) != 31 {
		t.Fatalf("got %d rows, want 31 (18 CYP2D6, 6 CYP2C9, 7 CYP2C19)", len(rows))
	}
	for _, row := range rows {
		gene, dip := Gene(row["gene"]), row["diplotype"]
		t.Run(string(gene)+" "+dip, func(t *testing.T) {
			r, err := CallDiplotype(gene, dip)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := r.Phenotype, Phenotype(row["phenotype"]); got != want {
				t.Errorf("phenotype = %q, want %q", got, want)
			}
			if row["activity_score"] == "NA" {
				if r.HasActivityScore {
					t.Errorf("HasActivityScore = true, want false for %s", gene)
				}
				if _, err := (GeneClearance{Fm: 0.9}).Factor(r); err == nil {
					t.Errorf("GeneClearance.Factor without Override: no error for %s", gene)
				}
				return
			}
			if !r.HasActivityScore {
				t.Fatal("HasActivityScore = false")
			}
			if want := gFloat(t, row, "activity_score"); r.ActivityScore != want {
				t.Errorf("activity score = %v, want %v", r.ActivityScore, want)
			}
			f, err := GeneClearance{Fm: 0.9}.Factor(r)
			if err != nil {
				t.Fatal(err)
			}
			if want := gFloat(t, row, "AUC_ratio_fm0.9_if_AS_scaled"); relErr(1/f, want) > 1e-7 {
				t.Errorf("AUC ratio = %.10g, want %.10g", 1/f, want)
			}
		})
	}
}

// TestCPICTablesMatchAlleleFunctionCSV checks the built-in allele tables
// against refs/clinical/cpic_allele_function.csv, row for row.
func TestCPICTablesMatchAlleleFunctionCSV(t *testing.T) {
	funcs := map[string]AlleleFunction{
		"normal": NormalFunction, "decreased": DecreasedFunction, "increased": IncreasedFunction,
		"no function": NoFunction, "no function (gene deletion)": NoFunction,
	}
	want := map[Gene][]AlleleDef{}
	for _, row := range gReadCSV(t, "g_cpic_allele_function.csv") {
		g := Gene(row["gene"])
		if g != CYP2D6 && g != CYP2C9 && g != CYP2C19 || row["allele"] == "xN" {
			continue
		}
		f, ok := funcs[row["function"]]
		if !ok {
			t.Fatalf("unknown function %q", row["function"])
		}
		a := AlleleDef{Name: row["allele"], Function: f}
		if row["activity_value"] != "" {
			a.Activity = gFloat(t, row, "activity_value")
		}
		want[g] = append(want[g], a)
	}
	for _, g := range []Gene{CYP2D6, CYP2C9, CYP2C19} {
		tab, err := CPICTable(g)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[g], tab.Alleles); diff != "" {
			t.Errorf("%s alleles (-csv +built-in):\n%s", g, diff)
		}
	}
}

// TestPGxBandEdges checks the phenotype boundaries of the CYP2D6 2019
// consensus (Caudle 2020: AS 0 PM; 0 < AS < 1.25 IM; 1.25 ≤ AS ≤ 2.25 NM;
// AS > 2.25 UM) and of CYP2C9 (AS 0–0.5 PM, 1–1.5 IM, 2 NM) at and around
// each edge, through synthetic alleles with chosen activity values.
func TestPGxBandEdges(t *testing.T) {
	for _, tc := range []struct {
		gene Gene
		as   float64
		want Phenotype
	}{
		{CYP2D6, 0, PoorMetabolizer},
		{CYP2D6, 0.25, IntermediateMetabolizer},
		{CYP2D6, 1.2, IntermediateMetabolizer},
		{CYP2D6, 1.25, NormalMetabolizer},
		{CYP2D6, 2.25, NormalMetabolizer},
		{CYP2D6, 2.3, UltrarapidMetabolizer},
		{CYP2C9, 0.5, PoorMetabolizer},
		{CYP2C9, 1, IntermediateMetabolizer},
		{CYP2C9, 1.5, IntermediateMetabolizer},
		{CYP2C9, 2, NormalMetabolizer},
	} {
		tab, err := CPICTable(tc.gene)
		if err != nil {
			t.Fatal(err)
		}
		tab.Alleles = append(tab.Alleles, AlleleDef{Name: "*999", Function: NormalFunction, Activity: tc.as})
		tab.Alleles = append(tab.Alleles, AlleleDef{Name: "*998", Function: NoFunction, Activity: 0})
		r, err := tab.Call(Diplotype{{"*999", 1}, {"*998", 1}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Phenotype != tc.want || r.ActivityScore != tc.as {
			t.Errorf("%s AS %v: got (%v, %q), want %q", tc.gene, tc.as, r.ActivityScore, r.Phenotype, tc.want)
		}
	}
}

// TestCYP2C19FunctionRules checks every function pair of the CPIC 2022
// CYP2C19 translation (refs/clinical/cpic_phenotype_rules.csv), including
// the "Likely" phenotypes of decreased-function alleles, in both orders.
func TestCYP2C19FunctionRules(t *testing.T) {
	for _, tc := range []struct {
		dip  string
		want Phenotype
	}{
		{"*17/*17", UltrarapidMetabolizer},
		{"*1/*17", RapidMetabolizer},
		{"*17/*1", RapidMetabolizer},
		{"*1/*1", NormalMetabolizer},
		{"*1/*2", IntermediateMetabolizer},
		{"*3/*17", IntermediateMetabolizer},
		{"*1/*9", LikelyIntermediateMetabolizer},
		{"*17/*10", LikelyIntermediateMetabolizer},
		{"*9/*10", LikelyIntermediateMetabolizer},
		{"*2/*9", LikelyPoorMetabolizer},
		{"*9/*2", LikelyPoorMetabolizer},
		{"*4/*8", PoorMetabolizer},
	} {
		r, err := CallDiplotype(CYP2C19, tc.dip)
		if err != nil {
			t.Fatal(err)
		}
		if r.Phenotype != tc.want {
			t.Errorf("%s: %q, want %q", tc.dip, r.Phenotype, tc.want)
		}
	}
	// A pair no rule covers (an allele of unknown function) is Indeterminate.
	tab, _ := CPICTable(CYP2C19)
	tab.Alleles = append(tab.Alleles, AlleleDef{Name: "*99"})
	r, err := tab.Call(Diplotype{{"*1", 1}, {"*99", 1}})
	if err != nil || r.Phenotype != IndeterminateMetabolizerStatus {
		t.Errorf("*1/*99 (unknown function): %v, %v; want Indeterminate", r.Phenotype, err)
	}
}

func TestParseDiplotype(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Diplotype
	}{
		{"*1/*4", Diplotype{{"*1", 1}, {"*4", 1}}},
		{" *1 / *2x2 ", Diplotype{{"*1", 1}, {"*2", 2}}},
		{"*2×3/*41", Diplotype{{"*2", 3}, {"*41", 1}}},
		{"*3A/*3C", Diplotype{{"*3A", 1}, {"*3C", 1}}},
	} {
		got, err := ParseDiplotype(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, tc := range []struct{ in, errHas string }{
		{"", "two alleles"},
		{"*1", "two alleles"},
		{"*1/*2/*3", "two alleles"},
		{"1/*2", "allele 1"},
		{"*1/*", "allele 2"},
		{"*1/*2x", "without a copy number"},
		{"*1/*2xN", "unknown copy number"},
		{"*1/*2x1", "copy number 1"},
		{"*1/*2x21", "copy number 21"},
		{"*1/*2x+2", "not an integer"},
		{"*1a/*2", "allele 1"},
		{"*A/*2", "allele 1"},
	} {
		_, err := ParseDiplotype(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.HasPrefix(err.Error(), "pkpd: ") {
			t.Errorf("ParseDiplotype(%q) error = %v, want one containing %q", tc.in, err, tc.errHas)
		}
	}
}

func TestPGxCallErrors(t *testing.T) {
	for _, tc := range []struct {
		gene     Gene
		dip      string
		errHas   string
		errNames string
	}{
		{CYP2D6, "*1/*99", "not in the allele function table", "*99"},
		{CYP2C9, "*1/*2x2", "copy-number variants are not defined", "CYP2C9"},
		{CYP2C19, "*17x2/*1", "copy-number variants are not defined", "CYP2C19"},
		{"CYP3A4", "*1/*1", "no built-in CPIC table", "CYP3A4"},
	} {
		_, err := CallDiplotype(tc.gene, tc.dip)
		if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), tc.errNames) {
			t.Errorf("%s %s: error = %v, want one containing %q and %q", tc.gene, tc.dip, err, tc.errHas, tc.errNames)
		}
	}
}

func TestGeneClearance(t *testing.T) {
	pm, _ := CallDiplotype(CYP2D6, "*4/*4")
	um, _ := CallDiplotype(CYP2D6, "*1/*1x2")
	c19pm, _ := CallDiplotype(CYP2C19, "*2/*2")
	for _, tc := range []struct {
		name string
		g    GeneClearance
		r    PGxResult
		want float64
	}{
		// fm·AS/AS_ref + 1 − fm, analytic.
		{"PM fm 0.9", GeneClearance{Fm: 0.9}, pm, 0.1},
		{"UM fm 0.9", GeneClearance{Fm: 0.9}, um, 0.9*1.5 + 0.1},
		{"UM fm 0.5 ref 1", GeneClearance{Fm: 0.5, RefActivity: 1}, um, 0.5*3 + 0.5},
		{"fm 0 no effect", GeneClearance{}, pm, 1},
		{"override wins", GeneClearance{Fm: 0.9, Override: map[Phenotype]float64{PoorMetabolizer: 0.25}}, pm, 0.25},
		{"CYP2C19 override", GeneClearance{Override: map[Phenotype]float64{PoorMetabolizer: 0.4}}, c19pm, 0.4},
	} {
		got, err := tc.g.Factor(tc.r)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name, errHas string
		g            GeneClearance
	}{
		{"fm > 1", "fm", GeneClearance{Fm: 1.1}},
		{"negative ref", "RefActivity", GeneClearance{Fm: 0.5, RefActivity: -2}},
		{"bad override", "Override[PM]", GeneClearance{Override: map[Phenotype]float64{PoorMetabolizer: 0}}},
	} {
		_, err := tc.g.Factor(pm)
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error = %v, want one naming %q", tc.name, err, tc.errHas)
		}
	}
}

func TestAlleleFunctionString(t *testing.T) {
	got := []string{UnknownFunction.String(), NoFunction.String(), DecreasedFunction.String(),
		NormalFunction.String(), IncreasedFunction.String(), AlleleFunction(9).String()}
	want := []string{"unknown", "no function", "decreased", "normal", "increased", "AlleleFunction(9)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

// FuzzParseDiplotype checks that parsing never panics and that a parsed
// diplotype round-trips through String.
func FuzzParseDiplotype(f *testing.F) {
	for _, s := range []string{"*1/*4", "*1/*2x2", "*2x2/*41", "*1x3/*1", "*2×3/*4", "*3A/*3B", "*1/*2xN", "", "/", "*/*", "*1/*2x99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDiplotype(s)
		if err != nil {
			return
		}
		for _, a := range d {
			if a.Copies < 1 || a.Copies > MaxCopies {
				t.Fatalf("%q: copies %d out of range", s, a.Copies)
			}
		}
		d2, err := ParseDiplotype(d.String())
		if err != nil {
			t.Fatalf("%q → %q: %v", s, d.String(), err)
		}
		if d2 != d {
			t.Fatalf("%q: round trip %v → %v", s, d, d2)
		}
	})
}

// ExampleCallDiplotype translates CYP2D6 diplotypes by the CPIC/DPWG 2019
// consensus (Caudle 2020): *1/*4 is an intermediate metabolizer since 2019
// (a normal one before), and a *1 duplication makes an ultrarapid one.
func ExampleCallDiplotype() {
	for _, d := range []string{"*1/*4", "*1/*10", "*1/*2x2"} {
		r, err := CallDiplotype(CYP2D6, d)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: AS %v, %s\n", r.Diplotype, r.ActivityScore, r.Phenotype)
	}
	// Output:
	// *1/*4: AS 1, IM
	// *1/*10: AS 1.25, NM
	// *1/*2x2: AS 3, UM
}

// ExampleGeneClearance_Factor scales the clearance of a drug cleared 90 %
// by CYP2D6 (fm = 0.9) in a poor metabolizer, and shows phenoconversion: a
// normal metabolizer taking an inhibitor at [I]/Ki = 9 (activity × 1/10).
func ExampleGeneClearance_Factor() {
	pm, _ := CallDiplotype(CYP2D6, "*4/*4")
	f, err := GeneClearance{Fm: 0.9}.Factor(pm)
	if err != nil {
		panic(err)
	}
	fmt.Printf("PM: CL × %.2f, AUC × %.1f\n", f, 1/f)
	nm, _ := CallDiplotype(CYP2D6, "*1/*1")
	cl, _ := RelativeClearance(0.9, nm.ActivityScore/2*(1/(1+9.0)))
	fmt.Printf("NM + inhibitor: CL × %.2f, AUC × %.2f\n", cl, 1/cl)
	// Output:
	// PM: CL × 0.10, AUC × 10.0
	// NM + inhibitor: CL × 0.19, AUC × 5.26
}
