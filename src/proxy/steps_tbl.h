/* SPDX-License-Identifier: MIT */
/*
 * steps_tbl.h - the path of a request through hotpath, top to bottom: one
 * row per step, the file that holds it, and what it does. The driver
 * (pipeline.c) runs a transaction's current step until the step says what
 * comes next: another step, WAIT (an event will run this one again) or
 * DONE (the connection is closed).
 *
 *   a cache hit:          recv, route, limit, lookup, hit, deliver, log
 *   a coalesced miss:     recv, route, limit, lookup, wait, recv, ..., lookup, hit, deliver, log
 *                         (or, once the fill's head is known, streams it: lookup, hit, deliver)
 *   a miss that fills:    recv, route, limit, lookup, l2, body, fetch, deliver, log
 *   a hit in L2:          recv, route, limit, lookup, l2, lookup, hit, deliver, log
 *   a pass-through:       recv, route, limit, lookup, pass, body, fetch, deliver, log
 *   an error of ours:     recv (or route), deliver, log
 *
 * HP_STEP(name, file, what it does)
 */
HP_STEP(recv,    "recv.c",    "read the request head and check its framing")
HP_STEP(route,   "route.c",   "choose the route; method and body-size limits")
HP_STEP(limit,   "route.c",   "the route's rate limit: go on, or 429")
HP_STEP(lookup,  "lookup.c",  "cache lookup: hit, stale, coalesce, fill, or pass")
HP_STEP(l2,      "lookup.c",  "shared cache tier (Redis) before the origin: a hit fills L1")
HP_STEP(wait,    "lookup.c",  "coalesced: wait for the request filling this key")
HP_STEP(hit,     "hit.c",     "answer from a stored object (or one still filling)")
HP_STEP(pass,    "fetch.c",   "forward without the cache")
HP_STEP(body,    "reqbody.c", "the upstream request: head rewritten, a small body read whole")
HP_STEP(fetch,   "fetch.c",   "upstream exchange until the response head is in")
HP_STEP(deliver, "deliver.c", "the body through the filter chain to the client")
HP_STEP(log,     "finish.c",  "metrics, access log line, then keep-alive or close")
