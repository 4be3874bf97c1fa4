package main

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// bundle is a small Synthea-shaped transaction Bundle: the Patient's UUID
// is also its identifier value, the Observation refers to the Patient,
// and the Encounter's identifier is a UUID that is no fullUrl.
const bundle = `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient","identifier":[{"system":"https://github.com/synthetichealth/synthea","value":"11111111-1111-4111-8111-111111111111"}]},"request":{"method":"POST","url":"Patient"}},
{"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{"resourceType":"Encounter","identifier":[{"value":"99999999-9999-4999-8999-999999999999"}],"subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"}},"request":{"method":"POST","url":"Encounter"}},
{"fullUrl":"urn:uuid:33333333-3333-4333-8333-333333333333","resource":{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]},"subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"},"encounter":{"reference":"urn:uuid:22222222-2222-4222-8222-222222222222"}},"request":{"method":"POST","url":"Observation"}}]}`

// parsed is what the test reads back from a copy.
type parsed struct {
	Entry []struct {
		FullURL  string
		Resource struct {
			Identifier []struct{ Value string }
			Subject    struct{ Reference string }
			Encounter  struct{ Reference string }
		}
	}
}

func TestClone(t *testing.T) {
	tp, err := newTemplate("b.json", []byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"http://loinc.org|8302-2"}, tp.obsCodes); diff != "" {
		t.Errorf("obsCodes (-want +got):\n%s", diff)
	}
	if tp.resources != 3 || tp.nUUID != 3 {
		t.Errorf("resources %d, UUIDs %d; want 3 and 3", tp.resources, tp.nUUID)
	}
	d := &dataset{templates: []*template{tp}}
	copyOf := func(i int) parsed {
		t.Helper()
		tp, rng := d.patient(7, i)
		var p parsed
		if err := json.Unmarshal(tp.clone(nil, rng), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := copyOf(0), copyOf(1)
	if diff := cmp.Diff(a, copyOf(0)); diff != "" {
		t.Errorf("copy 0 made twice differs (-first +second):\n%s", diff)
	}
	uuid4 := regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for _, p := range []parsed{a, b} {
		pat, enc, obs := p.Entry[0], p.Entry[1], p.Entry[2]
		for _, e := range p.Entry {
			if !uuid4.MatchString(e.FullURL) || seen[e.FullURL] {
				t.Errorf("fullUrl %q: not a fresh version 4 urn:uuid", e.FullURL)
			}
			seen[e.FullURL] = true
		}
		if pat.Resource.Identifier[0].Value != pat.FullURL[len("urn:uuid:"):] {
			t.Errorf("Patient identifier %q, want its new UUID %q", pat.Resource.Identifier[0].Value, pat.FullURL)
		}
		if enc.Resource.Identifier[0].Value != "99999999-9999-4999-8999-999999999999" {
			t.Errorf("a UUID that is no fullUrl changed to %q", enc.Resource.Identifier[0].Value)
		}
		if enc.Resource.Subject.Reference != pat.FullURL || obs.Resource.Subject.Reference != pat.FullURL || obs.Resource.Encounter.Reference != enc.FullURL {
			t.Errorf("references not rewritten with the fullUrls: %+v", p)
		}
	}
}

func TestNewTemplateRejects(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"not JSON", `{`},
		{"batch", `{"resourceType":"Bundle","type":"batch","entry":[]}`},
		{"no urn:uuid", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"http://x/Patient/1","resource":{"resourceType":"Patient"},"request":{"method":"POST"}}]}`},
		{"PUT", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient"},"request":{"method":"PUT"}}]}`},
		{"no Observation", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient"},"request":{"method":"POST"}}]}`},
	} {
		if _, err := newTemplate(tc.name, []byte(tc.data)); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestQuantile(t *testing.T) {
	// Nearest rank: the smallest value with at least q of the values at
	// or below it.
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i))
	}
	for _, tc := range []struct {
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{hundred, 0.50, 50},
		{hundred, 0.99, 99},
		{hundred, 1, 100},
		{hundred[:10], 0.99, 10},
		{hundred[:10], 0.50, 5},
		{hundred[:1], 0.99, 1},
	} {
		if got := quantile(tc.sorted, tc.q); got != tc.want {
			t.Errorf("quantile of 1..%d at %g = %d, want %d", len(tc.sorted), tc.q, got, tc.want)
		}
	}
}
