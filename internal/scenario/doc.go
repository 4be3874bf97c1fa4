// Package scenario reads Doppel scenario files: YAML documents that say which
// model, virtual patient, devices, controller and timed events (meals,
// boluses, basal changes) one simulation run uses.
//
// Decoding is strict. Unknown fields, duplicate keys, wrong types, unknown
// names, negative amounts and times outside the run are errors, reported as
// one message that names the file, line and field:
//
//	examples/bad.yaml:9: meals[1].carbs: must be >= 0, got -5
//
// The names a file may use (patients, sensors, pumps, controllers and their
// settings) come from a [Catalog] supplied by the caller; [T1D] is the
// catalog of the type-1 diabetes model in model/t1d.
//
// # File format
//
//	model: t1d                        # required; the model to run
//	patient: "adult#001"              # required; quote it (# starts a YAML comment after a space)
//	start: 2018-01-01T06:00:00Z       # required; RFC 3339 with a zone, on a whole minute
//	duration: 24h                     # required; Go duration plus days: 90m, 24h, 3d, 1d12h
//	seed: 1                           # optional, default 1; seeds sensor noise and anything random
//	sensor: {name: Navigator, noise: false}   # or just "sensor: Navigator" (noise defaults to true)
//	pump: Insulet                     # or {name: Insulet}
//	controller: basal-bolus           # or {name: basal-bolus, target: 140}, {name: pid, target: 120}
//	meals:                            # carbohydrate announced at one minute, g
//	  - {at: 2018-01-01T07:00:00Z, carbs: 45}
//	  - {at: +6h, carbs: 70}          # offsets after start are allowed
//	boluses:                          # manual boluses, U, on top of what the controller gives
//	  - {at: +1h, units: 2}
//	basal:                            # basal rate from that time on, U/h (overrides the controller's basal)
//	  - {at: +12h, rate: 0.9}
//
// Times ("at") are either absolute RFC 3339 times (2018-01-01T07:00:00Z) or
// offsets after start written with a leading plus sign (+1h30m, +2d). Bare
// numbers are rejected: simglucose reads a number as hours after the start,
// a clock hour would be a silent error. Every time must fall in
// [start, start+duration) and on a whole minute, because the simulator
// announces meals at exact minutes.
package scenario
