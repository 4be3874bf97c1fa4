package clinical

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Code systems.
const (
	LOINC = "http://loinc.org"
	ATC   = "http://www.whocc.no/atc"
)

// Supported codes (LOINC unless noted). See the package doc for sources.
const (
	CodeGlucoseCGM      = "99504-3"  // Glucose [Mass/volume] in Interstitial fluid (HL7 CGM IG)
	CodeGlucoseCGMMolar = "105272-9" // Glucose [Moles/volume] in Interstitial fluid; normalised to 99504-3
	CodeHeartRate       = "8867-4"
	CodeRespRate        = "9279-1"
	CodeSpO2            = "59408-5" // Oxygen saturation in Arterial blood by Pulse oximetry
	CodeSaO2            = "2708-6"  // Oxygen saturation in Arterial blood; normalised to 59408-5
	CodeBPPanel         = "85354-9"
	CodeSystolic        = "8480-6"
	CodeDiastolic       = "8462-4"
	CodeBodyTemp        = "8310-5"
	CodeConsciousness   = "67775-7" // Level of responsiveness, valued with ACVPU letters
	CodeO2Flow          = "3151-8"  // Inhaled oxygen flow rate (US Core pulse oximetry)
	CodeFiO2            = "3150-0"  // Inhaled oxygen concentration (US Core pulse oximetry)
	CodeCarbIntake      = "9059-7"  // Carbohydrate intake Estimated
	CodeInsulin         = "A10A"    // ATC: Insulins and analogues
)

// GlucoseMgPerMmol converts glucose in mmol/L to mg/dL: the molar mass of
// glucose, C6H12O6, is 180.156 g/mol (from the IUPAC standard atomic weights
// C 12.011, H 1.008, O 15.999), so 1 mmol/L = 180.156 mg/L = 18.0156 mg/dL,
// rounded to the customary 18.016.
const GlucoseMgPerMmol = 18.016

// Unit is a unit a code accepts and its conversion to the code's canonical
// unit: canonical = value*Scale + Offset.
type Unit struct {
	UCUM   string
	Scale  float64
	Offset float64
}

// Code describes one supported code: how it is written (System, Code,
// Display), the short Name devices may use instead, the FHIR resource type
// that records it, and what a valid value is.
//
// A quantity code has Units (the first is canonical) and the plausible range
// [Min, Max] in the canonical unit, and may carry the Optional components
// (SpO2: the inhaled oxygen flow and concentration, as the US Core pulse
// oximetry profile records them); a coded one has Values; a panel has
// Components (codes of their own, looked up with [Lookup]).
type Code struct {
	Name       string
	System     string
	Code       string
	Display    string
	Resource   string // "Observation" or "MedicationAdministration"
	Units      []Unit
	Min, Max   float64
	Values     []string
	Components []string
	Optional   []string
}

// Unit returns the canonical UCUM unit of c, or "" for a coded or panel code.
func (c Code) Unit() string {
	if len(c.Units) == 0 {
		return ""
	}
	return c.Units[0].UCUM
}

// Codes returns the table of supported codes, one entry per canonical code.
func Codes() []Code {
	names := []string{"cgm", "hr", "rr", "spo2", "o2flow", "fio2", "bp", "sys", "dia", "temp", "acvpu", "carbs", "insulin"}
	out := make([]Code, 0, len(names))
	for _, n := range names {
		c, _ := Lookup(n)
		out = append(out, c)
	}
	return out
}

