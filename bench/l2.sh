#!/bin/sh
# SPDX-License-Identifier: MIT
# l2.sh - the L2 tier in Redis (issue 13, docs/l2.md), in one run:
#
# 1. Latency and throughput of an L2 hit (the instance's L1 cold, the object in Redis)
#    against an L1 hit and against a direct fetch from the origin (demo_origin, no delay):
#    L2_REQUESTS requests over L2_PROCS keep-alive connections with bench/l2_driver.py,
#    the same client for all three; req/s, p50, p99, and the server's CPU per request.
#    Every L2-hit request is for a key another instance wrote to Redis, asked once. A
#    fourth row is a miss through an instance with L2 on (GET, lock, origin, SET), for
#    the server's CPU per request.
# 2. Purge propagation: L2_PURGE_ROUNDS times a key in the L1 of instances A, B and C,
#    PURGE on A, then B and C asked until they stop answering HIT: median, p99, max.
# 3. Stampede: L2_STAMPEDE concurrent misses for one key on each of 3 instances, the
#    origin holding every answer 500 ms (demo_origin --delay 500ms): origin requests per
#    key (its /stats), for 3 hotpath instances sharing Redis against 3 independent nginx
#    proxy_cache servers (proxy_cache_lock on) in front of the same origin; L2_KEYS keys.
#
# Redis: redis-server on L2_REDIS_PORT (default 23399, below the ephemeral range), no
# disk. Nothing is pinned (the machine may be shared: the figures are for comparing the
# rows of one run).
# Usage: sh bench/l2.sh [-o dir]   (environment: the L2_* above)
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
BENCH_GEN=hotpath
BENCH_NEXT_PORT=${BENCH_NEXT_PORT:-23500}
. "$BENCH_DIR/lib.sh"
peer_versions() { echo "redis-server $(redis-server --version | cut -d' ' -f3 | cut -d= -f2), $(nginx -v 2>&1 | cut -d' ' -f3)"; }
N=${L2_REQUESTS:-4000}
PROCS=${L2_PROCS:-2}
ROUNDS=${L2_PURGE_ROUNDS:-30}
STAMPEDE=${L2_STAMPEDE:-100}
KEYS=${L2_KEYS:-3}
REDIS_PORT=${L2_REDIS_PORT:-23399}
CPU=${L2_CPUS:-0-$(($(nproc) - 1))}
DRIVER="python3 $BENCH_DIR/l2_driver.py"
while getopts o:h opt; do
	case $opt in
	o) BENCH_OUT=$OPTARG ;;
	*) echo "usage: sh bench/l2.sh [-o dir]" >&2; exit 2 ;;
	esac
done

bench_need redis-server redis-cli python3 nginx
[ -x "$HOTPATH" ] || bench_die "$HOTPATH not built (run make)"
[ -x "$BENCH_ROOT/build/examples/demo_origin" ] || bench_die "demo_origin not built (run make)"
bench_setup

spawn_origin() { # spawn_origin NAME DELAY: sets PORT and PID_<NAME>
	bench_port
	bench_spawn "$1" "$CPU" "$BENCH_ROOT/build/examples/demo_origin" --listen "127.0.0.1:$PORT" \
		--delay "$2" --quiet
	eval "PID_$1=$BENCH_PID"
	bench_wait_port "$PORT" "$BENCH_PID" || bench_die "$1 did not start"
}

spawn_hotpath() { # spawn_hotpath NAME ORIGIN_PORT: sets PORT, ADMIN and PID_<NAME>
	bench_port
	p=$PORT
	bench_port
	ADMIN=$PORT
	cat >"$BENCH_T/$1.json" <<-JSON
	{"listen": ["127.0.0.1:$p"], "workers": 1, "admin": {"listen": ["127.0.0.1:$ADMIN"]},
	 "upstreams": {"o": {"servers": ["http://127.0.0.1:$2"]}},
	 "l2": {"redis": ["127.0.0.1:$REDIS_PORT"], "timeout": "50ms"}}
	JSON
	bench_spawn "$1" "$CPU" "$HOTPATH" serve --config "$BENCH_T/$1.json"
	eval "PID_$1=$BENCH_PID"
	bench_wait_port "$p" "$BENCH_PID" || bench_die "$1 did not start"
	PORT=$p
}

