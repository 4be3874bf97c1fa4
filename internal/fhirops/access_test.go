package fhirops_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
)

// access is a test Access: kinds allowed on every type, and a
// compartment.
type access struct {
	kinds       []string
	compartment string
}

func (a access) Allows(kind, _ string) bool { return slices.Contains(a.kinds, kind) }
func (a access) Compartment() string        { return a.compartment }

var (
	readAll  = []string{"read", "vread", "search-type", "search-system", "history-instance", "history-type", "history-system"}
	writeAll = append(slices.Clone(readAll), "create", "update", "patch", "delete")
	// p1 is a patient token of Patient/p1 with read scopes (patient/*.rs).
	p1 = access{kinds: readAll, compartment: "Patient/p1"}
	// p1w can also write (patient/*.cruds).
	p1w = access{kinds: writeAll, compartment: "Patient/p1"}
	// user can read everything (user/*.rs).
	user = access{kinds: readAll}
	// user2w can also write (user/*.cruds).
	user2w = access{kinds: writeAll}
)

// compartmentFixture stores two patients and their data:
//
//	o1: subject p1, performer Practitioner/dr1
//	o2: subject p2, identifier x|o2
//	o3: subject p2, performer p1 (in both compartments, R4 Observation: subject, performer)
//	e1: Encounter of p1; e2: Encounter of p2
func compartmentFixture(t *testing.T) sv {
	t.Helper()
	s := sv{newService(t)}
	s.mustUpdate(t, "Patient", "p1", `{"resourceType":"Patient","id":"p1"}`)
	s.mustUpdate(t, "Patient", "p2", `{"resourceType":"Patient","id":"p2"}`)
	s.mustUpdate(t, "Practitioner", "dr1", `{"resourceType":"Practitioner","id":"dr1"}`)
	s.mustUpdate(t, "Observation", "o1", obs("o1", "p1", `,"performer":[{"reference":"Practitioner/dr1"}]`))
	s.mustUpdate(t, "Observation", "o2", obs("o2", "p2", `,"identifier":[{"system":"x","value":"o2"}]`))
	s.mustUpdate(t, "Observation", "o3", obs("o3", "p2", `,"performer":[{"reference":"Patient/p1"}]`))
	s.mustUpdate(t, "Encounter", "e1", `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p1"}}`)
	s.mustUpdate(t, "Encounter", "e2", `{"resourceType":"Encounter","id":"e2","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p2"}}`)
	return s
}

// obs is an Observation of patient pid, with more elements (",...").
func obs(id, pid, more string) string {
	s := `{"resourceType":"Observation","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/` + pid + `"}` + more + `}`
	if id != "" {
		s = `{"id":"` + id + `",` + s[1:]
	}
	return s
}

func as(a fhirops.Access) context.Context { return fhirops.WithAccess(context.Background(), a) }

// search runs a search with access a.
func (s sv) searchAs(a fhirops.Access, typ, query string) (searchBundle, error) {
	vals, err := url.ParseQuery(query)
	if err != nil {
		return searchBundle{}, err
	}
	data, err := s.Search(as(a), typ, vals, true, "http://x/fhir")
	var b searchBundle
	if err == nil {
		err = json.Unmarshal(data, &b)
	}
	return b, err
}

// TestCompartmentRead: a patient-confined request reads only its
// compartment; others' resources do not exist for it (404) (SEC-02).
func TestCompartmentRead(t *testing.T) {
	s := compartmentFixture(t)
	for _, tc := range []struct {
		a       fhirops.Access
		typ, id string
		want    int
	}{
		{p1, "Observation", "o1", 0},
		{p1, "Observation", "o3", 0}, // performer Patient/p1
		{p1, "Observation", "o2", 404},
		{p1, "Patient", "p1", 0},
		{p1, "Patient", "p2", 404},
		{p1, "Encounter", "e2", 404},
		{p1, "Practitioner", "dr1", 404}, // in no patient compartment
		{user, "Observation", "o2", 0},
		{access{kinds: []string{"search-type"}}, "Observation", "o1", 403}, // no read scope
	} {
		_, err := s.Read(as(tc.a), tc.typ, tc.id)
		if got := status(err); got != tc.want {
			t.Errorf("%v read %s/%s: status %d (%v), want %d", tc.a, tc.typ, tc.id, got, err, tc.want)
		}
		_, err = s.VRead(as(tc.a), tc.typ, tc.id, "1")
		if got := status(err); got != tc.want {
			t.Errorf("%v vread %s/%s/_history/1: status %d (%v), want %d", tc.a, tc.typ, tc.id, got, err, tc.want)
		}
	}
}