// Lookup finds a code by its short name ("cgm", "hr", "rr", "spo2",
// "o2flow", "fio2", "bp", "sys", "dia", "temp", "acvpu", "carbs", "insulin")
// or by its code. An alias
// (105272-9, 2708-6) yields the canonical entry, so Lookup(x).Code may
// differ from x.
//
// The plausible ranges are wider than any clinical alarm band and narrower
// than what a faulty device can send: they reject impossible values, not
// abnormal ones.
func Lookup(key string) (Code, bool) {
	mmHg := []Unit{{UCUM: "mm[Hg]", Scale: 1}}
	perMin := []Unit{{UCUM: "/min", Scale: 1}, {UCUM: "{beats}/min", Scale: 1}, {UCUM: "{breaths}/min", Scale: 1}}
	switch key {
	case "cgm", CodeGlucoseCGM, CodeGlucoseCGMMolar:
		// CGM sensors report 40-400 mg/dL (Dexcom G6/G7) or 40-500 mg/dL
		// (FreeStyle Libre) and flag readings beyond as LOW/HIGH; 20-600
		// leaves a margin for other sensors and rejects 5000 (issue 7).
		return Code{Name: "cgm", System: LOINC, Code: CodeGlucoseCGM, Display: "Glucose [Mass/volume] in Interstitial fluid",
			Resource: "Observation", Units: []Unit{{UCUM: "mg/dL", Scale: 1}, {UCUM: "mmol/L", Scale: GlucoseMgPerMmol}},
			Min: 20, Max: 600}, true
	case "hr", CodeHeartRate:
		// Sustained rates beyond 20-300/min are not survivable or not
		// measurable by a wearable; asystole is an alarm, not a sample.
		return Code{Name: "hr", System: LOINC, Code: CodeHeartRate, Display: "Heart rate",
			Resource: "Observation", Units: perMin, Min: 20, Max: 300}, true
	case "rr", CodeRespRate:
		// 0 (apnoea) is a valid monitor reading; NEWS2's top band is >= 25.
		return Code{Name: "rr", System: LOINC, Code: CodeRespRate, Display: "Respiratory rate",
			Resource: "Observation", Units: perMin, Min: 0, Max: 80}, true
	case "spo2", CodeSpO2, CodeSaO2:
		// Pulse oximeters are specified for accuracy over 70-100 %
		// (ISO 80601-2-61); below 50 % a reading is an artefact.
		return Code{Name: "spo2", System: LOINC, Code: CodeSpO2, Display: "Oxygen saturation in Arterial blood by Pulse oximetry",
			Resource: "Observation", Units: []Unit{{UCUM: "%", Scale: 1}}, Min: 50, Max: 100, Optional: []string{CodeO2Flow, CodeFiO2}}, true
	case "o2flow", CodeO2Flow:
		// Supplemental oxygen (NEWS2 "air or oxygen"): 0 is breathing air;
		// high-flow nasal cannulae deliver up to 60-70 L/min.
		return Code{Name: "o2flow", System: LOINC, Code: CodeO2Flow, Display: "Inhaled oxygen flow rate",
			Resource: "Observation", Units: []Unit{{UCUM: "L/min", Scale: 1}}, Min: 0, Max: 80}, true
	case "fio2", CodeFiO2:
		// 21 % is room air; no mixture holds more than 100 % oxygen.
		return Code{Name: "fio2", System: LOINC, Code: CodeFiO2, Display: "Inhaled oxygen concentration",
			Resource: "Observation", Units: []Unit{{UCUM: "%", Scale: 1}}, Min: 21, Max: 100}, true
	case "bp", CodeBPPanel:
		return Code{Name: "bp", System: LOINC, Code: CodeBPPanel, Display: "Blood pressure panel with all children optional",
			Resource: "Observation", Components: []string{CodeSystolic, CodeDiastolic}}, true
	case "sys", CodeSystolic:
		return Code{Name: "sys", System: LOINC, Code: CodeSystolic, Display: "Systolic blood pressure",
			Resource: "Observation", Units: mmHg, Min: 40, Max: 300}, true
	case "dia", CodeDiastolic:
		return Code{Name: "dia", System: LOINC, Code: CodeDiastolic, Display: "Diastolic blood pressure",
			Resource: "Observation", Units: mmHg, Min: 20, Max: 200}, true
	case "temp", CodeBodyTemp:
		// Clinical thermometers cover at least 34-43 Cel (ISO 80601-2-56);
		// 25-45 keeps severe hypothermia and hyperpyrexia.
		return Code{Name: "temp", System: LOINC, Code: CodeBodyTemp, Display: "Body temperature",
			Resource: "Observation", Units: []Unit{{UCUM: "Cel", Scale: 1}, {UCUM: "[degF]", Scale: 5.0 / 9, Offset: -32 * 5.0 / 9}},
			Min: 25, Max: 45}, true
	case "acvpu", CodeConsciousness:
		// NEWS2 (RCP 2017): Alert, new Confusion, Voice, Pain, Unresponsive.
		return Code{Name: "acvpu", System: LOINC, Code: CodeConsciousness, Display: "Level of responsiveness",
			Resource: "Observation", Values: []string{"A", "C", "V", "P", "U"}}, true
	case "carbs", CodeCarbIntake:
		// One meal entry; 500 g is several times a large meal.
		return Code{Name: "carbs", System: LOINC, Code: CodeCarbIntake, Display: "Carbohydrate intake Estimated",
			Resource: "Observation", Units: []Unit{{UCUM: "g", Scale: 1}}, Min: 0, Max: 500}, true
	case "insulin", CodeInsulin:
		// One bolus or basal delivery; pumps cap a bolus at 25-35 U, so
		// 100 [IU] rejects only impossible entries.
		return Code{Name: "insulin", System: ATC, Code: CodeInsulin, Display: "Insulins and analogues",
			Resource: "MedicationAdministration", Units: []Unit{{UCUM: "[IU]", Scale: 1}, {UCUM: "[iU]", Scale: 1}},
			Min: 0, Max: 100}, true
	}
	return Code{}, false
}

