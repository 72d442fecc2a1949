#!/bin/sh
# SPDX-License-Identifier: MIT
# reload.sh - configuration reloads and a binary upgrade under constant load (issue 9): the
# same sequence against hotpath, nginx and HAProxy, each on one CPU in front of two fast
# nginx origins, while `hotpath bench -R RATE -c CONNS -d DURATION` drives it:
#   at 1/6 of the run  reload 1: the route goes to another upstream group, whose servers
#                      differ (origin B, then A)
#   at 2/6             reload 2: an invalid file (must be refused, the old one serving on)
#   at 3/6             reload 3: back to the first configuration
#   at 4/6             binary upgrade
# hotpath: `hotpath reload --admin` (POST /reload), then SIGUSR2. nginx: `nginx -s reload`,
# then USR2 + WINCH + QUIT. HAProxy: a new process with `-x <stats socket> -sf <old pid>`
# (socket transfer: `expose-fd listeners`), the same for its "upgrade".
# Counted from the load generator's JSON: failed requests (socket errors and non-2xx); a
# connection reset shows up there as a read, write or connect error, broken out per kind.
# Usage: sh bench/reload.sh [-R rate] [-c conns] [-d seconds] [-o dir] [candidates...]
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

RATE=2000
CONNS=200
DUR=30

bench_log_event() { # bench_log_event CAND TEXT: one line of the candidate's event log
	echo "$(date +%H:%M:%S) $2" >>"$BENCH_T/$1.events"
	bench_log "$1: $2"
}

# at SECONDS: sleep until SECONDS after the load started (LOAD_T0, epoch seconds).
at() {
	now=$(date +%s)
	[ $((LOAD_T0 + $1)) -gt "$now" ] && sleep $((LOAD_T0 + $1 - now))
	return 0
}

load_start() { # load_start CAND URL: constant-rate load in the background
	LOAD_T0=$(date +%s)
	taskset -c "$BENCH_LOAD_CPU" "$BENCH_GEN_BIN" bench --quiet -R "$RATE" -c "$CONNS" \
		-d "${DUR}s" --timeout 5s --json "$BENCH_T/$1.json" "$2" >"$BENCH_T/$1.load" 2>&1 &
	LOAD_PID=$!
}

# load_result CAND: a table row from the load generator's report.
load_result() {
	wait "$LOAD_PID"
	python3 - "$BENCH_T/$1.json" "$1" <<-'EOF' 2>/dev/null || echo "| $1 | run failed | | | | | | | | |"
	import json, sys
	d = json.load(open(sys.argv[1]))
	e, st = d["errors"], d["status"]
	non2xx = st["1xx"] + st["3xx"] + st["4xx"] + st["5xx"]
	failed = e["total"] + non2xx
	by_s = ", ".join("%ds: %d" % (t["second"], t["errors"]) for t in d["timeline"] if t["errors"])
	print("| %s | %d | %d | **%d** | %d | %d | %d | %d | %d | %s |" % (sys.argv[2],
	      d["responses"] + e["total"],
	      st["2xx"], failed, e["read"], e["write"], e["connect"], e["timeout"], non2xx,
	      by_s or "-"))
	EOF
}

