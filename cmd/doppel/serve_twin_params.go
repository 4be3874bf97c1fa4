package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/assim/glucose"
	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/twin"
	"github.com/doppelhealth/doppel/model/t1d"
)

// What the twins read from, and write to, a patient's record.
//
// A diabetes twin starts (at a patient's first CGM reading, or after a
// gap of more than a day) from:
//
//   - body weight: the latest Observation of LOINC 29463-7 "Body weight"
//     (by effective time; status final, amended or corrected) in kg, g or
//     [lb_av], if within 10-350 kg;
//   - basal insulin rate: of the active MedicationRequests of an insulin
//     (a medicationCodeableConcept coded ATC A10A…, or whose coding or
//     text names insulin), the most recently authored one with a basal
//     dosage: a dosageInstruction doseAndRate.rateQuantity in [IU]/h (or
//     a rateRatio of [IU] per h, min or d: a pump's basal), or, for a
//     long-acting insulin (ATC A10AE…, or glargine, detemir, degludec by
//     name), doseQuantity in [IU] with timing.repeat frequency per period
//     (h or d), spread evenly over the day; if within 0.05-10 U/h.
//     Without one, the population's basal per kg times the weight;
//   - personal parameters: the latest Observation that an earlier twin
//     of the patient wrote (code twinParamsCode of twinTagSystem,
//     components for insulin sensitivity, carbohydrate absorption and
//     glucose production, as multipliers of the population values): its
//     logarithms centre the filter's prior (glucose.Options.PriorMean);
//     a multiplier outside e^±1.5 is ignored.
//
// What is absent or implausible falls back to the population (the mean
// adult of the UVA/Padova cohort, twin.DefaultGlucose); a record with
// nothing of this gives exactly the default setup. A twin restored from
// its snapshot keeps the setup it started from (the record is not read
// again).
//
// Every twin's adapted parameters are written back, at a snapshot, as
// that Observation (one per patient, updated in place, at most once per
// hour of readings), tagged as made by a twin.
//
// SpO2 scale 2 (RCP 2017: only for confirmed hypercapnic respiratory
// failure, on the decision of a competent clinician) applies to a vitals
// set when the patient has an active Flag coded scale2System|scale2Code
// whose period (if any) covers the set's time. No standard code says
// "NEWS2 SpO2 scale 2 prescribed", and a diagnosis (a Condition such as
// ICD-10 J96.x2, respiratory failure with hypercapnia) is not a
// prescription of a target range, so a Condition does not switch scale 2.
const (
	loincBodyWeight = "29463-7"
	twinParamsCode  = "glucose-personal-parameters"
	scale2System    = "urn:doppel:news2"
	scale2Code      = "spo2-scale-2"
)

// twinParamComponents are the codes (twinTagSystem) of the components of
// the parameters Observation, indexed like glucose.Sensitivity,
// Absorption, Production.
func twinParamComponents() [glucose.NumParams]coding {
	return [glucose.NumParams]coding{
		{System: twinTagSystem, Code: "insulin-sensitivity-multiplier", Display: "Insulin sensitivity (UVA/Padova Vmx) relative to the population"},
		{System: twinTagSystem, Code: "carbohydrate-absorption-multiplier", Display: "Carbohydrate absorption rate (UVA/Padova kabs) relative to the population"},
		{System: twinTagSystem, Code: "glucose-production-multiplier", Display: "Endogenous glucose production (UVA/Padova kp1) relative to the population"},
	}
}

// Plausible ranges of what is read from the record.
const (
	minWeightKg, maxWeightKg = 10, 350
	minBasalUh, maxBasalUh   = 0.05, 10 // U/h
	maxLogMultiplier         = 1.5      // glucose.Options.PriorMean's bound
	paramsEvery              = time.Hour
)

// record reads the twins' setups from the store and writes their
// parameters back.
type record struct {
	ctx    context.Context // of the reads made for a twin (twin.Options' functions take none)
	svc    *fhirops.Service
	logger *slog.Logger
	def    twin.GlucoseSetup
	adults []string // the population Population averages

	mgr     *twin.Manager // set once the manager exists
	mu      sync.Mutex
	written map[string]time.Time // per patient: the last reading of the parameters written
}

func newRecord(ctx context.Context, svc *fhirops.Service, logger *slog.Logger) (*record, error) {
	def, err := twin.DefaultGlucose()
	if err != nil {
		return nil, err
	}
	var adults []string
	for _, n := range t1d.Patients() {
		if strings.HasPrefix(n, "adult#") {
			adults = append(adults, n)
		}
	}
	return &record{ctx: ctx, svc: svc, logger: logger, def: def, adults: adults, written: map[string]time.Time{}}, nil
}

