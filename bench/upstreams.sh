#!/bin/sh
# SPDX-License-Identifier: MIT
# upstreams.sh - load balancing over 4 origins (issue 11), hotpath against nginx `upstream`
# and HAProxy, one worker or thread each on one CPU.
#
# 1. Throughput: every hotpath balancer (round_robin, least_conn, p2c, hash on the client
#    address, random) and nginx (round robin, least_conn, hash $remote_addr consistent) and
#    HAProxy (roundrobin, leastconn, source), closed loop, interleaved repetitions, medians,
#    CPU per request. The load comes from one address, so every "hash on the client"
#    candidate sends everything to one origin: that is the same for all three.
# 2. Failover: 20 s of `hotpath bench -R 2000`; at 4 s origin 1 is killed (SIGKILL), at 7 s
#    it is restarted; at 10 s origin 2 is hung (SIGSTOP: it accepts nothing new and answers
#    nothing in flight) for 5 s. Every proxy has 1 s connect and read timeouts, one retry
#    of idempotent requests on another server, and health checks (hotpath and HAProxy
#    active ones on /health every 1 s; nginx open source has passive ones only:
#    max_fails=1 fail_timeout=5s, and hotpath has the same passive setting: with its
#    default max_fails 3, requests sent in the few ms between a hung server's first and
#    third timeout wait out a second timeout). Counted: client-visible errors (non-2xx,
#    socket errors, client timeouts at 5 s) and the worst latency, per run;
#    FAILOVER_REPS runs each.
# Origins are build/examples/demo_origin (no delay), pinned with the load generator.
# Ports: BENCH_NEXT_PORT (default 22500) upwards. The whole run is bounded: about
# (8 + 12 * reps) * duration plus the failover runs' (25 s each).
# Usage: sh bench/upstreams.sh [-c conns] [-d duration] [-r reps] [-w warmup] [-o dir]
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
BENCH_GEN=${BENCH_GEN:-hotpath}
BENCH_DURATION=${BENCH_DURATION:-5s}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_WARMUP=${BENCH_WARMUP:-2s}
BENCH_NEXT_PORT=${BENCH_NEXT_PORT:-22500}
FAILOVER_REPS=${FAILOVER_REPS:-1}
. "$BENCH_DIR/lib.sh"

command -v peer_versions >/dev/null 2>&1 || peer_versions() {
	echo "$(nginx -v 2>&1 | sed 's/^nginx version: //'), $(haproxy -v 2>/dev/null | head -1)"
}

bench_parse_opts "$@"
bench_need nginx haproxy curl python3 taskset
bench_need_gen
ORIGIN_BIN=$BENCH_ROOT/build/examples/demo_origin
[ -x "$ORIGIN_BIN" ] || bench_die "$ORIGIN_BIN not built (make all)"
bench_setup

# ==== Origins ====

start_origin() { # start_origin N: origin N (1..4) on ORIGIN_N_PORT
	eval "port=\$ORIGIN_$1_PORT"
	bench_spawn "origin$1" "$BENCH_LOAD_CPU" "$ORIGIN_BIN" --listen "127.0.0.1:$port" \
		--delay 0 --quiet
	eval "ORIGIN_$1_PID=$BENCH_PID"
	bench_wait_port "$port" "$BENCH_PID" || bench_die "origin $1 did not start"
}

for k in 1 2 3 4; do
	bench_port
	eval "ORIGIN_${k}_PORT=$PORT"
done

# ==== Candidates ====

hotpath_conf() { # hotpath_conf FILE PORT BALANCE
	cat >"$1" <<EOF
{"listen": ["127.0.0.1:$2"], "workers": 1, "cache": {"enabled": false},
 "log_level": "warn",
 "upstreams": {"o": {"servers": ["http://127.0.0.1:$ORIGIN_1_PORT",
   "http://127.0.0.1:$ORIGIN_2_PORT", "http://127.0.0.1:$ORIGIN_3_PORT",
   "http://127.0.0.1:$ORIGIN_4_PORT"],
   "balance": "$3", "hash_key": "ip", "connect_timeout": "1s", "read_timeout": "1s",
   "retries": 1, "max_fails": 1, "fail_timeout": "5s",
   "health": {"path": "/health", "interval": "1s", "timeout": "500ms"}}}}
EOF
}

