#!/bin/sh
# wait_port.sh PORT [SECONDS] - wait (bounded, default 10 s) until something
# accepts connections on 127.0.0.1:PORT; exit 1 with a message otherwise.
port=$1
limit=$((${2:-10} * 10))
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt $limit ] || { echo "nothing is listening on 127.0.0.1:$port"; exit 1; }
	sleep 0.1
done
