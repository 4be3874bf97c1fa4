#!/usr/bin/env bash
# ode_vs_scipy.sh - Doppel's ode integrators against scipy.integrate.solve_ivp on the test
# problems of ode/odetest, at the same rtol/atol, and print time, work and error side by side
# with the ratio scipy_time / doppel_time.
#
#   non-stiff (exponential decay, harmonic oscillator, Enright-Pryce A3):
#       Doppel DoPri5  vs  solve_ivp RK45 (the same Dormand-Prince 5(4) pair) and DOP853
#   stiff (Van der Pol mu=1000 on [0, 2000], Robertson on [0, 1e11]):
#       Doppel Rodas4  vs  solve_ivp Radau, BDF and LSODA, all with the analytic Jacobian
#
# Go side: bench/odebench (GOMAXPROCS=1), one solve = build the integrator + Integrate.
# SciPy side: bench/ode_scipy.py, one solve = one solve_ivp call, with the right-hand side and
# Jacobian in Python (what solve_ivp's users pay). Both report the median wall time of one
# solve and the error at the end time as odetest.Problem.Error defines it.
#
# Because methods of different order reach different errors at the same tolerances, Doppel is
# also run (not SciPy) at a ladder of tolerances, and each SciPy row also gets the ratio of its
# time to the fastest Doppel solve whose error is no larger ("same-error ratio").
#
# Usage: bench/ode_vs_scipy.sh [--tols 1e-6/1e-9,1e-8/1e-10] [--min-time SECONDS]
#                              [--problems NAME,...] [--ladder PAIRS|none]
#                              [--python PY] [--install]
#   --tols       comma-separated rtol/atol pairs, the same for both sides
#   --min-time   least seconds spent timing each case on each side (default 0.5)
#   --problems   comma-separated odetest problem names (default: all; see
#                go run ./bench/odebench -list)
#   --ladder     Doppel's extra rtol/atol pairs for the same-error ratio (default
#                rtol = 1e-4 ... 1e-12, atol = rtol/1000), timed for 0.1 s each; none: skip
#   --python     Python interpreter with numpy and scipy (default: /usr/bin/python3 if present)
#   --install    apt-get install python3-scipy if scipy is missing (root, Debian/Ubuntu)
set -euo pipefail

TOLS=1e-6/1e-9,1e-8/1e-10
MIN_TIME=0.5
PROBLEMS=""
LADDER=1e-4/1e-7,1e-5/1e-8,1e-6/1e-9,1e-7/1e-10,1e-8/1e-11,1e-9/1e-12,1e-10/1e-13,1e-11/1e-14,1e-12/1e-15
INSTALL=0
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

while [ $# -gt 0 ]; do
	case "$1" in
	--tols) TOLS=$2; shift 2 ;;
	--min-time) MIN_TIME=$2; shift 2 ;;
	--problems) PROBLEMS=$2; shift 2 ;;
	--ladder) LADDER=$2; shift 2 ;;
	--python) PY=$2; shift 2 ;;
	--install) INSTALL=1; shift ;;
	-h | --help) sed -n '2,30p' "$0"; exit 0 ;;
	*) echo "ode_vs_scipy: unknown argument $1" >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/.."
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "host: $(uname -sm), ${cpu:-cpu unknown}, $(nproc) cores," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"

# The comparison is one core against one core: Go with GOMAXPROCS=1, numpy's BLAS with one
# thread (the systems have 1 to 3 equations, so BLAS threads would only add overhead).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

have_scipy() { "$PY" -c 'import numpy, scipy.integrate' 2>/dev/null; }
if ! have_scipy && [ "$INSTALL" = 1 ]; then
	echo "installing the Debian package python3-scipy (and python3-numpy)"
	apt-get install -y python3-scipy >/dev/null
	PY=/usr/bin/python3
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/odebench" ./bench/odebench
goargs=()
pyargs=(--tols "$TOLS" --min-time "$MIN_TIME")
if [ -n "$PROBLEMS" ]; then
	goargs+=(-problems "$PROBLEMS")
	pyargs+=(--problems "$PROBLEMS")
fi

echo "go: $(go version | cut -d' ' -f3-), GOMAXPROCS=1"
GOMAXPROCS=1 "$tmp/odebench" "${goargs[@]}" -tols "$TOLS" -mintime "${MIN_TIME}s" >"$tmp/doppel.jsonl"
if [ "$LADDER" != none ]; then
	GOMAXPROCS=1 "$tmp/odebench" "${goargs[@]}" -tols "$LADDER" -mintime 0.1s >"$tmp/ladder.jsonl"
	# the runs at the compared tolerances come last, so that they are the ones shown
	cat "$tmp/ladder.jsonl" "$tmp/doppel.jsonl" >"$tmp/all.jsonl"
	mv "$tmp/all.jsonl" "$tmp/doppel.jsonl"
fi

if ! have_scipy; then
	echo "scipy: skipped - $PY cannot import numpy and scipy. Install them with" >&2
	echo "  apt-get install python3-scipy        (Debian/Ubuntu; then --python /usr/bin/python3)" >&2
	echo "  $PY -m pip install numpy scipy" >&2
	echo "or rerun with --install (apt-get, as root), or point --python at a Python that has scipy." >&2
	echo "Doppel side only:" >&2
	GOMAXPROCS=1 "$tmp/odebench" "${goargs[@]}" -tols "$TOLS" -mintime "${MIN_TIME}s" -format table
	exit 1
fi
"$PY" bench/ode_scipy.py "${pyargs[@]}" --doppel "$tmp/doppel.jsonl"
