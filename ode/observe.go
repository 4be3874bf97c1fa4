package ode

import (
	"fmt"
	"math"
	"sort"
)

// Direction selects which zero crossings of an event function count.
type Direction int

const (
	Either  Direction = 0  // a crossing in either direction
	Rising  Direction = 1  // g goes from negative to zero or positive
	Falling Direction = -1 // g goes from positive to zero or negative
)

// Event is a function g(t, y) whose zero crossings an integrator locates.
//
// A crossing is detected when the sign of g differs between the two ends of
// an accepted step; if g changes sign twice within one step the pair is
// missed, so bound Settings.MaxStep below the shortest interval between
// crossings when that matters. The crossing time is located on the dense
// output to a few units in the last place of t, and reported at the end of
// the final bracket where g has already changed sign: an integration restarted
// there does not find the same crossing again. A value of g exactly zero at
// the start of an interval is not a crossing.
type Event struct {
	// Func evaluates g. It must not retain or modify y.
	Func func(t float64, y []float64) float64
	// Direction selects which crossings count; the zero value counts both.
	Direction Direction
	// Terminal stops the integration at the crossing, with y holding the
	// state there, so that the caller can apply a discontinuity and restart.
	Terminal bool
}

// Observer asks Solve for the solution along the way: at requested output
// times and at the zero crossings of event functions. Its zero value asks for
// nothing.
type Observer struct {
	// Times lists output times in increasing order. Output is called for
	// each of them in (t0, t], where t is where the integration stopped
	// (t1, or a terminal event); other times are ignored. The half-open
	// interval makes a chain of restarts report every time exactly once.
	Times []float64
	// Output receives the state at each output time, computed by the
	// method's continuous extension (dense output) without shortening steps,
	// or, with StepToTimes, at the end of a step. It must not retain or
	// modify y.
	Output func(t float64, y []float64)
	// StepToTimes ends a step at every output time instead of interpolating:
	// each output is then the end of a step, under the method's local error
	// control, at the price of shorter steps where output times are closer
	// than the step the controller would choose. The continuous extension
	// carries no error control of its own and can be less accurate than the
	// steps (DOP853's, of order 7, by 25 times on a pharmacokinetic model in
	// package model/pkpd); for DOP853 it also costs three more evaluations
	// of f per step. Events are still located on the continuous extension.
	StepToTimes bool
	// Events are the event functions to locate.
	Events []Event
	// OnEvent, if not nil, is called at every located crossing, terminal or
	// not, with the index of the event in Events, in time order and
	// interleaved in time order with Output. It must not retain or modify y.
	OnEvent func(event int, t float64, y []float64)
}

// Result reports how a call of Solve ended.
type Result struct {
	// T is where the integration stopped: t1, or the time of the terminal
	// event that stopped it.
	T float64
	// Event is the index in Observer.Events of the terminal event that
	// stopped the integration, or -1.
	Event int
	// Stats counts the work done by this call.
	Stats Stats
}

// interpolator evaluates the continuous extension of the last accepted step
// at t in [t_old, t_new] into dst.
type interpolator interface {
	interpolate(dst []float64, t float64)
}

// root is a located crossing of event i at time t.
type root struct {
	t float64
	i int
}

// observer is the per-integrator state for output times and events. Its
// slices grow to the largest number of events seen and are then reused.
type observer struct {
	obs   Observer  // a copy, so that Solve's argument does not escape
	on    bool      // observing during this call
	next  int       // index of the next output time
	g     []float64 // event values at the start of the current step
	roots []root    // crossings located in the current step
	y     []float64 // interpolated state (len n)
}

// validate checks an Observer.
func validateObserver(obs *Observer) error {
	for i := 1; i < len(obs.Times); i++ {
		if !(obs.Times[i] > obs.Times[i-1]) {
			return fmt.Errorf("ode: Observer.Times is not increasing at index %d (%v after %v)", i, obs.Times[i], obs.Times[i-1])
		}
	}
	if len(obs.Times) > 0 && obs.Output == nil {
		return fmt.Errorf("ode: Observer.Output is nil but Observer.Times has %d times", len(obs.Times))
	}
	for i, e := range obs.Events {
		if e.Func == nil {
			return fmt.Errorf("ode: Observer.Events[%d].Func is nil", i)
		}
		if e.Direction < Falling || e.Direction > Rising {
			return fmt.Errorf("ode: Observer.Events[%d].Direction = %d, want -1, 0 or 1", i, e.Direction)
		}
	}
	return nil
}

// start prepares o for an integration from (t0, y0); obs may be nil.
func (o *observer) start(obs *Observer, t0 float64, y0 []float64) {
	o.on = obs != nil
	if obs == nil {
		return
	}
	o.obs = *obs
	o.next = sort.Search(len(obs.Times), func(i int) bool { return obs.Times[i] > t0 })
	if cap(o.g) < len(obs.Events) {
		o.g = make([]float64, len(obs.Events))
		o.roots = make([]root, 0, len(obs.Events))
	}
	o.g = o.g[:len(obs.Events)]
	for i, e := range obs.Events {
		o.g[i] = e.Func(t0, y0)
	}
}

