/* SPDX-License-Identifier: MIT */
/*
 * cache.h - the shared HTTP object store (L1) and its RFC 9111 policy.
 *
 * One struct hp_cache is shared by every worker thread. It is an index of
 * keys (hp_cache_key_build) split into shards, one mutex each; a key holds
 * the stored variants of one URL (Vary) and at most one fill in progress.
 *
 * Invariants a caller relies on:
 *   - A struct hp_cache_obj is complete and immutable once published, and
 *     refcounted: every lookup/fetch/freshen is matched by one release.
 *     Eviction and purge only unlink it; the last release frees it, so a
 *     slow client streams from an evicted object without holding any lock.
 *   - Bytes of all linked objects and index entries never exceed
 *     max_memory; an object larger than max_object_size is never stored.
 *   - Concurrent misses for one key make one fill: begin_fill returns
 *     FILLER to one caller, WAITING to the others, whose callbacks run
 *     exactly once (commit or abort) with no cache lock held.
 *   - Policy functions are pure: the caller passes wall-clock <now>.
 * The cache knows nothing of sockets or event loops; the proxy moves
 * waiter callbacks to the right worker itself.
 */
#ifndef HP_CACHE_CACHE_H
#define HP_CACHE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include "core/buf.h"
#include "core/core.h"
#include "http/http.h"

struct hp_cache;      /* the store, shared by all worker threads */
struct hp_cache_obj;  /* a complete stored response: immutable, refcounted */
struct hp_cache_fill; /* a fill in progress, owned by the one request fetching it */

enum hp_cache_eviction {
	HP_CACHE_EVICT_S3FIFO, /* scan-resistant: small FIFO, main FIFO, ghost keys (default) */
	HP_CACHE_EVICT_LRU,    /* plain LRU, for comparison (bench/cache_hitratio.c) */
};

struct hp_cache_conf {
	uint64_t max_memory;      /* bytes for objects and index; 0 = 100 MB */
	uint64_t max_object_size; /* bytes of head + body of one object; 0 = 8 MB */
	unsigned shards;          /* index shards (locks); 0 = 16 */
	uint64_t hit_for_pass_s;  /* how long an uncacheable key bypasses coalescing; 0 = 120 */
	const char *tag_header;   /* field carrying comma-separated purge tags; NULL = Cache-Tag */
	enum hp_cache_eviction eviction;
};

/* Create an empty cache. <conf> is copied. Never NULL (aborts on OOM). */
struct hp_cache *hp_cache_create(const struct hp_cache_conf *conf);
/* Apply a new memory budget (0 = the default) to every shard, evicting
 * down to it at once when it shrank. Stored objects survive otherwise;
 * max_object_size keeps its value from hp_cache_create(). Any thread. */
void hp_cache_set_max_memory(struct hp_cache *c, uint64_t max_memory);
/* Release every stored object and the index. No fill may be in progress;
 * objects still referenced by readers stay valid until their last release. */
void hp_cache_destroy(struct hp_cache *c);

/* ==== Keys ==== */

/* A route's key rules; the proxy converts its config into this. */
struct hp_cache_key_spec {
	const char *namespace;            /* version prefix; change it to orphan every key */
	bool query_ignore;                /* drop the whole query */
	const char *const *query_include; /* if nquery_include > 0: keep only these params */
	size_t nquery_include;
	const char *const *query_exclude; /* drop these params */
	size_t nquery_exclude;
	const char *const *headers;       /* request fields whose values join the key */
	size_t nheaders;
};

/*
 * Build the key for a GET/HEAD request into <out> (appended; reset it first)
 * and return its XXH3 hash. Normalized: host lower-cased with ":80" removed,
 * path percent-encoding of unreserved characters decoded and other escapes
 * upper-cased, query parameters filtered per <spec> (NULL = keep all) and
 * sorted. GET and HEAD share a key so that HEAD is answered from a stored GET.
 * Layout: namespace NUL host NUL path [? query] NUL {name : value NUL}.
 */
uint64_t hp_cache_key_build(struct hp_buf *out, const struct hp_cache_key_spec *spec,
			    struct hp_str host, struct hp_str path, struct hp_str query,
			    const struct hp_http_header *req_headers, size_t nreq);

