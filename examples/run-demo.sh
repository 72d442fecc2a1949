#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-demo.sh - `make run`: the slow demo origin (every /api/ answer takes
# 2 s) on 127.0.0.1:9000 and hotpath in front of it on 127.0.0.1:8080, with
# examples/demo.json. Prints what to try, runs until Ctrl-C, then stops the
# two processes it started (by PID) and nothing else.
set -u
cd "$(dirname "$0")/.."

ORIGIN=build/examples/demo_origin
HOTPATH=build/hotpath
CONFIG=examples/demo.json
LOGDIR=build/demo

# True if something accepts connections on 127.0.0.1:PORT.
port_busy() {
	python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5)' "$1" 2>/dev/null
}

# Wait up to 5 s for PORT to accept; false if PID died first or time ran out.
wait_port() { # wait_port PORT PID
	i=0
	while [ $i -lt 50 ]; do
		port_busy "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

for bin in "$ORIGIN" "$HOTPATH"; do
	if [ ! -x "$bin" ]; then
		echo "run-demo: $bin is missing; build it with: make" >&2
		exit 1
	fi
done
for port in 9000 8080 9091; do
	if port_busy $port; then
		echo "run-demo: port $port on 127.0.0.1 is already in use; stop what" \
			"listens there (ss -ltnp 'sport = :$port' shows it) and retry." >&2
		exit 1
	fi
done

origin_pid=
proxy_pid=
stop() {
	trap - EXIT INT TERM
	for pid in $proxy_pid $origin_pid; do
		kill "$pid" 2>/dev/null
	done
	for pid in $proxy_pid $origin_pid; do
		wait "$pid" 2>/dev/null
	done
	echo
	echo "run-demo: stopped (origin log: $LOGDIR/origin.log)"
}
trap stop EXIT
trap 'exit 130' INT TERM

mkdir -p "$LOGDIR"
"$ORIGIN" --listen 127.0.0.1:9000 --delay 2s >"$LOGDIR/origin.log" 2>&1 &
origin_pid=$!
if ! wait_port 9000 $origin_pid; then
	echo "run-demo: the demo origin did not start; its log:" >&2
	cat "$LOGDIR/origin.log" >&2
	exit 1
fi
"$HOTPATH" serve --config "$CONFIG" &
proxy_pid=$!
if ! wait_port 8080 $proxy_pid; then
	echo "run-demo: hotpath did not start (see its messages above)" >&2
	exit 1
fi

cat <<'MSG'

  hotpath demo: the origin on 127.0.0.1:9000 takes 2 s for every /api/ answer;
  hotpath serves it on 127.0.0.1:8080 (config: examples/demo.json).

  The first request is a miss and takes 2 s; the next ones are hits from memory:
    curl -s -o /dev/null -w '%{http_code} %{time_total}s\n' http://127.0.0.1:8080/api/products
    curl -s -o /dev/null -w '%{http_code} %{time_total}s\n' http://127.0.0.1:8080/api/products
    curl -si http://127.0.0.1:8080/api/products/7 | head -n 12     # X-Cache, Cache-Status, Age

  How many requests reached the origin:
    curl -s http://127.0.0.1:9000/stats

  The admin listener (docs/admin.md): cache counters, purges by tag or URL:
    curl -s http://127.0.0.1:9091/cache
    curl -s -X POST 'http://127.0.0.1:9091/purge?tag=product-7'      # /api/products/7
    curl -s -X POST 'http://127.0.0.1:9091/purge?url=http://127.0.0.1:8080/api/products'

  The hard case, 1000 req/s on a 2 s endpoint (constant rate, latency budget):
    build/hotpath bench -R 1000 -d 15s -c 200 --assert "p95<200ms" \
        http://127.0.0.1:8080/api/products
    build/hotpath bench -R 1000 -d 15s -c 200 http://127.0.0.1:8080/api/products/1 \
        http://127.0.0.1:8080/api/products/2@3
  The same against the origin directly, for comparison (200 connections / 2 s = 100 req/s):
    build/hotpath bench -c 200 -d 10s http://127.0.0.1:9000/api/products

  Ctrl-C stops both.
MSG
wait $proxy_pid
