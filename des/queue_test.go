package des_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/des"
)

func drain(r *des.Resource) []int {
	var got []int
	for x, ok := r.Next(); ok; x, ok = r.Next() {
		got = append(got, x)
	}
	return got
}

func TestResourceFIFO(t *testing.T) {
	r := des.NewResource(2, false)
	var granted []int
	for i := range 6 {
		if r.Request(i, float64(-i)) { // priority ignored
			granted = append(granted, i)
		}
	}
	if diff := cmp.Diff([]int{0, 1}, granted); diff != "" {
		t.Fatalf("granted (-want +got):\n%s", diff)
	}
	if r.Waiting() != 4 || r.Busy() != 2 {
		t.Fatalf("waiting %d busy %d", r.Waiting(), r.Busy())
	}
	r.Release()
	if diff := cmp.Diff([]int{2}, drain(r)); diff != "" {
		t.Errorf("after one release (-want +got):\n%s", diff)
	}
	// Capacity cut below the units in use: nobody is preempted, and no
	// waiter is served until busy < capacity.
	r.SetCapacity(1)
	r.Release()
	if got := drain(r); len(got) != 0 || r.Busy() != 1 {
		t.Errorf("after cut and one release: served %v busy %d", got, r.Busy())
	}
	r.SetCapacity(4)
	if diff := cmp.Diff([]int{3, 4, 5}, drain(r)); diff != "" {
		t.Errorf("after raising capacity (-want +got):\n%s", diff)
	}
}

func TestResourcePriority(t *testing.T) {
	r := des.NewResource(0, true)
	for i, p := range []float64{3, 1, 2, 1, 0, 3} {
		r.Request(i, p)
	}
	r.SetCapacity(6)
	// Lowest value first; ties (1: entities 1 and 3; 3: 0 and 5) in arrival order.
	if diff := cmp.Diff([]int{4, 1, 3, 2, 0, 5}, drain(r)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFIFOWrap(t *testing.T) {
	var q des.FIFO
	next, want := 0, 0
	for round := range 50 {
		for range round % 7 * 5 {
			q.Push(next)
			next++
		}
		for range round % 5 * 4 {
			x, ok := q.Pop()
			if !ok {
				break
			}
			if x != want {
				t.Fatalf("popped %d, want %d", x, want)
			}
			want++
		}
	}
	if q.Len() != next-want {
		t.Errorf("Len = %d, want %d", q.Len(), next-want)
	}
}

func TestLevel(t *testing.T) {
	// Window [10, 30]: level 2 on [0, 15), 4 on [15, 25), 1 after; capacity
	// 4, raised to 5 at 20.
	l := des.NewLevel(10, 4)
	l.Set(0, 2)
	l.Set(15, 4)
	l.SetCapacity(20, 5)
	l.Set(25, 1)
	mean, pFull, peak := l.Stats(30)
	// area: 2·5 + 4·10 + 1·5 = 55 over 20; full (level ≥ cap) on [15, 20): 5 of 20.
	if diff := cmp.Diff([]float64{55.0 / 20, 0.25, 4}, []float64{mean, pFull, peak}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
