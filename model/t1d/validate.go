package t1d

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/doppelhealth/doppel/model/refcheck"
)

// Reference runs of simglucose a6f6777 (refdata/README.md).
//
//go:embed refdata/*.csv refdata/simglucose30/*.csv.gz
var refFiles embed.FS

// Tolerances of the validation checks (MODEL.md §11): BG within 1e-3 mg/dL
// (the accuracy bar; simglucose itself integrates with rtol 1e-6), delivered
// insulin within 1e-9·max(1, |ref|) U/min (pump quantisation makes it nearly
// exact; the files carry 10 significant digits), and each state within
// 1e-5·max|column| + 1e-9 of its reference.
const (
	TolBG       = 1e-3
	TolInsulin  = 1e-9
	TolStateRel = 1e-5
	TolStateAbs = 1e-9
)

// ValidationCases returns the model's reference cases: the plain patient ODE
// and the closed-loop basal-bolus runs of simglucose.
// Each check's At is in min from the start of the run; Where is empty.
//
// To add a closed-loop simglucose run with the columns of the bb_24h files
// (t_min, BG, CHO, insulin, states x0_… to x12_…; basal-bolus controller,
// Insulet pump, noiseless Navigator sensor, any meals), copy it into refdata/
// with its provenance in refdata/README.md and add
// closedLoopCase(file name without .csv, patient name) below.
func ValidationCases() []refcheck.Case {
	cases := []refcheck.Case{
		{
			Name:        "ode_adult_001_basal_meal50g_8h",
			Description: "patient ODE only: adult#001, constant basal u2ss·BW/6000 U/min, 50 g announced at 60 min, 8 h",
			Reference:   "refdata/ode_adult_001_basal_meal50g_8h.csv (simglucose a6f6777 T1DPatient.step)",
			Run:         func() ([]refcheck.Check, error) { return runODECase("ode_adult_001_basal_meal50g_8h.csv", "adult#001") },
		},
		closedLoopCase("bb_24h_adult_001", "adult#001"),
		closedLoopCase("bb_24h_adolescent_001", "adolescent#001"),
	}
	// simglucose30: the same 24 h closed loop for every virtual patient, and
	// 3-day RandomScenario(seed=1) meal plans for the patients with the
	// deepest hypoglycaemia (refdata/simglucose30/README.md).
	// adult#001 and adolescent#001 are the shared references above (with
	// states); their simglucose30 files are identical in every column they
	// share, which is how the run harness was checked.
	for _, name := range Patients() {
		if name == "adult#001" || name == "adolescent#001" {
			continue
		}
		cases = append(cases, closedLoopCase("simglucose30/bb_24h_"+strings.ReplaceAll(name, "#", "_"), name))
	}
	for _, name := range []string{"child#003", "child#004", "child#008", "adult#009"} {
		cases = append(cases, closedLoopCase("simglucose30/random_3d_seed1_"+strings.ReplaceAll(name, "#", "_"), name))
	}
	return cases
}

// closedLoopCase is a simglucose run with the basal-bolus controller, the
// Insulet pump and a noiseless Navigator sensor whose meals are read from the
// CHO column of the reference (announced g/min during one sample).
func closedLoopCase(name, patient string) refcheck.Case {
	return refcheck.Case{
		Name:        strings.TrimPrefix(name, "simglucose30/"),
		Description: "closed loop: " + patient + ", basal-bolus controller, Insulet pump, noiseless Navigator CGM, meals of the reference",
		Reference:   "refdata/" + refFile(name) + " (simglucose a6f6777 T1DSimEnv + BBController + SimObj)",
		Run: func() ([]refcheck.Check, error) {
			ref, err := readRef(refFile(name))
			if err != nil {
				return nil, err
			}
			p, err := Patient(patient)
			if err != nil {
				return nil, err
			}
			cfg, err := closedLoopConfig(ref, p)
			if err != nil {
				return nil, err
			}
			cfg.KeepStates = true
			res, err := Simulate(cfg)
			if err != nil {
				return nil, err
			}
			checks, err := compareRecords(ref, res.Records)
			if err != nil {
				return nil, err
			}
			if _, _, err := ref.prefixed("x0_"); err != nil {
				return checks, nil // no state columns in this reference
			}
			sc, err := compareStates(ref, res.States)
			if err != nil {
				return nil, err
			}
			return append(checks, sc), nil
		},
	}
}

