#!/usr/bin/env bash
# twin_load.sh - the live-twin scale figures of issue 7, item 7: `doppel serve --twins` fed CGM
# readings and ward vitals over MQTT by bench/twinload, with the time from a reading's PUBLISH
# to its forecast on Server-Sent Events (p50, p99), in two set-ups:
#
#   embedded    the embedded NATS JetStream (MQTT on a free loopback port), SQLite store
#   external    the external NATS server at --nats (JetStream) and PostgreSQL (a fresh database
#               made with createdb, dropped at the end; serve runs in a NATS namespace of its
#               own, --nats-namespace, whose streams are deleted at the end); the devices publish with the NATS
#               protocol to doppel.devices.{device}.obs (this machine's NATS has no MQTT
#               listener: 127.0.0.1:1883 is a mosquitto broker), acknowledged by JetStream
#
# Each set-up starts a new data directory; for each step new patients and devices are created
# through the FHIR API, then the load runs for --duration at that step's --speedup (a comma-separated list: 1 is real
# time, 10,000 CGM devices at 1/5 min = 33 readings/s). Device authentication is off (the MQTT
# connections each carry a share of the devices) unless --auth: then serve gets a device key
# (--device-key-file) and every device has its own MQTT connection and login; see bench/twin.md.
# After each step the script prints serve's resident memory (now and peak) and the most TCP
# connections to the MQTT port and the largest stream lag gauges of /metrics it saw (sampled
# every 2 s). The open-file limit is raised to the
# hard limit (each connection is a file descriptor in serve and in twinload).
#
# Usage: bench/twin_load.sh [--diabetes N] [--ward M] [--duration D] [--speedup S[,S...]]
#                           [--conns K] [--sample P] [--no-external] [--no-embedded] [--nats URL]
#                           [--pg URL] [--work DIR] [--keep] [--auth]
#   --diabetes   diabetes patients with a CGM (default 10000); --ward: ward patients (1000)
#   --duration   wall time of each load step (default 60s)
#   --speedup    simulated time per wall time, one step each (default 1,5,10,20)
#   --conns      MQTT connections (default 16); --sample: patients timed over SSE (default 50)
#   --nats       external NATS URL (default nats://127.0.0.1:4222); the external run is
#                skipped when createdb fails
#   --pg         PostgreSQL server URL without a database (default postgres://postgres@127.0.0.1:5432)
#   --work       scratch directory (default a new one under ${TMPDIR:-/tmp}, removed unless --keep)
#   --auth       device authentication: one MQTT connection and login per device (embedded only)
set -euo pipefail

DIABETES=10000
WARD=1000
DURATION=60s
SPEEDUPS=1,5,10,20
CONNS=16
SAMPLE=50
EXTERNAL=1
EMBEDDED=1
NATS=nats://127.0.0.1:4222
PG=postgres://postgres@127.0.0.1:5432
WORK=""
KEEP=0
AUTH=0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
while [ $# -gt 0 ]; do
	case $1 in
	--diabetes) DIABETES=$2; shift ;;
	--ward) WARD=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--speedup) SPEEDUPS=$2; shift ;;
	--conns) CONNS=$2; shift ;;
	--sample) SAMPLE=$2; shift ;;
	--no-external) EXTERNAL=0 ;;
	--no-embedded) EMBEDDED=0 ;;
	--nats) NATS=$2; shift ;;
	--pg) PG=$2; shift ;;
	--work) WORK=$2; shift ;;
	--keep) KEEP=1 ;;
	--auth) AUTH=1 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "twin_load.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$WORK" ] || WORK=$(mktemp -d "${TMPDIR:-/tmp}/twinload.XXXXXX")