// stop ends the observation of a call, dropping the references to the
// caller's functions and slices.
func (o *observer) stop() {
	o.obs, o.on = Observer{}, false
}

// active reports whether the step (t, tn] has anything to report: output
// times or events to look for.
func (o *observer) active(tn float64) bool {
	if !o.on {
		return false
	}
	return len(o.obs.Events) > 0 || (o.next < len(o.obs.Times) && o.obs.Times[o.next] <= tn)
}

// dense reports whether the step (t, tn] needs the continuous extension:
// events to locate, or an output time before tn (one at tn is the step's
// end). Call it only when active.
func (o *observer) dense(tn float64) bool {
	return len(o.obs.Events) > 0 || o.obs.Times[o.next] < tn
}

// nextStop returns the next output time at which a step must end
// (Observer.StepToTimes), or +Inf.
func (o *observer) nextStop() float64 {
	if !o.on || !o.obs.StepToTimes || o.next >= len(o.obs.Times) {
		return math.Inf(1)
	}
	return o.obs.Times[o.next]
}

// crosses reports whether an event with direction dir crosses zero between
// values ga (start of step) and gb (end of step).
func crosses(dir Direction, ga, gb float64) bool {
	switch {
	case ga < 0 && gb >= 0:
		return dir != Falling
	case ga > 0 && gb <= 0:
		return dir != Rising
	}
	return false
}

// step handles the accepted step from t to tn, whose end state is yn. It
// reports output times and crossings in (t, tn] in time order. If a terminal
// event crosses, it stops there: it returns the event's index and time, and
// o.y holds the state at that time. Otherwise it returns -1.
func (o *observer) step(in interpolator, t, tn float64, yn []float64) (event int, te float64) {
	obs := &o.obs
	o.roots = o.roots[:0]
	for i := range obs.Events {
		e := &obs.Events[i]
		gb := e.Func(tn, yn)
		if crosses(e.Direction, o.g[i], gb) {
			tr := o.locate(in, e, t, tn, o.g[i], gb)
			// Insertion keeps roots sorted by time, then by index.
			o.roots = append(o.roots, root{})
			j := len(o.roots) - 1
			for ; j > 0 && o.roots[j-1].t > tr; j-- {
				o.roots[j] = o.roots[j-1]
			}
			o.roots[j] = root{t: tr, i: i}
		}
		o.g[i] = gb
	}
	end, event := tn, -1
	for _, r := range o.roots {
		if obs.Events[r.i].Terminal {
			end, event = r.t, r.i
			break
		}
	}
	for _, r := range o.roots {
		if r.t > end {
			break
		}
		o.output(in, r.t, tn, yn)
		if obs.OnEvent != nil {
			o.at(in, r.t, tn, yn)
			obs.OnEvent(r.i, r.t, o.y)
		}
		if r.i == event {
			o.at(in, r.t, tn, yn)
			return event, r.t
		}
	}
	o.output(in, end, tn, yn)
	return -1, tn
}

// output reports the output times up to and including upto.
func (o *observer) output(in interpolator, upto, tn float64, yn []float64) {
	obs := &o.obs
	for ; o.next < len(obs.Times) && obs.Times[o.next] <= upto; o.next++ {
		tt := obs.Times[o.next]
		if tt == tn {
			obs.Output(tt, yn)
			continue
		}
		in.interpolate(o.y, tt)
		obs.Output(tt, o.y)
	}
}

// at sets o.y to the state at time t of the current step.
func (o *observer) at(in interpolator, t, tn float64, yn []float64) {
	if t == tn {
		copy(o.y, yn)
		return
	}
	in.interpolate(o.y, t)
}

// locate finds the crossing of e in [a, b], where g(a) = ga has the sign before
// the crossing and g(b) = gb the sign after it (or is zero), by the Illinois
// variant of regula falsi (M. Dowell and P. Jarratt, BIT 11, 1971) on the
// continuous extension, with a bisection every eighth step as a safeguard. It
// returns the end of the final bracket on the after side.
func (o *observer) locate(in interpolator, e *Event, a, b, ga, gb float64) float64 {
	tol := 4 * epsilon * math.Max(math.Max(math.Abs(a), math.Abs(b)), b-a)
	side := 0
	for iter := 0; gb != 0 && b-a > tol && iter < 200; iter++ {
		c := b - gb*(b-a)/(gb-ga)
		if !(c > a && c < b) || iter%8 == 7 { // stagnation guard
			c = a + (b-a)/2
			if !(c > a && c < b) {
				break
			}
		}
		in.interpolate(o.y, c)
		gc := e.Func(c, o.y)
		if gc == 0 || (gc > 0) == (gb > 0) {
			b, gb = c, gc
			if side == 1 {
				ga /= 2
			}
			side = 1
		} else {
			a, ga = c, gc
			if side == -1 {
				gb /= 2
			}
			side = -1
		}
	}
	return b
}

const (
	epsilon     = 0x1p-52 // machine epsilon of float64
	sqrtEpsilon = 0x1p-26
)