// closedLoopConfig builds the run of a closed-loop reference table: patient
// p, basal-bolus, Insulet, noiseless Navigator, meals from the CHO column.
func closedLoopConfig(ref *refTable, p Params) (Config, error) {
	t, err := ref.column("t_min")
	if err != nil {
		return Config{}, err
	}
	cho, err := ref.column("CHO")
	if err != nil {
		return Config{}, err
	}
	sensor, err := Sensor("Navigator")
	if err != nil {
		return Config{}, err
	}
	if len(t) < 2 || t[1]-t[0] != sensor.SampleTime {
		return Config{}, fmt.Errorf("t1d: %s: want rows every %v min", ref.file, sensor.SampleTime)
	}
	pump, err := Pump("Insulet")
	if err != nil {
		return Config{}, err
	}
	ctrl, err := NewBasalBolus(p, BasalBolusOptions{})
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Patient: p, Sensor: sensor, Pump: pump, Controller: ctrl, Duration: t[len(t)-1] - t[0]}
	for i, c := range cho {
		if c > 0 {
			cfg.Meals = append(cfg.Meals, Meal{T: t[i] - t[0], Carbs: c * sensor.SampleTime})
		}
	}
	return cfg, nil
}

// runODECase steps the patient model minute by minute with the announced
// carbohydrate of the reference and a constant basal, and compares BG and
// states.
func runODECase(file, patient string) ([]refcheck.Check, error) {
	ref, err := readRef(file)
	if err != nil {
		return nil, err
	}
	p, err := Patient(patient)
	if err != nil {
		return nil, err
	}
	cho, err := ref.column("CHO_announced_g")
	if err != nil {
		return nil, err
	}
	m, err := NewPatientModel(p, Method{})
	if err != nil {
		return nil, err
	}
	bg := make([]float64, len(cho))
	xs := make([][NumStates]float64, len(cho))
	for i := range cho {
		bg[i], xs[i] = m.BG(), m.X()
		if i == len(cho)-1 {
			break
		}
		if err := m.Step(cho[i], p.BasalRate()); err != nil {
			return nil, err
		}
	}
	c, err := compareColumn(ref, "BG_Gsub", bg, "BG (Gs/Vg) every minute", "mg/dL", TolBG, false)
	if err != nil {
		return nil, err
	}
	sc, err := compareStates(ref, xs)
	if err != nil {
		return nil, err
	}
	return []refcheck.Check{c, sc}, nil
}

// compareRecords compares BG and insulin of a closed-loop run with the
// reference columns BG and insulin.
func compareRecords(ref *refTable, recs []Record) ([]refcheck.Check, error) {
	if len(recs) != len(ref.rows) {
		return nil, fmt.Errorf("t1d: %s has %d rows, the run %d", ref.file, len(ref.rows), len(recs))
	}
	bg := make([]float64, len(recs))
	ins := make([]float64, len(recs))
	for i, r := range recs {
		bg[i], ins[i] = r.BG, r.Insulin
	}
	cb, err := compareColumn(ref, "BG", bg, "BG (Gs/Vg) every sample", "mg/dL", TolBG, false)
	if err != nil {
		return nil, err
	}
	ci, err := compareColumn(ref, "insulin", ins, "delivered insulin every sample, error/max(1, |ref|)", "U/min", TolInsulin, true)
	if err != nil {
		return nil, err
	}
	return []refcheck.Check{cb, ci}, nil
}

