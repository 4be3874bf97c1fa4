package clinical_test

import (
	"fmt"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
)

func ExampleNormalize() {
	o, err := clinical.Normalize(clinical.Observation{
		Device:    "cgm-1",
		Code:      clinical.CodeGlucoseCGM,
		Value:     &clinical.Quantity{Value: 6.0, Unit: "mmol/L"},
		Effective: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
	})
	fmt.Printf("%.1f %s %v\n", o.Value.Value, o.Value.Unit, err)
	_, err = clinical.Normalize(clinical.Observation{
		Device:    "cgm-1",
		Code:      clinical.CodeGlucoseCGM,
		Value:     &clinical.Quantity{Value: 5000, Unit: "mg/dL"},
		Effective: time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC),
	})
	fmt.Println(err)
	// Output:
	// 108.1 mg/dL <nil>
	// clinical: value: value outside the plausible range 20 to 600 mg/dL
}
