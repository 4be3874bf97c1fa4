package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/pkmodel"
	"github.com/doppelhealth/doppel/internal/store"
	"github.com/doppelhealth/doppel/internal/twin"
	"github.com/doppelhealth/doppel/model/pkpd"
)

// A drug what-if (POST /twin/{patient}/whatif with plans carrying "drug")
// runs a regimen through a library population PK model at the patient's
// covariates, read from the record:
//
//   - weight: body weight as the glucose twin reads it (LOINC 29463-7,
//     latest result, 10-350 kg);
//   - crcl (mL/min): the latest LOINC 35591-7 "Creatinine renal clearance
//     predicted by Cockcroft-Gault formula", else Cockcroft-Gault from the
//     latest serum creatinine (LOINC 2160-0 in mg/dL, or 14682-9 in
//     umol/L), the age at that measurement (Patient.birthDate), the sex
//     (Patient.gender male or female) and the weight: (140 − age)·weight /
//     (72·SCr), ×0.85 for a woman, SCr raised to 1 mg/dL above 60 years
//     as Goti 2018 does;
//   - any covariate the plan gives (in the model's unit) instead.
//
// A covariate neither the record nor the plan gives is an error naming
// it: nothing is guessed. Measured drug levels are not fitted (the
// doses given are not read from the record), so the curves are
// population predictions; the live twins are not touched.
const (
	loincCrCLCG     = "35591-7"
	loincSCrMass    = "2160-0"  // mg/dL
	loincSCrMolar   = "14682-9" // umol/L
	umolPerMgDL     = 88.42     // creatinine, umol/L per mg/dL
	drugSubjects    = 500
	drugSeed        = 20260101
	drugStepH       = 0.25
	maxDrugHorizonH = 14 * 24
	maxDrugDoses    = 200
)

// drugTwins serves the twins' what-if, handing plans with a drug to the
// PK engine; the rest of twin.Manager is served as it is.
type drugTwins struct {
	*twin.Manager
	svc *fhirops.Service
}

// WhatIf forecasts glucose plans with the twin, or drug plans with the
// PK engine after a do-nothing branch (no drug: zero concentration). A
// request is one kind or the other.
func (d drugTwins) WhatIf(ctx context.Context, patient string, plans []twin.Plan) ([]twin.Branch, error) {
	n := 0
	for _, pl := range plans {
		if pl.Drug != nil {
			n++
		}
	}
	switch {
	case n == 0:
		return d.Manager.WhatIf(ctx, patient, plans)
	case n < len(plans):
		return nil, errors.New("twin: plans mix drug and glucose: send them in separate requests")
	case len(plans) > twin.MaxPlans:
		return nil, fmt.Errorf("twin: %d plans, at most %d", len(plans), twin.MaxPlans)
	}
	pr := patientRecord{ctx: ctx, svc: d.svc, patient: patient}
	var out []twin.Branch
	for i, pl := range plans {
		fc, err := drugForecast(ctx, &pr, *pl.Drug)
		if err != nil {
			return nil, fmt.Errorf("%w (plan %d)", err, i+1)
		}
		if i == 0 {
			out = append(out, twin.Branch{Plan: twin.Plan{Name: "do nothing"}, Drug: nothing(fc)})
		}
		out = append(out, twin.Branch{Plan: pl, Drug: fc})
	}
	return out, nil
}

// nothing is the do-nothing branch beside fc: no drug, so a zero
// concentration over the same times.
func nothing(fc *twin.DrugForecast) *twin.DrugForecast {
	z := *fc
	z.Label = "no drug given: zero concentration (doses already given are not read from the record)"
	zero := make([]float64, len(fc.TimesH))
	z.Typical, z.P5, z.P50, z.P95 = zero, zero, zero, zero
	var x twin.DrugExposure
	if fc.Summary.Typical.AUC24MgHL != nil {
		x.AUC24MgHL = new(float64)
	}
	z.Summary = twin.DrugSummary{Typical: x, P5: x, P50: x, P95: x}
	return &z
}

