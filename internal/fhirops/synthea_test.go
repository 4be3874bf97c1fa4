package fhirops_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The Synthea tests import transaction Bundles and then check, with the
// Bundles' own JSON walked here (not with the code under test), that every
// resource reads back as sent (server id, references rewritten, meta set)
// and that the usual searches find what the Bundles hold.

func TestSynthea(t *testing.T) {
	testSynthea(t, "testdata/synthea")
}

// TestSyntheaFull runs on all twelve Bundles of the shared reference data
// when they are present (3,631 resources).
func TestSyntheaFull(t *testing.T) {
	const dir = "../../../shared/refs/fhir/synthea-r4"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared reference data not present:", err)
	}
	if testing.Short() {
		t.Skip("short")
	}
	testSynthea(t, dir)
}

// syntheaBundle is a transaction Bundle as sent and the ids it got.
type syntheaBundle struct {
	name    string
	raw     []json.RawMessage // resources as sent
	entries []map[string]any  // the same, decoded
	full    []string          // fullUrl of each entry
	ref     map[string]string
	loc     []string // "Type/id" given to each entry
}

func testSynthea(t *testing.T, dir string) {
	s := newService(t)
	ctx := context.Background()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Bundles in %s: %v", dir, err)
	}
	// Shared resources first, as `doppel import` does.
	slices.SortStableFunc(files, func(a, b string) int {
		return boolRank(!isShared(a)) - boolRank(!isShared(b))
	})
	ref := map[string]string{} // fullUrl -> Type/id, over all Bundles
	var bundles []*syntheaBundle
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.Transaction(ctx, data, "http://x/fhir")
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		b := &syntheaBundle{name: filepath.Base(f), ref: map[string]string{}}
		var in struct {
			Entry []struct {
				FullURL  string
				Resource json.RawMessage
			}
		}
		if err := json.Unmarshal(data, &in); err != nil {
			t.Fatal(err)
		}
		var out struct {
			Type  string
			Entry []struct {
				Response struct{ Status, Location string }
			}
		}
		if err := json.Unmarshal(resp, &out); err != nil {
			t.Fatal(err)
		}
		if out.Type != "transaction-response" || len(out.Entry) != len(in.Entry) {
			t.Fatalf("%s: response type %q with %d entries, want transaction-response with %d", f, out.Type, len(out.Entry), len(in.Entry))
		}
		for i, e := range in.Entry {
			r := out.Entry[i].Response
			parts := strings.Split(r.Location, "/")
			if r.Status != "201 Created" || len(parts) != 4 || parts[2] != "_history" || parts[3] != "1" {
				t.Fatalf("%s entry %d: response %+v", f, i, r)
			}
			loc := parts[0] + "/" + parts[1]
			b.raw = append(b.raw, e.Resource)
			b.entries = append(b.entries, tree(t, e.Resource))
			b.full = append(b.full, e.FullURL)
			b.loc = append(b.loc, loc)
			b.ref[e.FullURL] = loc
			ref[e.FullURL] = loc
		}
		n += len(in.Entry)
		bundles = append(bundles, b)
	}
	t.Logf("%d resources in %d Bundles", n, len(files))

	// Every resource reads back as sent.
	for _, b := range bundles {
		for i := range b.entries {
			want := tree(t, b.raw[i])
			typ, id, _ := strings.Cut(b.loc[i], "/")
			v, err := s.Read(ctx, typ, id)
			if err != nil {
				t.Fatalf("%s entry %d: read %s: %v", b.name, i, b.loc[i], err)
			}
			got := tree(t, v.Body)
			meta := got["meta"].(map[string]any)
			if meta["versionId"] != "1" || meta["lastUpdated"] == nil {
				t.Errorf("%s: meta %v", b.loc[i], meta)
			}
			delete(meta, "versionId")
			delete(meta, "lastUpdated")
			want["id"] = id
			rewriteRefs(want, b.ref)
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("%s entry %d (%s) differs (-sent +stored):\n%s", b.name, i, b.loc[i], d)
			}
		}
	}

	// Searches, with expected counts from the Bundles.
	for _, b := range bundles {
		pi := slices.IndexFunc(b.entries, func(m map[string]any) bool { return m["resourceType"] == "Patient" })
		if pi < 0 {
			continue
		}
		patient := b.loc[pi]
		subjectIs := func(m map[string]any) bool {
			sub, _ := m["subject"].(map[string]any)
			return sub != nil && sub["reference"] == b.full[pi]
		}
		count := func(typ string, keep func(m map[string]any) bool) int {
			n := 0
			for _, m := range b.entries {
				if m["resourceType"] == typ && subjectIs(m) && keep(m) {
					n++
				}
			}
			return n
		}
		all := func(map[string]any) bool { return true }
		code := commonLOINC(b.entries)
		since := medianDate(b.entries, code)
		ge := "&date=ge" + since.Format(time.RFC3339)
		tests := []struct {
			typ, query string
			want       int
		}{
			{"Condition", "patient=" + patient, count("Condition", all)},
			{"Encounter", "patient=" + patient + "&status=finished", count("Encounter", func(m map[string]any) bool { return m["status"] == "finished" })},
			{"Encounter", "patient=" + patient + "&status=in-progress", count("Encounter", func(m map[string]any) bool { return m["status"] == "in-progress" })},
			{"Observation", "patient=" + patient + "&code=http://loinc.org|" + code, count("Observation", hasLOINC(code, time.Time{}))},
			{"Observation", "patient=" + patient + "&code=http://loinc.org|" + code + ge, count("Observation", hasLOINC(code, since))},
			{"Observation", "subject=" + patient + "&code=" + code + ge, count("Observation", hasLOINC(code, since))},
		}
		for _, tc := range tests {
			if tc.want == 0 && !strings.Contains(tc.query, "in-progress") {
				t.Errorf("%s: %s?%s: the Bundle has no match; the test is vacuous", b.name, tc.typ, tc.query)
			}
			sb := doSearch(t, s, tc.typ, tc.query+"&_count=1000")
			if sb.Total == nil || *sb.Total != tc.want || len(sb.Entry) != tc.want {
				t.Errorf("%s: %s?%s: total %s, %d entries; want %d", b.name, tc.typ, tc.query, totalString(sb.Total), len(sb.Entry), tc.want)
			}
		}
	}
}

