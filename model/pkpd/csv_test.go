package pkpd

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Reading the reference CSV files of testdata (testdata/README*.md give
// their provenance), shared by the package's internal and external tests.

// readCSV reads testdata/name: the header record first, then at least one
// data record.
func readCSV(tb testing.TB, name string) [][]string {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	if len(recs) < 2 {
		tb.Fatalf("%s: no data rows", name)
	}
	return recs
}

// readSummary reads a two-column "name,value" CSV of testdata into a map.
func readSummary(tb testing.TB, name string) map[string]float64 {
	tb.Helper()
	out := map[string]float64{}
	for _, rec := range readCSV(tb, name)[1:] {
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			tb.Fatalf("%s: %s: %v", name, rec[0], err)
		}
		out[rec[0]] = v
	}
	return out
}

// relErr is |got − want| / |want| (absolute when want = 0).
func relErr(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

// The readers, exported to the external tests (package pkpd_test) only.
var (
	RefCSV     = readCSV
	RefSummary = readSummary
	RelErr     = relErr
)
