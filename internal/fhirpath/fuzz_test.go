package fhirpath

import (
	"encoding/xml"
	"os"
	"testing"
	"time"
)

// FuzzCompile checks that Compile and Evaluate return errors, never panic,
// on any input. Seeds: every R4 search expression and every suite expression.
func FuzzCompile(f *testing.F) {
	for _, se := range loadSearchExprs(f) {
		f.Add(se.expr)
	}
	data, err := os.ReadFile("testdata/suite/tests-fhir-r4.xml")
	if err != nil {
		f.Fatal(err)
	}
	var suite suiteFile
	if err := xml.Unmarshal(data, &suite); err != nil {
		f.Fatal(err)
	}
	for _, g := range suite.Groups {
		for _, c := range g.Tests {
			f.Add(c.Expression.Text)
		}
	}
	pat := loadResource(f, "testdata/suite/Patient-example.json")
	obs := loadResource(f, "testdata/suite/Observation-example.json")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src)
		if err != nil {
			return
		}
		if e.String() != src {
			t.Errorf("String() = %q, want %q", e.String(), src)
		}
		e.EvaluateAt(pat, now)
		e.EvaluateAt(obs, now)
	})
}
