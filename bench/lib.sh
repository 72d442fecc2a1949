# SPDX-License-Identifier: MIT
# lib.sh - helpers shared by the bench/ scripts, sourced (POSIX sh, runs under dash).
#
# The scripts compare hotpath with nginx, HAProxy and Varnish in the same run on the same
# machine. Everything they start lives in one private temp dir, listens on 127.0.0.1 ports
# found free at start, is pinned with taskset (proxies on BENCH_PROXY_CPU, origin and load
# generator on BENCH_LOAD_CPU) and is stopped by the PID recorded when it was spawned, from
# an EXIT trap.
# Repetitions are interleaved across candidates so a burst of noise from another process
# hits everybody alike, and each candidate is reduced to the median of its runs.

: "${BENCH_DIR:?the sourcing script sets BENCH_DIR}"
BENCH_ROOT=$(cd "$BENCH_DIR/.." && pwd)
HOTPATH=${HOTPATH:-$BENCH_ROOT/build/hotpath}
BENCH_CONNS=${BENCH_CONNS:-50}
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_REPS=${BENCH_REPS:-5}
BENCH_WARMUP=${BENCH_WARMUP:-3s}
BENCH_OUT=${BENCH_OUT:-$BENCH_ROOT/bench/results}
BENCH_PROXY_CPU=${BENCH_PROXY_CPU:-0}
BENCH_LOAD_CPU=${BENCH_LOAD_CPU:-1}
# The closed-loop load generator (-g): wrk, or hotpath bench from BENCH_GEN_BIN (the tree's
# own build, as for the constant-rate runs, so HOTPATH may name an older binary under test).
BENCH_GEN=${BENCH_GEN:-wrk}
BENCH_GEN_BIN=${BENCH_GEN_BIN:-$BENCH_ROOT/build/hotpath}
BENCH_T=""

bench_log() {
	echo "[$(date +%H:%M:%S)] $*" >&2
}

# bench_note MSG: log MSG and keep it for the report's notes (why a candidate is missing).
bench_note() {
	bench_log "$*"
	echo "- $*" >>"$BENCH_T/notes"
}

bench_die() {
	bench_log "error: $*"
	exit 1
}

bench_usage() {
	cat >&2 <<EOF
usage: sh $0 [-c conns] [-d duration] [-r reps] [-w warmup] [-o outdir] [-g wrk|hotpath]
  -c  load generator connections (default $BENCH_CONNS)
  -d  duration of one measured run (default $BENCH_DURATION)
  -r  measured repetitions per candidate (default $BENCH_REPS)
  -w  duration of the discarded warm-up run (default $BENCH_WARMUP)
  -o  where the markdown result goes (default bench/results)
  -g  closed-loop load generator: wrk (default) or hotpath (hotpath bench -t1, which drops
      Content-Length bodies in the kernel instead of copying them: cheaper per body byte)
Environment: BENCH_PROXY_CPU, BENCH_LOAD_CPU (pinning), HOTPATH (binary),
HOTPATH_ARGS (extra 'serve' arguments), BENCH_KEEP=1 (keep the temp dir), BENCH_GEN_BIN
(the hotpath that generates load), BENCH_GEN_ARGS (extra 'bench' arguments with -g hotpath).
EOF
	exit 2
}

bench_parse_opts() {
	while getopts c:d:r:w:o:g:h opt; do
		case $opt in
		c) BENCH_CONNS=$OPTARG ;;
		d) BENCH_DURATION=$OPTARG ;;
		r) BENCH_REPS=$OPTARG ;;
		w) BENCH_WARMUP=$OPTARG ;;
		o) BENCH_OUT=$OPTARG ;;
		g) BENCH_GEN=$OPTARG ;;
		*) bench_usage ;;
		esac
	done
	case $BENCH_REPS in '' | *[!0-9]* | 0) bench_die "-r wants a positive count" ;; esac
	case $BENCH_CONNS in '' | *[!0-9]* | 0) bench_die "-c wants a positive count" ;; esac
	case $BENCH_GEN in wrk | hotpath) ;; *) bench_die "-g wants wrk or hotpath" ;; esac
}

