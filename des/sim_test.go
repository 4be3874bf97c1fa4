package des_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/des"
)

type rec struct {
	T    float64
	Kind int
	Arg  int
}

// recorder is a model that logs what runs, for kernel tests.
type recorder struct {
	sim *des.Sim
	log []rec
	on  func(e des.Event)
}

func newRecorder() *recorder {
	r := &recorder{}
	r.sim = des.New(func(e des.Event) {
		r.log = append(r.log, rec{r.sim.Now(), e.Kind, e.Arg})
		if r.on != nil {
			r.on(e)
		}
	})
	return r
}

func TestOrderAndTies(t *testing.T) {
	r := newRecorder()
	r.sim.Schedule(2, 0, 1)
	r.sim.Schedule(1, 0, 2)
	r.sim.Schedule(2, 0, 3) // same time as arg 1: runs after it (scheduled later)
	r.sim.Schedule(0, 0, 4)
	r.sim.At(1, 0, 5)
	r.on = func(e des.Event) {
		if e.Arg == 2 {
			r.sim.Schedule(0, 1, 6) // at the current time: after everything already at t=1
		}
	}
	r.sim.Run()
	want := []rec{{0, 0, 4}, {1, 0, 2}, {1, 0, 5}, {1, 1, 6}, {2, 0, 1}, {2, 0, 3}}
	if diff := cmp.Diff(want, r.log); diff != "" {
		t.Errorf("event order (-want +got):\n%s", diff)
	}
	if r.sim.Processed() != 6 || r.sim.Pending() != 0 || r.sim.Now() != 2 {
		t.Errorf("processed %d pending %d now %v", r.sim.Processed(), r.sim.Pending(), r.sim.Now())
	}
}

func TestCancel(t *testing.T) {
	r := newRecorder()
	a := r.sim.Schedule(1, 0, 1)
	b := r.sim.Schedule(2, 0, 2)
	c := r.sim.Schedule(3, 0, 3)
	if !r.sim.Cancel(b) {
		t.Fatal("Cancel of a pending event = false")
	}
	if r.sim.Cancel(b) {
		t.Error("second Cancel = true")
	}
	if r.sim.Cancel(0) {
		t.Error("Cancel(0) = true")
	}
	r.sim.Step() // runs a
	if r.sim.Cancel(a) {
		t.Error("Cancel of an event that ran = true")
	}
	d := r.sim.Schedule(0.5, 0, 4) // reuses a freed slot: the old IDs stay dead
	if d == a || d == b {
		t.Error("a reused slot gave an old ID")
	}
	r.on = func(e des.Event) {
		if e.Arg == 4 {
			r.sim.Cancel(c) // an interrupt from inside a handler
		}
	}
	r.sim.Run()
	want := []rec{{1, 0, 1}, {1.5, 0, 4}}
	if diff := cmp.Diff(want, r.log); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestHeapAgainstSort schedules and cancels many random events and checks
// that they run in (time, scheduling order), the order a stable sort gives.
func TestHeapAgainstSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := newRecorder()
	type item struct {
		t   float64
		arg int
	}
	var live []item
	var ids []des.ID
	for i := range 5000 {
		tm := math.Floor(rng.Float64() * 100) // many ties
		ids = append(ids, r.sim.At(tm, 0, i))
		live = append(live, item{tm, i})
	}
	cancelled := map[int]bool{}
	for range 1500 {
		i := rng.IntN(len(ids))
		if r.sim.Cancel(ids[i]) != !cancelled[i] {
			t.Fatalf("Cancel(%d) disagrees with the record", i)
		}
		cancelled[i] = true
	}
	var want []rec
	for tm := 0.0; tm < 100; tm++ {
		for _, it := range live {
			if it.t == tm && !cancelled[it.arg] {
				want = append(want, rec{tm, 0, it.arg})
			}
		}
	}
	r.sim.Run()
	if diff := cmp.Diff(want, r.log); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRunUntil(t *testing.T) {
	r := newRecorder()
	r.sim.Schedule(1, 0, 1)
	r.sim.Schedule(2, 0, 2)
	r.sim.Schedule(3, 0, 3)
	r.sim.RunUntil(2) // events at exactly 2 stay pending
	if diff := cmp.Diff([]rec{{1, 0, 1}}, r.log); diff != "" || r.sim.Now() != 2 {
		t.Errorf("after RunUntil(2): now %v, (-want +got):\n%s", r.sim.Now(), diff)
	}
	if r.sim.Next() != 2 {
		t.Errorf("Next = %v, want 2", r.sim.Next())
	}
	r.sim.RunUntil(10)
	if len(r.log) != 3 || r.sim.Now() != 10 || !math.IsInf(r.sim.Next(), 1) {
		t.Errorf("after RunUntil(10): %v now %v", r.log, r.sim.Now())
	}
}

func TestPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"negative delay", func() { newRecorder().sim.Schedule(-1, 0, 0) }},
		{"NaN delay", func() { newRecorder().sim.Schedule(math.NaN(), 0, 0) }},
		{"past time", func() {
			r := newRecorder()
			r.sim.RunUntil(5)
			r.sim.At(4, 0, 0)
		}},
		{"nil handler", func() { des.New(nil) }},
		{"release idle", func() { des.NewResource(1, false).Release() }},
		{"negative capacity", func() { des.NewResource(-1, false) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f()
		})
	}
}

// BenchmarkScheduleStep measures one schedule plus one pop-and-run on a
// heap holding 1000 pending events (the steady state of a busy hospital).
// It allocates nothing per event.
func BenchmarkScheduleStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	var sim *des.Sim
	sim = des.New(func(e des.Event) {})
	for i := range 1000 {
		sim.Schedule(rng.Float64()*100, 0, i)
	}
	b.ReportAllocs()
	for b.Loop() {
		sim.Schedule(rng.Float64()*100, 0, 0)
		sim.Step()
	}
}

// BenchmarkCancel measures schedule + cancel + schedule + step.
func BenchmarkCancel(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	sim := des.New(func(e des.Event) {})
	for i := range 1000 {
		sim.Schedule(rng.Float64()*100, 0, i)
	}
	b.ReportAllocs()
	for b.Loop() {
		id := sim.Schedule(rng.Float64()*100, 0, 0)
		sim.Cancel(id)
		sim.Schedule(rng.Float64()*100, 0, 0)
		sim.Step()
	}
}

func TestZeroAllocSteadyState(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	sim := des.New(func(e des.Event) {})
	res := des.NewResource(2, true)
	var fifo des.FIFO
	for i := range 100 {
		sim.Schedule(rng.Float64(), 0, i)
		res.Request(i, rng.Float64())
		fifo.Push(i)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		id := sim.Schedule(rng.Float64()*10, 0, 0)
		sim.Cancel(id)
		sim.Schedule(rng.Float64()*10, 0, 0)
		sim.Step()
		res.Release()
		res.Next()
		res.Request(1, rng.Float64())
		fifo.Pop()
		fifo.Push(1)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per steady-state step, want 0", allocs)
	}
}
