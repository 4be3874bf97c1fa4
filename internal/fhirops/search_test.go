package fhirops_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/fhirops"
)

// follow runs the search of an absolute link URL of the test base.
func follow(t *testing.T, s sv, link string) searchBundle {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	typ := strings.TrimPrefix(u.Path, "/fhir/")
	return doSearch(t, s.Service, typ, u.RawQuery)
}

func TestSearchPaging(t *testing.T) {
	s := sv{newService(t)}
	for i := range 5 {
		s.mustUpdate(t, "Patient", "p"+strconv.Itoa(i), `{"resourceType":"Patient","id":"p`+strconv.Itoa(i)+`","name":[{"family":"Page"}]}`)
	}
	first := doSearch(t, s.Service, "Patient", "family=page&_count=2&_sort=_id")
	// Writes after the first page change nothing in the later pages.
	s.mustUpdate(t, "Patient", "p00", `{"resourceType":"Patient","id":"p00","name":[{"family":"Page"}]}`)
	if _, err := s.Delete(context.Background(), "Patient", "p3"); err != nil {
		t.Fatal(err)
	}
	var got []string
	b := first
	for pages := 0; ; pages++ {
		if b.Total == nil || *b.Total != 5 {
			t.Fatalf("page %d: total %s, want 5", pages, totalString(b.Total))
		}
		got = append(got, b.ids()...)
		next := b.link("next")
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("too many pages")
		}
		b = follow(t, s, next)
	}
	want := []string{"Patient/p0", "Patient/p1", "Patient/p2", "Patient/p3", "Patient/p4"}
	if !cmp.Equal(got, want) {
		t.Errorf("pages %q, want %q", got, want)
	}
	if prev := b.link("previous"); prev == "" || !strings.Contains(prev, "_offset=2") {
		t.Errorf("last page's previous link %q", prev)
	}
	// A new search sees the writes.
	if b := doSearch(t, s.Service, "Patient", "family=page&_count=10"); *b.Total != 5 || !strings.Contains(strings.Join(b.ids(), " "), "p00") {
		t.Errorf("new search: %v", b.ids())
	}
}

func TestSearchIncludeSummaryElements(t *testing.T) {
	s := sv{newService(t)}
	s.mustUpdate(t, "Patient", "p1", `{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1970-01-01","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}`)
	s.mustUpdate(t, "Patient", "p2", `{"resourceType":"Patient","id":"p2"}`)
	for i, p := range []string{"p1", "p1", "p2"} {
		id := "o" + strconv.Itoa(i)
		s.mustUpdate(t, "Observation", id, `{"resourceType":"Observation","id":"`+id+`","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/`+p+`"}}`)
	}
	tests := []struct {
		typ, query string
		want       []string
	}{
		{"Observation", "subject=Patient/p1&_include=Observation:subject&_sort=_id", []string{"Observation/o0", "Observation/o1", "include:Patient/p1"}},
		{"Observation", "_include=Observation:patient:Patient&_sort=_id", []string{"Observation/o0", "Observation/o1", "Observation/o2", "include:Patient/p1", "include:Patient/p2"}},
		{"Patient", "_id=p1&_revinclude=Observation:subject", []string{"Patient/p1", "include:Observation/o0", "include:Observation/o1"}},
		{"Patient", "_id=p2&_revinclude=Observation:patient", []string{"Patient/p2", "include:Observation/o2"}},
		{"Observation", "code=http://loinc.org|8867-4&_summary=count", nil},
		{"Observation", "code=8867-4&_count=0", nil},
	}
	for _, tc := range tests {
		b := doSearch(t, s.Service, tc.typ, tc.query)
		if got := b.ids(); !cmp.Equal(got, tc.want) {
			t.Errorf("%s?%s: %q, want %q", tc.typ, tc.query, got, tc.want)
		}
	}
	if b := doSearch(t, s.Service, "Observation", "_summary=count"); b.Total == nil || *b.Total != 3 {
		t.Errorf("_summary=count total %s, want 3", totalString(b.Total))
	}
	subsetted := []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}}
	for _, tc := range []struct {
		query string
		keys  []string
	}{
		{"_id=p1&_elements=gender", []string{"gender", "id", "meta", "resourceType"}},
		{"_id=p1&_summary=text", []string{"id", "meta", "resourceType", "text"}},
		{"_id=p1&_summary=data", []string{"birthDate", "gender", "id", "meta", "resourceType"}},
	} {
		b := doSearch(t, s.Service, "Patient", tc.query)
		m := tree(t, b.Entry[0].Resource)
		if keys := slices.Sorted(maps.Keys(m)); !cmp.Equal(keys, tc.keys) {
			t.Errorf("%s: elements %q, want %q", tc.query, keys, tc.keys)
		}
		if d := cmp.Diff(subsetted, m["meta"].(map[string]any)["tag"]); d != "" {
			t.Errorf("%s: meta.tag (-want +got):\n%s", tc.query, d)
		}
	}
}

