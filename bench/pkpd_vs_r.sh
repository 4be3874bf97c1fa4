#!/usr/bin/env bash
# pkpd_vs_r.sh — model/pkpd against the R reference scripts (deSolve, optim):
# wall seconds per task on both sides and R ÷ Doppel. See bench/README.md.
#
#   bench/pkpd_vs_r.sh [-n N] [--rrhs] [--install] [--keep] [--scratch DIR] [--go-only]
#
#   -n N         repeat each R timing N times and use the median (default 3)
#   --rrhs       also time lsoda with an R-function right-hand side (≈30 s, once)
#   --install    apt-get install -y r-base-core r-cran-desolve r-cran-nlme first
#   --scratch D  where the R scripts run and build pk2cmt*.so (default: a new
#                mktemp directory, removed at the end unless --keep)
#   --go-only    skip the R side
#
# Without Rscript (or gcc) it prints the Go side only and says why.
set -euo pipefail

reps=3 rrhs="" install=0 keep=0 scratch="" goonly=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n) reps="$2"; shift 2 ;;
    --rrhs) rrhs=rrhs; shift ;;
    --install) install=1; shift ;;
    --keep) keep=1; shift ;;
    --go-only) goonly=1; shift ;;
    --scratch) scratch="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pkpd_vs_r: unknown argument \"$1\"" >&2; exit 2 ;;
  esac
done
case "$reps" in ''|*[!0-9]*|0) echo "pkpd_vs_r: -n must be a positive integer, got \"$reps\"" >&2; exit 2 ;; esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [ "$install" = 1 ]; then
  apt-get install -y r-base-core r-cran-desolve r-cran-nlme gcc >&2
fi

results="$(mktemp)"
trap 'rm -f "$results"; if [ "$keep" = 0 ] && [ -n "${made_scratch:-}" ]; then rm -rf "$made_scratch"; fi' EXIT

echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- R side -----------------------------------------------------------------
have_r=1
if [ "$goonly" = 1 ]; then
  have_r=0; echo "R side skipped: --go-only"
elif ! command -v Rscript >/dev/null; then
  have_r=0; echo "R side skipped: Rscript not found (Debian: apt-get install r-base-core r-cran-desolve r-cran-nlme, or --install)"
elif ! command -v gcc >/dev/null; then
  have_r=0; echo "R side skipped: gcc not found (needed by R CMD SHLIB for the compiled lsoda RHS)"
elif ! Rscript -e 'suppressMessages(library(deSolve))' >/dev/null 2>&1; then
  have_r=0; echo "R side skipped: R package deSolve missing (Debian: r-cran-desolve)"
fi
if [ "$have_r" = 1 ]; then
  if [ -z "$scratch" ]; then scratch="$(mktemp -d "${TMPDIR:-/tmp}/pkpd_vs_r.XXXXXX")"; made_scratch="$scratch"; fi
  mkdir -p "$scratch"
  cp bench/r/pk_common.R bench/r/pk2cmt.c bench/r/pk2cmt_ev.c bench/r/e_vanco_map.R \
     bench/pkpd_popsim.R bench/pkpd_vanco_map.R model/pkpd/testdata/f_popsim_params.csv "$scratch/"
  echo "R: $(Rscript -e 'cat(R.version.string, "deSolve", as.character(packageVersion("deSolve")))'); scratch $scratch"
  ( cd "$scratch" && Rscript pkpd_popsim.R "$reps" $rrhs && Rscript pkpd_vanco_map.R "$reps" ) |
    awk -F, '{print "R," $0}' >>"$results"
fi

# --- Go side ----------------------------------------------------------------
gocmd=(go test ./model/pkpd -run '^$' -bench 'Popsim|FitVancomycin|DoseVancomycin' -benchmem -cpu 1)
echo "Go: $(go version | cut -d' ' -f3); ${gocmd[*]}"
gout="$("${gocmd[@]}" 2>&1)" || { echo "$gout"; echo "pkpd_vs_r: go test failed" >&2; exit 1; }
# BenchmarkName[/sub...]  N  ns/op ...: every sub-benchmark is kept under its
# own name (with -cpu 1 Go adds no -GOMAXPROCS suffix, so "rtol=1e-10" stays whole)
printf '%s\n' "$gout" | grep '^Benchmark' || true
printf '%s\n' "$gout" | awk '$1 ~ /^Benchmark/ && $4 == "ns/op" {
  name = $1; sub(/^Benchmark/, "", name)
  task = (name ~ /^Popsim/) ? "popsim" : (name ~ /^FitVancomycin/) ? "vanco_map" : (name ~ /^DoseVancomycin/) ? "vanco_dose" : "other"
  rel = ""   # a maxrel_ppb metric, when the benchmark reports one (1e-9 units)
  for (i = 5; i < NF; i++) if ($(i + 1) == "maxrel_ppb") rel = sprintf("%.3g", $i * 1e-9)
  printf "Go,%s,%s,1,%.6f,,%s,,\n", task, name, $3 / 1e9, rel }' >>"$results"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# --- table ------------------------------------------------------------------
