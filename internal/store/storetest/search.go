package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// load writes version 1 of each resource of typ with its entries.
func load(tb testing.TB, s store.Store, typ string, index map[string][]search.Entry) {
	tb.Helper()
	keys := make([]string, 0, len(index))
	for id := range index {
		keys = append(keys, id)
	}
	slices.Sort(keys)
	for _, id := range keys {
		put(tb, s, res{typ: typ, id: id, vid: 1, index: index[id]})
	}
}

// matchIDs returns the ids of a page's matches.
func matchIDs(p store.Page) []string {
	out := []string{}
	for _, v := range p.Matches {
		out = append(out, v.ID)
	}
	return out
}

// searchCase is one query on one type and the ids it must find, in order.
type searchCase struct {
	name    string
	clauses []search.Clause
	want    []string
}

func runSearches(t *testing.T, tg Target, s store.Store, typ string, cases []searchCase) {
	t.Helper()
	for _, tc := range cases {
		p, err := s.Search(context.Background(), &search.Query{Type: typ, Clauses: tc.clauses}, 0)
		if tg.Hashed && needsText(tc.clauses) {
			if err == nil {
				t.Errorf("%s: a store of hashed texts answered a search that needs the text", tc.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := matchIDs(p); !slices.Equal(got, tc.want) || p.Total != len(tc.want) {
			t.Errorf("%s: got %v (total %d), want %v", tc.name, got, p.Total, tc.want)
		}
	}
}

// needsText reports whether a clause needs the indexed text itself
// (Target.Hashed).
func needsText(clauses []search.Clause) bool {
	return slices.ContainsFunc(clauses, func(c search.Clause) bool {
		return c.Type == search.String && c.Modifier == "contains" || c.Type == search.Token && c.Modifier == "text"
	})
}

// one is a clause of one value.
func one(param string, typ search.ParamType, mod string, v search.Value) []search.Clause {
	return []search.Clause{{Param: param, Type: typ, Modifier: mod, Values: []search.Value{v}}}
}

func str(text, norm string) search.Entry {
	return search.Entry{Param: "name", Type: search.String, Text: text, Norm: norm}
}

// long is a text longer than index keys may be on PostgreSQL (2.7 kB), and
// one that does not compress.
var long = func() string {
	var b strings.Builder
	for i := range 60 {
		fmt.Fprintf(&b, "%x", sha256.Sum256([]byte{byte(i)}))
	}
	return b.String()
}()

func testSearchString(t *testing.T, tg Target) {
	s := open(t, tg)
	load(t, s, "Patient", map[string][]search.Entry{
		"p1": {str("Anne", "anne"), str("Smith", "smith")},
		"p2": {str("Ännchen", "annchen"), str("Jones", "jones")},
		"p3": {str("Joanne", "joanne")},
		"p4": {{Param: "gender", Type: search.Token, Code: "male"}},
		"p5": {str("100%", "100%"), str("A_B", "a_b")},
		"p6": {str(long, long)},
	})
	name := func(mod string, vs ...search.Value) []search.Clause {
		return []search.Clause{{Param: "name", Type: search.String, Modifier: mod, Values: vs}}
	}
	runSearches(t, tg, s, "Patient", []searchCase{
		{"starts with", name("", search.Value{Norm: "ann"}), []string{"p1", "p2"}},
		{"whole word", name("", search.Value{Norm: "joanne"}), []string{"p3"}},
		{"not a prefix", name("", search.Value{Norm: "nne"}), []string{}},
		{"contains", name("contains", search.Value{Norm: "ann"}), []string{"p1", "p2", "p3"}},
		{"exact", name("exact", search.Value{Text: "Anne", Norm: "anne"}), []string{"p1"}},
		{"exact is case-sensitive", name("exact", search.Value{Text: "anne", Norm: "anne"}), []string{}},
		{"or", name("", search.Value{Norm: "smith"}, search.Value{Norm: "jones"}), []string{"p1", "p2"}},
		{"and", append(name("", search.Value{Norm: "ann"}), name("", search.Value{Norm: "smi"})...), []string{"p1"}},
		{"percent is literal", name("", search.Value{Norm: "100%"}), []string{"p5"}},
		{"percent is no wildcard", name("", search.Value{Norm: "%nne"}), []string{}},
		{"underscore is no wildcard", name("contains", search.Value{Norm: "n_e"}), []string{}},
		{"underscore is literal", name("", search.Value{Norm: "a_"}), []string{"p5"}},
		{"long exact", name("exact", search.Value{Text: long, Norm: long}), []string{"p6"}},
		{"long prefix", name("", search.Value{Norm: long[:2000]}), []string{"p6"}},
	})
}

func testSearchToken(t *testing.T, tg Target) {
	s := open(t, tg)
	const loinc = "http://loinc.org"
	code := func(system, c, text string) search.Entry {
		return search.Entry{Param: "code", Type: search.Token, System: system, Code: c, Text: text, Norm: foldASCII(text)}
	}
	load(t, s, "Observation", map[string][]search.Entry{
		"o1": {code(loinc, "1234-5", "Body weight")},
		"o2": {code("http://snomed.info/sct", "1234-5", ""), code("", "", "Weight class")},
		"o3": {code("", "1234-5", "")},
		"o4": {code(loinc, "999", ""), code("http://x", "ABC", "")},
		"o5": {{Param: "status", Type: search.Token, Code: "final"}},
	})
	tok := func(mod string, vs ...search.Value) []search.Clause {
		return []search.Clause{{Param: "code", Type: search.Token, Modifier: mod, Values: vs}}
	}
	runSearches(t, tg, s, "Observation", []searchCase{
		{"code", tok("", search.Value{Code: "1234-5"}), []string{"o1", "o2", "o3"}},
		{"system|code", tok("", search.Value{System: loinc, Code: "1234-5", HasSystem: true}), []string{"o1"}},
		{"|code", tok("", search.Value{Code: "1234-5", HasSystem: true}), []string{"o3"}},
		{"system|", tok("", search.Value{System: loinc, HasSystem: true}), []string{"o1", "o4"}},
		{"case-sensitive", tok("", search.Value{Code: "abc"}), []string{}},
		{"exact case", tok("", search.Value{Code: "ABC"}), []string{"o4"}},
		{"or", tok("", search.Value{Code: "999"}, search.Value{Code: "1234-5", HasSystem: true}), []string{"o3", "o4"}},
		{"and", append(tok("", search.Value{Code: "999"}), tok("", search.Value{Code: "1234-5"})...), []string{}},
		{"not", tok("not", search.Value{Code: "1234-5"}), []string{"o4", "o5"}},
		{"not system|code", tok("not", search.Value{System: loinc, Code: "1234-5", HasSystem: true}), []string{"o2", "o3", "o4", "o5"}},
		{"text", tok("text", search.Value{Text: "weight", Norm: "weight"}), []string{"o2"}},
		{"text prefix", tok("text", search.Value{Text: "Bod", Norm: "bod"}), []string{"o1"}},
	})
}

// foldASCII lower-cases ASCII text, as search.Fold does for these tests'
// plain words.
func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func testSearchReference(t *testing.T, tg Target) {
	s := open(t, tg)
	subj := func(typ, id, text string) search.Entry {
		return search.Entry{Param: "subject", Type: search.Reference, RefType: typ, RefID: id, Text: text}
	}
	load(t, s, "Observation", map[string][]search.Entry{
		"o1": {subj("Patient", "p1", "")},
		"o2": {subj("Group", "p1", "")},
		"o3": {subj("Patient", "p2", "http://other.org/fhir/Patient/p2")},
		"o4": {subj("", "", "urn:uuid:1234")},
		"o5": {subj("", "", "http://example.org/people?name=x")},
	})
	ref := func(mod string, v search.Value) []search.Clause { return one("subject", search.Reference, mod, v) }
	runSearches(t, tg, s, "Observation", []searchCase{
		{"type/id", ref("", search.Value{RefType: "Patient", RefID: "p1"}), []string{"o1"}},
		{"bare id", ref("", search.Value{RefID: "p1"}), []string{"o1", "o2"}},
		{"type modifier", ref("Patient", search.Value{RefID: "p1"}), []string{"o1"}},
		{"type modifier parsed", ref("Group", search.Value{RefType: "Group", RefID: "p1"}), []string{"o2"}},
		{"absolute stored", ref("", search.Value{RefType: "Patient", RefID: "p2"}), []string{"o3"}},
		{"url", ref("", search.Value{Text: "http://example.org/people?name=x"}), []string{"o5"}},
		{"urn", ref("", search.Value{Text: "urn:uuid:1234"}), []string{"o4"}},
		{"other id", ref("", search.Value{RefType: "Patient", RefID: "p3"}), []string{}},
	})
}

func testSearchURI(t *testing.T, tg Target) {
	s := open(t, tg)
	uri := func(u string) search.Entry { return search.Entry{Param: "url", Type: search.URI, Text: u} }
	load(t, s, "ValueSet", map[string][]search.Entry{
		"v1": {uri("http://a.org/vs")},
		"v2": {uri("http://a.org/vs/sub")},
		"v3": {uri("http://a.org/VS")},
	})
	runSearches(t, tg, s, "ValueSet", []searchCase{
		{"equal", one("url", search.URI, "", search.Value{Text: "http://a.org/vs"}), []string{"v1"}},
		{"no prefix match", one("url", search.URI, "", search.Value{Text: "http://a.org"}), []string{}},
	})
}

// ms is a UTC time in Unix milliseconds.
func ms(y int, m time.Month, d, h int) float64 {
	return float64(time.Date(y, m, d, h, 0, 0, 0, time.UTC).UnixMilli())
}

// day is the range of one day of January 2024, as a date's precision gives.
func day(d int) (lo, hi float64) { return ms(2024, 1, d, 0), ms(2024, 1, d+1, 0) - 1 }

func testSearchDate(t *testing.T, tg Target) {
	s := open(t, tg)
	entry := func(lo, hi float64) search.Entry {
		return search.Entry{Param: "date", Type: search.Date, Lo: lo, Hi: hi}
	}
	d10lo, d10hi := day(10)
	_, d3hi := day(3)
	_, d15hi := day(15)
	load(t, s, "Observation", map[string][]search.Entry{
		"d1": {entry(d10lo, d10hi)},                             // 2024-01-10
		"d2": {entry(ms(2024, 1, 1, 0), ms(2024, 2, 1, 0)-1)},   // 2024-01
		"d3": {entry(ms(2024, 1, 5, 0), d15hi)},                 // Period 01-05..01-15
		"d4": {entry(ms(2024, 1, 20, 12), ms(2024, 1, 20, 12))}, // an instant
		"d5": {entry(0, d3hi)},                                  // Period ..01-03
	})
	// The search value 2024-01-10 is the day's range for every prefix.
	v := func(prefix string) search.Value { return search.Value{Prefix: prefix, Lo: d10lo, Hi: d10hi} }
	date := func(vs ...search.Value) []search.Clause {
		return []search.Clause{{Param: "date", Type: search.Date, Values: vs}}
	}
	runSearches(t, tg, s, "Observation", []searchCase{
		{"eq", date(v("eq")), []string{"d1"}},
		{"no prefix", date(v("")), []string{"d1"}},
		{"eq month", date(search.Value{Prefix: "eq", Lo: ms(2024, 1, 1, 0), Hi: ms(2024, 2, 1, 0) - 1}), []string{"d1", "d2", "d3", "d4"}},
		{"ne", date(v("ne")), []string{"d2", "d3", "d4", "d5"}},
		{"gt", date(v("gt")), []string{"d2", "d3", "d4"}},
		{"ge", date(v("ge")), []string{"d1", "d2", "d3", "d4"}},
		{"lt", date(v("lt")), []string{"d2", "d3", "d5"}},
		{"le", date(v("le")), []string{"d1", "d2", "d3", "d5"}},
		{"sa", date(v("sa")), []string{"d4"}},
		{"eb", date(v("eb")), []string{"d5"}},
		{"ap", date(v("ap")), []string{"d1", "d2", "d3"}},
		{"or", date(v("eq"), v("sa")), []string{"d1", "d4"}},
		{"and", append(date(v("gt")), date(v("lt"))...), []string{"d2", "d3"}},
	})
}

func testSearchNumber(t *testing.T, tg Target) {
	s := open(t, tg)
	num := func(lo, hi float64) search.Entry {
		return search.Entry{Param: "probability", Type: search.Number, Num: lo, Lo: lo, Hi: hi}
	}
	load(t, s, "RiskAssessment", map[string][]search.Entry{
		"n1": {num(100, 100)},
		"n2": {num(99.7, 99.7)},
		"n3": {num(101, 101)},
		"n4": {num(90, 110)}, // a Range
	})
	// "100": [99.5, 100.5] for eq and ne, exactly 100 for the others;
	// ap is ±10%.
	v := func(prefix string) search.Value {
		switch prefix {
		case "eq", "ne":
			return search.Value{Prefix: prefix, Num: 100, Lo: 99.5, Hi: 100.5}
		case "ap":
			return search.Value{Prefix: prefix, Num: 100, Lo: 90, Hi: 110}
		}
		return search.Value{Prefix: prefix, Num: 100, Lo: 100, Hi: 100}
	}
	p := func(prefix string) []search.Clause { return one("probability", search.Number, "", v(prefix)) }
	runSearches(t, tg, s, "RiskAssessment", []searchCase{
		{"eq", p("eq"), []string{"n1", "n2"}},
		{"ne", p("ne"), []string{"n3", "n4"}},
		{"gt", p("gt"), []string{"n3", "n4"}},
		{"ge", p("ge"), []string{"n1", "n3", "n4"}},
		{"lt", p("lt"), []string{"n2", "n4"}},
		{"le", p("le"), []string{"n1", "n2", "n4"}},
		{"sa", p("sa"), []string{"n3"}},
		{"eb", p("eb"), []string{"n2"}},
		{"ap", p("ap"), []string{"n1", "n2", "n3", "n4"}},
	})
}

func testSearchQuantity(t *testing.T, tg Target) {
	s := open(t, tg)
	const ucum = "http://unitsofmeasure.org"
	qty := func(system, code, text string) search.Entry {
		return search.Entry{Param: "value-quantity", Type: search.Quantity, Num: 5.4, Lo: 5.4, Hi: 5.4, System: system, Code: code, Text: text}
	}
	load(t, s, "Observation", map[string][]search.Entry{
		"q1": {qty(ucum, "mg", "mg")},
		"q2": {qty("http://other.org", "mg", "milligram")},
		"q3": {qty(ucum, "g", "gram")},
		"q4": {qty("", "", "mg")},
	})
	// "5.4" is [5.35, 5.45].
	v := func(system, code string) search.Value {
		return search.Value{Prefix: "eq", Num: 5.4, Lo: 5.35, Hi: 5.45, System: system, Code: code}
	}
	q := func(v search.Value) []search.Clause { return one("value-quantity", search.Quantity, "", v) }
	runSearches(t, tg, s, "Observation", []searchCase{
		{"system and code", q(v(ucum, "mg")), []string{"q1"}},
		{"code or text", q(v("", "mg")), []string{"q1", "q2", "q4"}},
		{"any unit", q(v("", "")), []string{"q1", "q2", "q3", "q4"}},
		{"gt with unit", q(search.Value{Prefix: "gt", Num: 5, Lo: 5, Hi: 5, System: ucum, Code: "g"}), []string{"q3"}},
		{"other value", q(search.Value{Prefix: "eq", Num: 5.0, Lo: 4.95, Hi: 5.05}), []string{}},
	})
}

func testMissing(t *testing.T, tg Target) {
	s := open(t, tg)
	load(t, s, "Patient", map[string][]search.Entry{
		"p1": {{Param: "gender", Type: search.Token, Code: "female"}, str("Ann", "ann")},
		"p2": {str("Bob", "bob")},
		"p3": {{Param: "gender", Type: search.Token, Code: "male"}},
	})
	del(t, s, "Patient", "p3", t0)
	put(t, s, res{typ: "Patient", id: "p4", vid: 1}) // no entries at all
	missing := func(param string, typ search.ParamType, m bool) []search.Clause {
		return one(param, typ, "missing", search.Value{Missing: m})
	}
	runSearches(t, tg, s, "Patient", []searchCase{
		{"gender missing", missing("gender", search.Token, true), []string{"p2", "p4"}},
		{"gender present", missing("gender", search.Token, false), []string{"p1"}},
		{"name missing", missing("name", search.String, true), []string{"p4"}},
		{"name present", missing("name", search.String, false), []string{"p1", "p2"}},
	})
}

func testChain(t *testing.T, tg Target) {
	s := open(t, tg)
	load(t, s, "Patient", map[string][]search.Entry{
		"p1": {str("Anne", "anne")},
		"p2": {str("Bob", "bob")},
		"p3": {str("Anne", "anne")},
	})
	load(t, s, "Group", map[string][]search.Entry{"g1": {str("Anne", "anne")}})
	subj := func(typ, id string) []search.Entry {
		return []search.Entry{{Param: "subject", Type: search.Reference, RefType: typ, RefID: id}}
	}
	load(t, s, "Observation", map[string][]search.Entry{
		"o1": subj("Patient", "p1"),
		"o2": subj("Patient", "p2"),
		"o3": subj("Patient", "p3"),
		"o4": subj("Group", "g1"),
		"o5": subj("Patient", "nobody"),
	})
	del(t, s, "Patient", "p3", t0)
	before := mustSearch(t, s, &search.Query{Type: "Patient"}, 0).T
	put(t, s, res{typ: "Patient", id: "p2", vid: 2, index: []search.Entry{str("Anne", "anne")}})
	// subject:Patient.name=anne
	chained := []search.Clause{{Param: "subject", Type: search.Reference, Modifier: "Patient",
		Chain: &search.Chained{TargetType: "Patient", Clause: search.Clause{Param: "name", Type: search.String, Values: []search.Value{{Norm: "anne"}}}}}}
	q := &search.Query{Type: "Observation", Clauses: chained}
	if got := matchIDs(mustSearch(t, s, q, 0)); !slices.Equal(got, []string{"o1", "o2"}) {
		t.Errorf("chain now: %v, want [o1 o2]", got)
	}
	if got := matchIDs(mustSearch(t, s, q, before)); !slices.Equal(got, []string{"o1"}) {
		t.Errorf("chain before p2 was renamed: %v, want [o1]", got)
	}
	// Two levels are refused, not ignored.
	deeper := *chained[0].Chain
	deeper.Clause = search.Clause{Param: "organization", Type: search.Reference, Chain: &search.Chained{TargetType: "Organization",
		Clause: search.Clause{Param: "name", Type: search.String, Values: []search.Value{{Norm: "x"}}}}}
	two := []search.Clause{{Param: "subject", Type: search.Reference, Chain: &deeper}}
	if _, err := s.Search(context.Background(), &search.Query{Type: "Observation", Clauses: two}, 0); err == nil {
		t.Errorf("a two-level chain was accepted")
	}
}

func testSort(t *testing.T, tg Target) {
	s := open(t, tg)
	date := func(lo, hi float64) search.Entry {
		return search.Entry{Param: "birthdate", Type: search.Date, Lo: lo, Hi: hi}
	}
	d := func(n int) search.Entry { lo, hi := day(n); return date(lo, hi) }
	load(t, s, "Patient", map[string][]search.Entry{
		"s1": {d(10), str("b", "b")},
		"s2": {date(ms(2024, 1, 1, 0), ms(2024, 2, 1, 0)-1), str("a", "a")},
		"s3": {str("c", "c")},
		"s4": {d(5), d(20)},
		"s5": {d(10), str("a", "a")},
	})
	by := func(keys ...search.Sort) []string {
		return matchIDs(mustSearch(t, s, &search.Query{Type: "Patient", Sort: keys}, 0))
	}
	birth := search.Sort{Param: "birthdate", Type: search.Date}
	name := search.Sort{Param: "name", Type: search.String}
	tests := []struct {
		name string
		keys []search.Sort
		want []string
	}{
		{"none: order of writes", nil, []string{"s1", "s2", "s3", "s4", "s5"}},
		// Ascending by the earliest start; missing last; ties by id.
		{"date", []search.Sort{birth}, []string{"s2", "s4", "s1", "s5", "s3"}},
		// Descending by the latest end: s2 Jan 31, s4 Jan 20, s1 and s5 Jan 10.
		{"-date", []search.Sort{{Param: "birthdate", Type: search.Date, Desc: true}}, []string{"s2", "s4", "s1", "s5", "s3"}},
		{"name", []search.Sort{name}, []string{"s2", "s5", "s1", "s3", "s4"}},
		{"-name", []search.Sort{{Param: "name", Type: search.String, Desc: true}}, []string{"s3", "s1", "s2", "s5", "s4"}},
		{"date,name", []search.Sort{birth, name}, []string{"s2", "s4", "s5", "s1", "s3"}},
	}
	for _, tc := range tests {
		if tg.Hashed && slices.ContainsFunc(tc.keys, func(k search.Sort) bool { return k.Type == search.String }) {
			if _, err := s.Search(context.Background(), &search.Query{Type: "Patient", Sort: tc.keys}, 0); err == nil {
				t.Errorf("sort %s: a store of hashed texts sorted by them", tc.name)
			}
			continue
		}
		if got := by(tc.keys...); !slices.Equal(got, tc.want) {
			t.Errorf("sort %s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// females writes n female patients p1..pn.
func females(tb testing.TB, s store.Store, n int) {
	index := map[string][]search.Entry{}
	for i := 1; i <= n; i++ {
		index["p"+string(rune('0'+i))] = []search.Entry{{Param: "gender", Type: search.Token, Code: "female"}}
	}
	load(tb, s, "Patient", index)
}

var female = []search.Clause{{Param: "gender", Type: search.Token, Values: []search.Value{{Code: "female"}}}}

func testPaging(t *testing.T, tg Target) {
	s := open(t, tg)
	females(t, s, 7)
	tests := []struct {
		name  string
		q     search.Query
		want  []string
		total int
	}{
		{"page 1", search.Query{Count: 3}, []string{"p1", "p2", "p3"}, 7},
		{"page 2", search.Query{Count: 3, Offset: 3}, []string{"p4", "p5", "p6"}, 7},
		{"page 3", search.Query{Count: 3, Offset: 6}, []string{"p7"}, 7},
		{"past the end", search.Query{Count: 3, Offset: 9}, []string{}, 7},
		{"default count", search.Query{}, []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7"}, 7},
		{"no total", search.Query{Count: 2, Total: "none"}, []string{"p1", "p2"}, -1},
		{"count only", search.Query{Summary: "count"}, []string{}, 7},
	}
	for _, tc := range tests {
		q := tc.q
		q.Type, q.Clauses = "Patient", female
		p := mustSearch(t, s, &q, 0)
		if got := matchIDs(p); !slices.Equal(got, tc.want) || p.Total != tc.total {
			t.Errorf("%s: %v total %d, want %v total %d", tc.name, got, p.Total, tc.want, tc.total)
		}
	}
}

func testSnapshot(t *testing.T, tg Target) {
	ctx := context.Background()
	s := open(t, tg)
	females(t, s, 5)
	q := &search.Query{Type: "Patient", Clauses: female, Count: 2}
	first := mustSearch(t, s, q, 0)
	if !slices.Equal(matchIDs(first), []string{"p1", "p2"}) || first.Total != 5 {
		t.Fatalf("page 1: %v total %d", matchIDs(first), first.Total)
	}
	// Later writes: a new match sorting first, an update that no longer
	// matches, a delete, an update that still matches.
	put(t, s,
		res{typ: "Patient", id: "p0", vid: 1, index: female2()},
		res{typ: "Patient", id: "p3", vid: 2},
		res{typ: "Patient", id: "p4", vid: 2, index: female2()},
	)
	del(t, s, "Patient", "p5", t0)
	q2 := &search.Query{Type: "Patient", Clauses: female, Count: 2, Offset: 2}
	p2, err := s.Search(ctx, q2, first.T)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ref("Patient", "p3", 1), ref("Patient", "p4", 1)}
	if !slices.Equal(ids(p2), want) || p2.Total != 5 || p2.T != first.T {
		t.Errorf("page 2 at the first page's T: %v total %d T %d, want %v total 5 T %d", ids(p2), p2.Total, p2.T, want, first.T)
	}
	q3 := &search.Query{Type: "Patient", Clauses: female, Count: 2, Offset: 4, Snapshot: first.T}
	if p3 := mustSearch(t, s, q3, 0); !slices.Equal(ids(p3), []string{ref("Patient", "p5", 1)}) {
		t.Errorf("page 3 at Query.Snapshot: %v, want [Patient/p5/1]", ids(p3))
	}
	now := mustSearch(t, s, &search.Query{Type: "Patient", Clauses: female}, 0)
	if got := ids(now); !slices.Equal(got, []string{ref("Patient", "p1", 1), ref("Patient", "p2", 1), ref("Patient", "p0", 1), ref("Patient", "p4", 2)}) {
		t.Errorf("search now: %v", got)
	}
}

func female2() []search.Entry {
	return []search.Entry{{Param: "gender", Type: search.Token, Code: "female"}}
}

func testAllTypes(t *testing.T, tg Target) {
	s := open(t, tg)
	id := func(v string) []search.Entry { return []search.Entry{{Param: "_id", Type: search.Token, Code: v}} }
	load(t, s, "Patient", map[string][]search.Entry{"x": id("x"), "y": id("y")})
	load(t, s, "Observation", map[string][]search.Entry{"x": id("x")})
	p := mustSearch(t, s, &search.Query{Clauses: one("_id", search.Token, "", search.Value{Code: "x"})}, 0)
	if got := ids(p); !slices.Equal(got, []string{ref("Patient", "x", 1), ref("Observation", "x", 1)}) || p.Total != 2 {
		t.Errorf("all types _id=x: %v total %d", got, p.Total)
	}
}

func testCorrupt(t *testing.T, tg Target) {
	ctx := context.Background()
	s := open(t, tg)
	load(t, s, "Patient", map[string][]search.Entry{"p1": female2(), "p2": female2()})
	put(t, s, res{typ: "Patient", id: "p1", vid: 2, index: female2()})
	if err := tg.Corrupt("Patient", "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, "Patient", "p1"); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("read of a corrupted row: %v, want ErrCorrupt", err)
	}
	if _, err := s.VRead(ctx, "Patient", "p1", 2); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("vread of a corrupted row: %v, want ErrCorrupt", err)
	}
	if _, err := s.Search(ctx, &search.Query{Type: "Patient", Clauses: female}, 0); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("search returning a corrupted row: %v, want ErrCorrupt", err)
	}
	if _, err := s.History(ctx, store.HistoryQuery{Type: "Patient", ID: "p1"}); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("history with a corrupted row: %v, want ErrCorrupt", err)
	}
	if _, err := s.VRead(ctx, "Patient", "p1", 1); err != nil {
		t.Errorf("vread of the intact version 1: %v", err)
	}
	if _, err := s.Read(ctx, "Patient", "p2"); err != nil {
		t.Errorf("read of another resource: %v", err)
	}
}

func testUnsupported(t *testing.T, tg Target) {
	s := open(t, tg)
	put(t, s, res{typ: "Observation", id: "o1", vid: 1})
	tests := []struct {
		name string
		q    search.Query
	}{
		{"reference :identifier", search.Query{Clauses: one("subject", search.Reference, "identifier", search.Value{RefID: "x"})}},
		{"token :in", search.Query{Clauses: one("code", search.Token, "in", search.Value{Code: "x"})}},
		{"composite", search.Query{Clauses: one("code-value-quantity", search.Composite, "", search.Value{Raw: "x$1"})}},
		{"prefix", search.Query{Clauses: one("date", search.Date, "", search.Value{Prefix: "xx"})}},
		{"sort by special", search.Query{Sort: []search.Sort{{Param: "near", Type: search.Special}}}},
	}
	for _, tc := range tests {
		tc.q.Type = "Observation"
		if p, err := s.Search(context.Background(), &tc.q, 0); err == nil {
			t.Errorf("%s: accepted, found %v", tc.name, ids(p))
		}
	}
}
