package pkmodel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/model/pkpd"
)

// MaxSubjects bounds the population of a PK trial.
const MaxSubjects = 100_000

// Trial is a decoded population PK simulation of `doppel trial`:
//
//	model: vancomycin-goti2018
//	subjects: 1000
//	seed: 1                            # optional, default 1
//	patient:                           # each covariate fixed or sampled:
//	  weight: {mean: 80 kg, sd: 15 kg, min: 45 kg, max: 150 kg}  # truncated normal
//	  crcl: {min: 40 mL/min, max: 120 mL/min}                    # uniform
//	  dialysis: {probability: 0.1}                               # Bernoulli
//	doses: [{time: 0 h, amount: 1000 mg, infusion: 1 h, every: 12 h, doses: 6}]
//	outputs: {every: 0.5 h, until: 72 h}
//	exposure: {from: 48 h, to: 72 h}   # window of Cmax, Cmin, AUC; default 0 to until
//	iiv: true                          # η ~ N(0, Ω) of the model; false: typical subjects
//	residual: false                    # true: also simulate observations y = f + ε
//	genotype:                          # optional: fixed, or diplotype frequencies sampled per subject
//	  CYP2D6: {"*1/*1": 0.55, "*1/*4": 0.35, "*4/*4": 0.10}
//	pgx: {CYP2D6: {fm: 0.6}}           # optional; default: the model's metabolism
//	inhibitor: {conc: 2 uM, ki: 0.5 uM, enzyme: CYP2D6}   # optional, every subject
//	pd: {model: emax, e0: 0, emax: 100, ec50: 10 mg/L}     # optional; default: the model's pd
//
// genotype, pgx, inhibitor and pd are those of a PK scenario (Sim), except
// that a gene may be given as diplotype frequencies (summing to 1); each
// subject draws its diplotypes after its covariates and before η.
//
// A truncated normal is sampled by rejection: draws outside [min, max] are
// redrawn (min defaults to 0, exclusive when the covariate has a power
// effect; max to 1e6).
type Trial struct {
	File     string
	Model    *Model
	Subjects int
	Seed     uint64
	// Covariates are the patient's covariates in the order of
	// Model.Covariates.
	Covariates []CovariateDist
	Doses      []Dose
	// Every and Until define the output grid (see Sim).
	Every, Until float64
	// From and To are the exposure window, h.
	From, To float64
	IIV      bool
	Residual bool
	// Genes are the genotyped genes (fixed or sampled), Inhibitor the
	// inhibitor every subject takes (nil: none), PD the pharmacodynamic
	// model (nil: none).
	Genes     []GenotypeDist
	Inhibitor *Inhibitor
	PD        *PD
}

// CovariateDist is how a trial sets one covariate (model units).
type CovariateDist struct {
	Name string
	// Kind is "fixed" (Value), "normal" (Mean, SD truncated to
	// [Min, Max]), "uniform" (on [Min, Max]) or "bernoulli" (1 with
	// probability P).
	Kind                         string
	Value, Mean, SD, Min, Max, P float64
	openMin                      bool
}

// sample draws the covariate from rng.
func (c CovariateDist) sample(rng *rand.Rand) (float64, error) {
	switch c.Kind {
	case "normal":
		for range 10000 {
			x := c.Mean + c.SD*rng.NormFloat64()
			if (x > c.Min || (!c.openMin && x == c.Min)) && x <= c.Max {
				return x, nil
			}
		}
		return 0, fmt.Errorf("pkmodel: patient.%s: fewer than 1 in 10000 draws of N(%g, %g²) fall in [%g, %g]", c.Name, c.Mean, c.SD, c.Min, c.Max)
	case "uniform":
		return c.Min + (c.Max-c.Min)*rng.Float64(), nil
	case "bernoulli":
		if rng.Float64() < c.P {
			return 1, nil
		}
		return 0, nil
	}
	return c.Value, nil
}

