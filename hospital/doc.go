// Package hospital is a patient-flow model of a hospital on the des kernel:
// emergency-department (ED) cubicles, inpatient units (wards, ICU), routing,
// boarding, lengths of stay, elective admissions, transfers, time-varying
// capacity and surges, run as Monte Carlo replications.
//
// It answers the bed manager's questions (how full will each unit be, how
// likely is the ICU to be full, how long will admitted patients board in
// the ED) and lets a decision be tried first: a what-if branch runs the
// same start state and the same random patients with a changed
// configuration (common random numbers), so the difference between the
// branches is the effect of the decision, not noise.
//
// # Model
//
// Time is in hours. ED arrivals are Poisson, optionally modulated by
// hour-of-day and day-of-week multipliers (by thinning, Lewis & Shedler
// 1979). Each arrival's disposition is drawn at arrival: unit u with
// probability Route of u, otherwise home. Arrivals wait FIFO for a cubicle;
// treatment time is drawn from the ED's distribution. After treatment, a
// patient going home frees the cubicle; an admitted patient keeps the
// cubicle ("boards") until a bed in the destination unit is free (FIFO per
// unit), then moves and stays for a length of stay drawn from the unit's
// distribution. Boarding time runs from the end of treatment to the bed.
// This is the model of refs/des hospital_simpy.py (SimPy 4.1.2), against
// which the package is validated; the other features extend it:
//
//   - a unit may transfer a share of its patients to another unit at the
//     end of their stay (ICU → ward step-down); the patient keeps the bed
//     until the next unit has one, and then stays that unit's length of stay;
//   - a unit may discharge only within a window of the day (e.g. 08–20 h):
//     stays that end outside it end at the next opening;
//   - elective admissions arrive at a unit at set hours on set weekdays,
//     and are cancelled when no bed is free if the unit says so;
//   - capacity changes at given times (beds opened or closed); a cut evicts
//     nobody, the unit admits again once below the new capacity;
//   - a surge brings a given number of extra ED arrivals spread uniformly
//     over a window, with its own triage mix.
//
// # Start state
//
// A run starts from a [State]: the current census (inpatients per unit with
// their elapsed stay, ED patients in treatment, boarders, the ED queue),
// or from empty. Remaining stays are drawn conditionally on the elapsed
// stay (des.Dist.SampleAbove), the recipe of symbiotic simulation for bed
// management (Oakley, Onggo & Worthington, Health Care Manag Sci 2020).
//
// # Output
//
// Statistics are collected after the warm-up, per replication, and
// summarised across replications as means with 95 % confidence half-widths
// (Student t): per unit the mean occupancy, the fraction of time full, and
// daily mean occupancy quantiles (a fan chart); for the ED also the mean
// boarding time. Each unit's result carries the two sides of Little's law,
// L = λW, as a bookkeeping check. Replications run in parallel; each draws
// from its own PCG streams derived from the seed (one per purpose:
// arrivals, routing, treatment, stays, ...), so results are identical for
// any number of workers.
package hospital