# R rows: median wall (and CPU) over the repeats. Ratio: the task's R baseline
# (popsim: fastest median of the compiled-C lsoda runs at rtol 1e-10; closed
# form against closed form; vanco_map: BFGS + Hessian on the script's ODE
# objective, and on the closed-form objective) ÷ the Go row.
sort -t, -k2,2 -k1,1r -k3,3 -k5,5g "$results" | awk -F, '
function acc_go(name, rel) {
  if (name == "PopsimClosedForm") return "closed form (= R closed form to 1e-10, TestPopsim)"
  if (name ~ /^PopsimODE\//) {
    r = name; if (!sub(/.*rtol=/, "", r)) r = "?"; sub(/\/.*/, "", r)
    return "ODE, RelTol " r ", AbsTol 1e-12 mg" (rel != "" ? "; max rel err " rel " vs closed form (C > 1e-3)" : "")
  }
  if (name == "FitVancomycin") return "7 BFGS starts, closed-form conc, + Laplace SE; CL/Vc/Vp = R to 1e-6 (TestFitVancomycin)"
  if (name == "DoseVancomycin") return "dose search, 3 intervals (no R counterpart timed)"
  return ""
}
function acc_r(method, rel, extra) {
  if (method == "closed_form") return "closed form (reference)"
  if (method ~ /^lsoda/) return sprintf("max rel err %s vs closed form (C > 1e-3)", rel)
  return sprintf("1 BFGS start%s; CL/Vc/Vp rel err %s vs refs e; %s OFV evals",
                 ((method ~ /closedform/) ? ", closed-form conc" : ", lsoda R-RHS rtol 1e-10") \
                 ((method ~ /_nm$/) ? ", then Nelder-Mead" : ""), rel, extra)
}
{
  key = $1 SUBSEP $2 SUBSEP $3
  if (!(key in n)) { order[++k] = key; side[key] = $1; task[key] = $2; meth[key] = $3; rel[key] = $7; ex[key] = $8 }
  n[key]++; wall[key, n[key]] = $5; cpu[key, n[key]] = $6
}
END {
  for (i = 1; i <= k; i++) {
    key = order[i]; m = n[key]
    # the rows were sorted by wall time within a method: the middle one is the median
    med[key] = (m % 2) ? wall[key, (m + 1) / 2] : (wall[key, m / 2] + wall[key, m / 2 + 1]) / 2
    cmed[key] = (m % 2) ? cpu[key, (m + 1) / 2] : (cpu[key, m / 2] + cpu[key, m / 2 + 1]) / 2
    if (side[key] == "R") {
      t = task[key]; me = meth[key]
      if (t == "popsim" && me ~ /^lsoda_C_.*rtol1e-10$/ && (!(t in base) || med[key] < base[t])) { base[t] = med[key]; basename[t] = me }
      if (t == "popsim" && me == "closed_form") { base["popsim_cf"] = med[key] }
      if (t == "vanco_map" && me == "map_bfgs") { base[t] = med[key]; basename[t] = me }
      if (t == "vanco_map" && me == "map_bfgs_closedform") { base2[t] = med[key]; basename2[t] = me }
    }
  }
  printf "| task | side | method | accuracy | wall s | R ÷ Doppel |\n|---|---|---|---|---|---|\n"
  for (i = 1; i <= k; i++) {
    key = order[i]; t = task[key]; me = meth[key]
    if (side[key] == "R") {
      w = sprintf("%.3f (CPU %.3f, median of %d)", med[key], cmed[key], n[key])
      printf "| %s | R | %s | %s | %s | |\n", t, me, acc_r(me, rel[key], ex[key]), w
    } else {
      b = (me == "PopsimClosedForm") ? base["popsim_cf"] : base[t]
      bn = (me == "PopsimClosedForm") ? "closed_form" : basename[t]
      ratio = (b > 0) ? sprintf("%.0f (vs R %s)", b / med[key], bn) : "—"
      if (me !~ /^Popsim/ && base2[t] > 0) ratio = ratio sprintf("; %.0f (vs R %s)", base2[t] / med[key], basename2[t])
      printf "| %s | Doppel | %s | %s | %.4f | %s |\n", t, me, acc_go(me, rel[key]), med[key], ratio
    }
  }
}'