/* The hash hp_cache_key_build() returned for the key <key> (a key received
 * from elsewhere, such as another instance's purge). */
uint64_t hp_cache_key_hash(const void *key, size_t keylen);

/* ==== Lookup and object references ==== */

/*
 * The newest complete object stored under <key> whose Vary-selecting request
 * fields match <req_headers>, with a reference taken (release it), or NULL.
 * It may be fresh or stale: decide with hp_cache_obj_evaluate(). A hit costs
 * one shard lock and no allocation. <now> is wall-clock seconds.
 */
struct hp_cache_obj *hp_cache_lookup(struct hp_cache *c, const void *key, size_t keylen,
				     uint64_t hash, const struct hp_http_header *req_headers,
				     size_t nreq, time_t now);
/* Is any response stored under <key>, whatever its Vary? (After a lookup
 * miss: Cache-Status says fwd=vary-miss rather than uri-miss.) */
bool hp_cache_has_variants(struct hp_cache *c, const void *key, size_t keylen, uint64_t hash);
/* Drop one reference; the last one frees the object. Takes no lock. */
void hp_cache_obj_release(struct hp_cache_obj *obj);
/* Take another reference on <obj> (which the caller holds); returns <obj>. */
struct hp_cache_obj *hp_cache_obj_fetch(struct hp_cache_obj *obj);

/* ==== Request coalescing ==== */

struct hp_cache_waiter;
typedef void hp_cache_waiter_fn(struct hp_cache_waiter *w);

/* Embedded in the waiting request; must stay valid until its callback ran
 * or hp_cache_cancel_wait() returned true. */
struct hp_cache_waiter {
	hp_cache_waiter_fn *cb; /* called once, from the committing/aborting thread */
	void *data;             /* the caller's */
	/* private */
	struct hp_list _link;   /* in the fill's waiter list */
	unsigned _shard;        /* shard whose lock guards _link and _queued */
	bool _queued;           /* still cancellable */
};

enum hp_cache_begin {
	HP_CACHE_FILLER,  /* *fill is yours: fetch, then commit or abort */
	HP_CACHE_WAITING, /* <w> registered; w->cb will be called once, from the filling
			     thread, with no cache lock held: when the fill's head is
			     accepted and its body can be streamed (hp_cache_lookup_filling),
			     or when the fill is committed or aborted */
	HP_CACHE_PASS,    /* key is hit-for-pass: fetch without storing and without waiting */
};

/*
 * Ask to fill <key> after a miss (or to revalidate a stale object). Exactly
 * one caller at a time becomes FILLER; while its fill runs, others get
 * WAITING and are called back when it ends, then look up again (a commit
 * makes them hit, an abort lets one of them become the next filler).
 */
enum hp_cache_begin hp_cache_begin_fill(struct hp_cache *c, const void *key, size_t keylen,
					uint64_t hash, struct hp_cache_fill **fill,
					struct hp_cache_waiter *w, time_t now);
/*
 * The object being filled under <key>, when its head was accepted, its
 * length is known (Content-Length) and its Vary matches <req_headers>, with
 * a reference taken; NULL otherwise. Its head and fields can be read at
 * once; its body is read with hp_cache_obj_stream() until complete.
 */
struct hp_cache_obj *hp_cache_lookup_filling(struct hp_cache *c, const void *key, size_t keylen,
					     uint64_t hash, const struct hp_http_header *req_headers,
					     size_t nreq);

/* Is <obj>'s body complete? Always true for objects from hp_cache_lookup(). */
bool hp_cache_obj_complete(const struct hp_cache_obj *obj);

enum hp_cache_stream {
	HP_CACHE_STREAM_DATA,   /* bytes were appended to <out> */
	HP_CACHE_STREAM_WAIT,   /* none yet: <w> is registered, and w->cb is called once, from
				   the filling thread with no lock held, on more bytes or the end */
	HP_CACHE_STREAM_DONE,   /* the body is complete: read on with hp_cache_obj_body_iov/_fd */
	HP_CACHE_STREAM_FAILED, /* the fill was aborted: the body will never be complete */
};
/* Copy up to <max> body bytes of <obj> from <offset> into <out> while it fills. */
enum hp_cache_stream hp_cache_obj_stream(struct hp_cache_obj *obj, uint64_t offset,
					 struct hp_buf *out, size_t max,
					 struct hp_cache_waiter *w);
