package des

// FIFO is a first-in first-out queue of ints (entity numbers) on a ring
// buffer. Its zero value is an empty queue; it grows as needed and then
// allocates no more.
type FIFO struct {
	buf        []int
	head, size int
}

// Len is the number of queued entities.
func (q *FIFO) Len() int { return q.size }

// Push appends x at the tail.
func (q *FIFO) Push(x int) {
	if q.size == len(q.buf) {
		n := 2 * len(q.buf)
		if n == 0 {
			n = 16
		}
		buf := make([]int, n)
		k := copy(buf, q.buf[q.head:])
		copy(buf[k:], q.buf[:q.head])
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = x
	q.size++
}

// Pop removes and returns the head; ok is false when the queue is empty.
func (q *FIFO) Pop() (x int, ok bool) {
	if q.size == 0 {
		return 0, false
	}
	x = q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return x, true
}

// PriorityQueue holds entities by priority, lowest value first, ties in
// arrival order (FIFO within a priority). Its zero value is empty.
type PriorityQueue struct {
	h   []pqItem
	seq uint64
}

type pqItem struct {
	prio float64
	seq  uint64
	x    int
}

func (a *pqItem) before(b *pqItem) bool {
	return a.prio < b.prio || (a.prio == b.prio && a.seq < b.seq)
}

// Len is the number of queued entities.
func (q *PriorityQueue) Len() int { return len(q.h) }

// Push adds x with priority prio (lower is served first).
func (q *PriorityQueue) Push(x int, prio float64) {
	q.seq++
	q.h = append(q.h, pqItem{prio: prio, seq: q.seq, x: x})
	j := len(q.h) - 1
	e := q.h[j]
	for j > 0 {
		p := (j - 1) / 2
		if !e.before(&q.h[p]) {
			break
		}
		q.h[j] = q.h[p]
		j = p
	}
	q.h[j] = e
}

// Pop removes and returns the entity with the lowest priority value.
func (q *PriorityQueue) Pop() (x int, ok bool) {
	n := len(q.h)
	if n == 0 {
		return 0, false
	}
	x = q.h[0].x
	e := q.h[n-1]
	q.h = q.h[:n-1]
	n--
	if n == 0 {
		return x, true
	}
	j := 0
	for {
		c := 2*j + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && q.h[r].before(&q.h[c]) {
			c = r
		}
		if !q.h[c].before(&e) {
			break
		}
		q.h[j] = q.h[c]
		j = c
	}
	q.h[j] = e
	return x, true
}

// Resource is a pool of identical units (servers, cubicles, beds) with a
// wait queue. Entities are ints chosen by the model. The protocol is
// event-driven, with no callbacks:
//
//	if r.Request(p, 0) { start(p) }   // granted now, or queued
//	r.Release()                       // one unit freed
//	for p, ok := r.Next(); ok; p, ok = r.Next() { start(p) }
//
// Capacity may change at any time (SetCapacity). A cut below the number of
// units in use preempts nobody: the units in use stay in use, and waiters
// are served again once fewer than Capacity units are busy.
type Resource struct {
	capacity, busy int
	priority       bool
	fifo           FIFO
	pq             PriorityQueue
}

// NewResource returns a resource with capacity units, serving waiters in
// arrival order, or by priority (lowest value first) when priority is set.
// It panics if capacity is negative.
func NewResource(capacity int, priority bool) *Resource {
	if capacity < 0 {
		panic("des: negative capacity")
	}
	return &Resource{capacity: capacity, priority: priority}
}

// Capacity is the current number of units.
func (r *Resource) Capacity() int { return r.capacity }

// Busy is the number of units in use (it may exceed Capacity after a cut).
func (r *Resource) Busy() int { return r.busy }

// Waiting is the number of queued entities.
func (r *Resource) Waiting() int {
	if r.priority {
		return r.pq.Len()
	}
	return r.fifo.Len()
}

// Request asks for one unit for entity x with priority prio (ignored by a
// FIFO resource). It reports true if a unit was granted now; otherwise x
// waits and will be returned by Next. A unit is granted at once only when
// nobody waits, so FIFO order holds.
func (r *Resource) Request(x int, prio float64) bool {
	if r.busy < r.capacity && r.Waiting() == 0 {
		r.busy++
		return true
	}
	if r.priority {
		r.pq.Push(x, prio)
	} else {
		r.fifo.Push(x)
	}
	return false
}

// Release returns one unit. It panics if no unit is in use. Call Next
// afterwards to hand freed units to waiters.
func (r *Resource) Release() {
	if r.busy == 0 {
		panic("des: release of an idle resource")
	}
	r.busy--
}

// Next grants a free unit to the first waiter and returns it; ok is false
// when no unit is free or nobody waits.
func (r *Resource) Next() (x int, ok bool) {
	if r.busy >= r.capacity {
		return 0, false
	}
	if r.priority {
		x, ok = r.pq.Pop()
	} else {
		x, ok = r.fifo.Pop()
	}
	if ok {
		r.busy++
	}
	return x, ok
}

// SetCapacity changes the number of units. It panics if c is negative.
// After an increase, call Next to serve waiters.
func (r *Resource) SetCapacity(c int) {
	if c < 0 {
		panic("des: negative capacity")
	}
	r.capacity = c
}
