package pkmodel_test

import (
	"fmt"

	"github.com/doppelhealth/doppel/internal/pkmodel"
)

// A CYP2D6 intermediate metabolizer (*1/*4, activity score 1) taking a
// CYP2D6 inhibitor ([I]/Ki = 4): the activities multiply
// (phenoconversion), CL × (0.6·0.5·0.2 + 0.4). The fm, inhibitor and PD
// values are illustrative.
func ExampleSim_ClearanceFactors() {
	src := `model: vancomycin-goti2018
patient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}
doses: [{time: 0 h, amount: 1000 mg, infusion: 1 h, every: 12 h, doses: 6}]
outputs: {every: 1 h, until: 72 h}
genotype: {CYP2D6: "*1/*4"}
pgx: {CYP2D6: {fm: 0.6}}
inhibitor: {conc: 2 uM, ki: 0.5 uM, enzyme: CYP2D6}
pd: {model: emax, e0: 0, emax: 100, ec50: 15 mg/L, hill: 2}
`
	s, err := pkmodel.ParseSim("pgx.yaml", []byte(src), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fs, f, err := s.ClearanceFactors()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range fs {
		fmt.Printf("×%.2f %s\n", c.Factor, c.Source)
	}
	fmt.Printf("CL × %.2f\n", f)
	recs, _ := s.Records()
	p, err := s.Simulate(s.Eta, recs, s.Times())
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := s.Effect(p)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := pkmodel.EffectMetrics(p.Times, r.Effect)
	fmt.Printf("effect max %.1f at %g h\n", m.Max, m.TMax)
	// Output:
	// ×0.46 CYP2D6 *1/*4: IM, AS 1 (ref 2), fm 0.6 + inhibitor 2 uM, Ki 0.5 uM, [I]/Ki 4 (phenoconversion)
	// CL × 0.46
	// effect max 88.2 at 61 h
}
