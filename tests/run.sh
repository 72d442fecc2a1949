#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run.sh - the single test entry point (make test and CI read its output).
#
#   TESTS=all|unit|scenario|fuzz   what to run (default all)
#   HOTPATH=path                   binary the scenario tests drive
#                                  (default $PWD/build/hotpath)
#   FUZZ_SECONDS=N                 time per fuzz target (default 10)
#   HP_PORT_BASE=N                 first loopback port of the scenario ranges
#                                  (default 20000; set apart per checkout)
#
# unit: every build/san/tests/unit/*/test_* (cmocka, ASan+UBSan) and
#   build/tsan/tests/unit/*/test_* (ThreadSanitizer), counted per test case.
# scenario: every tests/scenario/*.vtc with varnishtest, two at a time, each
# on its own loopback port range. fuzz: every build/fuzz/fuzz_* on a scratch
# copy of its seed corpus. The last line is "N passed, N failed"; the exit
# status is non-zero if anything failed or nothing ran at all.
#
# Run from the top of the tree. POSIX sh: Debian's sh is dash.

set -u

# Internal mode: one scenario file, started by xargs below.
#   run.sh --one-vtc RESULTDIR INDEX FILE
if [ "${1:-}" = "--one-vtc" ]; then
	resdir=$2 index=$3 file=$4
	name=$(basename "$file" .vtc)
	port_free() { # port_free PORT: nothing bound to it on 127.0.0.1
		python3 - "$1" <<-'EOF' 2>/dev/null
		import socket, sys
		s = socket.socket()
		s.bind(("127.0.0.1", int(sys.argv[1])))
		EOF
	}
	# Three ports per file, 10 apart per index; on a clash try further up
	# (each index keeps its own stride so parallel files never collide).
	base=$((${HP_PORT_BASE:-20000} + 10 * index))
	tries=0
	while ! { port_free $base && port_free $((base + 1)) && port_free $((base + 2)); }; do
		tries=$((tries + 1))
		if [ $tries -ge 20 ]; then
			echo "no free port range for $name" >"$resdir/$name.log"
			echo 1 >"$resdir/$name.rc"
			exit 0
		fi
		base=$((base + 2000))
	done
	# Without -q the log of a failing run is kept whole, so a failure is
	# reported from the run that failed, never from a rerun.
	timeout 300 varnishtest -t 120 -Dhotpath="$HOTPATH" -Dtopsrc="$PWD" \
		-Dhp_port=$base -Dhp_port2=$((base + 1)) -Dhp_port3=$((base + 2)) \
		"$file" >"$resdir/$name.log" 2>&1
	echo $? >"$resdir/$name.rc"
	exit 0
fi

TESTS=${TESTS:-all}
HOTPATH=${HOTPATH:-$PWD/build/hotpath}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
export HOTPATH

case $TESTS in
all | unit | scenario | fuzz) ;;
*)
	echo "run.sh: TESTS must be all, unit, scenario or fuzz (got '$TESTS')" >&2
	exit 2
	;;
esac

passed=0
failed=0
skipped=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hotpath-tests.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

want() { [ "$TESTS" = all ] || [ "$TESTS" = "$1" ]; }

# Sum the N of every line "<tag> N test(s)" in a cmocka output file.
count_cmocka() { # count_cmocka FILE TAG
	sed -n "s/^\[  $2  \] \([0-9][0-9]*\) test(s).*/\1/p" "$1" |
		awk '{ n += $1 } END { print n + 0 }'
}

run_unit() {
	found=0
	for bin in build/san/tests/unit/*/test_* build/tsan/tests/unit/*/test_*; do
		[ -f "$bin" ] && [ -x "$bin" ] || continue
		case $bin in *.d | *.o) continue ;; esac
		found=1
		out=$tmp/unit.out
		timeout 300 "$bin" >"$out" 2>&1
		rc=$?
		p=$(count_cmocka "$out" PASSED)
		f=$(count_cmocka "$out" FAILED)
		# A crash, a timeout or a sanitizer report at exit (LeakSanitizer
		# runs after cmocka's summary) is a failure even when the summary
		# itself says all passed.
		if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$f" -gt 0 ]; then
			# The passing cases' RUN/OK lines only hide the failure in a
			# long CI log: show everything else.
			echo "FAIL unit $bin (exit $rc):"
			grep -v -e '^\[ RUN      \]' -e '^\[       OK \]' "$out" | sed 's/^/    /'
		else
			echo "ok   unit $bin: $p passed"
		fi
	done
	[ $found = 1 ] || echo "note: no unit test binaries under build/san/tests/unit"
}

run_scenario() {
	if ! command -v varnishtest >/dev/null 2>&1; then
		echo "FAIL scenario: varnishtest not installed"
		failed=$((failed + 1))
		return
	fi
	[ -x "$HOTPATH" ] || echo "warning: $HOTPATH is not an executable; scenarios will fail"
	list=$tmp/vtc.list
	i=0
	: >"$list"
	for f in tests/scenario/*.vtc; do
		[ -f "$f" ] || continue
		echo "$i $f" >>"$list"
		i=$((i + 1))
	done
	[ $i -gt 0 ] || return
	mkdir -p "$tmp/vtc"
	# Two at a time: the machine has two cores and each test starts a proxy.
	xargs -P2 -L1 sh "$0" --one-vtc "$tmp/vtc" <"$list"
	while read -r _ f; do
		name=$(basename "$f" .vtc)
		rc=$(cat "$tmp/vtc/$name.rc" 2>/dev/null || echo 1)
		case $rc in
		0)
			passed=$((passed + 1))
			echo "ok   scenario $f"
			;;
		77)
			skipped=$((skipped + 1))
			echo "SKIP scenario $f"
			;;
		*)
			failed=$((failed + 1))
			echo "FAIL scenario $f (exit $rc):"
			sed 's/^/    /' "$tmp/vtc/$name.log" 2>/dev/null
			;;
		esac
	done <"$list"
}

run_fuzz() {
	mkdir -p build/fuzz/artifacts
	for bin in build/fuzz/fuzz_*; do
		[ -f "$bin" ] && [ -x "$bin" ] || continue
		name=$(basename "$bin")
		corpus=tests/fuzz/corpus/${name#fuzz_}
		work=$tmp/corpus-$name
		mkdir -p "$work"
		# A scratch copy: the fuzzer adds inputs to its corpus directory.
		[ -d "$corpus" ] && cp -R "$corpus/." "$work/"
		out=$tmp/fuzz.out
		timeout $((FUZZ_SECONDS + 120)) "$bin" -max_total_time="$FUZZ_SECONDS" \
			-artifact_prefix="build/fuzz/artifacts/$name-" "$work" >"$out" 2>&1
		rc=$?
		if [ $rc -eq 0 ]; then
			passed=$((passed + 1))
			echo "ok   fuzz $name: $(grep -o 'Done [0-9]* runs.*' "$out" | tail -n 1)"
		else
			failed=$((failed + 1))
			echo "FAIL fuzz $name (exit $rc), artifacts in build/fuzz/artifacts/:"
			tail -n 60 "$out" | sed 's/^/    /'
		fi
	done
}

want unit && run_unit
want scenario && run_scenario
want fuzz && run_fuzz

if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ] && [ $((passed + failed)) -gt 0 ]
