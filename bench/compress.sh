#!/bin/sh
# SPDX-License-Identifier: MIT
# compress.sh - compressed cache hits (issue 12): a 64 KiB JSON document (bench/
# compress_docs.sh) asked for with Accept-Encoding gzip, br and zstd, served by hotpath from its
# stored compressed copy (1 worker), nginx compressing every response (gzip on, level 6),
# nginx sending a pre-compressed file (gzip_static) and Varnish serving the gzip copy it
# stores (do_gzip). nginx and Varnish have no brotli or zstd here (no module in Debian's
# builds), so br and zstd are hotpath's alone. Every candidate must first answer in the coding asked for,
# decoding to the document byte for byte. One run: reps interleaved, medians of req/s and
# of CPU per request (the candidate's own user+system time, its children included, over
# the requests wrk completed). Also writes the coding/level table of bench/compress_levels.
# Usage: sh bench/compress.sh [-c conns] [-d duration] [-r reps] [-w warmup] [-o dir]
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"
BENCH_DURATION=${BENCH_DURATION:-5s}
BENCH_REPS=${BENCH_REPS:-3}
ENCODINGS="gzip br zstd"

origin_count() {
	if [ -f "$BENCH_T/origin/access.log" ]; then wc -l <"$BENCH_T/origin/access.log"; else echo 0; fi
}

decode() { # decode ENC < raw > plain
	case $1 in gzip) gzip -dc ;; br) brotli -dc ;; zstd) zstd -dc ;; esac
}

# serves ENC CAND PORT: answers in ENC, decoding to the document; from its cache after the
# first request (the origin sees at most one of three).
serves() {
	before=$(origin_count)
	for _ in 1 2 3; do
		curl -s -m 5 -D "$BENCH_T/h" -H "Accept-Encoding: $1" -o "$BENCH_T/raw" \
			"http://127.0.0.1:$3/obj/doc.json" || return 1
		grep -qi "^content-encoding: $1" "$BENCH_T/h" || {
			bench_note "$2: no Content-Encoding: $1 in its answer: $1 skipped"
			return 1
		}
		decode "$1" <"$BENCH_T/raw" | cmp -s - "$BENCH_T/www/obj/doc.json" || {
			bench_note "$2: its $1 body does not decode to the document: $1 skipped"
			return 1
		}
	done
	n=$(($(origin_count) - before))
	[ "$n" -le 1 ] || bench_note "$2: origin saw $n of 3 requests ($1)"
}

start_candidate() { # start_candidate NAME PORT
	case $1 in
	hotpath) start_hotpath hotpath "$2" --workers 1 ;;
	nginx_gzip) start_nginx nginx_gzip "$2" nginx-gzip.conf ;;
	nginx_gzip_static) start_nginx nginx_gzip_static "$2" nginx-gzip-static.conf ;;
	varnish)
		bench_have varnishd || { bench_note "varnish: varnishd not installed"; return 1; }
		mkdir -p "$BENCH_T/varnish"
		bench_render varnish-gzip.vcl "$BENCH_T/varnish/default.vcl" ORIGIN_PORT="$ORIGIN_PORT"
		bench_spawn varnish "$BENCH_PROXY_CPU" varnishd -F -a "127.0.0.1:$2" \
			-f "$BENCH_T/varnish/default.vcl" -n "$BENCH_T/varnish" -s malloc,256m \
			-p thread_pools=1 -p thread_pool_min=$((BENCH_CONNS * 2 + 10)) \
			-p thread_pool_max=$((BENCH_CONNS * 4 + 100))
		bench_wait_port "$2" "$BENCH_PID" 30 || {
			bench_note "varnish: varnishd did not start: $(tail -n 3 "$BENCH_T/varnish.log")"
			return 1
		}
		;;
	esac
}