# bench_need_gen: die unless the chosen load generator can run.
bench_need_gen() {
	if [ "$BENCH_GEN" = wrk ]; then
		bench_need wrk
	else
		[ -x "$BENCH_GEN_BIN" ] || bench_die "$BENCH_GEN_BIN not built (run make)"
	fi
}

# bench_gen_md: the closed-loop generator and its flags, for reports.
bench_gen_md() {
	if [ "$BENCH_GEN" = wrk ]; then
		echo "wrk -t1 -c$BENCH_CONNS -d$BENCH_DURATION --latency"
	else
		echo "hotpath bench -t1 -c$BENCH_CONNS -d $BENCH_DURATION${BENCH_GEN_ARGS:+ $BENCH_GEN_ARGS}"
	fi
}

bench_need() { # bench_need CMD... : die naming the first missing tool
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || bench_die "'$c' not found (apt-get install $c)"
	done
}

bench_have() {
	command -v "$1" >/dev/null 2>&1
}

# ==== Temp dir and process lifetime ====

# The temp dir is world-readable because varnishd drops to its own users and must reach its
# -n directory; nothing secret is written there.
bench_setup() {
	BENCH_T=$(mktemp -d "${TMPDIR:-/tmp}/hp-bench.XXXXXX") || bench_die "mktemp failed"
	chmod 755 "$BENCH_T"
	mkdir -p "$BENCH_T/res"
	: >"$BENCH_T/pids"
	: >"$BENCH_T/notes"
	if [ "$BENCH_GEN" = hotpath ]; then
		echo "- closed-loop generator: \`$(bench_gen_md)\` (closed loop, Content-Length bodies" \
			"dropped in the kernel uncopied; latencies closed-loop like wrk's)" >>"$BENCH_T/notes"
	else
		echo "- closed-loop generator: \`$(bench_gen_md)\`" >>"$BENCH_T/notes"
	fi
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	[ "$(nproc)" -ge 2 ] || bench_log "warning: fewer than 2 CPUs, pinning is meaningless"
}

