package device

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Limiter is a rate limit per device id: a device may send Rate messages a
// second on average and Burst messages at once after a pause, like a token
// bucket of Burst tokens refilled at Rate a second. It is kept as the
// generic cell rate algorithm (ITU-T I.371): one "theoretical arrival
// time" per device, the time at which its bucket would be full again, so
// a device costs one map entry and a check is one comparison. Devices
// whose bucket is full again are forgotten. It is safe for concurrent use.
type Limiter struct {
	interval  time.Duration // 1/Rate
	tolerance time.Duration // (Burst-1) x interval: how far the arrival time may run ahead
	now       func() time.Time

	mu    sync.Mutex
	tat   map[string]time.Time // device -> theoretical arrival time
	swept time.Time
}

// NewLimiter returns a limiter of rate messages a second (> 0) with bursts
// of burst messages (at least 1) on the clock now (nil: time.Now).
func NewLimiter(rate float64, burst int, now func() time.Time) (*Limiter, error) {
	if !(rate > 0) || math.IsInf(rate, 0) || burst < 1 {
		return nil, fmt.Errorf("device: rate limit %v/s with burst %d: want a finite rate > 0 and a burst >= 1", rate, burst)
	}
	if now == nil {
		now = time.Now
	}
	iv := time.Duration(float64(time.Second) / rate)
	return &Limiter{interval: iv, tolerance: time.Duration(burst-1) * iv, now: now, tat: map[string]time.Time{}, swept: now()}, nil
}

// Allow counts one message of device. It reports whether the message is
// within the limit and, if not, how long until one will be.
func (l *Limiter) Allow(device string) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	tat := l.tat[device]
	if tat.Before(now) {
		tat = now
	}
	if ahead := tat.Sub(now); ahead > l.tolerance {
		return false, ahead - l.tolerance
	}
	l.tat[device] = tat.Add(l.interval)
	return true, 0
}

// sweep forgets, at most once per full refill, the devices whose bucket
// is full again: for them no entry means the same.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < l.tolerance+l.interval {
		return
	}
	l.swept = now
	for d, tat := range l.tat {
		if !tat.After(now) {
			delete(l.tat, d)
		}
	}
}

// Throttled is the refusal of a whole message from a device over its rate
// limit; RetryAfter is when the device may send again.
type Throttled struct{ RetryAfter time.Duration }

func (e *Throttled) Error() string {
	return fmt.Sprintf("device: rate limit exceeded; send again after %d s", e.Seconds())
}

// Seconds is RetryAfter rounded up to whole seconds, at least 1 (HTTP
// Retry-After).
func (e *Throttled) Seconds() int { return max(1, int(math.Ceil(e.RetryAfter.Seconds()))) }
