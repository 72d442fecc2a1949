#!/bin/sh
# SPDX-License-Identifier: MIT
# hardcase.sh - the user's own problem (issue 3): an API endpoint that takes 2 s must serve
# 1000 req/s. demo_origin answers after --delay; hotpath (1 worker) sits in front of it;
# `hotpath bench` offers a constant 1000 req/s for 30 s over 200 connections. One request
# fills the cache first, then the run reports hotpath bench's latency summary and how
# many requests reached the origin (from demo_origin's /stats). For the "before", the
# same rate is offered to demo_origin directly for a shorter time.
# Usage: sh bench/hardcase.sh [-R rate] [-d duration] [-c conns] [-p path] [-o dir]
# Environment: HARD_DELAY (origin delay, default 2s), HARD_BEFORE_DURATION (default 10s,
# 0 skips the direct run).
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

RATE=1000
DURATION=30s
CONNS=200
URL_PATH=/api/products
DELAY=${HARD_DELAY:-2s}
BEFORE_DURATION=${HARD_BEFORE_DURATION:-10s}
DEMO=${DEMO_ORIGIN:-$BENCH_ROOT/build/examples/demo_origin}

parse_opts() {
	while getopts R:d:c:p:o:h opt; do
		case $opt in
		R) RATE=$OPTARG ;;
		d) DURATION=$OPTARG ;;
		c) CONNS=$OPTARG ;;
		p) URL_PATH=$OPTARG ;;
		o) BENCH_OUT=$OPTARG ;;
		*)
			echo "usage: sh $0 [-R rate] [-d duration] [-c conns] [-p path] [-o dir]" >&2
			exit 2
			;;
		esac
	done
}

# pending REASON: this part cannot run yet; say so and succeed, so run.sh goes on.
pending() {
	bench_log "hard case pending: $*"
	exit 0
}

# origin_hits PORT: demo_origin's count for URL_PATH from its /stats, or the raw answer
# if its shape is not understood (never a guessed number).
origin_hits() {
	curl -s -m 5 "http://127.0.0.1:$1/stats" | python3 -c '
import json, sys
raw = sys.stdin.read()
path = sys.argv[1]
def find(o):
	if isinstance(o, dict):
		for k, v in o.items():
			if k == path and isinstance(v, (int, float)):	# demo_origin: {"paths": {PATH: N}}
				return v
			if k == path and isinstance(v, dict):
				for name in ("count", "requests", "hits", "total"):
					if isinstance(v.get(name), (int, float)):
						return v[name]
			r = find(v)
			if r is not None:
				return r
	if isinstance(o, list):
		for v in o:
			if isinstance(v, dict) and path in v.values():
				for name in ("count", "requests", "hits", "total"):
					if isinstance(v.get(name), (int, float)):
						return v[name]
	return None
try:
	n = find(json.loads(raw))
except ValueError:
	n = None
print(int(n) if n is not None else "unparsed: " + " ".join(raw.split())[:200])
' "$URL_PATH"
}

# delta A B: B - A when both are counts, else "unknown".
delta() {
	case "$1$2" in
	'' | *[!0-9]*) echo unknown ;;
	*) echo $(($2 - $1)) ;;
	esac
}

# run_load NAME URL DURATION: hotpath bench on the load CPU; output kept in the temp dir.
run_load() {
	bench_log "$1: hotpath bench -R $RATE -d $3 -c $CONNS $2"
	taskset -c "$BENCH_LOAD_CPU" "$HOTPATH" bench --quiet -R "$RATE" -d "$3" -c "$CONNS" "$2" \
		>"$BENCH_T/$1.out" 2>&1
	echo "exit status $?" >>"$BENCH_T/$1.out"
}

# summary NAME: the latency and throughput lines of a hotpath bench output.
summary() {
	grep -iE 'p50|p99|req/s|requests|errors|status|success' "$BENCH_T/$1.out" | head -n 20
}

report() {
	echo "# Hard case: 2 s endpoint at $RATE req/s behind hotpath"
	echo
	bench_machine_md | grep -v '^- wrk\|^- peers'
	echo "- origin: demo_origin --delay $DELAY, path $URL_PATH"
	echo "- load: hotpath bench -R $RATE -d $DURATION -c $CONNS (constant rate, open loop)"
	if [ -f "$BENCH_T/before.out" ]; then
		printf '\n## Before: demo_origin directly, %s\n\n```\n' "$BEFORE_DURATION"
		summary before
		printf '```\n'
	fi
	printf '\n## After: through hotpath, after one filling request\n\n```\n'
	summary after
	printf '```\n\n'
	echo "Origin requests for $URL_PATH (demo_origin /stats): $HITS0 before the fill," \
		"$HITS_FILL after it, $HITS_AFTER after the run: $(delta "$HITS_FILL" "$HITS_AFTER")" \
		"during the run."
	printf '\n## Full hotpath bench output (after)\n\n```\n'
	cat "$BENCH_T/after.out"
	printf '```\n'
	bench_notes_md
}

main() {
	parse_opts "$@"
	[ -x "$DEMO" ] || pending "$DEMO not built (examples/demo_origin.c)"
	[ -x "$HOTPATH" ] || pending "$HOTPATH not built"
	"$HOTPATH" bench --help >/dev/null 2>&1 || pending "'hotpath bench' not available yet"
	bench_need curl python3 taskset
	bench_setup
	bench_port
	ORIGIN_PORT=$PORT
	bench_spawn demo_origin "$BENCH_LOAD_CPU" "$DEMO" --listen "127.0.0.1:$ORIGIN_PORT" \
		--delay "$DELAY" --quiet
	bench_wait_port "$ORIGIN_PORT" "$BENCH_PID" 10 || bench_die "demo_origin did not start"
	bench_port
	HP_PORT=$PORT
	start_hotpath hotpath "$HP_PORT" --workers 1 || bench_die "hotpath did not start"

	if [ "$BEFORE_DURATION" != 0 ]; then
		run_load before "http://127.0.0.1:$ORIGIN_PORT$URL_PATH" "$BEFORE_DURATION"
	fi
	HITS0=$(origin_hits "$ORIGIN_PORT")
	code=$(curl -s -o /dev/null -m 15 -w '%{http_code}' "http://127.0.0.1:$HP_PORT$URL_PATH")
	[ "$code" = 200 ] || bench_note "the filling request answered '$code', not 200"
	HITS_FILL=$(origin_hits "$ORIGIN_PORT")
	run_load after "http://127.0.0.1:$HP_PORT$URL_PATH" "$DURATION"
	HITS_AFTER=$(origin_hits "$ORIGIN_PORT")
	report >"$BENCH_T/report.md"
	cat "$BENCH_T/report.md"
	bench_write hardcase
}

main "$@"
