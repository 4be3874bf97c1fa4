package pkpd

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// refTable is a numeric CSV reference file from testdata (see
// testdata/README.md for provenance).
type refTable struct {
	col  map[string]int
	rows [][]float64
}

func (r *refTable) get(row int, name string) float64 { return r.rows[row][r.col[name]] }

func (r *refTable) column(t *testing.T, name string) []float64 {
	t.Helper()
	j, ok := r.col[name]
	if !ok {
		t.Fatalf("reference has no column %q", name)
	}
	out := make([]float64, len(r.rows))
	for i, row := range r.rows {
		out[i] = row[j]
	}
	return out
}

func readRef(t testing.TB, name string) *refTable {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	tab := &refTable{col: map[string]int{}}
	for j, h := range recs[0] {
		tab.col[h] = j
	}
	for _, rec := range recs[1:] {
		row := make([]float64, len(rec))
		for j, s := range rec {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				v = math.NaN() // a text column (e.g. a quantity name)
			}
			row[j] = v
		}
		tab.rows = append(tab.rows, row)
	}
	return tab
}

// summary reads a quantity,value CSV.
func readSummary(t testing.TB, name string) map[string]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, rec := range recs[1:] {
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		out[rec[0]] = v
	}
	return out
}

// close reports whether got agrees with want to rel relative or abs
// absolute tolerance.
func closeTo(got, want, rel, abs float64) bool {
	return math.Abs(got-want) <= math.Max(abs, rel*math.Abs(want))
}

// caseB is reference case b: 2-compartment model with a depot, 100 mg PO
// q12h × 5 (NONMEM AMT=100 CMT=1 II=12 ADDL=4) and 200 mg IV over 1 h at
// 72 h (CMT=2 RATE=200).
var (
	caseBModel  = Linear{Peripherals: 1, Depot: true}
	caseBParams = Params{CL: 5, V1: 20, Q2: 10, V2: 50, KA: 1}
	caseBRecs   = []Record{
		{ID: 1, Time: 0, EVID: 1, AMT: 100, CMT: 1, II: 12, ADDL: 4, MDV: 1},
		{ID: 1, Time: 72, EVID: 1, AMT: 200, CMT: 2, RATE: 200, MDV: 1},
	}
)

// TestCaseB compares the closed form with ../shared/refs/pkpd b (R 4.2.2):
// the concentration with R's own closed-form superposition (an independent
// implementation of the same formulas, written with 15 significant digits),
// and the amounts of all three compartments with lsoda at rtol 1e-10,
// atol 1e-12 (the README gives lsoda's error as 3.1e-10 relative).
func TestCaseB(t *testing.T) {
	ref := readRef(t, "b_2cmt_multidose.csv")
	s, err := caseBModel.NewSchedule(caseBRecs, Dosing{}, ScheduleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	times := ref.column(t, "time")
	prof, err := caseBModel.Simulate(caseBParams, s, times)
	if err != nil {
		t.Fatal(err)
	}
	conc, err := caseBModel.Predict(caseBParams, s, times)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i, tt := range times {
		want := ref.get(i, "conc_central_analytic")
		// Closed form vs closed form: both exact to rounding; 1e-10
		// relative covers the 15-digit CSV and the cancellation between
		// exponentials of opposite sign; 1e-13 mg/L absolute at t = 0.
		if !closeTo(conc[i], want, 1e-10, 1e-13) {
			t.Errorf("C(%g) = %.15g, want %.15g", tt, conc[i], want)
		}
		if want > 0 {
			worst = math.Max(worst, math.Abs(conc[i]/want-1))
		}
		if c := prof.Amount(i, 2) / caseBParams.V1; c != conc[i] {
			t.Errorf("Simulate and Predict disagree at %g: %g vs %g", tt, c, conc[i])
		}
		for k, name := range []string{"amt_depot_lsoda", "amt_central_lsoda", "amt_periph_lsoda"} {
			// lsoda at rtol 1e-10: 1e-8 relative leaves a margin of 30 over
			// its stated error; 1e-9 mg absolute for the depot's e^-t tail.
			want := ref.get(i, name)
			if got := prof.Amount(i, k+1); !closeTo(got, want, 1e-8, 1e-9) {
				t.Errorf("%s(%g) = %.12g, want %.12g", name, tt, got, want)
			}
		}
	}
	t.Logf("max relative difference from R's closed form: %.2g", worst)

	sum := readSummary(t, "b_2cmt_multidose_summary.csv")
	lam, err := caseBModel.Macro(caseBParams)
	if err != nil {
		t.Fatal(err)
	}
	if !closeTo(lam[0], sum["alpha"], 1e-13, 0) || !closeTo(lam[1], sum["beta"], 1e-13, 0) {
		t.Errorf("macro-constants %v, want alpha %v beta %v", lam, sum["alpha"], sum["beta"])
	}
	mc := caseBModel.Micro(caseBParams)
	if mc.K10 != sum["k10"] || mc.K12 != sum["k12"] || mc.K21 != sum["k21"] {
		t.Errorf("micro-constants %+v, want k10 %v k12 %v k21 %v", mc, sum["k10"], sum["k12"], sum["k21"])
	}
}
