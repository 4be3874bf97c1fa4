package audit

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/search"
)

var (
	encT0  = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	encNow = time.Date(2026, 3, 1, 12, 0, 1, 500000000, time.UTC)
	prev3  = strings.Repeat("ab", 32)
)

// sortEntries compares index entries as sets: their order means nothing
// to a search.
var sortEntries = cmpopts.SortSlices(func(a, b search.Entry) bool { return fmt.Sprint(a) < fmt.Sprint(b) })

// paths returns the stored version of r (record 3 after prev3) by the path
// r takes and by the general path (tree, fhir marshal, Extract).
func paths(t testing.TB, reg *search.Registry, r Record) (got, want versionHash) {
	t.Helper()
	l := New(nil, reg, Options{})
	v, h, err := l.version(r, 3, prev3, encNow)
	if err != nil {
		t.Fatal(err)
	}
	got = versionHash{v.Body, h, v.Index}
	l.plainObserver = false // every record takes the general path
	v, h, err = l.version(r, 3, prev3, encNow)
	if err != nil {
		t.Fatal(err)
	}
	return got, versionHash{v.Body, h, v.Index}
}

type versionHash struct {
	body  []byte
	hash  string
	index []search.Entry
}

// checkSame fails unless the fast path gave the general path's bytes and
// hash, and both paths index entries equal to what Extract computes from
// the stored body for the parameters the trail indexes.
func checkSame(t testing.TB, reg *search.Registry, r Record) {
	t.Helper()
	got, want := paths(t, reg, r)
	if !bytes.Equal(got.body, want.body) {
		t.Fatalf("%+v: body\n got %s\nwant %s", r, got.body, want.body)
	}
	if got.hash != want.hash {
		t.Fatalf("%+v: hash %s, want %s", r, got.hash, want.hash)
	}
	res, err := fhir.Parse(got.body)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := reg.Extract(resourceType, res.Tree)
	if err != nil {
		t.Fatal(err)
	}
	var indexed []search.Entry
	for _, e := range ext {
		if Indexed(e.Param) {
			indexed = append(indexed, e)
		}
	}
	if diff := cmp.Diff(indexed, got.index, sortEntries); diff != "" {
		t.Fatalf("%+v: index entries (-Extract of the indexed parameters +stored):\n%s", r, diff)
	}
	if diff := cmp.Diff(indexed, want.index, sortEntries); diff != "" {
		t.Fatalf("%+v: general path's index entries (-Extract of the indexed parameters +stored):\n%s", r, diff)
	}
}

// TestFastPath checks that the records the HTTP layer makes take the fast
// path, and that it stores the same bytes, hash and search index entries
// as the general path.
func TestFastPath(t *testing.T) {
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	recs := []Record{
		{Time: encT0, Interaction: Login, Outcome: MinorFailure, Address: "[2001:db8::1]:443"},
		{Time: encT0, Interaction: Read, Outcome: Success, Who: "u7", Client: "c9", Address: "host.example:80", Patient: "Patient/p1", Resources: []string{"Patient/p1"}},
		{Time: encT0, Interaction: Search, Who: "user-1", Client: "app-1", Address: "192.0.2.7:5123", Patient: "Patient/p1",
			Resources: []string{"Observation/o1", "Patient/p2", "Observation/o1", "Patient/p2", "Patient/p1"}, Query: "patient=Patient/p1&name=Zoë"},
		{Time: encT0, Interaction: Create, Who: "anonymous", Resources: []string{"Observation/o1", "Encounter/e.1-x"}},
		{Time: encT0, Interaction: Operation, Operation: "$export", Outcome: SeriousFail, Who: "svc", Query: "_type=Patient"},
		{Time: encT0, Interaction: Transaction, Patient: "Group/g1", Resources: []string{"Foo/1", "Patient/" + strings.Repeat("a", 64)}},
		{Time: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), Interaction: "unknown", Outcome: "x"},
		{Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)), Interaction: SearchSystem, Address: "::1"},
		{Time: encT0, Interaction: Delete, Who: `a<b>&c'd`, Address: " : "},
		{Time: encT0, Interaction: Transaction, Operation: "twin write-back", Who: "system:doppel-twin", System: true, Patient: "Patient/p1", Resources: []string{"Observation/f1"}},
	}
	for _, r := range recs {
		if !r.fast() {
			t.Errorf("%+v does not take the fast path", r)
			continue
		}
		checkSame(t, reg, r)
	}
}

// TestGeneralPath checks that records with texts a JSON encoder must
// escape, or references other than Type/id, take the general path.
func TestGeneralPath(t *testing.T) {
	for _, r := range []Record{
		{Interaction: Read, Who: "Zoë"},
		{Interaction: Read, Client: `a"b`},
		{Interaction: Read, Address: `a\b`},
		{Interaction: Read, Operation: "x\ny"},
		{Interaction: ""},
		{Interaction: Read, Patient: "Patient/a b"},
		{Interaction: Read, Patient: "http://x/Patient/1"},
		{Interaction: Read, Patient: "patient/1"},
		{Interaction: Read, Resources: []string{""}},
		{Interaction: Read, Resources: []string{"Patient/1/_history/2"}},
		{Interaction: Read, Resources: []string{"Patient/" + strings.Repeat("a", 65)}},
	} {
		if r.fast() {
			t.Errorf("%+v takes the fast path", r)
		}
	}
}

// FuzzFastPath holds the fast path to the general path's bytes, hash and
// index entries for arbitrary records.
func FuzzFastPath(f *testing.F) {
	reg, err := search.NewRegistry()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("read", "", "u1", "c1", "192.0.2.1:80", "Patient/p1", "Observation/o1", "", "", int64(1772366400123))
	f.Add("search-type", "", "u1", "", "h:1", "", "Patient/p1", "name=x", "4", int64(0))
	f.Add("operation", "$export", "", "", "", "Patient/1", "Patient/1", "_type=A", "8", int64(-1))
	f.Fuzz(func(t *testing.T, interaction, operation, who, client, address, patient, resource, query, outcome string, ms int64) {
		r := Record{Time: time.UnixMilli(ms), Interaction: interaction, Operation: operation, Who: who, Client: client,
			Address: address, Patient: patient, Resources: []string{resource}, Query: query, Outcome: outcome}
		if !r.fast() || !fourDigitYear(r.Time) {
			return
		}
		checkSame(t, reg, r)
	})
}

// BenchmarkVersion builds the stored AuditEvent of a search record by
// each path.
func BenchmarkVersion(b *testing.B) {
	reg, err := search.NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	r := Record{Time: encT0, Interaction: Search, Who: "user-1", Client: "app-1", Address: "192.0.2.7:5123",
		Patient: "Patient/p1", Resources: []string{"Observation/o1"}, Query: "patient=Patient/p1"}
	for _, fast := range []bool{true, false} {
		b.Run(fmt.Sprintf("fast=%v", fast), func(b *testing.B) {
			l := New(nil, reg, Options{})
			l.plainObserver = fast
			for b.Loop() {
				if _, _, err := l.version(r, 3, prev3, encNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSystemAgent checks that a record of the server's own software names
// its agent as an application (DICOM 110150), a person's as a human user.
func TestSystemAgent(t *testing.T) {
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		system bool
		want   string
	}{{true, `"code":"110150"`}, {false, `"code":"humanuser"`}} {
		got, _ := paths(t, reg, Record{Time: encT0, Interaction: Create, Who: "system:doppel-twin", System: c.system})
		if !bytes.Contains(got.body, []byte(c.want)) {
			t.Errorf("System %v: agent type not %s in %s", c.system, c.want, got.body)
		}
	}
}
