package pkmodel

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/doppelhealth/doppel/assim"
	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/model/pkpd"
)

// Data is the NONMEM-style data set of a PK scenario (`data:` instead of
// doses and outputs):
//
//	model: vancomycin-goti2018
//	data: pk_vanco_data.csv          # relative to the scenario file
//	columns: {weight: WT, crcl: CRCL} # optional: model covariate → column
//	patient: {dialysis: false}       # optional: covariates no column gives
//
// The CSV is read by pkpd.ReadCSV (ID, TIME, EVID, AMT, CMT, RATE, II,
// ADDL, SS, MDV, DV and covariate columns; NONMEM's defaults for missing
// items) in the units of the package: TIME in h, AMT in mg, RATE in mg/h,
// DV in mg/L, CMT numbered as the model's ADVAN (an oral model's depot is
// 1). A model covariate is read from the column columns names, else from
// the column of the same name (case-insensitive), in the unit the model
// file declares for it (CrCL in mL/min, weight in kg; a boolean as 1 or
// 0); columns the model does not use are ignored. Covariates change at
// records by NONMEM's rule (NOCB: a record's values apply to the advance
// that ends at it).
type Data struct {
	File string // as written in the scenario
	Set  *pkpd.Dataset
	// Column maps each model covariate read from the data to its column.
	Column map[string]string
}

// DataRow is one record of a data set with its predictions.
type DataRow struct {
	Record pkpd.Record
	// PRED is the population prediction (η = 0) and IPRED the individual
	// prediction (the subject's MAP η̂) in mg/L, on observation records
	// (EVID 0); NaN on the others.
	PRED, IPRED float64
	Eta         []float64 // the subject's η̂ (order of Model.IIVNames)
}

// DataSubject is one subject's MAP fit to its observations (MDV 0).
type DataSubject struct {
	ID           int
	Observations int
	Eta          []float64 // order of Model.IIVNames; zeros without observations
	OFV          float64   // objective at η̂ (0 without observations)
	// Warning is set when the posterior standard errors are not available
	// (the Hessian at η̂ is not positive definite).
	Warning string
}

// DataResult is the outcome of Sim.RunData, rows in file order.
type DataResult struct {
	Rows     []DataRow
	Subjects []DataSubject
}

// dataKeys are the fields a scenario with data must not have.
var dataKeys = []string{"doses", "outputs", "covariates", "eta", "genotype", "pgx", "inhibitor", "pd"}

// dataScenario decodes data:, columns: and the optional partial patient:
// of a scenario with a data set.
func dataScenario(d *scenario.Decoder, f map[string]scenario.Field, s *Sim, read func(string) ([]byte, error)) {
	for _, k := range dataKeys {
		if v, ok := f[k]; ok {
			d.Errorf(v.Key, k, "not with data: the data set gives the doses, times and covariates (leave %s out)", k)
		}
	}
	dv := f["data"].Val
	name, ok := d.Str(dv, "data", "a CSV file such as pk_vanco_data.csv")
	if !ok || s.Model == nil {
		return
	}
	if read == nil {
		d.Errorf(dv, "data", "data files cannot be read here")
		return
	}
	raw, err := read(name)
	if err != nil {
		d.Errorf(dv, "data", "%v", err)
		return
	}
	set, err := pkpd.ReadCSV(bytes.NewReader(raw))
	if err != nil {
		d.Errorf(dv, "data", "%s: %s", name, strings.TrimPrefix(err.Error(), "pkpd: "))
		return
	}
	data := &Data{File: name, Set: set, Column: map[string]string{}}
	var names []string
	for _, c := range s.Model.Covariates {
		names = append(names, c.Name)
	}
	given := map[string]string{}
	var cf map[string]scenario.Field
	if p, ok := f["columns"]; ok && mapping(d, p.Val, "columns", "{weight: WT}") {
		cf = d.FieldsOf(p.Val, "columns", "covariate of the model "+s.Model.Name, names)
		for k, v := range cf {
			if col, ok := d.Str(v.Val, "columns."+k, "a column name such as WT"); ok {
				if !slices.Contains(set.Covariates, col) {
					d.Errorf(v.Val, "columns."+k, "%s has no column %q (covariate columns: %s)", name, col, strings.Join(set.Covariates, ", "))
					continue
				}
				given[k] = col
			}
		}
	}
	s.Covariates = map[string]float64{}
	var pf map[string]scenario.Field
	if p, ok := f["patient"]; ok && mapping(d, p.Val, "patient", "{dialysis: false}") {
		pf = d.FieldsOf(p.Val, "patient", "covariate of the model "+s.Model.Name, names)
	}
	for i := range s.Model.Covariates {
		c := &s.Model.Covariates[i]
		col, ok := given[c.Name]
		if !ok {
			if j := slices.IndexFunc(set.Covariates, func(h string) bool { return strings.EqualFold(h, c.Name) }); j >= 0 {
				col, ok = set.Covariates[j], true
			}
		}
		pv, inPatient := pf[c.Name]
		_, named := cf[c.Name]
		switch {
		case !ok && named:
			// reported at columns
		case ok && inPatient:
			d.Errorf(pv.Key, "patient."+c.Name, "is also the column %s of %s: give it once", col, name)
		case ok:
			data.Column[c.Name] = col
		case inPatient:
			if x, ok := covariateValue(d, pv.Val, "patient."+c.Name, c); ok {
				s.Covariates[c.Name] = x
			}
		default:
			d.Errorf(dv, "data", "%s has no column for the covariate %s of the model %s (covariate columns: %s): name one with columns: {%s: COLUMN} or give it in patient:", name, c.Name, s.Model.Name, strings.Join(set.Covariates, ", "), c.Name)
		}
	}
	if d.Err() != nil {
		return
	}
	// Covariate values in the records, by model name; each record's
	// values are checked as a patient field's would be.
	for i := range set.Records {
		r := &set.Records[i]
		cov := make(map[string]float64, len(data.Column))
		for mc, col := range data.Column {
			x := r.Covariates[col]
			c, _ := s.Model.Covariate(mc)
			if msg := checkCovariate(c, x); msg != "" {
				d.Errorf(dv, "data", "%s: line %d, column %s: %s", name, r.Line, col, msg)
				return
			}
			cov[mc] = x
		}
		r.Covariates = cov
	}
	if err := pkpd.Validate(set.Records, s.Model.Linear().Spec()); err != nil {
		d.Errorf(dv, "data", "%s: %s", name, strings.TrimPrefix(err.Error(), "pkpd: "))
		return
	}
	s.Data = data
}