// TestCompartmentSearch: searches of a confined request find only its
// compartment whatever the parameters; _include and _revinclude add
// nothing of others (SEC-02, SEC-03).
func TestCompartmentSearch(t *testing.T) {
	s := compartmentFixture(t)
	for _, tc := range []struct {
		a          fhirops.Access
		typ, query string
		want       []string
		status     int
	}{
		{p1, "Observation", "", []string{"Observation/o1", "Observation/o3"}, 0},
		{p1, "Observation", "subject=Patient/p2", []string{"Observation/o3"}, 0},
		{p1, "Observation", "subject=Patient/p1", []string{"Observation/o1"}, 0},
		{p1, "Observation", "subject:Patient=p1", []string{"Observation/o1"}, 0},
		{p1, "Observation", "subject=p2", []string{"Observation/o3"}, 0},
		{p1, "Observation", "performer=Patient/p1,Patient/p2", []string{"Observation/o3"}, 0},
		{p1, "Observation", "_id=o2", nil, 0},
		{p1, "Observation", "identifier=x|o2", nil, 0},
		{p1, "Observation", "_summary=count", nil, 0},
		{p1, "Encounter", "", []string{"Encounter/e1"}, 0},
		{p1, "Encounter", "patient=p2", nil, 0},
		{p1, "Patient", "", []string{"Patient/p1"}, 0},
		{p1, "Observation", "_include=Observation:subject", []string{"Observation/o1", "Observation/o3", "include:Patient/p1"}, 0},
		{p1, "Observation", "_include=Observation:performer", []string{"Observation/o1", "Observation/o3", "include:Patient/p1"}, 0}, // not Practitioner/dr1
		{p1, "Patient", "_revinclude=Observation:subject", []string{"Patient/p1", "include:Observation/o1"}, 0},
		{p1, "Encounter", "_id=e1&_revinclude=Observation:encounter", []string{"Encounter/e1"}, 0},
		{p1, "Practitioner", "", nil, 403},
		{p1, "Observation", "subject:Patient._id=p2", nil, 403}, // o3's subject is p2: a chain would probe p2
		{p1, "", "_id=o2", nil, 403},
		{user, "Observation", "subject=Patient/p2", []string{"Observation/o2", "Observation/o3"}, 0},
		{user, "Observation", "_id=o1&_include=Observation:performer", []string{"Observation/o1", "include:Practitioner/dr1"}, 0},
	} {
		b, err := s.searchAs(tc.a, tc.typ, tc.query)
		if got := status(err); got != tc.status {
			t.Errorf("%v search %s?%s: status %d (%v), want %d", tc.a, tc.typ, tc.query, got, err, tc.status)
			continue
		}
		if err != nil {
			continue
		}
		if diff := cmp.Diff(tc.want, b.ids()); diff != "" {
			t.Errorf("%v search %s?%s (-want +got):\n%s", tc.a, tc.typ, tc.query, diff)
		}
		if strings.Contains(tc.query, "_summary=count") && (b.Total == nil || *b.Total != 2) {
			t.Errorf("%v search %s?%s: total %v, want 2 (o1, o3)", tc.a, tc.typ, tc.query, b.Total)
		}
		for _, l := range b.Link {
			if strings.Contains(l.URL, "_id=o1") && !strings.Contains(tc.query, "_id") {
				t.Errorf("link %s carries the compartment restriction", l.URL)
			}
		}
	}
}

