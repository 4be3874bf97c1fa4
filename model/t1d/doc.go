// Package t1d is the UVA/Padova S2008 type-1 diabetes glucose-insulin model
// as implemented by simglucose, with its 30 virtual patients, CGM sensors,
// insulin pumps, controllers and glycaemic metrics.
//
// Sources: Dalla Man, Rizza, Cobelli 2007, IEEE TBME 54(10):1740-1749 (meal
// model); Kovatchev et al. 2009, J Diabetes Sci Technol 3(1):44-55 (the S2008
// in-silico trial simulator); simglucose v0.2.11 (github.com/jxx123/simglucose,
// commit a6f6777) for parameters and stepping rules, written out in
// ../shared/refs/simglucose/MODEL.md.
//
// Time is in minutes from the start of a run; glucose in mg/dL; insulin in
// U/min; carbohydrate in g (meals) or g/min (rates).
package t1d
