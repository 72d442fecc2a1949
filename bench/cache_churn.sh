#!/bin/sh
# SPDX-License-Identifier: MIT
# cache_churn.sh - does the cache keep to cache.max_memory while it churns? hotpath runs
# with a small budget (16MB) in front of nginx serving one 16 KiB file, cacheable for an
# hour, under as many distinct URLs (/obj/16k?k=N) as asked: by default 10240 keys, ten
# times the budget, requested five times in order, so every request after the first ~1000
# is a miss that stores a new object and evicts an old one. hotpath's VmRSS is sampled
# every second; the report compares its peak (and the kernel's VmHWM) with the budget, and
# counts the objects still cached at the end (only-if-cached, which fetches nothing).
# Usage: sh bench/cache_churn.sh [-o outdir]   (writes cache-churn-DATE-HHMM[-wN].md)
# Environment: CHURN_MAX_MEMORY (16MB), CHURN_KEYS (10240), CHURN_PASSES (5),
# CHURN_PARALLEL (8 transfers in flight), CHURN_WORKERS (1), HOTPATH, BENCH_PROXY_CPU,
# BENCH_LOAD_CPU (pinning, as the other bench scripts), BENCH_REV (commit of a HOTPATH
# built elsewhere).
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

MAX_MEMORY=${CHURN_MAX_MEMORY:-16MB}
KEYS=${CHURN_KEYS:-10240}
PASSES=${CHURN_PASSES:-5}
PARALLEL=${CHURN_PARALLEL:-8}
WORKERS=${CHURN_WORKERS:-1}
OBJ_BYTES=16384

while getopts o:h opt; do
	case $opt in
	o) BENCH_OUT=$OPTARG ;;
	*)
		echo "usage: sh $0 [-o outdir]  (see the head of the file for the environment)" >&2
		exit 2
		;;
	esac
done

# size_bytes 16MB: the byte count of a config size (KB/MB/GB are powers of 1024).
size_bytes() {
	echo "$1" | awk '{
		n = $0 + 0; u = toupper($0); sub(/^[0-9.]+/, "", u)
		m = u == "KB" ? 1024 : u == "MB" ? 1048576 : u == "GB" ? 1073741824 : 1
		printf "%d\n", n * m }'
}

