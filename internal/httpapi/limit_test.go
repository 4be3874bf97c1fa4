package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a settable fake time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// doFrom sends a GET from the peer addr with extra headers.
func (e *testEnv) doFrom(addr, target string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	r.RemoteAddr = addr
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

// TestRateLimit (SEC-35): a client gets its burst, then 429 with
// Retry-After and an OperationOutcome until its bucket refills; other
// clients are not affected.
func TestRateLimit(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	e := newEnv(t, Options{RateLimit: 2, RateBurst: 3, Now: c.now})
	const a, b = "192.0.2.1:1000", "192.0.2.2:1000"
	var got []int
	step := func(addr string) *httptest.ResponseRecorder {
		w := e.doFrom(addr, "/fhir/metadata")
		got = append(got, w.Code)
		return w
	}
	for range 3 {
		step(a)
	}
	w := step(a)
	if ra := w.Header().Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1 (a token every 0.5 s)", ra)
	}
	if is := outcome(t, w); is[0].Code != "throttled" {
		t.Errorf("issue code %q, want throttled", is[0].Code)
	}
	step("192.0.2.1:2000") // another port, the same client
	step(b)                // another client
	c.t = c.t.Add(500 * time.Millisecond)
	step(a) // one token back
	step(a)
	c.t = c.t.Add(10 * time.Second)
	for range 3 {
		step(a) // full again, not more
	}
	step(a)
	want := []int{200, 200, 200, 429, 429, 200, 200, 429, 200, 200, 200, 429}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.log.String(), "status=429") {
		t.Errorf("429s are not in the request log:\n%s", e.log)
	}
}

// TestRateLimitDefault: with zero Options the limit is on, at
// DefaultRateLimit with a burst of twice that; a negative RateLimit turns
// it off.
func TestRateLimitDefault(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, tc := range []struct {
		rate float64
		ok   int // requests answered before the first 429; -1 none
	}{
		{0, 2 * DefaultRateLimit},
		{-1, -1},
	} {
		e := newEnv(t, Options{})
		srv := New(nil, e.svc, e.st, e.srv.reg, Options{RateLimit: tc.rate, Now: c.now})
		first := -1
		for i := range 3 * DefaultRateLimit {
			r := httptest.NewRequest("GET", "/fhir/metadata", nil)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			if w.Code == http.StatusTooManyRequests {
				first = i
				break
			}
		}
		if first != tc.ok {
			t.Errorf("RateLimit %v: first 429 after %d requests, want %d", tc.rate, first, tc.ok)
		}
	}
}

// TestRateLimitClientKey: ClientKey decides who a client is (an
// authentication layer keys by subject).
func TestRateLimitClientKey(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	key := func(r *http.Request) string { return r.Header.Get("X-Test-Subject") }
	e := newEnv(t, Options{RateLimit: 1, RateBurst: 1, Now: c.now, ClientKey: key})
	var got []int
	for _, tc := range []struct{ addr, sub string }{
		{"192.0.2.1:1", "alice"},
		{"192.0.2.2:1", "alice"}, // alice from elsewhere: still alice
		{"192.0.2.1:1", "bob"},
	} {
		got = append(got, e.doFrom(tc.addr, "/fhir/metadata", "X-Test-Subject", tc.sub).Code)
	}
	if diff := cmp.Diff([]int{200, 429, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// TestLimiterSweep: buckets refilled to full are dropped, so the map does
// not grow with every client ever seen.
func TestLimiterSweep(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	l := newLimiter(10, 20, c.now)
	for i := range 100 {
		l.allow(strconv.Itoa(i))
	}
	c.t = c.t.Add(time.Minute)
	l.allow("new")
	if n := len(l.buckets); n != 1 {
		t.Errorf("%d buckets after a minute, want 1", n)
	}
}

// TestSearchCaps (SEC-36): _count above the maximum is lowered to it, with
// a warning; _include is followed one level, even with :iterate.
func TestSearchCaps(t *testing.T) {
	e := newEnv(t, Options{})
	org := e.create("Organization", `{"resourceType":"Organization","name":"Top"}`)
	sub := e.create("Organization", `{"resourceType":"Organization","name":"Sub","partOf":{"reference":"Organization/`+org+`"}}`)
	e.create("Patient", `{"resourceType":"Patient","managingOrganization":{"reference":"Organization/`+sub+`"}}`)

	w := e.do("GET", "/fhir/Patient?_count=1000000", "")
	b := decodeBundle(t, w)
	if len(b.Link) == 0 || !strings.Contains(b.Link[0].URL, "_count=1000&") && !strings.HasSuffix(b.Link[0].URL, "_count=1000") {
		t.Errorf("self link %v: want _count lowered to 1000", b.Link)
	}
	last := b.Entry[len(b.Entry)-1]
	if last.Search == nil || last.Search.Mode != "outcome" || !strings.Contains(string(last.Resource), "maximum 1000") {
		t.Errorf("no warning that _count was lowered: %s", w.Body)
	}

	w = e.do("GET", "/fhir/Patient?_include=Patient:organization&_include:iterate=Organization:partof", "")
	var types []string
	for _, en := range decodeBundle(t, w).Entry {
		if en.Search != nil && en.Search.Mode == "include" {
			types = append(types, string(en.Resource))
		}
	}
	if len(types) != 1 || !strings.Contains(types[0], `"Sub"`) {
		t.Errorf("included %q: want only the patient's own organization (one level)", types)
	}
}
