package pkmodel

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// oral1 is case (a) of the PK/PD references: 1-compartment oral, ka 1.5/h,
// ke 0.08/h, V 40 L (CL = ke·V = 3.2 L/h).
const oral1 = `name: ref-1cmt-oral
title: Reference case (a)
drug: refdrug
citation: {reference: "Doppel PK/PD reference case a (a_1cmt_oral.R)", doi: 10.0000/doppel.ref.a}
structure: {compartments: 1, route: oral}
parameters:
  CL: {value: 3.2 L/h}
  V: {value: 40 L}
  KA: {value: 1.5 1/h}
iiv: {cv_convention: lognormal, cv: {CL: 30 %}}
residual: {model: additive, additive: 0.1 mg/L}
`

const oralSim = `model: m.yaml
patient: {}
doses: [{time: 0 h, amount: 320 mg}]
outputs: {every: 0.25 h, until: 72 h}
`

func readCSV(t *testing.T, name string) (map[string]int, [][]float64) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var out [][]float64
	for _, r := range rows[1:] {
		v := make([]float64, len(r))
		for i, s := range r {
			if v[i], err = strconv.ParseFloat(s, 64); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, v)
	}
	return col, out
}

// TestPDReference runs reference case (d) as PK scenarios: an effect
// compartment with sigmoid Emax and indirect responses I–IV driven by
// the oral PK of case (a), against deSolve (rtol 1e-10). Our ODE runs at
// RelTol 1e-6 with AbsTol 1e-9, piecewise between output times: tolerance
// 1e-6 relative to the largest value of the column (measured: Ce 1.3e-10,
// IDR I–IV 1.3e-8 to 7.6e-8 of it).
func TestPDReference(t *testing.T) {
	read := func(string) ([]byte, error) { return []byte(oral1), nil }
	run := func(pd string) (*Sim, []float64, *PDResult) {
		t.Helper()
		s, p, r := runPD(t, oralSim+pd, read)
		return s, p.Times, r
	}
	check := func(name string, times, got []float64, col int, rows [][]float64) {
		t.Helper()
		scale, worst := 0.0, 0.0
		for _, r := range rows {
			scale = max(scale, math.Abs(r[col]))
		}
		for _, r := range rows {
			i := int(math.Round(r[0] / 0.25))
			if times[i] != r[0] {
				t.Fatalf("time %g not on the grid", r[0])
			}
			worst = max(worst, math.Abs(got[i]-r[col])/scale)
		}
		if worst > 1e-6 {
			t.Errorf("%s: largest error %.3g of the column's maximum, want ≤ 1e-6", name, worst)
		}
	}
	col, rows := readCSV(t, "d_emax.csv")
	_, times, r := run("pd: {model: emax, e0: 10, emax: 100, ec50: 2 mg/L, hill: 2, effect_compartment: {ke0: 0.3 1/h}}\n")
	check("Ce", times, r.Ce, col["Ce"], rows)
	check("Emax of Ce", times, r.Effect, col["E_effect_cmt_sigmoid"], rows)
	col, rows = readCSV(t, "d_indirect_response.csv")
	for _, c := range []struct{ typ, params, col string }{
		{"I", "imax: 0.9, ic50: 2 mg/L", "R_typeI"},
		{"II", "imax: 0.9, ic50: 2 mg/L", "R_typeII"},
		{"III", "smax: 2, sc50: 2 mg/L", "R_typeIII"},
		{"IV", "smax: 2, sc50: 2 mg/L", "R_typeIV"},
	} {
		_, times, r := run("pd: {model: idr, type: " + c.typ + ", kin: 10, kout: 0.5 1/h, " + c.params + "}\n")
		check("IDR type "+c.typ, times, r.Effect, col[c.col], rows)
	}
}