rss_kb() { # rss_kb PID FIELD: VmRSS or VmHWM of PID in KiB, empty once it is gone
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

mb() { # mb KIB: KiB as MiB with one decimal
	awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

# sample PID OUT: "seconds rss_kib" every second until PID exits or $BENCH_T/stop exists.
sample() {
	start=$(date +%s)
	while [ ! -e "$BENCH_T/stop" ] && proc_alive "$1"; do
		echo "$(($(date +%s) - start)) $(rss_kb "$1" VmRSS)" >>"$2"
		sleep 1
	done
}

# load FIRST LAST INFLIGHT [HEADER]: GET keys FIRST..LAST once, INFLIGHT at a time over
# keep-alive connections, with HEADER if given; one line per response: "status bytes x-cache".
load() {
	awk -v a="$1" -v b="$2" -v p="$HP_PORT" 'BEGIN {
		for (k = a; k <= b; k++) {
			printf "url = \"http://127.0.0.1:%d/obj/16k?k=%d\"\n", p, k
			print "output = \"/dev/null\""
		} }' >"$BENCH_T/urls"
	# A header in the -K file would apply to every URL once per line: pass it once.
	taskset -c "$BENCH_LOAD_CPU" curl -s --no-progress-meter -Z ${4:+-H "$4"} \
		--parallel-max "$3" -K "$BENCH_T/urls" \
		-w '%{http_code} %{size_download} %header{x-cache}\n' 2>>"$BENCH_T/curl.err"
}

bench_need nginx curl taskset awk
bench_setup
budget=$(size_bytes "$MAX_MEMORY")
[ "$budget" -gt 0 ] || bench_die "CHURN_MAX_MEMORY: expected a size like 16MB"

mkdir -p "$BENCH_T/www/obj"
head -c "$OBJ_BYTES" /dev/urandom >"$BENCH_T/www/obj/16k"
bench_port
ORIGIN_PORT=$PORT
start_nginx origin "$ORIGIN_PORT" origin.conf "$BENCH_LOAD_CPU" ||
	bench_die "the nginx origin did not start"

[ -x "$HOTPATH" ] || bench_die "$HOTPATH not built (run make)"
bench_port
HP_PORT=$PORT
cat >"$BENCH_T/hotpath.json" <<EOF
{
	"listen": ["127.0.0.1:$HP_PORT"],
	"workers": $WORKERS,
	"upstreams": {"origin": {"servers": ["http://127.0.0.1:$ORIGIN_PORT"]}},
	"cache": {"max_memory": "$MAX_MEMORY"}
}
EOF
bench_spawn hotpath "$BENCH_PROXY_CPU" "$HOTPATH" serve --config "$BENCH_T/hotpath.json"
HP_PID=$BENCH_PID
bench_wait_port "$HP_PORT" "$HP_PID" 10 || bench_die "hotpath did not start: $(tail -n 3 \
"$BENCH_T/hotpath.log")"
bench_check_body hotpath "http://127.0.0.1:$HP_PORT/obj/16k?k=0" "$OBJ_BYTES" ||
	bench_die "hotpath does not serve the object"
idle_kb=$(rss_kb "$HP_PID" VmRSS)

sample "$HP_PID" "$BENCH_T/rss" &
SAMPLER=$!
bench_log "hotpath pid $HP_PID, idle RSS $(mb "$idle_kb") MiB; $PASSES x $KEYS keys of \
$OBJ_BYTES bytes through a $MAX_MEMORY cache"
t0=$(date +%s)
: >"$BENCH_T/responses"
pass=1
while [ $pass -le "$PASSES" ]; do
	load 1 "$KEYS" "$PARALLEL" >>"$BENCH_T/responses"
	bench_log "pass $pass done, RSS $(mb "$(rss_kb "$HP_PID" VmRSS)") MiB"
	pass=$((pass + 1))
done
secs=$(($(date +%s) - t0))
# What is still cached: every key once more with only-if-cached, which answers 504
# on a miss and neither fetches nor stores, so the count disturbs nothing.
origin_before=$(wc -l <"$BENCH_T/origin/access.log")
origin_total=$((origin_before - 1)) # minus the bench_check_body request
load 1 "$KEYS" "$PARALLEL" "Cache-Control: only-if-cached" >"$BENCH_T/check"
sleep 1.5
touch "$BENCH_T/stop"
wait "$SAMPLER"
final_kb=$(rss_kb "$HP_PID" VmRSS)
hwm_kb=$(rss_kb "$HP_PID" VmHWM)
proc_alive "$HP_PID" || bench_die "hotpath died during the run: $(tail -n 5 \
"$BENCH_T/hotpath.log")"

requests=$(wc -l <"$BENCH_T/responses")
good=$(awk -v n="$OBJ_BYTES" '$1 == 200 && $2 == n' "$BENCH_T/responses" | wc -l)
hits=$(awk '$3 == "HIT"' "$BENCH_T/responses" | wc -l)
resident=$(awk '$1 == 200 && $3 == "HIT"' "$BENCH_T/check" | wc -l)
check_504=$(awk '$1 == 504' "$BENCH_T/check" | wc -l)
check_origin=$(($(wc -l <"$BENCH_T/origin/access.log") - origin_before))
peak_kb=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$BENCH_T/rss")
budget_kb=$((budget / 1024))
fits=$((budget / OBJ_BYTES))

mkdir -p "$BENCH_OUT"
suffix=""
[ "$WORKERS" = 1 ] || suffix="-w$WORKERS"
out="$BENCH_OUT/cache-churn-$(date -u +%Y-%m-%d-%H%M)$suffix.md"
{
	cat <<EOF
# Cache memory under churn

\`sh bench/cache_churn.sh\`: hotpath ($WORKERS worker, \`cache.max_memory\` $MAX_MEMORY =
$(mb "$budget_kb") MiB) in front of nginx serving one $OBJ_BYTES-byte file as
\`public, max-age=3600\` under $KEYS distinct URLs (\`/obj/16k?k=N\`, $((KEYS * OBJ_BYTES /
budget))x the budget), requested $PASSES times in order by curl, $PARALLEL transfers in
flight. VmRSS of hotpath sampled every second; VmHWM is the kernel's own peak.

## Result

| figure | value |
|---|---|
| cache budget (max_memory) | $(mb "$budget_kb") MiB |
| RSS idle, after start | $(mb "$idle_kb") MiB |
| RSS peak, 1 s samples | $(mb "$peak_kb") MiB |
| VmHWM (peak RSS seen by the kernel) | $(mb "$hwm_kb") MiB |
| RSS at the end | $(mb "$final_kb") MiB |
| VmHWM − idle RSS | $(mb $((hwm_kb - idle_kb))) MiB = $(awk -v a=$((hwm_kb - idle_kb)) \
-v b="$budget_kb" 'BEGIN { printf "%.2f", a / b }') x max_memory |
| requests, 200 with the full body | $requests, $good |
| X-Cache: HIT | $hits |
| requests that reached the origin | $origin_total (keys in order through an S3-FIFO \
cache ten times too small: all misses is expected) |
| load time | $secs s ($(awk -v r="$requests" -v s="$secs" 'BEGIN { printf "%.0f", \
(s > 0 ? r / s : 0) }') req/s) |
| objects still cached at the end (only-if-cached HIT / 504) | $resident / $check_504; \
$check_origin reached the origin. $resident bodies are $(mb $((resident * OBJ_BYTES / 1024))) MiB; \
the budget would hold $fits bodies without any overhead |

## RSS samples (MiB, every second)

| s | RSS |
|---|---|
EOF
	awk '{ printf "| %d | %.1f |\n", $1, $2 / 1024 }' "$BENCH_T/rss"
	echo
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	rev=${BENCH_REV:-$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}
	dirty=""
	[ -n "${BENCH_REV:-}" ] ||
		dirty=$(git -C "$BENCH_ROOT" status --porcelain -- src 2>/dev/null | head -1)
	cat <<EOF
## Machine

- date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average at start of the report: \
$(cut -d' ' -f1-3 /proc/loadavg)
- CPU: $cpu, nproc $(nproc); kernel $(uname -r)
- hotpath: $HOTPATH, commit $rev${dirty:+ (uncommitted changes in src/)}; $(nginx -v 2>&1 | \
sed 's|.*/|nginx |'); $(curl --version | head -n 1 | cut -d' ' -f1-2)
- pinning: hotpath on CPU $BENCH_PROXY_CPU, nginx and curl on CPU $BENCH_LOAD_CPU
EOF
	bench_notes_md
} >"$out"
bench_log "wrote $out"
cat "$out"