// compareColumn returns the largest |got − ref| over the rows where the
// reference is a number; with scaled it divides by max(1, |ref|).
func compareColumn(ref *refTable, col string, got []float64, quantity, unit string, tol float64, scaled bool) (refcheck.Check, error) {
	want, err := ref.column(col)
	if err != nil {
		return refcheck.Check{}, err
	}
	if len(want) != len(got) {
		return refcheck.Check{}, fmt.Errorf("t1d: %s has %d rows, the run %d", ref.file, len(want), len(got))
	}
	t, err := ref.column("t_min")
	if err != nil {
		return refcheck.Check{}, err
	}
	c := refcheck.Check{Quantity: quantity, Unit: unit, Tolerance: tol}
	for i, w := range want {
		if math.IsNaN(w) {
			continue
		}
		d := math.Abs(got[i] - w)
		if scaled {
			d /= math.Max(1, math.Abs(w))
		}
		if !(d <= c.MaxError) {
			c.MaxError, c.At = d, t[i]
		}
	}
	return c, nil
}

// compareStates checks the 13 states against the columns starting "x0_" …
// "x12_" and returns the worst one relative to its tolerance
// TolStateRel·max|column| + TolStateAbs.
func compareStates(ref *refTable, xs [][NumStates]float64) (refcheck.Check, error) {
	if len(xs) != len(ref.rows) {
		return refcheck.Check{}, fmt.Errorf("t1d: %s has %d rows, the run %d", ref.file, len(ref.rows), len(xs))
	}
	t, err := ref.column("t_min")
	if err != nil {
		return refcheck.Check{}, err
	}
	info := StateInfos()
	var worst refcheck.Check
	worstRatio := -1.0
	for k := range NumStates {
		name, col, err := ref.prefixed(fmt.Sprintf("x%d_", k))
		if err != nil {
			return refcheck.Check{}, err
		}
		maxAbs := 0.0
		for _, v := range col {
			maxAbs = math.Max(maxAbs, math.Abs(v))
		}
		tol := TolStateRel*maxAbs + TolStateAbs
		for i, w := range col {
			d := math.Abs(xs[i][k] - w)
			if r := d / tol; !(r <= worstRatio) {
				worstRatio = r
				worst = refcheck.Check{
					Quantity:  "worst of the 13 states: " + name + ", tolerance 1e-5·max|column|+1e-9",
					Unit:      info[k].Unit,
					MaxError:  d,
					At:        t[i],
					Tolerance: tol,
				}
			}
		}
	}
	return worst, nil
}

// refTable is a reference CSV: a header row and numeric columns (text such
// as the Time column and empty cells read as NaN).
type refTable struct {
	file   string
	header []string
	rows   [][]float64
}

// refFile names the embedded file of a reference run: the simglucose30
// runs are gzip-compressed.
func refFile(name string) string {
	if strings.HasPrefix(name, "simglucose30/") {
		return name + ".csv.gz"
	}
	return name + ".csv"
}

func readRef(file string) (*refTable, error) {
	b, err := refFiles.ReadFile("refdata/" + file)
	if err != nil {
		return nil, fmt.Errorf("t1d: %w", err)
	}
	if strings.HasSuffix(file, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("t1d: %s: %w", file, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("t1d: %s: %w", file, err)
		}
	}
	return parseRef(file, b)
}

func parseRef(file string, b []byte) (*refTable, error) {
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("t1d: %s: %w", file, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("t1d: %s: no data rows", file)
	}
	t := &refTable{file: file, header: recs[0], rows: make([][]float64, len(recs)-1)}
	for i, r := range recs[1:] {
		row := make([]float64, len(r))
		for j, s := range r {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				v = math.NaN()
			}
			row[j] = v
		}
		t.rows[i] = row
	}
	return t, nil
}

func (t *refTable) column(name string) ([]float64, error) {
	for j, h := range t.header {
		if h == name {
			col := make([]float64, len(t.rows))
			for i, r := range t.rows {
				col[i] = r[j]
			}
			return col, nil
		}
	}
	return nil, fmt.Errorf("t1d: %s: no column %q", t.file, name)
}

// prefixed returns the first column whose name starts with prefix.
func (t *refTable) prefixed(prefix string) (string, []float64, error) {
	for _, h := range t.header {
		if strings.HasPrefix(h, prefix) {
			col, err := t.column(h)
			return h, col, err
		}
	}
	return "", nil, fmt.Errorf("t1d: %s: no column starting %q", t.file, prefix)
}