// drugRecords returns the dose records of the plan (h from now) and the
// time of the last dose, h (NaN for a single dose).
func drugRecords(pl twin.DrugPlan) ([]pkpd.Record, float64, error) {
	if len(pl.Doses) == 0 || len(pl.Doses) > maxDrugDoses {
		return nil, 0, fmt.Errorf("twin: drug.doses has %d entries, want 1 to %d", len(pl.Doses), maxDrugDoses)
	}
	rs := make([]pkpd.Regimen, len(pl.Doses))
	total, last := 0, 0.0
	for i, d := range pl.Doses {
		where := fmt.Sprintf("drug.doses[%d]", i)
		count := max(d.Count, 1)
		total += count
		switch {
		case !(d.AmountMg > 0 && d.AmountMg <= 1e5):
			return nil, 0, fmt.Errorf("twin: %s.amountMg %v, want more than 0 and at most 100000 mg", where, d.AmountMg)
		case !(d.InfusionH >= 0 && d.InfusionH <= 48):
			return nil, 0, fmt.Errorf("twin: %s.infusionH %v, want 0 to 48 h", where, d.InfusionH)
		case d.Count < 0 || total > maxDrugHorizonH*4:
			return nil, 0, fmt.Errorf("twin: %s.count %d: want 1 to %d doses in all", where, d.Count, maxDrugHorizonH*4)
		case count > 1 && !(d.EveryH > 0 && d.EveryH <= maxDrugHorizonH):
			return nil, 0, fmt.Errorf("twin: %s.everyH %v, want more than 0 and at most %d h for %d doses", where, d.EveryH, maxDrugHorizonH, count)
		case !(d.InMin >= 0 && d.InMin <= maxDrugHorizonH*60):
			return nil, 0, fmt.Errorf("twin: %s.inMin %v, want 0 to %d min", where, d.InMin, maxDrugHorizonH*60)
		}
		rs[i] = pkpd.Regimen{Time: d.InMin / 60, Amount: d.AmountMg, Infusion: d.InfusionH, Every: d.EveryH, Doses: count}
		last = max(last, d.InMin/60+float64(count-1)*d.EveryH)
	}
	if total == 1 {
		last = math.NaN()
	}
	recs, err := pkpd.RegimenRecords(rs...)
	return recs, last, err
}

// drugForecast is the forecast of one drug plan.
func drugForecast(ctx context.Context, pr *patientRecord, pl twin.DrugPlan) (*twin.DrugForecast, error) {
	m, err := pkmodel.Library(pl.Model)
	if err != nil || pl.Model == "" {
		return nil, fmt.Errorf("twin: drug.model %q is not a library model (%s)", pl.Model, strings.Join(pkmodel.Names(), ", "))
	}
	if !(pl.HorizonH > 0 && pl.HorizonH <= maxDrugHorizonH) {
		return nil, fmt.Errorf("twin: drug.horizonH %v, want more than 0 and at most %d h", pl.HorizonH, maxDrugHorizonH)
	}
	recs, last, err := drugRecords(pl)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(pl.Doses, func(d twin.DrugDose) bool { return d.InfusionH > 0 }); m.Oral && i >= 0 {
		return nil, fmt.Errorf("twin: drug.doses[%d].infusionH: %s is an oral model, its doses are taken, not infused", i, m.Name)
	}
	cov, src, err := pr.covariates(m, pl.Covariates)
	if err != nil {
		return nil, err
	}
	var times []float64
	for k := 0; float64(k)*drugStepH < pl.HorizonH; k++ {
		times = append(times, float64(k)*drugStepH)
	}
	times = append(times, pl.HorizonH)
	typ, err := pkmodel.Simulate(m, cov, nil, recs, times)
	if err != nil {
		return nil, fmt.Errorf("twin: %s: %w", m.Name, err)
	}
	fc := &twin.DrugForecast{
		Label: "model output: population PK prediction, not a measurement",
		Model: m.Name, Drug: m.Drug, Citation: m.Citation.Reference + " doi:" + m.Citation.DOI,
		Covariates: cov, Sources: src, Parameters: m.PK.Named(typ.Params),
		Fit:      "none: measured levels are not fitted; typical and population values at the patient's covariates",
		Subjects: drugSubjects, Seed: drugSeed, TimesH: times, Typical: typ.Conc,
	}
	if fc.Summary.Typical, err = drugExposure(typ, last, pl.HorizonH); err != nil {
		return nil, err
	}
	omega, err := m.PK.Omega()
	if err != nil {
		return nil, err
	}
	iiv, err := pkpd.NewIIV(m.PK.IIV.Params, omega)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(drugSeed, 0))
	conc := make([][]float64, len(times)) // per time, over subjects
	var xs []twin.DrugExposure
	eta := make([]float64, iiv.Len())
	for range drugSubjects {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		iiv.SampleEta(eta, rng)
		p, err := pkmodel.Simulate(m, cov, eta, recs, times)
		if err != nil {
			return nil, fmt.Errorf("twin: %s: %w", m.Name, err)
		}
		for j, c := range p.Conc {
			conc[j] = append(conc[j], c)
		}
		x, err := drugExposure(p, last, pl.HorizonH)
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	for _, c := range conc {
		slices.Sort(c)
		fc.P5 = append(fc.P5, pkmodel.Quantile(c, 0.05))
		fc.P50 = append(fc.P50, pkmodel.Quantile(c, 0.5))
		fc.P95 = append(fc.P95, pkmodel.Quantile(c, 0.95))
	}
	fc.Summary.P5, fc.Summary.P50, fc.Summary.P95 = exposureQuantiles(xs, 0.05), exposureQuantiles(xs, 0.5), exposureQuantiles(xs, 0.95)
	return fc, nil
}