/* Withdraw <w> registered by hp_cache_obj_stream(); true and false as for
 * hp_cache_cancel_wait(). */
bool hp_cache_obj_cancel_stream(struct hp_cache_obj *obj, struct hp_cache_waiter *w);

/* Withdraw a waiter that no longer wants its callback (its client went away).
 * True: withdrawn, the callback will not run. False: the callback has run or
 * is running on another thread; keep <w> alive until it has. Thread-safe. */
bool hp_cache_cancel_wait(struct hp_cache *c, struct hp_cache_waiter *w);

/* ==== Filling ==== */

/* A route's cache policy; the proxy converts its config into this. */
struct hp_cache_policy {
	int64_t default_ttl_s;  /* seconds of freshness for storable responses with no
				   explicit freshness (overrides the heuristic); 0 = off */
	int64_t grace_s;        /* seconds a stale object may still be served (and refreshed
				   in the background, or served when the origin fails) */
	bool allow_set_cookie;  /* store responses carrying Set-Cookie */
	bool strip_tag_header;  /* do not send the tag fields to clients */
	const char *const *targeted; /* RFC 9213 fields, in precedence order: the first
					valid one replaces Cache-Control and Expires */
	size_t ntargeted;
	bool strip_targeted;    /* do not send the targeted fields to clients */
};

/*
 * Give the fill its response head: <status>, fields as they will be stored
 * (hop-by-hop fields already removed), the request fields (for Vary and
 * request no-store / Authorization), and the request and response times
 * (§4.2.3, wall seconds). Everything is copied. The upstream request must
 * be a GET (fetch a HEAD miss as GET, or pass it). Returns false if the
 * response must not be stored, or could never be used (stale at once with no
 * validator and no stale window): then call hp_cache_fill_abort(f, true).
 */
bool hp_cache_fill_head(struct hp_cache_fill *f, int status,
			const struct hp_http_header *resp, size_t nresp,
			const struct hp_http_header *req, size_t nreq, time_t request_time,
			time_t response_time, const struct hp_cache_policy *pol);
/* Append body bytes (copied). False when the object would exceed
 * max_object_size: then abort (without hit-for-pass if it may shrink). */
bool hp_cache_fill_append(struct hp_cache_fill *f, const void *data, size_t len);
/* Publish the object (replacing an older one of the same variant), evict to
 * stay under budget, wake waiters and free <f>. Dropped silently if the key
 * was purged during the fill. */
void hp_cache_fill_commit(struct hp_cache_fill *f);
/* hp_cache_fill_commit(), returning the published object with a reference
 * taken (release it), or NULL when it was dropped (purged meanwhile, or
 * larger than a shard's budget). For a copy to another tier. */
struct hp_cache_obj *hp_cache_fill_commit_fetch(struct hp_cache_fill *f);
/* Drop the fill, wake waiters and free <f>; if <hit_for_pass>, remember the
 * key as uncacheable for hit_for_pass_s so later requests do not wait. */
void hp_cache_fill_abort(struct hp_cache_fill *f, bool hit_for_pass);

/*
 * A 304 answered a revalidation of <old>: make a new object with <old>'s body
 * (shared, not copied) and its fields updated per §3.2/§4.3.4, publish it in
 * place of <old> and return it with a reference taken. <old> is not released.
 * If the revalidation ran under a fill, end that fill with
 * hp_cache_fill_abort(f, false) afterwards: the waiters then hit the new object.
 */
struct hp_cache_obj *hp_cache_freshen(struct hp_cache *c, struct hp_cache_obj *old,
				      const struct hp_http_header *resp304, size_t n,
				      time_t request_time, time_t response_time,
				      const struct hp_cache_policy *pol);
/* The same for a revalidation made by fill <f> (then end it with
 * hp_cache_fill_abort(f, false)): the new object is stored even if <old>
 * was evicted during the request, unless the key was hard-purged. */
