#!/bin/sh
# SPDX-License-Identifier: MIT
#
# deps.sh - make sure the Debian packages of one set are present.
#
#   sh tools/deps.sh build     what `make` needs: compiler and libraries
#   sh tools/deps.sh run       build, plus python3 for examples/run-demo.sh
#   sh tools/deps.sh test      build, plus what the tests run (`make test`)
#   sh tools/deps.sh --print SET   list the set's packages, one a line
#
# As root with apt-get, missing packages are installed; otherwise the exact
# apt-get line is printed and the build stops. `make` asks only for the
# build set, so a plain build never installs test tools, and the Makefile
# runs this before any compile starts (objects wait for it), so a -j build
# on a fresh machine never races the installation.
set -u
set_name=${1:-build}
print=0
if [ "$set_name" = --print ]; then
	print=1
	set_name=${2:-build}
fi
missing=""
listed=""
need() { # need PACKAGE TEST...
	pkg=$1; shift
	listed="$listed $pkg"
	[ $print = 1 ] && return
	if ! "$@" >/dev/null 2>&1; then missing="$missing $pkg"; fi
}
hdr() { [ -f "/usr/include/$1" ] || [ -f "/usr/include/x86_64-linux-gnu/$1" ]; }

build_set() {
	need gcc command -v gcc
	need make command -v make
	need libjansson-dev hdr jansson.h
	need zlib1g-dev hdr zlib.h
	need libbrotli-dev hdr brotli/encode.h
	need libzstd-dev hdr zstd.h
	need libxxhash-dev hdr xxhash.h
	need libhiredis-dev hdr hiredis/async.h
}

# Only what tests/run.sh and the tests it runs use: cmocka (unit), clang
# with its sanitizer and libFuzzer runtimes (fuzz and TSan builds),
# varnishtest (scenario), python3 (scenario helpers, port checks), man
# (the install test reads the page), prometheus (promtool checks /metrics).
# nginx and wrk are for bench/, not tests.
test_set() {
	build_set
	need libcmocka-dev hdr cmocka.h
	need clang command -v clang
	need libclang-rt-14-dev sh -c 'ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a'
	need varnish command -v varnishtest
	need python3 command -v python3
	need man-db command -v man
	need prometheus command -v promtool
	# Compression scenarios decode bodies with the reference tools.
	need brotli command -v brotli
	need zstd command -v zstd
	need curl command -v curl
	# The L2 scenarios start their own Redis servers (docs/l2.md).
	need redis-server command -v redis-server
	# Headless-browser checks of the HTML report, once a test uses them.
	if grep -qs chromium tests/run.sh tests/scenario/*.vtc tests/*/*.sh; then
		need chromium sh -c 'command -v chromium || command -v chromium-browser'
	fi
}

case $set_name in
build) build_set ;;
run)
	build_set
	need python3 command -v python3
	;;
test) test_set ;;
*)
	echo "usage: sh tools/deps.sh [--print] build|run|test" >&2
	exit 2
	;;
esac
if [ $print = 1 ]; then
	printf '%s\n' $listed
	exit 0
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null 2>&1 || true
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
		echo "deps: apt-get install failed; run: apt-get install -y$missing" >&2
		exit 1
	}
	exit 0
fi
echo "deps: missing packages; run as root:" >&2
echo "  apt-get install -y$missing" >&2
exit 1