# proc_alive PID: true while PID exists and is not a zombie waiting for us to reap it.
proc_alive() {
	[ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# bench_stop PID: SIGTERM, up to 5 s of grace, then SIGKILL; only ever a PID we spawned.
bench_stop() {
	pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	n=0
	while proc_alive "$pid" && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	proc_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	sed -i "/^$pid /d" "$BENCH_T/pids"
	return 0
}

bench_cleanup() {
	[ -n "$BENCH_T" ] && [ -d "$BENCH_T" ] || return 0
	# Newest first: proxies go before the origin they keep connections to.
	for pid in $(tac "$BENCH_T/pids" | cut -d' ' -f1); do
		bench_stop "$pid"
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		bench_log "kept $BENCH_T"
	else
		rm -rf "$BENCH_T"
	fi
	BENCH_T=""
}

# bench_spawn NAME CPU CMD...: run CMD pinned to CPU in the background, output in
# $BENCH_T/NAME.log; sets BENCH_PID. taskset execs CMD, so the PID is CMD's own.
bench_spawn() {
	name=$1
	cpu=$2
	shift 2
	taskset -c "$cpu" "$@" </dev/null >"$BENCH_T/$name.log" 2>&1 &
	BENCH_PID=$!
	echo "$BENCH_PID $name" >>"$BENCH_T/pids"
}

# bench_free_port: print a port below the ephemeral range that nothing listens on, so
# wrk's own outgoing connections can never collide with it.
bench_free_port() {
	python3 - "${BENCH_NEXT_PORT:-$((20000 + $$ % 8000))}" <<'EOF'
import socket, sys
p = int(sys.argv[1])
for port in range(p, p + 2000):
	s = socket.socket()
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	try:
		s.bind(("127.0.0.1", port))
	except OSError:
		continue
	finally:
		s.close()
	print(port)
	break
EOF
}

# bench_port: set PORT to a fresh free port; consecutive calls never return the same one.
bench_port() {
	PORT=$(bench_free_port)
	[ -n "$PORT" ] || bench_die "no free port"
	BENCH_NEXT_PORT=$((PORT + 1))
}

# bench_wait_port PORT PID [TIMEOUT_S]: wait until 127.0.0.1:PORT accepts, fail early if PID
# died. Returns 0 when ready.
bench_wait_port() {
	python3 - "$1" "$2" "${3:-15}" <<'EOF'
import os, socket, sys, time
port, pid, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
	try:
		socket.create_connection(("127.0.0.1", port), timeout=1).close()
		sys.exit(0)
	except OSError:
		pass
	try:
		with open("/proc/%d/stat" % pid) as f:
			if f.read().rsplit(")", 1)[1].split()[0] == "Z":
				sys.exit(1)
	except OSError:
		sys.exit(1)
	time.sleep(0.02)
sys.exit(1)
EOF
}

# bench_render TEMPLATE OUT KEY=VALUE...: copy a bench/conf template replacing @KEY@.
# Values are paths and numbers; '|' is reserved as the sed delimiter.
bench_render() {
	src=$1
	dst=$2
	shift 2
	: >"$dst.sed"
	for kv in "$@"; do
		printf 's|@%s@|%s|g\n' "${kv%%=*}" "${kv#*=}" >>"$dst.sed"
	done
	sed -f "$dst.sed" "$BENCH_DIR/conf/$src" >"$dst"
	if grep -q '@[A-Z_]*@' "$dst"; then
		bench_die "unfilled placeholder in $dst: $(grep -o '@[A-Z_]*@' "$dst" | head -1)"
	fi
}

# ==== Candidates ====
# Each start_* function takes NAME and the proxy port (origin in $ORIGIN_PORT), starts
# the server on the proxy CPU and returns non-zero, with the reason logged, if it did not
# come up. The caller then leaves that candidate out rather than inventing a number.

nginx_user_line() {
	# As root nginx would switch its worker to nobody, which cannot write our temp dir.
	if [ "$(id -u)" = 0 ]; then echo "user root;"; else echo ""; fi
}

start_nginx() { # start_nginx NAME PORT TEMPLATE [CPU]
	mkdir -p "$BENCH_T/$1"
	bench_render "$3" "$BENCH_T/$1/nginx.conf" DIR="$BENCH_T/$1" PORT="$2" \
		ORIGIN_PORT="${ORIGIN_PORT:-0}" WWW="$BENCH_T/www" USER="$(nginx_user_line)"
	bench_spawn "$1" "${4:-$BENCH_PROXY_CPU}" nginx -p "$BENCH_T/$1" \
		-c "$BENCH_T/$1/nginx.conf" -e "$BENCH_T/$1/error.log"
	bench_wait_port "$2" "$BENCH_PID" || {
		bench_note "$1: nginx did not start: $(tail -n 3 "$BENCH_T/$1/error.log" 2>/dev/null)"
		return 1
	}
}

start_haproxy() { # start_haproxy NAME PORT TEMPLATE
	mkdir -p "$BENCH_T/$1"
	bench_render "$3" "$BENCH_T/$1/haproxy.cfg" PORT="$2" ORIGIN_PORT="$ORIGIN_PORT"
	bench_spawn "$1" "$BENCH_PROXY_CPU" haproxy -db -f "$BENCH_T/$1/haproxy.cfg"
	bench_wait_port "$2" "$BENCH_PID" || {
		bench_note "$1: haproxy did not start: $(tail -n 3 "$BENCH_T/$1.log")"
		return 1
	}
}

start_varnish() { # start_varnish NAME PORT
	# thread_pool_min well above the wrk connection count, so no run waits for thread
	# creation; one pool, as the proxies under test get one CPU.
	bench_spawn "$1" "$BENCH_PROXY_CPU" varnishd -F -a "127.0.0.1:$2" \
		-b "127.0.0.1:$ORIGIN_PORT" -n "$BENCH_T/$1" -s malloc,256m \
		-p thread_pools=1 -p thread_pool_min=$((BENCH_CONNS * 2 + 10)) \
		-p thread_pool_max=$((BENCH_CONNS * 4 + 100))
	bench_wait_port "$2" "$BENCH_PID" 30 || {
		bench_note "$1: varnishd did not start: $(tail -n 3 "$BENCH_T/$1.log")"
		return 1
	}
}

start_hotpath() { # start_hotpath NAME PORT [extra serve args]
	name=$1
	port=$2
	shift 2
	if [ ! -x "$HOTPATH" ]; then
		bench_note "$name: $HOTPATH not built (run make): skipped"
		return 1
	fi
	# shellcheck disable=SC2086 # HOTPATH_ARGS is a word list on purpose
	bench_spawn "$name" "$BENCH_PROXY_CPU" "$HOTPATH" serve --listen "127.0.0.1:$port" \
		--upstream "http://127.0.0.1:$ORIGIN_PORT" "$@" ${HOTPATH_ARGS:-}
	bench_wait_port "$port" "$BENCH_PID" 10 || {
		bench_note "$name: hotpath did not start: $(tail -n 3 "$BENCH_T/$name.log")"
		return 1
	}
}

# bench_check_body NAME URL BYTES: the candidate answers 200 with a body of BYTES bytes.
bench_check_body() {
	got=$(curl -s -o /dev/null -m 5 -w '%{http_code} %{size_download}' "$2")
	[ "$got" = "200 $3" ] && return 0
	bench_note "$1: $2 answered '$got', expected '200 $3'"
	return 1
}

# bench_drop NAME: stop a candidate that failed a check and take it off the list.
bench_drop() {
	pid=$(awk -v n="$1" '$2 == n { print $1 }' "$BENCH_T/pids")
	[ -n "$pid" ] && bench_stop "$pid"
	CANDS=$(echo " $CANDS " | sed "s/ $1 / /; s/^ *//; s/ *$//")
	SKIPPED="$SKIPPED $1"
}

# ==== Measuring ====

# parse_wrk FILE: print "rps p50_ms p99_ms errors" from wrk --latency output. errors counts
# socket errors and non-2xx/3xx answers: a run with errors is shown, never hidden.
parse_wrk() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		if (v ~ /h$/) return v * 3600000
		if (v ~ /s$/) return v * 1000
		return v + 0
	}
	/^ +50%/ { p50 = ms($2) }
	/^ +99%/ { p99 = ms($2) }
	/^Requests\/sec:/ { rps = $2 }
	/Socket errors:/ { err += $4 + $6 + $8 + $10 }
	/Non-2xx or 3xx responses:/ { err += $NF }
	END {
		if (rps == "") { print "FAIL"; exit }
		printf "%.0f %.3f %.3f %d\n", rps, p50, p99, err
	}' "$1"
}

