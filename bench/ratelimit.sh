#!/bin/sh
# SPDX-License-Identifier: MIT
# ratelimit.sh - the rate limiter against nginx limit_req (issue 12), in one run:
#  1. cost on cache hits: a 1 KiB object served from the cache by hotpath (1 worker) and
#     nginx proxy_cache (1 worker), each without a limit and with one per client address
#     that never triggers (10,000,000/s); reps interleaved over the four, medians of req/s
#     and of CPU per request (the server's own user+system time, children included, over
#     the requests wrk completed);
#  2. accuracy under 10x overload: 100/s with burst 20 (nginx: nodelay) under a constant
#     1,000 req/s for 5 s from `hotpath bench -R` (open model); GCRA, like nginx's leaky
#     bucket, must pass exactly 21 + 499 = 520 of 5,000. Each run uses a fresh key (an
#     X-Run header the limit is keyed on), so runs do not share a bucket.
# Usage: sh bench/ratelimit.sh [-c conns] [-d duration] [-r reps] [-w warmup] [-o dir]
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# Before lib.sh, which sets its own defaults: shorter runs, more of them, so the
# medians stand against a shared machine's noise.
BENCH_DURATION=${BENCH_DURATION:-5s}
BENCH_REPS=${BENCH_REPS:-9}
. "$BENCH_DIR/lib.sh"
ACC_RATE=1000
ACC_SECONDS=5
ACC_EXACT=520

peer_versions() { nginx -v 2>&1 | sed 's/^nginx version: //'; }

origin_count() {
	if [ -f "$BENCH_T/origin/access.log" ]; then wc -l <"$BENCH_T/origin/access.log"; else echo 0; fi
}

# hotpath_config FILE PORT LIMITED: one worker, the cache on; with LIMITED (1) the routes
# carry the never-triggering limit on /obj/ and the accuracy limit on /obj/acc/.
hotpath_config() {
	if [ "$3" = 1 ]; then
		routes='[{"path_prefix": "/obj/acc/", "name": "acc",
		  "rate_limit": {"rate": "100/s", "burst": 20, "key": "header:X-Run", "name": "acc"}},
		 {"path_prefix": "/", "name": "obj",
		  "rate_limit": {"rate": "10000000/s", "burst": 1000, "name": "never"}}]'
	else
		routes='[{"path_prefix": "/", "name": "obj"}]'
	fi
	cat >"$1" <<-JSON
	{"listen": ["127.0.0.1:$2"], "workers": 1, "log_level": "warn",
	 "upstreams": {"o": {"servers": ["http://127.0.0.1:$ORIGIN_PORT"]}},
	 "routes": $routes,
	 "cache": {"max_memory": "64MB"}}
	JSON
}

start_candidate() { # start_candidate NAME PORT
	case $1 in
	hotpath | hotpath_limit)
		[ -x "$HOTPATH" ] || { bench_note "$1: $HOTPATH not built"; return 1; }
		lim=0
		[ "$1" = hotpath_limit ] && lim=1
		hotpath_config "$BENCH_T/$1.json" "$2" "$lim"
		bench_spawn "$1" "$BENCH_PROXY_CPU" "$HOTPATH" serve --config "$BENCH_T/$1.json"
		bench_wait_port "$2" "$BENCH_PID" 10 || {
			bench_note "$1: hotpath did not start: $(tail -n 3 "$BENCH_T/$1.log")"
			return 1
		}
		;;
	nginx) start_nginx nginx "$2" nginx-cache.conf ;;
	nginx_limit) start_nginx nginx_limit "$2" nginx-limit.conf ;;
	esac
}

# serves_hits CAND PORT: 200 with the whole object, and from the cache: of three requests
# at most the first reaches the origin.
serves_hits() {
	before=$(origin_count)
	for _ in 1 2 3; do
		bench_check_body "$1" "http://127.0.0.1:$2/obj/1k" 1024 || return 1
	done
	n=$(($(origin_count) - before))
	[ "$n" -le 1 ] || { bench_note "$1: not caching /obj/1k (origin saw $n of 3)"; return 1; }
}