// Normalize converts q to the canonical unit of c and checks it against the
// plausible range. It fails with an *Error of kind BadUnit or OutOfRange
// (also for NaN and infinities); field names the element in the error.
func (c Code) Normalize(field string, q Quantity) (Quantity, error) {
	i := slices.IndexFunc(c.Units, func(u Unit) bool { return u.UCUM == q.Unit })
	if i < 0 {
		if len(c.Units) == 0 {
			return Quantity{}, &Error{Kind: Malformed, Field: field, Reason: "code " + c.Code + " takes no quantity"}
		}
		return Quantity{}, &Error{Kind: BadUnit, Field: field, Reason: "unit must be one of " + c.unitList()}
	}
	u := c.Units[i]
	v := q.Value*u.Scale + u.Offset
	if math.IsNaN(v) || v < c.Min || v > c.Max {
		return Quantity{}, &Error{Kind: OutOfRange, Field: field, Reason: "value outside the plausible range " +
			strconv.FormatFloat(c.Min, 'g', -1, 64) + " to " + strconv.FormatFloat(c.Max, 'g', -1, 64) + " " + c.Unit()}
	}
	return Quantity{Value: v, Unit: c.Unit()}, nil
}

func (c Code) unitList() string {
	var s string
	for i, u := range c.Units {
		if i > 0 {
			s += ", "
		}
		s += strconv.Quote(u.UCUM)
	}
	return s
}

// Normalize checks o and returns it with its code made canonical, its
// quantities in canonical units and its time in UTC. It fails with an
// *Error: UnknownCode, Malformed (a missing or extra result, bad ids, no
// time), BadUnit or OutOfRange (including a diastolic pressure not below
// the systolic one).
func Normalize(o Observation) (Observation, error) {
	c, ok := Lookup(o.Code)
	if !ok || o.Code != c.Code && o.Code != CodeGlucoseCGMMolar && o.Code != CodeSaO2 {
		return Observation{}, &Error{Kind: UnknownCode, Field: "code", Reason: "unsupported code"}
	}
	if !ValidID(o.Device) || o.Patient != "" && !ValidID(o.Patient) {
		return Observation{}, &Error{Kind: Malformed, Field: "device", Reason: "device and patient must be FHIR ids (1-64 of A-Z a-z 0-9 - .)"}
	}
	if o.Effective.IsZero() {
		return Observation{}, &Error{Kind: BadTime, Field: "effective", Reason: "effective time is required"}
	}
	out := Observation{Patient: o.Patient, Device: o.Device, Code: c.Code, Effective: o.Effective.UTC()}
	switch {
	case len(c.Units) > 0:
		if o.Value == nil || o.ValueCode != "" {
			return Observation{}, &Error{Kind: Malformed, Field: "value", Reason: "code " + c.Code + " needs a quantity value only"}
		}
		q, err := c.Normalize("value", *o.Value)
		if err != nil {
			return Observation{}, err
		}
		out.Value = &q
		for i, k := range o.Components {
			if !slices.Contains(c.Optional, k.Code) || slices.ContainsFunc(o.Components[:i], func(p Component) bool { return p.Code == k.Code }) {
				return Observation{}, &Error{Kind: Malformed, Field: "component", Reason: "code " + c.Code + " takes at most one of each of the components " + strings.Join(c.Optional, ", ")}
			}
			kc, _ := Lookup(k.Code)
			kq, err := kc.Normalize("component["+k.Code+"]", k.Value)
			if err != nil {
				return Observation{}, err
			}
			out.Components = append(out.Components, Component{Code: k.Code, Value: kq})
		}
	case len(c.Values) > 0:
		if o.Value != nil || len(o.Components) > 0 || !slices.Contains(c.Values, o.ValueCode) {
			return Observation{}, &Error{Kind: OutOfRange, Field: "valueCode", Reason: "code " + c.Code + " needs one of the values " + strings.Join(c.Values, ", ")}
		}
		out.ValueCode = o.ValueCode
	default:
		if o.Value != nil || o.ValueCode != "" || len(o.Components) != len(c.Components) {
			return Observation{}, &Error{Kind: Malformed, Field: "component", Reason: "panel " + c.Code + " needs exactly the components " + c.Components[0] + " and " + c.Components[1]}
		}
		for _, want := range c.Components {
			i := slices.IndexFunc(o.Components, func(p Component) bool { return p.Code == want })
			if i < 0 {
				return Observation{}, &Error{Kind: Malformed, Field: "component", Reason: "panel " + c.Code + " lacks component " + want}
			}
			cc, _ := Lookup(want)
			q, err := cc.Normalize("component["+want+"]", o.Components[i].Value)
			if err != nil {
				return Observation{}, err
			}
			out.Components = append(out.Components, Component{Code: want, Value: q})
		}
		if out.Components[1].Value.Value >= out.Components[0].Value.Value {
			return Observation{}, &Error{Kind: OutOfRange, Field: "component", Reason: "diastolic pressure must be below systolic"}
		}
	}
	return out, nil
}
