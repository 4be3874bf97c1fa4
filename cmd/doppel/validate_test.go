package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	code, out, errOut := doppel(t, "validate")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s\n%s", code, errOut, out)
	}
	if !strings.HasPrefix(out, "MODEL") || strings.Contains(out, "FAIL") {
		t.Errorf("output:\n%s", out)
	}
	for _, want := range []string{"bb_24h_adult_001", "bb_24h_adolescent_001", "ode_adult_001_basal_meal50g_8h", "PASS", "cases passed."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = doppel(t, "validate", "t1d", "--json")
	if code != exitOK {
		t.Fatalf("--json: exit %d", code)
	}
	var cases []validationCase
	if err := json.Unmarshal([]byte(out), &cases); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if len(cases) < 3 {
		t.Fatalf("%d cases, want at least the 3 simglucose references", len(cases))
	}
	for _, c := range cases {
		if !c.Pass || len(c.Checks) == 0 || c.Error != "" {
			t.Errorf("case %+v", c)
		}
		for _, ch := range c.Checks {
			if !(ch.MaxError <= ch.Tolerance) || ch.Tolerance <= 0 || ch.Unit == "" {
				t.Errorf("%s: check %+v", c.Name, ch)
			}
		}
	}
}

// TestValidatePKPD: `doppel validate pkpd` runs only the PK/PD reference
// cases a–h, every one passing, and --json gives each check its location.
func TestValidatePKPD(t *testing.T) {
	code, out, errOut := doppel(t, "validate", "pkpd")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s\n%s", code, errOut, out)
	}
	if strings.Contains(out, "FAIL") || strings.Contains(out, "t1d ") {
		t.Errorf("output:\n%s", out)
	}
	for _, want := range []string{"a_1cmt_oral", "b_2cmt_multidose_nonmem", "h_ss_1cmt_oral", "h_ss_2cmt_infusion",
		"f_popsim_1000", "d_pd", "e_vanco_fit", "e_vanco_dose", "g_ddi", "g_pgx", "ODE path", "10 of 10 cases passed."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = doppel(t, "validate", "pkpd", "--json")
	if code != exitOK {
		t.Fatalf("--json: exit %d", code)
	}
	var cases []validationCase
	if err := json.Unmarshal([]byte(out), &cases); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if len(cases) != 10 {
		t.Errorf("%d cases, want 10", len(cases))
	}
	for _, c := range cases {
		if c.Model != "pkpd" || !c.Pass || len(c.Checks) == 0 || c.Error != "" || c.Reference == "" {
			t.Errorf("case %+v", c)
		}
		for _, ch := range c.Checks {
			if !(ch.MaxError <= ch.Tolerance) || ch.Tolerance < 0 || ch.Unit == "" || ch.Where == "" {
				t.Errorf("%s: check %+v", c.Name, ch)
			}
		}
	}
}

// TestValidateAllModels: without MODEL every model's cases are listed.
func TestValidateAllModels(t *testing.T) {
	code, out, errOut := doppel(t, "validate", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var cases []validationCase
	if err := json.Unmarshal([]byte(out), &cases); err != nil {
		t.Fatal(err)
	}
	models := map[string]int{}
	for _, c := range cases {
		models[c.Model]++
	}
	if models["t1d"] < 3 || models["pkpd"] != 10 || models["twin"] != 1 || len(models) != 3 {
		t.Errorf("cases per model %v, want t1d ≥ 3, pkpd 10 and twin 1", models)
	}
}

func TestValidateUnknownModel(t *testing.T) {
	code, _, errOut := doppel(t, "validate", "warfarin")
	if code != exitUsage || !strings.Contains(errOut, `unknown model "warfarin"; valid: t1d, pkpd, twin`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestPrintValidationFailure(t *testing.T) {
	var out strings.Builder
	cases := []validationCase{
		{Model: "t1d", Name: "ok", Checks: []validationCheck{{Quantity: "BG", Unit: "mg/dL", MaxError: 1e-4, Tolerance: 1e-3, Pass: true}}, Pass: true},
		{Model: "t1d", Name: "bad", Checks: []validationCheck{{Quantity: "BG", Unit: "mg/dL", MaxError: 2e-3, Tolerance: 1e-3}}},
		{Model: "t1d", Name: "broken", Error: "no data"},
	}
	printValidation(&env{stdout: &out}, cases)
	for _, want := range []string{"ok      BG", "PASS", "2.00e-03", "FAIL", "error: no data", "1 of 3 cases passed."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
