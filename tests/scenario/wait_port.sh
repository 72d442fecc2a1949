#!/bin/sh
# SPDX-License-Identifier: MIT
#
# wait_port.sh PORT... - wait until something accepts TCP connections on
# 127.0.0.1:PORT, for each PORT in turn, at most 10 s each; exit 1 with a
# message naming the port otherwise. The scenario tests call it right after
# starting hotpath (or an origin), as
#
#     shell {sh ${topsrc}/tests/scenario/wait_port.sh ${hp_port}}
#
# so that a test starts once the listener is up, and a listener that never
# comes up fails the test in bounded time instead of at varnishtest's limit.
# POSIX sh has no TCP client, so each probe is one connect through bash's
# /dev/tcp (the connection is closed at once when bash exits).

[ $# -gt 0 ] || { echo "usage: wait_port.sh PORT..." >&2; exit 2; }
for port in "$@"; do
	i=0
	until bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "nothing listens on 127.0.0.1:$port"; exit 1; }
		sleep 0.1
	done
done
