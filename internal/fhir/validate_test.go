package fhir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// knownInvalid lists the official R4 examples that break R4 rules (refs
// README "Known quirks"), with the first issue Validate must report.
var knownInvalid = map[string]Issue{
	"DeviceMetric-example.json": {Code: "value", Expression: []string{"DeviceMetric.parent.reference"},
		Diagnostics: "a reference to DeviceDefinition is not allowed here (allowed: Device)"},
	"DeviceUseStatement-example.json": {Code: "value", Expression: []string{"DeviceUseStatement.reasonReference[0].reference"},
		Diagnostics: "a reference to Procedure is not allowed here (allowed: Condition, Observation, DiagnosticReport, DocumentReference, Media)"},
	"MedicationRequest-medrx0301.json": {Code: "value", Expression: []string{"MedicationRequest.dispenseRequest.performer.reference"},
		Diagnostics: "a reference to Practitioner is not allowed here (allowed: Organization)"},
	"Observation-clinical-gender.json": {Code: "value", Expression: []string{"Observation.performer[0].reference"},
		Diagnostics: "a reference to Encounter is not allowed here (allowed: Practitioner, PractitionerRole, Organization, CareTeam, Patient, RelatedPerson)"},
	"Questionnaire-qs1.json": {Code: "required", Expression: []string{"Questionnaire.item[0].item[0].linkId"},
		Diagnostics: "required element is missing"},
}

// validateFile parses and validates one file; it returns the issues.
func validateFile(t *testing.T, path string) []Issue {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	err = Validate(r)
	if err == nil {
		return nil
	}
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != 400 {
		t.Fatalf("%s: Validate error %v, want *Error with status 400", path, err)
	}
	return fe.Issues
}

func checkKnownInvalid(t *testing.T, path string, issues []Issue) {
	t.Helper()
	want, bad := knownInvalid[filepath.Base(path)]
	switch {
	case !bad && issues != nil:
		t.Errorf("%s: unexpected issues: %v", path, &Error{Issues: issues})
	case bad && issues == nil:
		t.Errorf("%s: no issues, want %v", path, want)
	case bad:
		want.Severity = "error"
		if diff := cmp.Diff(want, issues[0]); diff != "" {
			t.Errorf("%s: first issue (-want +got):\n%s", path, diff)
		}
	}
}

func TestValidateTestdata(t *testing.T) {
	seen := 0
	for _, f := range jsonFiles(t, "testdata") {
		issues := validateFile(t, f)
		checkKnownInvalid(t, f, issues)
		if _, bad := knownInvalid[filepath.Base(f)]; bad {
			seen++
		}
	}
	if seen != len(knownInvalid) {
		t.Errorf("testdata holds %d of the %d known-invalid examples", seen, len(knownInvalid))
	}
	// Questionnaire-qs1.json: 32 nested items have no linkId (counted in
	// the file); the last is item[0].item[19].item[0].
	issues := validateFile(t, "testdata/instances/Questionnaire-qs1.json")
	if len(issues) != 32 || issues[31].Expression[0] != "Questionnaire.item[0].item[19].item[0].linkId" {
		t.Errorf("Questionnaire-qs1: %d issues, last %v; want 32, the last at item[0].item[19].item[0].linkId", len(issues), issues[len(issues)-1])
	}
}

// TestValidateRefs validates every official example and Synthea bundle:
// only the five known-invalid examples may fail.
func TestValidateRefs(t *testing.T) {
	if _, err := os.Stat(refsDir); err != nil {
		t.Skipf("shared FHIR corpus %s not present (only on the project's machines): %v", refsDir, err)
	}
	for _, dir := range []string{"r4-examples/instances", "r4-examples/bundles", "synthea-r4"} {
		for _, f := range jsonFiles(t, filepath.Join(refsDir, dir)) {
			checkKnownInvalid(t, f, validateFile(t, f))
		}
	}
}