// TestCompartmentEverythingHistory: $everything only of the own patient;
// one resource's history only in the compartment; type and system
// histories refused (SEC-02).
func TestCompartmentEverythingHistory(t *testing.T) {
	s := compartmentFixture(t)
	ctx := as(p1)
	if _, err := s.Everything(ctx, "p2", nil, "http://x/fhir"); status(err) != 403 {
		t.Errorf("$everything of p2 as p1: %v, want 403", err)
	}
	data, err := s.Everything(ctx, "p1", nil, "http://x/fhir")
	if err != nil {
		t.Fatal(err)
	}
	var b searchBundle
	json.Unmarshal(data, &b)
	for _, id := range b.ids() {
		if id == "Observation/o2" || id == "Patient/p2" || id == "Encounter/e2" {
			t.Errorf("$everything of p1 holds %s", id)
		}
	}
	for _, tc := range []struct {
		typ, id string
		want    int
	}{
		{"Observation", "o2", 404},
		{"Observation", "o1", 0},
		{"Observation", "", 403},
		{"", "", 403},
	} {
		_, err := s.History(ctx, tc.typ, tc.id, nil, "http://x/fhir")
		if got := status(err); got != tc.want {
			t.Errorf("history %s/%s as p1: status %d (%v), want %d", tc.typ, tc.id, got, err, tc.want)
		}
	}
}

// TestCompartmentWrite: a confined request writes only in its compartment
// (403 otherwise, nothing stored); writes need the write interaction
// (SEC-02, SEC-03).
func TestCompartmentWrite(t *testing.T) {
	s := compartmentFixture(t)
	for _, tc := range []struct {
		name string
		a    fhirops.Access
		do   func(ctx context.Context) error
		want int
	}{
		{"create for another patient", p1w, func(ctx context.Context) error {
			_, err := s.Create(ctx, "Observation", []byte(obs("", "p2", "")), "")
			return err
		}, 403},
		{"create without create scope", p1, func(ctx context.Context) error {
			_, err := s.Create(ctx, "Observation", []byte(obs("", "p1", "")), "")
			return err
		}, 403},
		{"take another patient's resource over", p1w, func(ctx context.Context) error {
			_, err := s.Update(ctx, "Observation", "o2", []byte(obs("o2", "p1", "")), "")
			return err
		}, 403},
		{"move an own resource to another patient", p1w, func(ctx context.Context) error {
			_, err := s.Update(ctx, "Observation", "o1", []byte(obs("o1", "p2", "")), "")
			return err
		}, 403},
		{"patch another patient's resource", p1w, func(ctx context.Context) error {
			_, err := s.Patch(ctx, "Observation", "o2", []byte(`[{"op":"replace","path":"/status","value":"amended"}]`), "")
			return err
		}, 404},
		{"delete another patient's resource", p1w, func(ctx context.Context) error {
			_, err := s.Delete(ctx, "Observation", "o2")
			return err
		}, 403},
		{"conditional update onto another patient's match", p1w, func(ctx context.Context) error {
			_, err := s.ConditionalUpdate(ctx, "Observation", url.Values{"identifier": {"x|o2"}}, []byte(obs("", "p2", "")))
			return err
		}, 403},
		{"update without update scope", p1, func(ctx context.Context) error {
			_, err := s.Update(ctx, "Observation", "o1", []byte(obs("o1", "p1", "")), "")
			return err
		}, 403},
	} {
		err := tc.do(as(tc.a))
		if got := status(err); got != tc.want {
			t.Errorf("%s: status %d (%v), want %d", tc.name, got, err, tc.want)
		}
	}
	// Nothing changed: p2's data is as it was, and no Observation was added.
	for _, id := range []string{"o1", "o2"} {
		r := s.mustRead(t, "Observation", id)
		if m, _ := r["meta"].(map[string]any); m["versionId"] != "1" {
			t.Errorf("Observation/%s was written: %v", id, r["meta"])
		}
	}
	if b := doSearch(t, s.Service, "Observation", ""); len(b.Entry) != 3 {
		t.Errorf("%d Observations after the refused writes, want 3: %v", len(b.Entry), b.ids())
	}

	// Within the compartment the writes succeed; a conditional create
	// whose only match is another patient's creates instead of returning
	// it.
	ctx := as(p1w)
	o, err := s.Create(ctx, "Observation", []byte(obs("", "p1", `,"identifier":[{"system":"x","value":"o2"}]`)), "identifier=x|o2")
	if err != nil || o.Status != 201 || o.Version.ID == "o2" {
		t.Errorf("conditional create as p1 matching only o2: %+v, %v; want 201 of a new resource", o.Status, err)
	}
	if _, err := s.Update(ctx, "Observation", "o1", []byte(obs("o1", "p1", `,"issued":"2026-01-01T00:00:00Z"`)), ""); err != nil {
		t.Errorf("update of an own Observation: %v", err)
	}
	if _, err := s.Delete(ctx, "Observation", "o1"); err != nil {
		t.Errorf("delete of an own Observation: %v", err)
	}
}

