package auth

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// scopeCases are scopes from SMART App Launch 2.2 ("Scopes for requesting
// clinical data", the v1 compatibility table) and malformed ones.
var scopeCases = []struct {
	in   string
	want Scope
	ok   bool
}{
	{"patient/Observation.rs", Scope{Level: "patient", Type: "Observation", Perms: "rs"}, true},
	{"user/*.cruds", Scope{Level: "user", Type: "*", Perms: "cruds"}, true},
	{"system/*.rs", Scope{Level: "system", Type: "*", Perms: "rs"}, true},
	{"patient/Patient.r", Scope{Level: "patient", Type: "Patient", Perms: "r"}, true},
	{"user/Encounter.cu", Scope{Level: "user", Type: "Encounter", Perms: "cu"}, true},
	{"patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs",
		Scope{Level: "patient", Type: "Observation", Perms: "rs", Query: "category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"}, true},
	// v1 forms and their v2 equivalents (read = rs, write = cud, * = cruds).
	{"patient/Observation.read", Scope{Level: "patient", Type: "Observation", Perms: "rs"}, true},
	{"user/*.write", Scope{Level: "user", Type: "*", Perms: "cud"}, true},
	{"user/*.*", Scope{Level: "user", Type: "*", Perms: "cruds"}, true},
	// Malformed.
	{"patient/Observation.sr", Scope{}, false},  // out of order
	{"patient/Observation.rrs", Scope{}, false}, // repeated
	{"patient/Observation.", Scope{}, false},    // no permission
	{"patient/Observation.x", Scope{}, false},
	{"patient/Observation", Scope{}, false},
	{"patient/Banana.rs", Scope{}, false}, // not a resource type
	{"patient/observation.rs", Scope{}, false},
	{"group/*.rs", Scope{}, false},
	{"Observation.rs", Scope{}, false},
	{"user/*.rs?", Scope{}, false},
	{"openid", Scope{}, false},
	{"", Scope{}, false},
}

func TestParseScope(t *testing.T) {
	for _, c := range scopeCases {
		got, err := ParseScope(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseScope(%q) error = %v, want ok %v", c.in, err, c.ok)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("ParseScope(%q) (-want +got):\n%s", c.in, diff)
		}
	}
}

func TestParseScopeList(t *testing.T) {
	list := "openid fhirUser launch/patient patient/Observation.read email user/Banana.rs"
	got, err := parseScopeList(list, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []Scope{{Level: "patient", Type: "Observation", Perms: "rs"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lenient (-want +got):\n%s", diff)
	}
	if _, err := parseScopeList(list, true); err == nil {
		t.Error("strict parse accepted email and user/Banana.rs")
	}
}

func TestRoleScopes(t *testing.T) {
	// The documented table.
	want := map[string]string{
		"admin": "user/*.cruds", "clinician": "user/*.crus",
		"researcher": "user/*.rs", "patient": "patient/*.rs",
	}
	for role, w := range want {
		if got, ok := RoleScopes(role); !ok || got != w {
			t.Errorf("RoleScopes(%q) = %q, %v; want %q", role, got, ok, w)
		}
	}
	if _, ok := RoleScopes("janitor"); ok {
		t.Error("RoleScopes accepted an unknown role")
	}
}

// FuzzParseScope checks that a parsed scope prints in a v2 form that
// parses back to the same scope.
func FuzzParseScope(f *testing.F) {
	for _, c := range scopeCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseScope(in)
		if err != nil {
			return
		}
		back, err := ParseScope(s.String())
		if err != nil {
			t.Fatalf("ParseScope(%q).String() = %q does not parse: %v", in, s, err)
		}
		if back != s {
			t.Fatalf("round trip of %q: %+v, then %+v", in, s, back)
		}
		if !validPerms(s.Perms) {
			t.Fatalf("ParseScope(%q) perms %q are not v2", in, s.Perms)
		}
	})
}

func ExampleParseScope() {
	s, err := ParseScope("patient/Observation.read")
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Level, s.Type, s.Perms, s)
	// Output: patient Observation rs patient/Observation.rs
}
