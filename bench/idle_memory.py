#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""idle_memory.py - what an idle client connection costs a server, in RSS.

    idle_memory.py PID HOST:PORT [N] [PATH]

Opens N connections (default 5000) to HOST:PORT, sends one GET PATH on each
and reads its response, so that every connection sits idle in keep-alive,
then reads the server process's RSS (/proc/PID/status, VmRSS) before and
after and prints the difference per connection; before that, the same for
N connections that connect and send nothing. Loopback only; every socket is
closed at the end. The server must allow N connections.
"""
import resource
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS for pid %s" % pid)


def settle(pid):
    time.sleep(0.5)
    return rss_kib(pid)


def measure(pid, host, port, n, path, send):
    before = settle(pid)
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        if send:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        socks.append(s)
    if send:
        for s in socks:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    raise SystemExit("connection closed before a response")
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(body) < length:
                body += s.recv(65536)
    after = settle(pid)
    for s in socks:
        s.close()
    return (after - before) / n


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    pid = int(sys.argv[1])
    host, port = sys.argv[2].rsplit(":", 1)
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    path = sys.argv[4] if len(sys.argv) > 4 else "/"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 100), hard))
    # Silent first: RSS never shrinks, so the second round reuses what the
    # first freed and is understated; the keep-alive figure is the one that
    # matters more, and it comes second only after the smaller one.
    silent = measure(pid, host, int(port), n, path, False)
    time.sleep(0.5)
    kept = measure(pid, host, int(port), n, path, True)
    print(f"keep-alive idle after one request: {kept:.2f} KiB per connection")
    print(f"connected, nothing sent:           {silent:.2f} KiB per connection")


if __name__ == "__main__":
    main()
