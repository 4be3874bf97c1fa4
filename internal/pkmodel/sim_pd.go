package pkmodel

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/doppelhealth/doppel/internal/scenario"
	"github.com/doppelhealth/doppel/model/pkpd"
	"github.com/doppelhealth/doppel/ode"
)

// PD is the pharmacodynamic model of a PK scenario, driven by the central
// concentration (mg/L). Effects are in the user's effect unit (E-units).
//
//	pd: {model: emax, e0: 0, emax: 100, ec50: 10 mg/L, hill: 1,
//	     effect_compartment: {ke0: 0.5 1/h}}     # optional link model
//	pd: {model: idr, type: I, kin: 10, kout: 0.5 1/h, imax: 0.9, ic50: 5 mg/L}
//
// Either model takes an optional unit: string naming the effect unit
// (E-units), used only for labels.
type PD struct {
	Model string                  // "emax" or "idr"
	Unit  string                  // the effect unit as the user gave it; "": not given
	Emax  pkpd.Emax               // model emax
	Link  *pkpd.EffectCompartment // model emax with an effect compartment; nil: direct effect
	IDR   pkpd.IndirectResponse   // model idr; the response starts at its baseline kin/kout
}

// PDResult is the PD course on the output grid.
type PDResult struct {
	Ce     []float64 // effect-site concentration, mg/L; nil without an effect compartment
	Effect []float64 // effect (emax) or response R (idr), E-units
}

// Effect computes the PD course of profile p (from Sim.Simulate, at
// p.Times) with the scenario's PD model.
func (s *Sim) Effect(p *Profile) (*PDResult, error) {
	return s.PD.effect(p, breakpoints(s.Model, s.Doses))
}

// effect computes the PD course of profile p. The effect compartment and
// the indirect response are integrated piecewise between the breakpoints
// of the concentration (dose times and infusion ends, breaks) and the
// output times, so that the ODE solver never steps across a jump or kink
// of Cp; within a piece Cp is evaluated from the closed-form PK solution,
// as a right limit at the piece's start. A nil PD gives nil.
func (pd *PD) effect(p *Profile, breaks []float64) (*PDResult, error) {
	if pd == nil {
		return nil, nil
	}
	if pd.Model == "emax" && pd.Link == nil {
		e := make([]float64, len(p.Conc))
		for i, c := range p.Conc {
			e[i] = pd.Emax.Effect(c)
		}
		return &PDResult{Effect: e}, nil
	}
	one := make([]float64, 1)
	var cerr error
	conc := func(t float64) float64 {
		one[0] = t
		c, err := p.ConcAt(one)
		if err != nil {
			cerr = err
			return 0
		}
		return c[0]
	}
	var rhs func(lo, hi, y0 float64) (float64, error)
	y0 := 0.0
	if pd.Model == "emax" {
		rhs = func(lo, hi, y float64) (float64, error) {
			ys, err := pd.Link.Simulate(rightOf(conc, lo), y, []float64{lo, hi}, ode.Settings{})
			if err != nil {
				return 0, err
			}
			return ys[1], nil
		}
	} else {
		y0 = pd.IDR.Baseline()
		rhs = func(lo, hi, y float64) (float64, error) {
			ys, err := pd.IDR.Simulate(rightOf(conc, lo), y, []float64{lo, hi}, ode.Settings{})
			if err != nil {
				return 0, err
			}
			return ys[1], nil
		}
	}
	ys, err := piecewise(rhs, y0, p.Times, breaks)
	if err != nil {
		return nil, fmt.Errorf("pkmodel: pd: %w", err)
	}
	if cerr != nil {
		return nil, cerr
	}
	if pd.Model == "idr" {
		return &PDResult{Effect: ys}, nil
	}
	e := make([]float64, len(ys))
	for i, ce := range ys {
		e[i] = pd.Emax.Effect(ce)
	}
	return &PDResult{Ce: ys, Effect: e}, nil
}

// rightOf evaluates cp on a piece starting at lo as its right limit there.
func rightOf(cp func(float64) float64, lo float64) func(float64) float64 {
	eps := 1e-9 * max(1, math.Abs(lo))
	return func(t float64) float64 { return cp(max(t, lo+eps)) }
}