// personal is what a patient's record says, each nil if nothing.
type personal struct {
	weightKg *float64
	basal    *float64 // U/min
	prior    *[glucose.NumParams]float64
}

// glucose is twin.Options.Glucose: the setup from the record.
func (r *record) glucose(patient string) (twin.GlucoseSetup, error) {
	pp, err := r.read(patient)
	if err != nil {
		return twin.GlucoseSetup{}, err
	}
	setup := r.def
	if pp.prior != nil {
		setup.Options.PriorMean = *pp.prior
	}
	if pp.weightKg == nil && pp.basal == nil {
		return setup, nil
	}
	bw := r.def.Pop.BW
	if pp.weightKg != nil {
		bw = *pp.weightKg
	}
	setup.Basal = r.def.Basal / r.def.Pop.BW * bw // the population's basal per kg
	if pp.basal != nil {
		setup.Basal = *pp.basal
	}
	if setup.Pop, err = glucose.Population(r.adults, bw, setup.Basal); err != nil {
		return twin.GlucoseSetup{}, err
	}
	return setup, nil
}

func (r *record) read(patient string) (personal, error) {
	var pp personal
	var err error
	if pp.weightKg, err = r.weight(patient); err != nil {
		return pp, err
	}
	if pp.basal, err = r.basal(patient); err != nil {
		return pp, err
	}
	pp.prior, err = r.prior(patient)
	return pp, err
}

// fhirQuantity is a FHIR Quantity as read.
type fhirQuantity struct {
	Value *float64 `json:"value"`
	Unit  string   `json:"unit"`
	Code  string   `json:"code"`
}

func (q *fhirQuantity) ucum() string {
	if q.Code != "" {
		return q.Code
	}
	return q.Unit
}

// latestObservations returns the bodies of the patient's Observations of
// code (system|code), newest first, up to n.
func (r *record) latestObservations(patient, code string, n int) ([]json.RawMessage, error) {
	q := url.Values{"subject": {"Patient/" + patient}, "code": {code}, "_sort": {"-date"}, "_count": {fmt.Sprint(n)}}
	b, err := r.svc.Search(r.ctx, "Observation", q, true, "http://doppel.invalid/fhir")
	if err != nil {
		return nil, err
	}
	var bundle struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(bundle.Entry))
	for i, e := range bundle.Entry {
		out[i] = e.Resource
	}
	return out, nil
}

// isResult reports whether an Observation's status makes it a result.
func isResult(status string) bool {
	return status == "final" || status == "amended" || status == "corrected"
}

// weight is the latest plausible body weight, kg.
func (r *record) weight(patient string) (*float64, error) {
	obs, err := r.latestObservations(patient, clinical.LOINC+"|"+loincBodyWeight, 10)
	if err != nil {
		return nil, err
	}
	for _, body := range obs {
		var o struct {
			Status string        `json:"status"`
			Value  *fhirQuantity `json:"valueQuantity"`
		}
		if json.Unmarshal(body, &o) != nil || !isResult(o.Status) || o.Value == nil || o.Value.Value == nil {
			continue
		}
		scale, ok := map[string]float64{"kg": 1, "g": 1e-3, "[lb_av]": 0.45359237}[o.Value.ucum()]
		if kg := *o.Value.Value * scale; ok && kg >= minWeightKg && kg <= maxWeightKg {
			return &kg, nil
		}
	}
	return nil, nil
}

// medicationRequest is what basal reads of a MedicationRequest.
type medicationRequest struct {
	Status     string `json:"status"`
	Authored   string `json:"authoredOn"`
	Medication struct {
		Coding []coding `json:"coding"`
		Text   string   `json:"text"`
	} `json:"medicationCodeableConcept"`
	Dosage []struct {
		Timing struct {
			Repeat struct {
				Frequency  int     `json:"frequency"`
				Period     float64 `json:"period"`
				PeriodUnit string  `json:"periodUnit"`
			} `json:"repeat"`
		} `json:"timing"`
		DoseAndRate []struct {
			Dose      *fhirQuantity `json:"doseQuantity"`
			Rate      *fhirQuantity `json:"rateQuantity"`
			RateRatio *struct {
				Numerator   fhirQuantity `json:"numerator"`
				Denominator fhirQuantity `json:"denominator"`
			} `json:"rateRatio"`
		} `json:"doseAndRate"`
	} `json:"dosageInstruction"`
}