nginx_conf() { # nginx_conf DIR PORT BALANCE_LINE
	cat >"$1/nginx.conf" <<EOF
$(nginx_user_line)
worker_processes 1;
daemon off;
pid $1/nginx.pid;
events { worker_connections 4096; }
http {
	access_log off;
	upstream o {
		$3
		server 127.0.0.1:$ORIGIN_1_PORT max_fails=1 fail_timeout=5s;
		server 127.0.0.1:$ORIGIN_2_PORT max_fails=1 fail_timeout=5s;
		server 127.0.0.1:$ORIGIN_3_PORT max_fails=1 fail_timeout=5s;
		server 127.0.0.1:$ORIGIN_4_PORT max_fails=1 fail_timeout=5s;
		keepalive 64;
	}
	server {
		listen 127.0.0.1:$2;
		location / {
			proxy_pass http://o;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_connect_timeout 1s;
			proxy_read_timeout 1s;
			proxy_next_upstream error timeout;
			proxy_next_upstream_tries 2;
		}
	}
}
EOF
}

haproxy_conf() { # haproxy_conf FILE PORT BALANCE
	cat >"$1" <<EOF
global
	nbthread 1
defaults
	mode http
	timeout connect 1s
	timeout client 30s
	timeout server 1s
	retries 1
	option redispatch 1
	retry-on conn-failure empty-response response-timeout
	http-reuse always
frontend f
	bind 127.0.0.1:$2
	default_backend b
backend b
	balance $3
	option httpchk GET /health
	server s1 127.0.0.1:$ORIGIN_1_PORT check inter 1s fall 3 rise 2
	server s2 127.0.0.1:$ORIGIN_2_PORT check inter 1s fall 3 rise 2
	server s3 127.0.0.1:$ORIGIN_3_PORT check inter 1s fall 3 rise 2
	server s4 127.0.0.1:$ORIGIN_4_PORT check inter 1s fall 3 rise 2
EOF
}

# start_cand NAME: start candidate NAME on a fresh port, URL_NAME set.
start_cand() {
	bench_port
	port=$PORT
	eval "URL_$1=http://127.0.0.1:$port/api/products/1"
	case $1 in
	hp_*)
		bal=${1#hp_}
		hotpath_conf "$BENCH_T/$1.json" "$port" "$bal"
		bench_spawn "$1" "$BENCH_PROXY_CPU" "$HOTPATH" serve --config "$BENCH_T/$1.json"
		bench_wait_port "$port" "$BENCH_PID" 10 ;;
	nginx_*)
		mkdir -p "$BENCH_T/$1"
		case $1 in
		nginx_rr) line="" ;;
		nginx_least_conn) line="least_conn;" ;;
		nginx_hash) line="hash \$remote_addr consistent;" ;;
		esac
		nginx_conf "$BENCH_T/$1" "$port" "$line"
		bench_spawn "$1" "$BENCH_PROXY_CPU" nginx -p "$BENCH_T/$1" \
			-c "$BENCH_T/$1/nginx.conf" -e "$BENCH_T/$1/error.log"
		bench_wait_port "$port" "$BENCH_PID" ;;
	haproxy_*)
		haproxy_conf "$BENCH_T/$1.cfg" "$port" "${1#haproxy_}"
		bench_spawn "$1" "$BENCH_PROXY_CPU" haproxy -db -f "$BENCH_T/$1.cfg"
		bench_wait_port "$port" "$BENCH_PID" ;;
	esac || { bench_note "$1 did not start: $(tail -n 3 "$BENCH_T/$1.log")"; return 1; }
}

stop_cand() {
	pid=$(awk -v n="$1" '$2 == n { print $1 }' "$BENCH_T/pids")
	[ -n "$pid" ] && bench_stop "$pid"
}

# ==== 1. Throughput ====

for k in 1 2 3 4; do start_origin "$k"; done
ALL="hp_round_robin hp_least_conn hp_p2c hp_hash hp_random nginx_rr nginx_least_conn"
ALL="$ALL nginx_hash haproxy_roundrobin haproxy_leastconn haproxy_source"
CANDS=""
for c in $ALL; do
	if start_cand "$c"; then
		eval "url=\$URL_$c"
		got=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$url")
		if [ "$got" = 200 ]; then CANDS="$CANDS $c"; else
			bench_note "$c answered $got: left out"
			stop_cand "$c"
		fi
	fi