# parse_hp_json FILE: the same line as parse_wrk from a hotpath bench --json report. Errors
# count as wrk's do: socket errors plus answers that are not 2xx or 3xx.
parse_hp_json() {
	python3 - "$1" <<-'EOF' 2>/dev/null || echo FAIL
	import json, sys
	d = json.load(open(sys.argv[1]))
	if d["responses"] == 0:
	    sys.exit(1)
	l, st = d["latency_us"], d["status"]
	errs = d["errors"]["total"] + st["1xx"] + st["4xx"] + st["5xx"]
	print("%.0f %.3f %.3f %d" % (d["requests_per_s"], l["p50"] / 1e3, l["p99"] / 1e3, errs))
	EOF
}

# bench_load URL DURATION OUT: one closed-loop run of the chosen generator, pinned to the
# load CPU, its output in OUT; prints "rps p50_ms p99_ms errors", or FAIL.
bench_load() {
	if [ "$BENCH_GEN" = wrk ]; then
		taskset -c "$BENCH_LOAD_CPU" wrk -t1 "-c$BENCH_CONNS" "-d$2" --latency "$1" >"$3" 2>&1
		parse_wrk "$3"
		return
	fi
	rm -f "$3.json"
	# shellcheck disable=SC2086 # BENCH_GEN_ARGS is a word list on purpose
	taskset -c "$BENCH_LOAD_CPU" "$BENCH_GEN_BIN" bench --quiet -t1 "-c$BENCH_CONNS" -d "$2" \
		${BENCH_GEN_ARGS:-} --json "$3.json" "$1" >"$3" 2>&1
	parse_hp_json "$3.json"
}

