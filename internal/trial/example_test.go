package trial_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/doppelhealth/doppel/internal/trial"
)

// A toy trial: each "patient" has a baseline glucose, each arm lowers it by a
// fixed amount, and day-to-day noise comes from seeds that depend on the
// patient and day but not the arm (common random numbers).
func ExampleRun() {
	baseline := map[string]float64{"ann": 150, "bob": 170, "cy": 190}
	cfg := trial.Config{
		Patients: []string{"ann", "bob", "cy"},
		Arms:     []string{"control", "treated"},
		Metrics:  []string{"mean glucose"},
	}
	run := func(ctx context.Context, j trial.Job, tr *trial.Trace) ([]float64, error) {
		name := cfg.Patients[j.Patient]
		tr.Start, tr.Step = 0, 60 // hourly samples from midnight
		var sum float64
		for day := range 2 {
			rng := rand.New(rand.NewPCG(trial.Seed(42, "noise", name, day), 0))
			for range 24 {
				g := baseline[name] - 20*float64(j.Arm) + 10*rng.NormFloat64()
				tr.Glucose = append(tr.Glucose, g)
				sum += g
			}
		}
		return []float64{sum / float64(len(tr.Glucose))}, nil
	}
	res, err := trial.Run(context.Background(), cfg, run)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, arm := range res.Summary() {
		s := arm.Stats[0]
		fmt.Printf("%-8s median %.0f [IQR %.0f-%.0f] mg/dL, n=%d\n", arm.Arm, s.Median, s.Q1, s.Q3, s.N)
	}
	// Same noise in both arms, so the paired difference is exactly the effect.
	fmt.Printf("ann: treated - control = %.1f mg/dL\n", res.Values[1][0][0]-res.Values[0][0][0])
	// Output:
	// control  median 168 [IQR 160-179] mg/dL, n=3
	// treated  median 148 [IQR 140-159] mg/dL, n=3
	// ann: treated - control = -20.0 mg/dL
}
