package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
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
