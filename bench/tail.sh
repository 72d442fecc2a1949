#!/bin/sh
# SPDX-License-Identifier: MIT
# tail.sh - tail latency of cache hits at a fixed moderate rate (issue 14, item 5): hotpath
# (1 worker) against nginx proxy_cache and nginx serving the same body as a static file, all
# driven by `hotpath bench -R RATE -c CONNS` as the demo's headline is. The body has the
# size of the demo's /api/products (1286 bytes) unless TAIL_SIZE says otherwise.
#
# Two layouts, each with BENCH_REPS runs per candidate interleaved, medians shown:
#   pinned  every server on BENCH_PROXY_CPU, the generator on BENCH_LOAD_CPU with
#           --spin-us 0: what the server itself adds;
#   shared  nothing pinned and the generator's default spinning, as a user runs the
#           demo's command on a 2-core machine: server, generator and whatever else
#           runs share both CPUs.
# For every run the share of the machine's CPU time that other processes took is
# recorded (busy ticks of both CPUs minus those of the servers, origin and generator),
# since on a shared machine that, not the server, is what sets the tail.
# Usage: sh bench/tail.sh [-c conns] [-d duration] [-r reps] [-o dir]
# Environment: TAIL_RATE (default 1000), TAIL_SIZE (bytes, default 1286), TAIL_LAYOUTS
# (default "pinned shared"), and those of bench/lib.sh.
set -u
: "${BENCH_CONNS:=200}"
: "${BENCH_GEN:=hotpath}"
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

RATE=${TAIL_RATE:-1000}
SIZE=${TAIL_SIZE:-1286}
LAYOUTS=${TAIL_LAYOUTS:-pinned shared}

command -v peer_versions >/dev/null 2>&1 || peer_versions() {
	nginx -v 2>&1 | sed 's/^nginx version: //'
}

origin_count() {
	if [ -f "$BENCH_T/origin/access.log" ]; then wc -l <"$BENCH_T/origin/access.log"; else echo 0; fi
}

# serves_hits CAND PORT: three requests, at most one reaches the origin.
serves_hits() {
	before=$(origin_count)
	for _ in 1 2 3; do
		bench_check_body "$1" "http://127.0.0.1:$2/obj/body" "$SIZE" || return 1
	done
	n=$(($(origin_count) - before))
	[ "$n" -le 1 ] && return 0
	bench_note "$1: not caching /obj/body (origin saw $n of 3 requests): skipped"
	return 1
}

start_candidate() { # start_candidate NAME PORT
	case $1 in
	hotpath) start_hotpath hotpath "$2" --workers 1 ;;
	nginx_cache) start_nginx nginx_cache "$2" nginx-cache.conf ;;
	nginx_static) start_nginx nginx_static "$2" nginx-static.conf ;;
	esac
}

# Busy ticks of both CPUs, and ticks of every process we started (and their threads).
machine_busy() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6; exit }' /proc/stat
}
our_ticks() {
	t=0
	for pid in $(cut -d' ' -f1 "$BENCH_T/pids"); do
		t=$((t + $(proc_ticks "$pid")))
	done
	echo "$t"
}

# unpin: let every process we started (all threads) run on any CPU.
unpin() {
	for pid in $(cut -d' ' -f1 "$BENCH_T/pids"); do
		taskset -a -pc "0-$(($(nproc) - 1))" "$pid" >/dev/null 2>&1
		for child in $(pgrep -P "$pid"); do
			taskset -a -pc "0-$(($(nproc) - 1))" "$child" >/dev/null 2>&1
		done
	done
}

# one_run LAYOUT CAND: one measured run; appends "p50 p99 p99.9 max req/s errors others%".
one_run() {
	eval "url=\$URL_$2"
	json="$BENCH_T/rate.json"
	rm -f "$json"
	if [ "$1" = pinned ]; then
		set -- "$1" "$2" taskset -c "$BENCH_LOAD_CPU" "$BENCH_GEN_BIN" bench --spin-us 0
	else
		set -- "$1" "$2" "$BENCH_GEN_BIN" bench
	fi
	layout=$1 cand=$2
	shift 2
	busy0=$(machine_busy)
	ours0=$(our_ticks)
	# /usr/bin/time gives the generator's own CPU, which is not "others".
	/usr/bin/time -f '%U %S' -o "$BENCH_T/gen.time" "$@" --quiet -R "$RATE" \
		-c "$BENCH_CONNS" -d "$BENCH_DURATION" --json "$json" "$url" >/dev/null \
		2>"$BENCH_T/gen.err"
	busy1=$(machine_busy)
	ours1=$(our_ticks)
	gen_ticks=$(awk 'NF == 2 { printf "%.0f", ($1 + $2) * 100 }' "$BENCH_T/gen.time")
	line=$(python3 - "$json" <<-'PY' 2>/dev/null
	import json, sys
	d = json.load(open(sys.argv[1]))
	l = d["latency_us"]
	print("%.3f %.3f %.3f %.3f %.0f %d" % (l["p50"] / 1e3, l["p99"] / 1e3, l["p99.9"] / 1e3,
		l["max"] / 1e3, d["requests_per_s"], d["errors"]["total"]))
	PY
	)
	if [ -z "$line" ]; then
		bench_note "$cand ($layout): run failed: $(head -n 2 "$BENCH_T/gen.err")"
		return
	fi
	# Whatever the machine did beyond our processes, as a share of both CPUs' time.
	others=$(awk -v b=$((busy1 - busy0)) -v o=$((ours1 - ours0 + gen_ticks)) \
		-v s="$BENCH_DURATION" -v n="$(nproc)" 'BEGIN {
		sec = s + 0; if (s ~ /ms$/) sec /= 1000; else if (s ~ /m$/) sec *= 60
		x = (b - o) / (sec * n * 100) * 100; if (x < 0) x = 0; printf "%.0f", x }')
	echo "$line $others" >>"$BENCH_T/res/$cand.$layout"
	bench_log "$cand $layout: $line $others (p50 p99 p99.9 max ms, req/s, errors, others %)"
}