// names reports whether the medication is coded with an ATC code under
// atcPrefix or names one of words in a display or its text.
func (m *medicationRequest) names(atcPrefix string, words ...string) bool {
	texts := []string{m.Medication.Text}
	for _, c := range m.Medication.Coding {
		if c.System == clinical.ATC && strings.HasPrefix(c.Code, atcPrefix) {
			return true
		}
		texts = append(texts, c.Display)
	}
	for _, t := range texts {
		for _, w := range words {
			if strings.Contains(strings.ToLower(t), w) {
				return true
			}
		}
	}
	return false
}

// hours is the length of one unit of a FHIR period or UCUM time unit
// (min, h, d), h; false for others.
func hours(unit string) (float64, bool) {
	switch unit {
	case "min":
		return 1.0 / 60, true
	case "h":
		return 1, true
	case "d":
		return 24, true
	}
	return 0, false
}

// basalRate is the basal rate the request prescribes, U/h, or 0.
func (m *medicationRequest) basalRate() float64 {
	if !m.names(clinical.CodeInsulin, "insulin") {
		return 0
	}
	longActing := m.names("A10AE", "glargine", "detemir", "degludec")
	units := func(q fhirQuantity) bool { u := q.ucum(); return u == "[IU]" || u == "[iU]" || u == "U" }
	for _, d := range m.Dosage {
		for _, dr := range d.DoseAndRate {
			switch {
			case dr.Rate != nil && dr.Rate.Value != nil:
				if u, ok := strings.CutSuffix(dr.Rate.ucum(), "/h"); ok && (u == "[IU]" || u == "[iU]" || u == "U") {
					return *dr.Rate.Value
				}
			case dr.RateRatio != nil && dr.RateRatio.Numerator.Value != nil:
				den := dr.RateRatio.Denominator
				h, ok := hours(den.ucum())
				if n := 1.0; ok && units(dr.RateRatio.Numerator) {
					if den.Value != nil {
						n = *den.Value
					}
					return *dr.RateRatio.Numerator.Value / (n * h)
				}
			case longActing && dr.Dose != nil && dr.Dose.Value != nil && units(*dr.Dose):
				rep := d.Timing.Repeat
				if h, ok := hours(rep.PeriodUnit); ok && rep.Frequency > 0 && rep.Period > 0 {
					return *dr.Dose.Value * float64(rep.Frequency) / (rep.Period * h)
				}
			}
		}
	}
	return 0
}

// basal is the basal rate of the latest active insulin request, U/min.
func (r *record) basal(patient string) (*float64, error) {
	var best *medicationRequest
	var rate float64
	err := searchAll(r.ctx, r.svc, "MedicationRequest", url.Values{"subject": {"Patient/" + patient}, "status": {"active"}},
		func(_ string, body json.RawMessage) {
			var m medicationRequest
			if json.Unmarshal(body, &m) != nil || m.Status != "active" {
				return
			}
			if u := m.basalRate(); u >= minBasalUh && u <= maxBasalUh && (best == nil || m.Authored > best.Authored) {
				best, rate = &m, u
			}
		})
	if err != nil || best == nil {
		return nil, err
	}
	perMin := rate / 60
	return &perMin, nil
}

// prior is the log multipliers of the latest parameters an earlier twin
// wrote.
func (r *record) prior(patient string) (*[glucose.NumParams]float64, error) {
	obs, err := r.latestObservations(patient, twinTagSystem+"|"+twinParamsCode, 1)
	if err != nil || len(obs) == 0 {
		return nil, err
	}
	type component struct {
		Code  concept       `json:"code"`
		Value *fhirQuantity `json:"valueQuantity"`
	}
	var o struct {
		Status    string      `json:"status"`
		Component []component `json:"component"`
	}
	if json.Unmarshal(obs[0], &o) != nil || !isResult(o.Status) {
		return nil, nil
	}
	var th [glucose.NumParams]float64
	for k, want := range twinParamComponents() {
		i := slices.IndexFunc(o.Component, func(c component) bool {
			return slices.ContainsFunc(c.Code.Coding, func(x coding) bool { return x.System == want.System && x.Code == want.Code })
		})
		if i < 0 || o.Component[i].Value == nil || o.Component[i].Value.Value == nil {
			return nil, nil
		}
		th[k] = math.Log(*o.Component[i].Value.Value)
		if !(math.Abs(th[k]) <= maxLogMultiplier) {
			return nil, nil
		}
	}
	return &th, nil
}

