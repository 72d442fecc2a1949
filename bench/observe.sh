#!/bin/sh
# SPDX-License-Identifier: MIT
# observe.sh - the cost of observability (issue 10): cache hits (1 KiB, marked "public,
# max-age=3600" by an nginx origin) served by hotpath (1 worker) with request metrics on
# and a JSON access log to a file ("hotpath"), against the same binary with both off
# ("hotpath_bare": metrics.enabled false, no access_log), interleaved, median of
# BENCH_REPS runs (default 3 here) in one run; the target is at most 3 % fewer req/s. The
# report adds CPU time per request. Then the time of a /metrics scrape with 100 routes
# that all have traffic, median of 20 scrapes, and the size of the exposition.
# Usage: sh bench/observe.sh [-c conns] [-d duration] [-r reps] [-w warmup] [-o dir]
#        [-g wrk|hotpath]
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
BENCH_REPS=${BENCH_REPS:-3}
. "$BENCH_DIR/lib.sh"

peer_versions() { echo "none (hotpath against itself)"; }

make_object() {
	mkdir -p "$BENCH_T/www/obj" "$BENCH_T/origin"
	head -c 1024 /dev/urandom >"$BENCH_T/www/obj/1k"
	chmod -R a+rX "$BENCH_T/www"
}

write_configs() {
	cat >"$BENCH_T/on.json" <<-JSON
	{"access_log": {"path": "$BENCH_T/access.log", "format": "json"},
	 "metrics": {"enabled": true}}
	JSON
	cat >"$BENCH_T/off.json" <<-JSON
	{"metrics": {"enabled": false}}
	JSON
}

# cpu_us CAND KEY: median CPU time per request, in microseconds: own CPU % over req/s.
cpu_us() {
	f="$BENCH_T/res/$1.$2"
	[ -s "$f" ] || { echo "-"; return; }
	awk '{ if ($1 > 0) print 1e4 * $5 / $1 }' "$f" | median | awk '{ printf "%.2f\n", $1 }'
}

# scrape_100: a hotpath with 100 named routes, a request on each, then 20 timed scrapes.
scrape_100() {
	bench_port
	port=$PORT
	bench_port
	admin=$PORT
	{
		printf '{"admin": {"listen": ["127.0.0.1:%s"]}, "routes": [' "$admin"
		i=0
		while [ $i -lt 100 ]; do
			[ $i -gt 0 ] && printf ','
			printf '{"name": "r%03d", "path_prefix": "/r%03d/"}' $i $i
			i=$((i + 1))
		done
		printf ']}\n'
	} >"$BENCH_T/routes.json"
	start_hotpath hotpath_routes "$port" --workers 2 --config "$BENCH_T/routes.json" ||
		return 1
	i=0
	while [ $i -lt 100 ]; do
		curl -s -o /dev/null -m 5 "http://127.0.0.1:$port/r$(printf %03d $i)/obj/1k"
		i=$((i + 1))
	done
	: >"$BENCH_T/scrapes"
	n=0
	while [ $n -lt 20 ]; do
		curl -s -o "$BENCH_T/metrics.txt" -m 10 -w '%{time_total}\n' \
			"http://127.0.0.1:$admin/metrics" >>"$BENCH_T/scrapes"
		n=$((n + 1))
	done
	SCRAPE_MS=$(awk '{ print 1000 * $1 }' "$BENCH_T/scrapes" | median |
		awk '{ printf "%.2f", $1 }')
	SCRAPE_MAX_MS=$(awk '{ print 1000 * $1 }' "$BENCH_T/scrapes" | sort -g | tail -1)
	SCRAPE_BYTES=$(wc -c <"$BENCH_T/metrics.txt")
	SCRAPE_LINES=$(wc -l <"$BENCH_T/metrics.txt")
	SCRAPE_ROUTES=$(grep -c '^hotpath_request_duration_seconds_count{route="r' \
		"$BENCH_T/metrics.txt")
}

report() {
	echo "# The cost of observability: metrics and access log on vs off"
	echo
	bench_machine_md
	echo "- origin: nginx, 1 worker; a 1 KiB object with Cache-Control: public, max-age=3600"
	echo "- hotpath: metrics on (the default) and a JSON access log to a file;" \
		"hotpath_bare: \`metrics.enabled: false\`, no access log; both 1 worker"
	printf '\n## Cache hits, 1 KiB\n\n'
	bench_table 1k
	on=$(col "$BENCH_T/res/hotpath.1k" 1 %.0f)
	off=$(col "$BENCH_T/res/hotpath_bare.1k" 1 %.0f)
	echo
	echo "| | req/s (median) | CPU µs per request (median) |"
	echo "|---|---:|---:|"
	echo "| metrics + access log on | $on | $(cpu_us hotpath 1k) |"
	echo "| both off | $off | $(cpu_us hotpath_bare 1k) |"
	echo "| on ÷ off | $(ratio "$on" "$off") | |"
	echo
	echo "Target: on ÷ off ≥ 0.97 (at most 3 % fewer requests per second)."
	printf '\n## /metrics scrape with 100 routes\n\n'
	if [ -n "${SCRAPE_MS:-}" ]; then
		echo "- 100 routes with traffic (${SCRAPE_ROUTES} route series seen), 2 workers"
		echo "- scrape time (curl, loopback): median ${SCRAPE_MS} ms of 20, slowest ${SCRAPE_MAX_MS} ms"
		echo "- exposition: ${SCRAPE_BYTES} bytes, ${SCRAPE_LINES} lines"
	else
		echo "- not measured (see the notes)"
	fi
	bench_notes_md
}

main() {
	bench_parse_opts "$@"
	bench_need nginx curl taskset
	bench_need_gen
	bench_setup
	make_object
	write_configs
	bench_port
	ORIGIN_PORT=$PORT
	start_nginx origin "$ORIGIN_PORT" origin.conf "$BENCH_LOAD_CPU" ||
		bench_die "the origin did not start"
	CANDS=""
	SKIPPED=""
	for c in hotpath hotpath_bare; do
		bench_port
		eval "URL_$c=http://127.0.0.1:$PORT/obj/1k"
		conf=on
		[ "$c" = hotpath_bare ] && conf=off
		start_hotpath "$c" "$PORT" --workers 1 --config "$BENCH_T/$conf.json" ||
			{ SKIPPED="$SKIPPED $c"; continue; }
		CANDS="$CANDS $c"
		bench_check_body "$c" "http://127.0.0.1:$PORT/obj/1k" 1024 || bench_drop "$c"
	done
	[ "$CANDS" = " hotpath hotpath_bare" ] || bench_die "both candidates must serve"
	bench_rounds 1k
	[ -s "$BENCH_T/access.log" ] || bench_note "hotpath: the access log stayed empty"
	scrape_100 || bench_note "the 100-route hotpath did not start"
	report >"$BENCH_T/report.md"
	cat "$BENCH_T/report.md"
	bench_write observe
}

main "$@"
