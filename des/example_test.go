package des_test

import (
	"fmt"

	"github.com/doppelhealth/doppel/des"
)

// A single bed (a resource of capacity 1) and three patients: the second
// arrives while the first occupies the bed and waits; the third's
// arrival is cancelled (an interrupt). Time in hours.
func Example() {
	const (
		arrive = iota
		leave
	)
	bed := des.NewResource(1, false)
	var sim *des.Sim
	start := func(p int) {
		fmt.Printf("t=%g patient %d gets the bed\n", sim.Now(), p)
		sim.Schedule(2, leave, p) // stays 2 h
	}
	sim = des.New(func(e des.Event) {
		switch e.Kind {
		case arrive:
			if bed.Request(e.Arg, 0) {
				start(e.Arg)
			} else {
				fmt.Printf("t=%g patient %d waits\n", sim.Now(), e.Arg)
			}
		case leave:
			bed.Release()
			if p, ok := bed.Next(); ok {
				start(p)
			}
		}
	})
	sim.Schedule(0, arrive, 1)
	sim.Schedule(1, arrive, 2)
	third := sim.Schedule(1.5, arrive, 3)
	sim.Cancel(third)
	sim.Run()
	fmt.Printf("done at t=%g after %d events\n", sim.Now(), sim.Processed())
	// Output:
	// t=0 patient 1 gets the bed
	// t=1 patient 2 waits
	// t=2 patient 2 gets the bed
	// done at t=4 after 4 events
}
