package twin

import (
	"fmt"
	"math"
	"time"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/score"
)

// The vitals of a set, in the order of wardTwin.latest.
var vitalCodes = [...]string{clinical.CodeRespRate, clinical.CodeSpO2, clinical.CodeBPPanel,
	clinical.CodeHeartRate, clinical.CodeBodyTemp, clinical.CodeConsciousness}

// trendWindow is how much history of scored sets a ward twin keeps; the
// trend forecast fits the last 6 h of it.
const trendWindow = 12 * time.Hour

type vital struct {
	Obs   clinical.Observation
	Fresh bool // arrived since the last scored set
}

// oxygen is what the latest supplemental-oxygen readings say: those at
// the latest time At (a flow rate, LOINC 3151-8, and an inspired
// concentration, 3150-0, may come together).
type oxygen struct {
	At  time.Time
	On  bool                   // a flow above 0 L/min or a concentration above 21 %
	Obs []clinical.Observation // the readings, for an event's data
}

// observe takes an oxygen reading: a newer one replaces what was known,
// one at the same time adds to it, an older one is ignored.
func (x *oxygen) observe(o clinical.Observation) {
	switch {
	case o.Value == nil || o.Effective.Before(x.At):
		return
	case o.Effective.After(x.At):
		*x = oxygen{At: o.Effective}
	}
	x.Obs = append(x.Obs, o)
	switch o.Code {
	case clinical.CodeO2Flow:
		x.On = x.On || o.Value.Value > 0
	case clinical.CodeFiO2:
		x.On = x.On || o.Value.Value > airFiO2
	}
}

// airFiO2 is the oxygen concentration of air, %.
const airFiO2 = 21

type wardTwin struct {
	latest  [len(vitalCodes)]vital
	oxygen  oxygen
	origin  time.Time
	samples []score.Sample // T: hours since origin
	resp    score.Response // response to the last scored set
	last    *NEWS2
}

func (m *Manager) vitals(p *patientTwin, o clinical.Observation) ([]Event, error) {
	if p.ward == nil {
		p.ward = &wardTwin{}
	}
	w := p.ward
	if o.Code == clinical.CodeO2Flow || o.Code == clinical.CodeFiO2 {
		w.oxygen.observe(o)
		return nil, nil
	}
	if o.Code == clinical.CodeSpO2 { // US Core pulse oximetry: the oxygen as components
		for _, k := range o.Components {
			w.oxygen.observe(clinical.Observation{Patient: o.Patient, Device: o.Device, Code: k.Code, Value: &k.Value, Effective: o.Effective})
		}
	}
	for i, c := range vitalCodes {
		if c == o.Code {
			if w.latest[i].Fresh && o.Effective.Before(w.latest[i].Obs.Effective) {
				return nil, nil
			}
			w.latest[i] = vital{Obs: o, Fresh: true}
		}
	}
	first, last := o.Effective, o.Effective
	for _, v := range w.latest {
		if !v.Fresh {
			return nil, nil
		}
		first, last = minTime(first, v.Obs.Effective), maxTime(last, v.Obs.Effective)
	}
	if last.Sub(first) > m.opt.VitalsWindow {
		return nil, nil
	}
	vs, err := w.set()
	if err != nil {
		return nil, err
	}
	if m.opt.Scale2 != nil {
		if vs.Scale2, err = m.opt.Scale2(p.id, last); err != nil {
			return nil, fmt.Errorf("twin: SpO2 scale 2: %w", err)
		}
	}
	res, err := score.NEWS2(vs)
	if err != nil {
		return nil, fmt.Errorf("twin: %w", err)
	}
	for i := range w.latest {
		w.latest[i].Fresh = false
	}
	if w.origin.IsZero() {
		w.origin = last
	}
	tHours := last.Sub(w.origin).Hours()
	if n := len(w.samples); n > 0 && tHours <= w.samples[n-1].T {
		return nil, nil // not after the last set
	}
	w.samples = append(w.samples, score.Sample{T: tHours, Vitals: vs})
	for len(w.samples) > 1 && tHours-w.samples[0].T > trendWindow.Hours() {
		w.samples = w.samples[1:]
	}
	cr, err := score.TrendForecast(w.samples, score.TrendOptions{Rand: p.rng})
	if err != nil {
		return nil, fmt.Errorf("twin: %w", err)
	}
	n := &NEWS2{At: last, Total: res.Total, Red: res.Red, Response: res.Response.String(), PEscal: cr.Prob}
	if !math.IsInf(cr.Median, 1) {
		h := cr.Median
		n.Escalate = &h
	}
	w.last = n
	data := make([]clinical.Observation, len(w.latest), len(w.latest)+len(w.oxygen.Obs))
	for i, v := range w.latest {
		data[i] = v.Obs
	}
	data = append(data, w.oxygen.Obs...)
	events := []Event{{Patient: p.id, Kind: KindNEWS2, Time: last, NEWS2: n, Data: data}}
	if res.Response >= score.UrgentWardBased && res.Response > w.resp {
		events = append(events, Event{Patient: p.id, Kind: KindAlert, Time: last, Data: data, Alert: &Alert{
			Kind: AlertNEWS2, Score: res.Total, Response: res.Response.String(),
			Message: fmt.Sprintf("NEWS2 %d: %s, %s clinical risk", res.Total, res.Response, res.Response.Risk()),
		}})
	}
	w.resp = res.Response
	return events, nil
}

