package t1d

// Params are the parameters of one virtual patient of the UVA/Padova S2008
// model as distributed with simglucose (vpatient_params.csv and Quest.csv).
// Units follow ../shared/refs/simglucose/MODEL.md §2.
type Params struct {
	Name string // "adolescent#001" ... "child#010"

	BW   float64 // body weight, kg
	Vg   float64 // glucose distribution volume, dL/kg
	Vi   float64 // insulin distribution volume, L/kg
	Kmax float64 // maximum gastric emptying rate, 1/min
	Kmin float64 // minimum gastric emptying rate, 1/min
	Kabs float64 // intestinal absorption rate, 1/min
	B    float64 // gastric emptying shape: kgut falls below b·Dbar, dimensionless
	D    float64 // gastric emptying shape: kgut recovers below d·Dbar, dimensionless
	F    float64 // fraction of intestinal absorption appearing in plasma, dimensionless
	Kp1  float64 // EGP at zero glucose and insulin, mg/kg/min
	Kp2  float64 // liver glucose effectiveness, 1/min
	Kp3  float64 // EGP suppression by delayed insulin, mg/kg/min per pmol/L
	Fsnc float64 // insulin-independent glucose utilisation, mg/kg/min
	Ke1  float64 // renal excretion rate, 1/min
	Ke2  float64 // renal threshold, mg/kg
	K1   float64 // plasma -> tissue glucose exchange, 1/min
	K2   float64 // tissue -> plasma glucose exchange, 1/min
	Vm0  float64 // insulin-dependent uptake at X = 0, mg/kg/min
	Vmx  float64 // increase of uptake per unit X, mg/kg/min per pmol/L
	Km0  float64 // Michaelis constant of utilisation, mg/kg
	M1   float64 // liver insulin kinetics, 1/min
	M2   float64 // plasma -> liver insulin, 1/min
	M4   float64 // peripheral insulin degradation, 1/min
	M30  float64 // hepatic insulin extraction, 1/min
	Ka1  float64 // subcutaneous insulin absorption, compartment 1, 1/min
	Ka2  float64 // subcutaneous insulin absorption, compartment 2, 1/min
	Kd   float64 // subcutaneous insulin transfer 1 -> 2, 1/min
	P2u  float64 // rate of insulin action on utilisation, 1/min
	Ib   float64 // basal plasma insulin, pmol/L
	Ki   float64 // delay of insulin action on EGP, 1/min
	Ksc  float64 // plasma -> subcutaneous glucose, 1/min
	U2ss float64 // steady-state (basal) insulin infusion, pmol/kg/min

	X0 [NumStates]float64 // initial state, units as in the State table of MODEL.md §2

	CR  float64 // carbohydrate ratio, g/U (Quest.csv)
	CF  float64 // correction factor, mg/dL/U (Quest.csv)
	Age float64 // years (Quest.csv)
	TDI float64 // total daily insulin, U/day (Quest.csv)
}

// NumStates is the number of ODE states of the patient model.
const NumStates = 13

// BasalRate is the patient's steady-state basal insulin rate in U/min
// (u2ss·BW/6000; 1 U = 6000 pmol).
func (p Params) BasalRate() float64 { return p.U2ss * p.BW / 6000 }

// SensorParams describe a CGM sensor (sensor_params.csv; Breton & Kovatchev
// 2008, J Diabetes Sci Technol 2(5):853-862).
type SensorParams struct {
	Name       string
	PACF       float64 // autocorrelation of the 15-min noise sequence, dimensionless
	Gamma      float64 // Johnson SU γ, dimensionless
	Lambda     float64 // Johnson SU λ, mg/dL
	Delta      float64 // Johnson SU δ, dimensionless
	Xi         float64 // Johnson SU ξ, mg/dL
	SampleTime float64 // min
	Min, Max   float64 // clipping range of the reading, mg/dL
}

// PumpParams describe an insulin pump (pump_params.csv).
type PumpParams struct {
	Name               string
	MinBolus, MaxBolus float64 // U/min
	IncBolus           float64 // quantisation step, applied in pmol/min (MODEL.md §4)
	MinBasal, MaxBasal float64 // U/min
	IncBasal           float64 // quantisation step, applied in pmol/min (MODEL.md §4)
}

// Meal is a carbohydrate intake announced at one minute of the run.
type Meal struct {
	T     float64 // minutes after the start of the run
	Carbs float64 // g
}

// Action is what a controller asks the pump to deliver during the next
// sensor sample.
type Action struct {
	Basal float64 // U/min
	Bolus float64 // U/min
}

// Observation is what a controller sees after each sensor sample.
type Observation struct {
	T          float64 // minutes after the start of the run, at the end of the sample
	CGM        float64 // sensor reading, mg/dL
	Meal       float64 // announced carbohydrate averaged over the last sample, g/min (simglucose info["meal"])
	SampleTime float64 // sensor sample time, min
}

// Controller decides insulin delivery from sensor observations. One
// controller serves one patient in one run; build a fresh one per run.
type Controller interface {
	Act(obs Observation) Action
}
