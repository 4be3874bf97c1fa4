package des

import "math"

// Level accumulates the time-weighted statistics of a level (patients in a
// unit, busy servers, queue length) over a window [start, end]: its time
// average and the fraction of the time it was at or above a capacity. Use
// it with the simulation clock: call Set or Add at each change.
type Level struct {
	start    float64
	last     float64
	level    float64
	capacity float64
	area     float64
	full     float64
	max      float64
}

// NewLevel returns a level of 0 whose statistics count from start (the end
// of a warm-up), with capacity for the time-at-or-above-capacity fraction
// (+Inf when there is none).
func NewLevel(start, capacity float64) Level {
	return Level{start: start, capacity: capacity}
}

func (l *Level) advance(now float64) {
	if now > l.start {
		t0 := max(l.last, l.start)
		if dt := now - t0; dt > 0 {
			l.area += l.level * dt
			if l.level >= l.capacity {
				l.full += dt
			}
		}
	}
	l.last = now
}

// Set changes the level at time now.
func (l *Level) Set(now, level float64) {
	l.advance(now)
	l.level = level
	if now >= l.start && level > l.max {
		l.max = level
	}
}

// Add changes the level by d at time now.
func (l *Level) Add(now, d float64) { l.Set(now, l.level+d) }

// SetCapacity changes the capacity at time now (time-varying beds).
func (l *Level) SetCapacity(now, capacity float64) {
	l.advance(now)
	l.capacity = capacity
}

// Integral is the area under the level from start to now (0 before
// start): a day's mean occupancy is the difference of two integrals over
// 24 h. now must not be before the last change.
func (l *Level) Integral(now float64) float64 {
	c := *l
	c.advance(now)
	return c.area
}

// Value is the current level.
func (l *Level) Value() float64 { return l.level }

// Stats returns the time average over [start, end], the fraction of that
// window with the level at or above capacity, and the largest level seen
// in it. end must not be before the last change. Stats does not change l.
func (l *Level) Stats(end float64) (mean, pFull, peak float64) {
	c := *l
	c.advance(end)
	span := end - l.start
	if span <= 0 {
		return math.NaN(), math.NaN(), l.max
	}
	return c.area / span, c.full / span, max(l.max, c.level)
}

// Little holds the two sides of Little's law, L = λW, measured over one
// window: L the time-average number present, Lambda the entry rate and W
// the mean time each entry stays. In a stable system over a long window
// the two sides agree; a gap shows a bookkeeping error or a system that is
// not in steady state (an overloaded queue that keeps growing).
type Little struct {
	L      float64 `json:"L"`
	Lambda float64 `json:"lambda_per_h"`
	W      float64 `json:"W_h"`
}

// RelErr is |L − λW| / L (NaN when L is 0).
func (l Little) RelErr() float64 {
	if l.L == 0 {
		return math.NaN()
	}
	return math.Abs(l.L-l.Lambda*l.W) / l.L
}