struct hp_cache_obj *hp_cache_fill_freshen(struct hp_cache_fill *f, struct hp_cache_obj *old,
					   const struct hp_http_header *resp304, size_t n,
					   time_t request_time, time_t response_time,
					   const struct hp_cache_policy *pol);

/* ==== Reading an object (valid while you hold the reference) ==== */

int hp_cache_obj_status(const struct hp_cache_obj *obj);
/* The stored head serialized as "HTTP/1.1 200 OK\r\nField: v\r\n..." WITHOUT the
 * final empty line and without Age/Date (added by the proxy at send time),
 * tag fields stripped if the policy asked. */
struct hp_str hp_cache_obj_head(const struct hp_cache_obj *obj);
/* All stored fields (Date and tags included, Age excluded); <*n> gets the count. */
const struct hp_http_header *hp_cache_obj_fields(const struct hp_cache_obj *obj, size_t *n);
uint64_t hp_cache_obj_body_len(const struct hp_cache_obj *obj);
/* A descriptor holding the body (bytes 0..body_len), for sendfile(), or -1
 * when the body is only in memory segments. Valid while you hold the
 * reference; do not close it. Large bodies (32 KiB and more) have one. */
int hp_cache_obj_body_fd(const struct hp_cache_obj *obj);
/* Fill up to <max> iovecs with the body from <offset>; returns how many were
 * filled (0 at or past the end). The iovecs point into the object. */
int hp_cache_obj_body_iov(const struct hp_cache_obj *obj, uint64_t offset, struct iovec *iov,
			  int max);

/* ==== Policy (RFC 9111; pure functions) ==== */

/*
 * May a response to <m> with <status> and fields <resp> be stored (§3)?
 * On false, *why_not (if not NULL) gets a short static reason.
 */
bool hp_cache_storable(enum hp_http_method m, int status, const struct hp_http_header *resp,
		       size_t nresp, bool req_has_authorization, const struct hp_cache_policy *pol,
		       const char **why_not);
/*
 * Freshness lifetime in seconds (§4.2.1): s-maxage, max-age, Expires - Date
 * (Date absent: measured from the current wall clock), then the route's
 * default TTL, then the heuristic (10 % of Date - Last-Modified, at most one
 * day) for heuristically cacheable statuses or "public". 0 = stale at once.
 */
int64_t hp_cache_freshness_lifetime(int status, const struct hp_http_header *resp, size_t n,
				    const struct hp_cache_policy *pol);
/* current_age of §4.2.3 at <now>, in seconds. */
uint64_t hp_cache_obj_age(const struct hp_cache_obj *obj, time_t now);
/* Freshness lifetime minus current age, in seconds: <= 0 when stale; for a
 * soft-purged object at most minus the seconds since the purge. */
int64_t hp_cache_obj_ttl(const struct hp_cache_obj *obj, time_t now);

enum hp_cache_state {
	HP_CACHE_FRESH,                 /* serve as is */
	HP_CACHE_STALE_SERVE_REVALIDATE,/* SWR or grace: serve it and refresh once
					   in the background */
	HP_CACHE_STALE,                 /* must revalidate before use */
};
/*
 * Decide for this request (<req_cc> may be NULL): request no-cache, max-age
 * and min-fresh force STALE; max-stale accepts staleness (FRESH); response
 * no-cache, must-revalidate, proxy-revalidate and s-maxage forbid serving
 * stale; then stale-while-revalidate and the route grace give SWR. A soft
 * purged object counts as expired. only-if-cached is the proxy's (504).
 */
enum hp_cache_state hp_cache_obj_evaluate(const struct hp_cache_obj *obj,
					  const struct hp_http_cache_control *req_cc, time_t now,
					  const struct hp_cache_policy *pol);
/* May this object be served because the origin failed: fresh, or stale within
 * the response's or request's stale-if-error or the route grace, and not
 * forbidden by no-cache / must-revalidate / proxy-revalidate / s-maxage? */
bool hp_cache_obj_stale_if_error_ok(const struct hp_cache_obj *obj,
				    const struct hp_http_cache_control *req_cc, time_t now,
				    const struct hp_cache_policy *pol);