wait_keys() { # wait_keys N: until Redis holds at least N keys (10 s at most)
	i=0
	while [ "$(redis-cli -p "$REDIS_PORT" dbsize)" -lt "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

jget() { # jget JSON KEY
	python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

cpu_per_req() { # cpu_per_req TICKS_BEFORE TICKS_AFTER REQUESTS: microseconds
	python3 -c 'import os,sys; b,a,n=map(float,sys.argv[1:]); print(round((a-b)/os.sysconf("SC_CLK_TCK")/n*1e6,1))' "$@"
}

row() { # row LABEL PID PORT PATH: one measured run, appended to the table
	t0=$(proc_ticks "$2")
	out=$($DRIVER seq "$3" "$4" "$N" "$PROCS")
	t1=$(proc_ticks "$2")
	bench_log "$1: $out"
	echo "| $1 | $(jget "$out" rps) | $(jget "$out" p50_ms) | $(jget "$out" p99_ms) |" \
		"$(cpu_per_req "$t0" "$t1" "$(jget "$out" requests)") | $(jget "$out" errors) |" \
		>>"$BENCH_T/lat.md"
}

bench_spawn redis "$CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
	--appendonly no
bench_wait_port "$REDIS_PORT" "$BENCH_PID" || bench_die "redis-server did not start on $REDIS_PORT"
spawn_origin fast 0
FAST=$PORT
spawn_hotpath A "$FAST"
A=$PORT
spawn_hotpath B "$FAST"
B=$PORT
B_ADMIN=$ADMIN
spawn_hotpath C "$FAST"
C=$PORT
sleep 0.5

# ==== 1. L2 hits against L1 hits and the origin ====
: >"$BENCH_T/lat.md"
row "direct origin fetch" "$PID_fast" "$FAST" "/api/products/1?direct={i}"
$DRIVER seq "$A" "/api/products/1" 100 1 >/dev/null
row "L1 hit (instance A)" "$PID_A" "$A" "/api/products/1"
bench_log "filling Redis with $N objects through instance A"
$DRIVER seq "$A" "/api/products/2?l2={i}" "$N" "$PROCS" >/dev/null
wait_keys "$N"
h0=$(curl -sS "http://127.0.0.1:$B_ADMIN/metrics" | sed -n 's/^hotpath_l2_hits_total //p')
row "L2 hit (instance B, L1 cold)" "$PID_B" "$B" "/api/products/2?l2={i}"
h1=$(curl -sS "http://127.0.0.1:$B_ADMIN/metrics" | sed -n 's/^hotpath_l2_hits_total //p')
# What a miss costs hotpath with L2 on: GET (none), the lock, the origin, the write.
row "miss through instance C (L2 GET, lock, origin, SET)" "$PID_C" "$C" "/api/products/3?miss={i}"

# ==== 2. Purge propagation ====
purge=$($DRIVER purge "$A" "$B" "$C" "$ROUNDS")
bench_log "purge: $purge"

# ==== 3. Stampede: 3 hotpath instances sharing Redis against 3 nginx caches ====
spawn_origin slow 500ms
SLOW=$PORT
bench_stop "$PID_A"
bench_stop "$PID_B"
bench_stop "$PID_C"
spawn_hotpath A2 "$SLOW"
P1=$PORT
spawn_hotpath B2 "$SLOW"
P2=$PORT
spawn_hotpath C2 "$SLOW"
P3=$PORT
ORIGIN_PORT=$SLOW
for n in 1 2 3; do
	bench_port
	eval "N$n=$PORT"
	start_nginx "nginx$n" "$PORT" nginx-cache.conf "$CPU" || bench_die "nginx did not start"
done
sleep 0.5
: >"$BENCH_T/stampede.md"
k=1
while [ $k -le "$KEYS" ]; do
	hp=$($DRIVER stampede "$STAMPEDE" "/api/products/5?hp=$k" "$P1" "$P2" "$P3")
	ng=$($DRIVER stampede "$STAMPEDE" "/api/products/5?ng=$k" "$N1" "$N2" "$N3")
	bench_log "key $k: hotpath $hp; nginx $ng"
	echo "$hp" >>"$BENCH_T/hp_answers"
	echo "$ng" >>"$BENCH_T/ng_answers"
	k=$((k + 1))
done
# demo_origin counts per path (the query is not part of it): one path per candidate.
stats=$(curl -sS "http://127.0.0.1:$SLOW/stats")
origin_hp=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["paths"].get("/api/products/5", 0))' "$stats")
bench_log "origin saw $origin_hp requests for $((KEYS * 2)) stampedes (hotpath then nginx keys share the path)"

cat >"$BENCH_T/report.md" <<EOF
# L2 tier in Redis: hits, purge propagation, stampede

$(bench_machine_md 2>/dev/null | grep -v -e pinning -e generator -e interleaved)
- client: bench/l2_driver.py, $N requests over $PROCS keep-alive connections per row
  (one Python process each: its own cost bounds req/s for every row alike)
- Redis: $(redis-server --version | cut -d' ' -f3), loopback; hotpath: 1 worker per instance, l2.timeout 50 ms

## 1. L2 hits against L1 hits and a direct origin fetch

| row | req/s | p50 ms | p99 ms | server CPU us/request | errors |
|---|---|---|---|---|---|
$(cat "$BENCH_T/lat.md")

L2 hits counted by instance B in that row: $(python3 -c "print(int(float('${h1:-0}') - float('${h0:-0}')))") of $N.

## 2. Purge propagation (PURGE on A, gone from B and C)

$purge

## 3. Stampede: $STAMPEDE concurrent misses per instance, 3 instances, origin 500 ms

| candidate | answers per key (status, X-Cache) |
|---|---|
| 3 hotpath + Redis (l2.lock) | $(tr '\n' ' ' <"$BENCH_T/hp_answers") |
| 3 nginx proxy_cache, proxy_cache_lock on | $(tr '\n' ' ' <"$BENCH_T/ng_answers") |

Origin requests per key: hotpath = the MISS answers per key above (1 expected),
nginx = its MISS answers (one per nginx: 3). The origin's own count for the path,
both candidates together over $KEYS keys each: $origin_hp.
EOF
cat "$BENCH_T/report.md"
bench_write l2
