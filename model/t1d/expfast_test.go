package t1d

import (
	"math"
	"testing"
)

// TestExp compares exp with math.Exp over the range the model uses
// ([-80, 80], see derivative.kgut) and at its ends.
func TestExp(t *testing.T) {
	worst, at := 0.0, 0.0
	for x := -80.0; x <= 80; x += 0.000731 {
		want := math.Exp(x)
		if e := math.Abs(exp(x)-want) / want; e > worst {
			worst, at = e, x
		}
	}
	for _, x := range []float64{-80, -36.7, -1e-300, 0, 1e-300, 0.5 * math.Ln2, -0.5 * math.Ln2, 80} {
		want := math.Exp(x)
		if e := math.Abs(exp(x)-want) / want; e > worst {
			worst, at = e, x
		}
	}
	t.Logf("max relative error %.3g at %v", worst, at)
	if worst > 1e-15 {
		t.Errorf("exp: relative error %.3g at x = %v, want ≤ 1e-15", worst, at)
	}
}

func BenchmarkExp(b *testing.B) {
	for _, bc := range []struct {
		name string
		f    func(float64) float64
	}{{"t1d", exp}, {"math", math.Exp}} {
		b.Run(bc.name, func(b *testing.B) {
			x, s := -3.0, 0.0
			for b.Loop() {
				s += bc.f(x)
				x += 1e-7
			}
			if s == 0 {
				b.Fatal("unused")
			}
		})
	}
}
