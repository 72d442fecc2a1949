#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench_vs_wrk.sh - is `hotpath bench` as fast a load generator as wrk?
#
# One nginx worker serving a static file of SIZE bytes (default 100) on a
# loopback port, pinned to CPU 0; wrk -t1 and hotpath bench -t1 (as it runs
# by default, with --copy-body, and both with --spin-us 0) take turns on
# CPU 1 with the same connections and duration, REPS times each, alternating
# so noise hits all alike. Prints per generator the median req/s, its CPU
# use and nginx's (user+system over elapsed, %), the generator's CPU time
# per response, and its req/s ratio to wrk's. Where nginx is near 100 %, it
# was the bottleneck and CPU per response compares the generators (a
# spinning one burns its waits: see the --spin-us 0 rows). Then peak RSS of
# each generator at -c 10 and at -c 1000, and from the difference the
# memory per connection.
#
#   sh bench/bench_vs_wrk.sh [-c CONNS] [-d DURATION] [-r REPS] [-s SIZE] [-o OUTDIR]
#   HOTPATH=build/hotpath (default)
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
for tool in nginx wrk taskset python3 /usr/bin/time "$HOTPATH"; do
	command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

T=$(mktemp -d /tmp/hp-bench-vs-wrk.XXXXXX)
NGINX_PID=""
cleanup() {
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
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
# GENS: wrk; hotpath bench as it runs by default; with --copy-body; and both
# without spinning, whose CPU use is then all work (a spinning generator
# burns what it would sleep while the server is the bottleneck).
GENS="wrk hp hpcopy hp0 hpcopy0"
gen_flags() {
	case $1 in
	hp) echo "" ;;
	hpcopy) echo "--copy-body" ;;
	hp0) echo "--spin-us 0" ;;
	hpcopy0) echo "--copy-body --spin-us 0" ;;
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

report() {
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
