#!/usr/bin/env bash
# des_vs_simpy.sh - Doppel's des kernel and hospital model against SimPy 4.1.2 on the models of
# refs/des, and print events and customers (or simulated days) per CPU-second with the ratios.
#
#   M/M/c, lambda = 9/h, mu = 1/h, c = 10, 1,000,000 customers (refs/des mmc_simpy.py)
#   hospital ED -> ward/ICU with boarding, 20 replications x 365 days, 30-day warm-up:
#     capacity_scaled (40 cubicles / 210 ward / 44 ICU beds; examples/hospital_ed.yaml) and the
#     overloaded as_specified (15 / 60 / 12; examples/hospital_unstable.yaml)
#
# Go side, one core: the des benchmark BenchmarkMMc1M (GOMAXPROCS=1) and `doppel hospital FILE
# --workers 1` (GOMAXPROCS=1), timed in process CPU seconds (user + system).
# SimPy side: refs/des mmc_simpy.py and hospital_simpy.py, which report their own CPU time
# (time.process_time) and event count. SimPy is used when `python3 -c 'import simpy'` works or
# SIMPY_SRC points at a SimPy checkout's src/ (e.g. git archive f438164 of the GitHub mirror
# xxxand/simpy-mirror, tag 4.1.2); otherwise the script says so and uses the figures recorded in
# refs/des (2-vCPU AMD EPYC VM, CPython 3.11.7), copied into des/testdata and hospital/testdata.
#
# Events are not the same unit on both sides: SimPy schedules 6 events per M/M/c customer
# (process start, timeout, request, release, ...), Doppel's kernel 2 (arrival, departure); on
# the hospital model about 7.3 against 2.5 per patient. The script prints the events/CPU-s ratio
# that the project's bar names and the like-for-like ratio of customers (or simulated
# hospital-days) per CPU-second; read the second as the speed-up.
#
# Usage: bench/des_vs_simpy.sh [--reps N] [--n CUSTOMERS] [--refs DIR] [--python PY]
#   --reps    SimPy hospital replications to time (default 3; rates do not depend on it)
#   --n       SimPy M/M/c customers (default 1000000)
#   --refs    the refs/des folder with the SimPy scripts (default ../shared/refs/des)
#   --python  Python interpreter (default python3)
set -euo pipefail

REPS=3
N=1000000
PY=python3
cd "$(dirname "$0")/.."
REFS=../shared/refs/des
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) REPS=$2; shift 2 ;;
	--n) N=$2; shift 2 ;;
	--refs) REFS=$2; shift 2 ;;
	--python) PY=$2; shift 2 ;;
	-h | --help) sed -n '2,29p' "$0"; exit 0 ;;
	*) echo "des_vs_simpy: unknown argument $1" >&2; exit 2 ;;
	esac
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "host: $(uname -sm), ${cpu:-cpu unknown}, $(nproc) cores," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cputime CMD... runs CMD and prints its user+system CPU seconds on fd 3.
cputime() {
	local TIMEFORMAT='%U %S'
	{ time "$@" >"$tmp/out" 2>"$tmp/err"; } 2>"$tmp/time"
	awk '{print $1 + $2}' "$tmp/time"
}
json() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# --- Go side ---------------------------------------------------------------------------------
go build -o "$tmp/doppel" ./cmd/doppel
go test -c -o "$tmp/des.test" ./des
runs=5
mmc_cpu=$(cputime env GOMAXPROCS=1 "$tmp/des.test" -test.run '^$' -test.bench '^BenchmarkMMc1M$' -test.benchtime ${runs}x -test.cpu 1)
mmc_wall=$(awk '/^BenchmarkMMc1M/ {print $3 / 1e9}' "$tmp/out")
go_mmc_cpu=$(awk -v c="$mmc_cpu" -v r=$runs 'BEGIN {print c / r}')
go_mmc_events=2000000 # one arrival and one departure per customer (TestMMcErlangC checks it)