/* What rebuilding <obj> elsewhere (the L2 tier) needs besides its fields
 * and body: handing response_time, and response_time - initial_age_s as
 * the request time, to hp_cache_fill_head() gives the same age. */
struct hp_cache_obj_times {
	time_t response_time;          /* wall s */
	int64_t initial_age_s;         /* corrected initial age (§4.2.3) */
	int64_t lifetime_s;            /* freshness lifetime */
	int64_t swr_s;                 /* stale-while-revalidate, -1 absent */
	int64_t sie_s;                 /* stale-if-error, -1 absent */
};
void hp_cache_obj_get_times(const struct hp_cache_obj *obj, struct hp_cache_obj_times *out);
/* Validators for a conditional revalidation request: the stored ETag and
 * Last-Modified values (len 0 if none). */
struct hp_str hp_cache_obj_etag(const struct hp_cache_obj *obj);
struct hp_str hp_cache_obj_last_modified(const struct hp_cache_obj *obj);
/* The origin's Date value as stored (len 0 if it sent none): a hit sends it
 * unchanged, with Age (RFC 9110 §6.6.1). */
struct hp_str hp_cache_obj_date(const struct hp_cache_obj *obj);
/* Should a client's conditional GET/HEAD be answered 304 from this 2xx object?
 * RFC 9110 §13.2.2: If-None-Match (weak comparison, "*" matches) wins over
 * If-Modified-Since (compared with Last-Modified, else Date, §4.3.2). */
bool hp_cache_not_modified(const struct hp_cache_obj *obj, const struct hp_http_header *req,
			   size_t nreq);

/* ==== Invalidation ==== */

/* Each returns how many objects it removed or, if <soft>, marked stale (kept
 * for stale-while-revalidate / grace). A fill in progress on a hard-purged key
 * is not published. */
size_t hp_cache_purge_key(struct hp_cache *c, const void *key, size_t keylen, uint64_t hash,
			  bool soft);
/* Every key (any namespace) of <host> whose path starts with <path_prefix>;
 * <host> is normalized like hp_cache_key_build does. */
size_t hp_cache_purge_prefix(struct hp_cache *c, struct hp_str host, struct hp_str path_prefix,
			     bool soft);
/* Would hp_cache_purge_prefix(<host>, <path_prefix>) take the key <key>? */
bool hp_cache_key_matches_prefix(const void *key, size_t keylen, struct hp_str host,
				 struct hp_str path_prefix);
/* The tags of fields f[0..n) as the cache reads them: the members of the
 * <tag_header> field (comma-separated) and of Surrogate-Key (space-
 * separated), trimmed, empty ones skipped. Start with *it zeroed; each
 * call gives the next tag in <*tag> and the index of its field in
 * it->field; false at the end. */
struct hp_cache_tag_iter {
	size_t field;
	size_t pos;
};
bool hp_cache_next_tag(const struct hp_http_header *f, size_t n, const char *tag_header,
		       struct hp_cache_tag_iter *it, struct hp_str *tag);

/* Every object tagged <tag> (exact bytes) by the tag header (comma-separated)
 * or by Surrogate-Key (space-separated). Costs O(objects carrying <tag>), not
 * O(cache): a tag index is kept as objects are linked and unlinked. */
size_t hp_cache_purge_tag(struct hp_cache *c, struct hp_str tag, bool soft);
/* Remove everything. */
size_t hp_cache_purge_all(struct hp_cache *c);

struct hp_cache_stats {
	uint64_t objects;      /* linked objects */
	uint64_t bytes;        /* accounted bytes (objects and index entries) */
	uint64_t max_bytes;    /* the budget */
	uint64_t inserts;      /* objects published, total */
	uint64_t evictions;    /* objects evicted for room, total */
	uint64_t purges;       /* objects removed or soft-marked by purges, total */
	uint64_t hit_for_pass; /* begin_fill answers PASS, total */
};
/* A consistent-per-shard snapshot of the counters. */
void hp_cache_get_stats(struct hp_cache *c, struct hp_cache_stats *out);

#endif