# wait_new_pid FILE OLD: wait up to 15 s until FILE holds a live pid other than OLD.
wait_new_pid() {
	i=0
	while [ $i -lt 150 ]; do
		p=$(cat "$1" 2>/dev/null)
		if [ -n "$p" ] && [ "$p" != "$2" ] && kill -0 "$p" 2>/dev/null; then
			echo "$p"
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ==== hotpath ====

hotpath_conf() { # hotpath_conf DIR PORT ADMIN_PORT ROUTE_GROUP B_SERVERS
	cat <<EOF
{"listen": ["127.0.0.1:$2"], "workers": 1, "pid_file": "$1/hp.pid",
 "admin": {"listen": ["127.0.0.1:$3"]}, "cache": {"enabled": false},
 "upstreams": {"a": {"servers": ["http://127.0.0.1:$ORIGIN_A"]},
               "b": {"servers": [$5]}},
 "routes": [{"path_prefix": "/", "upstream": "$4"}]}
EOF
}

hotpath_reload() { # hotpath_reload LABEL
	out=$("$HOTPATH" reload --admin "127.0.0.1:$APORT" 2>&1)
	bench_log_event hotpath "$1: exit $? $(echo "$out" | tr '\n' ' ')"
}

run_hotpath() {
	[ -x "$HOTPATH" ] || { bench_note "hotpath: $HOTPATH not built: skipped"; return 1; }
	d="$BENCH_T/hotpath.d"
	mkdir -p "$d"
	bench_port
	port=$PORT
	bench_port
	APORT=$PORT
	b_one="\"http://127.0.0.1:$ORIGIN_A\""
	b_two="\"http://127.0.0.1:$ORIGIN_B\", \"http://127.0.0.1:$ORIGIN_A\""
	hotpath_conf "$d" "$port" "$APORT" a "$b_one" >"$d/c.json"
	bench_spawn hotpath "$BENCH_PROXY_CPU" "$HOTPATH" serve --config "$d/c.json"
	bench_wait_port "$port" "$BENCH_PID" 10 || {
		bench_note "hotpath did not start: $(tail -n 3 "$BENCH_T/hotpath.log")"
		return 1
	}
	old=$BENCH_PID
	load_start hotpath "http://127.0.0.1:$port/pass"
	at $((DUR / 6))
	hotpath_conf "$d" "$port" "$APORT" b "$b_two" >"$d/c.json"
	hotpath_reload "reload 1 (route a -> b, servers of b changed)"
	at $((DUR * 2 / 6))
	echo '{"listen": [' >"$d/c.json"
	hotpath_reload "reload 2 (invalid file)"
	at $((DUR * 3 / 6))
	hotpath_conf "$d" "$port" "$APORT" a "$b_one" >"$d/c.json"
	hotpath_reload "reload 3 (back to the first file)"
	at $((DUR * 4 / 6))
	kill -USR2 "$old"
	if new=$(wait_new_pid "$d/hp.pid" "$old"); then
		echo "$new hotpath-new" >>"$BENCH_T/pids"
		bench_log_event hotpath "upgrade: pid $old -> $new"
	else
		bench_log_event hotpath "upgrade: no new pid (see the log)"
	fi
	load_result hotpath >>"$BENCH_T/rows"
	grep -E 'reload|upgrade|error|warn' "$BENCH_T/hotpath.log" | sed 's/^/    /' \
		>>"$BENCH_T/hotpath.events"
}

# ==== nginx ====

nginx_conf() { # nginx_conf DIR PORT SERVERS...
	dir=$1
	port=$2
	shift 2
	cat <<EOF
$(nginx_user_line)
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log notice;
events { worker_connections 4096; }
http {
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 300s;
	upstream origin {
$(for s in "$@"; do echo "		server 127.0.0.1:$s;"; done)
		keepalive 32;
	}
	server {
		listen 127.0.0.1:$port backlog=4096;
		location / {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
}

nginx_reload() { # nginx_reload LABEL
	out=$(nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" -s reload 2>&1)
	bench_log_event nginx "$1: nginx -s reload exit $? $(echo "$out" | tr '\n' ' ')"
}

run_nginx() {
	bench_have nginx || { bench_note "nginx: not installed: skipped"; return 1; }
	d="$BENCH_T/nginx.d"
	mkdir -p "$d"
	bench_port
	port=$PORT
	nginx_conf "$d" "$port" "$ORIGIN_A" >"$d/nginx.conf"
	# Daemonised: nginx ignores USR2 while the parent it started with still runs, so
	# the master is the process in the pid file, not the one spawned here.
	# An absolute argv[0]: the upgrade executes it again.
	bench_spawn nginx-start "$BENCH_PROXY_CPU" "$(command -v nginx)" -p "$d" -c "$d/nginx.conf" \
		-e "$d/error.log"
	wait "$BENCH_PID"
	old=$(cat "$d/nginx.pid" 2>/dev/null)
	[ -n "$old" ] && echo "$old nginx" >>"$BENCH_T/pids"
	bench_wait_port "$port" "${old:-0}" 10 || {
		bench_note "nginx did not start: $(tail -n 3 "$d/error.log")"
		return 1
	}
	load_start nginx "http://127.0.0.1:$port/pass"
	at $((DUR / 6))
	nginx_conf "$d" "$port" "$ORIGIN_B" "$ORIGIN_A" >"$d/nginx.conf"
	nginx_reload "reload 1 (upstream servers changed)"
	at $((DUR * 2 / 6))
	echo 'http { bogus' >"$d/nginx.conf"
	nginx_reload "reload 2 (invalid file)"
	at $((DUR * 3 / 6))
	nginx_conf "$d" "$port" "$ORIGIN_A" >"$d/nginx.conf"
	nginx_reload "reload 3 (back to the first file)"
	at $((DUR * 4 / 6))
	# The documented sequence: USR2 starts the new master (the old pid file becomes
	# nginx.pid.oldbin), WINCH stops the old workers gracefully, QUIT the old master.
	kill -USR2 "$old"
	if new=$(wait_new_pid "$d/nginx.pid" "$old"); then
		echo "$new nginx-new" >>"$BENCH_T/pids"
		sleep 1
		kill -WINCH "$old"
		sleep 1
		kill -QUIT "$old"
		bench_log_event nginx "upgrade: USR2, WINCH, QUIT: master $old -> $new"
	else
		bench_log_event nginx "upgrade: no new master (see error.log)"
	fi
	load_result nginx >>"$BENCH_T/rows"
	grep -E 'emerg|alert|crit|error|reconfiguring|signal' "$d/error.log" | head -n 30 |
		sed 's/^/    /' >>"$BENCH_T/nginx.events"
}

# ==== HAProxy ====

haproxy_conf() { # haproxy_conf DIR PORT SERVERS...
	dir=$1
	port=$2
	shift 2
	cat <<EOF
global
	nbthread 1
	maxconn 4096
	stats socket $dir/admin.sock mode 600 level admin expose-fd listeners

defaults
	mode http
	option http-keep-alive
	http-reuse safe
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	timeout http-keep-alive 60s

frontend fe
	bind 127.0.0.1:$port
	default_backend origin

backend origin
$(n=0; for s in "$@"; do n=$((n + 1)); echo "	server o$n 127.0.0.1:$s"; done)
EOF
}

# haproxy_reload LABEL: a new process takes the listeners over the stats socket (-x) and
# tells the old one to finish (-sf), as the systemd unit's reload does.
haproxy_reload() {
	bench_spawn "haproxy-$HA_N" "$BENCH_PROXY_CPU" haproxy -db -f "$d/haproxy.cfg" \
		-x "$d/admin.sock" -sf "$HA_CUR"
	pid=$BENCH_PID
	HA_N=$((HA_N + 1))
	sleep 2
	if proc_alive "$pid"; then
		bench_log_event haproxy "$1: new process $pid, old $HA_CUR told to finish"
		HA_CUR=$pid
	else
		bench_log_event haproxy "$1: new process refused to start: $(tail -n 2 \
			"$BENCH_T/haproxy-$((HA_N - 1)).log" | tr '\n' ' ')"
	fi
}

run_haproxy() {
	bench_have haproxy || { bench_note "haproxy: not installed: skipped"; return 1; }
	d="$BENCH_T/haproxy.d"
	mkdir -p "$d"
	bench_port
	port=$PORT
	haproxy_conf "$d" "$port" "$ORIGIN_A" >"$d/haproxy.cfg"
	bench_spawn haproxy-0 "$BENCH_PROXY_CPU" haproxy -db -f "$d/haproxy.cfg"
	bench_wait_port "$port" "$BENCH_PID" 10 || {
		bench_note "haproxy did not start: $(tail -n 3 "$BENCH_T/haproxy-0.log")"
		return 1
	}
	HA_CUR=$BENCH_PID
	HA_N=1
	load_start haproxy "http://127.0.0.1:$port/pass"
	at $((DUR / 6))
	haproxy_conf "$d" "$port" "$ORIGIN_B" "$ORIGIN_A" >"$d/haproxy.cfg"
	haproxy_reload "reload 1 (servers changed)"
	at $((DUR * 2 / 6))
	printf 'frontend fe\n\tbogus directive\n' >"$d/haproxy.cfg"
	haproxy_reload "reload 2 (invalid file)"
	at $((DUR * 3 / 6))
	haproxy_conf "$d" "$port" "$ORIGIN_A" >"$d/haproxy.cfg"
	haproxy_reload "reload 3 (back to the first file)"
	at $((DUR * 4 / 6))
	haproxy_reload "upgrade (same binary, new process)"
	load_result haproxy >>"$BENCH_T/rows"
}

main() {
	while getopts R:c:d:o:h opt; do
		case $opt in
		R) RATE=$OPTARG ;;
		c) CONNS=$OPTARG ;;
		d) DUR=$OPTARG ;;
		o) BENCH_OUT=$OPTARG ;;
		*) echo "usage: sh $0 [-R rate] [-c conns] [-d seconds] [-o dir] [hotpath nginx haproxy]" >&2
		   exit 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	cands=${*:-hotpath nginx haproxy}
	BENCH_GEN=hotpath
	bench_need nginx curl python3 taskset
	[ -x "$BENCH_GEN_BIN" ] || bench_die "$BENCH_GEN_BIN not built (run make)"
	bench_setup
	: >"$BENCH_T/notes" # the closed-loop generator note does not apply here
	: >"$BENCH_T/rows"
	bench_port
	ORIGIN_A=$PORT
	start_nginx origin-a "$ORIGIN_A" origin.conf "$BENCH_LOAD_CPU" || bench_die "origin A"
	bench_port
	ORIGIN_B=$PORT
	start_nginx origin-b "$ORIGIN_B" origin.conf "$BENCH_LOAD_CPU" || bench_die "origin B"
	for c in $cands; do
		: >"$BENCH_T/$c.events"
		bench_log "$c: ${DUR}s at $RATE req/s over $CONNS connections"
		"run_$c" || continue
		# Everything of this candidate stops before the next one starts.
		for pid in $(tac "$BENCH_T/pids" | grep -v ' origin-' | cut -d' ' -f1); do
			bench_stop "$pid"
		done
	done
	mkdir -p "$BENCH_OUT"
	out="$BENCH_OUT/reload-$(date -u +%Y-%m-%d-%H%M).md"
	{
		echo "# Reloads and a binary upgrade under constant load: hotpath, nginx, HAProxy"
		echo
		echo "\`sh bench/reload.sh -R $RATE -c $CONNS -d $DUR\` on $(nproc) CPUs, $(date -u +%Y-%m-%d\ %H:%M) UTC;"
		echo "hotpath $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null)," \
			"$(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v 2>/dev/null | head -n 1 | cut -d' ' -f1-3)."
		echo "Load: \`hotpath bench -R $RATE -c $CONNS -d ${DUR}s --timeout 5s\` (keep-alive) on CPU" \
			"$BENCH_LOAD_CPU with both nginx origins; each proxy on CPU $BENCH_PROXY_CPU, one worker."
		echo "Events at 1/6, 2/6, 3/6 and 4/6 of the run: reload (route/servers changed)," \
			"invalid reload, reload back, binary upgrade."
		echo
		echo "| candidate | requests | 2xx | failed | read errors | write errors | connect errors | timeouts | non-2xx | socket errors by second of the run |"
		echo "|---|---|---|---|---|---|---|---|---|---|"
		cat "$BENCH_T/rows"
		echo
		echo "A connection reset is counted by the load generator as a read error (reset while"
		echo "waiting for the answer), a write error (reset while sending) or a connect error."
		echo "The events happen at seconds $((DUR / 6)), $((DUR * 2 / 6)), $((DUR * 3 / 6)) and" \
			"$((DUR * 4 / 6)) of the load (± 1 s: each event waits for the previous one)."
		for c in $cands; do
			[ -s "$BENCH_T/$c.events" ] || continue
			echo
			echo "## $c: events"
			echo
			echo '```'
			cat "$BENCH_T/$c.events"
			echo '```'
		done
		if [ -s "$BENCH_T/notes" ]; then
			echo
			echo "## Notes"
			echo
			cat "$BENCH_T/notes"
		fi
	} >"$out"
	bench_log "wrote $out"
	cat "$out"
}

main "$@"
