package deid_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/doppelhealth/doppel/internal/deid"
)

// FuzzResource de-identifies arbitrary JSON objects (no panic), and a
// Patient whose name parts are fuzzed: the output must not depend on the
// name at all, so it never contains it.
// SEC-28: names never survive de-identification.
func FuzzResource(f *testing.F) {
	for _, path := range bundles(f)[:2] {
		b := load(f, path)
		for i, e := range b["entry"].([]any) {
			if i%40 == 0 {
				data, _ := json.Marshal(e.(map[string]any)["resource"])
				f.Add(data, "Clemente", "Kreiger")
			}
		}
	}
	f.Add([]byte(`{"resourceType":"Patient","name":"x","address":{"postalCode":7}}`), "Ann", "O'Brien")
	d, err := deid.New(testKey, deid.Options{Now: now})
	if err != nil {
		f.Fatal(err)
	}
	patient := func(given, family string) string {
		p := map[string]any{"resourceType": "Patient", "id": "p1", "birthDate": "1970-02-03",
			"name":    []any{map[string]any{"given": []any{given}, "family": family, "text": given + " " + family}},
			"contact": []any{map[string]any{"name": map[string]any{"family": family}}},
		}
		out, _ := json.Marshal(d.Resource(p, nil))
		return string(out)
	}
	base := patient("Qzxw", "Qzxw")
	f.Fuzz(func(t *testing.T, data []byte, given, family string) {
		var tree map[string]any
		if json.Unmarshal(data, &tree) == nil && tree != nil {
			d.Resource(tree, deid.Refs{})
		}
		got := patient(given, family)
		if got != base {
			t.Fatalf("output depends on the name:\n%s\n%s", got, base)
		}
		for _, n := range []string{given, family} {
			if len(n) >= 3 && !strings.Contains(base, n) && strings.Contains(got, n) {
				t.Fatalf("name %q in output %s", n, got)
			}
		}
	})
}
