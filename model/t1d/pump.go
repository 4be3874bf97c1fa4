package t1d

import (
	"fmt"
	"math"
)

// pmolPerUnit converts insulin units to pmol (1 U = 6000 pmol).
const pmolPerUnit = 6000

// Basal returns the basal rate the pump delivers when asked for rate (U/min):
// rounded half to even to a multiple of IncBasal in pmol/min, converted back
// to U/min and clipped to [MinBasal, MaxBasal] (simglucose InsulinPump.basal;
// MODEL.md §4). For example adult#001's basal 0.0211227 U/min is delivered as
// 0.021125 U/min by the Insulet pump.
func (p PumpParams) Basal(rate float64) float64 {
	return quantise(rate, p.IncBasal, p.MinBasal, p.MaxBasal)
}

// Bolus returns the bolus rate the pump delivers when asked for rate (U/min),
// quantised and clipped like Basal with IncBolus, MinBolus and MaxBolus.
func (p PumpParams) Bolus(rate float64) float64 {
	return quantise(rate, p.IncBolus, p.MinBolus, p.MaxBolus)
}

// Deliver returns the total insulin rate (U/min) the pump delivers for a.
func (p PumpParams) Deliver(a Action) float64 { return p.Basal(a.Basal) + p.Bolus(a.Bolus) }

func quantise(rate, inc, lo, hi float64) float64 {
	v := rate * pmolPerUnit
	v = math.RoundToEven(v/inc) * inc
	v /= pmolPerUnit
	return math.Max(math.Min(v, hi), lo)
}

func (p PumpParams) validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"IncBasal", p.IncBasal}, {"IncBolus", p.IncBolus}} {
		if !finite(f.v) || f.v <= 0 {
			return fmt.Errorf("t1d: pump %q: %s = %v, want a finite value > 0", p.Name, f.name, f.v)
		}
	}
	for _, f := range []struct {
		name   string
		lo, hi float64
	}{{"Basal", p.MinBasal, p.MaxBasal}, {"Bolus", p.MinBolus, p.MaxBolus}} {
		if !finite(f.lo) || !finite(f.hi) || f.lo < 0 || f.hi < f.lo {
			return fmt.Errorf("t1d: pump %q: Min%s = %v, Max%s = %v, want 0 ≤ min ≤ max", p.Name, f.name, f.lo, f.name, f.hi)
		}
	}
	return nil
}
