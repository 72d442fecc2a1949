#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""delay_origin.py - an origin that holds every response back by a known delay.

One thread per connection sleeps DELAY_MS with time.sleep (clock_nanosleep:
sub-millisecond accuracy, unlike a millisecond event-loop timer), then sends
a 100-byte body. A load generator's reported latency should be the delay
plus the loopback round trip, so its p99 says how accurate it is.

    python3 bench/delay_origin.py PORT DELAY_MS
"""
import socketserver
import sys
import time

BODY = b"x" * 100
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n"


class Conn(socketserver.BaseRequestHandler):
    def handle(self):
        buf = b""
        sock = self.request
        while True:
            while b"\r\n\r\n" not in buf:
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
            _, buf = buf.split(b"\r\n\r\n", 1)
            time.sleep(DELAY)
            sock.sendall(HEAD + BODY)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


if __name__ == "__main__":
    DELAY = int(sys.argv[2]) / 1000.0
    Server(("127.0.0.1", int(sys.argv[1])), Conn).serve_forever()