declare -A go_cpu go_events
for sc in capacity_scaled:examples/hospital_ed.yaml as_specified:examples/hospital_unstable.yaml; do
	name=${sc%%:*} file=${sc#*:}
	go_cpu[$name]=$(cputime env GOMAXPROCS=1 "$tmp/doppel" hospital "$file" --workers 1 --json)
	go_events[$name]=$(json "$tmp/out" 'd["events"]')
done

# --- SimPy side ------------------------------------------------------------------------------
simpy_live=0
if [ -n "${SIMPY_SRC:-}" ]; then export PYTHONPATH="$SIMPY_SRC${PYTHONPATH:+:$PYTHONPATH}"; fi
if "$PY" -c 'import simpy' 2>/dev/null && [ -f "$REFS/mmc_simpy.py" ]; then
	simpy_live=1
	echo "SimPy: running $REFS scripts live ($("$PY" --version 2>&1)); this takes a few minutes"
	"$PY" "$REFS/mmc_simpy.py" --n "$N" --seed 42 --out "$tmp/mmc.json" >/dev/null
	sp_mmc_epc=$(json "$tmp/mmc.json" 'd["simpy_perf"]["events_per_cpu_s"]')
	sp_mmc_cpc=$(json "$tmp/mmc.json" 'd["simpy_perf"]["customers_per_cpu_s"]')
	for name in capacity_scaled as_specified; do
		"$PY" "$REFS/hospital_simpy.py" --scenario $name --reps "$REPS" --days 365 --warmup-days 30 \
			--seed 1000 --outdir "$tmp" >/dev/null
		cp "$tmp/results_hospital_$name.json" "$tmp/sp_$name.json"
	done
else
	if ! "$PY" -c 'import simpy' 2>/dev/null; then
		echo "SimPy: not installed (python3 -c 'import simpy' fails; set SIMPY_SRC to a SimPy 4.1.2 src/)."
	else
		echo "SimPy: the refs/des scripts are not at $REFS (use --refs)."
	fi
	echo "SimPy: using the timings recorded in refs/des (2-vCPU AMD EPYC VM, CPython 3.11.7; copies in des/testdata, hospital/testdata)"
	sp_mmc_epc=$(json des/testdata/results_mmc_summary.json 'd["simpy_events_per_cpu_s"]["mean"]')
	sp_mmc_cpc=$(json des/testdata/results_mmc_summary.json 'd["simpy_events_per_cpu_s"]["mean"] / 6.000002')
	for name in capacity_scaled as_specified; do
		cp "hospital/testdata/results_hospital_$name.json" "$tmp/sp_$name.json"
	done
fi

# --- report ----------------------------------------------------------------------------------
echo
echo "M/M/c (lambda 9/h, mu 1/h, c 10), 1,000,000 customers, one core"
awk -v gc="$go_mmc_cpu" -v gw="$mmc_wall" -v ge=$go_mmc_events -v se="$sp_mmc_epc" -v sc="$sp_mmc_cpc" 'BEGIN {
	printf "  Doppel  %.3f CPU-s (%.3f s wall)  %6.2f M events/CPU-s  %6.3f M customers/CPU-s\n", gc, gw, ge/gc/1e6, 1e6/gc/1e6
	printf "  SimPy   %.2f CPU-s per 1 M customers  %6.2f M events/CPU-s  %6.3f M customers/CPU-s\n", 1e6/sc, se/1e6, sc/1e6
	printf "  ratio   events/CPU-s %.1fx   customers/CPU-s %.1fx   (bar: 1 M customers <= 0.6 s: %s)\n", ge/gc/se, 1e6/gc/sc, (gc <= 0.6 ? "met" : "NOT met")
}'
for name in capacity_scaled as_specified; do
	sp_epc=$(json "$tmp/sp_$name.json" 'd["perf"]["events_per_cpu_s"]')
	sp_dpc=$(json "$tmp/sp_$name.json" 'd["perf"]["simulated_days_per_cpu_s"]')
	echo
	echo "hospital $name, 20 replications x 365 days, one core"
	awk -v gc="${go_cpu[$name]}" -v ge="${go_events[$name]}" -v se="$sp_epc" -v sd="$sp_dpc" 'BEGIN {
		gd = 20 * 365 / gc
		printf "  Doppel  %.3f CPU-s  %6.2f M events/CPU-s  %8.0f simulated days/CPU-s\n", gc, ge/gc/1e6, gd
		printf "  SimPy   %.1f CPU-s  %6.2f M events/CPU-s  %8.0f simulated days/CPU-s\n", 20 * 365 / sd, se/1e6, sd
		printf "  ratio   events/CPU-s %.1fx   simulated days/CPU-s %.1fx (bar: >= 20x)\n", ge/gc/se, gd/sd
	}'
done
[ $simpy_live = 1 ] || echo; [ $simpy_live = 1 ] || echo "(SimPy figures recorded on another run of a shared machine: compare with care.)"
