#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - `make bench`: every comparison in bench/, one after the other, each writing its
# markdown result to bench/results/. A part whose prerequisites are missing (a peer not
# installed, hotpath's cache or load generator not written yet) says so and is skipped;
# it never prints a number it did not measure.
# Usage: sh bench/run.sh [-c conns] [-d duration] [-r reps] [-w warmup] [-o dir]
#        (the options go to the pass-through and cache-hit parts; see bench/README.md)
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
status=0

part() { # part TITLE SCRIPT ARGS...
	title=$1
	shift
	echo "==== $title ====" >&2
	sh "$@" || {
		echo "==== $title: failed (exit $?) ====" >&2
		status=1
	}
}

# Check the options once, up front, and keep -o for the hard case, which takes no others.
out=""
while getopts c:d:r:w:o:h opt; do
	case $opt in
	o) out="-o $OPTARG" ;;
	c | d | r | w) ;;
	*)
		echo "usage: sh $0 [-c conns] [-d duration] [-r reps] [-w warmup] [-o dir]" >&2
		exit 2
		;;
	esac
done
part "A. pass-through" "$BENCH_DIR/passthrough.sh" "$@"
part "B. cache hits" "$BENCH_DIR/cachehit.sh" "$@"
# shellcheck disable=SC2086 # $out is empty or two words
part "C. hard case" "$BENCH_DIR/hardcase.sh" $out
exit $status
