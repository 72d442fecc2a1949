#!/bin/sh
# SPDX-License-Identifier: MIT
#
# l2_wait_redis.sh PORT CLIENTS [KEYS] - wait until the Redis server on
# 127.0.0.1:PORT has at least CLIENTS client connections (the hotpath
# instances' workers, plus this probe) and, if KEYS is given, at least KEYS
# keys; at most 10 s, exit 1 with what it saw otherwise. The L2 scenarios
# (c_l2_*.vtc) use it so that a request is sent only once the instances
# are connected, or once a write behind a response has landed.
[ $# -ge 2 ] || { echo "usage: l2_wait_redis.sh PORT CLIENTS [KEYS]" >&2; exit 2; }
port=$1 clients=$2 keys=${3:-0}
i=0
while :; do
	c=$(redis-cli -p "$port" info clients 2>/dev/null | sed -n 's/^connected_clients:\([0-9]*\).*/\1/p')
	k=$(redis-cli -p "$port" dbsize 2>/dev/null)
	# The probe itself is one of the connected clients.
	if [ -n "$c" ] && [ "$c" -gt "$clients" ] && [ -n "$k" ] && [ "$k" -ge "$keys" ]; then
		exit 0
	fi
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "redis :$port: ${c:-no} clients, ${k:-no} keys"; exit 1; }
	sleep 0.1
done
