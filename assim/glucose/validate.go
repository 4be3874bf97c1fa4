package glucose

import (
	"fmt"

	"github.com/doppelhealth/doppel/model/refcheck"
)

// ValidationCases returns the twin's forecast-quality case for `doppel
// validate`: ForecastQuality on adult#009, adolescent#003 and child#003 (2
// days each, seed 1), where the twin's RMSE at 30 and 60 min divided by
// the best baseline's must not exceed 1. The reference is the simulated
// truth, not a published value.
func ValidationCases() []refcheck.Case {
	cfg := QualityConfig{Patients: []string{"adult#009", "adolescent#003", "child#003"}, Days: 2, Seed: 1}
	return []refcheck.Case{{
		Name:        "twin_forecast_quality",
		Description: "T1D twin (particle filter from population parameters, noisy GuardianRT CGM) vs last value and linear extrapolation: adult#009, adolescent#003, child#003, 2 days each",
		Reference:   "true glucose of the simulated patients (model/t1d, simglucose random meals, basal-bolus control)",
		Run: func() ([]refcheck.Check, error) {
			rows, err := ForecastQuality(cfg)
			if err != nil {
				return nil, err
			}
			var checks []refcheck.Check
			for _, h := range []struct {
				name string
				rmse func(QualityRow) float64
			}{{"30", func(r QualityRow) float64 { return r.RMSE30 }}, {"60", func(r QualityRow) float64 { return r.RMSE60 }}} {
				best := rows[1]
				for _, r := range rows[2:] {
					if h.rmse(r) < h.rmse(best) {
						best = r
					}
				}
				checks = append(checks, refcheck.Check{
					Quantity:  "twin RMSE at " + h.name + " min / best baseline's",
					Unit:      "ratio",
					MaxError:  h.rmse(rows[0]) / h.rmse(best),
					Where:     fmt.Sprintf("twin %.1f mg/dL, %s %.1f mg/dL", h.rmse(rows[0]), best.Method, h.rmse(best)),
					Tolerance: 1,
				})
			}
			return checks, nil
		},
	}}
}
