package pkmodel_test

import (
	"fmt"

	"github.com/doppelhealth/doppel/internal/pkmodel"
)

// A library model gives the typical values of a patient.
func ExampleLibrary() {
	m, err := pkmodel.Library("vancomycin-goti2018")
	if err != nil {
		panic(err)
	}
	p, err := m.PK.Typical(map[string]float64{"weight": 80, "crcl": 80, "dialysis": 0})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s (doi:%s)\nCL %.4f L/h, Vc %.4f L, Q %.1f L/h, Vp %.4f L\n", m.Name, m.Citation.DOI, p.CL, p.V1, p.Q2, p.V2)
	// Output:
	// vancomycin-goti2018 (doi:10.1097/FTD.0000000000000490)
	// CL 3.2534 L/h, Vc 66.7429 L, Q 6.5 L/h, Vp 43.8857 L
}

// Quantities carry UCUM units and convert to the model's.
func ExampleParseQuantity() {
	q, err := pkmodel.ParseQuantity("80 mL/min")
	if err != nil {
		panic(err)
	}
	lh, _ := pkmodel.ParseUnit("L/h")
	v, err := q.In(lh)
	fmt.Println(v, err)
	_, err = pkmodel.ParseQuantity("176 lb")
	fmt.Println(err)
	// Output:
	// 4.8 <nil>
	// pkmodel: unknown unit "lb": pounds are not accepted; give the weight in kg
}

// A dosing file: the patient, the doses given and the levels measured.
func ExampleParseRequest() {
	data := []byte(`model: vancomycin-goti2018
patient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}
doses:
  - {time: 0 h, amount: 2000 mg, infusion: 2 h}
  - {time: 12 h, amount: 1000 mg, infusion: 1 h, every: 12 h, doses: 4}
levels:
  - {time: 38 h, value: 39.8 mg/L}
`)
	r, err := pkmodel.ParseRequest("tdm.yaml", data, nil)
	if err != nil {
		panic(err)
	}
	for _, rec := range r.Records() {
		fmt.Printf("TIME %g AMT %g RATE %g II %g ADDL %d\n", rec.Time, rec.AMT, rec.RATE, rec.II, rec.ADDL)
	}
	_, err = pkmodel.ParseRequest("tdm.yaml", []byte("model: vanco\n"), nil)
	fmt.Println(err)
	// Output:
	// TIME 0 AMT 2000 RATE 1000 II 0 ADDL 0
	// TIME 12 AMT 1000 RATE 1000 II 12 ADDL 3
	// tdm.yaml:1: model: unknown model "vanco"; valid: amikacin-jin2020, ciclosporin-wilhelm2012, gentamicin-hodiamont2017, vancomycin-goti2018 (or a model file ending in .yaml)
}
