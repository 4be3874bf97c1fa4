## pkpd_popsim.R -- R side of bench/pkpd_vs_r.sh: population simulation of
## reference case f (1000 subjects of model b, 0..168 h hourly), timed.
## Written for the Doppel project. It reuses the definitions of the shared
## reference scripts (copied in bench/r/, see bench/r/README.md) and the
## sampled parameters the Go benchmarks read (model/pkpd/testdata/f_popsim_params.csv),
## so both sides compute the same 169 000 concentrations.
##
## Usage (run in a scratch directory holding copies of pk_common.R, pk2cmt.c,
## pk2cmt_ev.c and f_popsim_params.csv; the .o/.so files are built there):
##   Rscript pkpd_popsim.R REPEATS [rrhs]
## Prints one CSV line per method and repeat:
##   task,method,rep,wall_s,cpu_s,max_rel_err,max_abs_err_mg_L
## max_rel_err is against the closed form where C > 1e-3 mg/L, as in
## f_popsim_timing.R; cpu_s is user + sys of this process.
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args) >= 1) as.integer(args[1]) else 3L
rrhs <- length(args) >= 2 && args[2] == "rrhs"
source("pk_common.R")

P <- as.matrix(read.csv("f_popsim_params.csv")[, c("CL", "V1", "Q", "V2", "ka")])
N <- nrow(P)
ev <- rbind(data.frame(time = seq(0, 48, by = 12), amt = 100, cmt = 1, rate = 0),
            data.frame(time = 72, amt = 200, cmt = 2, rate = 200))
times <- 0:168
y0 <- c(depot = 0, central = 0, periph = 0)

## the three methods below follow f_popsim_timing.R (same calls, same tolerances)
analytic_all <- function() {
  out <- matrix(0, length(times), N)
  for (i in 1:N) {
    p <- P[i, ]; m <- macro2(p[["CL"]], p[["V1"]], p[["Q"]], p[["V2"]])
    a <- a2_inf(times - 72, 200, 1, m)
    for (td in seq(0, 48, 12)) a <- a + a2_oral(times - td, 100, p[["ka"]], m)
    out[, i] <- a / p[["V1"]]
  }
  out
}
sim_seg <- function(rtol, atol, dll = NULL) {
  do.call(cbind, lapply(1:N, function(i) {
    p <- P[i, ]
    solve_events(rhs_2cmt_oral, y0, p, ev, times, rtol, atol, dll = dll)$central / p[["V1"]]
  }))
}
evdf <- rbind(data.frame(var = "depot", time = seq(0, 48, 12), value = 100, method = "add"),
              data.frame(var = "rate", time = c(72, 73), value = c(200, 0), method = "rep"))
sim_ev <- function(rtol, atol) {
  do.call(cbind, lapply(1:N, function(i) {
    p <- P[i, ]
    s <- ode(y = c(depot = 0, central = 0, periph = 0, rate = 0), times = times, func = "derivs_ev",
             parms = unname(p[c("CL", "V1", "Q", "V2", "ka")]), dllname = "pk2cmt_ev", initfunc = "initmod_ev",
             events = list(data = evdf), rtol = rtol, atol = atol, method = "lsoda")
    s[, "central"] / p[["V1"]]
  }))
}

if (system("R CMD SHLIB -o pk2cmt.so pk2cmt.c >/dev/null 2>&1") != 0 ||
    system("R CMD SHLIB -o pk2cmt_ev.so pk2cmt_ev.c >/dev/null 2>&1") != 0)
  stop("pkpd_popsim: R CMD SHLIB failed (is gcc installed?)")
dyn.load("pk2cmt.so"); dyn.load("pk2cmt_ev.so")

ref <- analytic_all()
ok <- ref > 1e-3
methods <- list(
  "closed_form" = function() analytic_all(),
  "lsoda_C_events_rtol1e-10" = function() sim_ev(1e-10, 1e-12),
  "lsoda_C_segments_rtol1e-10" = function() sim_seg(1e-10, 1e-12, dll = "pk2cmt"),
  "lsoda_C_segments_rtol1e-6" = function() sim_seg(1e-6, 1e-6, dll = "pk2cmt"))
if (rrhs) methods[["lsoda_Rfun_segments_rtol1e-10"]] <- function() sim_seg(1e-10, 1e-12)
for (name in names(methods)) {
  for (r in seq_len(reps)) {
    gc()
    t <- system.time(x <- methods[[name]]())
    rel <- max(abs(x[ok] - ref[ok]) / ref[ok]); ab <- max(abs(x - ref))
    cat(sprintf("popsim,%s,%d,%.4f,%.4f,%.3g,%.3g\n", name, r, t[["elapsed"]],
                t[["user.self"]] + t[["sys.self"]], rel, ab))
    if (rrhs && name == "lsoda_Rfun_segments_rtol1e-10") break   # ~30 s: once is enough
  }
}