# cpu_ticks CPU: "busy total" jiffies of one CPU from /proc/stat.
cpu_ticks() {
	awk -v c="cpu$1" '$1 == c {
		t = 0
		for (i = 2; i <= NF; i++) t += $i
		print t - $5 - $6, t
	}' /proc/stat
}

# proc_ticks PID: user+system jiffies of PID and its direct children (nginx and varnishd
# do their work in a child of the process we started). Fields are counted after the
# ")" that ends the command name, which may itself contain spaces.
proc_ticks() {
	cat /proc/[0-9]*/stat 2>/dev/null | sed 's/^\([0-9]*\) .*) /\1 /' |
		awk -v p="$1" '$1 == p || $3 == p { t += $13 + $14 } END { print t + 0 }'
}

# bench_wrk CAND URL DURATION KEY: one pinned closed-loop run of the generator (-g, wrk by
# default; the name stays from when wrk was the only one). Appends the parsed line plus two CPU
# figures to $BENCH_T/res/CAND.KEY (nothing is kept for KEY "warmup"): the candidate's own
# CPU use and how busy its whole CPU was, both in %. Well below 100 % own use on an
# otherwise idle CPU means the candidate was not the bottleneck: the generator or the origin
# was.
bench_wrk() {
	out="$BENCH_T/wrk.out"
	pid=$(awk -v n="$1" '$2 == n { print $1 }' "$BENCH_T/pids")
	c0=$(cpu_ticks "$BENCH_PROXY_CPU")
	p0=$(proc_ticks "$pid")
	ns0=$(date +%s%N)
	line=$(bench_load "$2" "$3" "$out")
	ns1=$(date +%s%N)
	p1=$(proc_ticks "$pid")
	c1=$(cpu_ticks "$BENCH_PROXY_CPU")
	if [ "$line" = FAIL ]; then
		bench_note "$1: $BENCH_GEN failed: $(head -n 3 "$out")"
		return 1
	fi
	core=$(echo "$c0 $c1" | awk '{ d = $4 - $2; printf "%.0f", d ? 100 * ($3 - $1) / d : 0 }')
	own=$(awk -v a="$p0" -v b="$p1" -v ns=$((ns1 - ns0)) -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.0f", ns ? 100 * (b - a) / hz / (ns / 1e9) : 0 }')
	[ "$4" = warmup ] || echo "$line $own $core" >>"$BENCH_T/res/$1.$4"
	bench_log "$1 $4: $line $own $core (req/s p50 p99 errors own-cpu% core-busy%)"
}

# bench_notes_md: the notes gathered during the run, as a markdown section, if any.
bench_notes_md() {
	[ -s "$BENCH_T/notes" ] || return 0
	printf '\n## Notes\n\n'
	cat "$BENCH_T/notes"
}

# median: the median of the numbers on stdin, "-" when there are none.
median() {
	sort -g | awk '{ a[NR] = $1 }
	END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2
	}'
}

# col FILE N [FORMAT]: median of column N of a result file, printed with FORMAT.
col() {
	if [ -s "$1" ]; then
		cut -d' ' -f"$2" "$1" | median | awk -v f="${3:-%.3f}" '{ printf f "\n", $1 }'
	else
		echo "-"
	fi
}

# ratio A B: A / B to two decimals, "n/a" if either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

