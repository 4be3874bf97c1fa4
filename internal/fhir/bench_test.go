package fhir

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// synthea is the smallest Synthea bundle (70 entries, 219 KB).
const synthea = "testdata/synthea/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json"

func readSynthea(b *testing.B) ([]byte, int) {
	return readBundleFile(b, synthea)
}

// readBundleFile reads a bundle and counts its resources.
func readBundleFile(b *testing.B, path string) ([]byte, int) {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := ParseBundle(data)
	if err != nil {
		b.Fatal(err)
	}
	return data, len(bundle.Entry) + 1 // the entries and the Bundle itself
}

// reportResources reports resources per second for n resources per op.
func reportResources(b *testing.B, n int) {
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "resources/s")
}

// BenchmarkParseMarshalSynthea is the ingest path of a bundle: parse and
// write back.
func BenchmarkParseMarshalSynthea(b *testing.B) {
	benchParseMarshal(b, synthea)
}

// BenchmarkParseMarshalSyntheaLargest does the same on the largest Synthea
// bundle of the shared corpus (1,145 entries, 3.1 MB) when it is present.
func BenchmarkParseMarshalSyntheaLargest(b *testing.B) {
	path := refsDir + "/synthea-r4/Evelyn_McCullough_b3e8d121-f742-438c-92e3-02135e4543d5.json"
	if _, err := os.Stat(path); err != nil {
		b.Skipf("shared FHIR corpus not present: %v", err)
	}
	benchParseMarshal(b, path)
}

func benchParseMarshal(b *testing.B, path string) {
	data, n := readBundleFile(b, path)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
	reportResources(b, n)
}

// BenchmarkIngestSynthea adds what a server does per transaction: the
// Bundle view, validation and marshalling each entry for storage.
func BenchmarkIngestSynthea(b *testing.B) {
	data, n := readSynthea(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		bundle, err := ParseBundle(data)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range bundle.Entry {
			if err := Validate(e.Resource); err != nil {
				b.Fatal(err)
			}
			if _, err := e.Resource.MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportResources(b, n)
}

func BenchmarkParseSynthea(b *testing.B) {
	data, n := readSynthea(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
	reportResources(b, n)
}

func BenchmarkMarshalSynthea(b *testing.B) {
	data, n := readSynthea(b)
	r, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := r.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
	reportResources(b, n)
}

func BenchmarkValidateSynthea(b *testing.B) {
	data, n := readSynthea(b)
	r, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := Validate(r); err != nil {
			b.Fatal(err)
		}
	}
	reportResources(b, n)
}

// BenchmarkStdlibSynthea is the baseline: encoding/json decoding into
// any with UseNumber and encoding back.
func BenchmarkStdlibSynthea(b *testing.B) {
	data, n := readSynthea(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
	reportResources(b, n)
}
