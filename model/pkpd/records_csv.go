package pkpd

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Dataset is a NONMEM-style data set: event records of one or more
// subjects, and the names of the covariate columns.
type Dataset struct {
	// Covariates are the covariate column names, in file order.
	Covariates []string
	Records    []Record
}

// dataItems are the columns with a meaning of their own, in the order
// WriteCSV writes them.
var dataItems = []string{"ID", "TIME", "EVID", "AMT", "CMT", "RATE", "II", "ADDL", "SS", "MDV", "DV"}

// ReadCSV reads a NONMEM-style CSV data set: a header row naming the
// columns (case-insensitive; TIME is required), then one record per row.
// ID, TIME, EVID, AMT, CMT, RATE, II, ADDL, SS, MDV and DV are data items;
// every other column is a numeric covariate. An empty or "." field of a
// data item is 0 (NONMEM's reading); a covariate must have a value. Lines
// starting with '#' are comments. A missing ID column means ID 1; a
// missing EVID column means EVID 1 where AMT > 0 (or RATE > 0 with SS) and
// 0 elsewhere; a missing MDV column means MDV 1 on records other than
// observations and on observations with an empty or "." DV.
//
// Records keep their line (Record.Line), and every error names the line
// and, where it applies, the column: `pkpd: line 5, column AMT: "x" is
// not a number`, `pkpd: line 5: SS=1 needs II > 0`. ReadCSV checks what
// does not depend on a model (Validate with any compartment allowed);
// validate against a model's Spec before simulating.
func ReadCSV(r io.Reader) (*Dataset, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("pkpd: empty data set (no header row)")
	}
	if err != nil {
		return nil, fmt.Errorf("pkpd: %w", err)
	}
	hl, _ := cr.FieldPos(0)
	col := map[string]int{}
	ds := &Dataset{}
	var covCols []int
	for j, h := range header {
		name := strings.TrimSpace(h)
		up := strings.ToUpper(name)
		if name == "" {
			return nil, fmt.Errorf("pkpd: line %d: column %d has no name", hl, j+1)
		}
		if slices.Contains(dataItems, up) {
			if _, dup := col[up]; dup {
				return nil, fmt.Errorf("pkpd: line %d: column %s appears twice", hl, up)
			}
			col[up] = j
			continue
		}
		if slices.Contains(ds.Covariates, name) {
			return nil, fmt.Errorf("pkpd: line %d: column %s appears twice", hl, name)
		}
		ds.Covariates = append(ds.Covariates, name)
		covCols = append(covCols, j)
	}
	if _, ok := col["TIME"]; !ok {
		return nil, fmt.Errorf("pkpd: line %d: no TIME column", hl)
	}
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pkpd: %w", err)
		}
		line, _ := cr.FieldPos(0)
		rec := Record{Line: line}
		num := func(name string) (v float64, missing bool, err error) {
			j, ok := col[name]
			if !ok {
				return 0, true, nil
			}
			s := strings.TrimSpace(row[j])
			if s == "" || s == "." {
				return 0, true, nil
			}
			v, err = strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, false, fmt.Errorf("pkpd: line %d, column %s: %q is not a finite number", line, name, s)
			}
			return v, false, nil
		}
		integer := func(name string, dst *int) error {
			v, _, err := num(name)
			if err != nil {
				return err
			}
			if v != math.Trunc(v) || math.Abs(v) > 1<<31 {
				return fmt.Errorf("pkpd: line %d, column %s: %v is not an integer", line, name, v)
			}
			*dst = int(v)
			return nil
		}
		var dvMissing bool
		for _, f := range []struct {
			name string
			dst  *float64
		}{{"TIME", &rec.Time}, {"AMT", &rec.AMT}, {"RATE", &rec.RATE}, {"II", &rec.II}, {"DV", &rec.DV}} {
			v, missing, err := num(f.name)
			if err != nil {
				return nil, err
			}
			*f.dst = v
			if f.name == "DV" {
				dvMissing = missing
			}
		}
		if _, ok := col["ID"]; ok {
			if err := integer("ID", &rec.ID); err != nil {
				return nil, err
			}
		} else {
			rec.ID = 1
		}
		for _, f := range []struct {
			name string
			dst  *int
		}{{"EVID", &rec.EVID}, {"CMT", &rec.CMT}, {"ADDL", &rec.ADDL}, {"SS", &rec.SS}, {"MDV", &rec.MDV}} {
			if err := integer(f.name, f.dst); err != nil {
				return nil, err
			}
		}
		if _, ok := col["EVID"]; !ok {
			if rec.AMT > 0 || (rec.RATE > 0 && rec.SS != 0) {
				rec.EVID = EVIDDose
			}
		}
		if _, ok := col["MDV"]; !ok {
			if rec.EVID != EVIDObs || dvMissing {
				rec.MDV = 1
			}
		}
		if len(covCols) > 0 {
			rec.Covariates = make(map[string]float64, len(covCols))
			for k, j := range covCols {
				name := ds.Covariates[k]
				s := strings.TrimSpace(row[j])
				if s == "" || s == "." {
					return nil, fmt.Errorf("pkpd: line %d, column %s: missing covariate value", line, name)
				}
				v, err := strconv.ParseFloat(s, 64)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("pkpd: line %d, column %s: %q is not a finite number", line, name, s)
				}
				rec.Covariates[name] = v
			}
		}
		ds.Records = append(ds.Records, rec)
	}
	if err := Validate(ds.Records, Spec{NumCmt: math.MaxInt32, DoseCmt: 1, ObsCmt: 1}); err != nil {
		return nil, err
	}
	return ds, nil
}

// WriteCSV writes a data set as NONMEM-style CSV: the header ID, TIME,
// EVID, AMT, CMT, RATE, II, ADDL, SS, MDV, DV, then the covariates (the
// Dataset's Covariates, or the sorted names found in the records when it
// is nil), then one row per record. Numbers are written in the shortest
// form that reads back exactly; DV is "." when MDV is 1 and DV is 0.
// A record without a value for a covariate column is an error naming it.
func WriteCSV(w io.Writer, d *Dataset) error {
	covs := d.Covariates
	if covs == nil {
		for _, r := range d.Records {
			for name := range r.Covariates {
				if !slices.Contains(covs, name) {
					covs = append(covs, name)
				}
			}
		}
		slices.Sort(covs)
	}
	cw := csv.NewWriter(w)
	header := append(append([]string(nil), dataItems...), covs...)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("pkpd: %w", err)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	row := make([]string, len(header))
	for i := range d.Records {
		r := &d.Records[i]
		dv := f(r.DV)
		if r.MDV == 1 && r.DV == 0 {
			dv = "."
		}
		copy(row, []string{strconv.Itoa(r.ID), f(r.Time), strconv.Itoa(r.EVID), f(r.AMT), strconv.Itoa(r.CMT),
			f(r.RATE), f(r.II), strconv.Itoa(r.ADDL), strconv.Itoa(r.SS), strconv.Itoa(r.MDV), dv})
		for k, name := range covs {
			v, ok := r.Covariates[name]
			if !ok {
				return fmt.Errorf("pkpd: %s: no value for covariate %s", recWhere(d.Records, i), name)
			}
			row[len(dataItems)+k] = f(v)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("pkpd: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("pkpd: %w", err)
	}
	return nil
}
