#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench_vs_wrk.sh - is `hotpath bench` as fast a load generator as wrk?
#
# One nginx worker serving a 100-byte static file on a loopback port, pinned
# to CPU 0; wrk -t1 and hotpath bench -t1 take turns on CPU 1 with the same
# connections and duration, REPS times each, alternating so noise hits both.
# Prints the median req/s of each and the ratio hotpath/wrk. Then peak RSS
# of each generator at -c 10 and at -c 1000, and from the difference the
# memory per connection.
#
#   sh bench/bench_vs_wrk.sh [-c CONNS] [-d DURATION] [-r REPS]
#   HOTPATH=build/hotpath (default)
#
# Everything started lives in a temp dir and is stopped by PID on exit.
set -eu

CONNS=50
DUR=5s
REPS=5
while getopts c:d:r: opt; do
	case $opt in
	c) CONNS=$OPTARG ;;
	d) DUR=$OPTARG ;;
	r) REPS=$OPTARG ;;
	*) echo "usage: sh $0 [-c conns] [-d duration] [-r reps]" >&2; exit 2 ;;
	esac
done
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
head -c 100 /dev/zero | tr '\0' x >"$T/html/index.html"
cat >"$T/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $T/nginx.pid;
error_log $T/error.log;
events { worker_connections 8192; }
http {
	access_log off;
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

run_wrk() { # run_wrk CONNS DURATION: prints req/s
	taskset -c 1 wrk -t1 -c "$1" -d "$2" "$URL" | awk '/^Requests\/sec/ {print $2}'
}
run_hp() { # run_hp CONNS DURATION: prints req/s
	taskset -c 1 "$HOTPATH" bench --quiet -t1 -c "$1" -d "$2" --json "$T/hp.json" "$URL" >/dev/null
	python3 -c "import json; print('%.2f' % json.load(open('$T/hp.json'))['requests_per_s'])"
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

echo "# hotpath bench vs wrk: -t1 -c $CONNS -d $DUR, $REPS alternating runs, nginx on CPU 0"
run_wrk "$CONNS" 1s >/dev/null
run_hp "$CONNS" 1s >/dev/null
: >"$T/wrk" && : >"$T/hp"
r=1
while [ $r -le "$REPS" ]; do
	w=$(run_wrk "$CONNS" "$DUR")
	h=$(run_hp "$CONNS" "$DUR")
	echo "run $r: wrk $w req/s, hotpath $h req/s"
	echo "$w" >>"$T/wrk"
	echo "$h" >>"$T/hp"
	r=$((r + 1))
done
W=$(median <"$T/wrk")
H=$(median <"$T/hp")
echo "median: wrk $W req/s, hotpath bench $H req/s, ratio hotpath/wrk $(echo "$H $W" | awk '{printf "%.3f", $1 / $2}')"

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
