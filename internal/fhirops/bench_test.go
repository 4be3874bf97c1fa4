package fhirops_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/fhirops"
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

// BenchmarkTransactionSyntheaParallel posts the Synthea Bundles from 4
// goroutines per core into one store, as concurrent HTTP clients do: the
// store's single writer is the bottleneck, so what runs before the write
// (parsing, validation, conditional references, index entries) overlaps.
func BenchmarkTransactionSyntheaParallel(b *testing.B) {
	files, _ := filepath.Glob("testdata/synthea/*.json")
	var bundles [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		bundles = append(bundles, data)
	}
	const resources = 378 // in all the Bundles
	ctx := context.Background()
	// The test clock and ids of newService are not for concurrent use.
	s := newService(b, func(o *fhirops.Options) { o.NewID, o.Now = nil, time.Now })
	var n atomic.Int64
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			data := bundles[int(n.Add(1))%len(bundles)]
			if _, err := s.Transaction(ctx, data, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*resources/len(bundles))/b.Elapsed().Seconds(), "resources/s")
}

// BenchmarkSearchConfined compares a page of Observations of one Synthea
// patient found by a user token (subject=Patient/ID) with the same page
// found by that patient's token (the compartment restriction: subject or
// performer, so the compartment's ids are looked up first), and by the
// patient's token naming its subject (no look-up needed).
func BenchmarkSearchConfined(b *testing.B) {
	files, _ := filepath.Glob("testdata/synthea/*.json")
	s := newService(b)
	ctx := context.Background()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Transaction(ctx, data, ""); err != nil {
			b.Fatal(err)
		}
	}
	pats := doSearch(b, s, "Patient", "_count=1")
	if len(pats.Entry) == 0 {
		b.Fatal("no patient")
	}
	var p struct{ ID string }
	if err := json.Unmarshal(pats.Entry[0].Resource, &p); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		a     fhirops.Access
		query string
	}{
		{"user", user, "subject=Patient/" + p.ID},
		{"patient", access{kinds: readAll, compartment: "Patient/" + p.ID}, ""},
		{"patient-subject", access{kinds: readAll, compartment: "Patient/" + p.ID}, "subject=Patient/" + p.ID},
	} {
		b.Run(bc.name, func(b *testing.B) {
			vals, _ := url.ParseQuery(bc.query)
			for b.Loop() {
				if _, err := s.Search(fhirops.WithAccess(ctx, bc.a), "Observation", vals, true, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