// drugExposure is the exposure of p over [0, horizon] h, the trough
// just before the last dose at last h (none when NaN or after horizon).
func drugExposure(p *pkmodel.Profile, last, horizon float64) (twin.DrugExposure, error) {
	w, err := p.Window(0, horizon)
	if err != nil {
		return twin.DrugExposure{}, err
	}
	x := twin.DrugExposure{CmaxMgL: w.Cmax, TmaxH: w.Tmax, AUCMgHL: w.AUC}
	if last > 0 && last <= horizon { // false for NaN
		c, err := p.ConcAt([]float64{last})
		if err != nil {
			return twin.DrugExposure{}, err
		}
		x.TroughMgL = &c[0]
	}
	if horizon >= 24 {
		w24, err := p.Window(horizon-24, horizon)
		if err != nil {
			return twin.DrugExposure{}, err
		}
		x.AUC24MgHL = &w24.AUC
	}
	return x, nil
}

// exposureQuantiles is the q-quantile of each figure of xs (each sorted
// on its own: not one subject's figures).
func exposureQuantiles(xs []twin.DrugExposure, q float64) twin.DrugExposure {
	quant := func(get func(twin.DrugExposure) *float64) *float64 {
		var v []float64
		for _, x := range xs {
			if p := get(x); p != nil {
				v = append(v, *p)
			}
		}
		if len(v) == 0 {
			return nil
		}
		slices.Sort(v)
		r := pkmodel.Quantile(v, q)
		return &r
	}
	return twin.DrugExposure{
		CmaxMgL:   *quant(func(x twin.DrugExposure) *float64 { return &x.CmaxMgL }),
		TmaxH:     *quant(func(x twin.DrugExposure) *float64 { return &x.TmaxH }),
		TroughMgL: quant(func(x twin.DrugExposure) *float64 { return x.TroughMgL }),
		AUCMgHL:   *quant(func(x twin.DrugExposure) *float64 { return &x.AUCMgHL }),
		AUC24MgHL: quant(func(x twin.DrugExposure) *float64 { return x.AUC24MgHL }),
	}
}

// patientRecord reads one patient's covariates within a request.
type patientRecord struct {
	ctx     context.Context
	svc     *fhirops.Service
	patient string
}

// covariates returns the model's covariates for the patient, the plan's
// values first, and where each came from.
func (pr *patientRecord) covariates(m *pkmodel.Model, given map[string]float64) (map[string]float64, map[string]string, error) {
	cov, src := map[string]float64{}, map[string]string{}
	for name := range given {
		if _, ok := m.Covariate(name); !ok {
			var names []string
			for _, c := range m.Covariates {
				names = append(names, c.Name)
			}
			return nil, nil, fmt.Errorf("twin: drug.covariates.%s: %s has no such covariate (it has: %s)", name, m.Name, strings.Join(names, ", "))
		}
	}
	for _, c := range m.Covariates {
		if v, ok := given[c.Name]; ok {
			if math.IsNaN(v) || math.IsInf(v, 0) || (c.Boolean && v != 0 && v != 1) {
				return nil, nil, fmt.Errorf("twin: drug.covariates.%s %v is not a valid value", c.Name, v)
			}
			cov[c.Name], src[c.Name] = v, "plan"
			continue
		}
		v, from, err := pr.covariate(c.Name)
		if err != nil {
			return nil, nil, err
		}
		if from == "" {
			unit := c.Unit
			if c.Boolean {
				unit = "0 or 1"
			}
			return nil, nil, fmt.Errorf("twin: %s needs covariate %s (%s, %s): the patient's record has none that Doppel reads; give it as drug.covariates.%s",
				m.Name, c.Name, strings.TrimSpace(c.Description), unit, c.Name)
		}
		cov[c.Name], src[c.Name] = v, from
	}
	return cov, src, nil
}

