// Package t1d is the UVA/Padova S2008 type-1 diabetes glucose-insulin model
// as implemented by simglucose, with its 30 virtual patients, CGM sensors,
// insulin pumps, controllers and glycaemic metrics.
//
// Sources: Dalla Man, Rizza, Cobelli 2007, IEEE TBME 54(10):1740-1749 (meal
// model); Kovatchev et al. 2009, J Diabetes Sci Technol 3(1):44-55 (the S2008
// in-silico trial simulator); simglucose v0.2.11 (github.com/jxx123/simglucose,
// commit a6f6777) for parameters and stepping rules, written out in
// ../shared/refs/simglucose/MODEL.md. Citations lists them in full.
//
// Time is in minutes from the start of a run; glucose in mg/dL; insulin in
// U/min; carbohydrate in g (meals) or g/min (rates).
//
// # Parts
//
//   - Parameters: Patient, Sensor and Pump return the rows of simglucose's
//     parameter files, embedded in the package (params/README.md);
//     Patients, Sensors and Pumps list the names. ParamInfos and StateInfos
//     describe parameters and states with units.
//   - PatientModel: the 13-state ODE with the eating logic, stepped one
//     minute at a time with constant inputs; State and SetState snapshot and
//     restore it so that a what-if can branch.
//   - Devices: CGM (sample time, clipping, hold, a pluggable NoiseSource such
//     as *Noise), PumpParams.Basal and Bolus (quantisation and limits).
//   - Controllers: anything with Act(Observation) Action; NewBasalBolus is
//     simglucose's basal-bolus controller.
//   - Simulate runs a Config (patient, sensor, pump, controller, meals,
//     manual boluses, basal changes) as simglucose's environment does and
//     returns one Record per sensor sample. Risk is the Kovatchev risk of
//     one reading.
//
// # Accuracy
//
// simglucose integrates each minute with scipy's adaptive Dormand-Prince
// 5(4) method (rtol 1e-6). Here the zero Method integrates each minute with
// fixed-step RK4 (h = 0.5 min), cut into 32 sub-intervals in the minutes where
// the right-hand side is not smooth (see Method). ValidationCases compares
// the model with simglucose's own output, embedded in refdata/: BG agrees to
// about 1e-5 mg/dL and delivered insulin to 1e-10 U/min, against the
// accuracy bar of 1e-3 mg/dL and 1e-9 U/min.
package t1d
