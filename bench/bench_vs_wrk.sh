#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench_vs_wrk.sh - is `hotpath bench` as fast a load generator as wrk?
#
# One nginx worker serving a static file of SIZE bytes (default 100) on a
# loopback port, pinned to CPU 0; wrk -t1 and hotpath bench -t1 (as it runs
# by default, i.e. without spinning; with --spin-us 50; with --copy-body)
# take turns on CPU 1 with the same connections and duration, REPS times
# each, alternating so noise hits all alike. Prints per generator the median
# req/s, its CPU use and nginx's (user+system over elapsed, %), the
# generator's CPU time per response, and its req/s ratio to wrk's. Where
# nginx is near 100 %, it was the bottleneck and CPU per response compares
# the generators (a spinning one burns its waits).
#
# Then three more sections:
#  - accuracy: the p99 each generator reports for an origin that holds every
#    response back by a known delay (bench/delay_origin.c: 20 ms slept with
#    clock_nanosleep per response) against the p99 of the hold times the
#    origin measured itself in the same run, which it should match within
#    5 % (the nominal delay is only a floor: the kernel wakes a sleeper late
#    by up to a millisecond at the tail on a shared machine);
#  - fairness: hotpath bench with and without spinning against hotpath serve
#    answering a cached object, first on separate CPUs, then sharing one CPU
#    (where every microsecond spun is taken from the server): req/s and the
#    CPU % of both;
#  - memory: peak RSS of each generator at -c 10 and at -c 1000, and from
#    the difference the memory per connection.
#
#   sh bench/bench_vs_wrk.sh [-c CONNS] [-d DURATION] [-r REPS] [-s SIZE] [-o OUTDIR]
#   HOTPATH=build/hotpath (default); ONLY=accuracy runs that section alone
#
# With -o the output also goes to OUTDIR/bench-vs-wrk[-SIZE]-<date>.md.
# Everything started lives in a temp dir and is stopped by PID on exit.
set -eu

CONNS=50
DUR=5s
REPS=5
SIZE=100
OUT=""
while getopts c:d:r:s:o: opt; do
	case $opt in
	c) CONNS=$OPTARG ;;
	d) DUR=$OPTARG ;;
	r) REPS=$OPTARG ;;
	s) SIZE=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) echo "usage: sh $0 [-c conns] [-d duration] [-r reps] [-s size] [-o outdir]" >&2; exit 2 ;;
	esac
done
case $SIZE in '' | *[!0-9]*) echo "-s wants a size in bytes" >&2; exit 2 ;; esac
HOTPATH=${HOTPATH:-$(pwd)/build/hotpath}
ORIGIN=${ORIGIN:-$(dirname "$HOTPATH")/examples/demo_origin}
DELAY_MS=20
DORIGIN=$(dirname "$HOTPATH")/bench/delay_origin
[ -x "$DORIGIN" ] || make -s "$DORIGIN" >/dev/null
for tool in nginx wrk taskset python3 /usr/bin/time "$HOTPATH" "$ORIGIN" "$DORIGIN"; do
	command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

T=$(mktemp -d /tmp/hp-bench-vs-wrk.XXXXXX)
NGINX_PID=""
cleanup() {
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # wait_port PORT: until it accepts, at most 5 s
	i=0
	until python3 -c "import socket; socket.create_connection(('127.0.0.1', $1))" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 50 ] || { echo "nothing listens on $1" >&2; exit 1; }
		sleep 0.1
	done
}
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/index.html
mkdir -p "$T/html"
head -c "$SIZE" /dev/zero | tr '\0' x >"$T/html/index.html"
# Large files go out with sendfile, so the server's side of a large body
# costs what it costs a cache serving hits; 100 bytes keep nginx's default
# (one writev), as in the earlier results.
SENDFILE=off
[ "$SIZE" -le 8192 ] || SENDFILE=on
cat >"$T/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $T/nginx.pid;
error_log $T/error.log;
events { worker_connections 8192; }
http {
	access_log off;
	sendfile $SENDFILE;
	keepalive_requests 100000000;
	server { listen 127.0.0.1:$PORT backlog=4096; root $T/html; }
}
EOF
taskset -c 0 nginx -c "$T/nginx.conf" -p "$T" &
NGINX_PID=$!
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "nginx did not start" >&2; exit 1; }
	sleep 0.1