func TestSearchLenient(t *testing.T) {
	s := sv{newService(t)}
	s.mustUpdate(t, "Patient", "p1", `{"resourceType":"Patient","id":"p1"}`)
	data, err := s.Search(context.Background(), "Patient", url.Values{"nope": {"1"}}, false, "http://x/fhir")
	if err != nil {
		t.Fatal(err)
	}
	var b searchBundle
	json.Unmarshal(data, &b)
	if got := b.ids(); !cmp.Equal(got, []string{"Patient/p1", "outcome:OperationOutcome/"}) {
		t.Errorf("lenient search with an unknown parameter: %q", got)
	}
}

func TestHistory(t *testing.T) {
	s := sv{newService(t)}
	ctx := context.Background()
	s.mustUpdate(t, "Patient", "p1", `{"resourceType":"Patient","id":"p1"}`)
	s.mustUpdate(t, "Patient", "p1", `{"resourceType":"Patient","id":"p1","active":true}`)
	s.mustUpdate(t, "Patient", "p2", `{"resourceType":"Patient","id":"p2"}`)
	if _, err := s.Delete(ctx, "Patient", "p1"); err != nil {
		t.Fatal(err)
	}
	type entry struct{ Method, URL, Status, Etag string }
	hist := func(typ, id, query string) ([]entry, int, string) {
		t.Helper()
		vals, _ := url.ParseQuery(query)
		data, err := s.History(ctx, typ, id, vals, "http://x/fhir")
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Type  string
			Total int
			Link  []struct{ Relation, URL string }
			Entry []struct {
				Request  struct{ Method, URL string }
				Response struct{ Status, Etag string }
			}
		}
		json.Unmarshal(data, &b)
		if b.Type != "history" {
			t.Errorf("type %q", b.Type)
		}
		var out []entry
		for _, e := range b.Entry {
			out = append(out, entry{e.Request.Method, e.Request.URL, e.Response.Status, e.Response.Etag})
		}
		next := ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
		return out, b.Total, next
	}
	got, total, _ := hist("Patient", "p1", "")
	want := []entry{
		{"DELETE", "Patient/p1", "204 No Content", `W/"3"`},
		{"PUT", "Patient/p1", "200 OK", `W/"2"`},
		{"POST", "Patient", "201 Created", `W/"1"`},
	}
	if d := cmp.Diff(want, got); d != "" || total != 3 {
		t.Errorf("instance history, total %d (-want +got):\n%s", total, d)
	}
	got, total, next := hist("Patient", "", "_count=2")
	if len(got) != 2 || total != 4 || next == "" {
		t.Errorf("type history page: %d entries, total %d, next %q", len(got), total, next)
	}
	u, _ := url.Parse(next)
	got, _, _ = hist("Patient", "", u.RawQuery)
	if d := cmp.Diff([]entry{{"PUT", "Patient/p1", "200 OK", `W/"2"`}, {"POST", "Patient", "201 Created", `W/"1"`}}, got); d != "" {
		t.Errorf("type history second page (-want +got):\n%s", d)
	}
}

func TestEverything(t *testing.T) {
	s := sv{newService(t)}
	ctx := context.Background()
	s.mustUpdate(t, "Organization", "org", `{"resourceType":"Organization","id":"org"}`)
	s.mustUpdate(t, "Practitioner", "dr", `{"resourceType":"Practitioner","id":"dr"}`)
	s.mustUpdate(t, "Patient", "p1", `{"resourceType":"Patient","id":"p1","managingOrganization":{"reference":"Organization/org"}}`)
	s.mustUpdate(t, "Patient", "p2", `{"resourceType":"Patient","id":"p2"}`)
	s.mustUpdate(t, "Encounter", "e1", `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p1"},"participant":[{"individual":{"reference":"Practitioner/dr"}}]}`)
	s.mustUpdate(t, "Condition", "c1", `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"}}`)
	s.mustUpdate(t, "Condition", "c2", `{"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/p2"}}`)
	data, err := s.Everything(ctx, "p1", url.Values{"_count": {"3"}}, "http://x/fhir")
	if err != nil {
		t.Fatal(err)
	}
	var b searchBundle
	json.Unmarshal(data, &b)
	got := b.ids()
	for next := b.link("next"); next != ""; next = b.link("next") {
		u, _ := url.Parse(next)
		data, err := s.Everything(ctx, "p1", u.Query(), "http://x/fhir")
		if err != nil {
			t.Fatal(err)
		}
		b = searchBundle{}
		json.Unmarshal(data, &b)
		got = append(got, b.ids()...)
	}
	want := []string{"Patient/p1", "Condition/c1", "Encounter/e1", "Organization/org", "Practitioner/dr"}
	if !cmp.Equal(got, want) {
		t.Errorf("$everything %q, want %q", got, want)
	}
}

