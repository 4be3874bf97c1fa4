package pkmodel

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/model/pkpd"
)

// MaxOutputs bounds the output times of a simulation.
const MaxOutputs = 1_000_000

// Sim is a decoded PK scenario of `doppel sim`: one patient's model,
// covariates and regimen (the fields of a dosing file), random effects, and
// the output grid.
//
//	model: vancomycin-goti2018
//	patient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}
//	covariates: [{time: 24 h, crcl: 50 mL/min}]   # optional changes, each from its time on
//	doses: [{time: 0 h, amount: 1000 mg, infusion: 1 h, every: 12 h, doses: 6}]
//	eta: {CL: 0.2, Vc: -0.1}         # optional; default 0 (typical patient)
//	outputs: {every: 0.5 h, until: 72 h}
//	genotype: {CYP2D6: "*1/*4"}      # optional: CL × GeneClearance factor, fm from
//	pgx: {CYP2D6: {fm: 0.6}}         # pgx, else the model's metabolism
//	inhibitor: {conc: 2 uM, ki: 0.5 uM, fm: 0.6}   # optional: CL × 1/AUCR
//	pd: {model: emax, e0: 0, emax: 100, ec50: 10 mg/L}  # optional; default: the model's pd
//
// See ClearanceFactors for how genotype and inhibitor change clearance
// and PD for the pharmacodynamic models.
type Sim struct {
	File       string
	Model      *Model
	Covariates map[string]float64 // model units; booleans 1 or 0
	// Changes are the covariates that change during the course (each
	// value holds from its time on, until the next change of the same
	// covariate; Covariates hold before the first).
	Changes []pkpd.CovariateChange
	Doses   []Dose
	// Eta holds the random effects in the order of Model.IIVNames (zeros
	// when the file gives none).
	Eta []float64
	// Every and Until define the output times 0, Every, 2·Every, … ≤ Until
	// (h); Until is always included.
	Every, Until float64
	// Clearance holds the genotyped pathways and the inhibitor.
	Clearance
	// PD is the pharmacodynamic model (the scenario's, else the model's);
	// nil when none.
	PD *PD
	// Data is the scenario's NONMEM-style data set (data:), which then
	// replaces doses, outputs and the other per-patient fields; nil when
	// none. See RunData.
	Data *Data
}

// Times returns the output times in h.
func (s *Sim) Times() []float64 { return grid(s.Every, s.Until) }

func grid(every, until float64) []float64 {
	n := int(math.Floor(until/every + 1e-9))
	ts := make([]float64, 0, n+2)
	for i := 0; i <= n; i++ {
		ts = append(ts, float64(i)*every)
	}
	if until-ts[len(ts)-1] > 1e-9*until {
		ts = append(ts, until)
	} else {
		ts[len(ts)-1] = until
	}
	return ts
}

// Records returns the doses as NONMEM dose records.
func (s *Sim) Records() ([]pkpd.Record, error) { return regimenRecords(s.Doses) }

func regimenRecords(ds []Dose) ([]pkpd.Record, error) {
	rs := make([]pkpd.Regimen, len(ds))
	for i, d := range ds {
		rs[i] = pkpd.Regimen{Time: d.Time, Amount: d.Amount, Infusion: d.Infusion, Every: d.Every, Doses: d.Count}
	}
	return pkpd.RegimenRecords(rs...)
}

// LoadSim reads and decodes the PK scenario at path; a model file is read
// relative to the scenario's directory.
func LoadSim(path string) (*Sim, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pkmodel: %w", err)
	}
	return ParseSim(path, data, fileReader(path))
}

func fileReader(path string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		return os.ReadFile(p)
	}
}

