package pkmodel

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// readFiles serves the model file m.yaml (minimal) and the data sets in
// files to the parsers.
func readFiles(files map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if name == "m.yaml" {
			return []byte(minimal), nil
		}
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("open %s: no such file", name)
	}
}

const dataSim = "model: m.yaml\ndata: d.csv\ncolumns: {weight: WT}\n"

// dataCSV: 100 mg IV bolus at 0 h; WT 70 kg up to 12 h, then (NOCB: the
// values of the record at 24 h apply to (12, 24], those at 36 h to
// (24, 36]) 50 kg.
const dataCSV = `ID,TIME,EVID,AMT,MDV,DV,WT,AGE
1,0,1,100,1,.,70,40
1,12,0,0,0,1.4,70,40
1,24,2,0,1,.,50,40
1,36,0,0,0,0.5,50,40
`

// TestRunDataNOCB checks PRED on the observation records against the
// 1-cmt bolus solution with NONMEM's covariate rule, by hand: CL =
// 5·(w/70)^0.75 L/h, V = 50·exp(0.01·(w − 70)) L; the column AGE, which
// the model does not use, is ignored.
func TestRunDataNOCB(t *testing.T) {
	s, err := ParseSim("s.yaml", []byte(dataSim), readFiles(map[string]string{"d.csv": dataCSV}))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.RunData()
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := 50.0, 50*math.Exp(-0.2)
	k1, k2 := 5/v1, 5*math.Pow(50.0/70, 0.75)/v2
	want := []float64{math.NaN(), 100 * math.Exp(-k1*12) / v1, math.NaN(), 100 * math.Exp(-k1*12) * math.Exp(-k2*24) / v2}
	if len(r.Rows) != 4 || len(r.Subjects) != 1 || r.Subjects[0].Observations != 2 {
		t.Fatalf("%d rows, subjects %+v", len(r.Rows), r.Subjects)
	}
	for i, w := range want {
		got := r.Rows[i]
		if math.IsNaN(w) {
			if !math.IsNaN(got.PRED) || !math.IsNaN(got.IPRED) {
				t.Errorf("row %d (EVID %d): PRED %g, IPRED %g, want none", i, got.Record.EVID, got.PRED, got.IPRED)
			}
			continue
		}
		if math.Abs(got.PRED-w) > 1e-13*w || math.IsNaN(got.IPRED) {
			t.Errorf("row %d: PRED %.15g, want %.15g (IPRED %g)", i, got.PRED, w, got.IPRED)
		}
	}
}

func TestDataErrors(t *testing.T) {
	for _, c := range []struct{ name, sim, csv, want string }{
		{"bad number", dataSim, strings.Replace(dataCSV, "1,0,1,100,", "1,0,1,x,", 1), "s.yaml:2: data: d.csv: line 2, column AMT"},
		{"negative weight", dataSim, strings.Replace(dataCSV, "1,24,2,0,1,.,50", "1,24,2,0,1,.,-5", 1), "d.csv: line 4, column WT: weight must be > 0"},
		{"no column", "model: m.yaml\ndata: d.csv\n", dataCSV, "d.csv has no column for the covariate weight"},
		{"mapped column missing", "model: m.yaml\ndata: d.csv\ncolumns: {weight: BW}\n", dataCSV, "s.yaml:3: columns.weight: d.csv has no column \"BW\""},
		{"with doses", dataSim + "doses: [{time: 0 h, amount: 1 mg}]\n", dataCSV, "s.yaml:4: doses: not with data"},
		{"bad CMT", dataSim, "ID,TIME,EVID,AMT,CMT,WT\n1,0,1,100,3,70\n", "s.yaml:2: data: d.csv: line 2"},
		{"no file", "model: m.yaml\ndata: none.csv\ncolumns: {weight: WT}\n", dataCSV, "s.yaml:2: data: open none.csv"},
		{"columns without data", "model: m.yaml\npatient: {weight: 70 kg}\ncolumns: {weight: WT}\ndoses: [{time: 0 h, amount: 1 mg}]\noutputs: {every: 1 h, until: 2 h}\n", dataCSV, "s.yaml:3: columns: only with data"},
	} {
		_, err := ParseSim("s.yaml", []byte(c.sim), readFiles(map[string]string{"d.csv": c.csv}))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