mkdir -p "$WORK"
DB=doppel_twinload_$$
NS=twinload$$
SERVER=""
PURGE=""
cleanup() {
	[ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
	[ -z "$PURGE" ] || "$WORK/twinload" -purge-nats "$NATS" -namespace "$NS" || true
	if [ "$KEEP" = 0 ]; then
		dropdb --if-exists -d "$PG/postgres" "$DB" 2>/dev/null || dropdb --if-exists -h 127.0.0.1 -U postgres "$DB" 2>/dev/null || true
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

(cd "$ROOT" && go build -o "$WORK/doppel" ./cmd/doppel && go build -o "$WORK/twinload" ./bench/twinload)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run_setup LABEL "TWINLOAD_ARGS" SERVE_ARGS...: one set-up, all speed-ups.
run_setup() {
	local label=$1 pub=$2; shift 2
	local data=$WORK/data-${label%%,*}
	data=${data// /-}
	rm -rf "$data"
	"$WORK/doppel" serve --data "$data" --addr 127.0.0.1:0 --rate-limit 0 --twins "$@" \
		>"$data.out" 2>"$data.log" &
	SERVER=$!
	local base=""
	for _ in $(seq 100); do
		base=$(sed -n 's/^doppel: listening on //p' "$data.out" 2>/dev/null | head -1)
		[ -n "$base" ] && break
		sleep 0.1
	done
	[ -n "$base" ] || { echo "twin_load.sh: serve did not start; see $data.log" >&2; tail -5 "$data.log" >&2; exit 1; }
	"$WORK/doppel" token --data "$data" --role admin >"$WORK/token"
	local header=-header port=${MQTT##*:}
	for s in ${SPEEDUPS//,/ }; do
		(
			most=0
			: >"$WORK/lag"
			while kill -0 "$SERVER" 2>/dev/null; do
				n=$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)
				[ "$n" -le "$most" ] || { most=$n; echo "$most" >"$WORK/sessions"; }
				curl -s -H "Authorization: Bearer $(cat "$WORK/token")" "${base%/fhir}/metrics" |
					grep -E '^doppel_stream_(pending_messages|oldest_unprocessed_age_seconds)' >>"$WORK/lag" || true
				sleep 2
			done
		) &
		local sampler=$!
		echo 0 >"$WORK/sessions"
		# New patients for each step: a twin ignores readings older than its
		# last, and each step's simulated time ends at the wall clock.
		"$WORK/twinload" -prefix "s$s-" -fhir "$base" -token-file "$WORK/token" $pub -diabetes "$DIABETES" \
			-ward "$WARD" -conns "$CONNS" -sample "$SAMPLE" -duration "$DURATION" -speedup "$s" \
			-label "$label" $header || echo "| $label | speedup $s failed |"
		header=""
		kill "$sampler" 2>/dev/null || true
		wait "$sampler" 2>/dev/null || true
		echo "twin_load.sh: speedup $s: serve $(grep -E '^Vm(RSS|HWM)' /proc/$SERVER/status | tr -s ' \t' ' ' | paste -sd,), at most $(cat "$WORK/sessions") MQTT connections" >&2
		# The most of each stream lag gauge seen during the step (/metrics, every 2 s).
		echo "twin_load.sh: speedup $s: most lag: $(sort -k1,1 -k2,2gr "$WORK/lag" | awk '!seen[$1]++ {printf "%s %s; ", $1, $2}')" >&2
	done
	kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
	SERVER=""
}

MQTT=127.0.0.1:$(free_port)
if [ "$EMBEDDED" = 1 ]; then
	if [ "$AUTH" = 1 ]; then
		head -c 32 /dev/urandom >"$WORK/device.key"
		run_setup "embedded NATS, SQLite, device auth" "-mqtt $MQTT -key-file $WORK/device.key" --mqtt-addr "$MQTT" \
			--device-key-file "$WORK/device.key"
	else
		run_setup "embedded NATS, SQLite" "-mqtt $MQTT" --mqtt-addr "$MQTT"
	fi
fi

if [ "$EXTERNAL" = 1 ]; then
	if ! createdb -h 127.0.0.1 -U postgres "$DB" 2>/dev/null; then
		echo "twin_load.sh: createdb failed: external run skipped" >&2
	else
		# serve's streams on the shared server are in a namespace of this run, deleted at the end
		PURGE=1
		run_setup "external NATS, PostgreSQL" "-nats $NATS -namespace $NS" --nats "$NATS" --nats-namespace "$NS" \
			--store postgres --dsn "$PG/$DB?sslmode=disable"
	fi
fi
