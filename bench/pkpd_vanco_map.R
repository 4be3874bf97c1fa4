## pkpd_vanco_map.R -- R side of bench/pkpd_vs_r.sh: the vancomycin MAP fit of
## reference case e, timed. Written for the Doppel project.
##
## It sources e_vanco_map.R unchanged (copied in bench/r/, see bench/r/README.md;
## that run writes its e_*.csv files into the current directory, so run this in
## a scratch directory), then times only the optimisation, i.e. the same calls
## as the script:
##   map_bfgs    optim(c(0,0,0), ofv, "BFGS", hessian = TRUE, reltol 1e-14): the
##               MAP estimate and the Hessian for the Laplace SE (what Doppel's
##               pkpd.Fit returns);
##   map_bfgs_nm the above followed by the script's Nelder-Mead confirmation;
##   map_bfgs_closedform  map_bfgs with closed-form concentrations (see below).
## The script's ofv() solves the ODE with deSolve lsoda (R-function RHS, rtol 1e-10, restarted
## at every infusion start and end) for each evaluation.
##   Rscript pkpd_vanco_map.R REPEATS
## Prints CSV lines: task,method,rep,wall_s,cpu_s,max_rel_err,ofv_evals
## max_rel_err: largest relative difference of (CL, Vc, Vp) from the values the
## reference run recorded in e_vanco_map.csv (CL 2.555133 L/h, Vc 48.02996 L, Vp 38.78372 L).
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args) >= 1) as.integer(args[1]) else 3L
ref <- c(CL = 2.555133256, Vc = 48.02995686, Vp = 38.78372359)
invisible(capture.output(source("e_vanco_map.R")))

n_eval <- 0L
ofv_count <- function(eta) { n_eval <<- n_eval + 1L; ofv(eta) }
bfgs <- function() optim(c(0, 0, 0), ofv_count, method = "BFGS", hessian = TRUE,
                         control = list(reltol = 1e-14, maxit = 2000, ndeps = rep(1e-5, 3)))
## Our addition (not in e_vanco_map.R): the same objective with the
## concentrations from 2-cmt closed-form superposition (pk_common.R's a2_inf),
## as Doppel's Fit computes them, to separate language from algorithm.
conc_cf <- function(eta, times) {
  p <- ind_par(eta, pat); m <- macro2(p[["CL"]], p[["Vc"]], p[["Q"]], p[["Vp"]])
  a <- 0
  for (k in seq_len(nrow(reg))) a <- a + a2_inf(times - reg$time[k], reg$amt[k], reg$amt[k] / reg$rate[k], m)
  a / p[["Vc"]]
}
ofv_cf <- function(eta) {
  n_eval <<- n_eval + 1L
  f <- conc_cf(eta, t_obs)
  s2 <- add_sd^2 + (prop_sd * f)^2
  sum((y_obs - f)^2 / s2 + log(s2)) + sum(eta^2 / omega2)
}
stopifnot(abs(ofv_cf(c(0.1, -0.2, 0.3)) - ofv(c(0.1, -0.2, 0.3))) < 1e-7)
methods <- list(
  map_bfgs_closedform = function() optim(c(0, 0, 0), ofv_cf, method = "BFGS", hessian = TRUE,
                                         control = list(reltol = 1e-14, maxit = 2000, ndeps = rep(1e-5, 3))),
  map_bfgs = function() bfgs(),
  map_bfgs_nm = function() {
    f <- bfgs()
    optim(f$par, ofv_count, method = "Nelder-Mead", control = list(reltol = 1e-14, maxit = 5000))
  })
for (name in names(methods)) {
  for (r in seq_len(reps)) {
    n_eval <- 0L
    gc()
    t <- system.time(fit <- methods[[name]]())
    p <- ind_par(fit$par, pat)[c("CL", "Vc", "Vp")]
    cat(sprintf("vanco_map,%s,%d,%.4f,%.4f,%.3g,%d\n", name, r, t[["elapsed"]],
                t[["user.self"]] + t[["sys.self"]], max(abs(p / ref - 1)), n_eval))
  }
}
