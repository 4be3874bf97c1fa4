package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// Bench runs the store benchmarks, each on fresh storage:
//
//   - Put: 8 concurrent writers, each Write one 3 KB Observation with 20
//     index entries; reports resources/s.
//   - PutBundle: the same with 100 Observations per Write (a transaction
//     Bundle, or doppel import).
//   - Read: the current version of one of 1,000 such resources.
//   - Search: code (token) and subject (reference) on 10,000 such
//     resources of 100 patients and 10 codes (10 matches per search).
//   - AppendSample: 8 concurrent writers, each AppendSamples one CGM
//     sample (a device message as it comes); reports samples/s.
//   - AppendDay: one AppendSamples of a day of 5-minute CGM (288
//     samples) of a new patient per operation; reports samples/s.
//   - SeriesSize: 7 days of 5-minute CGM of 50 patients, appended a day
//     of one patient per call; reports bytes/sample on disk when the
//     target has SeriesBytes.
func Bench(b *testing.B, fresh Fresh) {
	b.Run("Put", func(b *testing.B) { benchPut(b, fresh(b), 1) })
	b.Run("PutBundle", func(b *testing.B) { benchPut(b, fresh(b), 100) })
	b.Run("Read", func(b *testing.B) { benchRead(b, fresh(b)) })
	b.Run("Search", func(b *testing.B) { benchSearch(b, fresh(b)) })
	b.Run("AppendSample", func(b *testing.B) { benchAppendSample(b, fresh(b)) })
	b.Run("AppendDay", func(b *testing.B) { benchAppendDay(b, fresh(b)) })
	b.Run("SeriesSize", func(b *testing.B) { benchSeriesSize(b, fresh(b)) })
}

const loincSystem = "http://loinc.org"

// observation is a 3 KB Observation with 20 index entries.
func observation(id string, patient, code int) store.Version {
	when := t0.Add(time.Duration(len(id)) * time.Minute)
	lo := float64(when.UnixMilli())
	codeStr := fmt.Sprintf("%d-%d", 1000+code, code%10)
	entries := []search.Entry{
		{Param: "_id", Type: search.Token, Code: id},
		{Param: "_lastUpdated", Type: search.Date, Lo: lo, Hi: lo},
		{Param: "status", Type: search.Token, System: "http://hl7.org/fhir/observation-status", Code: "final"},
		{Param: "category", Type: search.Token, System: "http://terminology.hl7.org/CodeSystem/observation-category", Code: "vital-signs", Text: "Vital Signs", Norm: "vital signs"},
		{Param: "code", Type: search.Token, System: loincSystem, Code: codeStr, Text: "Measurement " + codeStr, Norm: "measurement " + codeStr},
		{Param: "code", Type: search.Token, Text: "measurement", Norm: "measurement"},
		{Param: "subject", Type: search.Reference, RefType: "Patient", RefID: fmt.Sprintf("pat%d", patient)},
		{Param: "patient", Type: search.Reference, RefType: "Patient", RefID: fmt.Sprintf("pat%d", patient)},
		{Param: "encounter", Type: search.Reference, RefType: "Encounter", RefID: "enc" + id},
		{Param: "performer", Type: search.Reference, RefType: "Practitioner", RefID: "pr1"},
		{Param: "date", Type: search.Date, Lo: lo, Hi: lo + 999},
		{Param: "value-quantity", Type: search.Quantity, Num: 72, Lo: 72, Hi: 72, System: "http://unitsofmeasure.org", Code: "kg", Text: "kg"},
		{Param: "identifier", Type: search.Token, System: "urn:ietf:rfc:3986", Code: "urn:uuid:" + id},
		{Param: "combo-code", Type: search.Token, System: loincSystem, Code: codeStr},
		{Param: "combo-value-quantity", Type: search.Quantity, Num: 72, Lo: 72, Hi: 72, System: "http://unitsofmeasure.org", Code: "kg"},
		{Param: "based-on", Type: search.Reference, RefType: "ServiceRequest", RefID: "sr1"},
		{Param: "method", Type: search.Token, System: "http://snomed.info/sct", Code: "37931006"},
		{Param: "data-absent-reason", Type: search.Token, Code: ""},
		{Param: "_profile", Type: search.URI, Text: "http://hl7.org/fhir/StructureDefinition/vitalsigns"},
		{Param: "device", Type: search.Reference, RefType: "Device", RefID: "dev1"},
	}
	body := fmt.Sprintf(`{"resourceType":"Observation","id":%q,"meta":{"versionId":"1"},"status":"final","code":{"coding":[{"system":%q,"code":%q}]},"subject":{"reference":"Patient/pat%d"},"note":[{"text":%q}]}`,
		id, loincSystem, codeStr, patient, strings.Repeat("x", 2800))
	return store.Version{Type: "Observation", ID: id, VersionID: 1, LastUpdated: when, Body: []byte(body), Index: entries}
}

