// Package census warm-starts the hospital model from the FHIR store: it
// builds a hospital.State (who is in which unit, for how long) from the
// Encounters in progress, and calibrates the model's arrivals, lengths of
// stay and routes from finished Encounters.
//
// A forecast is only as good as its start: a model started empty needs a
// long warm-up and still does not know that the ICU is full today. The
// store knows, and this package reads it through a small [Source] (every
// current resource of a type) so that it does no I/O of its own and works
// the same over the SQLite or PostgreSQL store, sealed or not ([StoreSource]).
//
// # Locations to units
//
// A [Mapping] names, for the ED and each model unit, the Locations that
// belong to it: by id (Location/w1), by a code of Location.type or
// Location.physicalType (ICU), or by Location.name. A Location that
// matches nothing inherits the unit of its Location.partOf (a bed in a
// ward). A Location matched by two units, a unit the model does not have,
// or a Location id the store does not hold is an error.
//
// # Census
//
// An Encounter is in the census at time at when its status is in-progress,
// arrived or triaged and its period started at or before at. Its current
// Location is the last (by period.start) of its Encounter.location
// entries whose status is active (or absent, with no period.end). Its
// elapsed stay is at − that entry's period.start (the time in the unit,
// which is what the model's length of stay measures), or at − the
// Encounter's period.start when the entry has none. An Encounter in an ED
// Location is an ED patient in treatment; in a unit's Location, an
// inpatient. Encounters at an unmapped Location are counted in
// [Report.Unmapped], not guessed. Boarders (admitted patients still in the
// ED) cannot be told apart from ED patients in FHIR R4 Encounters and
// are counted as in treatment.
//
// # Calibration
//
// [Calibrate] fits, from the Encounters that started in a window:
//
//   - ED arrivals: the Encounters whose first Location is the ED, by
//     their period.start. RatePerHour is their count over the window's
//     hours; HourOfDay[h] (DayOfWeek[d]) is the rate in hour h of the day
//     (on weekday d) over the mean rate, each hour's exposure counted, so
//     the multipliers average 1 (a separable profile).
//   - Routes: of the ED Encounters whose ED stay has ended, the share
//     whose next Location is in unit u; the rest went home.
//   - Lengths of stay: per unit a lognormal fitted by maximum likelihood
//     to the stays there (location period.end − period.start). Stays still
//     running at the end of the window are right-censored at their elapsed
//     time and enter the likelihood through the survival function
//     1 − Φ((ln c − μ)/σ), so that long stays are not under-represented
//     (dropping them biases the mean down). The ED treatment time is
//     fitted the same way to the ED stays of patients who went home, with
//     those still in the ED at the end of the window censored.
//     [CalibrateOptions].Empirical resamples the stays that ended instead;
//     it cannot use the censored ones and is biased towards short stays
//     when many are censored.
//
// Both read every Encounter and Location of the store (through the
// Source), which suits a hospital's working set; a store holding years of
// history would want a search by date and status instead.
//
// Not calibrated: transfers between units, discharge windows, electives
// and capacities; they stay as the configuration gives them.
package census
