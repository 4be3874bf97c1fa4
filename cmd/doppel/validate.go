package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/doppelhealth/doppel/assim/glucose"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/model/pkpd"
	"github.com/doppelhealth/doppel/model/refcheck"
	"github.com/doppelhealth/doppel/model/t1d"
)

// validationCase is the outcome of one reference case, as printed.
type validationCase struct {
	Model       string            `json:"model"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Reference   string            `json:"reference"`
	Checks      []validationCheck `json:"checks"`
	Error       string            `json:"error,omitempty"`
	Pass        bool              `json:"pass"`
}

type validationCheck struct {
	Quantity  string  `json:"quantity"`
	Unit      string  `json:"unit"`
	MaxError  float64 `json:"max_error"`
	AtMinute  float64 `json:"at_minute"`
	Where     string  `json:"where,omitempty"`
	Tolerance float64 `json:"tolerance"`
	Pass      bool    `json:"pass"`
}

func newValidateCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "validate [MODEL]",
		Short: "Run every model against its reference cases",
		Long: `Validate runs the credibility suite: every reference case of each model
(or of MODEL only) is simulated and compared with the reference output, and
each compared quantity is printed with its largest error, its tolerance and
PASS or FAIL. The exit status is 1 if any check fails.

The t1d cases are runs of simglucose v0.2.11 (commit a6f6777): the plain
patient ODE and closed-loop basal-bolus days. The pkpd cases are the PK/PD
reference set (R 4.2.2 with deSolve and nlme): 1- and 2-compartment models
in closed form and on the ODE path (a NONMEM data set, steady state, 1000
simulated subjects), pharmacodynamic models, the vancomycin MAP fit and dose
recommendation, and the DDI and pharmacogenomics vectors. The data are
embedded in the binary. The twin case runs the live diabetes twin (a
particle filter started from population parameters, seeing only noisy CGM)
on simulated patients whose true glucose is known, and checks that its 30-
and 60-minute forecasts beat last-value and linear extrapolation.`,
		Example: `  doppel validate
  doppel validate pkpd
  doppel validate t1d --json
  doppel validate twin`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var cases []validationCase
			if len(args) == 1 {
				var ok bool
				if cases, ok = runValidation(args[0]); !ok {
					return usageError(fmt.Errorf("unknown model %q; valid: %s", args[0], strings.Join(validationModels(), ", ")))
				}
			} else {
				for _, m := range validationModels() {
					c, _ := runValidation(m)
					cases = append(cases, c...)
				}
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(jsonSafe(cases)); err != nil {
					return err
				}
			} else {
				printValidation(e, cases)
			}
			failed := 0
			for _, c := range cases {
				if !c.Pass {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d validation cases failed", failed, len(cases))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	return c
}

// validationModels lists the models with reference cases, in the order
// printed.
func validationModels() []string { return []string{"t1d", "pkpd", "twin"} }

// runValidation runs the reference cases of one model; ok is false for a
// model without cases.
func runValidation(model string) (cases []validationCase, ok bool) {
	var refs []refcheck.Case
	minutesPer := 1.0 // the model's time unit, in min
	switch model {
	case "t1d":
		refs = t1d.ValidationCases()
	case "pkpd":
		refs, minutesPer = pkpd.ValidationCases(), 60 // pkpd times are in h
	case "twin":
		refs = glucose.ValidationCases()
	default:
		return nil, false
	}
	for _, rc := range refs {
		c := validationCase{Model: model, Name: rc.Name, Description: rc.Description, Reference: rc.Reference, Pass: true}
		checks, err := rc.Run()
		if err != nil {
			c.Error, c.Pass = err.Error(), false
		}
		if err == nil && len(checks) == 0 {
			c.Error, c.Pass = errors.New("no checks").Error(), false
		}
		for _, ch := range checks {
			c.Checks = append(c.Checks, validationCheck{
				Quantity: ch.Quantity, Unit: ch.Unit, MaxError: ch.MaxError, AtMinute: minutesPer * ch.At, Where: ch.Where, Tolerance: ch.Tolerance, Pass: ch.Pass(),
			})
			c.Pass = c.Pass && ch.Pass()
		}
		cases = append(cases, c)
	}
	return cases, true
}

func printValidation(e *env, cases []validationCase) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tCASE\tQUANTITY\tMAX ERROR\tTOLERANCE\tUNIT\tRESULT")
	passed := 0
	for _, c := range cases {
		if c.Pass {
			passed++
		}
		if c.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\tFAIL\n", c.Model, c.Name, "error: "+c.Error)
		}
		for _, ch := range c.Checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Model, c.Name, ch.Quantity,
				strconv.FormatFloat(ch.MaxError, 'e', 2, 64), strconv.FormatFloat(ch.Tolerance, 'g', 3, 64), ch.Unit, passFail(ch.Pass))
		}
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "\n%d of %d cases passed.\n", passed, len(cases))
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// jsonSafe replaces non-finite errors (JSON has no NaN) by -1 and reports
// them as failures.
func jsonSafe(cases []validationCase) []validationCase {
	for i := range cases {
		for j := range cases[i].Checks {
			if ch := &cases[i].Checks[j]; math.IsNaN(ch.MaxError) || math.IsInf(ch.MaxError, 0) {
				ch.MaxError, ch.Pass, cases[i].Pass = -1, false, false
			}
		}
	}
	return cases
}