// benchPut runs 8 writers, each making 8 Writes of perWrite resources.
func benchPut(b *testing.B, tg Target, perWrite int) {
	s := open(b, tg)
	ctx := context.Background()
	const writers, each = 8, 8
	n := 0
	start := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for g := range writers {
			wg.Go(func() {
				for k := range each {
					if err := s.Write(ctx, func(w store.Writer) error {
						for r := range perWrite {
							if _, err := w.Put(ctx, observation(fmt.Sprintf("o%d-%d-%d-%d", n, g, k, r), g, k)); err != nil {
								return err
							}
						}
						return nil
					}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*writers*each*perWrite)/time.Since(start).Seconds(), "resources/s")
}

// loadObservations writes n observations of n/100 patients and 10 codes,
// 100 per request.
func loadObservations(tb testing.TB, s store.Store, n int) {
	ctx := context.Background()
	for i := 0; i < n; i += 100 {
		err := s.Write(ctx, func(w store.Writer) error {
			for k := i; k < min(i+100, n); k++ {
				if _, err := w.Put(ctx, observation(fmt.Sprintf("o%d", k), k%(n/100), (k/(n/100))%10)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

func benchRead(b *testing.B, tg Target) {
	s := open(b, tg)
	const n = 1000
	loadObservations(b, s, n)
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Read(ctx, "Observation", fmt.Sprintf("o%d", rng.IntN(n))); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSearch(b *testing.B, tg Target) {
	s := open(b, tg)
	const n = 10000
	loadObservations(b, s, n)
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for b.Loop() {
		code := rng.IntN(10)
		q := &search.Query{Type: "Observation", Clauses: []search.Clause{
			{Param: "code", Type: search.Token, Values: []search.Value{{System: loincSystem, Code: fmt.Sprintf("%d-%d", 1000+code, code), HasSystem: true}}},
			{Param: "subject", Type: search.Reference, Values: []search.Value{{RefType: "Patient", RefID: fmt.Sprintf("pat%d", rng.IntN(n/100))}}},
		}}
		p, err := s.Search(ctx, q, 0)
		if err != nil {
			b.Fatal(err)
		}
		if p.Total != 10 {
			b.Fatalf("search found %d, want 10", p.Total)
		}
	}
}

func benchAppendSample(b *testing.B, tg Target) {
	s := open(b, tg)
	ss, ok := s.(store.Series)
	if !ok {
		b.Skip("the store has no time series")
	}
	ctx := context.Background()
	const writers, each = 8, 8
	n := 0
	start := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for g := range writers {
			wg.Go(func() {
				for k := range each {
					if _, err := ss.AppendSamples(ctx, []store.Sample{cgm(fmt.Sprintf("p%d", g), 5*(n*each+k), 120)}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*writers*each)/time.Since(start).Seconds(), "samples/s")
}

// cgmWalk returns days of 5-minute CGM in whole mg/dL: a seeded random
// walk (steps of a few mg/dL, as between CGM readings) within 40..400.
func cgmWalk(rng *rand.Rand, patient string, days int) []store.Sample {
	out := make([]store.Sample, 0, days*288)
	g := 120.0
	for m := range days * 288 {
		g = math.Round(min(400, max(40, g+rng.NormFloat64()*4)))
		out = append(out, cgm(patient, 5*m, g))
	}
	return out
}

func benchSeriesSize(b *testing.B, tg Target) {
	const patients, days = 50, 7
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([][]store.Sample, patients)
	for p := range data {
		data[p] = cgmWalk(rng, fmt.Sprintf("patient-%04d", p), days)
	}
	for b.Loop() {
		s := open(b, tg)
		ss, ok := s.(store.Series)
		if !ok {
			b.Skip("the store has no time series")
		}
		for d := range days {
			for p := range patients {
				appendSamples(b, ss, data[p][d*288:(d+1)*288]...)
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if tg.SeriesBytes == nil {
			continue
		}
		n, err := tg.SeriesBytes()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/float64(patients*days*288), "bytes/sample")
	}
}

func benchAppendDay(b *testing.B, tg Target) {
	s := open(b, tg)
	ss, ok := s.(store.Series)
	if !ok {
		b.Skip("the store has no time series")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 0
	start := time.Now()
	for b.Loop() {
		b.StopTimer()
		day := cgmWalk(rng, fmt.Sprintf("patient-%d", n), 1)
		b.StartTimer()
		appendSamples(b, ss, day...)
		n++
	}
	b.ReportMetric(float64(n*288)/time.Since(start).Seconds(), "samples/s")
}
