package search

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var testLimits = Limits{DefaultCount: 20, MaxCount: 100}

func TestParseQuery(t *testing.T) {
	const loinc = "http://loinc.org"
	day := func(s string) (float64, float64) { return ms(s + "T00:00:00Z"), ms(s+"T00:00:00Z") + 86400000 - 1 }
	jan14lo, jan14hi := day("2013-01-14")
	tok := func(raw, sys, code string, hasSys bool) Value {
		return Value{Prefix: "eq", Raw: raw, System: sys, Code: code, HasSystem: hasSys}
	}
	str := func(raw, text, norm string) Value { return Value{Prefix: "eq", Raw: raw, Text: text, Norm: norm} }
	ref := func(raw, typ, id string) Value { return Value{Prefix: "eq", Raw: raw, RefType: typ, RefID: id} }
	q := func(typ string, cs ...Clause) *Query { return &Query{Type: typ, Count: 20, Clauses: cs} }
	tests := []struct {
		name, typ, query string
		want             *Query
		issues           []Issue
	}{{
		name: "observation by patient, code and date",
		typ:  "Observation", query: "subject=Patient/123&code=http://loinc.org|8302-2&date=ge2013-01-14",
		want: q("Observation",
			Clause{Param: "code", Type: Token, Values: []Value{tok("http://loinc.org|8302-2", loinc, "8302-2", true)}},
			Clause{Param: "date", Type: Date, Values: []Value{{Prefix: "ge", Raw: "ge2013-01-14", Lo: jan14lo, Hi: jan14hi}}},
			Clause{Param: "subject", Type: Reference, Values: []Value{ref("Patient/123", "Patient", "123")}}),
	}, {
		name: "token forms, ORed",
		typ:  "Observation", query: "code=8302-2,|8302-2,http://loinc.org|",
		want: q("Observation", Clause{Param: "code", Type: Token, Values: []Value{
			tok("8302-2", "", "8302-2", false), tok("|8302-2", "", "8302-2", true), tok("http://loinc.org|", loinc, "", true)}}),
	}, {
		name: "escaped comma and bar",
		typ:  "Patient", query: `identifier=urn:x\|y|a\,b`,
		want: q("Patient", Clause{Param: "identifier", Type: Token, Values: []Value{tok(`urn:x\|y|a\,b`, "urn:x|y", "a,b", true)}}),
	}, {
		name: "repeated parameter is ANDed",
		typ:  "Patient", query: "name=María&name=Chalmers",
		want: q("Patient",
			Clause{Param: "name", Type: String, Values: []Value{str("María", "María", "maria")}},
			Clause{Param: "name", Type: String, Values: []Value{str("Chalmers", "Chalmers", "chalmers")}}),
	}, {
		name: "string modifiers",
		typ:  "Patient", query: "family:exact=du Marché&given:contains=ÉN",
		want: q("Patient",
			Clause{Param: "family", Type: String, Modifier: "exact", Values: []Value{str("du Marché", "du Marché", "du marche")}},
			Clause{Param: "given", Type: String, Modifier: "contains", Values: []Value{str("ÉN", "ÉN", "en")}}),
	}, {
		name: "token modifiers and missing",
		typ:  "Patient", query: "gender:not=male&language:text=Dutch&birthdate:missing=true",
		want: q("Patient",
			Clause{Param: "birthdate", Type: Date, Modifier: "missing", Values: []Value{{Raw: "true", Missing: true}}},
			Clause{Param: "gender", Type: Token, Modifier: "not", Values: []Value{tok("male", "", "male", false)}},
			Clause{Param: "language", Type: Token, Modifier: "text", Values: []Value{str("Dutch", "Dutch", "dutch")}}),
	}, {
		name: "reference forms",
		typ:  "Observation",
		query: "subject=123&patient=456&subject:Patient=789&encounter=Encounter/1/_history/2" +
			"&focus=http://example.org/fhir/Patient/7&has-member=urn:uuid:0e99785d-8f2a-45c7-848c-d6b31d1aa50e",
		want: q("Observation",
			Clause{Param: "encounter", Type: Reference, Values: []Value{ref("Encounter/1/_history/2", "Encounter", "1")}},
			Clause{Param: "focus", Type: Reference, Values: []Value{{Prefix: "eq", Raw: "http://example.org/fhir/Patient/7",
				Text: "http://example.org/fhir/Patient/7", RefType: "Patient", RefID: "7"}}},
			Clause{Param: "has-member", Type: Reference, Values: []Value{{Prefix: "eq", Raw: "urn:uuid:0e99785d-8f2a-45c7-848c-d6b31d1aa50e",
				Text: "urn:uuid:0e99785d-8f2a-45c7-848c-d6b31d1aa50e"}}},
			Clause{Param: "patient", Type: Reference, Values: []Value{ref("456", "Patient", "456")}}, // one target
			Clause{Param: "subject", Type: Reference, Values: []Value{ref("123", "", "123")}},        // several targets
			Clause{Param: "subject", Type: Reference, Modifier: "Patient", Values: []Value{ref("789", "Patient", "789")}}),
	}, {
		name: "chains",
		typ:  "Observation", query: "subject:Patient.name=peter&patient.birthdate=lt2013-01-14",
		want: q("Observation",
			Clause{Param: "patient", Type: Reference, Modifier: "Patient", Chain: &Chained{TargetType: "Patient",
				Clause: Clause{Param: "birthdate", Type: Date, Values: []Value{{Prefix: "lt", Raw: "lt2013-01-14", Lo: jan14lo, Hi: jan14hi}}}}},
			Clause{Param: "subject", Type: Reference, Modifier: "Patient", Chain: &Chained{TargetType: "Patient",
				Clause: Clause{Param: "name", Type: String, Values: []Value{str("peter", "peter", "peter")}}}}),
	}, {
		name: "numbers: precision range for eq, exact for gt, ±10% for ap",
		typ:  "RiskAssessment", query: "probability=0.02,gt0.02,ap100",
		want: q("RiskAssessment", Clause{Param: "probability", Type: Number, Values: []Value{
			{Prefix: "eq", Raw: "0.02", Num: 0.02, Lo: 0.015, Hi: 0.025},
			{Prefix: "gt", Raw: "gt0.02", Num: 0.02, Lo: 0.02, Hi: 0.02},
			{Prefix: "ap", Raw: "ap100", Num: 100, Lo: 90, Hi: 110}}}),
	}, {
		name: "quantities",
		typ:  "Observation", query: "value-quantity=5.4|http://unitsofmeasure.org|mg,le5.4||mg,5.40",
		want: q("Observation", Clause{Param: "value-quantity", Type: Quantity, Values: []Value{
			{Prefix: "eq", Raw: "5.4|http://unitsofmeasure.org|mg", Num: 5.4, Lo: 5.35, Hi: 5.45, System: "http://unitsofmeasure.org", Code: "mg"},
			{Prefix: "le", Raw: "le5.4||mg", Num: 5.4, Lo: 5.4, Hi: 5.4, Code: "mg"},
			{Prefix: "eq", Raw: "5.40", Num: 5.4, Lo: 5.395, Hi: 5.405}}}),
	}, {
		name: "date with time and zone, sa and eb",
		typ:  "Encounter", query: "date=sa2013-01-14T10:00:00%2B02:00&date=eb2014",
		want: q("Encounter",
			Clause{Param: "date", Type: Date, Values: []Value{{Prefix: "sa", Raw: "sa2013-01-14T10:00:00+02:00",
				Lo: ms("2013-01-14T08:00:00Z"), Hi: ms("2013-01-14T08:00:00.999Z")}}},
			Clause{Param: "date", Type: Date, Values: []Value{{Prefix: "eb", Raw: "eb2014", Lo: ms("2014-01-01T00:00:00Z"), Hi: ms("2014-12-31T23:59:59.999Z")}}}),
	}, {
		name: "result parameters",
		typ:  "Observation",
		query: "_sort=-date,code&_count=50&_offset=100&_snapshot=77&_include=Observation:subject:Patient" +
			"&_include:iterate=Patient:general-practitioner&_revinclude=Provenance:target&_summary=data" +
			"&_elements=id,code&_total=accurate&_format=json&_pretty=true",
		want: &Query{Type: "Observation", Count: 50, Offset: 100, Snapshot: 77,
			Sort:       []Sort{{Param: "date", Type: Date, Desc: true}, {Param: "code", Type: Token}},
			Include:    []Include{{SourceType: "Observation", Param: "subject", TargetType: "Patient"}, {SourceType: "Patient", Param: "general-practitioner", Iterate: true}},
			RevInclude: []Include{{SourceType: "Provenance", Param: "target"}},
			Summary:    "data", Elements: []string{"id", "code"}, Total: "accurate"},
	}, {
		name: "count capped",
		typ:  "Observation", query: "_count=500",
		want:   &Query{Type: "Observation", Count: 100},
		issues: []Issue{{Param: "_count", Value: "500", Message: "page size lowered to the maximum 100"}},
	}, {
		name: "count 0 is summary count",
		typ:  "Observation", query: "_count=0",
		want: &Query{Type: "Observation", Count: 20, Summary: "count"},
	}, {
		name: "empty value ignored",
		typ:  "Patient", query: "name=",
		want:   &Query{Type: "Patient", Count: 20},
		issues: []Issue{{Param: "name", Message: "empty value; parameter ignored"}},
	}, {
		name: "system search with common parameters",
		typ:  "", query: "_id=a1&_lastUpdated=ge2013-01-14",
		want: q("",
			Clause{Param: "_id", Type: Token, Values: []Value{tok("a1", "", "a1", false)}},
			Clause{Param: "_lastUpdated", Type: Date, Values: []Value{{Prefix: "ge", Raw: "ge2013-01-14", Lo: jan14lo, Hi: jan14hi}}}),
	}}
	r := newRegistry(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vals, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, issues, err := r.ParseQuery(tc.typ, vals, true, testLimits)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.issues, issues); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
			back, _, err := r.ParseQuery(tc.typ, got.Encode(), true, testLimits)
			if err != nil {
				t.Fatalf("ParseQuery(Encode()) = %v (%s)", err, got.Encode().Encode())
			}
			if diff := cmp.Diff(got, back, sortClauses); diff != "" {
				t.Errorf("ParseQuery(Encode()) (-want +got):\n%s", diff)
			}
		})
	}
}