// TestCompartmentTransaction: each entry of a transaction is checked: one
// not allowed refuses the whole Bundle, naming the entry, and stores
// nothing (SEC-02, SEC-03).
func TestCompartmentTransaction(t *testing.T) {
	s := compartmentFixture(t)
	tx := func(entries ...string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
	}
	post := func(pid string) string {
		return `{"fullUrl":"urn:uuid:` + pid + `","resource":` + obs("", pid, "") + `,"request":{"method":"POST","url":"Observation"}}`
	}
	get := `{"request":{"method":"GET","url":"Observation/o2"}}`
	for _, tc := range []struct {
		name   string
		a      fhirops.Access
		bundle string
		want   int
		at     string
	}{
		{"write for another patient", p1w, tx(post("p1"), post("p2")), 403, "Bundle.entry[1]"},
		{"write without write scope", p1, tx(post("p1")), 403, "Bundle.entry[0]"},
		{"read of another patient's resource", p1w, tx(post("p1"), get), 404, "Bundle.entry[1]"},
	} {
		_, err := s.Transaction(as(tc.a), []byte(tc.bundle), "http://x/fhir")
		if got := status(err); got != tc.want {
			t.Errorf("%s: status %d (%v), want %d", tc.name, got, err, tc.want)
			continue
		}
		var fe *fhir.Error
		if errors.As(err, &fe) && !slices.ContainsFunc(fe.Issues[0].Expression, func(e string) bool { return strings.HasPrefix(e, tc.at) }) {
			t.Errorf("%s: issue %+v does not name %s", tc.name, fe.Issues[0], tc.at)
		}
	}
	if b := doSearch(t, s.Service, "Observation", ""); len(b.Entry) != 3 {
		t.Errorf("%d Observations after the refused transactions, want 3: %v", len(b.Entry), b.ids())
	}
	if _, err := s.Transaction(as(p1w), []byte(tx(post("p1"))), "http://x/fhir"); err != nil {
		t.Errorf("transaction in the own compartment: %v", err)
	}
}

// TestCompartmentInvalid: a compartment that is not a patient's is refused
// rather than ignored.
func TestCompartmentInvalid(t *testing.T) {
	s := compartmentFixture(t)
	for _, c := range []string{"Patient/", "Practitioner/dr1", "Patient/p1/x"} {
		_, err := s.Read(as(access{kinds: readAll, compartment: c}), "Observation", "o1")
		if status(err) != 403 {
			t.Errorf("compartment %q: %v, want 403", c, err)
		}
	}
}

// subscription is a rest-hook Subscription id ("" for none) of
// criteria, with meta.tag tags (JSON, "" for none).
func subscription(id, criteria, tags string) string {
	meta := ""
	if id != "" {
		meta = `"id":"` + id + `",`
	}
	if tags != "" {
		meta += `"meta":{"tag":` + tags + `},`
	}
	return `{"resourceType":"Subscription",` + meta + `"status":"requested","reason":"cgm","criteria":"` + criteria +
		`","channel":{"type":"rest-hook","endpoint":"https://app.example/hook","payload":"application/fhir+json"}}`
}

// owner returns the owner tags (codes) of the stored Subscription id,
// and its other tags' codes.
func (s sv) owner(t *testing.T, id string) (owners, others []string) {
	t.Helper()
	r := s.mustRead(t, "Subscription", id)
	m, _ := r["meta"].(map[string]any)
	tags, _ := m["tag"].([]any)
	for _, tag := range tags {
		tm, _ := tag.(map[string]any)
		code, _ := tm["code"].(string)
		if tm["system"] == fhirops.OwnerSystem {
			owners = append(owners, code)
		} else {
			others = append(others, code)
		}
	}
	return owners, others
}