func isShared(path string) bool {
	base := strings.ToLower(filepath.Base(path))
	return strings.Contains(base, "hospital") || strings.Contains(base, "practitioner")
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rewriteRefs replaces every reference found in ref, anywhere in tree.
func rewriteRefs(tree any, ref map[string]string) {
	switch v := tree.(type) {
	case map[string]any:
		if r, ok := v["reference"].(string); ok {
			if to, ok := ref[r]; ok {
				v["reference"] = to
			}
		}
		for _, c := range v {
			rewriteRefs(c, ref)
		}
	case []any:
		for _, c := range v {
			rewriteRefs(c, ref)
		}
	}
}

// commonLOINC is the most frequent LOINC code of the Observations.
func commonLOINC(entries []map[string]any) string {
	n := map[string]int{}
	best := ""
	for _, m := range entries {
		if m["resourceType"] != "Observation" {
			continue
		}
		for _, c := range codings(m) {
			if c["system"] == "http://loinc.org" {
				code := c["code"].(string)
				n[code]++
				if n[code] > n[best] || (n[code] == n[best] && code < best) {
					best = code
				}
			}
		}
	}
	return best
}

// medianDate is the median effectiveDateTime of the Observations with the
// LOINC code, so that a date search splits them.
func medianDate(entries []map[string]any, code string) time.Time {
	var ts []time.Time
	for _, m := range entries {
		if m["resourceType"] == "Observation" && hasLOINC(code, time.Time{})(m) {
			t, _ := time.Parse(time.RFC3339, m["effectiveDateTime"].(string))
			ts = append(ts, t.UTC())
		}
	}
	slices.SortFunc(ts, time.Time.Compare)
	return ts[len(ts)/2]
}

func codings(m map[string]any) []map[string]any {
	cc, _ := m["code"].(map[string]any)
	list, _ := cc["coding"].([]any)
	var out []map[string]any
	for _, c := range list {
		out = append(out, c.(map[string]any))
	}
	return out
}

// hasLOINC keeps Observations with the LOINC code whose effectiveDateTime
// is at or after since.
func hasLOINC(code string, since time.Time) func(m map[string]any) bool {
	return func(m map[string]any) bool {
		if !slices.ContainsFunc(codings(m), func(c map[string]any) bool {
			return c["system"] == "http://loinc.org" && c["code"] == code
		}) {
			return false
		}
		t, err := time.Parse(time.RFC3339, m["effectiveDateTime"].(string))
		return err == nil && !t.Before(since)
	}
}

func totalString(n *int) string {
	if n == nil {
		return "absent"
	}
	return strconv.Itoa(*n)
}