done
CANDS=${CANDS# }
bench_log "throughput: $CANDS"
bench_rounds lb

# per_req_us CAND: median CPU microseconds per request of CAND (own CPU % and req/s).
per_req_us() {
	f="$BENCH_T/res/$1.lb"
	[ -s "$f" ] || { echo "-"; return; }
	awk '{ if ($1 > 0) print $5 / 100 * 1e6 / $1 }' "$f" | median | awk '{ printf "%.1f\n", $1 }'
}

pair_row() { # pair_row LABEL HP PEER
	a=$(col "$BENCH_T/res/$2.lb" 1 %.0f)
	b=$(col "$BENCH_T/res/$3.lb" 1 %.0f)
	echo "| $1 | $2 $a | $3 $b | $(ratio "$a" "$b") | $(per_req_us "$2") / $(per_req_us "$3") |"
}

# ==== 2. Failover ====

# failover CAND REP: one 20 s run at 2000 req/s with the outages; appends
# "errors worst_ms p99_ms" to res/CAND.failover.
failover() {
	# (k, not n: bench_stop counts with n)
	for k in 1 2 3 4; do
		eval "opid=\$ORIGIN_${k}_PID"
		bench_stop "$opid"
		start_origin "$k"
	done
	start_cand "$1" || return 1
	eval "url=\$URL_$1"
	sleep 1
	out="$BENCH_T/failover.$1.$2"
	taskset -c "$BENCH_LOAD_CPU" "$BENCH_GEN_BIN" bench --quiet -t1 -c 64 -R 2000 -d 20s \
		--timeout 5s --json "$out.json" "$url" >"$out" 2>&1 &
	gen=$!
	sleep 4
	kill -KILL "$ORIGIN_1_PID"
	wait "$ORIGIN_1_PID" 2>/dev/null
	sed -i "/^$ORIGIN_1_PID /d" "$BENCH_T/pids"
	sleep 3
	start_origin 1
	sleep 3
	kill -STOP "$ORIGIN_2_PID"
	sleep 5
	kill -CONT "$ORIGIN_2_PID"
	wait "$gen"
	stop_cand "$1"
	python3 - "$out.json" >>"$BENCH_T/res/$1.failover" <<-'EOF' || echo "FAIL" >>"$BENCH_T/res/$1.failover"
	import json, sys
	d = json.load(open(sys.argv[1]))
	st, l = d["status"], d["latency_us"]
	errs = d["errors"]["total"] + st["1xx"] + st["4xx"] + st["5xx"]
	print("%d %.0f %.1f %d" % (errs, l["max"] / 1e3, l["p99"] / 1e3, d["responses"]))
	EOF
	bench_log "failover $1 run $2: $(tail -n 1 "$BENCH_T/res/$1.failover") (errors worst_ms p99_ms responses)"
}

for c in $CANDS; do stop_cand "$c"; done
FO="hp_round_robin nginx_rr haproxy_roundrobin"
rep=1
while [ "$rep" -le "$FAILOVER_REPS" ]; do
	for c in $FO; do failover "$c" "$rep" || bench_note "failover $c: did not start"; done
	rep=$((rep + 1))
done

# ==== Report ====

{
	echo "# Load balancing over 4 origins: hotpath vs nginx upstream vs HAProxy"
	echo
	bench_machine_md
	echo
	echo "## Throughput per balancer (closed loop, /api/products/1, 4 demo_origin)"
	echo
	bench_table lb
	echo
	echo "hotpath ÷ peer for the same policy; CPU µs per request (proxy's own CPU time"
	echo "÷ requests, medians), hotpath / peer:"
	echo
	echo "| policy | hotpath req/s | peer req/s | ratio | CPU µs/req |"
	echo "|---|---:|---:|---:|---:|"
	pair_row "round robin" hp_round_robin nginx_rr
	pair_row "round robin" hp_round_robin haproxy_roundrobin
	pair_row "least connections" hp_least_conn nginx_least_conn
	pair_row "least connections" hp_least_conn haproxy_leastconn
	pair_row "hash on client address" hp_hash nginx_hash
	pair_row "hash on client address" hp_hash haproxy_source
	echo
	echo "## Failover (20 s at 2000 req/s; origin 1 killed at 4 s, back at 7 s; origin 2"
	echo "## hung by SIGSTOP from 10 s to 15 s)"
	echo
	echo "| candidate | runs | client-visible errors (each run) | worst latency ms (each run) | p99 ms (median) |"
	echo "|---|---:|---|---|---:|"
	for c in $FO; do
		f="$BENCH_T/res/$c.failover"
		[ -s "$f" ] || { echo "| $c | 0 | - | - | - |"; continue; }
		echo "| $c | $(grep -vc FAIL "$f") | $(cut -d' ' -f1 "$f" | paste -sd' ') |" \
			"$(cut -d' ' -f2 "$f" | paste -sd' ') | $(col "$f" 3 %.1f) |"
	done
	echo
	echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	bench_notes_md
} >"$BENCH_T/report.md"
cat "$BENCH_T/report.md"
bench_write upstreams