// sortClauses ignores clause order (Encode writes an explicit chain type,
// which can move a clause among the sorted keys).
var sortClauses = cmpopts.SortSlices(func(a, b Clause) bool { return fmt.Sprint(a) < fmt.Sprint(b) })

// TestParseQueryErrors checks the rejected searches and their messages, and
// what lenient handling does with the unknown and unsupported ones.
func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		typ, query string
		err        string
		lenient    bool // lenient parsing ignores it (the same text comes back as an Issue)
	}{
		{"Observation", "foo=1", `search: parameter "foo": unknown search parameter "foo" for Observation`, true},
		{"", "code=1", `search: parameter "code": unknown search parameter "code" for all resource types`, true},
		{"Observation", "code-value-quantity=http://loinc.org|8302-2$gt5", `search: parameter "code-value-quantity": search parameter "code-value-quantity" (composite) is not supported`, true},
		{"Patient", "_text=cancer", `search: parameter "_text": search parameter "_text" (string) is not supported`, true},
		{"Patient", "gender:exact=male", `search: parameter "gender:exact": modifier "exact" is not supported on token parameter "gender"`, true},
		{"Observation", "code:below=http://loinc.org|8302-2", `search: parameter "code:below": modifier "below" is not supported on token parameter "code"`, true},
		{"Observation", "subject:Patient.organization.name=x", `search: parameter "subject:Patient.organization.name": only one level of chaining is supported`, true},
		{"Observation", "_sort=nope", `search: parameter "_sort": unknown sort parameter "nope"`, true},
		{"Observation", "_include:foo=Observation:subject", `search: parameter "_include:foo": modifier "foo" is not supported`, true},
		{"Observation", "date=2013-13", `search: parameter "date" value "2013-13": "2013-13" is not a FHIR date: bad month`, false},
		{"Observation", "date=ge2013-01-14T10:00:00+02:00", `search: parameter "date" value "ge2013-01-14T10:00:00 02:00": "2013-01-14T10:00:00 02:00" is not a FHIR date: bad time zone`, false},
		{"Observation", "value-quantity=5|mg", `search: parameter "value-quantity" value "5|mg": want [prefix]number or, for a quantity, [prefix]number|system|code`, false},
		{"Observation", "value-quantity=abc", `search: parameter "value-quantity" value "abc": "abc" is not a number`, false},
		{"Observation", "code=a|b|c", `search: parameter "code" value "a|b|c": want code, system|code, |code or system|`, false},
		{"Observation", "code=|", `search: parameter "code" value "|": want code, system|code, |code or system|`, false},
		{"Observation", "subject=Medication/1", `search: parameter "subject" value "Medication/1": "subject" cannot refer to Medication`, false},
		{"Observation", "subject=Nope/1", `search: parameter "subject" value "Nope/1": "Nope" is not a resource type`, false},
		{"Observation", "subject=Patient/a b", `search: parameter "subject" value "Patient/a b": "a b" is not a resource id`, false},
		{"Observation", "subject:Patient=Group/1", `search: parameter "subject:Patient" value "Group/1": type Group contradicts the modifier :Patient`, false},
		{"Observation", "subject:Medication=1", `search: parameter "subject:Medication": "subject" cannot refer to Medication`, false},
		{"Observation", "subject.name=x", `search: parameter "subject.name": "subject" may refer to Group, Device, Patient, Location: name the type (subject:Group.name)`, false},
		{"RequestGroup", "instantiates-canonical.name=x", `search: parameter "instantiates-canonical.name": "instantiates-canonical" has no target types: name the type (instantiates-canonical:Type.name)`, false},
		{"RequestGroup", "instantiates-canonical:Nope.name=x", `search: parameter "instantiates-canonical:Nope.name": "instantiates-canonical" cannot refer to Nope`, false},
		{"Observation", "code.name=x", `search: parameter "code.name": "code" is a token parameter; only reference parameters chain`, false},
		{"Observation", "gender:missing=maybe", `search: parameter "gender:missing": unknown search parameter "gender" for Observation`, true},
		{"Patient", "gender:missing=maybe", `search: parameter "gender:missing" value "maybe": want true or false`, false},
		{"Observation", "_count=abc", `search: parameter "_count" value "abc": want a non-negative integer`, false},
		{"Observation", "_count=-1", `search: parameter "_count" value "-1": want a non-negative integer`, false},
		{"Observation", "_offset=99999999999", `search: parameter "_offset" value "99999999999": want a non-negative integer`, false},
		{"Observation", "_summary=maybe", `search: parameter "_summary" value "maybe": want true, false, text, data or count`, false},
		{"Observation", "_total=all", `search: parameter "_total" value "all": want none, estimate or accurate`, false},
		{"Observation", "_elements=code,a b", `search: parameter "_elements" value "code,a b": "a b" is not an element name`, false},
		{"Observation", "_include=Patient:general-practitioner", `search: parameter "_include" value "Patient:general-practitioner": the source type must be Observation (or use _include:iterate)`, false},
		{"Observation", "_include=Observation:code", `search: parameter "_include" value "Observation:code": "code" is not a reference parameter of Observation`, false},
		{"Observation", "_include=Observation:subject:Medication", `search: parameter "_include" value "Observation:subject:Medication": Observation:subject cannot refer to "Medication"`, false},
		{"Observation", "_include=*", `search: parameter "_include" value "*": want SourceType:param[:TargetType]`, false},
		{"Observation", "_revinclude=Nope:target", `search: parameter "_revinclude" value "Nope:target": "Nope" is not a resource type`, false},
		{"Nope", "", `search: parameter "": unknown resource type "Nope"`, false},
	}
	r := newRegistry(t)
	for _, tc := range tests {
		vals, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = r.ParseQuery(tc.typ, vals, true, testLimits)
		if err == nil || err.Error() != tc.err {
			t.Errorf("%s?%s: strict error\n%v\nwant\n%s", tc.typ, tc.query, err, tc.err)
		}
		q, issues, err := r.ParseQuery(tc.typ, vals, false, testLimits)
		switch {
		case !tc.lenient && err == nil:
			t.Errorf("%s?%s: lenient: no error", tc.typ, tc.query)
		case tc.lenient && err != nil:
			t.Errorf("%s?%s: lenient: %v", tc.typ, tc.query, err)
		case tc.lenient:
			if len(q.Clauses) != 0 || len(q.Sort) != 0 || len(q.Include) != 0 {
				t.Errorf("%s?%s: lenient kept %+v", tc.typ, tc.query, q)
			}
			if len(issues) != 1 || "search: "+issues[0].String() != tc.err {
				t.Errorf("%s?%s: lenient issues %v, want one: %s", tc.typ, tc.query, issues, tc.err)
			}
		}
	}
}

// fuzzSeeds reads testdata/queries.txt: one search "Type?query" per line.
func fuzzSeeds(tb testing.TB) []string {
	f, err := os.Open("testdata/queries.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var seeds []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := s.Text(); line != "" && !strings.HasPrefix(line, "#") {
			seeds = append(seeds, line)
		}
	}
	return seeds
}

// FuzzParseQuery: no panic, and a query that parses comes back the same
// from its Encode, strictly (lenient parsing drops what strict rejects).
func FuzzParseQuery(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	r := newRegistry(f)
	f.Fuzz(func(t *testing.T, s string) {
		typ, query, _ := strings.Cut(s, "?")
		vals, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		q, _, err := r.ParseQuery(typ, vals, false, testLimits)
		if err != nil {
			return
		}
		back, _, err := r.ParseQuery(typ, q.Encode(), true, testLimits)
		if err != nil {
			t.Fatalf("%q: ParseQuery(Encode()) = %v (%s)", s, err, q.Encode().Encode())
		}
		if diff := cmp.Diff(q, back, sortClauses); diff != "" {
			t.Fatalf("%q: ParseQuery(Encode()) (-want +got):\n%s", s, diff)
		}
	})
}
