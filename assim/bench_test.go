package assim_test

import (
	"testing"

	"github.com/doppelhealth/doppel/assim"
)

// BenchmarkMAPVancomycin is one MAP fit of reference e: 3 random effects,
// 2 levels, the two-compartment infusion model in closed form over 5 doses,
// numerical gradient, default 7 starts and the Laplace covariance. The
// issue's bar is < 10 ms per fit.
func BenchmarkMAPVancomycin(b *testing.B) {
	v, _ := loadVanco(b)
	prob := v.problem()
	for _, bc := range []struct {
		name     string
		settings *assim.Settings
	}{
		{"default", nil},
		{"single start", &assim.Settings{SingleStart: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := assim.MAP(prob, bc.settings); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
