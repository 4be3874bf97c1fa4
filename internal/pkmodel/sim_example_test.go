package pkmodel_test

import (
	"context"
	"fmt"

	"github.com/doppelhealth/doppel/internal/pkmodel"
)

// A typical 80 kg patient with CrCL 80 mL/min on vancomycin 1000 mg q12h.
func ExampleParseSim() {
	src := `model: vancomycin-goti2018
patient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}
doses: [{time: 0 h, amount: 1000 mg, infusion: 1 h, every: 12 h, doses: 6}]
outputs: {every: 0.5 h, until: 72 h}
`
	s, err := pkmodel.ParseSim("vanco.yaml", []byte(src), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	recs, _ := s.Records()
	p, err := pkmodel.Simulate(s.Model, s.Covariates, s.Eta, recs, s.Times())
	if err != nil {
		fmt.Println(err)
		return
	}
	m, _ := s.SimMetrics(p)
	fmt.Printf("Cmax %.1f mg/L at %g h, trough %.1f mg/L, AUC0-72 %.0f mg·h/L\n", m.Cmax, m.Tmax, m.Cmin, m.AUC)
	// Output:
	// Cmax 29.9 mg/L at 61 h, trough 16.4 mg/L, AUC0-72 1209 mg·h/L
}

// A population of 200 with the model's IIV: the median and 90 % interval
// of the AUC over the last dose interval.
func ExampleTrial_Run() {
	src := `model: vancomycin-goti2018
subjects: 200
patient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}
doses: [{time: 0 h, amount: 1000 mg, infusion: 1 h, every: 12 h, doses: 6}]
outputs: {every: 1 h, until: 72 h}
exposure: {from: 60 h, to: 72 h}
`
	t, err := pkmodel.ParseTrial("pop.yaml", []byte(src), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := t.Run(context.Background(), 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	auc := make([]float64, len(r.Metrics))
	for i, m := range r.Metrics {
		auc[i] = m.AUC
	}
	med, lo, hi := pkmodel.Summarize(auc)
	fmt.Printf("AUC60-72 %.0f [%.0f-%.0f] mg·h/L\n", med, lo, hi)
	// Output:
	// AUC60-72 256 [155-416] mg·h/L
}