// breakpoints returns the times where Cp jumps or has a kink: every dose
// and every infusion end (delayed by the model's ALAG, an infusion lasting
// F times as long), sorted.
func breakpoints(m *Model, ds []Dose) []float64 {
	var ts []float64
	f := m.F
	if f == 0 {
		f = 1
	}
	for _, d := range ds {
		for k := range max(d.Count, 1) {
			t := d.Time + float64(k)*d.Every + m.ALAG
			ts = append(ts, t)
			if d.Infusion > 0 {
				ts = append(ts, t+f*d.Infusion)
			}
		}
	}
	slices.Sort(ts)
	return slices.Compact(ts)
}

// piecewise integrates a scalar state from times[0] (value y0) and returns
// it at times (increasing), advancing over every interval between
// consecutive times and breakpoints with step(lo, hi, y).
func piecewise(step func(lo, hi, y float64) (float64, error), y0 float64, times, breaks []float64) ([]float64, error) {
	out := make([]float64, len(times))
	y, t := y0, times[0]
	out[0] = y0
	bi := 0
	for i := 1; i < len(times); i++ {
		for ; bi < len(breaks) && breaks[bi] <= t; bi++ {
		}
		for ; bi < len(breaks) && breaks[bi] < times[i]; bi++ {
			var err error
			if y, err = step(t, breaks[bi], y); err != nil {
				return nil, err
			}
			t = breaks[bi]
		}
		if times[i] > t {
			var err error
			if y, err = step(t, times[i], y); err != nil {
				return nil, err
			}
			t = times[i]
		}
		out[i] = y
	}
	return out, nil
}

// PDMetrics are the extremes of the effect on the output grid.
type PDMetrics struct {
	Min, TMin float64 // smallest effect, E-units, and its time, h
	Max, TMax float64 // largest effect, E-units, and its time, h
}

// EffectMetrics returns the smallest and largest effect on the grid times
// (the first time of each on ties).
func EffectMetrics(times, effect []float64) PDMetrics {
	m := PDMetrics{Min: math.Inf(1), Max: math.Inf(-1)}
	for i, e := range effect {
		if e < m.Min {
			m.Min, m.TMin = e, times[i]
		}
		if e > m.Max {
			m.Max, m.TMax = e, times[i]
		}
	}
	return m
}

// idrTypes are the accepted spellings of pd.type.
var idrTypes = []string{"I", "II", "III", "IV"}

