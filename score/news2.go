package score

import (
	"fmt"
	"math"
)

// ACVPU is the level of consciousness on the ACVPU scale.
type ACVPU int

// Levels of consciousness. Any level but Alert scores 3; NewConfusion is new
// confusion, disorientation or agitation (the "C" that NEWS2 added to AVPU).
const (
	Alert ACVPU = iota
	NewConfusion
	Voice
	Pain
	Unresponsive
)

func (c ACVPU) String() string {
	switch c {
	case Alert:
		return "A"
	case NewConfusion:
		return "C"
	case Voice:
		return "V"
	case Pain:
		return "P"
	case Unresponsive:
		return "U"
	}
	return fmt.Sprintf("ACVPU(%d)", int(c))
}

// Vitals is one complete set of NEWS2 observations.
type Vitals struct {
	RespirationRate float64 // breaths/min
	SpO2            float64 // oxygen saturation, %
	// Scale2 selects SpO2 scale 2 (target 88–92 %, for patients with
	// hypercapnic respiratory failure). NEWS2 allows it only when a
	// clinician has prescribed it; otherwise scale 1 applies.
	Scale2     bool
	OnOxygen   bool    // supplemental oxygen (false: breathing air)
	SystolicBP float64 // systolic blood pressure, mmHg
	Pulse      float64 // heart rate, beats/min
	ACVPU      ACVPU   // level of consciousness
	Temp       float64 // temperature, °C
}

// Parameter is one of the seven NEWS2 parameters, in the order of Chart 1.
type Parameter int

// The NEWS2 parameters.
const (
	RespirationRate Parameter = iota
	SpO2
	AirOrOxygen
	SystolicBP
	Pulse
	Consciousness
	Temperature
	NumParameters = 7
)

func (p Parameter) String() string {
	switch p {
	case RespirationRate:
		return "respiration rate"
	case SpO2:
		return "SpO2"
	case AirOrOxygen:
		return "air or oxygen"
	case SystolicBP:
		return "systolic BP"
	case Pulse:
		return "pulse"
	case Consciousness:
		return "consciousness"
	case Temperature:
		return "temperature"
	}
	return fmt.Sprintf("Parameter(%d)", int(p))
}

// Band is one row of NEWS2 Chart 1 for a measured parameter: values in
// [Lo, Hi] (inclusive, after rounding to the chart's resolution) score
// Points. An open end is ±Inf.
type Band struct {
	Lo, Hi float64
	Points int
}

// Bands returns the Chart 1 bands of a measured parameter (respiration rate,
// SpO2, systolic BP, pulse or temperature) in increasing order; for SpO2,
// scale 2 and onOxygen select the column (scale 2 scores saturations of 93 %
// and above only on oxygen). It returns nil for the categorical parameters.
// The bands are returned fresh on every call.
func Bands(p Parameter, scale2, onOxygen bool) []Band {
	inf := math.Inf(1)
	switch p {
	case RespirationRate:
		return []Band{{-inf, 8, 3}, {9, 11, 1}, {12, 20, 0}, {21, 24, 2}, {25, inf, 3}}
	case SpO2:
		if !scale2 {
			return []Band{{-inf, 91, 3}, {92, 93, 2}, {94, 95, 1}, {96, inf, 0}}
		}
		if !onOxygen {
			return []Band{{-inf, 83, 3}, {84, 85, 2}, {86, 87, 1}, {88, inf, 0}}
		}
		return []Band{{-inf, 83, 3}, {84, 85, 2}, {86, 87, 1}, {88, 92, 0}, {93, 94, 1}, {95, 96, 2}, {97, inf, 3}}
	case SystolicBP:
		return []Band{{-inf, 90, 3}, {91, 100, 2}, {101, 110, 1}, {111, 219, 0}, {220, inf, 3}}
	case Pulse:
		return []Band{{-inf, 40, 3}, {41, 50, 1}, {51, 90, 0}, {91, 110, 1}, {111, 130, 2}, {131, inf, 3}}
	case Temperature:
		return []Band{{-inf, 35.0, 3}, {35.1, 36.0, 1}, {36.1, 38.0, 0}, {38.1, 39.0, 1}, {39.1, inf, 2}}
	}
	return nil
}

// Resolution returns the resolution at which a measured parameter is
// charted and rounded before scoring: 0.1 °C for temperature, 1 for the
// others (breaths/min, %, mmHg, beats/min).
func Resolution(p Parameter) float64 {
	if p == Temperature {
		return 0.1
	}
	return 1
}

// oxygenPoints is the Chart 1 score of supplemental oxygen.
const oxygenPoints = 2

// consciousnessPoints is the Chart 1 score of any level but Alert.
const consciousnessPoints = 3

// roundTo rounds v to a multiple of res, halves away from zero (37.05 °C
// charts as 37.1). The division keeps 36.1 from becoming 36.099….
func roundTo(v, res float64) float64 {
	if res == 1 {
		return math.Round(v)
	}
	return math.Round(v/res) / (1 / res)
}

// bandPoints scores value v of a measured parameter.
func bandPoints(p Parameter, v float64, scale2, onOxygen bool) int {
	r := roundTo(v, Resolution(p))
	for _, b := range Bands(p, scale2, onOxygen) {
		if r >= b.Lo && r <= b.Hi {
			return b.Points
		}
	}
	// Unreachable: the bands of every measured parameter cover the line.
	panic(fmt.Sprintf("score: no NEWS2 band for %v = %v", p, v))
}

// Response is the NEWS2 clinical response (Chart 2), in increasing urgency.
type Response int

