package auth

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/doppelhealth/doppel/internal/fhir"
)

// principal returns a principal holding scopes (strictly parsed) with
// patient as launch context.
func principal(t *testing.T, scopes, patient string) *Principal {
	t.Helper()
	sc, err := parseScopeList(scopes, true)
	if err != nil {
		t.Fatal(err)
	}
	return &Principal{Subject: "u1", Patient: patient, Scopes: sc}
}

// status returns the HTTP status of an access decision: 200 for nil, else
// the *fhir.Error's.
func status(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return http.StatusOK
	}
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *fhir.Error", err)
	}
	return fe.Status
}

func TestCheck(t *testing.T) {
	const (
		ok        = http.StatusOK
		forbidden = http.StatusForbidden
		p1        = "Patient/p1"
	)
	cases := []struct {
		scopes, patient            string
		kind, typ, id, compartment string
		want                       int
		sec                        string
	}{
		// SEC-03: patient/Observation.rs reads and searches Observations
		// only, and writes nothing.
		{"patient/Observation.rs", "p1", "read", "Observation", "o1", p1, ok, "SEC-03"},
		{"patient/Observation.rs", "p1", "vread", "Observation", "o1", p1, ok, "SEC-03"},
		{"patient/Observation.rs", "p1", "search-type", "Observation", "", p1, ok, "SEC-03"},
		{"patient/Observation.rs", "p1", "create", "Observation", "", p1, forbidden, "SEC-03"},
		{"patient/Observation.rs", "p1", "update", "Observation", "o1", p1, forbidden, "SEC-03"},
		{"patient/Observation.rs", "p1", "patch", "Observation", "o1", p1, forbidden, "SEC-03"},
		{"patient/Observation.rs", "p1", "delete", "Observation", "o1", p1, forbidden, "SEC-03"},
		{"patient/Observation.rs", "p1", "read", "Condition", "c1", p1, forbidden, "SEC-03"},
		{"patient/Observation.rs", "p1", "search-type", "Condition", "", p1, forbidden, "SEC-03"},
		// SEC-02: a patient-level token stays in its patient's compartment.
		{"patient/*.rs", "p1", "read", "Patient", "p1", "", ok, "SEC-02"},
		{"patient/*.rs", "p1", "read", "Patient", "p2", "", forbidden, "SEC-02"},
		{"patient/*.rs", "p1", "read", "Observation", "o1", "", forbidden, "SEC-02"},
		{"patient/*.rs", "p1", "search-type", "Observation", "", "", forbidden, "SEC-02"},
		{"patient/*.rs", "p1", "search-type", "Observation", "", "Patient/p2", forbidden, "SEC-02"},
		{"patient/*.rs", "p1", "search-system", "", "", "", forbidden, "SEC-02"},
		{"patient/*.rs", "p1", "$everything", "Patient", "p1", p1, ok, "SEC-02"},
		{"patient/*.rs", "p1", "$everything", "Patient", "p2", "Patient/p2", forbidden, "SEC-02"},
		{"patient/*.rs", "p1", "$export", "", "", "", forbidden, "SEC-02"},
		{"patient/*.rs", "p1", "$export", "Patient", "", p1, forbidden, "SEC-02"},
		{"patient/*.rs", "p1", "$export-file", "", "", "", forbidden, "SEC-02"},
		{"patient/*.rs", "p1", "transaction", "", "", "", forbidden, "SEC-02"},
		{"patient/Observation.rs", "p1", "$everything", "Patient", "p1", p1, forbidden, "SEC-02"},
		// A user-level scope is not confined; a mixed token keeps it.
		{"patient/*.rs user/Observation.rs", "p1", "search-type", "Observation", "", "", ok, "SEC-02"},
		{"patient/*.rs user/Observation.rs", "p1", "search-type", "Condition", "", "", forbidden, "SEC-02"},
		// Writes need write scopes.
		{"user/*.rs", "", "create", "Observation", "", "", forbidden, "SEC-03"},
		{"user/*.rs", "", "update", "Patient", "p1", "", forbidden, "SEC-03"},
		{"user/*.rs", "", "delete", "Patient", "p1", "", forbidden, "SEC-03"},
		{"user/*.rs", "", "transaction", "", "", "", forbidden, "SEC-03"},
		{"user/*.rs", "", "read", "Patient", "p2", "", ok, "SEC-03"},
		{"user/*.rs", "", "search-system", "", "", "", ok, "SEC-03"},
		{"user/*.rs", "", "$export", "", "", "", ok, "SEC-03"},
		{"user/*.crus", "", "delete", "Patient", "p1", "", forbidden, "SEC-03"},
		{"user/*.crus", "", "update", "Patient", "p1", "", ok, "SEC-03"},
		{"user/*.cruds", "", "delete", "Patient", "p1", "", ok, "SEC-03"},
		{"user/*.cruds", "", "transaction", "", "", "", ok, "SEC-03"},
		{"system/*.cruds", "", "transaction", "", "", "", ok, "SEC-03"},
		{"user/Observation.write", "", "create", "Observation", "", "", ok, "SEC-03"},
		{"user/Observation.write", "", "read", "Observation", "o1", "", forbidden, "SEC-03"},
		{"user/Observation.read", "", "search-type", "Observation", "", "", ok, "SEC-03"},
		{"user/Observation.rs", "", "search-system", "", "", "", forbidden, "SEC-03"},
		{"user/Observation.rs", "", "$export", "", "", "", forbidden, "SEC-03"},
		// Granular scopes grant nothing until they are enforced (SEC-04).
		{"user/Observation.rs?category=laboratory", "", "read", "Observation", "o1", "", forbidden, "SEC-04"},
		// The CapabilityStatement needs no scope; unknown kinds are denied.
		{"user/Observation.r", "", "capabilities", "", "", "", ok, "SEC-01"},
		{"user/*.cruds", "", "$frobnicate", "", "", "", forbidden, "SEC-03"},
		{"user/Observation.r", "", "unknown", "", "", "", ok, "SEC-01"},
	}
	for _, c := range cases {
		p := principal(t, c.scopes, c.patient)
		got := status(t, p.Check(c.kind, c.typ, c.id, c.compartment))
		if got != c.want {
			t.Errorf("%s: %q (patient %q) Check(%q, %q, %q, %q) = %d, want %d",
				c.sec, c.scopes, c.patient, c.kind, c.typ, c.id, c.compartment, got, c.want)
		}
	}
}

