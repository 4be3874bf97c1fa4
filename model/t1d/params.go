package t1d

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// The parameter tables of simglucose a6f6777, copied unchanged (params/README.md).
//
//go:embed params/vpatient_params.csv params/Quest.csv params/sensor_params.csv params/pump_params.csv
var paramFiles embed.FS

// tables holds the parsed parameter files. It is computed once and never
// modified afterwards; accessors hand out copies.
type tables struct {
	patients []Params
	sensors  []SensorParams
	pumps    []PumpParams
}

var loadTables = sync.OnceValues(parseTables)

// Patients returns the names of the 30 virtual patients in simglucose's
// order: adolescent#001-#010, adult#001-#010, child#001-#010.
func Patients() []string {
	t := mustTables()
	names := make([]string, len(t.patients))
	for i, p := range t.patients {
		names[i] = p.Name
	}
	return names
}

// Patient returns the parameters of the named virtual patient, for example
// "adult#001". Names are case-sensitive, as in simglucose.
func Patient(name string) (Params, error) {
	t := mustTables()
	for _, p := range t.patients {
		if p.Name == name {
			return p, nil
		}
	}
	return Params{}, fmt.Errorf("t1d: unknown patient %q (valid: adolescent#001 to adolescent#010, adult#001 to adult#010, child#001 to child#010)", name)
}

// Sensors returns the names of the CGM sensors: Dexcom, GuardianRT, Navigator.
func Sensors() []string {
	t := mustTables()
	names := make([]string, len(t.sensors))
	for i, s := range t.sensors {
		names[i] = s.Name
	}
	return names
}

// Sensor returns the parameters of the named CGM sensor.
func Sensor(name string) (SensorParams, error) {
	t := mustTables()
	for _, s := range t.sensors {
		if s.Name == name {
			return s, nil
		}
	}
	return SensorParams{}, fmt.Errorf("t1d: unknown sensor %q (valid: %s)", name, strings.Join(Sensors(), ", "))
}

// Pumps returns the names of the insulin pumps: Cozmo, Insulet.
func Pumps() []string {
	t := mustTables()
	names := make([]string, len(t.pumps))
	for i, p := range t.pumps {
		names[i] = p.Name
	}
	return names
}

// Pump returns the parameters of the named insulin pump.
func Pump(name string) (PumpParams, error) {
	t := mustTables()
	for _, p := range t.pumps {
		if p.Name == name {
			return p, nil
		}
	}
	return PumpParams{}, fmt.Errorf("t1d: unknown pump %q (valid: %s)", name, strings.Join(Pumps(), ", "))
}

// mustTables returns the parsed tables. The files are embedded and checked
// by the tests, so a parse failure is a build defect, not a runtime
// condition.
func mustTables() *tables {
	t, err := loadTables()
	if err != nil {
		panic(err)
	}
	return t
}

// table is a parsed CSV file with a header row.
type table struct {
	file string
	col  map[string]int
	rows [][]string
}

func readTable(file string) (*table, error) {
	b, err := paramFiles.ReadFile("params/" + file)
	if err != nil {
		return nil, fmt.Errorf("t1d: %w", err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("t1d: %s: %w", file, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("t1d: %s: no data rows", file)
	}
	t := &table{file: file, col: make(map[string]int), rows: recs[1:]}
	for i, h := range recs[0] {
		t.col[h] = i
	}
	return t, nil
}

// float returns column name of row i as a float64.
func (t *table) float(i int, name string) (float64, error) {
	j, ok := t.col[name]
	if !ok {
		return 0, fmt.Errorf("t1d: %s: no column %q", t.file, name)
	}
	v, err := strconv.ParseFloat(t.rows[i][j], 64)
	if err != nil {
		return 0, fmt.Errorf("t1d: %s row %d column %q: %w", t.file, i+2, name, err)
	}
	return v, nil
}

// fields reads the named columns of row i into the pointed-to values.
func (t *table) fields(i int, cols []string, dst []*float64) error {
	for k, c := range cols {
		v, err := t.float(i, c)
		if err != nil {
			return err
		}
		*dst[k] = v
	}
	return nil
}

func parseTables() (*tables, error) {
	vp, err := readTable("vpatient_params.csv")
	if err != nil {
		return nil, err
	}
	quest, err := readTable("Quest.csv")
	if err != nil {
		return nil, err
	}
	sp, err := readTable("sensor_params.csv")
	if err != nil {
		return nil, err
	}
	pp, err := readTable("pump_params.csv")
	if err != nil {
		return nil, err
	}
	t := &tables{}

	questRow := make(map[string]int, len(quest.rows))
	for i, r := range quest.rows {
		questRow[r[quest.col["Name"]]] = i
	}
	for i, r := range vp.rows {
		var p Params
		p.Name = r[vp.col["Name"]]
		cols := []string{"BW", "Vg", "Vi", "kmax", "kmin", "kabs", "b", "d", "f", "kp1", "kp2", "kp3", "Fsnc",
			"ke1", "ke2", "k1", "k2", "Vm0", "Vmx", "Km0", "m1", "m2", "m4", "m30", "ka1", "ka2", "kd", "p2u",
			"Ib", "ki", "ksc", "u2ss"}
		dst := []*float64{&p.BW, &p.Vg, &p.Vi, &p.Kmax, &p.Kmin, &p.Kabs, &p.B, &p.D, &p.F, &p.Kp1, &p.Kp2, &p.Kp3, &p.Fsnc,
			&p.Ke1, &p.Ke2, &p.K1, &p.K2, &p.Vm0, &p.Vmx, &p.Km0, &p.M1, &p.M2, &p.M4, &p.M30, &p.Ka1, &p.Ka2, &p.Kd, &p.P2u,
			&p.Ib, &p.Ki, &p.Ksc, &p.U2ss}
		if err := vp.fields(i, cols, dst); err != nil {
			return nil, err
		}
		for k := range NumStates {
			// Initial-state columns x0_ 1 … x0_13 (the first nine with a space).
			if p.X0[k], err = vp.float(i, fmt.Sprintf("x0_%2d", k+1)); err != nil {
				return nil, err
			}
		}
		q, ok := questRow[p.Name]
		if !ok {
			return nil, fmt.Errorf("t1d: Quest.csv: no row for %q", p.Name)
		}
		if err := quest.fields(q, []string{"CR", "CF", "Age", "TDI"}, []*float64{&p.CR, &p.CF, &p.Age, &p.TDI}); err != nil {
			return nil, err
		}
		t.patients = append(t.patients, p)
	}
	for i, r := range sp.rows {
		s := SensorParams{Name: r[sp.col["Name"]]}
		err := sp.fields(i, []string{"PACF", "gamma", "lambda", "delta", "xi", "sample_time", "min", "max"},
			[]*float64{&s.PACF, &s.Gamma, &s.Lambda, &s.Delta, &s.Xi, &s.SampleTime, &s.Min, &s.Max})
		if err != nil {
			return nil, err
		}
		t.sensors = append(t.sensors, s)
	}
	for i, r := range pp.rows {
		p := PumpParams{Name: r[pp.col["Name"]]}
		err := pp.fields(i, []string{"min_bolus", "max_bolus", "inc_bolus", "min_basal", "max_basal", "inc_basal"},
			[]*float64{&p.MinBolus, &p.MaxBolus, &p.IncBolus, &p.MinBasal, &p.MaxBasal, &p.IncBasal})
		if err != nil {
			return nil, err
		}
		t.pumps = append(t.pumps, p)
	}
	return t, nil
}
