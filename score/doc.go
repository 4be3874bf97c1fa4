// Package score computes clinical scores: pure functions of a patient's
// observations, tested against published vectors, that a live twin
// evaluates on every complete set of observations.
//
// NEWS2 is the Royal College of Physicians' National Early Warning Score 2
// (RCP, London 2017): seven parameters scored by the bands of its Chart 1
// (Bands, with SpO2 scale 2 for prescribed hypercapnic patients), the
// aggregate, the red score (3 in any one parameter) and the clinical
// response of its Chart 2 (Response). Units: respiration rate in
// breaths/min, SpO2 in %, systolic blood pressure in mmHg, pulse in
// beats/min, temperature in °C.
//
// TrendForecast turns a series of vitals into a forecast of when the NEWS2
// response will escalate, with an uncertainty interval from the scatter of
// the series around its trend: the alert a ward nurse would want before
// the score crosses, not after.
//
// The package does no I/O and holds no state; randomness is passed in.
package score
