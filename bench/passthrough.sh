#!/bin/sh
# SPDX-License-Identifier: MIT
# passthrough.sh - uncached proxying (issue 2): hotpath, nginx and HAProxy, one worker or
# thread each on one CPU, in front of the same fast nginx origin whose answer is
# Cache-Control: no-store, so nothing is cached by anyone. wrk drives each candidate in
# interleaved repetitions; the table gives median req/s, p50, p99 and hotpath's ratio.
# Then hotpath alone: time from exec to a listening socket (median of 20 starts) and idle
# RSS with one worker and with the default worker count.
# With HOTPATH_BASE=/path/to/older/hotpath the older build runs beside the current one
# as candidate "hotpath_base" (a before/after comparison in the same run); BENCH_PEERS
# (default "nginx haproxy") chooses the peers, "" for none.
# Usage: sh bench/passthrough.sh [-c conns] [-d duration] [-r reps] [-w warmup] [-o dir]
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

STARTS=${BENCH_STARTS:-20}

# startup_ms PORT ARGS...: print the median milliseconds from spawning hotpath to a
# successful connect() on PORT, over STARTS starts. The probe runs on the load CPU and
# hotpath on the proxy CPU, so polling in a tight loop does not steal hotpath's CPU. The
# probe closes its socket first, so the TIME_WAIT stays on its side, not on PORT.
startup_ms() {
	python3 - "$STARTS" "$BENCH_PROXY_CPU" "$BENCH_LOAD_CPU" "$@" <<'EOF'
import os, socket, statistics, subprocess, sys, time
starts, proxy_cpu, load_cpu, port = map(int, sys.argv[1:5])
cmd = sys.argv[5:]
ms = []
for _ in range(starts):
	os.sched_setaffinity(0, {proxy_cpu})	# inherited by the child at fork
	t0 = time.monotonic_ns()
	p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
			     stderr=subprocess.DEVNULL)
	os.sched_setaffinity(0, {load_cpu})
	up = False
	while time.monotonic_ns() - t0 < 10e9 and p.poll() is None:
		s = socket.socket()
		if s.connect_ex(("127.0.0.1", port)) == 0:
			up = True
		s.close()
		if up:
			break
	t1 = time.monotonic_ns()
	p.terminate()
	try:
		p.wait(5)
	except subprocess.TimeoutExpired:
		p.kill()
		p.wait()
	if not up:
		print("failed")
		sys.exit(0)
	ms.append((t1 - t0) / 1e6)
print("%.1f (min %.1f, max %.1f)" % (statistics.median(ms), min(ms), max(ms)))
EOF
}

# idle_rss_kib ARGS...: VmRSS of a hotpath started with ARGS, one second after it listens.
idle_rss_kib() {
	bench_port
	bench_spawn hotpath-rss "$BENCH_PROXY_CPU" "$HOTPATH" serve --listen "127.0.0.1:$PORT" \
		--upstream "http://127.0.0.1:$ORIGIN_PORT" "$@"
	if bench_wait_port "$PORT" "$BENCH_PID" 10; then
		sleep 1
		awk '/^VmRSS:/ { print $2 }' "/proc/$BENCH_PID/status"
	else
		echo "-"
	fi
	bench_stop "$BENCH_PID" >/dev/null
}

measure_hotpath_alone() {
	bench_port
	st=$(startup_ms "$PORT" "$HOTPATH" serve --listen "127.0.0.1:$PORT" \
		--upstream "http://127.0.0.1:$ORIGIN_PORT" --workers 1)
	rss1=$(idle_rss_kib --workers 1)
	rssn=$(idle_rss_kib)
	cat <<EOF

## hotpath start-up and idle memory

| measure | value |
|---|---|
| exec → listening, --workers 1, median of $STARTS (ms) | $st |
| idle RSS, --workers 1 (KiB) | $rss1 |
| idle RSS, default workers ($(nproc) CPUs) (KiB) | $rssn |
EOF
}

main() {
	bench_parse_opts "$@"
	bench_need wrk nginx curl python3 taskset
	bench_setup
	mkdir -p "$BENCH_T/origin" "$BENCH_T/www"
	bench_port
	ORIGIN_PORT=$PORT
	start_nginx origin "$ORIGIN_PORT" origin.conf "$BENCH_LOAD_CPU" ||
		bench_die "the origin did not start"
	bench_check_body origin "http://127.0.0.1:$ORIGIN_PORT/pass" 100 ||
		bench_die "the origin does not answer"

	CANDS=""
	SKIPPED=""
	for c in hotpath ${HOTPATH_BASE:+hotpath_base} ${BENCH_PEERS-nginx haproxy}; do
		bench_port
		eval "URL_$c=http://127.0.0.1:$PORT/pass"
		case $c in
		hotpath) start_hotpath hotpath "$PORT" --workers 1 ;;
		hotpath_base) HOTPATH=$HOTPATH_BASE start_hotpath hotpath_base "$PORT" --workers 1 ;;
		nginx) start_nginx nginx "$PORT" nginx-proxy.conf ;;
		haproxy) bench_have haproxy && start_haproxy haproxy "$PORT" haproxy-proxy.cfg ;;
		esac || { SKIPPED="$SKIPPED $c"; continue; }
		CANDS="$CANDS $c"
		bench_check_body "$c" "http://127.0.0.1:$PORT/pass" 100 || bench_drop "$c"
	done
	[ -n "$CANDS" ] || bench_die "no candidate passes traffic"
	bench_log "candidates:$CANDS${SKIPPED:+; skipped:$SKIPPED}"

	bench_rounds pass
	RATE=$(bench_equal_rate pass)
	[ -n "$RATE" ] && [ "$RATE" -gt 0 ] && bench_rate_rounds pass "$RATE"
	{
		echo "# Pass-through: hotpath vs nginx vs HAProxy (uncached)"
		echo
		bench_machine_md
		echo "- origin: nginx, 1 worker, 100-byte body with Cache-Control: no-store"
		echo
		echo "## Results"
		echo
		bench_table pass
		if [ -n "$RATE" ] && [ "$RATE" -gt 0 ]; then
			echo
			bench_rate_table pass "$RATE"
		fi
		bench_notes_md
		if echo " $CANDS " | grep -q ' hotpath '; then
			measure_hotpath_alone
		fi
	} >"$BENCH_T/report.md"
	cat "$BENCH_T/report.md"
	bench_write passthrough
}

main "$@"
