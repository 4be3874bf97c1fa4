#!/usr/bin/env bash
# fhir_load.sh - the FHIR server's performance figures of issue 4, item 7, side by side for the
# embedded SQLite store and PostgreSQL, in one run:
#
#   ingest   transaction Bundles POSTed over HTTP to `doppel serve` by C concurrent clients
#            (bench/fhirload), resources stored per wall-clock second
#   import   `doppel import` of the same Bundles written to files, resources/s as it reports them
#   read     GET Patient/{id} and Observation/{id}, p50 and p99 latency
#   search   GET Observation?subject=Patient/{id}&code=http://loinc.org|..., p50 and p99 latency
#
# The dataset is N patients: copies of the 10 Synthea R4 patient Bundles with fresh urn:uuid
# ids, after the Synthea hospital and practitioner Bundles (see bench/fhirload/doc.go).
# Each store starts empty: a new data directory for SQLite; for PostgreSQL the databases
# doppel_bench (serve) and doppel_bench_import (import), dropped and created with dropdb and
# createdb. The PostgreSQL part is skipped when psql cannot connect.
#
# Usage: bench/fhir_load.sh [--patients N] [--clients C] [--reads N] [--searches N]
#                           [--synthea DIR] [--work DIR] [--pg URL] [--no-postgres]
#                           [--perf] [--keep]
#   --patients   patient Bundles (default 1000)
#   --clients    concurrent HTTP clients (default 8)
#   --reads      timed reads (default 20000); --searches: timed searches (default 5000)
#   --synthea    Synthea R4 Bundles (default ../shared/refs/fhir/synthea-r4 from the repository)
#   --work       scratch directory, kept (default a new one under ${TMPDIR:-/tmp}, removed at
#                the end unless --keep, with the two PostgreSQL databases)
#   --pg         PostgreSQL server URL without a database
#                (default postgres://postgres@127.0.0.1:5432)
#   --perf       record the server's CPU profile during each fhirload run with `perf record -g`
#                (WORK/perf-STORE.data; read it with `perf report -i FILE`); implies --keep
set -euo pipefail

PATIENTS=1000
CLIENTS=8
READS=20000
SEARCHES=5000
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SYNTHEA=$ROOT/../shared/refs/fhir/synthea-r4
WORK=""
PG=postgres://postgres@127.0.0.1:5432
POSTGRES=1
PERF=0
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--patients) PATIENTS=$2; shift ;;
	--clients) CLIENTS=$2; shift ;;
	--reads) READS=$2; shift ;;
	--searches) SEARCHES=$2; shift ;;
	--synthea) SYNTHEA=$2; shift ;;
	--work) WORK=$2; shift ;;
	--pg) PG=$2; shift ;;
	--no-postgres) POSTGRES=0 ;;
	--perf) PERF=1; KEEP=1 ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "fhir_load.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ -d "$SYNTHEA" ] || { echo "fhir_load.sh: no Synthea directory $SYNTHEA (use --synthea)" >&2; exit 2; }
if [ -z "$WORK" ]; then
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/fhir_load.XXXXXX")
else
	mkdir -p "$WORK"
	KEEP=1
fi
SERVER_PID=""
cleanup() {
	if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
	if [ "$KEEP" = 0 ]; then
		rm -rf "$WORK"
		if [ "$POSTGRES" = 1 ]; then
			for db in doppel_bench doppel_bench_import; do
				dropdb --if-exists --maintenance-db="$PG/postgres" "$db" 2>/dev/null || true
			done
		fi
	else
		echo "kept $WORK (and the PostgreSQL databases doppel_bench, doppel_bench_import)" >&2
	fi
}
trap cleanup EXIT

echo "building doppel and fhirload" >&2
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/doppel" ./cmd/doppel && CGO_ENABLED=0 go build -o "$WORK/fhirload" ./bench/fhirload)
rm -rf "$WORK/dataset"
"$WORK/fhirload" -synthea "$SYNTHEA" -patients "$PATIENTS" -write "$WORK/dataset"

