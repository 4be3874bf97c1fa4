package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Verifying a signature costs tens of microseconds, more than serving a
// small read, and a client sends the same token with every request. So a
// validated token's principal is kept for a short while: until the token
// expires (with the leeway) or for cacheFor, whichever comes first, so
// that a key its issuer withdraws stops working within about that time.
const (
	cacheFor     = time.Minute
	cacheEntries = 4096
)

// tokenCache maps validated tokens (by SHA-256) to their principals. Only
// tokens that passed every check enter it.
type tokenCache struct {
	mu sync.Mutex
	m  map[[32]byte]cachedPrincipal
}

type cachedPrincipal struct {
	p     *Principal
	until time.Time
}

// get returns the principal of token if it was validated and its entry is
// still good at now.
func (c *tokenCache) get(token string, now time.Time) (*Principal, bool) {
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	return e.p, true
}

// put records that token was validated at now.
func (c *tokenCache) put(token string, p *Principal, now, expiry time.Time) {
	until := now.Add(cacheFor)
	if expiry.Before(until) {
		until = expiry
	}
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[32]byte]cachedPrincipal{}
	}
	if len(c.m) >= cacheEntries {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= cacheEntries {
			clear(c.m)
		}
	}
	c.m[k] = cachedPrincipal{p, until}
}
