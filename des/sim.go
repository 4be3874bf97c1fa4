package des

import (
	"fmt"
	"math"
)

// Event is what a model schedules: a kind of occurrence and an argument,
// both the model's own (for example kind "arrival" and the index of a
// patient in the model's table). Time is set by the kernel.
type Event struct {
	Time float64
	Kind int
	Arg  int
}

// ID identifies a scheduled event, for Cancel. The zero ID is never issued,
// so it can stand for "no event".
type ID uint64

// entry is a heap element: the ordering key and the slot of the event.
type entry struct {
	t    float64
	seq  uint64
	slot int32
}

// slot holds a pending event; pos is its index in the heap, -1 when the
// slot is free. gen changes each time the slot is released, so a stale ID
// cancels nothing.
type slot struct {
	ev  Event
	pos int32
	gen uint32
}

// Handler runs one event. It may schedule and cancel events and read the
// clock through the *Sim it holds.
type Handler func(Event)

// Sim is a discrete-event simulation: a clock and the pending events.
// Build it with New. It is not safe for concurrent use; run replications
// on separate Sims.
type Sim struct {
	now       float64
	seq       uint64
	heap      []entry
	slots     []slot
	free      []int32
	handle    Handler
	processed uint64
}

// New returns a simulation at time 0 that runs events with h. Bind h once
// (a method value such as m.handle allocates each time it is evaluated).
func New(h Handler) *Sim {
	if h == nil {
		panic("des: nil handler")
	}
	return &Sim{handle: h}
}

// Now is the simulation clock.
func (s *Sim) Now() float64 { return s.now }

// Pending is the number of scheduled events not yet run or cancelled.
func (s *Sim) Pending() int { return len(s.heap) }

// Processed is the number of events run so far.
func (s *Sim) Processed() uint64 { return s.processed }

// Schedule schedules an event of kind with arg after delay time units and
// returns its ID. It panics if delay is negative or NaN (a programmer
// error: events cannot run in the past). Events at the same time run in
// the order they were scheduled.
func (s *Sim) Schedule(delay float64, kind, arg int) ID {
	if !(delay >= 0) {
		panic(fmt.Sprintf("des: negative or NaN delay %v", delay))
	}
	return s.At(s.now+delay, kind, arg)
}

// At schedules an event at absolute time t, which must not be before Now
// (it panics otherwise) and may be +Inf (never runs within a finite
// horizon).
func (s *Sim) At(t float64, kind, arg int) ID {
	if !(t >= s.now) {
		panic(fmt.Sprintf("des: event time %v before now %v", t, s.now))
	}
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		if len(s.slots) == math.MaxInt32 {
			panic("des: too many pending events")
		}
		s.slots = append(s.slots, slot{gen: 1})
		i = int32(len(s.slots) - 1)
	}
	sl := &s.slots[i]
	sl.ev = Event{Time: t, Kind: kind, Arg: arg}
	s.seq++
	s.heap = append(s.heap, entry{t: t, seq: s.seq, slot: i})
	sl.pos = int32(len(s.heap) - 1)
	s.up(len(s.heap) - 1)
	return ID(uint64(sl.gen)<<32 | uint64(i))
}

// Cancel removes a pending event (an interrupt: a discharge that will not
// happen because the patient is transferred). It reports whether the event
// was pending; cancelling an event that already ran or was cancelled does
// nothing.
func (s *Sim) Cancel(id ID) bool {
	i := int32(uint32(id))
	gen := uint32(id >> 32)
	if id == 0 || int(i) >= len(s.slots) || s.slots[i].gen != gen || s.slots[i].pos < 0 {
		return false
	}
	pos := int(s.slots[i].pos)
	s.removeAt(pos)
	s.release(i)
	return true
}

// Next returns the time of the next pending event, or +Inf if none.
func (s *Sim) Next() float64 {
	if len(s.heap) == 0 {
		return math.Inf(1)
	}
	return s.heap[0].t
}

// Step runs the next event and reports whether there was one.
func (s *Sim) Step() bool {
	if len(s.heap) == 0 {
		return false
	}
	top := s.heap[0]
	s.removeAt(0)
	ev := s.slots[top.slot].ev
	s.release(top.slot)
	s.now = top.t
	s.processed++
	s.handle(ev)
	return true
}

// Run runs events until none is pending.
func (s *Sim) Run() {
	for s.Step() {
	}
}

// RunUntil runs the events scheduled before t and then sets the clock to
// t (if it is later than now). Events at exactly t stay pending, so a run
// can continue from t, and statistics over [.., t] end at t.
func (s *Sim) RunUntil(t float64) {
	for len(s.heap) > 0 && s.heap[0].t < t {
		s.Step()
	}
	if t > s.now {
		s.now = t
	}
}

func (s *Sim) release(i int32) {
	sl := &s.slots[i]
	sl.pos = -1
	sl.gen++
	if sl.gen == 0 {
		sl.gen = 1
	}
	s.free = append(s.free, i)
}

func less(a, b *entry) bool {
	return a.t < b.t || (a.t == b.t && a.seq < b.seq)
}

// removeAt removes the heap element at pos.
func (s *Sim) removeAt(pos int) {
	last := len(s.heap) - 1
	if pos != last {
		s.heap[pos] = s.heap[last]
		s.slots[s.heap[pos].slot].pos = int32(pos)
	}
	s.heap = s.heap[:last]
	if pos < last {
		if !s.down(pos) {
			s.up(pos)
		}
	}
}

func (s *Sim) up(j int) {
	h := s.heap
	e := h[j]
	for j > 0 {
		p := (j - 1) / 2
		if !less(&e, &h[p]) {
			break
		}
		h[j] = h[p]
		s.slots[h[j].slot].pos = int32(j)
		j = p
	}
	h[j] = e
	s.slots[e.slot].pos = int32(j)
}

// down sifts the element at j down and reports whether it moved.
func (s *Sim) down(j int) bool {
	h := s.heap
	n := len(h)
	e := h[j]
	start := j
	for {
		c := 2*j + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && less(&h[r], &h[c]) {
			c = r
		}
		if !less(&h[c], &e) {
			break
		}
		h[j] = h[c]
		s.slots[h[j].slot].pos = int32(j)
		j = c
	}
	h[j] = e
	s.slots[e.slot].pos = int32(j)
	return j > start
}
