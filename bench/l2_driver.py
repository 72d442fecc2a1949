#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""l2_driver.py - the measuring client of bench/l2.sh (not a general load generator).

  seq PORT PREFIX N PROCS      N requests over PROCS keep-alive connections (one process
                               each), request i for PREFIX with "{i}" replaced; prints one
                               JSON line: requests, errors, seconds, rps, p50_ms, p99_ms
  purge A B C ROUNDS           ROUNDS times: a fresh key into the L1 of A, B and C, PURGE
                               on A, then ask B and C until each stops answering HIT; prints
                               the delays (ms) as JSON
  stampede N KEY PORT...       N concurrent requests for KEY on each PORT at once; prints
                               the X-Cache counts as JSON

Every instance of the comparison goes through the same client, so the client's own cost
(Python, one request per round trip) is the same for each; absolute figures are the
client's ceiling as much as the server's.
"""
import http.client, json, multiprocessing, sys, threading, time

H = {"Host": "127.0.0.1"}


def get(c, path, method="GET", extra=None):
    c.request(method, path, headers=dict(H, **(extra or {})))
    r = c.getresponse()
    r.read()
    return r


def seq_part(args):
    port, prefix, lo, hi = args
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    lat, errors = [], 0
    for i in range(lo, hi):
        t = time.perf_counter()
        try:
            r = get(c, prefix.replace("{i}", str(i)))
            if r.status != 200:
                errors += 1
        except Exception:
            errors += 1
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        lat.append(time.perf_counter() - t)
    return lat, errors


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))] if xs else 0.0


def seq(port, prefix, n, procs):
    step = (n + procs - 1) // procs
    parts = [(port, prefix, k, min(n, k + step)) for k in range(0, n, step)]
    t0 = time.perf_counter()
    with multiprocessing.Pool(len(parts)) as pool:
        out = pool.map(seq_part, parts)
    secs = time.perf_counter() - t0
    lat = [x for l, _ in out for x in l]
    errors = sum(e for _, e in out)
    print(json.dumps({"requests": len(lat), "errors": errors, "seconds": round(secs, 3),
                      "rps": round(len(lat) / secs, 1), "p50_ms": round(pct(lat, 50) * 1e3, 3),
                      "p99_ms": round(pct(lat, 99) * 1e3, 3)}))


def purge(a, b, c, rounds):
    ca, cb, cc = (http.client.HTTPConnection("127.0.0.1", p, timeout=10) for p in (a, b, c))
    delays = []
    for r in range(rounds):
        path = "/api/products/3?purge=%d" % r
        get(ca, path)
        time.sleep(0.05)  # the write behind the response
        for conn in (cb, cc, cb, cc):
            get(conn, path)
        t0 = time.perf_counter()
        get(ca, path, "PURGE")
        pending = {"B": cb, "C": cc}
        while pending:
            for name, conn in list(pending.items()):
                if get(conn, path).getheader("x-cache") != "HIT":
                    delays.append((time.perf_counter() - t0) * 1e3)
                    del pending[name]
            if time.perf_counter() - t0 > 2:
                delays.extend([2000.0] * len(pending))
                break
    print(json.dumps({"samples": len(delays), "median_ms": round(pct(delays, 50), 2),
                      "p99_ms": round(pct(delays, 99), 2), "max_ms": round(max(delays), 2)}))


def stampede(n, key, ports):
    res, lock, go = {}, threading.Lock(), threading.Event()

    def one(port):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.connect()
        go.wait()
        try:
            r = get(c, key)
            k = "%d %s" % (r.status, r.getheader("x-cache") or r.getheader("x-cache-status"))
        except Exception as e:
            k = "error"
        with lock:
            res[k] = res.get(k, 0) + 1

    ts = [threading.Thread(target=one, args=(p,)) for p in ports for _ in range(n)]
    [t.start() for t in ts]
    time.sleep(0.2)
    go.set()
    [t.join() for t in ts]
    print(json.dumps(res, sort_keys=True))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "seq":
        seq(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "purge":
        purge(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "stampede":
        stampede(int(sys.argv[2]), sys.argv[3], [int(p) for p in sys.argv[4:]])
    else:
        sys.exit("usage: see the top of this file")
