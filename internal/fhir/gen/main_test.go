package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedUpToDate regenerates the tables from the shared R4
// definitions and compares them with the committed ../r4_gen.go.
func TestGeneratedUpToDate(t *testing.T) {
	const defs = "../../../../shared/refs/fhir/r4-definitions"
	if _, err := os.Stat(defs); err != nil {
		t.Skipf("R4 definitions %s not present (only on the project's machines): %v", defs, err)
	}
	got, err := generate(defs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../r4_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("r4_gen.go is stale: run go run ./internal/fhir/gen -defs %s -o internal/fhir/r4_gen.go", defs)
	}
}
