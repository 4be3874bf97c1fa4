package pkmodel

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doppelhealth/doppel/model/pkpd"
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
			"m.yaml:22: note: unknown field (did you mean notes?); valid: name, title, drug, citation, structure, parameters, covariates, iiv, residual, metabolism, pd, notes"},
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

// oralLag is a one-compartment oral model file with bioavailability and a
// lag time (illustrative values).
const oralLag = `name: test-oral
title: Test oral
drug: testamycin
citation: {reference: "A. Author. J Test 2020;1:1-2.", doi: 10.1000/xyz}
structure: {compartments: 1, route: oral}
parameters:
  CL: {value: 5 L/h}
  V: {value: 50 L}
  KA: {value: 1.2 1/h}
  F: {value: 0.8, doc: absolute bioavailability}
  ALAG: {value: 30 min}
iiv:
  cv_convention: lognormal
  cv: {CL: 30 %}
residual: {model: additive, additive: 1 mg/L}
`

// TestParseModelDosing decodes F and ALAG and simulates a single oral dose
// against the one-compartment Bateman function with lag (analytic):
// C(t) = F·D·KA/(V·(KA − k))·(exp(−k·(t−tlag)) − exp(−KA·(t−tlag))) for
// t > tlag, 0 before, k = CL/V.
func TestParseModelDosing(t *testing.T) {
	m, err := ParseModel("m.yaml", []byte(oralLag))
	if err != nil {
		t.Fatal(err)
	}
	got := [4]float64{m.F, m.ALAG, m.PK.F, m.PK.ALAG}
	if diff := cmp.Diff([4]float64{0.8, 0.5, 0.8, 0.5}, got); diff != "" {
		t.Errorf("F, ALAG, PK.F, PK.ALAG (-want +got):\n%s", diff)
	}
	const dose, f, tlag, cl, v, ka = 400.0, 0.8, 0.5, 5.0, 50.0, 1.2
	recs, err := pkpd.RegimenRecords(pkpd.Regimen{Amount: dose})
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{0, 0.25, 0.5, 0.75, 1, 2, 4, 8, 24}
	prof, err := Simulate(m, nil, nil, recs, times)
	if err != nil {
		t.Fatal(err)
	}
	k := cl / v
	for i, tt := range times {
		want := 0.0
		if tt > tlag {
			s := tt - tlag
			want = f * dose * ka / (v * (ka - k)) * (math.Exp(-k*s) - math.Exp(-ka*s))
		}
		// Closed form against closed form: rounding only (absolute 1e-12
		// mg/L for the zeros before the dose arrives).
		if math.Abs(prof.Conc[i]-want) > 1e-12+1e-12*want {
			t.Errorf("C(%v h) = %.15g mg/L, want %.15g", tt, prof.Conc[i], want)
		}
	}

	// Without F and ALAG the defaults are 1 and 0.
	plain := strings.Replace(strings.Replace(oralLag, "  F: {value: 0.8, doc: absolute bioavailability}\n", "", 1), "  ALAG: {value: 30 min}\n", "", 1)
	m2, err := ParseModel("m.yaml", []byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if m2.F != 1 || m2.ALAG != 0 {
		t.Errorf("defaults F = %v, ALAG = %v, want 1 and 0", m2.F, m2.ALAG)
	}
	if diff := cmp.Diff(pkpd.Dosing{}, m2.Dosing()); diff != "" {
		t.Errorf("default Dosing (-want +got):\n%s", diff)
	}
}

func TestParseModelDosingErrors(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{"F above 1", "F: {value: 0.8,", "F: {value: 1.5,",
			"m.yaml:10: parameters.F.value: bioavailability must be > 0 and <= 1 (100 %), got 1.5"},
		{"F zero", "F: {value: 0.8,", "F: {value: 0,",
			"m.yaml:10: parameters.F.value: bioavailability must be > 0 and <= 1 (100 %), got 0"},
		{"F percent above 100", "F: {value: 0.8,", "F: {value: 120 %,",
			"m.yaml:10: parameters.F.value: bioavailability must be > 0 and <= 1 (100 %), got 120 %"},
		{"F unit", "F: {value: 0.8,", "F: {value: 80 mg,",
			"m.yaml:10: parameters.F.value: wrong unit mg: want a unit that converts to 1"},
		{"F not a mapping", "F: {value: 0.8, doc: absolute bioavailability}", "F: 0.8",
			"m.yaml:10: parameters.F: must be a mapping such as {value: 0.8}, got"},
		{"F value missing", "F: {value: 0.8,", "F: {",
			"m.yaml:10: parameters.F.value: missing; add it, e.g. value: 0.8"},
		{"ALAG negative", "ALAG: {value: 30 min}", "ALAG: {value: -1 h}",
			"m.yaml:11: parameters.ALAG.value: lag time must be >= 0 and <= 1e+06 h, got -1 h"},
		{"ALAG bare number", "ALAG: {value: 30 min}", "ALAG: {value: 0.5}",
			`m.yaml:11: parameters.ALAG.value: must be a quantity with a unit, such as "0.5 h"`},
		{"ALAG unit", "ALAG: {value: 30 min}", "ALAG: {value: 30 mg}",
			"m.yaml:11: parameters.ALAG.value: wrong unit mg: want a unit that converts to h"},
		{"ALAG field", "ALAG: {value: 30 min}", "ALAG: {value: 30 min, cv: 10 %}",
			"m.yaml:11: parameters.ALAG.cv: unknown field"},
		{"effect on F", "iiv:", "covariates:\n  - {name: weight, type: continuous, unit: kg, effects: [{on: F, power: 1, reference: 70 kg}]}\niiv:",
			`m.yaml:13: covariates[0].effects[0].on: unknown parameter "F"; valid: CL, V, KA`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(oralLag, tt.old) {
				t.Fatalf("oralLag has no %q", tt.old)
			}
			_, err := ParseModel("m.yaml", []byte(strings.Replace(oralLag, tt.old, tt.new, 1)))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}