// ParseSim decodes a PK scenario. readModel reads a model file named by the
// model field, and the data set of a data field; nil allows library models
// only (and no data). The error, if any, is a
// *scenario.Error naming file:line and field.
func ParseSim(file string, data []byte, readModel func(string) ([]byte, error)) (*Sim, error) {
	d := scenario.NewDecoder(file, "PK scenario fields (model, patient, covariates, doses, eta, outputs, genotype, pgx, inhibitor, pd; or model, data, columns, patient)")
	root, err := d.Document(data)
	if err != nil {
		return nil, err
	}
	s := &Sim{File: file}
	f := d.Fields(root, "", []string{"model", "patient", "covariates", "doses", "eta", "outputs", "genotype", "pgx", "inhibitor", "pd", "data", "columns"})
	if n, ok := d.Required(root, f, "model", "", "model: vancomycin-goti2018"); ok {
		s.Model = model(d, n, readModel)
	}
	if _, ok := f["data"]; ok {
		dataScenario(d, f, s, readModel)
		if err := d.Err(); err != nil {
			return nil, err
		}
		return s, nil
	}
	if v, ok := f["columns"]; ok {
		d.Errorf(v.Key, "columns", "only with data: (a NONMEM-style CSV data set)")
	}
	if n, ok := d.Required(root, f, "patient", "", "patient: {weight: 80 kg, crcl: 80 mL/min, dialysis: false}"); ok && s.Model != nil {
		s.Covariates = patient(d, n, s.Model)
	}
	if p, ok := f["covariates"]; ok && s.Model != nil {
		s.Changes = covariateChanges(d, p.Val, s.Model)
	}
	if n, ok := d.Required(root, f, "doses", "", "doses: [{time: 0 h, amount: 1000 mg, infusion: 1 h}]"); ok {
		s.Doses = doses(d, n)
	}
	if s.Model != nil {
		s.Eta = make([]float64, len(s.Model.IIVNames))
		if p, ok := f["eta"]; ok {
			etas(d, p.Val, s.Model, s.Eta)
		}
	}
	if n, ok := d.Required(root, f, "outputs", "", "outputs: {every: 0.5 h, until: 72 h}"); ok {
		s.Every, s.Until = outputs(d, n)
	}
	if s.Model != nil {
		var genes []GenotypeDist
		genes, s.Inhibitor = decodeClearance(d, f, s.Model, false)
		for _, g := range genes {
			s.Genes = append(s.Genes, GenePathway{g.Pathway, g.Calls[0]})
		}
		s.PD = s.Model.PD
	}
	if p, ok := f["pd"]; ok {
		s.PD = pdModel(d, p.Val)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// etas decodes eta: {CL: 0.2, ...} into dst (order of m.IIVNames).
func etas(d *scenario.Decoder, n *yaml.Node, m *Model, dst []float64) {
	if len(m.IIVNames) == 0 {
		d.Errorf(n, "eta", "the model %s has no inter-individual variability", m.Name)
		return
	}
	if !mapping(d, n, "eta", "{CL: 0.2}") {
		return
	}
	f := d.FieldsOf(n, "eta", "random effect of the model "+m.Name, m.IIVNames)
	for i, name := range m.IIVNames {
		if p, ok := f[name]; ok {
			// |η| ≤ 5 is e^±5 ≈ ×150 on the typical value: beyond that
			// the value is a typing mistake.
			if x, ok := d.Number(p.Val, "eta."+name, -5, 5, ""); ok {
				dst[i] = x
			}
		}
	}
}

// outputs decodes {every: 0.5 h, until: 72 h}.
func outputs(d *scenario.Decoder, n *yaml.Node) (every, until float64) {
	if !mapping(d, n, "outputs", "{every: 0.5 h, until: 72 h}") {
		return 0, 0
	}
	f := d.Fields(n, "outputs", []string{"every", "until"})
	okE, okU := false, false
	if v, ok := d.Required(n, f, "every", "outputs", "every: 0.5 h"); ok {
		if every, okE = quantity(d, v, "outputs.every", unitH); okE && !(every > 0) {
			d.Errorf(v, "outputs.every", "must be > 0, got %s", v.Value)
			okE = false
		}
	}
	if v, ok := d.Required(n, f, "until", "outputs", "until: 72 h"); ok {
		if until, okU = timeOf(d, v, "outputs.until"); okU && !(until > 0) {
			d.Errorf(v, "outputs.until", "must be > 0, got %s", v.Value)
			okU = false
		}
		if okE && okU && until/every > MaxOutputs {
			d.Errorf(v, "outputs.until", "gives %.0f output times, more than %d: use a larger every", until/every, MaxOutputs)
		}
	}
	return every, until
}

// Profile is the simulated course of one patient.
type Profile struct {
	// Params are the individual parameters at the covariates before any
	// change (with the clearance factors of a scenario applied).
	Params  pkpd.Params
	Times   []float64 // h
	Conc    []float64 // central concentration, mg/L
	NumCmt  int
	Amounts []float64 // mg, row-major: Amounts[i*NumCmt+cmt-1]

	lin   pkpd.Linear
	pf    pkpd.ParamsFunc // the parameters in effect as covariates change
	sched *pkpd.Schedule
}

// ConcAt returns the central concentration in mg/L at times (h,
// non-decreasing, left limits).
func (p *Profile) ConcAt(times []float64) ([]float64, error) {
	c, _, err := p.lin.PredictVarying(p.pf, p.sched, times)
	return c, err
}

// Window returns the exposure over [t1, t2] h, off the output grid (see
// pkpd.Linear.Window).
func (p *Profile) Window(t1, t2 float64) (pkpd.WindowExposure, error) {
	return p.lin.Window(p.pf, p.sched, t1, t2)
}

// Simulate runs the regimen recs for the individual with covariates cov and
// random effects eta (order of m.IIVNames; nil: typical) and returns the
// amounts in every compartment and the central concentration at times
// (non-decreasing, h; left limits: before a dose at the same time).
func Simulate(m *Model, cov map[string]float64, eta []float64, recs []pkpd.Record, times []float64) (*Profile, error) {
	return simulate(m, cov, nil, eta, 1, recs, times)
}

// Simulate runs the scenario's regimen recs at times (h) for random effects
// eta (nil: typical), with the covariate changes, and genotype and
// inhibitor applied to clearance.
func (s *Sim) Simulate(eta []float64, recs []pkpd.Record, times []float64) (*Profile, error) {
	_, f, err := s.ClearanceFactors()
	if err != nil {
		return nil, err
	}
	return simulate(s.Model, s.Covariates, s.Changes, eta, f, recs, times)
}

// simulate runs recs with covariates cov changing by changes (each from
// its time on: pkpd.ApplyCovariates with LOCF), random effects eta and CL
// multiplied by clFactor. Between events the closed form advances with the
// parameters in effect, restarted from the amounts at each event.
func simulate(m *Model, cov map[string]float64, changes []pkpd.CovariateChange, eta []float64, clFactor float64, recs []pkpd.Record, times []float64) (*Profile, error) {
	if eta == nil {
		eta = make([]float64, m.PK.NumEta())
	}
	base, err := m.PK.ParamsFunc(cov, eta)
	if err != nil {
		return nil, err
	}
	pf := func(c map[string]float64) (pkpd.Params, error) {
		p, err := base(c)
		p.CL *= clFactor
		return p, err
	}
	var opt pkpd.ScheduleOptions
	if len(changes) > 0 {
		if recs, err = pkpd.ApplyCovariates(recs, cov, changes); err != nil {
			return nil, err
		}
		opt.Carry = pkpd.LOCF
	}
	lin := m.Linear()
	sched, err := lin.NewSchedule(recs, m.Dosing(), opt)
	if err != nil {
		return nil, err
	}
	p0, err := pf(nil)
	if err != nil {
		return nil, err
	}
	out := &Profile{Params: p0, lin: lin, pf: pf, sched: sched}
	prof, err := lin.SimulateVarying(pf, sched, times)
	if err != nil {
		return nil, err
	}
	out.Times, out.NumCmt, out.Amounts = prof.Times, prof.NumCmt, prof.Amounts
	if out.Conc, err = out.ConcAt(times); err != nil {
		return nil, err
	}
	return out, nil
}

// CmtNames returns the names of the model's compartments in CMT order:
// depot (oral models), central, peripheral1, peripheral2.
func (m *Model) CmtNames() []string {
	var names []string
	if m.Oral {
		names = append(names, "depot")
	}
	names = append(names, "central")
	for i := 1; i < m.Compartments; i++ {
		names = append(names, fmt.Sprintf("peripheral%d", i))
	}
	return names
}

// Metrics are exposure metrics of one profile, off the output grid
// (pkpd.Linear.Window: extrema located between events and refined by
// golden section; AUC by quadrature).
type Metrics struct {
	Cmax float64 // largest concentration, mg/L
	Tmax float64 // its time, h
	// Cmin is the smallest concentration in the window (trial), or the
	// trough just before the last dose (sim), mg/L.
	Cmin float64
	AUC  float64 // area under the concentration curve, mg·h/L
}

// SimMetrics returns Cmax and tmax over [0, Until], the trough just before
// the last dose (the concentration at its time, a left limit; NaN when the
// only dose time is 0 or the last dose is after Until) and the AUC from 0
// to Until.
func (s *Sim) SimMetrics(p *Profile) (Metrics, error) {
	w, err := p.Window(0, s.Until)
	if err != nil {
		return Metrics{}, err
	}
	m := Metrics{Cmax: w.Cmax, Tmax: w.Tmax, AUC: w.AUC, Cmin: math.NaN()}
	last := 0.0
	for _, d := range s.Doses {
		last = max(last, d.Time+float64(max(d.Count-1, 0))*d.Every)
	}
	if last > 0 && last <= s.Until {
		c, err := p.ConcAt([]float64{last})
		if err != nil {
			return Metrics{}, err
		}
		m.Cmin = c[0]
	}
	return m, nil
}

// doseTimes returns the times of every dose in h, sorted.
func doseTimes(ds []Dose) []float64 {
	var ts []float64
	for _, d := range ds {
		for k := range max(d.Count, 1) {
			ts = append(ts, d.Time+float64(k)*d.Every)
		}
	}
	slices.Sort(ts)
	return ts
}

// DoseTimes returns the times of every dose of the scenario in h.
func (s *Sim) DoseTimes() []float64 { return doseTimes(s.Doses) }
