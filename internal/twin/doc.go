// Package twin runs the live digital twins of patients: one per patient,
// fed the clinical.Observations that arrive from devices, each keeping its
// state estimate current, forecasting, raising alerts and answering
// what-if questions from where the patient is now.
//
// # Why here
//
// The estimators (assim/glucose, score) are pure computations over one
// patient. A live platform needs the rest: many patients at once, each one
// updated strictly in the order of its data and never by two goroutines at
// a time; time between readings turned into model inputs; alerts that fire
// once when a condition begins, not on every reading; what-if branches
// that cannot disturb the live estimate; and state that survives a
// restart. The Manager does that and nothing else. It imports only
// clinical and the science packages; it talks to storage, streams and HTTP
// through the small interfaces it declares (Sink, Snapshots), so it can be
// tested with a fake clock and no server.
//
// # Diabetes twins
//
// CGM glucose (LOINC 99504-3), insulin doses (ATC A10A, U) and carbohydrate
// entries (LOINC 9059-7, g) go to a glucose.Filter. Doses and carbohydrate
// wait until the next CGM reading; the minutes since the previous reading
// become the filter's inputs (a dose or entry counts in the minute it was
// given, on top of the patient's basal rate; one handed over twice, by its
// device, code and time, counts once), then the reading is
// assimilated and glucose is forecast at 30, 60 and 120 min with the basal
// rate continuing and nothing eaten. A forecast event follows every
// reading; a predicted-hypoglycaemia alert fires when P(glucose < 70 mg/dL
// within 30 min) reaches Options.HypoProb and re-arms when it falls back.
// Inputs and readings older than the last reading are ignored: a twin
// moves forward only, and a replayed reading is harmless.
//
// # Ward twins
//
// Respiratory rate, SpO2, blood pressure, heart rate, temperature and
// consciousness are collected into sets: when all six have arrived since
// the last scored set, within Options.VitalsWindow of each other, the set
// is scored with NEWS2 — on oxygen if the latest oxygen readings (inhaled
// flow 3151-8 > 0 L/min or concentration 3150-0 > 21 %, alone or as SpO2
// components) say so, on SpO2 scale 2 when Options.Scale2 says it is
// prescribed for that time — and the trend of the recent sets
// forecasts when the response will escalate (score.TrendForecast). An
// alert fires when the response rises to an urgent ward-based response or
// above (RCP 2017 Chart 2).
//
// # Lost data stream
//
// CheckStreams, called by Run every minute and by tests at will, raises
// one alert for each diabetes twin whose last CGM reading is older than
// Options.StreamTimeout by the injected clock; the next reading re-arms it.
//
// # Snapshots and restarts
//
// Snapshot and SaveAll write each twin's state, with the setup it started
// from (so a restored twin does not re-read a record that may have
// changed), as bytes through Snapshots; a twin not yet in memory is restored from its snapshot when
// its first observation arrives. Replaying the observations after a
// snapshot is the caller's job (for example, a stream consumer that
// restarts from the sequence saved with the snapshot); because a twin
// ignores readings not newer than its last, replaying too much is safe.
package twin
