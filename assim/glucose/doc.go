// Package glucose is the estimator of a live type-1 diabetes twin: a
// particle filter over the UVA/Padova S2008 model of package model/t1d
// that tracks one patient's glucose-insulin state from noisy CGM readings,
// the insulin delivered and the carbohydrate announced, adapts a few
// personal parameters over days, and forecasts glucose with prediction
// intervals and the probability of hypoglycaemia.
//
// # Why a particle filter
//
// The model is nonlinear where it matters most (gastric emptying, the
// Michaelis-Menten uptake, the renal threshold, positivity near
// hypoglycaemia), and the question asked of the forecast is a tail
// probability, P(BG < 70 mg/dL within 30 min). A particle filter
// (Gordon, Salmond & Smith, IEE Proc F 1993;140:107-113) represents the
// forecast distribution by whole model trajectories, so the tail comes
// from the model, not from a Gaussian assumption; the cost is one model
// run per particle, which the UVA/Padova model makes cheap (Benchmarks:
// a few hundred µs per update for 64 particles).
//
// # State
//
// Each particle carries the 13 ODE states and eating memory of
// t1d.PatientModel; three personal parameters as log multipliers of the
// population values (Sensitivity: Vmx; Absorption: Kabs; Production: Kp1),
// drawn at the start from a normal prior and then following a slow random
// walk (artificial parameter dynamics, Liu & West 2001, in Sequential
// Monte Carlo Methods in Practice, Springer); an unexplained glucose flux
// into plasma d (mg/kg/min), an Ornstein-Uhlenbeck process (SD 1 mg/kg/min,
// correlation time 60 min) that absorbs what the population model gets
// wrong about this patient (unannounced activity, meal size errors,
// mismatched parameters) and carries the recent trend into the forecast;
// and its sensor error at the last reading. Plasma glucose also gets a
// small multiplicative noise per interval.
//
// # Likelihood
//
// The CGM error of model/t1d (Breton & Kovatchev 2008: a Johnson SU
// transform of an AR(1) sequence on a 15-min grid, spline-interpolated) is
// approximated by a Gaussian AR(1) process with the exact mean and SD of
// the Johnson SU law and the correlation PACF^(Ts/15) at sample time Ts
// (NoiseModel). Because each particle knows its own previous error
// (reading minus its glucose), the likelihood of a reading is that of the
// AR innovation, with a model-error SD added in quadrature; readings at
// the sensor's clipping limits are treated as censored. See Filter.Update.
//
// # Population start
//
// Population averages the parameters of a group of the cohort and
// personalises them with the body weight and basal rate a clinic knows;
// the filter starts from that basal steady state scaled to the first
// reading. ForecastQuality measures the twin against the last value
// carried forward and linear extrapolation on virtual patients whose true
// glucose is known.
//
// Randomness comes from the *rand.Rand passed in: a run is reproducible
// from its inputs and seed. The package does no I/O.
package glucose
