// Package assim estimates the unknown quantities of a model from data: the
// parameters of one individual given a population prior, and later the state
// of a running twin. It works over any model, seen only through callbacks
// that predict observations.
//
// # MAP Bayes
//
// MAP computes the maximum a posteriori (MAP) estimate of the random effects
// η of one individual (Sheiner & Beal, "Bayesian individualization of
// pharmacokinetics: simple implementation and comparison with non-Bayesian
// methods", J Pharm Sci 1982;71:1344-1348). With prior η ~ N(0, Ω),
// observations y_i, model predictions f_i(η) and residual variances s_i², it
// minimises
//
//	OFV(η) = Σ_i [(y_i − f_i(η))²/s_i² + ln s_i²] + ηᵀ Ω⁻¹ η,
//
// minus twice the log posterior up to a constant. Because s_i² is evaluated
// at f_i(η), this is the objective of NONMEM's empirical Bayes (POSTHOC)
// estimates with $ESTIMATION MAXEVAL=0 METHOD=COND INTERACTION POSTHOC
// (Beal, Sheiner, Boeckmann & Bauer, NONMEM Users Guides, Icon Development
// Solutions, 1989-2009, Part VII, Conditional Estimation Methods), the
// conditional estimate used in therapeutic drug monitoring and
// model-informed precision dosing.
//
// The minimiser is BFGS from gonum's optimize package with the analytic
// gradient when the problem supplies the Jacobian of its predictions, and
// central finite differences (gonum's diff/fd) otherwise. The posterior may
// have several modes, so MAP starts from η = 0 and from ±1 prior standard
// deviation along each axis of the Cholesky factor of Ω (2p+1 starts for p
// random effects; see Settings) and keeps the lowest objective; Result lists
// every start and reports whether the estimate is a minimum to working
// precision (Result.Converged).
//
// The posterior covariance is the Laplace approximation: the posterior is
// approximated by a normal distribution at the mode whose precision is the
// Hessian of −log posterior, that is half the Hessian H of OFV, so
// Cov = (H/2)⁻¹ and the standard errors are the square roots of its
// diagonal (Tierney & Kadane, "Accurate approximations for posterior
// moments and marginal densities", J Am Stat Assoc 1986;81:82-86). H comes
// from central differences of OFV, or of the analytic gradient when the
// Jacobian is supplied. For a model linear in η with a residual variance
// that does not depend on f the posterior is normal and both the mode and
// the covariance are exact.
//
// # Sequential Monte Carlo
//
// NormalizeLog and Systematic are the model-free steps of a particle
// filter: log-weights to normalised weights with the effective sample size,
// and systematic resampling. Package assim/glucose builds the live T1D
// twin's particle filter on them.
//
// # Conventions
//
// Vectors are []float64; a slice written by a callback is named dst.
// Matrices are gonum mat types, except the n×p Jacobian, a row-major slice.
// Units are those of the model: the observations and predictions share one.
// Invalid input is an error naming the field, never a panic; a callback
// error, or a non-finite prediction or variance, stops the estimation with
// an error that names the observation and η.
package assim