// scale2 is twin.Options.Scale2: an active Flag of scale 2 covering at.
func (r *record) scale2(patient string, at time.Time) (bool, error) {
	found := false
	err := searchAll(r.ctx, r.svc, "Flag", url.Values{"subject": {"Patient/" + patient}}, func(_ string, body json.RawMessage) {
		var f struct {
			Status string  `json:"status"`
			Code   concept `json:"code"`
			Period struct {
				Start string `json:"start"`
				End   string `json:"end"`
			} `json:"period"`
		}
		if json.Unmarshal(body, &f) != nil || f.Status != "active" ||
			!slices.ContainsFunc(f.Code.Coding, func(c coding) bool { return c.System == scale2System && c.Code == scale2Code }) {
			return
		}
		if covers(f.Period.Start, f.Period.End, at) {
			found = true
		}
	})
	return found, err
}

// covers reports whether the FHIR period [start, end] (either open)
// covers t; a date without a time covers its whole day.
func covers(start, end string, t time.Time) bool {
	parse := func(s string, endOfDay bool) (time.Time, bool) {
		if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return v, true
		}
		if v, err := time.Parse(time.DateOnly, s); err == nil {
			if endOfDay {
				v = v.AddDate(0, 0, 1).Add(-time.Nanosecond)
			}
			return v, true
		}
		return time.Time{}, false
	}
	if start != "" {
		s, ok := parse(start, false)
		if !ok || t.Before(s) {
			return false
		}
	}
	if end != "" {
		e, ok := parse(end, true)
		if !ok || t.After(e) {
			return false
		}
	}
	return true
}

// snapshots wraps the twins' snapshot files: after a twin's snapshot is
// saved, its adapted parameters are written to the record when an hour
// of readings has passed since they last were.
func (r *record) snapshots(s twin.Snapshots) twin.Snapshots { return paramSnapshots{s, r} }

type paramSnapshots struct {
	twin.Snapshots
	r *record
}

// Save saves the snapshot, then writes the parameters; a failed write is
// logged, not returned, so that it cannot stop the other twins'
// snapshots (Manager.SaveAll stops at the first error).
func (s paramSnapshots) Save(ctx context.Context, patient string, data []byte) error {
	if err := s.Snapshots.Save(ctx, patient, data); err != nil {
		return err
	}
	if err := s.r.writeParams(ctx, patient); err != nil {
		s.r.logger.Warn("twins: writing a twin's personal parameters to the record failed", "err", err)
	}
	return nil
}

// paramsID is the id of the patient's parameters Observation: a hash, so
// that the id names no patient.
func paramsID(patient string) string { return "twin-params-" + hashID("twin-params|"+patient) }

// writeParams writes the patient's adapted parameters when due.
func (r *record) writeParams(ctx context.Context, patient string) error {
	if r.mgr == nil {
		return nil
	}
	st, ok, err := r.mgr.State(ctx, patient)
	if err != nil || !ok || st.Glucose == nil {
		return err
	}
	at := st.Glucose.LastReading
	r.mu.Lock()
	last, seen := r.written[patient]
	r.mu.Unlock()
	if seen && at.Sub(last) < paramsEvery {
		return nil
	}
	comps := make([]map[string]any, glucose.NumParams)
	for k, c := range twinParamComponents() {
		comps[k] = map[string]any{
			"code":          concept{Coding: []coding{c}},
			"valueQuantity": quantity{Value: st.Glucose.Estimate.Multipliers[k], Unit: "1", System: ucum, Code: "1"},
		}
	}
	body, err := json.Marshal(map[string]any{
		"resourceType": "Observation", "id": paramsID(patient), "status": "final",
		"meta":    map[string]any{"tag": []coding{{System: twinTagSystem, Code: "forecast", Display: "made by a Doppel twin"}}},
		"code":    concept{Coding: []coding{{System: twinTagSystem, Code: twinParamsCode, Display: "Glucose twin personal parameters"}}},
		"subject": reference{Reference: "Patient/" + patient}, "effectiveDateTime": at.UTC().Format(time.RFC3339Nano),
		"method":    concept{Text: "Doppel glucose twin (assim/glucose particle filter, UVA/Padova S2008): weighted mean of the particles' multipliers"},
		"component": comps,
	})
	if err != nil {
		return err
	}
	if _, err := r.svc.Update(ctx, "Observation", paramsID(patient), body, ""); err != nil {
		return err
	}
	r.mu.Lock()
	r.written[patient] = at
	r.mu.Unlock()
	return nil
}
