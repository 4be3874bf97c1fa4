package glucose

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkUpdate is one 5-min cycle of a live twin: Advance through 5 min
// of inputs, Update with a reading, and the 30/60/120-min Forecast with
// P(hypo), for several ensemble sizes. The scale target is 10,000
// twins each updating every 5 min on 2 cores: 33 updates/s, so 60 ms of
// CPU per update at most.
func BenchmarkUpdate(b *testing.B) {
	tr := mustTruth(b, "adult#001", 1)
	for _, n := range []int{32, 64, 128} {
		for _, forecast := range []bool{false, true} {
			name := fmt.Sprintf("particles=%d/assimilate", n)
			if forecast {
				name = fmt.Sprintf("particles=%d/assimilate+forecast120", n)
			}
			b.Run(name, func(b *testing.B) {
				f, err := New(tr.pop, mustSensor(b), rand.New(rand.NewPCG(1, 1)), Options{Particles: n})
				if err != nil {
					b.Fatal(err)
				}
				if err := f.Update(tr.cgm[0]); err != nil {
					b.Fatal(err)
				}
				k := 1
				b.ReportAllocs()
				for b.Loop() {
					if k == len(tr.cgm) {
						k = 1
					}
					if err := f.Advance(tr.inputs[(k-1)*5 : k*5]); err != nil {
						b.Fatal(err)
					}
					if err := f.Update(tr.cgm[k]); err != nil {
						b.Fatal(err)
					}
					if forecast {
						if _, err := f.Forecast(nil, []int{30, 60, 120}); err != nil {
							b.Fatal(err)
						}
					}
					k++
				}
			})
		}
	}
}
