#!/bin/sh
# SPDX-License-Identifier: MIT
# compress_docs.sh DIR - the two documents the compression measurements use, written to
# DIR: doc.json, a valid JSON array of records of exactly 65536 bytes (the API response
# of the issue), and page.html, this repository's docs/*.md as one HTML page (prose,
# tables, code), both deterministic so that runs on different days compare.
set -eu
dir=$1
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
python3 - "$dir" "$top" <<'PY'
import html, json, os, sys
d, top = sys.argv[1], sys.argv[2]
recs, s = [], "[]"
i = 0
while True:
    recs.append({"id": i, "name": "item %d" % i, "email": "user%d@example.com" % i,
                 "tags": ["a", "b", str(i % 7)], "score": (i * 37) % 1000 / 10, "ok": i % 3 == 0})
    t = json.dumps(recs)
    if len(t) > 65536:
        recs.pop()
        break
    s = t
    i += 1
open(os.path.join(d, "doc.json"), "w").write(s + " " * (65536 - len(s)))
parts = ["<!DOCTYPE html><html><head><title>hotpath</title></head><body>"]
for name in sorted(os.listdir(os.path.join(top, "docs"))):
    if name.endswith(".md"):
        for line in open(os.path.join(top, "docs", name)):
            parts.append("<p>%s</p>" % html.escape(line.rstrip()))
parts.append("</body></html>\n")
open(os.path.join(d, "page.html"), "w").write("\n".join(parts))
PY
