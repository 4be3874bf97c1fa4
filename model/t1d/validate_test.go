package t1d

import (
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/ode"
)

// TestValidationCases runs every embedded simglucose reference case with the
// default integrator and checks BG, insulin and states against the
// tolerances of MODEL.md §11 (see the constants in validate.go).
func TestValidationCases(t *testing.T) {
	for _, vc := range ValidationCases() {
		t.Run(vc.Name, func(t *testing.T) {
			checks, err := vc.Run()
			if err != nil {
				t.Fatal(err)
			}
			if len(checks) == 0 {
				t.Fatal("no checks")
			}
			for _, c := range checks {
				t.Logf("%s: max error %.3g %s at t = %v min (tolerance %.3g)", c.Quantity, c.MaxError, c.Unit, c.At, c.Tolerance)
				if !c.Pass() {
					t.Errorf("%s: max error %.3g %s at t = %v min exceeds %.3g", c.Quantity, c.MaxError, c.Unit, c.At, c.Tolerance)
				}
			}
		})
	}
}

// TestMethodsAgainstReferences runs the closed-loop references with other
// integration methods: plain RK4 with the largest step MODEL.md §11 allows
// and the adaptive DoPri5 with simglucose's tolerances. Both must meet the
// accuracy bar too.
func TestMethodsAgainstReferences(t *testing.T) {
	for _, m := range []struct {
		name   string
		method Method
	}{
		{"RK4 h=0.25", RK4(0.25)},
		{"DoPri5 rtol=1e-6 atol=1e-12", DoPri5(ode.Settings{RelTol: 1e-6, AbsTol: 1e-12})},
	} {
		for _, ref := range []struct{ file, patient string }{
			{"bb_24h_adult_001.csv", "adult#001"},
			{"bb_24h_adolescent_001.csv", "adolescent#001"},
		} {
			tab, err := readRef(ref.file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Patient(ref.patient)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := closedLoopConfig(tab, p)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Method = m.method
			res, err := Simulate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			checks, err := compareRecords(tab, res.Records)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range checks {
				t.Logf("%s, %s: %s max error %.3g", m.name, ref.file, c.Quantity, c.MaxError)
				if !c.Pass() {
					t.Errorf("%s, %s: %s max error %.3g exceeds %.3g", m.name, ref.file, c.Quantity, c.MaxError, c.Tolerance)
				}
			}
		}
	}
}

// TestEveryPatientValidated makes sure the accuracy bar is checked for each
// of the 30 virtual patients in closed loop, not only for the two of the
// shared references.
func TestEveryPatientValidated(t *testing.T) {
	covered := map[string]bool{}
	for _, vc := range ValidationCases() {
		for _, name := range Patients() {
			if strings.HasPrefix(vc.Description, "closed loop: "+name+",") {
				covered[name] = true
			}
		}
	}
	for _, name := range Patients() {
		if !covered[name] {
			t.Errorf("no closed-loop validation case for %s", name)
		}
	}
}
