// Package pkpd holds pharmacokinetic and pharmacodynamic models: drug
// amounts and concentrations after doses, and their effects.
//
// Units, unless a field says otherwise: time in h, amounts in mg, volumes
// in L, clearances in L/h, rates in mg/h, concentrations in mg/L.
//
// # Records and schedules
//
// Doses and observations are NONMEM event records (Record: ID, TIME, EVID
// 0-4, AMT, CMT, RATE with −1/−2 for a modelled rate/duration, II, ADDL,
// SS 0/1/2, MDV, DV and covariates), read from and written to NONMEM-style
// CSV data sets by ReadCSV and WriteCSV. Validate checks them against a
// model's Spec, naming the record (or file line) and the field of the first
// error. NewSchedule expands one subject's records into an ordered list of
// events with NONMEM's semantics: additional doses, bioavailability and
// lag time per compartment (Dosing), infusion ends, resets, steady state,
// records at equal times in file order, covariates carried by NOCB
// (PREDPP's rule) or LOCF. See Schedule for the ordering rules.
//
// # Pharmacokinetic models
//
//   - Linear: 1-, 2- and 3-compartment models with IV bolus, zero-order
//     infusion and first-order absorption from a depot, in closed form
//     (macro-constants, superposition), with exact steady states (SS=1/2)
//     and a guard for near-equal rate constants.
//   - ODEModel: any model given as a right-hand side over compartments,
//     solved by package ode and restarted at every discontinuity (doses,
//     infusion starts and ends, lagged doses). MichaelisMenten and Transit
//     (Savic et al. 2007) are two nonlinear ones; LinearODE runs a Linear
//     model on this path, to cross-check the closed form.
//
// Both kinds return the amounts in every compartment (a Profile), not only
// the concentration, so that a state can be snapshotted and a simulation
// continued from it (Schedule.Initial); Predict gives the central
// concentration. Linear.SimulateVarying and PredictVarying recompute the
// parameters from time-varying covariates on every advance, by the
// schedule's carry rule, restarting the closed form from the amounts
// reached (see varying.go: covariates on NONMEM records follow NOCB, a
// timeline of changes written by ApplyCovariates holds each value from its
// time on); DrugModel.PredictRecords, Fit and FitRecords (the MAP fit of
// a data set's observation records) use them. Linear.Window gives
// Cmax, tmax, Cmin and the AUC over a time window off any output grid
// (extrema located between events and refined by golden section).
//
// # Other parts
//
// Pharmacodynamic models (Emax, effect compartment, indirect response),
// pharmacogenomics and drug-drug interactions, and population variability
// (inter-individual variability, covariate models, residual error) live in
// this package too: see the files pd*.go, idr*.go, pgx*.go, ddi*.go and
// population*.go and their documentation.
//
// # References
//
// NONMEM Users Guide VI (PREDPP), ch. V, Event records; Gibaldi & Perrier,
// Pharmacokinetics, 2nd ed., Marcel Dekker 1982; Bertrand & Mentré,
// Mathematical expressions of the pharmacokinetic and pharmacodynamic
// models implemented in the Monolix software, Inserm 2008; Savic, Jonker,
// Kerbusch, Karlsson, J Pharmacokinet Pharmacodyn 2007;34:711-726.
package pkpd