if [ "$POSTGRES" = 1 ] && ! psql "$PG/postgres" -qAtc 'select 1' >/dev/null 2>&1; then
	echo "fhir_load.sh: cannot connect to $PG; PostgreSQL skipped" >&2
	POSTGRES=0
fi

# freshdb NAME: an empty PostgreSQL database NAME.
freshdb() {
	dropdb --if-exists --maintenance-db="$PG/postgres" "$1" 2>/dev/null # a NOTICE when absent
	createdb --maintenance-db="$PG/postgres" "$1"
}

# store_flags STORE WHAT: the doppel flags of a fresh store for WHAT (serve or import).
store_flags() {
	case $1 in
	sqlite)
		rm -rf "$WORK/$2-sqlite"
		echo "--data $WORK/$2-sqlite" ;;
	postgres)
		local db=doppel_bench
		[ "$2" = import ] && db=doppel_bench_import
		freshdb "$db"
		rm -rf "$WORK/$2-postgres"
		echo "--data $WORK/$2-postgres --store postgres --dsn $PG/$db?sslmode=disable" ;;
	esac
}

# import_rate STORE: doppel import of the dataset into a fresh store; prints resources/s.
import_rate() {
	local flags out
	flags=$(store_flags "$1" import)
	# shellcheck disable=SC2086
	out=$("$WORK/doppel" import "$WORK/dataset" $flags 2>"$WORK/import-$1.err") ||
		{ cat "$WORK/import-$1.err" >&2; echo "$out" >&2; return 1; }
	echo "import $1: $(echo "$out" | head -1)" >&2
	echo "$out" | sed -n '1s/.*(\([0-9]*\) resources\/s).*/\1/p'
}

# serve_load STORE: doppel serve on a fresh store (no rate limit: one client address sends
# everything), fhirload against it; prints fhirload's TSV row.
serve_load() {
	local flags base="" perf_pid=""
	flags=$(store_flags "$1" serve)
	# shellcheck disable=SC2086
	"$WORK/doppel" serve --addr 127.0.0.1:0 --rate-limit 0 $flags >"$WORK/serve-$1.out" 2>"$WORK/serve-$1.log" &
	SERVER_PID=$!
	for _ in $(seq 100); do
		base=$(sed -n 's/^doppel: listening on //p' "$WORK/serve-$1.out")
		[ -n "$base" ] && break
		sleep 0.1
	done
	[ -n "$base" ] || { cat "$WORK/serve-$1.log" >&2; return 1; }
	# serve made the instance key under --data; an admin token signed with it.
	(umask 077; "$WORK/doppel" token --data "$WORK/serve-$1" --role admin --sub fhir_load --ttl 24h >"$WORK/token-$1")
	if [ "$PERF" = 1 ]; then
		perf record -q -g -F 499 -p "$SERVER_PID" -o "$WORK/perf-$1.data" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	"$WORK/fhirload" -url "$base" -token-file "$WORK/token-$1" -synthea "$SYNTHEA" -patients "$PATIENTS" -c "$CLIENTS" \
		-reads "$READS" -searches "$SEARCHES" -label "$1" -format tsv
	if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
	kill -INT "$SERVER_PID"
	wait "$SERVER_PID"
	SERVER_PID=""
}

STORES=sqlite
[ "$POSTGRES" = 1 ] && STORES="sqlite postgres"
ROWS=""
for s in $STORES; do
	rate=$(import_rate "$s")
	serve_load "$s" >"$WORK/row-$s.tsv"
	row=$(cat "$WORK/row-$s.tsv")
	# store patients resources ingest p50 p99 p50 p99 -> the table row with the import column.
	ROWS+=$(echo "$row" | awk -F'\t' -v imp="$rate" '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, imp, $5, $6, $7, $8}')
	ROWS+=$'\n'
done

echo
echo "host: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "dataset: $PATIENTS patients (Synthea R4 copies), $CLIENTS clients, $READS reads, $SEARCHES searches"
echo
echo "| store | patients | resources | ingest HTTP (resources/s) | doppel import (resources/s) | read p50 | read p99 | search p50 | search p99 |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s' "$ROWS"