// TestSearchMaxIncludes (SEC-36): _include and _revinclude add at most
// MaxIncludes resources to a page, then the page ends with an
// OperationOutcome warning (too-costly) that the includes were truncated;
// a page with exactly MaxIncludes to include is whole.
func TestSearchMaxIncludes(t *testing.T) {
	s := sv{newService(t, func(o *fhirops.Options) { o.MaxIncludes = 3 })}
	obs := map[string]int{"p1": 5, "p2": 3, "p3": 1} // observations per patient
	n := 0
	for _, p := range slices.Sorted(maps.Keys(obs)) {
		s.mustUpdate(t, "Patient", p, `{"resourceType":"Patient","id":"`+p+`"}`)
		for range obs[p] {
			id := "o" + strconv.Itoa(n)
			n++
			s.mustUpdate(t, "Observation", id, `{"resourceType":"Observation","id":"`+id+`","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/`+p+`"}}`)
		}
	}
	for _, tc := range []struct {
		typ, query string
		includes   int
		truncated  bool
	}{
		{"Patient", "_id=p1&_revinclude=Observation:subject", 3, true},
		{"Patient", "_id=p2&_revinclude=Observation:subject", 3, false},
		{"Patient", "_id=p3&_revinclude=Observation:subject", 1, false},
		{"Patient", "_id=p2,p3&_revinclude=Observation:subject", 3, true},
		{"Patient", "_id=p3&_revinclude=Observation:subject&_revinclude=Observation:patient", 1, false},
		{"Observation", "_include=Observation:subject", 3, false},
		{"Observation", "code:text=x&_count=9&_include=Observation:subject&_revinclude=Observation:has-member", 3, false},
	} {
		b := doSearch(t, s.Service, tc.typ, tc.query)
		includes, outcomes := 0, 0
		for i, e := range b.Entry {
			switch e.Search.Mode {
			case "include":
				includes++
			case "outcome":
				outcomes++
				issue := tree(t, e.Resource)["issue"].([]any)[0].(map[string]any)
				if i != len(b.Entry)-1 || issue["severity"] != "warning" || issue["code"] != "too-costly" ||
					!strings.Contains(issue["diagnostics"].(string), "truncated to the first 3") {
					t.Errorf("%s?%s: outcome entry %d of %d: %v", tc.typ, tc.query, i, len(b.Entry), issue)
				}
			}
		}
		if includes != tc.includes || (outcomes == 1) != tc.truncated || outcomes > 1 {
			t.Errorf("%s?%s: %d includes, %d outcomes; want %d includes, truncated %v: %q", tc.typ, tc.query, includes, outcomes, tc.includes, tc.truncated, b.ids())
		}
	}
}

// TestSearchAuditUnindexed checks that a search on an AuditEvent parameter
// the audit trail does not index is refused (strict) or reported and left
// out (lenient), and that one it indexes runs.
func TestSearchAuditUnindexed(t *testing.T) {
	s := newService(t)
	tests := []struct {
		query   string
		strict  bool
		status  int  // of the error; 0: none
		warning bool // an OperationOutcome entry
	}{
		{"patient=Patient/p1&date=ge2026-01-01", true, 0, false},
		{"entity=Observation/o1&_sort=-date", true, 0, false},
		{"address=192.0.2.7", true, http.StatusBadRequest, false},
		{"entity-role=4&patient=Patient/p1", true, http.StatusBadRequest, false},
		{"patient=Patient/p1&_sort=address", true, http.StatusBadRequest, false},
		{"address=192.0.2.7", false, 0, true},
		{"agent-name=x&patient=Patient/p1", false, 0, true},
	}
	for _, tc := range tests {
		vals, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		data, err := s.Search(context.Background(), "AuditEvent", vals, tc.strict, "http://x/fhir")
		if got := status(err); got != tc.status {
			t.Errorf("%s (strict %v): status %d, want %d (%v)", tc.query, tc.strict, got, tc.status, err)
			continue
		}
		if err != nil {
			continue
		}
		var b searchBundle
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		warned := slices.Contains(b.ids(), "outcome:OperationOutcome/")
		if warned != tc.warning {
			t.Errorf("%s (strict %v): OperationOutcome entry %v, want %v", tc.query, tc.strict, warned, tc.warning)
		}
	}
}