// Records returns the doses as NONMEM dose records.
func (t *Trial) Records() ([]pkpd.Record, error) { return regimenRecords(t.Doses) }

// DoseTimes returns the times of every dose in h.
func (t *Trial) DoseTimes() []float64 { return doseTimes(t.Doses) }

// LoadTrial reads and decodes the PK trial at path; a model file is read
// relative to its directory.
func LoadTrial(path string) (*Trial, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pkmodel: %w", err)
	}
	return ParseTrial(path, data, fileReader(path))
}

// ParseTrial decodes a PK trial file. readModel reads a model file named by
// the model field; nil allows library models only. The error, if any, is a
// *scenario.Error naming file:line and field.
func ParseTrial(file string, data []byte, readModel func(string) ([]byte, error)) (*Trial, error) {
	d := scenario.NewDecoder(file, "PK trial fields (model, subjects, seed, patient, doses, outputs, exposure, iiv, residual, genotype, pgx, inhibitor, pd)")
	root, err := d.Document(data)
	if err != nil {
		return nil, err
	}
	t := &Trial{File: file, Seed: 1, IIV: true}
	f := d.Fields(root, "", []string{"model", "subjects", "seed", "patient", "doses", "outputs", "exposure", "iiv", "residual", "genotype", "pgx", "inhibitor", "pd"})
	if n, ok := d.Required(root, f, "model", "", "model: vancomycin-goti2018"); ok {
		t.Model = model(d, n, readModel)
	}
	if n, ok := d.Required(root, f, "subjects", "", "subjects: 1000"); ok {
		t.Subjects, _ = d.WholeNumber(n, "subjects", 1, MaxSubjects)
	}
	if p, ok := f["seed"]; ok {
		if x, ok := d.WholeNumber(p.Val, "seed", 0, math.MaxInt); ok {
			t.Seed = uint64(x)
		}
	}
	if n, ok := d.Required(root, f, "patient", "", "patient: {weight: {mean: 80 kg, sd: 15 kg, min: 45 kg}, crcl: 80 mL/min, dialysis: false}"); ok && t.Model != nil {
		t.Covariates = trialPatient(d, n, t.Model)
	}
	if n, ok := d.Required(root, f, "doses", "", "doses: [{time: 0 h, amount: 1000 mg, infusion: 1 h}]"); ok {
		t.Doses = doses(d, n)
	}
	okOut := false
	if n, ok := d.Required(root, f, "outputs", "", "outputs: {every: 0.5 h, until: 72 h}"); ok {
		t.Every, t.Until = outputs(d, n)
		okOut = t.Every > 0 && t.Until > 0
	}
	t.From, t.To = 0, t.Until
	if p, ok := f["exposure"]; ok && mapping(d, p.Val, "exposure", "{from: 48 h, to: 72 h}") {
		ef := d.Fields(p.Val, "exposure", []string{"from", "to"})
		var okF, okT bool
		if v, ok := d.Required(p.Val, ef, "from", "exposure", "from: 48 h"); ok {
			t.From, okF = timeOf(d, v, "exposure.from")
		}
		if v, ok := d.Required(p.Val, ef, "to", "exposure", "to: 72 h"); ok {
			if t.To, okT = timeOf(d, v, "exposure.to"); okT && okF && okOut && !(t.From < t.To && t.To <= t.Until) {
				d.Errorf(v, "exposure.to", "the window must satisfy from < to <= outputs.until (%g h), got %g h to %g h", t.Until, t.From, t.To)
			}
		}
	}
	if p, ok := f["iiv"]; ok {
		t.IIV, _ = d.Boolean(p.Val, "iiv")
		if t.IIV && t.Model != nil && len(t.Model.IIVNames) == 0 {
			d.Errorf(p.Val, "iiv", "the model %s has no inter-individual variability; write iiv: false", t.Model.Name)
		}
	}
	if t.Model != nil && len(t.Model.IIVNames) == 0 {
		t.IIV = false
	}
	if p, ok := f["residual"]; ok {
		t.Residual, _ = d.Boolean(p.Val, "residual")
	}
	if t.Model != nil {
		t.Genes, t.Inhibitor = decodeClearance(d, f, t.Model, true)
		t.PD = t.Model.PD
	}
	if p, ok := f["pd"]; ok {
		t.PD = pdModel(d, p.Val)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

// trialPatient decodes the covariates of a trial: a value as in a dosing
// file, or a distribution.
func trialPatient(d *scenario.Decoder, n *yaml.Node, m *Model) []CovariateDist {
	if !mapping(d, n, "patient", "{weight: {mean: 80 kg, sd: 15 kg}, crcl: 80 mL/min}") {
		return nil
	}
	var names []string
	for _, c := range m.Covariates {
		names = append(names, c.Name)
	}
	f := d.FieldsOf(n, "patient", "covariate of the model "+m.Name, names)
	var out []CovariateDist
	var missing []string
	for _, c := range m.Covariates {
		p, ok := f[c.Name]
		if !ok {
			missing = append(missing, c.Name)
			continue
		}
		path := "patient." + c.Name
		cd := CovariateDist{Name: c.Name, Kind: "fixed"}
		power := slices.ContainsFunc(c.Effects, func(e Effect) bool { return e.Kind == "power" })
		v := p.Val
		if c.Boolean {
			if v.Kind == yaml.MappingNode {
				pf := d.Fields(v, path, []string{"probability"})
				if pv, ok := d.Required(v, pf, "probability", path, "probability: 0.1"); ok {
					cd.Kind = "bernoulli"
					cd.P, ok = d.Number(pv, path+".probability", 0, 1, "")
					if !ok {
						continue
					}
				}
			} else if b, ok := d.Boolean(v, path); ok {
				cd.Value = float64(boolInt(b))
			} else {
				continue
			}
			out = append(out, cd)
			continue
		}
		if v.Kind != yaml.MappingNode {
			x, ok := quantity(d, v, path, c.unit)
			if !ok {
				continue
			}
			if (power && x <= 0) || x < 0 || x > maxValue {
				d.Errorf(v, path, "must be > 0 (>= 0 without a power effect) and <= %g %s, got %s", maxValue, c.Unit, v.Value)
				continue
			}
			cd.Value = x
			out = append(out, cd)
			continue
		}
		pf := d.Fields(v, path, []string{"mean", "sd", "min", "max"})
		get := func(k string) (float64, bool, bool) {
			pv, has := pf[k]
			if !has {
				return 0, false, true
			}
			x, ok := quantity(d, pv.Val, path+"."+k, c.unit)
			if ok && (x < 0 || x > maxValue) {
				d.Errorf(pv.Val, path+"."+k, "must be >= 0 and <= %g %s, got %s", maxValue, c.Unit, pv.Val.Value)
				ok = false
			}
			return x, true, ok
		}
		mean, hasMean, ok1 := get("mean")
		sd, hasSD, ok2 := get("sd")
		lo, hasMin, ok3 := get("min")
		hi, hasMax, ok4 := get("max")
		if !(ok1 && ok2 && ok3 && ok4) {
			continue
		}
		switch {
		case hasMean != hasSD:
			d.Errorf(v, path, "give both mean and sd for a normal distribution (or min and max alone for a uniform one)")
			continue
		case hasMean:
			cd.Kind, cd.Mean, cd.SD = "normal", mean, sd
			cd.Min, cd.Max, cd.openMin = 0, maxValue, power
			if hasMin {
				cd.Min, cd.openMin = lo, power && lo == 0
			}
			if hasMax {
				cd.Max = hi
			}
			if !(sd > 0) {
				d.Errorf(pf["sd"].Val, path+".sd", "must be > 0 (write a single value for a fixed covariate)")
				continue
			}
		case hasMin && hasMax:
			cd.Kind, cd.Min, cd.Max = "uniform", lo, hi
			if power && lo <= 0 {
				d.Errorf(pf["min"].Val, path+".min", "must be > 0: %s has a power effect", c.Name)
				continue
			}
		default:
			d.Errorf(v, path, "must be a value such as %q, {mean: ..., sd: ..., min: ..., max: ...} (truncated normal) or {min: ..., max: ...} (uniform)", "80 "+c.Unit)
			continue
		}
		if !(cd.Min < cd.Max) {
			d.Errorf(v, path, "min must be below max, got %g to %g %s", cd.Min, cd.Max, c.Unit)
			continue
		}
		out = append(out, cd)
	}
	if len(missing) > 0 {
		d.Errorf(n, "patient", "missing covariate %v of the model %s", missing, m.Name)
	}
	return out
}

// TrialResult holds a simulated population, subjects in index order.
type TrialResult struct {
	Times    []float64 // h
	CovNames []string
	// Covariates[i] are subject i's covariates (order of CovNames), Eta[i]
	// the random effects (order of Model.IIVNames), Params[i] the
	// individual parameters.
	Covariates [][]float64
	Eta        [][]float64
	Params     []pkpd.Params
	// Conc[i][k] is subject i's concentration at Times[k] (mg/L), Obs the
	// same with residual error (nil without it; not censored, so it can be
	// negative where f is near 0 and the model has an additive part).
	Conc, Obs [][]float64
	// Metrics[i] are subject i's exposure metrics in the window [From, To],
	// off the output grid (Profile.Window).
	Metrics []Metrics
	// Genotypes[i] are subject i's diplotypes (order of Trial.Genes) and
	// CLFactor[i] the product of its clearance factors (1 without
	// genotype and inhibitor); nil without either.
	Genotypes [][]string
	CLFactor  []float64
	// Effect[i] is subject i's effect at Times (nil without PD) and
	// EffectMetrics[i] its extremes on the output grid in the window.
	Effect        [][]float64
	EffectMetrics []PDMetrics
}

// Run simulates the population on workers goroutines (≤ 0: 1). Subject i
// draws its covariates, then η, then the residual errors, from a PCG seeded
// with (Seed, i), so results do not depend on workers.
func (t *Trial) Run(ctx context.Context, workers int) (*TrialResult, error) {
	recs, err := regimenRecords(t.Doses)
	if err != nil {
		return nil, err
	}
	var iiv *pkpd.IIV
	if t.IIV {
		om, err := t.Model.PK.Omega()
		if err != nil {
			return nil, err
		}
		if iiv, err = pkpd.NewIIV(t.Model.IIVNames, om); err != nil {
			return nil, err
		}
	}
	times := grid(t.Every, t.Until)
	n := t.Subjects
	r := &TrialResult{
		Times: times, Covariates: make([][]float64, n), Eta: make([][]float64, n),
		Params: make([]pkpd.Params, n), Conc: make([][]float64, n), Metrics: make([]Metrics, n),
	}
	for _, c := range t.Covariates {
		r.CovNames = append(r.CovNames, c.Name)
	}
	if t.Residual {
		r.Obs = make([][]float64, n)
	}
	if len(t.Genes) > 0 || t.Inhibitor != nil {
		r.Genotypes, r.CLFactor = make([][]string, n), make([]float64, n)
	}
	if t.PD != nil {
		r.Effect, r.EffectMetrics = make([][]float64, n), make([]PDMetrics, n)
	}
	breaks := breakpoints(t.Model, t.Doses)
	one := func(i int) error {
		rng := rand.New(rand.NewPCG(t.Seed, uint64(i)))
		cov := make(map[string]float64, len(t.Covariates))
		r.Covariates[i] = make([]float64, len(t.Covariates))
		for k, c := range t.Covariates {
			x, err := c.sample(rng)
			if err != nil {
				return err
			}
			cov[c.Name], r.Covariates[i][k] = x, x
		}
		cl := Clearance{Inhibitor: t.Inhibitor}
		for _, g := range t.Genes {
			cl.Genes = append(cl.Genes, g.sample(rng))
		}
		_, factor, err := cl.ClearanceFactors()
		if err != nil {
			return fmt.Errorf("subject %d: %w", i+1, err)
		}
		if r.CLFactor != nil {
			r.CLFactor[i] = factor
			for _, g := range cl.Genes {
				r.Genotypes[i] = append(r.Genotypes[i], g.Call.Diplotype.String())
			}
		}
		eta := make([]float64, t.Model.PK.NumEta())
		if iiv != nil {
			iiv.SampleEta(eta, rng)
		}
		r.Eta[i] = eta
		p, err := simulate(t.Model, cov, nil, eta, factor, recs, times)
		if err != nil {
			return fmt.Errorf("subject %d: %w", i+1, err)
		}
		r.Params[i], r.Conc[i] = p.Params, p.Conc
		if t.Residual {
			obs := make([]float64, len(times))
			for k, f := range p.Conc {
				obs[k] = t.Model.Residual.Sample(rng, f)
			}
			r.Obs[i] = obs
		}
		w, err := p.Window(t.From, t.To)
		if err != nil {
			return fmt.Errorf("subject %d: %w", i+1, err)
		}
		r.Metrics[i] = Metrics{Cmax: w.Cmax, Tmax: w.Tmax, Cmin: w.Cmin, AUC: w.AUC}
		if t.PD != nil {
			e, err := t.PD.effect(p, breaks)
			if err != nil {
				return fmt.Errorf("subject %d: %w", i+1, err)
			}
			r.Effect[i] = e.Effect
			lo, hi := windowIndex(times, t.From, t.To)
			em := EffectMetrics(times[lo:hi], e.Effect[lo:hi])
			r.EffectMetrics[i] = em
		}
		return nil
	}

	workers = max(min(workers, n), 1)
	jobs := make(chan int)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				errs[i] = one(i)
			}
		})
	}