done

# ticks PID: user+system clock ticks of PID so far.
ticks() {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
# timed OUTFILE CMD...: run CMD with its output in OUTFILE; append its CPU
# use (user+system over elapsed, %) to OUTFILE.cpu and nginx's over the same
# time to OUTFILE.srv.
timed() {
	f=$1
	shift
	n0=$(ticks "$NGINX_PID")
	/usr/bin/time -f '%e %U %S' -o "$T/time" "$@" >"$f"
	n1=$(ticks "$NGINX_PID")
	tail -n 1 "$T/time" | awk -v n="$((n1 - n0))" -v hz="$(getconf CLK_TCK)" \
		-v cpu="$f.cpu" -v srv="$f.srv" '{
		printf "%.0f\n", ($1 > 0 ? 100 * ($2 + $3) / $1 : 0) > cpu
		printf "%.0f\n", ($1 > 0 ? 100 * n / hz / $1 : 0) > srv
	}'
}
# run GEN CONNS DURATION: one run of generator GEN (see GENS); prints req/s.
run() {
	g=$1
	if [ "$g" = wrk ]; then
		timed "$T/$g.out" taskset -c 1 wrk -t1 -c "$2" -d "$3" "$URL"
		awk '/^Requests\/sec/ {print $2}' "$T/$g.out"
		return
	fi
	# shellcheck disable=SC2046 # the flags are a word list
	timed "$T/$g.out" taskset -c 1 "$HOTPATH" bench --quiet -t1 -c "$2" -d "$3" $(gen_flags "$g") \
		--json "$T/hp.json" "$URL"
	python3 -c "import json; print('%.2f' % json.load(open('$T/hp.json'))['requests_per_s'])"
}
# GENS: wrk; hotpath bench as it runs by default (no spinning, so its CPU
# use is all work); spinning 50 us before each sleep (the old default); and
# with --copy-body.
GENS="wrk hp hpspin hpcopy"
gen_flags() {
	case $1 in
	hp) echo "" ;;
	hpspin) echo "--spin-us 50" ;;
	hpcopy) echo "--copy-body" ;;
	esac
}
gen_name() {
	case $1 in
	wrk) echo "wrk -t1" ;;
	*) echo "hotpath bench -t1 $(gen_flags "$1")" ;;
	esac
}
median() { # median: of the numbers on stdin
	sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
peak_rss_kb() { # peak_rss_kb CMD...: the command's peak RSS in KiB
	# GNU time, not a python wrapper: a child's ru_maxrss starts at its
	# parent's RSS when it execs, so a small parent is needed.
	/usr/bin/time -f %M -o "$T/rss" "$@" >/dev/null 2>&1
	tail -n 1 "$T/rss"
}

# held: the p99 (ms) of the hold times the delay origin measured itself
# since the last call (GET /__held answers "p50 P p99 P n N").
held() {
	python3 -c "import urllib.request; print(urllib.request.urlopen('$ourl'.replace('/api/products/1', '/__held')).read().decode().split()[3])"
}

# accuracy: the p99 reported for an origin delaying every response by
# DELAY_MS, closed loop with 10 connections (about 500 req/s, so the origin
# is idle between responses and the delay is all there is).
accuracy() {
	oport=$(free_port)
	# Started from report(), a pipeline's subshell: its PIDs never reach the
	# EXIT trap, so each helper is stopped here, and none keeps the pipe open.
	taskset -c 0 "$DORIGIN" "$oport" "$DELAY_MS" >/dev/null 2>&1 &
	dpid=$!
	wait_port "$oport"
	ourl=http://127.0.0.1:$oport/api/products/1
	echo "# accuracy: p99 reported for an origin delaying each response ${DELAY_MS} ms (-c 10 -d $DUR, $REPS runs)"
	rm -f "$T"/acc.*
	held >/dev/null
	r=1
	while [ $r -le "$REPS" ]; do
		taskset -c 1 wrk -t1 -c 10 -d "$DUR" --latency "$ourl" >"$T/acc.wrk.out"
		for q in 50 99; do
			awk -v q="$q%" '$1 == q { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
				print (u == "us" ? v / 1000 : u == "s" ? v * 1000 : v) }' "$T/acc.wrk.out" >>"$T/acc.wrk.p$q"
		done
		held >>"$T/acc.wrk.held"
		for g in hp hpspin; do
			# shellcheck disable=SC2046 # the flags are a word list
			taskset -c 1 "$HOTPATH" bench --quiet -t1 -c 10 -d "$DUR" $(gen_flags "$g") \
				--json "$T/acc.json" "$ourl" >/dev/null
			python3 -c "import json; l = json.load(open('$T/acc.json'))['latency_us']; print(l['p50'] / 1000); print(l['p99'] / 1000)" >"$T/acc.one"
			head -n 1 "$T/acc.one" >>"$T/acc.$g.p50"
			tail -n 1 "$T/acc.one" >>"$T/acc.$g.p99"
			held >>"$T/acc.$g.held"
		done
		r=$((r + 1))
	done
	echo "  (held: the p99 of what the origin itself measured holding each response in the same run;"
	echo "   the error is the generator's p99 over it, the median of the per-run ratios)"
	for g in wrk hp hpspin; do
		p=$(median <"$T/acc.$g.p99")
		paste "$T/acc.$g.p99" "$T/acc.$g.held" | awk '{ print 100 * ($1 - $2) / $2 }' >"$T/acc.$g.err"
		printf '  %-34s p50 %7.3f ms  p99 %7.3f ms (%+.1f %% of the %d ms delay)  held p99 %7.3f ms  error %+.1f %%  p99 runs: %s\n' \
			"$(gen_name "$g")" "$(median <"$T/acc.$g.p50")" "$p" \
			"$(echo "$p $DELAY_MS" | awk '{ print 100 * ($1 - $2) / $2 }')" "$DELAY_MS" \
			"$(median <"$T/acc.$g.held")" "$(median <"$T/acc.$g.err")" \
			"$(tr '\n' ' ' <"$T/acc.$g.p99")"
	done
	kill "$dpid" 2>/dev/null || true
}

