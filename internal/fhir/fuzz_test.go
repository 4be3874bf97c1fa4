package fhir

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// addFileSeeds adds every testdata JSON file (instances, bundles, Synthea)
// to the seed corpus.
func addFileSeeds(f *testing.F) {
	for _, path := range jsonFiles(f, "testdata") {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// viewFor returns a fresh typed view for a resource type, or nil.
func viewFor(typ string) any {
	switch typ {
	case "Patient":
		return new(Patient)
	case "Observation":
		return new(Observation)
	case "Encounter":
		return new(Encounter)
	case "Condition":
		return new(Condition)
	case "MedicationRequest":
		return new(MedicationRequest)
	case "MedicationAdministration":
		return new(MedicationAdministration)
	case "Device":
		return new(Device)
	case "Location":
		return new(Location)
	case "AuditEvent":
		return new(AuditEvent)
	case "RiskAssessment":
		return new(RiskAssessment)
	}
	return nil
}

// FuzzParse checks that whatever Parse accepts encoding/json accepts with
// the same tree, that parse→marshal→parse gives the same tree and the same
// bytes again, and that Validate, the views and BundleOf do not panic.
func FuzzParse(f *testing.F) {
	addFileSeeds(f)
	for _, s := range []string{
		`{"resourceType":"Patient","id":"a","_birthDate":{"extension":[{"url":"u","valueDecimal":1.50}]}}`,
		`{"resourceType":"Observation","valueQuantity":{"value":-0.0E+00},"s":"\ud83d\ude00\u2028<&>"}`,
		`{"resourceType":"Patient","id":"a","id":"b"}`,
		`{"resourceType":"Patient"} x`,
		"{\"resourceType\":\"Patient\",\"x\":\"\xff\"}",
		`[{"resourceType":"Patient"}]`,
		"\xef\xbb\xbf{\"resourceType\":\"Patient\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse error %T, want *Error", err)
			}
			return
		}
		d := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM)))
		d.UseNumber()
		var std any
		if err := d.Decode(&std); err != nil {
			t.Fatalf("Parse accepted what encoding/json rejects: %v", err)
		}
		if !reflect.DeepEqual(std, any(r.Tree)) {
			t.Fatalf("tree differs from encoding/json's:\n%#v\n%#v", r.Tree, std)
		}
		out, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := Parse(out)
		if err != nil {
			t.Fatalf("marshalled JSON does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(r.Tree, r2.Tree) {
			t.Fatalf("round trip changed the tree:\n%#v\n%#v", r.Tree, r2.Tree)
		}
		if out2, _ := r2.MarshalJSON(); !bytes.Equal(out, out2) {
			t.Fatalf("marshalling is not stable:\n%s\n%s", out, out2)
		}
		_ = Validate(r)
		if v := viewFor(r.Type); v != nil {
			_ = r.Decode(v)
		}
		if r.Type == "Bundle" {
			_, _ = BundleOf(r)
		}
	})
}

// FuzzApplyJSONPatch checks that patching never panics and that a
// successful patch gives JSON that parses.
func FuzzApplyJSONPatch(f *testing.F) {
	data, err := os.ReadFile("testdata/json-patch-tests.json")
	if err != nil {
		f.Fatal(err)
	}
	var cases []patchCase
	if err := json.Unmarshal(data, &cases); err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add([]byte(c.Doc), []byte(c.Patch))
	}
	f.Add([]byte(`{"a":[1,{"b":2}]}`), []byte(`[{"op":"move","from":"/a/1","path":"/a/0"},{"op":"copy","from":"","path":"/c"},{"op":"test","path":"/c/a/0/b","value":2.0}]`))
	f.Fuzz(func(t *testing.T, doc, patch []byte) {
		out, err := ApplyJSONPatch(doc, patch)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T, want *Error", err)
			}
			return
		}
		if _, serr := decodeTree(out); serr != nil {
			t.Fatalf("patched document does not parse: %s\n%s", serr.msg, out)
		}
	})
}

// FuzzBundle checks that ParseBundle never panics and that an accepted
// bundle, written back with MarshalJSON, reads as the same view.
func FuzzBundle(f *testing.F) {
	for _, path := range jsonFiles(f, "testdata/bundles") {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","total":3,"link":[{"relation":"next","url":"x"}],"entry":[{"search":{"mode":"match","score":1}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		out, err := b.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		b2, err := ParseBundle(out)
		if err != nil {
			t.Fatalf("written bundle does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(b, b2) {
			t.Fatalf("bundle changed through MarshalJSON:\n%+v\n%+v", b, b2)
		}
	})
}
