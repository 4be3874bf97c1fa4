package fhir

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// patchCase is one case of the JSON Patch test format
// (testdata/json-patch-tests.json, from FHIR/fhir-test-cases).
type patchCase struct {
	Comment  string          `json:"comment"`
	Doc      json.RawMessage `json:"doc"`
	Patch    json.RawMessage `json:"patch"`
	Expected json.RawMessage `json:"expected"`
	Error    string          `json:"error"`
	Disabled bool            `json:"disabled"`
}

func runPatchCase(t *testing.T, c patchCase) {
	t.Helper()
	got, err := ApplyJSONPatch(c.Doc, c.Patch)
	if c.Error != "" {
		if err == nil {
			t.Errorf("%s: no error, want %q; got %s", c.Comment, c.Error, got)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", c.Comment, err)
	}
	if diff := cmp.Diff(decodeStd(t, c.Expected), decodeStd(t, got)); diff != "" {
		t.Errorf("%s: (-want +got):\n%s", c.Comment, diff)
	}
}

func TestJSONPatchSuite(t *testing.T) {
	data, err := os.ReadFile("testdata/json-patch-tests.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []patchCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) != 16 {
		t.Fatalf("%d cases, want the 16 of the suite", len(cases))
	}
	for _, c := range cases {
		if c.Disabled {
			t.Errorf("%s: disabled cases are not expected in this suite", c.Comment)
			continue
		}
		runPatchCase(t, c)
	}
}

// TestJSONPatch covers what the suite does not: the rules of RFC 6902 §4
// and §5 and of RFC 6901 for pointers.
func TestJSONPatch(t *testing.T) {
	tests := []patchCase{
		{Comment: "replace the root", Doc: j(`{"a":1}`), Patch: j(`[{"op":"replace","path":"","value":[1]}]`), Expected: j(`[1]`)},
		{Comment: "add the root", Doc: j(`{"a":1}`), Patch: j(`[{"op":"add","path":"","value":{"b":2}}]`), Expected: j(`{"b":2}`)},
		{Comment: "add replaces an existing member", Doc: j(`{"a":1}`), Patch: j(`[{"op":"add","path":"/a","value":2}]`), Expected: j(`{"a":2}`)},
		{Comment: "add at the array end", Doc: j(`{"a":[1]}`), Patch: j(`[{"op":"add","path":"/a/1","value":2}]`), Expected: j(`{"a":[1,2]}`)},
		{Comment: "add past the array end", Doc: j(`{"a":[1]}`), Patch: j(`[{"op":"add","path":"/a/2","value":2}]`), Error: "out of range"},
		{Comment: "leading zero index", Doc: j(`{"a":[1,2]}`), Patch: j(`[{"op":"remove","path":"/a/01"}]`), Error: "bad index"},
		{Comment: "remove with -", Doc: j(`{"a":[1,2]}`), Patch: j(`[{"op":"remove","path":"/a/-"}]`), Error: "bad index"},
		{Comment: "remove missing member", Doc: j(`{"a":1}`), Patch: j(`[{"op":"remove","path":"/b"}]`), Error: "missing"},
		{Comment: "remove the root", Doc: j(`{"a":1}`), Patch: j(`[{"op":"remove","path":""}]`), Error: "root"},
		{Comment: "replace missing member", Doc: j(`{"a":1}`), Patch: j(`[{"op":"replace","path":"/b","value":2}]`), Error: "missing"},
		{Comment: "replace array element", Doc: j(`{"a":[1,2,3]}`), Patch: j(`[{"op":"replace","path":"/a/1","value":9}]`), Expected: j(`{"a":[1,9,3]}`)},
		{Comment: "move into own child", Doc: j(`{"a":{"b":1}}`), Patch: j(`[{"op":"move","from":"/a","path":"/a/c"}]`), Error: "child"},
		{Comment: "move to itself", Doc: j(`{"a":{"b":1}}`), Patch: j(`[{"op":"move","from":"/a","path":"/a"}]`), Expected: j(`{"a":{"b":1}}`)},
		{Comment: "move array element to end", Doc: j(`{"a":[1,2,3]}`), Patch: j(`[{"op":"move","from":"/a/0","path":"/a/-"}]`), Expected: j(`{"a":[2,3,1]}`)},
		{Comment: "copy is deep", Doc: j(`{"a":{"b":[1]}}`), Patch: j(`[{"op":"copy","from":"/a","path":"/c"},{"op":"add","path":"/c/b/-","value":2}]`), Expected: j(`{"a":{"b":[1]},"c":{"b":[1,2]}}`)},
		{Comment: "copy missing from", Doc: j(`{"a":1}`), Patch: j(`[{"op":"copy","path":"/c"}]`), Error: "from"},
		{Comment: "test numbers by value", Doc: j(`{"a":1.50,"b":[{"c":1e2}]}`), Patch: j(`[{"op":"test","path":"/a","value":1.5},{"op":"test","path":"/b","value":[{"c":100}]}]`), Expected: j(`{"a":1.50,"b":[{"c":1e2}]}`)},
		{Comment: "test null and booleans", Doc: j(`{"a":null,"b":false}`), Patch: j(`[{"op":"test","path":"/a","value":null},{"op":"test","path":"/b","value":false}]`), Expected: j(`{"a":null,"b":false}`)},
		{Comment: "test object differs", Doc: j(`{"a":{"x":1}}`), Patch: j(`[{"op":"test","path":"/a","value":{"x":1,"y":2}}]`), Error: "differs"},
		{Comment: "pointer escapes", Doc: j(`{"a/b":{"m~n":1}}`), Patch: j(`[{"op":"replace","path":"/a~1b/m~0n","value":2}]`), Expected: j(`{"a/b":{"m~n":2}}`)},
		{Comment: "bad escape", Doc: j(`{"a":1}`), Patch: j(`[{"op":"add","path":"/a~2","value":2}]`), Error: "escape"},
		{Comment: "pointer without slash", Doc: j(`{"a":1}`), Patch: j(`[{"op":"add","path":"a","value":2}]`), Error: "pointer"},
		{Comment: "unknown op", Doc: j(`{"a":1}`), Patch: j(`[{"op":"merge","path":"/a","value":2}]`), Error: "op"},
		{Comment: "missing value", Doc: j(`{"a":1}`), Patch: j(`[{"op":"add","path":"/b"}]`), Error: "value"},
		{Comment: "patch not an array", Doc: j(`{"a":1}`), Patch: j(`{"op":"add","path":"/b","value":1}`), Error: "array"},
		{Comment: "decimals keep their text", Doc: j(`{"a":1.50}`), Patch: j(`[{"op":"add","path":"/b","value":2.00}]`), Expected: j(`{"a":1.50,"b":2.00}`)},
	}
	for _, c := range tests {
		runPatchCase(t, c)
	}
}

func j(s string) json.RawMessage { return json.RawMessage(s) }

func TestJSONPatchErrors(t *testing.T) {
	tests := []struct {
		name, doc, patch string
		status           int
		diag             string
	}{
		{"malformed patch", `{}`, `[{"op":"add"}]`, 400, "JSON Patch operation 0: path is missing or not a string"},
		{"failed test", `{"a":1}`, `[{"op":"test","path":"/a","value":1},{"op":"test","path":"/a","value":2}]`, 422, `JSON Patch operation 1 (test "/a"): test failed: the value differs`},
		// Copy k of the root copies 18·2^k values; 18·(2^16-1) > 2^20 first at k = 15.
		{"copies explode", `{"a":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}`, `[` + strings.Repeat(`{"op":"copy","from":"","path":"/a/0"},`, 20) + `{"op":"test","path":"","value":1}]`, 422, `JSON Patch operation 15 (copy "/a/0"): the patch copies more than 1048576 values`},
		{"missing target", `{"a":1}`, `[{"op":"remove","path":"/b/c"}]`, 422, `JSON Patch operation 0 (remove "/b/c"): the path does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ApplyJSONPatch([]byte(tt.doc), []byte(tt.patch))
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want *Error", err)
			}
			if fe.Status != tt.status || fe.Issues[0].Diagnostics != tt.diag {
				t.Errorf("got %d %q, want %d %q", fe.Status, fe.Issues[0].Diagnostics, tt.status, tt.diag)
			}
		})
	}
}