func TestAllowsCompartment(t *testing.T) {
	p := principal(t, "patient/Observation.rs patient/Patient.r", "p1")
	for _, c := range []struct {
		kind, typ string
		want      bool
	}{
		{"read", "Observation", true}, {"search-type", "Observation", true},
		{"create", "Observation", false}, {"read", "Patient", true},
		{"search-type", "Patient", false}, {"read", "Condition", false},
		{"frobnicate", "Observation", false},
	} {
		if got := p.Allows(c.kind, c.typ); got != c.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", c.kind, c.typ, got, c.want)
		}
	}
	if got := p.Compartment(); got != "Patient/p1" {
		t.Errorf("Compartment() = %q, want Patient/p1", got)
	}
	if got := principal(t, "user/*.rs", "p1").Compartment(); got != "" {
		t.Errorf("user-level Compartment() = %q, want \"\"", got)
	}
}

func TestFromContext(t *testing.T) {
	if _, err := FromContext(context.Background()); status(t, err) != http.StatusUnauthorized {
		t.Errorf("no principal: %v, want 401", err)
	}
	want := &Principal{Subject: "u1"}
	got, err := FromContext(NewContext(context.Background(), want))
	if err != nil || got != want {
		t.Errorf("FromContext(NewContext(p)) = %v, %v", got, err)
	}
}

func TestChallenge(t *testing.T) {
	a := newAuth(t, Options{})
	_, noToken := FromContext(context.Background())
	_, bad := a.Validate(context.Background(), "x.y.z")
	for _, c := range []struct {
		err  error
		want string
	}{
		{noToken, `Bearer realm="doppel"`},
		{bad, `Bearer realm="doppel", error="invalid_token"`},
		{principal(t, "user/*.rs", "").Check("create", "Patient", "", ""), `Bearer realm="doppel", error="insufficient_scope"`},
		{errors.New("other"), ""},
	} {
		if got := Challenge(c.err); got != c.want {
			t.Errorf("Challenge(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