# run CAND KEY DURATION: one wrk run on the cached object; appends "req/s cpu_us_per_req
# p99_ms" to res/CAND.KEY (not for the warm-up).
run() {
	pid=$(awk -v n="$1" '$2 == n { print $1 }' "$BENCH_T/pids")
	eval "port=\$PORT_$1"
	p0=$(proc_ticks "$pid")
	taskset -c "$BENCH_LOAD_CPU" wrk -t1 "-c$BENCH_CONNS" "-d$3" --latency \
		"http://127.0.0.1:$port/obj/1k" >"$BENCH_T/wrk.out" 2>&1
	p1=$(proc_ticks "$pid")
	reqs=$(awk '/requests in/ { print $1 }' "$BENCH_T/wrk.out")
	line=$(parse_wrk "$BENCH_T/wrk.out")
	[ -n "$reqs" ] && [ "$reqs" -gt 0 ] && [ "$line" != FAIL ] ||
		{ bench_note "$1: wrk failed"; return 1; }
	set -- "$1" "$2" "$3" $line
	[ "$7" = 0 ] || bench_note "$1: wrk reported $7 errors (a limit triggered?)"
	us=$(awk -v a="$p0" -v b="$p1" -v n="$reqs" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / n }')
	bench_log "$1 $3: $4 req/s, $us µs CPU per request, p99 $6 ms"
	[ "$2" = warmup ] || echo "$4 $us $6" >>"$BENCH_T/res/$1.$2"
}

# accuracy CAND RUN: a constant ACC_RATE req/s for ACC_SECONDS on the 100/s burst 20 limit
# with a fresh key; appends "sent accepted refused other" to res/CAND.acc, and once, what a
# refused answer carries.
accuracy() {
	eval "port=\$PORT_$1"
	url="http://127.0.0.1:$port/obj/acc/1k"
	json="$BENCH_T/acc.json"
	rm -f "$json"
	taskset -c "$BENCH_LOAD_CPU" "$BENCH_ROOT/build/hotpath" bench --quiet --spin-us 0 \
		-R "$ACC_RATE" -c 20 -d "${ACC_SECONDS}s" -H "X-Run: $1-$2" --json "$json" "$url" \
		>/dev/null 2>&1
	line=$(python3 - "$json" <<-'PY' 2>/dev/null
	import json, sys
	d = json.load(open(sys.argv[1]))
	st = d["status"]
	other = d["responses"] - st["2xx"] - st["4xx"] + d["errors"]["total"]
	print("%d %d %d %d" % (d["responses"] + d["errors"]["total"], st["2xx"], st["4xx"], other))
	PY
	)
	[ -n "$line" ] || { bench_note "$1: accuracy run $2 failed"; return 1; }
	echo "$line" >>"$BENCH_T/res/$1.acc"
	bench_log "$1 accuracy $2: $line (sent accepted refused other)"
	[ -f "$BENCH_T/res/$1.head429" ] || refused_head "$port" "$1" >"$BENCH_T/res/$1.head429"
}

# refused_head PORT CAND: 22 requests at once on one connection with a fresh key (burst 20
# + 1 pass): the status line and limit fields of the last, refused answer.
refused_head() {
	python3 - "$1" "$2" <<-'PY' 2>/dev/null
	import socket, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
	req = b"GET /obj/acc/1k HTTP/1.1\r\nHost: x\r\nX-Run: probe-%s\r\n\r\n" % sys.argv[2].encode()
	s.sendall(req * 21 + req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
	data = b""
	while True:
	    b = s.recv(65536)
	    if not b:
	        break
	    data += b
	last = data[data.rfind(b"HTTP/1.1 "):].split(b"\r\n\r\n")[0].decode()
	for l in last.split("\r\n"):
	    if l.startswith("HTTP/") or l.lower().split(":")[0] in ("retry-after", "ratelimit",
	                                                           "ratelimit-policy"):
	        print(l)
	PY
}

cost_table() {
	echo "| candidate | limit | req/s | CPU µs per request | p99 ms | runs |"
	echo "|---|---|---:|---:|---:|---:|"
	for c in hotpath hotpath_limit nginx nginx_limit; do
		f="$BENCH_T/res/$c.hit"
		[ -s "$f" ] || continue
		case $c in *_limit) l="never triggers" ;; *) l="none" ;; esac
		echo "| ${c%_limit} | $l | $(col "$f" 1 %.0f) | $(col "$f" 2 %.1f) | $(col "$f" 3) |" \
			"$(wc -l <"$f") |"
	done
	echo
	for p in hotpath nginx; do
		off="$BENCH_T/res/$p.hit"
		on="$BENCH_T/res/${p}_limit.hit"
		[ -s "$off" ] && [ -s "$on" ] || continue
		rps=$(ratio "$(col "$on" 1 %.0f)" "$(col "$off" 1 %.0f)")
		cpu=$(ratio "$(col "$on" 2 %.1f)" "$(col "$off" 2 %.1f)")
		echo "- $p: with ÷ without the limit, req/s $rps, CPU per request $cpu"
	done
	busy_note hit
}