# bench_table KEY [EXTRA_HEADER EXTRA_FILE_SUFFIX]: markdown table of the medians for every
# candidate still in CANDS, with hotpath's req/s ratio to each. An extra column is read, as
# a sum, from $BENCH_T/res/CAND.KEY.SUFFIX when given.
bench_table() {
	key=$1
	hp_rps=$(col "$BENCH_T/res/hotpath.$key" 1 %.0f)
	hdr="| candidate | req/s | p50 ms | p99 ms | errors | runs | CPU % own/core |"
	hdr="$hdr hotpath ÷ peer req/s |"
	sep="|---|---:|---:|---:|---:|---:|---:|---:|"
	if [ -n "${2:-}" ]; then
		hdr="$hdr $2 |"
		sep="$sep---:|"
	fi
	echo "$hdr"
	echo "$sep"
	for c in $CANDS; do
		f="$BENCH_T/res/$c.$key"
		rps=$(col "$f" 1 %.0f)
		errs=$(if [ -s "$f" ]; then awk '{ s += $4 } END { print s }' "$f"; else echo "-"; fi)
		runs=$(if [ -s "$f" ]; then wc -l <"$f"; else echo 0; fi)
		r=$(if [ "$c" = hotpath ]; then echo "—"; else ratio "$hp_rps" "$rps"; fi)
		cpu="$(col "$f" 5 %.0f)/$(col "$f" 6 %.0f)"
		row="| $c | $rps | $(col "$f" 2) | $(col "$f" 3) | $errs | $runs | $cpu | $r |"
		if [ -n "${2:-}" ]; then
			sum=$(if [ -f "$f.$3" ]; then awk '{ s += $1 } END { print s }' "$f.$3"; fi)
			row="$row ${sum:--} |"
		fi
		echo "$row"
	done
	busy_note "$key"
}

# busy_note KEY: under a table, flag runs where some candidate used under 80 % of a CPU
# that was at least 80 % busy: the rest went to kernel network work or to other processes,
# and a busy machine (see the load average) makes the numbers unfit to quote.
busy_note() {
	worst=100
	for c in $CANDS; do
		f="$BENCH_T/res/$c.$1"
		[ -s "$f" ] || continue
		own=$(col "$f" 5 %.0f)
		core=$(col "$f" 6 %.0f)
		[ "$own" -lt "$worst" ] && [ "$core" -ge 80 ] && worst=$own
	done
	[ "$worst" -lt 80 ] || return 0
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	printf '\nCheck before quoting: a candidate used only %s %% of its busy CPU; the rest\n' \
		"$worst"
	echo "went to the kernel's network work or to other processes (load average now: $load)."
}

# bench_machine_md: the markdown block that says what the numbers were measured on.
bench_machine_md() {
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	hp_rev=${BENCH_REV:-$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}
	dirty=$(git -C "$BENCH_ROOT" status --porcelain -- src 2>/dev/null | head -1)
	cat <<EOF
## Machine

- date: $(date -u '+%Y-%m-%d %H:%M UTC')
- CPU: $cpu, nproc $(nproc); kernel $(uname -r)
- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
- hotpath: commit $hp_rev${dirty:+ (with uncommitted changes in src/)}
- peers: $(peer_versions)
- pinning: proxies on CPU $BENCH_PROXY_CPU, origin and load generator on CPU $BENCH_LOAD_CPU
- $(bench_gen_md); $BENCH_REPS interleaved repetitions \
after one discarded $BENCH_WARMUP warm-up; medians shown
EOF
}

# bench_write NAME: copy $BENCH_T/report.md to OUTDIR/NAME-<date>.md and say where.
bench_write() {
	mkdir -p "$BENCH_OUT"
	dst="$BENCH_OUT/$1-$(date -u +%Y-%m-%d-%H%M).md"
	cp "$BENCH_T/report.md" "$dst"
	bench_log "wrote $dst"
}

# bench_rounds KEY: the warm-up then BENCH_REPS measured rounds, candidates interleaved.
# URL_<cand> holds each candidate's URL. An optional hook, bench_after_run CAND KEY, runs
# after every measured run (the cache bench counts origin requests there).
bench_rounds() {
	url=""
	for c in $CANDS; do
		eval "url=\$URL_$c"
		bench_wrk "$c" "$url" "$BENCH_WARMUP" warmup || true
	done
	rep=1
	while [ "$rep" -le "$BENCH_REPS" ]; do
		for c in $CANDS; do
			eval "url=\$URL_$c"
			bench_before_run "$c" "$1"
			bench_wrk "$c" "$url" "$BENCH_DURATION" "$1" || true
			bench_after_run "$c" "$1"
		done
		rep=$((rep + 1))
	done
}

