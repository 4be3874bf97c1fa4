package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestModels(t *testing.T) {
	code, out, _ := doppel(t, "models")
	if code != exitOK || !strings.Contains(out, "t1d") || !strings.Contains(out, "UVA/Padova") {
		t.Errorf("doppel models: exit %d\n%s", code, out)
	}

	code, out, _ = doppel(t, "models", "t1d")
	if code != exitOK {
		t.Fatalf("doppel models t1d: exit %d", code)
	}
	for _, want := range []string{
		"Vmx", "mg/kg/min per pmol/L", // a parameter with its unit
		"Gs", "adolescent#001", "adult#010", "child#010", // states, patients
		"Navigator", "GuardianRT", "Insulet", "Cozmo", // devices
		"basal-bolus", "target", "Dalla Man", "simglucose", // controllers, citations
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doppel models t1d lacks %q", want)
		}
	}

	code, out, _ = doppel(t, "models", "t1d", "--json")
	if code != exitOK {
		t.Fatalf("--json: exit %d", code)
	}
	var info t1dInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Patients) != 30 || len(info.Sensors) != 3 || len(info.Pumps) != 2 || len(info.Parameters) < 30 || len(info.Citations) == 0 {
		t.Errorf("models t1d --json: %d patients, %d sensors, %d pumps, %d parameters, %d citations",
			len(info.Patients), len(info.Sensors), len(info.Pumps), len(info.Parameters), len(info.Citations))
	}
	// adult#001: basal u2ss·BW/6000 U/min = 0.0211227 U/min = 1.26736 U/h;
	// initial BG 138.56 mg/dL (simglucose reference runs).
	for _, p := range info.Patients {
		if p.Name == "adult#001" && (abs(p.Basal-1.26736) > 1e-4 || abs(p.BG0-138.56) > 1e-9) {
			t.Errorf("adult#001: %+v", p)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
