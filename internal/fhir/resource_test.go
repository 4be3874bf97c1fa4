package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// refsDir is the shared FHIR reference corpus of the project's machines
// (see testdata/README.md); tests that use it skip when it is absent.
const refsDir = "../../../shared/refs/fhir"

// decodeStd decodes JSON with encoding/json and UseNumber, the reference
// against which our decoder and encoder are compared.
func decodeStd(t testing.TB, data []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return v
}

// jsonFiles lists the .json files under dir, recursively.
func jsonFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".json") && !strings.HasSuffix(path, "json-patch-tests.json") && filepath.Base(path) != "package.json" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkRoundTrip parses a file, marshals it back and compares both
// documents decoded by encoding/json; json.Number values compare as text,
// so decimals must keep their exact text.
func checkRoundTrip(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: Parse: %v", path, err)
	}
	out, err := r.MarshalJSON()
	if err != nil {
		t.Fatalf("%s: MarshalJSON: %v", path, err)
	}
	// reflect.DeepEqual first: cmp.Diff is slow on megabyte bundles.
	if a, b := decodeStd(t, data), decodeStd(t, out); !reflect.DeepEqual(a, b) {
		t.Errorf("%s: round trip differs (-original +marshalled):\n%s", path, cmp.Diff(a, b))
	}
	if want, _ := decodeStd(t, data).(map[string]any)["id"].(string); r.ID != want {
		t.Errorf("%s: ID = %q, want %q", path, r.ID, want)
	}
}

func TestRoundTripTestdata(t *testing.T) {
	files := jsonFiles(t, "testdata")
	if len(files) < 40 {
		t.Fatalf("found %d testdata files, want at least 40", len(files))
	}
	for _, f := range files {
		checkRoundTrip(t, f)
	}
}

// TestRoundTripRefs runs the round trip on the whole shared corpus: every
// official R4 example (instances and bundles) and every Synthea bundle.
func TestRoundTripRefs(t *testing.T) {
	if _, err := os.Stat(refsDir); err != nil {
		t.Skipf("shared FHIR corpus %s not present (only on the project's machines): %v", refsDir, err)
	}
	n := 0
	for _, dir := range []string{"r4-examples/instances", "r4-examples/bundles", "synthea-r4"} {
		for _, f := range jsonFiles(t, filepath.Join(refsDir, dir)) {
			checkRoundTrip(t, f)
			n++
		}
	}
	// 676 instances + 30 bundles + 12 Synthea bundles (refs README).
	if n != 718 {
		t.Errorf("round-tripped %d files, want 718", n)
	}
}

func TestDecimalTextKept(t *testing.T) {
	// testdata/instances/Observation-decimal.json, component[*].valueQuantity.value
	data, err := os.ReadFile("testdata/instances/Observation-decimal.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range r.Tree["component"].([]any) {
		got = append(got, string(c.(map[string]any)["valueQuantity"].(map[string]any)["value"].(json.Number)))
	}
	want := []string{"1.0", "1.00", "1.0", "1E-22", "1000000000000000000", "1.000000000000000000E-245", "-1.000000000000000000E+245"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decimals (-want +got):\n%s", diff)
	}
	out, _ := r.MarshalJSON()
	for _, w := range want {
		if !bytes.Contains(out, []byte(`"unit":"g","value":`+w+`}`)) {
			t.Errorf("marshalled JSON lacks value %s", w)
		}
	}
}

