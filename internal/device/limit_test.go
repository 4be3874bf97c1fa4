package device

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/clinical"
)

// TestLimiter: 2 messages a second with bursts of 3 is a bucket of 3
// tokens refilled every 500 ms; each device has its own.
func TestLimiter(t *testing.T) {
	clock := now
	l, err := NewLimiter(2, 3, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		at     time.Duration // since now
		device string
		ok     bool
		retry  time.Duration
	}
	steps := []step{
		{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0}, // the burst
		{0, "a", false, 500 * time.Millisecond}, // empty: the next token in 500 ms
		{0, "b", true, 0},                       // another device, another bucket
		{200 * time.Millisecond, "a", false, 300 * time.Millisecond},
		{500 * time.Millisecond, "a", true, 0}, // one token back
		{500 * time.Millisecond, "a", false, 500 * time.Millisecond},
		{10 * time.Second, "a", true, 0}, // full again after a pause: a burst of 3
		{10 * time.Second, "a", true, 0},
		{10 * time.Second, "a", true, 0},
		{10 * time.Second, "a", false, 500 * time.Millisecond},
	}
	for i, s := range steps {
		clock = now.Add(s.at)
		ok, retry := l.Allow(s.device)
		if ok != s.ok || retry != s.retry {
			t.Errorf("step %d (%v, %s): Allow = %v, %v; want %v, %v", i, s.at, s.device, ok, retry, s.ok, s.retry)
		}
	}
	// b's bucket has been full since 1.5 s after its message: forgotten.
	if _, ok := l.tat["b"]; ok {
		t.Error("an idle device's bucket is kept")
	}
	for _, bad := range []struct {
		rate  float64
		burst int
	}{{0, 1}, {-1, 1}, {1, 0}} {
		if _, err := NewLimiter(bad.rate, bad.burst, nil); err == nil {
			t.Errorf("NewLimiter(%v, %d) accepted", bad.rate, bad.burst)
		}
	}
}

func TestNotice(t *testing.T) {
	r, err := testDecoder().DecodeBatch([]byte(`{"device":"cgm-1","observations":[
		{"code":"cgm","t":"2026-11-25T10:00:00Z","v":5000,"unit":"mg/dL"},
		{"code":"cgm","t":"2026-11-25T10:00:00Z","v":100,"unit":"mg/dL"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// sha256 of "x" by sha256sum.
	id := IDOf([]byte("x"), 7)
	const sum = `"message":{"sha256":"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881","seq":7}`
	for _, c := range []struct {
		name string
		r    Result
		err  error
		want string
	}{
		{"in part", r, nil, `{` + sum + `,"accepted":1,"duplicates":[],"rejected":[{"index":0,"kind":"out-of-range","reason":"value: value outside the plausible range 20 to 600 mg/dL"}]}`},
		{"whole", Result{}, &clinical.Error{Kind: clinical.UnknownDevice, Field: "device", Reason: "not registered"},
			`{` + sum + `,"accepted":0,"duplicates":[],"rejected":[],"kind":"unknown-device","reason":"device: not registered"}`},
		{"throttled", r, &Throttled{RetryAfter: 1500 * time.Millisecond},
			`{` + sum + `,"accepted":0,"duplicates":[],"rejected":[],"kind":"rate-limited","reason":"more messages than the device's rate limit; send again after retry_after_s","retry_after_s":2}`},
		{"other error", Result{}, errors.New("x"), `{` + sum + `,"accepted":0,"duplicates":[],"rejected":[],"kind":"malformed","reason":"invalid message"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, string(Notice(id, c.r, c.err))); diff != "" {
				t.Errorf("Notice (-want +got):\n%s", diff)
			}
		})
	}
	if got, want := RejectedSubject("cgm.1"), "doppel.devices.cgm//1.rejected"; got != want {
		t.Errorf("RejectedSubject = %q, want %q", got, want)
	}
}
