package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/doppelhealth/doppel/internal/pkmodel"
	"github.com/doppelhealth/doppel/model/pkpd"
)

// pkDataJSON is what `doppel sim` prints for a PK scenario with a data
// set: one MAP fit per subject.
type pkDataJSON struct {
	File     string          `json:"file"`
	Model    string          `json:"model"`
	Data     string          `json:"data"`
	Records  int             `json:"records"`
	Subjects []pkDataSubject `json:"subjects"`
	// Columns maps the model's covariates to the data set's columns.
	Columns map[string]string `json:"columns"`
}

// pkDataSubject is one subject's MAP fit in pkDataJSON.
type pkDataSubject struct {
	ID           int                `json:"id"`
	Observations int                `json:"observations"`
	Eta          map[string]float64 `json:"eta"`
	OFV          float64            `json:"ofv"`
	Warning      string             `json:"warning,omitempty"`
}

// runPKData predicts PRED and IPRED on every observation record of the
// scenario's data set, writes the table to --out and prints the fits.
func runPKData(e *env, s *pkmodel.Sim, f simFlags) error {
	if f.plot != "" {
		return usageError(fmt.Errorf("%s: --plot is not available with a data set (write the table with --out)", s.File))
	}
	res, err := s.RunData()
	if err != nil {
		return fmt.Errorf("sim %s: %w", s.File, err)
	}
	var files outputs
	defer files.discard()
	ws, err := files.createEach(f.out)
	if err != nil {
		return err
	}
	if ws[0] != nil {
		if err := writePKData(ws[0], s, res); err != nil {
			return fmt.Errorf("writing %s: %w", f.out, err)
		}
	}
	if err := files.commit(); err != nil {
		return err
	}
	out := pkDataJSON{File: s.File, Model: s.Model.Name, Data: s.Data.File, Records: len(res.Rows), Columns: s.Data.Column}
	for _, sub := range res.Subjects {
		eta := map[string]float64{}
		for i, n := range s.Model.IIVNames {
			eta[n] = sub.Eta[i]
		}
		out.Subjects = append(out.Subjects, pkDataSubject{sub.ID, sub.Observations, eta, sub.OFV, sub.Warning})
	}
	if f.json {
		return writeJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "%s: %s on %s, %d records, %d subjects (PRED and IPRED per observation record with --out)\n\n",
		s.File, s.Model.Name, s.Data.File, len(res.Rows), len(res.Subjects))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "ID\tOBS\tOFV")
	for _, n := range s.Model.IIVNames {
		fmt.Fprintf(tw, "\tETA_%s", n)
	}
	fmt.Fprintln(tw)
	for _, sub := range res.Subjects {
		fmt.Fprintf(tw, "%d\t%d\t%.4f", sub.ID, sub.Observations, sub.OFV)
		for _, x := range sub.Eta {
			fmt.Fprintf(tw, "\t%.5f", x)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// writePKData writes the data set's records with PRED, IPRED (mg/L, empty
// on records other than observations) and the subject's η̂, NONMEM-table
// style: ID, TIME, EVID, AMT, CMT, RATE, II, ADDL, SS, MDV, DV, the model's
// covariates read from the data (by model name), PRED, IPRED, ETA_<name>.
func writePKData(w io.Writer, s *pkmodel.Sim, res *pkmodel.DataResult) error {
	var covs []string
	for _, c := range s.Model.Covariates {
		if _, ok := s.Data.Column[c.Name]; ok {
			covs = append(covs, c.Name)
		}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("ID,TIME,EVID,AMT,CMT,RATE,II,ADDL,SS,MDV,DV")
	for _, c := range covs {
		bw.WriteString("," + c)
	}
	bw.WriteString(",PRED,IPRED")
	for _, n := range s.Model.IIVNames {
		bw.WriteString(",ETA_" + n)
	}
	bw.WriteByte('\n')
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	pred := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 10, 64)
	}
	for _, row := range res.Rows {
		r := row.Record
		fmt.Fprintf(bw, "%d,%s,%d,%s,%d,%s,%s,%d,%d,%d,%s", r.ID, num(r.Time), r.EVID, num(r.AMT), r.CMT, num(r.RATE), num(r.II), r.ADDL, r.SS, r.MDV, dvText(r))
		for _, c := range covs {
			bw.WriteString("," + num(r.Covariates[c]))
		}
		bw.WriteString("," + pred(row.PRED) + "," + pred(row.IPRED))
		for _, x := range row.Eta {
			bw.WriteString("," + num(x))
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// dvText is DV as written back: "." on records without one.
func dvText(r pkpd.Record) string {
	if r.MDV == 1 && r.DV == 0 {
		return "."
	}
	return strconv.FormatFloat(r.DV, 'g', -1, 64)
}