// pdModel decodes pd:.
func pdModel(d *scenario.Decoder, n *yaml.Node) *PD {
	const ex = "{model: emax, e0: 0, emax: 100, ec50: 10 mg/L}"
	if !mapping(d, n, "pd", ex) {
		return nil
	}
	mf := d.Fields(n, "pd", []string{"model", "e0", "emax", "ec50", "hill", "effect_compartment",
		"type", "kin", "kout", "imax", "ic50", "smax", "sc50", "unit"})
	v, ok := d.Required(n, mf, "model", "pd", "model: emax")
	if !ok {
		return nil
	}
	name, ok := d.Name(v, "pd.model", "PD model", []string{"emax", "idr"})
	if !ok {
		return nil
	}
	allowed := map[string][]string{
		"emax": {"model", "e0", "emax", "ec50", "hill", "effect_compartment", "unit"},
		"idr":  {"model", "type", "kin", "kout", "imax", "ic50", "smax", "sc50", "hill", "unit"},
	}[name]
	bad := false
	for k, fld := range mf {
		if !slices.Contains(allowed, k) {
			d.Errorf(fld.Key, "pd."+k, "is not a field of the %s model (fields: %s)", name, strings.Join(allowed, ", "))
			bad = true
		}
	}
	pd := &PD{Model: name}
	if v, ok := mf["unit"]; ok {
		if u, ok := d.Str(v.Val, "pd.unit", "an effect unit such as \"% inhibition\""); ok {
			pd.Unit = u
		} else {
			bad = true
		}
	}
	num := func(key, example string, lo, hi float64) float64 {
		if v, ok := d.Required(n, mf, key, "pd", example); ok {
			x, ok := d.Number(v, "pd."+key, lo, hi, "")
			if !ok {
				bad = true
			}
			return x
		}
		bad = true
		return 0
	}
	pos := func(key, example string, to Unit) float64 {
		if v, ok := d.Required(n, mf, key, "pd", example); ok {
			x, ok := quantity(d, v, "pd."+key, to)
			if ok && !(x > 0) {
				d.Errorf(v, "pd."+key, "must be > 0, got %s", v.Value)
				ok = false
			}
			if !ok {
				bad = true
			}
			return x
		}
		bad = true
		return 0
	}
	hill := 1.0
	if v, ok := mf["hill"]; ok {
		if x, ok := d.Number(v.Val, "pd.hill", 0, 100, ""); !ok {
			bad = true
		} else if !(x > 0) {
			d.Errorf(v.Val, "pd.hill", "must be > 0, got %s", v.Val.Value)
			bad = true
		} else {
			hill = x
		}
	}
	big := math.MaxFloat64
	switch name {
	case "emax":
		pd.Emax = pkpd.Emax{
			E0:   num("e0", "e0: 0", -big, big),
			Emax: num("emax", "emax: 100", -big, big),
			EC50: pos("ec50", "ec50: 10 mg/L", unitMgL),
			Hill: hill,
		}
		if !bad {
			if err := pd.Emax.Validate(); err != nil {
				d.Errorf(n, "pd", "%s", strings.TrimPrefix(err.Error(), "pkpd: "))
				bad = true
			}
		}
		if v, ok := mf["effect_compartment"]; ok && mapping(d, v.Val, "pd.effect_compartment", "{ke0: 0.5 1/h}") {
			ef := d.Fields(v.Val, "pd.effect_compartment", []string{"ke0"})
			if k, ok := d.Required(v.Val, ef, "ke0", "pd.effect_compartment", "ke0: 0.5 1/h"); ok {
				x, ok := quantity(d, k, "pd.effect_compartment.ke0", unitPerH)
				if ok && !(x > 0) {
					d.Errorf(k, "pd.effect_compartment.ke0", "must be > 0, got %s", k.Value)
					ok = false
				}
				if ok {
					pd.Link = &pkpd.EffectCompartment{Ke0: x}
				} else {
					bad = true
				}
			} else {
				bad = true
			}
		} else if ok {
			bad = true
		}
	case "idr":
		tv, ok := d.Required(n, mf, "type", "pd", "type: I")
		if !ok {
			return nil
		}
		t, ok := d.Name(tv, "pd.type", "indirect response type", idrTypes)
		if !ok {
			return nil
		}
		typ := pkpd.IDRType(slices.Index(idrTypes, t) + 1)
		pd.IDR = pkpd.IndirectResponse{Type: typ, Hill: hill,
			Kin:  num("kin", "kin: 10", 0, big),
			Kout: pos("kout", "kout: 0.5 1/h", unitPerH),
		}
		inhibit := typ == pkpd.InhibitKin || typ == pkpd.InhibitKout
		for _, k := range []string{"imax", "ic50", "smax", "sc50"} {
			if _, ok := mf[k]; ok && inhibit == (k[0] == 's') {
				d.Errorf(mf[k].Key, "pd."+k, "is not a parameter of indirect response type %s (types I and II take imax and ic50, III and IV smax and sc50)", t)
				bad = true
			}
		}
		if inhibit {
			pd.IDR.Imax = num("imax", "imax: 0.9", 0, 1)
			pd.IDR.IC50 = pos("ic50", "ic50: 5 mg/L", unitMgL)
		} else {
			pd.IDR.Smax = num("smax", "smax: 2", 0, big)
			pd.IDR.SC50 = pos("sc50", "sc50: 5 mg/L", unitMgL)
		}
		if !bad {
			if err := pd.IDR.Validate(); err != nil {
				d.Errorf(n, "pd", "%s", strings.TrimPrefix(err.Error(), "pkpd: "))
				bad = true
			}
		}
	}
	if bad {
		return nil
	}
	return pd
}
