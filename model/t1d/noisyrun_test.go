package t1d

import (
	"encoding/csv"
	"os"
	"testing"
)

// readNoisyRun reads simglucose's noisy Navigator run
// (testdata/noisy_navigator_seed1.csv, provenance in testdata/README_extras.md)
// and returns its rows, header first, and the index of each column.
func readNoisyRun(t *testing.T) (rows [][]string, col map[string]int) {
	t.Helper()
	f, err := os.Open("testdata/noisy_navigator_seed1.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err = csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col = map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	return rows, col
}
