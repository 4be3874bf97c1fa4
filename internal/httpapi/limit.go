package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Rate limit defaults: generous for a person or an app, and still a brake
// on a runaway script or a flood (SEC-35).
const (
	// DefaultRateLimit is the default of Options.RateLimit, in requests per
	// second per client.
	DefaultRateLimit = 200
	// burstSeconds is the default burst, in seconds of the rate: a client
	// idle for a while may send that many seconds' worth at once.
	burstSeconds = 2
)

// limiter is a token bucket per client: each client's bucket holds up to
// burst tokens, refills at rate tokens a second, and a request takes one.
type limiter struct {
	rate, burst float64
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time // when idle buckets were last dropped
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*bucket{}, swept: now()}
}

// allow takes a token from key's bucket. If there is none it returns false
// and how long until there will be one.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(l.burst, b.tokens+dt*l.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops, at most once per refill time, the buckets that have been
// refilled to full: they are the same as no bucket. The map so holds only
// the clients of the last few seconds.
func (l *limiter) sweep(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	if now.Sub(l.swept) < full {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// remoteIP is the default Options.ClientKey: the IP address of the peer.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limit answers 429 with Retry-After and an OperationOutcome to a client
// over its rate.
func (s *Server) limit(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := s.limiter.allow(s.opts.ClientKey(r))
		if !ok {
			secs := max(1, int(math.Ceil(wait.Seconds())))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			s.writeError(w, r, errorf(http.StatusTooManyRequests, "throttled", "too many requests: retry after %d s", secs))
			return
		}
		next.ServeHTTP(w, r)
	})
}