// checkCovariate returns why x is not a valid value of c ("" if it is).
func checkCovariate(c *Covariate, x float64) string {
	power := slices.ContainsFunc(c.Effects, func(e Effect) bool { return e.Kind == "power" })
	switch {
	case c.Boolean && x != 0 && x != 1:
		return fmt.Sprintf("%s is a boolean: want 0 or 1, got %g", c.Name, x)
	case power && x <= 0:
		return fmt.Sprintf("%s must be > 0 %s, got %g", c.Name, c.Unit, x)
	case x < 0:
		return fmt.Sprintf("%s must be >= 0 %s, got %g", c.Name, c.Unit, x)
	case x > maxValue:
		return fmt.Sprintf("%s must be <= %g %s, got %g", c.Name, maxValue, c.Unit, x)
	}
	return ""
}

// RunData predicts every observation record of the scenario's data set:
// PRED with η = 0 and IPRED with each subject's MAP η̂ (pkpd.FitRecords on
// its observations with MDV 0, covariates by NOCB), both with the file
// order's semantics at equal times (pkpd.Schedule).
func (s *Sim) RunData() (*DataResult, error) {
	if s.Data == nil {
		return nil, fmt.Errorf("pkmodel: %s has no data set", s.File)
	}
	recs := s.Data.Set.Records
	pk := s.Model.PK
	res := &DataResult{Rows: make([]DataRow, len(recs))}
	opt := pkpd.ScheduleOptions{Carry: pkpd.NOCB}
	for _, se := range pkpd.Subjects(recs) {
		sub := recs[se[0]:se[1]]
		ds := DataSubject{ID: sub[0].ID, Eta: make([]float64, pk.NumEta())}
		for _, r := range sub {
			if r.EVID == pkpd.EVIDObs && r.MDV == 0 {
				ds.Observations++
			}
		}
		if ds.Observations > 0 {
			fit, err := pkpd.FitRecords(pk, s.Covariates, sub, &pkpd.FitSettings{Schedule: opt})
			if err != nil && !(errors.Is(err, assim.ErrHessian) && fit != nil) {
				return nil, fmt.Errorf("pkmodel: %s: ID %d: %w", s.Data.File, ds.ID, err)
			}
			if err != nil {
				ds.Warning = "no standard errors (the Hessian at the estimate is not positive definite)"
			}
			ds.Eta, ds.OFV = fit.Eta, fit.OFV
		}
		_, pred, err := pk.PredictRecords(s.Covariates, make([]float64, pk.NumEta()), sub, nil, opt)
		if err != nil {
			return nil, fmt.Errorf("pkmodel: %s: ID %d: %w", s.Data.File, ds.ID, err)
		}
		_, ipred, err := pk.PredictRecords(s.Covariates, ds.Eta, sub, nil, opt)
		if err != nil {
			return nil, fmt.Errorf("pkmodel: %s: ID %d: %w", s.Data.File, ds.ID, err)
		}
		k := 0
		for j, r := range sub {
			row := DataRow{Record: r, PRED: math.NaN(), IPRED: math.NaN(), Eta: ds.Eta}
			if r.EVID == pkpd.EVIDObs {
				row.PRED, row.IPRED = pred[k], ipred[k]
				k++
			}
			res.Rows[se[0]+j] = row
		}
		res.Subjects = append(res.Subjects, ds)
	}
	return res, nil
}
