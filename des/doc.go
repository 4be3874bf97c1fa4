// Package des is a discrete-event simulation kernel: a virtual clock, an
// event list ordered by (time, sequence number), resources with a capacity
// that may change over time, FIFO and priority wait queues, and
// time-weighted statistics.
//
// It exists so that Doppel's operational twins (hospital patient flow,
// later epidemics coupled to beds) can run millions of events per second,
// start from a given state and be reproduced exactly from a seed. It
// follows the event-heap design of fschuetz04/simgo (ties broken by a
// sequence number, Step/Run/RunUntil, negative delays rejected) but keeps
// every entity as plain data: there is no goroutine per process. A model
// is a set of event kinds and a handler that switches on them.
//
// # Time
//
// The clock is a float64 in a unit the model chooses and documents; every
// Doppel model uses hours. Two events at the same time run in the order
// they were scheduled, so a run is deterministic.
//
// # Allocation
//
// Events live in a slab with a free list and the heap holds their slot
// numbers, so once the slab and the queues have grown to the largest
// number of pending events and waiters, scheduling, cancelling and running
// events allocate nothing.
//
// # Randomness
//
// The kernel draws no random numbers. Models take a *rand.Rand
// (math/rand/v2, e.g. rand.New(rand.NewPCG(seed, stream))) from their
// caller; the duration distributions ([Exponential], [LogNormal], [Gamma],
// [Empirical], behind the [Dist] interface) sample from it, and can also
// sample conditionally on a value already exceeded (a stay under way).
package des
