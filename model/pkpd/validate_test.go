package pkpd_test

import (
	"fmt"
	"testing"

	"github.com/doppelhealth/doppel/model/pkpd"
)

// TestValidationCases runs every reference case of the package and
// requires each check to pass, to name its unit and to have a tolerance;
// it also requires the cases a, b, d, e, f, g and h of the reference set
// to be present.
func TestValidationCases(t *testing.T) {
	cases := pkpd.ValidationCases()
	seen := make(map[string]bool)
	for _, vc := range cases {
		if seen[vc.Name] || vc.Description == "" || vc.Reference == "" || vc.Run == nil {
			t.Errorf("case %q: duplicate name, or no description, reference or Run", vc.Name)
		}
		seen[vc.Name] = true
		if testing.Short() && vc.Name == "f_popsim_1000" {
			continue
		}
		checks, err := vc.Run()
		if err != nil {
			t.Errorf("%s: %v", vc.Name, err)
			continue
		}
		if len(checks) == 0 {
			t.Errorf("%s: no checks", vc.Name)
		}
		for _, c := range checks {
			t.Logf("%-24s %-75s %9.2e  tol %-8g %-10s %s", vc.Name, c.Quantity, c.MaxError, c.Tolerance, c.Unit, c.Where)
			if !c.Pass() {
				t.Errorf("%s: %s: max error %g (%s) exceeds %g %s", vc.Name, c.Quantity, c.MaxError, c.Where, c.Tolerance, c.Unit)
			}
			if c.Unit == "" || c.Where == "" || !(c.Tolerance >= 0) {
				t.Errorf("%s: %s: no unit, no location or bad tolerance: %+v", vc.Name, c.Quantity, c)
			}
		}
	}
	for _, name := range []string{"a_1cmt_oral", "b_2cmt_multidose_nonmem", "h_ss_1cmt_oral", "h_ss_2cmt_infusion",
		"f_popsim_1000", "d_pd", "e_vanco_fit", "e_vanco_dose", "g_ddi", "g_pgx"} {
		if !seen[name] {
			t.Errorf("no case %q", name)
		}
	}
}

// The validation cases run the models against the embedded reference
// results (R deSolve and nlme); each check reports its largest error.
func ExampleValidationCases() {
	for _, vc := range pkpd.ValidationCases() {
		if vc.Name != "g_ddi" {
			continue
		}
		checks, err := vc.Run()
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, c := range checks {
			fmt.Printf("%s: pass %v\n", c.Quantity, c.Pass())
		}
	}
	// Output:
	// reversible AUCR, 42 rows: pass true
	// mechanistic static model AUCR, gut, liver, 4 cases: pass true
	// FDA basic models Igut, R1, R1,gut, R2, R3, 3 inhibitors: pass true
}
