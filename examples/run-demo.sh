#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-demo.sh - `make run`: the slow demo origin (every /api/ answer takes
# 2 s) on 127.0.0.1:9000 and hotpath in front of it on 127.0.0.1:8080, with
# examples/demo.json. Waits until the cache warm-up (cache.warm in the
# config) is done, so the commands it prints hold from a cold start, then
# runs until Ctrl-C and stops the two processes it started (by PID) and
# nothing else.
#
# DEMO_PORT, DEMO_ORIGIN_PORT and DEMO_ADMIN_PORT move the three ports
# (default 8080, 9000, 9091), for tests that must not take the usual ones.
set -u
cd "$(dirname "$0")/.."

ORIGIN=build/examples/demo_origin
HOTPATH=build/hotpath
CONFIG=examples/demo.json
LOGDIR=build/demo
PORT=${DEMO_PORT:-8080}
ORIGIN_PORT=${DEMO_ORIGIN_PORT:-9000}
ADMIN_PORT=${DEMO_ADMIN_PORT:-9091}

# True if something accepts connections on 127.0.0.1:PORT.
port_busy() {
	python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5)' "$1" 2>/dev/null
}

# Objects in the cache, from the admin listener's /cache ("" if no answer).
cache_objects() {
	python3 -c 'import json, sys, urllib.request
url = "http://127.0.0.1:%s/cache" % sys.argv[1]
print(json.load(urllib.request.urlopen(url, timeout=1))["objects"])' "$ADMIN_PORT" 2>/dev/null
}

# Wait up to 15 s until the cache holds as many objects as cache.warm lists
# (the origin takes 2 s per answer); false if PID died or time ran out.
wait_warm() { # wait_warm PID
	want=$(python3 -c 'import json, sys
print(len(json.load(open(sys.argv[1])).get("cache", {}).get("warm", [])))' "$CONFIG")
	i=0
	while [ $i -lt 150 ]; do
		n=$(cache_objects)
		[ -n "$n" ] && [ "$n" -ge "$want" ] && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
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
for port in $ORIGIN_PORT $PORT $ADMIN_PORT; do
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
"$ORIGIN" --listen 127.0.0.1:$ORIGIN_PORT --delay 2s >"$LOGDIR/origin.log" 2>&1 &
origin_pid=$!
if ! wait_port $ORIGIN_PORT $origin_pid; then
	echo "run-demo: the demo origin did not start; its log:" >&2
	cat "$LOGDIR/origin.log" >&2
	exit 1
fi
# The ports given on the command line only when moved, so that the plain
# demo runs exactly the file it shows.
set -- --config "$CONFIG"
if [ "$PORT:$ORIGIN_PORT:$ADMIN_PORT" != 8080:9000:9091 ]; then
	set -- "$@" --listen 127.0.0.1:$PORT --admin 127.0.0.1:$ADMIN_PORT \
		--upstream http://127.0.0.1:$ORIGIN_PORT
fi
"$HOTPATH" serve "$@" &
proxy_pid=$!
if ! wait_port $PORT $proxy_pid; then
	echo "run-demo: hotpath did not start (see its messages above)" >&2
	exit 1
fi
# cache.warm fetches /api/products at start, which takes the origin's 2 s;
# until it is in, the first second of load would wait on that one miss.
echo "run-demo: waiting for the cache warm-up (the origin takes 2 s)..."
if ! wait_warm $proxy_pid; then
	echo "run-demo: the cache warm-up did not finish within 15 s" >&2
	exit 1
fi
echo "run-demo: ready"

sed "s/127.0.0.1:8080/127.0.0.1:$PORT/g; s/127.0.0.1:9000/127.0.0.1:$ORIGIN_PORT/g;
	s/127.0.0.1:9091/127.0.0.1:$ADMIN_PORT/g" <<'MSG'

  hotpath demo: the origin on 127.0.0.1:9000 takes 2 s for every /api/ answer;
  hotpath serves it on 127.0.0.1:8080 (config: examples/demo.json).

  /api/products was fetched at start (cache.warm), so it is a hit from memory
  at once; /api/products/7 is a miss the first time (2 s), then a hit:
    curl -s -o /dev/null -w '%{http_code} %{time_total}s\n' http://127.0.0.1:8080/api/products
    curl -s -o /dev/null -w '%{http_code} %{time_total}s\n' http://127.0.0.1:8080/api/products/7
    curl -si http://127.0.0.1:8080/api/products/7 | head -n 12     # X-Cache, Cache-Status, Age

  How many requests reached the origin:
    curl -s http://127.0.0.1:9000/stats

  The admin listener (docs/admin.md): cache counters, purges by tag or URL:
    curl -s http://127.0.0.1:9091/cache
    curl -s -X POST 'http://127.0.0.1:9091/purge?tag=product-7'      # /api/products/7
    curl -s -X POST 'http://127.0.0.1:9091/purge?url=http://127.0.0.1:8080/api/products'

  The hard case, 1000 req/s on a 2 s endpoint (constant rate, latency budget):
    build/hotpath bench -R 1000 -d 5s -c 200 --assert "p95<200ms" \
        http://127.0.0.1:8080/api/products
    build/hotpath bench -R 1000 -d 15s -c 200 http://127.0.0.1:8080/api/products/1 \
        http://127.0.0.1:8080/api/products/2@3
  The same against the origin directly, for comparison (200 connections / 2 s = 100 req/s):
    build/hotpath bench -c 200 -d 10s http://127.0.0.1:9000/api/products

  Ctrl-C stops both.
MSG
wait $proxy_pid