// The Chart 2 clinical responses.
const (
	// Routine: aggregate 0; low clinical risk; continue routine NEWS
	// monitoring (minimum 12-hourly).
	Routine Response = iota
	// WardBased: aggregate 1–4; low clinical risk; the registered nurse
	// assesses and decides on monitoring frequency (minimum 4–6-hourly) and
	// escalation.
	WardBased
	// UrgentWardBased: a red score (3 in one parameter) with an aggregate
	// below 5; low–medium clinical risk; the nurse informs the medical team
	// for an urgent ward-based response (minimum 1-hourly).
	UrgentWardBased
	// Urgent: aggregate 5–6; medium clinical risk; urgent review by a
	// clinician competent in acute illness, consider critical-care
	// outreach (minimum 1-hourly).
	Urgent
	// Emergency: aggregate 7 or more; high clinical risk; emergency
	// assessment by a critical-care team, usually transfer to level 2/3
	// care (continuous monitoring).
	Emergency
)

func (r Response) String() string {
	switch r {
	case Routine:
		return "routine monitoring"
	case WardBased:
		return "ward-based response"
	case UrgentWardBased:
		return "urgent ward-based response"
	case Urgent:
		return "urgent response"
	case Emergency:
		return "emergency response"
	}
	return fmt.Sprintf("Response(%d)", int(r))
}

// Risk returns the clinical risk of the response as Chart 2 names it:
// "low", "low-medium", "medium" or "high".
func (r Response) Risk() string {
	switch r {
	case Routine, WardBased:
		return "low"
	case UrgentWardBased:
		return "low-medium"
	case Urgent:
		return "medium"
	case Emergency:
		return "high"
	}
	return "unknown"
}

// Monitoring returns the minimum monitoring frequency of Chart 2.
func (r Response) Monitoring() string {
	switch r {
	case Routine:
		return "12-hourly"
	case WardBased:
		return "4-6-hourly"
	case UrgentWardBased, Urgent:
		return "1-hourly"
	case Emergency:
		return "continuous"
	}
	return "unknown"
}

// ResponseFor returns the Chart 2 response to an aggregate score with or
// without a red score (3 in a single parameter). The aggregate thresholds
// take precedence where they ask for more: a red score in an aggregate of
// 5 or more is an urgent or emergency response.
func ResponseFor(total int, red bool) Response {
	switch {
	case total >= 7:
		return Emergency
	case total >= 5:
		return Urgent
	case red:
		return UrgentWardBased
	case total >= 1:
		return WardBased
	}
	return Routine
}

// NEWS2Result is the NEWS2 score of one set of vitals.
type NEWS2Result struct {
	Points   [NumParameters]int // per parameter, indexed by Parameter
	Total    int                // aggregate score, 0–20
	Red      bool               // some parameter scores 3
	Response Response
}

// NEWS2 scores a set of vitals with NEWS2 (Royal College of Physicians,
// National Early Warning Score (NEWS) 2, London: RCP 2017; Charts 1 and
// 2). Measured values are rounded to the chart's resolution (Resolution)
// and scored by Bands. It returns an error naming the first value that is
// not finite or not physically possible (negative, SpO2 above 100 %,
// temperature outside 10–50 °C) or an unknown ACVPU level.
func NEWS2(v Vitals) (NEWS2Result, error) {
	if err := v.check(); err != nil {
		return NEWS2Result{}, err
	}
	var r NEWS2Result
	r.Points[RespirationRate] = bandPoints(RespirationRate, v.RespirationRate, false, false)
	r.Points[SpO2] = bandPoints(SpO2, v.SpO2, v.Scale2, v.OnOxygen)
	if v.OnOxygen {
		r.Points[AirOrOxygen] = oxygenPoints
	}
	r.Points[SystolicBP] = bandPoints(SystolicBP, v.SystolicBP, false, false)
	r.Points[Pulse] = bandPoints(Pulse, v.Pulse, false, false)
	if v.ACVPU != Alert {
		r.Points[Consciousness] = consciousnessPoints
	}
	r.Points[Temperature] = bandPoints(Temperature, v.Temp, false, false)
	for _, p := range r.Points {
		r.Total += p
		r.Red = r.Red || p == 3
	}
	r.Response = ResponseFor(r.Total, r.Red)
	return r, nil
}

// value returns the measured value of parameter p.
func (v Vitals) value(p Parameter) float64 {
	switch p {
	case RespirationRate:
		return v.RespirationRate
	case SpO2:
		return v.SpO2
	case SystolicBP:
		return v.SystolicBP
	case Pulse:
		return v.Pulse
	case Temperature:
		return v.Temp
	}
	return math.NaN()
}

// setValue sets the measured value of parameter p.
func (v *Vitals) setValue(p Parameter, x float64) {
	switch p {
	case RespirationRate:
		v.RespirationRate = x
	case SpO2:
		v.SpO2 = x
	case SystolicBP:
		v.SystolicBP = x
	case Pulse:
		v.Pulse = x
	case Temperature:
		v.Temp = x
	}
}

// measured lists the parameters that are measured values, not categories.
func measured() [5]Parameter {
	return [5]Parameter{RespirationRate, SpO2, SystolicBP, Pulse, Temperature}
}

func (v Vitals) check() error {
	for _, p := range measured() {
		x := v.value(p)
		if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			return fmt.Errorf("score: %v = %v, want a finite value ≥ 0", p, x)
		}
	}
	if v.SpO2 > 100 {
		return fmt.Errorf("score: SpO2 = %v %%, want at most 100", v.SpO2)
	}
	if v.Temp < 10 || v.Temp > 50 {
		return fmt.Errorf("score: temperature = %v °C, want 10 to 50", v.Temp)
	}
	if v.ACVPU < Alert || v.ACVPU > Unresponsive {
		return fmt.Errorf("score: consciousness level %d, want A, C, V, P or U", int(v.ACVPU))
	}
	return nil
}