func TestValidate(t *testing.T) {
	issue := func(code, diag, expr string) Issue {
		return Issue{Severity: "error", Code: code, Diagnostics: diag, Expression: []string{expr}}
	}
	const obs = `"status":"final","code":{"text":"x"}`
	tests := []struct {
		name, in string
		want     []Issue
	}{
		{"minimal patient", `{"resourceType":"Patient"}`, nil},
		{"id with allowed characters", `{"resourceType":"Patient","id":"A-z.09"}`, nil},
		{"id too long", `{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`,
			[]Issue{issue("value", "id must be 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'", "Patient.id")}},
		{"id with underscore", `{"resourceType":"Patient","id":"a_b"}`,
			[]Issue{issue("value", "id must be 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'", "Patient.id")}},
		{"missing required", `{"resourceType":"Observation"}`, []Issue{
			issue("required", "required element is missing", "Observation.status"),
			issue("required", "required element is missing", "Observation.code"),
		}},
		{"required primitive given by its sidecar", `{"resourceType":"Observation","_status":{"extension":[{"url":"http://example.org/x","valueCode":"final"}]},"code":{"text":"x"}}`, nil},
		{"required choice", `{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/1"},"prediction":[{"probabilityDecimal":0.5}]}`, nil},
		{"missing required choice", `{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"group","enableWhen":[{"question":"q","operator":"exists"}]}]}`,
			[]Issue{issue("required", "required element is missing", "Questionnaire.item[0].enableWhen[0].answer[x]")}},
		{"array for a single element", `{"resourceType":"Observation",` + obs + `,"subject":[{"reference":"Patient/1"}]}`,
			[]Issue{issue("structure", "element does not repeat and must not be a JSON array", "Observation.subject")}},
		{"object for a repeating element", `{"resourceType":"Observation",` + obs + `,"category":{"text":"x"}}`,
			[]Issue{issue("structure", "element repeats and must be a JSON array", "Observation.category")}},
		{"empty array and object", `{"resourceType":"Patient","name":[],"maritalStatus":{}}`, []Issue{
			issue("structure", "arrays must not be empty", "Patient.name"),
			issue("structure", "objects must not be empty", "Patient.maritalStatus"),
		}},
		{"primitive JSON types", `{"resourceType":"Patient","active":"true","multipleBirthInteger":1.5,"gender":7,"birthDate":""}`, []Issue{
			issue("value", "boolean must be a JSON true or false", "Patient.active"),
			issue("value", "code must be a JSON string", "Patient.gender"),
			issue("value", "strings must not be empty", "Patient.birthDate"),
			issue("value", "integer must be a JSON integer", "Patient.multipleBirthInteger"),
		}},
		{"decimal as string and positiveInt zero", `{"resourceType":"Observation",` + obs + `,"valueQuantity":{"value":"1.5"},"component":[{"code":{"text":"c"},"valueSampledData":{"origin":{"value":1},"period":1,"dimensions":0}}]}`, []Issue{
			issue("value", "decimal must be a JSON number", "Observation.valueQuantity.value"),
			issue("value", "positiveInt is out of range", "Observation.component[0].valueSampledData.dimensions"),
		}},
		{"primitive formats", `{"resourceType":"Observation","status":"final ","code":{"coding":[{"system":"http://x y"}]},"effectiveDateTime":"2013-01-01T10:00:00","issued":"2013-01-01T10:00Z","valueTime":"25:00:00","subject":{"reference":"Patient/1"},"meta":{"lastUpdated":"2013-01-01T10:00:00.123+14:00"},"component":[{"code":{"text":"x"},"valueDateTime":"2013-02-30"},{"code":{"text":"x"},"valueDateTime":"2013-13"}]}`, []Issue{
			issue("value", "not a valid code (R4 pattern "+primitivePatterns["code"]+")", "Observation.status"),
			issue("value", "not a valid uri (R4 pattern "+primitivePatterns["uri"]+")", "Observation.code.coding[0].system"),
			issue("value", "not a valid dateTime (R4 pattern "+primitivePatterns["dateTime"]+")", "Observation.effectiveDateTime"),
			issue("value", "not a valid instant (R4 pattern "+primitivePatterns["instant"]+")", "Observation.issued"),
			issue("value", "not a valid time (R4 pattern "+primitivePatterns["time"]+")", "Observation.valueTime"),
			// 2013-02-30 matches the R4 pattern, which does not know month lengths.
			issue("value", "not a valid dateTime (R4 pattern "+primitivePatterns["dateTime"]+")", "Observation.component[1].valueDateTime"),
		}},
		{"good formats", `{"resourceType":"Patient","birthDate":"1974","deceasedDateTime":"2015-02-07T13:28:17.239+02:00","meta":{"lastUpdated":"2015-02-07T13:28:17Z","source":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"},"photo":[{"data":"aGVsbG8="}]}`, nil},
		{"two types of a choice", `{"resourceType":"Observation",` + obs + `,"valueString":"a","valueBoolean":true}`,
			[]Issue{issue("structure", "only one type of value[x] may be present", "Observation.value[x]")}},
		{"choice sidecar alone", `{"resourceType":"Observation",` + obs + `,"_valueString":{"extension":[{"url":"http://example.org/x","valueCode":"masked"}]}}`, nil},
		{"sidecar of the wrong shape", `{"resourceType":"Patient","_birthDate":[{}],"name":[{"_given":{}}]}`, []Issue{
			issue("structure", "the extension sidecar of a repeating primitive must be an array", "Patient.name[0]._given"),
			issue("structure", "the extension sidecar of a primitive must be an object", "Patient._birthDate"),
		}},
		{"null outside an array", `{"resourceType":"Patient","gender":null}`,
			[]Issue{issue("structure", "null is allowed only inside arrays of primitives with extensions", "Patient.gender")}},
		{"null aligned with a sidecar", `{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"extension":[{"url":"http://example.org/x","valueString":"b"}]}]}]}`, nil},
		{"extension without url", `{"resourceType":"Patient","extension":[{"valueString":"b"}]}`,
			[]Issue{issue("required", "required element is missing", "Patient.extension[0].url")}},
		{"good references", `{"resourceType":"Observation",` + obs + `,"subject":{"reference":"Patient/1"},"encounter":{"reference":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"},"device":{"reference":"#dev"},"focus":[{"reference":"http://example.org/fhir/Group/g1/_history/2"},{"reference":"urn:oid:1.2.3"},{"reference":"Patient/1/_history/3"},{"reference":"Patient?identifier=http://x|1"},{"identifier":{"value":"logical"}}],"hasMember":[{"reference":"https://example.org/fhir/Observation/o.1"}],"performer":[{"reference":"https://example.org/some/thing"}]}`, nil},
		{"malformed references", `{"resourceType":"Observation",` + obs + `,"focus":[{"reference":"Patient"},{"reference":"Patient/a_b"},{"reference":"Foo/1"},{"reference":"urn:uuid:123"},{"reference":"Patient?"},{"reference":"a b"}]}`, []Issue{
			issue("value", "reference must be Type/id, Type?query, an absolute URL, urn:uuid:, urn:oid: or #id", "Observation.focus[0].reference"),
			issue("value", "reference must be Type/id, Type?query, an absolute URL, urn:uuid:, urn:oid: or #id", "Observation.focus[1].reference"),
			issue("value", "reference must be Type/id, Type?query, an absolute URL, urn:uuid:, urn:oid: or #id", "Observation.focus[2].reference"),
			issue("value", "reference must be Type/id, Type?query, an absolute URL, urn:uuid:, urn:oid: or #id", "Observation.focus[3].reference"),
			issue("value", "reference must be Type/id, Type?query, an absolute URL, urn:uuid:, urn:oid: or #id", "Observation.focus[4].reference"),
			issue("value", "reference must be Type/id, Type?query, an absolute URL, urn:uuid:, urn:oid: or #id", "Observation.focus[5].reference"),
		}},
		{"reference targets", `{"resourceType":"Observation",` + obs + `,"subject":{"reference":"Practitioner/1"},"hasMember":[{"reference":"http://x.org/fhir/Patient/1"}],"encounter":{"reference":"Encounter/1","type":"Patient"}}`, []Issue{
			issue("value", "a reference to Practitioner is not allowed here (allowed: Patient, Group, Device, Location)", "Observation.subject.reference"),
			issue("value", "Reference.type does not match the type in the reference", "Observation.encounter.reference"),
			issue("value", "a reference to Patient is not allowed here (allowed: Observation, QuestionnaireResponse, MolecularSequence)", "Observation.hasMember[0].reference"),
		}},
		{"contained and bundled resources", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","id":"a b","contained":[{"resourceType":"Nope"}],` + obs + `}}]}`, []Issue{
			issue("value", "id must be 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'", "Bundle.entry[0].resource.id"),
			issue("not-supported", `unknown resource type "Nope"`, "Bundle.entry[0].resource.contained[0].resourceType"),
		}},
		{"unknown elements are kept and not reported", `{"resourceType":"Patient","fooBar":{"x":1},"_baz":[1]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []Issue
			if err := Validate(r); err != nil {
				got = err.(*Error).Issues
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateTypeMismatch(t *testing.T) {
	r := &Resource{Type: "Patient", Tree: map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "x"}}}
	err := Validate(r)
	want := []Issue{{Severity: "error", Code: "invariant", Diagnostics: "resourceType does not match the resource's type", Expression: []string{"Patient.resourceType"}}}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("Validate = %v, want *Error", err)
	}
	if diff := cmp.Diff(want, fe.Issues); diff != "" {
		t.Errorf("issues (-want +got):\n%s", diff)
	}
}

func TestResourceTypes(t *testing.T) {
	// R4 has 146 concrete resource types: 143 DomainResources plus Binary,
	// Bundle and Parameters (profiles-resources.json, abstract=false).
	types := ResourceTypes()
	if len(types) != 146 {
		t.Errorf("%d resource types, want 146", len(types))
	}
	for _, name := range []string{"Patient", "Observation", "Bundle", "Binary", "Parameters", "MolecularSequence", "VerificationResult"} {
		if !IsResourceType(name) {
			t.Errorf("IsResourceType(%q) = false", name)
		}
	}
	for _, name := range []string{"Resource", "DomainResource", "patient", "Quantity", ""} {
		if IsResourceType(name) {
			t.Errorf("IsResourceType(%q) = true", name)
		}
	}
}
