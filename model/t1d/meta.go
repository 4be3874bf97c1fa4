package t1d

// ParamInfo describes one model parameter for listings such as
// `doppel models`.
type ParamInfo struct {
	Name        string // field name in Params
	Column      string // column in simglucose's vpatient_params.csv or Quest.csv
	Unit        string
	Description string
}

// StateInfo describes one ODE state.
type StateInfo struct {
	Name        string // name in MODEL.md §2
	Unit        string
	Description string
}

// ParamInfos returns the parameters of Params, in field order.
func ParamInfos() []ParamInfo {
	return []ParamInfo{
		{"BW", "BW", "kg", "body weight"},
		{"Vg", "Vg", "dL/kg", "glucose distribution volume (BG = mass / Vg)"},
		{"Vi", "Vi", "L/kg", "insulin distribution volume"},
		{"Kmax", "kmax", "1/min", "maximum gastric emptying rate"},
		{"Kmin", "kmin", "1/min", "minimum gastric emptying rate"},
		{"Kabs", "kabs", "1/min", "intestinal absorption rate"},
		{"B", "b", "1", "gastric emptying slows when the stomach holds less than b·Dbar"},
		{"D", "d", "1", "gastric emptying recovers when the stomach holds less than d·Dbar"},
		{"F", "f", "1", "fraction of intestinal absorption appearing in plasma"},
		{"Kp1", "kp1", "mg/kg/min", "endogenous glucose production at zero glucose and insulin"},
		{"Kp2", "kp2", "1/min", "liver glucose effectiveness"},
		{"Kp3", "kp3", "mg/kg/min per pmol/L", "suppression of glucose production by delayed insulin"},
		{"Fsnc", "Fsnc", "mg/kg/min", "insulin-independent glucose utilisation"},
		{"Ke1", "ke1", "1/min", "renal glucose excretion rate"},
		{"Ke2", "ke2", "mg/kg", "renal excretion threshold"},
		{"K1", "k1", "1/min", "plasma to tissue glucose exchange"},
		{"K2", "k2", "1/min", "tissue to plasma glucose exchange"},
		{"Vm0", "Vm0", "mg/kg/min", "maximum insulin-dependent glucose uptake at zero insulin action"},
		{"Vmx", "Vmx", "mg/kg/min per pmol/L", "increase of maximum uptake per unit insulin action (insulin sensitivity)"},
		{"Km0", "Km0", "mg/kg", "Michaelis constant of glucose utilisation"},
		{"M1", "m1", "1/min", "liver to plasma insulin transfer"},
		{"M2", "m2", "1/min", "plasma to liver insulin transfer"},
		{"M4", "m4", "1/min", "peripheral insulin degradation"},
		{"M30", "m30", "1/min", "hepatic insulin extraction"},
		{"Ka1", "ka1", "1/min", "absorption from subcutaneous insulin compartment 1"},
		{"Ka2", "ka2", "1/min", "absorption from subcutaneous insulin compartment 2"},
		{"Kd", "kd", "1/min", "transfer between subcutaneous insulin compartments"},
		{"P2u", "p2u", "1/min", "rate of insulin action on glucose utilisation"},
		{"Ib", "Ib", "pmol/L", "basal plasma insulin"},
		{"Ki", "ki", "1/min", "delay of insulin action on glucose production"},
		{"Ksc", "ksc", "1/min", "plasma to subcutaneous glucose transfer"},
		{"U2ss", "u2ss", "pmol/kg/min", "steady-state (basal) insulin infusion"},
		{"X0", "x0_ 1 … x0_13", "see StateInfos", "initial state"},
		{"CR", "CR", "g/U", "carbohydrate ratio (Quest.csv)"},
		{"CF", "CF", "mg/dL/U", "correction factor (Quest.csv)"},
		{"Age", "Age", "years", "age (Quest.csv)"},
		{"TDI", "TDI", "U/day", "total daily insulin (Quest.csv)"},
	}
}

// StateInfos returns the 13 ODE states in order (MODEL.md §2).
func StateInfos() []StateInfo {
	desc := [NumStates][2]string{
		{"Qsto1", "solid glucose in the stomach"},
		{"Qsto2", "liquid glucose in the stomach"},
		{"Qgut", "glucose in the intestine"},
		{"Gp", "plasma glucose mass"},
		{"Gt", "tissue glucose mass"},
		{"Ip", "plasma insulin"},
		{"X", "insulin action on glucose utilisation"},
		{"I1", "delayed insulin, first stage"},
		{"Id", "delayed insulin acting on glucose production"},
		{"Il", "liver insulin"},
		{"Isc1", "subcutaneous insulin, compartment 1"},
		{"Isc2", "subcutaneous insulin, compartment 2"},
		{"Gs", "subcutaneous glucose mass (BG = Gs/Vg)"},
	}
	units := [NumStates]string{"mg", "mg", "mg", "mg/kg", "mg/kg", "pmol/kg", "pmol/L", "pmol/L", "pmol/L", "pmol/kg", "pmol/kg", "pmol/kg", "mg/kg"}
	out := make([]StateInfo, NumStates)
	for i, d := range desc {
		out[i] = StateInfo{Name: d[0], Unit: units[i], Description: d[1]}
	}
	return out
}

// Citations returns the sources of the model, its parameters and the
// reference implementation it reproduces.
func Citations() []string {
	return []string{
		"Dalla Man C, Rizza RA, Cobelli C. Meal simulation model of the glucose-insulin system. IEEE Trans Biomed Eng 2007;54(10):1740-1749. doi:10.1109/TBME.2007.893506",
		"Dalla Man C, Camilleri M, Cobelli C. A system model of oral glucose absorption: validation on gold standard data. IEEE Trans Biomed Eng 2006;53(12):2472-2478. doi:10.1109/TBME.2006.883792",
		"Kovatchev BP, Breton M, Dalla Man C, Cobelli C. In silico preclinical trials: a proof of concept in closed-loop control of type 1 diabetes. J Diabetes Sci Technol 2009;3(1):44-55. doi:10.1177/193229680900300106",
		"Breton M, Kovatchev B. Analysis, modeling, and simulation of the accuracy of continuous glucose sensors. J Diabetes Sci Technol 2008;2(5):853-862. doi:10.1177/193229680800200517",
		"Kovatchev BP, Cox DJ, Gonder-Frederick LA, Clarke W. Symmetrization of the blood glucose measurement scale and its applications. Diabetes Care 1997;20(11):1655-1658. doi:10.2337/diacare.20.11.1655",
		"Xie J. simglucose v0.2.11: a Type-1 Diabetes simulator implemented in Python (UVA/Padova 2008 model). https://github.com/jxx123/simglucose, commit a6f6777, MIT licence",
	}
}
