#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# l2_cluster_slot.py - moves the slot of one L2 object between the primaries
# of the Redis Cluster that c_l2_cluster.vtc starts, by hand (CLUSTER
# SETSLOT, MIGRATE), so that the test knows which key's slot moves and can
# stop half-way: cache keys are binary (redis-cli cannot name them), hence
# this small RESP client. Ports are the cluster's primaries on 127.0.0.1.
#
#   snapshot FILE PORTS...    write the object keys (hex) now in the cluster
#   newkey FILE PORTS...      wait (5 s at most) for exactly one object key
#                             not in FILE, print it (hex)
#   half HEX STATE PORTS...   start moving its slot to the next primary and
#                             move this key only (the slot is then migrating:
#                             the source answers ASK for it); STATE keeps
#                             slot, source and target
#   finish STATE PORTS...     move the rest of the slot, give it to the
#                             target on every node (now MOVED)
#   move HEX PORTS...         half then finish
import json, socket, sys, time


def cmd(port, *args):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    f = s.makefile("rb")
    r = read(f)
    s.close()
    return r


def read(f):
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        raise RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [read(f) for _ in range(n)]
    raise RuntimeError("bad reply %r" % line)


def objects(ports):
    keys = set()
    for p in ports:
        cur = b"0"
        while True:
            cur, batch = cmd(p, "SCAN", cur, "MATCH", "hp:o:*", "COUNT", 1000)
            keys.update(k.hex() for k in batch)
            if cur == b"0":
                break
    return keys


def node_ids(ports):
    ids = {}
    for p in ports:
        ids[p] = cmd(p, "CLUSTER", "MYID").decode()
    return ids


def owner(slot, ports):
    for e in cmd(ports[0], "CLUSTER", "SLOTS"):
        if e[0] <= slot <= e[1]:
            return int(e[2][1])
    raise RuntimeError("slot %d unassigned" % slot)


def migrate(src, dst, key):
    cmd(src, "MIGRATE", "127.0.0.1", dst, key, 0, 5000)


def half(hexkey, state, ports):
    key = bytes.fromhex(hexkey)
    slot = cmd(ports[0], "CLUSTER", "KEYSLOT", key)
    src = owner(slot, ports)
    dst = ports[(ports.index(src) + 1) % len(ports)]
    ids = node_ids(ports)
    cmd(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
    cmd(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
    migrate(src, dst, key)
    json.dump({"slot": slot, "src": src, "dst": dst}, open(state, "w"))
    print("slot %d: %d -> %d, key moved" % (slot, src, dst))


def finish(state, ports):
    st = json.load(open(state))
    slot, src, dst = st["slot"], st["src"], st["dst"]
    while True:
        keys = cmd(src, "CLUSTER", "GETKEYSINSLOT", slot, 100)
        if not keys:
            break
        for k in keys:
            migrate(src, dst, k)
    ids = node_ids(ports)
    # The target first, then the source, then the others (as redis-cli does).
    for p in [dst, src] + [p for p in ports if p not in (src, dst)]:
        cmd(p, "CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
    print("slot %d now on %d" % (slot, dst))


def main():
    op, rest = sys.argv[1], sys.argv[2:]
    if op == "snapshot":
        json.dump(sorted(objects([int(p) for p in rest[1:]])), open(rest[0], "w"))
    elif op == "newkey":
        before = set(json.load(open(rest[0])))
        ports = [int(p) for p in rest[1:]]
        for _ in range(50):
            new = objects(ports) - before
            if len(new) == 1:
                print(new.pop())
                return
            time.sleep(0.1)
        sys.exit("no single new object key (%d new)" % len(new))
    elif op == "half":
        half(rest[0], rest[1], [int(p) for p in rest[2:]])
    elif op == "finish":
        finish(rest[0], [int(p) for p in rest[1:]])
    elif op == "move":
        half(rest[0], rest[0] + ".state", [int(p) for p in rest[1:]])
        finish(rest[0] + ".state", [int(p) for p in rest[1:]])
    else:
        sys.exit("unknown operation " + op)


if __name__ == "__main__":
    main()
