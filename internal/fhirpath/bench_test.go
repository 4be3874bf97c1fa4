package fhirpath

import (
	"slices"
	"testing"
)

// BenchmarkObservationSearch evaluates every R4 search expression whose
// base is Observation (or Resource/DomainResource) on the blood-pressure
// example: the work of indexing one Observation.
func BenchmarkObservationSearch(b *testing.B) {
	res := loadResource(b, "testdata/examples/Observation-blood-pressure.json")
	var exprs []*Expr
	for _, se := range loadSearchExprs(b) {
		if hasBase(se.bases, "Observation") {
			e, err := Compile(se.expr)
			if err != nil {
				b.Fatal(err)
			}
			exprs = append(exprs, e)
		}
	}
	for b.Loop() {
		for _, e := range exprs {
			if _, err := e.Evaluate(res); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(exprs)), "exprs/op")
}

// BenchmarkCompile compiles the Observation search expressions.
func BenchmarkCompile(b *testing.B) {
	var srcs []string
	for _, se := range loadSearchExprs(b) {
		if slices.Contains(se.bases, "Observation") {
			srcs = append(srcs, se.expr)
		}
	}
	for b.Loop() {
		for _, s := range srcs {
			if _, err := Compile(s); err != nil {
				b.Fatal(err)
			}
		}
	}
}
