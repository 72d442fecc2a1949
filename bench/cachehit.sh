#!/bin/sh
# SPDX-License-Identifier: MIT
# cachehit.sh - serving cache hits (issue 3): 1 KiB and 64 KiB objects that the origin
# marks "public, max-age=3600", served by hotpath (1 worker), nginx proxy_cache, Varnish
# (malloc storage, one thread pool) and HAProxy's cache (1 thread), with nginx serving the
# same files itself as the ceiling. Every candidate must prove it serves hits before it is
# measured: of three requests for each object, at most the first may reach the origin
# (which logs /obj/ requests); origin requests during the measured runs are reported too.
# The closed-loop runs use wrk, or with -g hotpath `hotpath bench`, which drops the bodies in
# the kernel instead of copying them: with 64 KiB objects wrk's copying is what limits the
# run, so the faster candidates only separate with -g hotpath (the report names the generator).
# With HOTPATH_BASE=/path/to/older/hotpath the older build runs beside the current one
# as candidate "hotpath_base"; BENCH_PEERS (default "nginx varnish haproxy nginx_static")
# chooses the peers, "" for none.
# Usage: sh bench/cachehit.sh [-c conns] [-d duration] [-r reps] [-w warmup] [-o dir]
#        [-g wrk|hotpath]
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

SIZES="1k 64k"

size_bytes() {
	case $1 in 1k) echo 1024 ;; 64k) echo 65536 ;; esac
}

origin_count() {
	if [ -f "$BENCH_T/origin/access.log" ]; then wc -l <"$BENCH_T/origin/access.log"; else echo 0; fi
}

# serves_hits CAND PORT: three requests for each object, at most one reaches the origin.
serves_hits() {
	for s in $SIZES; do
		before=$(origin_count)
		for _ in 1 2 3; do
			bench_check_body "$1" "http://127.0.0.1:$2/obj/$s" "$(size_bytes "$s")" ||
				return 1
		done
		n=$(($(origin_count) - before))
		if [ "$n" -gt 1 ]; then
			bench_note "$1: not caching /obj/$s (origin saw $n of 3 requests): skipped"
			return 1
		fi
	done
}

bench_before_run() {
	ORIGIN_BEFORE=$(origin_count)
}

bench_after_run() {
	echo $(($(origin_count) - ORIGIN_BEFORE)) >>"$BENCH_T/res/$1.$2.origin"
}

make_objects() {
	mkdir -p "$BENCH_T/www/obj"
	for s in $SIZES; do
		# Incompressible, so no candidate could gain by compressing on the fly.
		head -c "$(size_bytes "$s")" /dev/urandom >"$BENCH_T/www/obj/$s"
	done
	chmod -R a+rX "$BENCH_T/www"
}

start_candidate() { # start_candidate NAME PORT
	case $1 in
	hotpath) start_hotpath hotpath "$2" --workers 1 ;;
	hotpath_base) HOTPATH=$HOTPATH_BASE start_hotpath hotpath_base "$2" --workers 1 ;;
	nginx) start_nginx nginx "$2" nginx-cache.conf ;;
	varnish) bench_have varnishd && start_varnish varnish "$2" ;;
	haproxy) bench_have haproxy && start_haproxy haproxy "$2" haproxy-cache.cfg ;;
	nginx_static) start_nginx nginx_static "$2" nginx-static.conf ;;
	esac
}

report() {
	echo "# Cache hits: hotpath vs nginx proxy_cache vs Varnish vs HAProxy cache"
	echo
	bench_machine_md
	echo "- origin: nginx, 1 worker, objects with Cache-Control: public, max-age=3600"
	echo "- nginx_static is the ceiling: nginx serving the same files itself, no proxying"
	for s in $SIZES; do
		printf '\n## %s object (%s bytes)\n\n' "$s" "$(size_bytes "$s")"
		bench_table "$s" "origin reqs in runs" origin
		eval "rate=\${RATE_$s:-}"
		if [ -n "$rate" ]; then
			echo
			bench_rate_table "$s" "$rate"
		fi
	done
	bench_notes_md
}

main() {
	bench_parse_opts "$@"
	bench_need nginx curl python3 taskset
	bench_need_gen
	bench_setup
	mkdir -p "$BENCH_T/origin"
	make_objects
	bench_port
	ORIGIN_PORT=$PORT
	start_nginx origin "$ORIGIN_PORT" origin.conf "$BENCH_LOAD_CPU" ||
		bench_die "the origin did not start"

	CANDS=""
	SKIPPED=""
	for c in hotpath ${HOTPATH_BASE:+hotpath_base} \
		${BENCH_PEERS-nginx varnish haproxy nginx_static}; do
		bench_port
		eval "URL_$c=http://127.0.0.1:$PORT/obj/"
		start_candidate "$c" "$PORT" || { SKIPPED="$SKIPPED $c"; continue; }
		CANDS="$CANDS $c"
		serves_hits "$c" "$PORT" || bench_drop "$c"
	done
	[ -n "$CANDS" ] || bench_die "no candidate serves hits"
	bench_log "candidates:$CANDS${SKIPPED:+; skipped:$SKIPPED}"

	for s in $SIZES; do
		for c in $CANDS; do
			eval "URL_$c=\${URL_$c%/obj/*}/obj/$s"
		done
		bench_rounds "$s"
		rate=$(bench_equal_rate "$s")
		if [ -n "$rate" ] && [ "$rate" -gt 0 ]; then
			eval "RATE_$s=$rate"
			bench_rate_rounds "$s" "$rate"
		fi
	done
	report >"$BENCH_T/report.md"
	cat "$BENCH_T/report.md"
	bench_write cachehit
}

main "$@"