// set builds the NEWS2 vitals from the latest values, on oxygen if the
// latest oxygen readings say so (whatever their age: a device reports
// when oxygen is turned off), else on air.
func (w *wardTwin) set() (score.Vitals, error) {
	vs := score.Vitals{OnOxygen: w.oxygen.On}
	q := func(i int) (float64, error) {
		if w.latest[i].Obs.Value == nil {
			return 0, fmt.Errorf("twin: %s observation without a value", vitalCodes[i])
		}
		return w.latest[i].Obs.Value.Value, nil
	}
	var err error
	if vs.RespirationRate, err = q(0); err != nil {
		return vs, err
	}
	if vs.SpO2, err = q(1); err != nil {
		return vs, err
	}
	sys := math.NaN()
	for _, c := range w.latest[2].Obs.Components {
		if c.Code == clinical.CodeSystolic {
			sys = c.Value.Value
		}
	}
	if math.IsNaN(sys) {
		return vs, fmt.Errorf("twin: blood pressure without a systolic component")
	}
	vs.SystolicBP = sys
	if vs.Pulse, err = q(3); err != nil {
		return vs, err
	}
	if vs.Temp, err = q(4); err != nil {
		return vs, err
	}
	switch w.latest[5].Obs.ValueCode {
	case "A":
		vs.ACVPU = score.Alert
	case "C":
		vs.ACVPU = score.NewConfusion
	case "V":
		vs.ACVPU = score.Voice
	case "P":
		vs.ACVPU = score.Pain
	case "U":
		vs.ACVPU = score.Unresponsive
	default:
		return vs, fmt.Errorf("twin: consciousness %q is not an ACVPU letter", w.latest[5].Obs.ValueCode)
	}
	return vs, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// history is the scored sets the twin keeps, each at its time (the
// samples' hours since origin, rounded back to the nanosecond: exact for
// 104 days after origin) with its NEWS2 total.
func (w *wardTwin) history() []ScorePoint {
	out := make([]ScorePoint, 0, len(w.samples))
	for _, s := range w.samples {
		r, err := score.NEWS2(s.Vitals)
		if err != nil {
			continue // scored once already; cannot fail
		}
		at := w.origin.Add(time.Duration(math.Round(s.T * float64(time.Hour))))
		out = append(out, ScorePoint{At: at, Total: r.Total})
	}
	return out
}
