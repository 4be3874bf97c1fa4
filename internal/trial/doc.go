// Package trial runs in-silico trials: every patient of a cohort in every
// arm, in parallel, with results that do not depend on the number of workers
// or on scheduling.
//
// The package knows nothing about a particular model. A [RunFunc] simulates
// one patient in one arm and returns that run's metrics and glucose trace;
// [Run] calls it for every (patient, arm) [Job] on a pool of workers, keeps
// the metrics in a [Result] indexed by arm and patient, and folds each trace
// into the arm's [Profile], a streaming histogram of glucose by time of day
// (the data behind an ambulatory glucose profile, AGP). Nothing is kept per
// sample: memory is one trace buffer per worker plus one profile per arm.
//
// # Determinism
//
// Results are identical for any number of workers because each job's inputs
// depend only on the job, never on which worker runs it or when: a RunFunc
// draws its random numbers from seeds made by [Seed], which mixes the trial
// seed with the patient's name, the day and a stream name. Profiles are
// integer counts, so the order in which traces are added does not matter.
//
// Seeds do not depend on the arm. Every arm therefore sees the same random
// numbers for the same patient and day (common random numbers), so a patient
// eats the same meals and wears the same sensor noise in every arm, unless an
// arm changes the meal plan itself; differences between arms then come from
// the intervention, not from chance, as trialists expect. Seeds do not depend
// on the cohort either: adult#001 gets the same meals whether the trial has
// one patient or thirty, and the first 7 days of a 365-day trial are those of
// a 7-day trial with the same seed.
//
// # Summary statistics
//
// [Result.Summary] reports, per arm and metric, the median and interquartile
// range across patients (quantiles by linear interpolation between order
// statistics, R's type 7 and numpy's default), as trial papers do, plus the
// mean, minimum and maximum. NaN values (a metric undefined for a run) are
// left out and counted apart.
package trial