func TestMarshalForm(t *testing.T) {
	r, err := Parse([]byte(`{"id":"x","resourceType":"Patient","name":[{"text":"<b>&\u2028\u00e9\"\\\n"}],"_birthDate":{"extension":[{"url":"u","valueBoolean":true}]},"a":null}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.MarshalJSON()
	want := `{"resourceType":"Patient","_birthDate":{"extension":[{"url":"u","valueBoolean":true}]},"a":null,"id":"x","name":[{"text":"<b>&\u2028é\"\\\n"}]}`
	if string(got) != want {
		t.Errorf("MarshalJSON =\n%s\nwant\n%s", got, want)
	}
}

func TestParseBOM(t *testing.T) {
	r, err := Parse([]byte("\xef\xbb\xbf{\"resourceType\":\"Patient\",\"id\":\"p\"}"))
	if err != nil || r.ID != "p" {
		t.Errorf("Parse with a byte order mark = %+v, %v", r, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     Issue
	}{
		{"empty", ``, Issue{Severity: "error", Code: "structure", Diagnostics: "invalid JSON at line 1 column 1: unexpected end of JSON input"}},
		{"array root", `[]`, Issue{Severity: "error", Code: "structure", Diagnostics: "a resource must be a JSON object"}},
		{"trailing data", `{"resourceType":"Patient"} {}`, Issue{Severity: "error", Code: "structure", Diagnostics: "invalid JSON at line 1 column 28: unexpected data after the top-level value"}},
		{"missing resourceType", `{"id":"a"}`, Issue{Severity: "error", Code: "required", Diagnostics: "resourceType is missing", Expression: []string{"resourceType"}}},
		{"resourceType not a string", `{"resourceType":1}`, Issue{Severity: "error", Code: "structure", Diagnostics: "resourceType must be a string", Expression: []string{"resourceType"}}},
		{"unknown resourceType", `{"resourceType":"DomainResource"}`, Issue{Severity: "error", Code: "not-supported", Diagnostics: `unknown resource type "DomainResource"`, Expression: []string{"resourceType"}}},
		{"id not a string", `{"resourceType":"Patient","id":7}`, Issue{Severity: "error", Code: "structure", Diagnostics: "id must be a string", Expression: []string{"Patient.id"}}},
		{"duplicate key", `{"resourceType":"Patient","id":"a","id":"b"}`, Issue{Severity: "error", Code: "structure", Diagnostics: "invalid JSON at line 1 column 36: duplicate object key", Expression: []string{"Patient.id"}}},
		{"nested syntax error", "{\"resourceType\":\"Observation\",\n \"subject\":{\"reference\":}}", Issue{Severity: "error", Code: "structure", Diagnostics: "invalid JSON at line 2 column 25: invalid character '}' looking for the beginning of a value", Expression: []string{"Observation.subject.reference"}}},
		{"error in array", `{"resourceType":"Patient","name":[{},{"given":["a",01]}]}`, Issue{Severity: "error", Code: "structure", Diagnostics: "invalid JSON at line 1 column 53: expected ',' or ']' after an array element", Expression: []string{"Patient.name[1].given"}}},
		{"invalid UTF-8", "{\"resourceType\":\"Patient\",\"x\":\"\xff\"}", Issue{Severity: "error", Code: "structure", Diagnostics: "invalid JSON at line 1 column 32: invalid UTF-8 in a string", Expression: []string{"Patient.x"}}},
		{"control character", "{\"x\":\"a\tb\"}", Issue{Severity: "error", Code: "structure", Diagnostics: "invalid JSON at line 1 column 8: control character 0x09 in a string", Expression: []string{"$.x"}}},
		{"bad number", `{"resourceType":"Patient","x":1.}`, Issue{Severity: "error", Code: "structure", Diagnostics: "invalid JSON at line 1 column 33: invalid number: no digits after the decimal point", Expression: []string{"Patient.x"}}},
		{"bad literal", `{"resourceType":"Patient","active":tru}`, Issue{Severity: "error", Code: "structure", Diagnostics: "invalid JSON at line 1 column 36: invalid literal, expected true", Expression: []string{"Patient.active"}}},
		{"deep nesting", `{"resourceType":"Patient","x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, Issue{Severity: "error", Code: "structure", Diagnostics: "invalid JSON at line 1 column 542: JSON nested deeper than 512 levels", Expression: []string{"Patient.x" + strings.Repeat("[0]", 511)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error = %v, want *Error", err)
			}
			if fe.Status != 400 {
				t.Errorf("Status = %d, want 400", fe.Status)
			}
			if diff := cmp.Diff([]Issue{tt.want}, fe.Issues); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStrings(t *testing.T) {
	// Escapes as RFC 8259 §7 defines them; a lone surrogate becomes U+FFFD
	// as in encoding/json.
	r, err := Parse([]byte(`{"resourceType":"Basic","s":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x","n":-0.0e+5}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Tree["s"], "\"\\/\b\f\n\r\té😀\ufffdx"; got != want {
		t.Errorf("s = %q, want %q", got, want)
	}
	if got, want := r.Tree["n"], json.Number("-0.0e+5"); got != want {
		t.Errorf("n = %q, want %q", got, want)
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Status: 400, Issues: []Issue{
		{Severity: "error", Code: "required", Diagnostics: "required element is missing", Expression: []string{"Observation.status"}},
		{Severity: "error", Code: "value", Diagnostics: "bad"},
	}}
	if got, want := e.Error(), "fhir: Observation.status: required element is missing; bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestOperationOutcome(t *testing.T) {
	got := string(OperationOutcome(Issue{Severity: "error", Code: "required", Diagnostics: "required element is missing", Expression: []string{"Observation.status"}}))
	want := `{"resourceType":"OperationOutcome","issue":[{"code":"required","diagnostics":"required element is missing","expression":["Observation.status"],"severity":"error"}]}`
	if got != want {
		t.Errorf("OperationOutcome =\n%s\nwant\n%s", got, want)
	}
	got = string(OperationOutcome())
	want = `{"resourceType":"OperationOutcome","issue":[{"code":"informational","diagnostics":"All OK","severity":"information"}]}`
	if got != want {
		t.Errorf("OperationOutcome() =\n%s\nwant\n%s", got, want)
	}
	if _, err := Parse(OperationOutcome()); err != nil {
		t.Errorf("OperationOutcome does not parse: %v", err)
	}
}
