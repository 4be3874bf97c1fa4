package fhirpath

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTypeTable checks entries of the generated table against the R4
// StructureDefinitions (values read from the spec pages of each type).
func TestTypeTable(t *testing.T) {
	tests := []struct {
		def, name, typ, childDef string
	}{
		{"Patient", "birthDate", "date", ""},
		{"Patient", "gender", "code", ""},
		{"Observation", "subject", "Reference", ""},
		{"Observation", "code", "CodeableConcept", ""},
		{"Observation", "component", "BackboneElement", "Observation.component"},
		{"Observation.component", "code", "CodeableConcept", ""},
		{"Observation.component", "referenceRange", "BackboneElement", "Observation.referenceRange"},
		{"Observation.component", "extension", "Extension", ""}, // from Element
		{"Observation", "meta", "Meta", ""},                     // from Resource
		{"Observation", "contained", "Resource", ""},            // from DomainResource
		{"Questionnaire.item", "item", "BackboneElement", "Questionnaire.item"},
		{"Age", "value", "decimal", ""},
		{"HumanName", "given", "string", ""},
		{"Patient", "deceased", "", ""}, // a choice element: see below
		{"Patient", "nonsense", "", ""},
	}
	for _, tt := range tests {
		typ, cd := elementType(tt.def, tt.name)
		if typ != tt.typ || cd != tt.childDef {
			t.Errorf("elementType(%q, %q) = %q, %q; want %q, %q", tt.def, tt.name, typ, cd, tt.typ, tt.childDef)
		}
	}
	e, _ := table().lookup("Patient", "deceased")
	want := []choice{{"boolean", "deceasedBoolean", "_deceasedBoolean"}, {"dateTime", "deceasedDateTime", "_deceasedDateTime"}}
	if diff := cmp.Diff(want, e.choices, cmp.AllowUnexported(choice{})); diff != "" {
		t.Errorf("Patient.deceased[x] (-want +got):\n%s", diff)
	}
	for typ, base := range map[string]string{"Age": "Quantity", "Patient": "DomainResource", "DomainResource": "Resource", "Bundle": "Resource", "code": "string", "Resource": ""} {
		if got := baseType(typ); got != base {
			t.Errorf("baseType(%q) = %q, want %q", typ, got, base)
		}
	}
}