bench_before_run() { :; }
bench_after_run() { :; }

# ==== Latency at equal load ====
#
# Closed-loop p99 (wrk above) is taken at each candidate's own maximum rate,
# with the load generator itself saturated: a faster candidate is measured
# under a busier generator, so those tails are not comparable. Here every
# candidate gets the same constant rate, below what the slowest sustains,
# from `hotpath bench -R` (latency from the intended send time, so stalls
# are not hidden by coordinated omission).

# bench_equal_rate KEY: 60 % of the slowest candidate's median req/s in KEY.
bench_equal_rate() {
	min=""
	for c in $CANDS; do
		r=$(col "$BENCH_T/res/$c.$1" 1 %.0f)
		[ "$r" = "-" ] && continue
		if [ -z "$min" ] || [ "$r" -lt "$min" ]; then min=$r; fi
	done
	[ -n "$min" ] && echo $((min * 6 / 10 / 1000 * 1000))
}

# bench_rate_rounds KEY RATE: BENCH_REPS interleaved constant-rate runs per
# candidate; appends "p50 p99 p99.9 rps errors" (ms) to $BENCH_T/res/CAND.KEY.rate.
bench_rate_rounds() {
	hp="$BENCH_ROOT/build/hotpath"
	rep=1
	while [ "$rep" -le "$BENCH_REPS" ]; do
		for c in $CANDS; do
			eval "url=\$URL_$c"
			json="$BENCH_T/rate.json"
			rm -f "$json"
			# No spinning: the generator shares its CPU with the origin here.
			taskset -c "$BENCH_LOAD_CPU" "$hp" bench --quiet --spin-us 0 -R "$2" "-c$BENCH_CONNS" \
				-d "$BENCH_DURATION" --json "$json" "$url" >/dev/null 2>&1
			line=$(python3 - "$json" <<-'PY' 2>/dev/null
			import json, sys
			d = json.load(open(sys.argv[1]))
			l = d["latency_us"]
			print("%.3f %.3f %.3f %.0f %d" % (l["p50"] / 1e3, l["p99"] / 1e3, l["p99.9"] / 1e3,
				d["requests_per_s"], d["errors"]["total"]))
			PY
			)
			if [ -z "$line" ]; then
				bench_note "$c: constant-rate run at $2 req/s failed"
				continue
			fi
			echo "$line" >>"$BENCH_T/res/$c.$1.rate"
			bench_log "$c $1 @$2/s: $line (p50 p99 p99.9 ms, req/s, errors)"
		done
		rep=$((rep + 1))
	done
}

# bench_rate_table KEY RATE: markdown table of the constant-rate medians.
bench_rate_table() {
	echo "Latency at equal load: every candidate driven at $2 req/s (60 % of the slowest"
	echo "one's maximum) by \`hotpath bench --spin-us 0 -R $2 -c$BENCH_CONNS -d $BENCH_DURATION\`, $BENCH_REPS"
	echo "interleaved runs, medians; latency counted from the intended send time."
	echo
	hp99=$(col "$BENCH_T/res/hotpath.$1.rate" 2)
	echo "| candidate | req/s | p50 ms | p99 ms | p99.9 ms | errors | hotpath p99 ÷ peer p99 |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for c in $CANDS; do
		f="$BENCH_T/res/$c.$1.rate"
		errs=$(if [ -s "$f" ]; then awk '{ s += $5 } END { print s }' "$f"; else echo "-"; fi)
		r=$(if [ "$c" = hotpath ]; then echo "—"; else ratio "$hp99" "$(col "$f" 2)"; fi)
		echo "| $c | $(col "$f" 4 %.0f) | $(col "$f" 1) | $(col "$f" 2) | $(col "$f" 3) | $errs | $r |"
	done
}
