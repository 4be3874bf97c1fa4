package pkmodel

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// minimal is a small valid model file.
const minimal = `name: test-1cmt
title: Test
drug: testamycin
citation: {reference: "A. Author. J Test 2020;1:1-2.", doi: 10.1000/xyz}
structure: {compartments: 1, route: iv}
parameters:
  CL: {value: 5 L/h}
  V: {value: 50 L}
covariates:
  - name: weight
    type: continuous
    unit: kg
    min: 40 kg
    effects:
      - {on: CL, power: 0.75, reference: 70 kg}
      - {on: V, exponential: 0.01, reference: 70 kg}
iiv:
  cv_convention: approximate
  cv: {CL: 30 %, V: 20 %}
  correlation: {CL-V: 0.5}
residual: {model: additive, additive: 1 mg/L}
`

func TestParseModelMinimal(t *testing.T) {
	m, err := ParseModel("m.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	// approximate: ω² = CV²; covariance 0.5·0.3·0.2 = 0.03.
	want := [][]float64{{0.09, 0.03}, {0.03, 0.04}}
	if diff := cmp.Diff(want, m.Omega, cmpopts.EquateApprox(1e-15, 0)); diff != "" {
		t.Errorf("Ω (-want +got):\n%s", diff)
	}
	// 30 kg is clamped to 40 kg: CL = 5·(40/70)^0.75, V = 50·exp(0.01·(40−70)).
	p, err := m.PK.Typical(map[string]float64{"weight": 30})
	if err != nil {
		t.Fatal(err)
	}
	// (4/7)^0.75 = 0.657518..., exp(−0.3) = 0.740818...; 1e-12 relative.
	want2 := [2]float64{5 * math.Pow(4.0/7, 0.75), 50 * math.Exp(-0.3)}
	if diff := cmp.Diff(want2, [2]float64{p.CL, p.V1}, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
		t.Errorf("CL, V at 30 kg (clamped to 40) (-want +got):\n%s", diff)
	}
}

func TestParseModelErrors(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{"missing field", "drug: testamycin", "drugs: testamycin",
			// The missing field is reported first: it is on an earlier line
			// (the mapping's), as in scenario files.
			"m.yaml:1: drug: missing; add it, e.g. drug: vancomycin"},
		{"unknown field", "residual:", "notes: x\nnote: y\nresidual:",
			"m.yaml:22: note: unknown field (did you mean notes?); valid: name, title, drug, citation, structure, parameters, covariates, iiv, residual, notes"},
		{"bad doi", "doi: 10.1000/xyz", "doi: https://doi.org/10.1000/xyz",
			`m.yaml:4: citation.doi: must be a DOI such as 10.1097/FTD.0000000000000490 (without https://doi.org/), got "https://doi.org/10.1000/xyz"`},
		{"compartments", "compartments: 1", "compartments: 4",
			"m.yaml:5: structure.compartments: must be between 1 and 3, got 4"},
		{"parameter for another structure", "V: {value: 50 L}", "Vc: {value: 50 L}",
			"m.yaml:7: parameters.V: missing; add it, e.g. V: {value: ...}"},
		{"parameter unit", "CL: {value: 5 L/h}", "CL: {value: 5 L}",
			"m.yaml:7: parameters.CL.value: wrong unit L: want a unit that converts to L/h"},
		{"covariate unit", "unit: kg", "unit: stone",
			`m.yaml:12: covariates[0].unit: unknown unit "stone" (UCUM symbols kg g mg ug ng, L dL mL, s min h d wk a, %, joined by . and /)`},
		{"effect on unknown parameter", "{on: CL, power", "{on: KA, power",
			`m.yaml:15: covariates[0].effects[0].on: unknown parameter "KA"; valid: CL, V`},
		{"both effects", "power: 0.75, reference", "power: 0.75, exponential: 1, reference",
			"m.yaml:15: covariates[0].effects[0].exponential: give either power or exponential, not both"},
		{"reference unit", "reference: 70 kg}\n      - {on: V", "reference: 70 mL}\n      - {on: V",
			"m.yaml:15: covariates[0].effects[0].reference: wrong unit mL: want a unit that converts to kg"},
		{"cv convention", "cv_convention: approximate", "cv_convention: sqrt",
			`m.yaml:18: iiv.cv_convention: unknown CV convention (lognormal: ω² = ln(CV²+1); approximate: ω² = CV²) "sqrt"; valid: lognormal, approximate`},
		{"correlation name", "{CL-V: 0.5}", "{CL-Q: 0.5}",
			"m.yaml:20: iiv.correlation.CL-Q: must name two parameters with a CV as A-B, e.g. CL-Vc; parameters with a CV: CL, V"},
		{"not positive definite", "{CL-V: 0.5}", "{CL-V: 1}",
			"m.yaml:18: iiv: IIV omega matrix (etas [CL V]) is not positive definite"},
		{"residual part", "additive: 1 mg/L}", "additive: 1 mg/L, proportional: 10 %}",
			"m.yaml:21: residual.proportional: a additive error model has no proportional part"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(minimal, tt.old) {
				t.Fatalf("minimal has no %q", tt.old)
			}
			_, err := ParseModel("m.yaml", []byte(strings.Replace(minimal, tt.old, tt.new, 1)))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}
