package search

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRegistryParam(t *testing.T) {
	r := newRegistry(t)
	tests := []struct {
		typ, code string
		ok        bool
		want      Param // Description and URL not compared
		supported bool
	}{
		{"Observation", "code", true, Param{Code: "code", Type: Token, Expression: "Observation.code"}, true},
		{"Patient", "address", true, Param{Code: "address", Type: String, Expression: "Patient.address"}, true},
		{"Person", "address", true, Param{Code: "address", Type: String, Expression: "Person.address"}, true},
		{"Observation", "value-quantity", true, Param{Code: "value-quantity", Type: Quantity,
			Expression: "(Observation.value as Quantity) | (Observation.value as SampledData)"}, true},
		{"Observation", "subject", true, Param{Code: "subject", Type: Reference, Expression: "Observation.subject",
			Target: []string{"Group", "Device", "Patient", "Location"}}, true},
		{"Observation", "patient", true, Param{Code: "patient", Type: Reference, // definition: Patient, Group
			Expression: "Observation.subject.where(resolve() is Patient)", Target: []string{"Patient"}}, true},
		{"Encounter", "practitioner", true, Param{Code: "practitioner", Type: Reference,
			Expression: "Encounter.participant.individual.where(resolve() is Practitioner)", Target: []string{"Practitioner"}}, true},
		{"Observation", "_id", true, Param{Code: "_id", Type: Token, Expression: "id"}, true},
		{"Observation", "_lastUpdated", true, Param{Code: "_lastUpdated", Type: Date, Expression: "meta.lastUpdated"}, true},
		{"Observation", "_tag", true, Param{Code: "_tag", Type: Token, Expression: "meta.tag"}, true},
		{"", "_profile", true, Param{Code: "_profile", Type: URI, Expression: "meta.profile"}, true},
		{"Patient", "_text", true, Param{Code: "_text", Type: String}, false},
		{"Binary", "_text", false, Param{}, false}, // Binary is not a DomainResource
		{"Binary", "_id", true, Param{Code: "_id", Type: Token, Expression: "id"}, true},
		{"Location", "near", true, Param{Code: "near", Type: Special, Expression: "Location.position"}, false},
		{"Observation", "code-value-quantity", true, Param{Code: "code-value-quantity", Type: Composite, Expression: "Observation",
			Components: []Component{
				{Definition: "http://hl7.org/fhir/SearchParameter/clinical-code", Code: "code", Expression: "code"},
				{Definition: "http://hl7.org/fhir/SearchParameter/Observation-value-quantity", Code: "value-quantity", Expression: "value.as(Quantity)"},
			}}, false},
		{"Observation", "name", false, Param{}, false},
		{"Nope", "code", false, Param{}, false},
		{"Nope", "_id", false, Param{}, false},
	}
	ignore := cmpopts.IgnoreFields(Param{}, "Description", "URL")
	for _, tc := range tests {
		p, ok := r.Param(tc.typ, tc.code)
		if ok != tc.ok {
			t.Errorf("Param(%q, %q): ok = %v, want %v", tc.typ, tc.code, ok, tc.ok)
			continue
		}
		if diff := cmp.Diff(tc.want, p, ignore, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Param(%q, %q) (-want +got):\n%s", tc.typ, tc.code, diff)
		}
		if ok && p.Supported() != tc.supported {
			t.Errorf("Param(%q, %q).Supported() = %v", tc.typ, tc.code, p.Supported())
		}
	}
}

// TestRegistryParams counts the parameters per type: the R4 definitions
// have 23 with base Patient and 38 with base Observation (counted with
// Python's json module on search-parameters.json), plus the 9 of
// Resource/DomainResource; Binary gets the 8 of Resource only.
func TestRegistryParams(t *testing.T) {
	r := newRegistry(t)
	for typ, want := range map[string]int{"Patient": 23 + 9, "Observation": 38 + 9, "Binary": 8, "": 9} {
		ps := r.Params(typ)
		if len(ps) != want {
			t.Errorf("Params(%q): %d parameters, want %d", typ, len(ps), want)
		}
		for i := 1; i < len(ps); i++ {
			if ps[i-1].Code >= ps[i].Code {
				t.Errorf("Params(%q) not sorted by code at %q", typ, ps[i].Code)
			}
		}
	}
}

func TestCompartmentParams(t *testing.T) {
	r := newRegistry(t)
	// From CompartmentDefinition-patient.json.
	for typ, want := range map[string][]string{
		"Observation":       {"subject", "performer"},
		"Encounter":         {"patient"},
		"Patient":           {"link"},
		"MedicationRequest": {"subject"},
		"Organization":      nil,
		"Nope":              nil,
	} {
		if diff := cmp.Diff(want, r.CompartmentParams(typ)); diff != "" {
			t.Errorf("CompartmentParams(%q) (-want +got):\n%s", typ, diff)
		}
	}
}