// TestCompartmentSubscription: Subscription is in no compartment, yet a
// patient token may write Subscriptions, which the server tags with its
// patient (a client's owner tag is replaced), and reads, searches,
// updates and deletes only those its patient owns.
func TestCompartmentSubscription(t *testing.T) {
	s := compartmentFixture(t)
	p2w := access{kinds: writeAll, compartment: "Patient/p2"}
	forged := `[{"system":"` + fhirops.OwnerSystem + `","code":"Patient/p2"},{"system":"x","code":"mine"}]`
	o, err := s.Create(as(p1w), "Subscription", []byte(subscription("", "Observation?subject=Patient/p1", forged)), "")
	if err != nil {
		t.Fatalf("create as p1: %v", err)
	}
	own := o.Version.ID
	owners, others := s.owner(t, own)
	if diff := cmp.Diff([]string{"Patient/p1"}, owners); diff != "" {
		t.Errorf("owner of p1's Subscription (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"mine"}, others); diff != "" {
		t.Errorf("client tags of p1's Subscription (-want +got):\n%s", diff)
	}
	o, err = s.Create(as(p2w), "Subscription", []byte(subscription("", "Observation?subject=Patient/p2", "")), "")
	if err != nil {
		t.Fatalf("create as p2: %v", err)
	}
	theirs := o.Version.ID
	s.mustUpdate(t, "Subscription", "sys", subscription("sys", "Observation?code=x", "")) // no Access: unowned

	for _, tc := range []struct {
		name string
		a    fhirops.Access
		do   func(ctx context.Context) error
		want int
	}{
		{"read own", p1, func(ctx context.Context) error { _, err := s.Read(ctx, "Subscription", own); return err }, 0},
		{"read another patient's", p1, func(ctx context.Context) error { _, err := s.Read(ctx, "Subscription", theirs); return err }, 404},
		{"read an unowned one", p1, func(ctx context.Context) error { _, err := s.Read(ctx, "Subscription", "sys"); return err }, 404},
		{"history of another patient's", p1, func(ctx context.Context) error {
			_, err := s.History(ctx, "Subscription", theirs, nil, "http://x/fhir")
			return err
		}, 404},
		{"update another patient's", p1w, func(ctx context.Context) error {
			_, err := s.Update(ctx, "Subscription", theirs, []byte(subscription(theirs, "Observation?subject=Patient/p1", "")), "")
			return err
		}, 403},
		{"delete another patient's", p1w, func(ctx context.Context) error { _, err := s.Delete(ctx, "Subscription", theirs); return err }, 403},
		{"update own", p1w, func(ctx context.Context) error {
			_, err := s.Update(ctx, "Subscription", own, []byte(subscription(own, "Observation?subject=Patient/p1&code=x", "")), "")
			return err
		}, 0},
		{"user reads another patient's", user, func(ctx context.Context) error { _, err := s.Read(ctx, "Subscription", theirs); return err }, 0},
	} {
		if got := status(tc.do(as(tc.a))); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}

	for _, tc := range []struct {
		a    fhirops.Access
		want []string
	}{
		{p1, []string{own}},
		{p2w, []string{theirs}},
		{user, []string{own, theirs, "sys"}},
	} {
		b, err := s.searchAs(tc.a, "Subscription", "")
		if err != nil {
			t.Fatalf("%v search: %v", tc.a, err)
		}
		got := b.ids()
		slices.Sort(got)
		var want []string
		for _, id := range tc.want {
			want = append(want, "Subscription/"+id)
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%v Subscription search (-want +got):\n%s", tc.a, diff)
		}
	}

	// An unconfined writer keeps the current owner, whatever tag it sends;
	// it cannot give an unowned Subscription to a patient.
	if _, err := s.Update(as(user2w), "Subscription", own, []byte(subscription(own, "Observation?subject=Patient/p1", forged)), ""); err != nil {
		t.Fatal(err)
	}
	if owners, _ := s.owner(t, own); !slices.Equal(owners, []string{"Patient/p1"}) {
		t.Errorf("owner after a user's update with a forged tag: %v, want [Patient/p1]", owners)
	}
	if _, err := s.Update(as(user2w), "Subscription", "sys", []byte(subscription("sys", "Observation?code=x", forged)), ""); err != nil {
		t.Fatal(err)
	}
	if owners, _ := s.owner(t, "sys"); owners != nil {
		t.Errorf("owner of an unowned Subscription after a user's update with a forged tag: %v, want none", owners)
	}
	if _, err := s.Read(as(p2w), "Subscription", "sys"); status(err) != 404 {
		t.Errorf("p2 reads the Subscription a user tried to give it: %v, want 404", err)
	}
}
