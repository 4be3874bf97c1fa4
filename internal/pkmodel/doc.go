// Package pkmodel reads the files of precision dosing: population PK model
// files (a declarative YAML form of a published model, so that a
// pharmacometrician can enter one without writing Go), the embedded library
// of published models, the dosing files of `doppel fit` and `doppel
// dose` (patient covariates, doses given, measured levels, target), and the
// PK scenario and population files of `doppel sim` and `doppel trial`
// (sim*.go, trial*.go: output times, optional η, genotype and inhibitor
// clearance factors and a PD model; covariate distributions, IIV and
// residual error for populations).
//
// Quantities are written with UCUM units ("80 kg", "2 h", "80 mL/min",
// "39.8 mg/L", "500 mg.h/L", "22.7 %") and converted to the model's units:
// amounts mg, volumes L, times h, clearances L/h, concentrations mg/L, AUC
// mg·h/L; covariates to the unit the model file declares for each.
//
// # Model files
//
//	name: vancomycin-goti2018          # library name
//	title: ...
//	drug: vancomycin
//	citation: {reference: ..., doi: 10.1097/FTD.0000000000000490, source: ...}
//	structure: {compartments: 2, route: iv}   # 1-3 compartments; iv or oral
//	parameters:                        # typical values at the covariate references
//	  CL: {value: 4.5 L/h}             # 1 cmt: CL V; 2: CL Vc Q Vp;
//	  Vc: {value: 58.4 L}              # 3: CL Vc Q2 Vp2 Q3 Vp3; oral adds KA (1/h)
//	  ...
//	  F: {value: 0.8}                  # optional bioavailability, 0 < F <= 1 (or 80 %); default 1
//	  ALAG: {value: 0.5 h}             # optional absorption lag time; default 0
//	covariates:
//	  - name: crcl                     # the name dosing files use
//	    type: continuous               # or boolean (true/false)
//	    unit: mL/min
//	    max: 150 mL/min                # clamps, optional: min, max
//	    effects:
//	      - {on: CL, power: 0.8, reference: 120 mL/min}        # (x/ref)^θ
//	      - {on: CL, exponential: -0.01, reference: 120 mL/min} # exp(θ(x-ref))
//	  - name: dialysis
//	    type: boolean
//	    effects: [{on: CL, factor: 0.7}]                        # θ^x
//	iiv:                               # log-normal: P = TV·exp(η), η ~ N(0, Ω)
//	  cv_convention: lognormal         # ω² = ln(CV²+1); approximate: ω² = CV²
//	  cv: {CL: 39.8 %, Vc: 81.6 %}
//	  correlation: {CL-Vc: 0.21}       # optional: cov = r·ω_CL·ω_Vc
//	  # or instead of cv: omega: {parameters: [CL, Vc], matrix: [[0.147], [0.03, 0.51]]}
//	residual: {model: combined, additive: 3.4 mg/L, proportional: 22.7 %}
//	metabolism: {CYP2D6: {fm: 0.6, ref_activity: 2}}   # optional: fraction of CL per enzyme
//	pd: {model: emax, e0: 0, emax: 100, ec50: 10 mg/L}  # optional, as in a PK scenario
//	notes: ...
//
// F and ALAG apply to every dose into the dose compartment (the depot of an
// oral model, the central compartment of an IV one), as NONMEM's F1 and
// ALAG1: a dose of AMT recorded at TIME puts F·AMT into it from TIME + ALAG
// (an infusion keeps its rate and lasts F times as long). They take no
// covariate effects or IIV. With F given, CL and the volumes are absolute;
// an oral model fitted without intravenous data gives the apparent CL/F and
// V/F and leaves F out.
//
// The residual variance of the combined model is additive² + (proportional·f)².
//
// metabolism and pd let a model carry what scenarios would otherwise
// repeat: a scenario then gives only the patient's genotype (or an
// inhibitor's enzyme) and gets its PD. Precedence, per field: a scenario's
// pgx entry for a gene replaces the model's metabolism entry for that
// gene; a scenario's pd replaces the model's pd as a whole; an inhibitor's
// fm, when the scenario gives none, is the fm of its enzyme (a genotyped
// gene's, then the model's metabolism).
//
// # Covariates that change, and data sets
//
// Dosing files and PK scenarios take covariates: [{time: 24 h, crcl: 50
// mL/min}, ...]: each value holds from its time on until the next change of
// the same covariate (patient gives the values before the first), and the
// closed form restarts from the amounts at each change (pkpd.ApplyCovariates
// with LOCF). A PK scenario may instead name a NONMEM-style CSV data set
// (data:, see Data), whose covariates change at records by NONMEM's NOCB
// rule; Sim.RunData gives PRED and IPRED per observation record.
//
// Errors are *scenario.Error values naming file:line and field.
package pkmodel