# fairness CPUS: hotpath bench (default, and spinning) against hotpath serve
# answering a cached object; prints req/s and both sides' CPU %.
fair_round() {
	label=$1 scpu=$2 bcpu=$3
	taskset -apc "$scpu" "$SERVE_PID" >/dev/null
	for g in hp hpspin; do
		rm -f "$T/fair.$g.rps" "$T/fair.$g.srv" "$T/fair.$g.cpu"
	done
	r=1
	while [ $r -le "$REPS" ]; do
		for g in hp hpspin; do
			s0=$(ticks "$SERVE_PID")
			# shellcheck disable=SC2046 # the flags are a word list
			/usr/bin/time -f '%e %U %S' -o "$T/time" taskset -c "$bcpu" "$HOTPATH" bench \
				--quiet -t1 -c "$CONNS" -d "$DUR" $(gen_flags "$g") --json "$T/fair.json" \
				"$SURL" >/dev/null
			s1=$(ticks "$SERVE_PID")
			python3 -c "import json; print(json.load(open('$T/fair.json'))['requests_per_s'])" >>"$T/fair.$g.rps"
			tail -n 1 "$T/time" | awk -v n="$((s1 - s0))" -v hz="$(getconf CLK_TCK)" \
				-v cpu="$T/fair.$g.cpu" -v srv="$T/fair.$g.srv" '{
				printf "%.0f\n", 100 * ($2 + $3) / $1 >> cpu
				printf "%.0f\n", 100 * n / hz / $1 >> srv }'
		done
		r=$((r + 1))
	done
	for g in hp hpspin; do
		rps=$(median <"$T/fair.$g.rps")
		cpu=$(median <"$T/fair.$g.cpu")
		printf '  %-9s %-28s %9.0f req/s  bench CPU %3s %%  serve CPU %3s %%  %5.2f us bench CPU/response\n' \
			"$label" "$(gen_name "$g")" "$rps" "$cpu" "$(median <"$T/fair.$g.srv")" \
			"$(echo "$cpu $rps" | awk '{ print $2 ? $1 * 1e4 / $2 : 0 }')"
	done
}
fairness() {
	oport=$(free_port)
	"$ORIGIN" --listen "127.0.0.1:$oport" --delay 0 --quiet >/dev/null 2>&1 &
	opid=$!
	wait_port "$oport"
	sport=$(free_port)
	taskset -c 0 "$HOTPATH" serve --listen "127.0.0.1:$sport" --upstream "http://127.0.0.1:$oport" \
		--workers 1 >/dev/null 2>"$T/serve.log" &
	SERVE_PID=$!
	wait_port "$sport"
	SURL=http://127.0.0.1:$sport/api/products/1
	"$HOTPATH" bench --quiet -c 1 -n 10 "$SURL" | grep -q 'cache +hit ratio' || true
	echo "# fairness: hotpath bench against hotpath serve (1 worker) answering a cached object, -c $CONNS -d $DUR, $REPS runs"
	fair_round apart 0 1
	fair_round shared 1 1
	kill "$SERVE_PID" "$opid" 2>/dev/null || true
}

