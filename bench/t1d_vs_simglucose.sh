#!/usr/bin/env bash
# t1d_vs_simglucose.sh - time one simulated patient-day in simglucose (Python) and in Doppel's
# model/t1d (Go) on the same scenario, and print the ratio.
#
# Scenario (both sides): the noise-free bb_24h run of model/t1d/refdata/simglucose30/README.md
# - adult#001, meals 45/70/80 g at 07:00/12:00/18:00 (start 06:00), basal-bolus controller,
# Insulet pump, Navigator sensor (1-min samples) with noise off, 1440 one-minute steps.
#
# simglucose side: bench/simglucose_refs.py time -n N (CPU seconds from time.process_time,
# after one warm-up day). Go side: go test ./model/t1d -run '^$' -bench '^BenchmarkPatientDay$'
# -benchmem -cpu 1 (ns/op = wall time of one patient-day on one core; the simulation is
# single-threaded, so on an idle machine wall ~ CPU).
#
# Usage: bench/t1d_vs_simglucose.sh [-n N] [--install] [--fetch] [--python PY]
#                                   [--simglucose-s-per-day S] [--benchtime T]
#   -n N                      simglucose patient-days to time (default 3; ~3 s CPU each)
#   --install                 apt-get install the Debian python3 numpy/scipy/pandas/matplotlib
#                             packages if they are missing (needs root and a Debian/Ubuntu host)
#   --fetch                   git clone simglucose into $TMPDIR if SIMGLUCOSE_DIR is unset
#                             (needs network), and check out the pinned commit
#   --python PY               Python interpreter (default: /usr/bin/python3 if present)
#   --simglucose-s-per-day S  skip the Python run; use S CPU seconds per patient-day
#   --benchtime T             passed to go test -benchtime (default 1s)
# Environment: SIMGLUCOSE_DIR = a simglucose source checkout (directory containing simglucose/).
set -euo pipefail

COMMIT=a6f6777586c860457a2a1e6cce6d0bd3fd33d1cc
N=3
INSTALL=0
FETCH=0
BENCHTIME=1s
SG_PER_DAY=""
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift 2 ;;
	--install) INSTALL=1; shift ;;
	--fetch) FETCH=1; shift ;;
	--python) PY=$2; shift 2 ;;
	--simglucose-s-per-day) SG_PER_DAY=$2; shift 2 ;;
	--benchtime) BENCHTIME=$2; shift 2 ;;
	-h | --help) sed -n '2,25p' "$0"; exit 0 ;;
	*) echo "t1d_vs_simglucose: unknown argument $1" >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/.."
echo "host: $(uname -sm), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"

# ---- 1. simglucose -------------------------------------------------------------------------
have_pydeps() { "$PY" -c 'import numpy, scipy, pandas, matplotlib' 2>/dev/null; }

if [ -z "$SG_PER_DAY" ]; then
	if ! have_pydeps && [ "$INSTALL" = 1 ]; then
		echo "installing Debian packages python3-numpy python3-scipy python3-pandas python3-matplotlib"
		apt-get install -y python3-numpy python3-scipy python3-pandas python3-matplotlib >/dev/null
		PY=/usr/bin/python3
	fi
	if [ -z "${SIMGLUCOSE_DIR:-}" ] && [ "$FETCH" = 1 ]; then
		SIMGLUCOSE_DIR="${TMPDIR:-/tmp}/simglucose"
		if [ ! -d "$SIMGLUCOSE_DIR/.git" ]; then
			git clone -q https://github.com/jxx123/simglucose "$SIMGLUCOSE_DIR" ||
				echo "t1d_vs_simglucose: git clone failed (no network?)" >&2
		fi
		if [ -d "$SIMGLUCOSE_DIR/.git" ] && ! git -C "$SIMGLUCOSE_DIR" checkout -q "$COMMIT" 2>/dev/null; then
			echo "t1d_vs_simglucose: pinned commit $COMMIT not checked out; using HEAD" >&2
		fi
	fi
	if ! have_pydeps; then
		echo "simglucose: skipped - $PY lacks numpy/scipy/pandas/matplotlib (try --install, or --python)"
	elif [ -z "${SIMGLUCOSE_DIR:-}" ] || [ ! -f "$SIMGLUCOSE_DIR/simglucose/__init__.py" ]; then
		echo "simglucose: skipped - set SIMGLUCOSE_DIR to a checkout (or use --fetch)"
	else
		echo "simglucose: $(git -C "$SIMGLUCOSE_DIR" rev-parse HEAD 2>/dev/null || echo 'commit unknown (not a git checkout)')," \
			"$("$PY" -c 'import sys,numpy,scipy,pandas;print("Python",sys.version.split()[0],"numpy",numpy.__version__,"scipy",scipy.__version__,"pandas",pandas.__version__)')"
		out=$(SIMGLUCOSE_DIR="$SIMGLUCOSE_DIR" "$PY" bench/simglucose_refs.py time -n "$N" 2>&1 | grep -v pathos)
		echo "$out" | grep -v '^SIMGLUCOSE_'
		SG_PER_DAY=$(echo "$out" | sed -n 's/^SIMGLUCOSE_CPU_S_PER_DAY=//p')
	fi
else
	echo "simglucose: using the given $SG_PER_DAY CPU s per patient-day"
fi

# ---- 2. Doppel (Go) ------------------------------------------------------------------------
if ! list=$(go test ./model/t1d -list '^BenchmarkPatientDay$' 2>&1); then
	echo "$list" >&2
	echo "go: ./model/t1d does not build" >&2
	exit 1
fi
if ! echo "$list" | grep -q '^BenchmarkPatientDay$'; then
	echo "go: BenchmarkPatientDay not found in ./model/t1d" >&2
	exit 1
fi
echo "go: $(go version | cut -d' ' -f3-)"
gobench=$(go test ./model/t1d -run '^$' -bench '^BenchmarkPatientDay$' -benchmem -cpu 1 \
	-benchtime "$BENCHTIME" -count 1)
echo "$gobench" | grep -E '^(Benchmark|cpu:)'

# ---- 3. ratio ------------------------------------------------------------------------------
echo
printf '%-34s %14s %12s %10s %12s\n' "per simulated patient-day" "seconds" "B/op" "allocs/op" "simglucose/x"
if [ -n "$SG_PER_DAY" ]; then
	printf '%-34s %14.6f %12s %10s %12s\n' "simglucose (CPU s)" "$SG_PER_DAY" - - 1
fi
echo "$gobench" | awk -v sg="$SG_PER_DAY" '
/^BenchmarkPatientDay/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkPatientDay\/?/, "", name)
	if (name == "") name = "(no sub-benchmark)"
	ns = ""; bop = "-"; aop = "-"
	for (i = 3; i < NF; i++) {
		if ($(i+1) == "ns/op") ns = $i
		if ($(i+1) == "B/op") bop = $i
		if ($(i+1) == "allocs/op") aop = $i
	}
	s = ns / 1e9
	ratio = (sg != "" && s > 0) ? sprintf("%.0f", sg / s) : "n/a"
	printf "%-34s %14.6f %12s %10s %12s\n", "doppel " name, s, bop, aop, ratio
}'