feed:
	for i := range n {
		select {
		case <-ctx.Done():
			break feed
		case jobs <- i:
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// windowIndex returns the range [lo, hi) of the sorted times in [from, to].
func windowIndex(times []float64, from, to float64) (int, int) {
	lo, _ := slices.BinarySearch(times, from)
	hi := lo
	for hi < len(times) && times[hi] <= to {
		hi++
	}
	return lo, hi
}

// Quantile returns the p-quantile (0 ≤ p ≤ 1) of sorted (ascending, not
// empty) by linear interpolation between order statistics: Hyndman & Fan
// (1996) type 7, R's default, h = (n−1)p.
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// Bands returns, for each p of ps, the p-quantile across subjects at each
// output time of the concentrations (obs false) or of the simulated
// observations (obs true; nil when the trial has no residual error).
func (r *TrialResult) Bands(ps []float64, obs bool) [][]float64 {
	src := r.Conc
	if obs {
		src = r.Obs
	}
	return bands(src, len(r.Times), ps)
}

// EffectBands returns, for each p of ps, the p-quantile across subjects at
// each output time of the PD effect (nil without a PD model).
func (r *TrialResult) EffectBands(ps []float64) [][]float64 {
	return bands(r.Effect, len(r.Times), ps)
}

// bands returns the ps-quantiles across the rows of src at each of its n
// columns; nil for a nil src.
func bands(src [][]float64, n int, ps []float64) [][]float64 {
	if src == nil {
		return nil
	}
	out := make([][]float64, len(ps))
	for j := range ps {
		out[j] = make([]float64, n)
	}
	col := make([]float64, len(src))
	for k := range n {
		for i := range src {
			col[i] = src[i][k]
		}
		slices.Sort(col)
		for j, p := range ps {
			out[j][k] = Quantile(col, p)
		}
	}
	return out
}

// Summarize returns the median and the 5th and 95th percentiles of xs
// (type 7 quantiles; xs is not modified).
func Summarize(xs []float64) (median, p5, p95 float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	return Quantile(s, 0.5), Quantile(s, 0.05), Quantile(s, 0.95)
}
