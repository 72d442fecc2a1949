#!/bin/sh
# deps.sh - make sure the Debian packages hotpath builds and tests with are
# present. As root with apt-get, missing ones are installed; otherwise the
# exact apt-get line is printed and the build stops.
#
#   sh tools/deps.sh        what the build and the test suite need
#   sh tools/deps.sh test   also what only some tests need: chromium, which
#                           renders the bench's HTML report (b_bench_html.vtc)
set -u
missing=""
need() { # need PACKAGE TEST...
	pkg=$1; shift
	if ! "$@" >/dev/null 2>&1; then missing="$missing $pkg"; fi
}
hdr() { [ -f "/usr/include/$1" ] || [ -f "/usr/include/x86_64-linux-gnu/$1" ]; }
need gcc command -v gcc
need make command -v make
need libjansson-dev hdr jansson.h
need zlib1g-dev hdr zlib.h
need libbrotli-dev hdr brotli/encode.h
need libzstd-dev hdr zstd.h
need libxxhash-dev hdr xxhash.h
need libcmocka-dev hdr cmocka.h
need clang command -v clang
need libclang-rt-14-dev sh -c 'ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a'
need varnish command -v varnishtest
need python3 command -v python3
if [ "${1:-}" = test ]; then
	need chromium command -v chromium
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