// covariate reads a covariate from the record; from is "" when the
// record does not give it.
func (pr *patientRecord) covariate(name string) (v float64, from string, err error) {
	switch name {
	case "weight":
		w, err := pr.rec().weight(pr.patient)
		if err != nil || w == nil {
			return 0, "", err
		}
		return *w, "Observation LOINC " + loincBodyWeight + " (latest)", nil
	case "crcl":
		return pr.crcl()
	}
	return 0, "", nil
}

func (pr *patientRecord) rec() *record { return &record{ctx: pr.ctx, svc: pr.svc} }

// latestQuantity is the value of the latest result Observation of the
// LOINC code in one of units (UCUM, with its factor to the wanted unit),
// and its effective time.
func (pr *patientRecord) latestQuantity(code string, units map[string]float64) (float64, time.Time, bool, error) {
	obs, err := pr.rec().latestObservations(pr.patient, clinical.LOINC+"|"+code, 10)
	if err != nil {
		return 0, time.Time{}, false, err
	}
	for _, body := range obs {
		var o struct {
			Status    string        `json:"status"`
			Effective string        `json:"effectiveDateTime"`
			Value     *fhirQuantity `json:"valueQuantity"`
		}
		if json.Unmarshal(body, &o) != nil || !isResult(o.Status) || o.Value == nil || o.Value.Value == nil {
			continue
		}
		f, ok := units[o.Value.ucum()]
		if v := *o.Value.Value * f; ok && v > 0 && !math.IsInf(v, 0) {
			at, _ := time.Parse(time.RFC3339, o.Effective)
			return v, at, true, nil
		}
	}
	return 0, time.Time{}, false, nil
}

// crcl is the Cockcroft-Gault creatinine clearance, mL/min.
func (pr *patientRecord) crcl() (float64, string, error) {
	v, _, ok, err := pr.latestQuantity(loincCrCLCG, map[string]float64{"mL/min": 1})
	if err != nil || ok {
		return v, "Observation LOINC " + loincCrCLCG + " (latest)", err
	}
	scr, at, ok, err := pr.latestQuantity(loincSCrMass, map[string]float64{"mg/dL": 1})
	if err == nil && !ok {
		scr, at, ok, err = pr.latestQuantity(loincSCrMolar, map[string]float64{"umol/L": 1 / umolPerMgDL})
	}
	if err != nil || !ok || at.IsZero() {
		return 0, "", err
	}
	w, err := pr.rec().weight(pr.patient)
	if err != nil || w == nil {
		return 0, "", err
	}
	ver, err := pr.svc.Read(pr.ctx, "Patient", pr.patient)
	if errors.Is(err, store.ErrNotFound) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	var p struct {
		BirthDate string `json:"birthDate"`
		Gender    string `json:"gender"`
	}
	if json.Unmarshal(ver.Body, &p) != nil {
		return 0, "", nil
	}
	born, err := time.Parse(time.DateOnly, p.BirthDate)
	if err != nil || (p.Gender != "male" && p.Gender != "female") {
		return 0, "", nil // a partial date or another gender: not computed
	}
	age := at.Sub(born).Hours() / (24 * 365.25)
	if !(age >= 18 && age < 120) {
		return 0, "", nil // Cockcroft-Gault is for adults
	}
	return cockcroftGault(age, *w, scr, p.Gender == "female"),
		"Cockcroft-Gault from serum creatinine (LOINC " + loincSCrMass + "/" + loincSCrMolar + "), Patient birthDate, gender and weight", nil
}

// cockcroftGault is the creatinine clearance in mL/min of an adult of age
// years, weight kg and serum creatinine scr mg/dL (Cockcroft & Gault,
// Nephron 1976;16:31-41), with the serum creatinine raised to 1 mg/dL
// above 60 years as in Goti 2018.
func cockcroftGault(age, weight, scr float64, female bool) float64 {
	if age > 60 {
		scr = math.Max(scr, 1)
	}
	c := (140 - age) * weight / (72 * scr)
	if female {
		c *= 0.85
	}
	return c
}