report() {
	if [ "${ONLY:-}" = accuracy ]; then
		accuracy
		return
	fi
	echo "# hotpath bench vs wrk: -t1 -c $CONNS -d $DUR, $SIZE-byte body (sendfile $SENDFILE)," \
		"$REPS alternating runs, nginx on CPU 0"
	for g in $GENS; do
		run "$g" "$CONNS" 1s >/dev/null
	done
	rm -f "$T"/*.cpu "$T"/*.srv "$T"/*.rps
	r=1
	while [ $r -le "$REPS" ]; do
		line="run $r:"
		for g in $GENS; do
			v=$(run "$g" "$CONNS" "$DUR")
			echo "$v" >>"$T/$g.rps"
			line="$line $g $v ($(tail -n 1 "$T/$g.out.cpu")/$(tail -n 1 "$T/$g.out.srv") %)"
		done
		echo "$line"
		r=$((r + 1))
	done
	echo "(per run: req/s (CPU % of the generator/of nginx), CPU % = user+system over elapsed)"
	echo
	echo "medians:"
	W=$(median <"$T/wrk.rps")
	for g in $GENS; do
		rps=$(median <"$T/$g.rps")
		cpu=$(median <"$T/$g.out.cpu")
		us=$(echo "$cpu $rps" | awk '{ print $2 ? $1 * 1e4 / $2 : 0 }')
		printf '  %-40s %9.0f req/s  CPU %3s %%  %5.2f us CPU/response' \
			"$(gen_name "$g")" "$rps" "$cpu" "$us"
		printf '  nginx %3s %%  ratio to wrk %.3f\n' \
			"$(median <"$T/$g.out.srv")" "$(echo "$rps $W" | awk '{ print $1 / $2 }')"
	done

	accuracy
	fairness
	echo "# peak RSS (KiB) at -c 10 and -c 1000, 3 s each"
	for gen in hotpath wrk; do
		if [ $gen = hotpath ]; then
			a=$(peak_rss_kb taskset -c 1 "$HOTPATH" bench --quiet -t1 -c 10 -d 3s "$URL")
			b=$(peak_rss_kb taskset -c 1 "$HOTPATH" bench --quiet -t1 -c 1000 -d 3s "$URL")
		else
			a=$(peak_rss_kb taskset -c 1 wrk -t1 -c 10 -d 3s "$URL")
			b=$(peak_rss_kb taskset -c 1 wrk -t1 -c 1000 -d 3s "$URL")
		fi
		echo "$gen: $a KiB at -c 10, $b KiB at -c 1000, $(echo "$a $b" | awk '{printf "%.1f", ($2 - $1) / 990}') KiB per connection"
	done
}

if [ -z "$OUT" ]; then
	report
	exit 0
fi
mkdir -p "$OUT"
name=bench-vs-wrk
[ "$SIZE" = 100 ] || name=$name-$SIZE
dst="$OUT/$name-$(date -u +%Y-%m-%d-%H%M).md"
report | tee "$T/report.txt"
{
	echo "# hotpath bench vs wrk (same run, same machine)"
	echo
	rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $rev; $(nproc) CPUs," \
		"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "- load average at start of the write-up: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- \`sh bench/bench_vs_wrk.sh -c $CONNS -d $DUR -r $REPS -s $SIZE\`: nginx (1 worker," \
		"$SIZE-byte static file) on CPU 0, each generator -t1 on CPU 1, alternating;" \
		"CPU % is the generator's user+system time over its elapsed time"
	echo
	echo '```'
	cat "$T/report.txt"
	echo '```'
} >"$dst"
echo "wrote $dst"