rounds() { # rounds LAYOUT
	[ "$1" = shared ] && unpin
	rep=1
	while [ "$rep" -le "$BENCH_REPS" ]; do
		for c in $CANDS; do
			one_run "$1" "$c"
		done
		rep=$((rep + 1))
	done
}

table() { # table LAYOUT
	hp99=$(col "$BENCH_T/res/hotpath.$1" 2)
	echo "| candidate | req/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | others' CPU % | hotpath p99 ÷ this p99 |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for c in $CANDS; do
		f="$BENCH_T/res/$c.$1"
		errs=$(if [ -s "$f" ]; then awk '{ s += $6 } END { print s }' "$f"; else echo "-"; fi)
		r=$(if [ "$c" = hotpath ]; then echo "—"; else ratio "$hp99" "$(col "$f" 2)"; fi)
		echo "| $c | $(col "$f" 5 %.0f) | $(col "$f" 1) | $(col "$f" 2) | $(col "$f" 3) |" \
			"$(col "$f" 4) | $errs | $(col "$f" 7 %.0f) | $r |"
	done
	echo
	echo "Every run, p99 in ms (others' CPU %):"
	echo
	for c in $CANDS; do
		f="$BENCH_T/res/$c.$1"
		[ -s "$f" ] && echo "- $c: $(awk '{ printf "%s%s (%s)", (NR > 1 ? ", " : ""), $2, $7 }' "$f")"
	done
}

report() {
	echo "# Tail latency of cache hits at $RATE req/s: hotpath vs nginx proxy_cache vs nginx static"
	echo
	bench_machine_md | grep -v 'interleaved repetitions\|closed-loop\|^- pinning'
	echo "- body: $SIZE bytes (the demo's /api/products), Cache-Control: public, max-age=3600;"
	echo "  origin: nginx, 1 worker; hotpath --workers 1; nginx 1 worker each"
	echo "- load: \`hotpath bench -R $RATE -c $BENCH_CONNS -d $BENCH_DURATION\`, $BENCH_REPS runs per" \
		"candidate interleaved, medians; latency from the intended send time"
	echo "- others' CPU %: share of both CPUs used by processes this script did not start"
	for l in $LAYOUTS; do
		case $l in
		pinned) printf '\n## Pinned: servers on CPU %s, generator on CPU %s with --spin-us 0\n\n' \
			"$BENCH_PROXY_CPU" "$BENCH_LOAD_CPU" ;;
		shared) printf '\n## Shared: nothing pinned, the generator spins by default (the demo command)\n\n' ;;
		esac
		table "$l"
	done
	bench_notes_md
}

main() {
	bench_parse_opts "$@"
	bench_need nginx curl python3 taskset /usr/bin/time
	bench_setup
	: >"$BENCH_T/notes" # no closed-loop generator here: drop lib.sh's note about it
	mkdir -p "$BENCH_T/origin" "$BENCH_T/www/obj"
	head -c "$SIZE" /dev/urandom >"$BENCH_T/www/obj/body"
	chmod -R a+rX "$BENCH_T/www"
	bench_port
	ORIGIN_PORT=$PORT
	start_nginx origin "$ORIGIN_PORT" origin.conf "$BENCH_LOAD_CPU" ||
		bench_die "the origin did not start"
	CANDS=""
	SKIPPED=""
	for c in hotpath nginx_cache nginx_static; do
		bench_port
		eval "URL_$c=http://127.0.0.1:$PORT/obj/body"
		start_candidate "$c" "$PORT" || { SKIPPED="$SKIPPED $c"; continue; }
		CANDS="$CANDS $c"
		serves_hits "$c" "$PORT" || bench_drop "$c"
	done
	[ -n "$CANDS" ] || bench_die "no candidate serves hits"
	bench_log "candidates:$CANDS${SKIPPED:+; skipped:$SKIPPED}"
	# One discarded run each, so connections and caches are warm.
	for c in $CANDS; do
		eval "url=\$URL_$c"
		"$BENCH_GEN_BIN" bench --quiet -R "$RATE" -c "$BENCH_CONNS" -d "$BENCH_WARMUP" \
			"$url" >/dev/null 2>&1
	done
	for l in $LAYOUTS; do
		rounds "$l"
	done
	report >"$BENCH_T/report.md"
	cat "$BENCH_T/report.md"
	bench_write tail
}

main "$@"