func TestRestrict(t *testing.T) {
	tests := []struct {
		expr, typ string
		bases     []string
		want      string
	}{
		{"Patient.name", "Patient", []string{"Patient"}, "Patient.name"},
		{"Patient.address | Person.address | Practitioner.address", "Person", []string{"Patient", "Person", "Practitioner"}, "Person.address"},
		{"(Observation.value as Quantity) | (Observation.value as SampledData)", "Observation", []string{"Observation"},
			"(Observation.value as Quantity) | (Observation.value as SampledData)"},
		{"Patient.telecom.where(system='phone') | Person.telecom.where(system='phone')", "Person", []string{"Patient", "Person"},
			"Person.telecom.where(system='phone')"},
		{"A.x.where(y = 'a|b') | B.x", "A", []string{"A", "B"}, "A.x.where(y = 'a|b')"},
		{"Resource.meta.tag", "Resource", []string{"Resource"}, "meta.tag"},
		{"(RiskAssessment.occurrence as dateTime) | Encounter.period", "RiskAssessment", []string{"Encounter", "RiskAssessment"},
			"(RiskAssessment.occurrence as dateTime)"},
		{"", "Patient", []string{"Patient"}, ""},
	}
	for _, tc := range tests {
		if got := restrict(tc.expr, tc.typ, tc.bases); got != tc.want {
			t.Errorf("restrict(%q, %q) = %q, want %q", tc.expr, tc.typ, got, tc.want)
		}
	}
}

func TestPathRoot(t *testing.T) {
	tests := []struct{ branch, typ, want string }{
		{"Observation.code", "Observation", "code"},
		{"Observation.component.code", "Observation", "component"},
		{"(Observation.value as Quantity)", "Observation", "value"},
		{"Encounter.participant.individual.where(resolve() is Practitioner)", "Encounter", "participant"},
		{"Patient.telecom.where(system='phone')", "Patient", "telecom"},
		{"Condition.abatement.as(Age)", "Condition", "abatement"},
		{"meta.tag", "Observation", "meta"},
		{"meta.tag", "", "meta"},
		{"id", "Patient", "id"},
		{"Patient.deceased.exists() and Patient.deceased != false", "Patient", ""},
		{"Bundle.entry[0].resource", "Bundle", ""},
		{"(Observation.value as CodeableConcept).text", "Observation", ""},
		{"Observation.code.exists()", "Observation", ""},
		{"where(x)", "Observation", ""},
	}
	for _, tc := range tests {
		if got := pathRoot(tc.branch, tc.typ); got != tc.want {
			t.Errorf("pathRoot(%q, %q) = %q, want %q", tc.branch, tc.typ, got, tc.want)
		}
	}
}

// TestUnionBranches checks what evaluating union branches apart relies on:
// no branch of an R4 expression with several holds, outside parentheses
// and strings, an operator that binds less tightly than "|".
func TestUnionBranches(t *testing.T) {
	r := newRegistry(t)
	n := 0
	for typ, idx := range r.index {
		for _, p := range idx.params {
			if len(p.branches) < 2 {
				continue
			}
			for _, b := range p.branches {
				n++
				top := topLevel(b)
				for _, op := range []string{"=", "<", ">", "~", " and ", " or ", " xor ", " implies ", " in ", " contains "} {
					if strings.Contains(top, op) {
						t.Errorf("%s %s: branch %q has %q", typ, p.Code, b, op)
					}
				}
			}
		}
	}
	t.Logf("%d branches checked", n)
}

// topLevel blanks what is inside parentheses, brackets and quotes.
func topLevel(s string) string {
	b := []byte(s)
	depth := 0
	var quote byte
	for i, c := range b {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
			b[i] = '_'
		case c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case depth > 0:
			b[i] = '_'
		}
	}
	return string(b)
}

// TestCompartmentSearch: every Patient compartment parameter is a reference
// parameter of its type that accepts "Patient/<id>", so that the server can
// find a patient's resources with it ($everything, export, access checks).
func TestCompartmentSearch(t *testing.T) {
	r := newRegistry(t)
	n := 0
	for typ, params := range r.compartment {
		for _, code := range params {
			n++
			_, _, err := r.ParseQuery(typ, url.Values{code: {"Patient/123"}}, true, Limits{})
			if err != nil {
				t.Errorf("%s?%s=Patient/123: %v", typ, code, err)
			}
		}
	}
	t.Logf("%d compartment parameters", n)
}
