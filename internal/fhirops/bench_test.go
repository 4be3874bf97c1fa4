package fhirops_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkTransactionSynthea imports the four Synthea Bundles of testdata
// (378 resources) into a fresh store per iteration; it reports resources/s.
func BenchmarkTransactionSynthea(b *testing.B) {
	files, _ := filepath.Glob("testdata/synthea/*.json")
	var bundles [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		bundles = append(bundles, data)
	}
	const resources = 378
	ctx := context.Background()
	registry(b)
	for b.Loop() {
		b.StopTimer()
		s := newService(b)
		b.StartTimer()
		for _, data := range bundles {
			if _, err := s.Transaction(ctx, data, ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*resources)/b.Elapsed().Seconds(), "resources/s")
}