# run CAND ENC KEY: one wrk run; appends "req/s cpu_us_per_req" to res/CAND.ENC (not for warmup).
run() {
	pid=$(awk -v n="$1" '$2 == n { print $1 }' "$BENCH_T/pids")
	eval "port=\$PORT_$1"
	p0=$(proc_ticks "$pid")
	taskset -c "$BENCH_LOAD_CPU" wrk -t1 "-c$BENCH_CONNS" "-d$3" -H "Accept-Encoding: $2" \
		"http://127.0.0.1:$port/obj/doc.json" >"$BENCH_T/wrk.out" 2>&1
	p1=$(proc_ticks "$pid")
	reqs=$(awk '/requests in/ { print $1 }' "$BENCH_T/wrk.out")
	rps=$(awk '/^Requests\/sec/ { print $2 }' "$BENCH_T/wrk.out")
	errs=$(awk '/Non-2xx|Socket errors/ { n++ } END { print n + 0 }' "$BENCH_T/wrk.out")
	[ -n "$reqs" ] && [ "$reqs" -gt 0 ] || { bench_note "$1 $2: wrk failed"; return 1; }
	[ "$errs" = 0 ] || bench_note "$1 $2: wrk reported errors: $(grep -E 'Non-2xx|Socket' "$BENCH_T/wrk.out")"
	us=$(awk -v a="$p0" -v b="$p1" -v n="$reqs" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / n }')
	bench_log "$1 $2 $3: $rps req/s, $us µs CPU per request"
	[ "$4" = warmup ] || echo "$rps $us" >>"$BENCH_T/res/$1.$2"
}

report() {
	echo "# Compressed cache hits: hotpath vs nginx gzip on, nginx gzip_static, Varnish"
	echo
	bench_machine_md
	echo "- document: 64 KiB JSON (bench/compress_docs.sh), asked for with Accept-Encoding gzip, br or zstd"
	echo "- wrk -t1 -c$BENCH_CONNS -d$BENCH_DURATION, $BENCH_REPS runs each, interleaved; medians"
	echo "- CPU per request: the candidate's user+system time (children included) / requests done"
	for e in $ENCODINGS; do
		printf '\n## Accept-Encoding: %s\n\n' "$e"
		echo "| candidate | req/s | CPU µs per request | hotpath CPU ÷ peer CPU | runs |"
		echo "|---|---:|---:|---:|---:|"
		hp=$(col "$BENCH_T/res/hotpath.$e" 2 %.1f)
		for c in $CANDS; do
			f="$BENCH_T/res/$c.$e"
			[ -s "$f" ] || continue
			cpu=$(col "$f" 2 %.1f)
			echo "| $c | $(col "$f" 1 %.0f) | $cpu | $(ratio "$hp" "$cpu") | $(wc -l <"$f") |"
		done
	done
	printf '\n## Cost and gain per coding and level (bench/compress_levels, reused streams)\n'
	taskset -c "$BENCH_PROXY_CPU" "$BENCH_ROOT/build/bench/compress_levels" \
		"$BENCH_T/www/obj/doc.json" "$BENCH_T/www/obj/page.html" |
		sed "s|$BENCH_T/www/obj/||"
	bench_notes_md
}

main() {
	bench_parse_opts "$@"
	bench_need nginx curl python3 taskset wrk gzip brotli zstd
	[ -x "$BENCH_ROOT/build/bench/compress_levels" ] ||
		bench_die "build/bench/compress_levels not built (make build/bench/compress_levels)"
	bench_setup
	mkdir -p "$BENCH_T/origin" "$BENCH_T/www/obj"
	sh "$BENCH_DIR/compress_docs.sh" "$BENCH_T/www/obj"
	gzip -6 -n -k "$BENCH_T/www/obj/doc.json"
	chmod -R a+rX "$BENCH_T/www"
	bench_port
	ORIGIN_PORT=$PORT
	start_nginx origin "$ORIGIN_PORT" origin-json.conf "$BENCH_LOAD_CPU" ||
		bench_die "the origin did not start"
	CANDS=""
	for c in hotpath nginx_gzip nginx_gzip_static varnish; do
		bench_port
		eval "PORT_$c=$PORT"
		start_candidate "$c" "$PORT" || continue
		CANDS="$CANDS $c"
	done
	for e in $ENCODINGS; do
		ok=""
		for c in $CANDS; do
			eval "port=\$PORT_$c"
			serves "$e" "$c" "$port" && ok="$ok $c"
		done
		for c in $ok; do run "$c" "$e" "$BENCH_WARMUP" warmup; done
		i=0
		while [ $i -lt "$BENCH_REPS" ]; do
			for c in $ok; do run "$c" "$e" "$BENCH_DURATION" "r$i"; done
			i=$((i + 1))
		done
	done
	report >"$BENCH_T/report.md"
	cat "$BENCH_T/report.md"
	bench_write compress
}

main "$@"
