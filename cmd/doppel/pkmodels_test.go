package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/internal/pkmodel"
)

func TestModelsPK(t *testing.T) {
	code, stdout, stderr := doppel(t, "models")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"t1d", "vancomycin-goti2018", "gentamicin-hodiamont2017", "amikacin-jin2020"} {
		if !strings.Contains(stdout, "\n"+name+" ") {
			t.Errorf("doppel models does not list %s:\n%s", name, stdout)
		}
	}
	code, stdout, stderr = doppel(t, "models", "vancomycin-goti2018", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var m pkInfo
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatal(err)
	}
	// ω²(CL) = ln(0.398² + 1) = 0.1470431957 (refs e prior); 1e-9 relative.
	if m.DOI != "10.1097/FTD.0000000000000490" || len(m.Omega) != 3 || math.Abs(m.Omega[0][0]-0.1470431957) > 1e-9*0.147 {
		t.Errorf("doi %q, omega %v", m.DOI, m.Omega)
	}
	if len(m.Covariates) != 3 || *m.Covariates[0].Max != 150 {
		t.Errorf("covariates %+v", m.Covariates)
	}
	code, stdout, _ = doppel(t, "models", "gentamicin-hodiamont2017")
	if code != exitOK || !strings.Contains(stdout, "doi:10.1097/FTD.0000000000000432") || !strings.Contains(stdout, "combined: additive 0.13 mg/L, proportional 19.4 %") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// TestPKDetailDosing: a model with bioavailability and a lag time lists
// them among its parameters (in h); a model without them does not.
func TestPKDetailDosing(t *testing.T) {
	src := `name: test-oral
title: Test oral
drug: testamycin
citation: {reference: "A. Author. J Test 2020;1:1-2.", doi: 10.1000/xyz}
structure: {compartments: 1, route: oral}
parameters:
  CL: {value: 5 L/h}
  V: {value: 50 L}
  KA: {value: 1.2 1/h}
  F: {value: 0.8}
  ALAG: {value: 30 min}
iiv:
  cv_convention: lognormal
  cv: {CL: 30 %}
residual: {model: additive, additive: 1 mg/L}
`
	m, err := pkmodel.ParseModel("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, p := range pkDetail(m).Parameters {
		got[p.Name] = p.Typical
	}
	if got["F"] != 0.8 || got["ALAG"] != 0.5 {
		t.Errorf("parameters = %v, want F 0.8 and ALAG 0.5 h", got)
	}
	code, stdout, stderr := doppel(t, "models", "vancomycin-goti2018")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "\nF ") || strings.Contains(stdout, "ALAG") {
		t.Errorf("vancomycin has no F or ALAG, but doppel models shows one:\n%s", stdout)
	}
}

// TestPKDetailMetabolismPD: a model file's metabolism and pd are shown by
// doppel models; a library model without them shows neither section.
func TestPKDetailMetabolismPD(t *testing.T) {
	src := `name: test-cyp
title: Test
drug: testamycin
citation: {reference: "A. Author. J Test 2020;1:1-2.", doi: 10.1000/xyz}
structure: {compartments: 1, route: iv}
parameters: {CL: {value: 5 L/h}, V: {value: 50 L}}
iiv: {cv_convention: lognormal, cv: {CL: 30 %}}
residual: {model: additive, additive: 1 mg/L}
metabolism: {CYP2D6: {fm: 0.6}}
pd: {model: emax, e0: 0, emax: 100, ec50: 2 mg/L}
`
	m, err := pkmodel.ParseModel("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := printPK(&b, pkDetail(m)); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"CYP2D6: fm 0.6, reference activity score 2", "PD\n--\nsigmoid Emax of the plasma concentration"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, b.String())
		}
	}
	_, stdout, _ := doppel(t, "models", "vancomycin-goti2018")
	if strings.Contains(stdout, "Metabolism") || strings.Contains(stdout, "\nPD\n") {
		t.Errorf("vancomycin declares no metabolism or PD:\n%s", stdout)
	}
}
