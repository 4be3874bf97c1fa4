package t1d

import "testing"

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