accuracy_table() {
	echo "| candidate | run | sent | accepted | refused | other | accepted − $ACC_EXACT |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for c in hotpath_limit nginx_limit; do
		f="$BENCH_T/res/$c.acc"
		[ -s "$f" ] || continue
		awk -v c="${c%_limit}" -v x="$ACC_EXACT" '{
			printf "| %s | %d | %d | %d | %d | %d | %+d |\n", c, NR, $1, $2, $3, $4, $2 - x }' "$f"
	done
	for c in hotpath_limit nginx_limit; do
		f="$BENCH_T/res/$c.head429"
		[ -f "$f" ] || continue
		printf '\n%s, a refused request:\n\n' "${c%_limit}"
		sed 's/^/    /' "$f"
	done
}

report() {
	echo "# Rate limiting: hotpath vs nginx limit_req"
	echo
	bench_machine_md
	echo "- object: 1 KiB, Cache-Control: public, max-age=3600, served from each cache"
	echo "- hotpath: 1 worker; limit \`{\"rate\": \"10000000/s\", \"burst\": 1000}\` per address"
	echo "- nginx: 1 worker, proxy_cache; \`limit_req zone=never burst=1000 nodelay\`," \
		"zone rate=10000000r/s per \$binary_remote_addr (bench/conf/nginx-limit.conf)"
	echo "- CPU per request: the server's user+system time (children included) / requests done"
	printf '\n## Cost on cache hits\n\n'
	echo "wrk -t1 -c$BENCH_CONNS -d$BENCH_DURATION, $BENCH_REPS runs each, the four interleaved; medians."
	echo
	cost_table
	printf '\n## Accuracy under 10x overload\n\n'
	echo "rate 100/s, burst 20 (nginx: nodelay), keyed on a fresh X-Run value per run;"
	echo "\`hotpath bench -R $ACC_RATE -c 20 -d ${ACC_SECONDS}s\`: $((ACC_RATE * ACC_SECONDS)) requests" \
		"at even intervals. Exact GCRA / leaky bucket: 21 at once, then one per 10 ms:" \
		"$ACC_EXACT."
	echo
	accuracy_table
	bench_notes_md
}

main() {
	bench_parse_opts "$@"
	bench_need nginx curl python3 taskset wrk
	[ -x "$BENCH_ROOT/build/hotpath" ] || bench_die "build/hotpath not built (run make)"
	bench_setup
	mkdir -p "$BENCH_T/origin" "$BENCH_T/www/obj/acc"
	head -c 1024 /dev/urandom >"$BENCH_T/www/obj/1k"
	cp "$BENCH_T/www/obj/1k" "$BENCH_T/www/obj/acc/1k"
	chmod -R a+rX "$BENCH_T/www"
	bench_port
	ORIGIN_PORT=$PORT
	start_nginx origin "$ORIGIN_PORT" origin.conf "$BENCH_LOAD_CPU" ||
		bench_die "the origin did not start"
	CANDS=""
	for c in hotpath hotpath_limit nginx nginx_limit; do
		bench_port
		eval "PORT_$c=$PORT"
		start_candidate "$c" "$PORT" || continue
		serves_hits "$c" "$PORT" || { bench_drop "$c"; continue; }
		CANDS="$CANDS $c"
	done
	for c in $CANDS; do run "$c" warmup "$BENCH_WARMUP" || true; done
	i=0
	while [ $i -lt "$BENCH_REPS" ]; do
		for c in $CANDS; do run "$c" hit "$BENCH_DURATION" || true; done
		i=$((i + 1))
	done
	i=1
	while [ $i -le 3 ]; do
		for c in hotpath_limit nginx_limit; do
			case " $CANDS " in *" $c "*) accuracy "$c" "$i" || true ;; esac
		done
		i=$((i + 1))
	done
	report >"$BENCH_T/report.md"
	cat "$BENCH_T/report.md"
	bench_write ratelimit
}

main "$@"
