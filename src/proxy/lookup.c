/* SPDX-License-Identifier: MIT */
/*
 * lookup.c - the cache's decisions in the request path: steps lookup, l2
 * and wait, and what to do with the upstream's answer. Sending a stored
 * object is hit.c's; purges and invalidation are invalidate.c's.
 *
 * For a GET or HEAD on a caching route, step lookup finds the key and
 * decides:
 *   fresh object                -> hit (HIT)
 *   stale, within SWR or grace  -> hit (STALE), and a background refresh by
 *                                  an internal client, once
 *   stale otherwise             -> l2, fetch as the filler with its
 *                                  validators (a 304 freshens it:
 *                                  REVALIDATED; a 5xx or a failure within
 *                                  stale-if-error serves it)
 *   being fetched, head known   -> hit, streaming it as it arrives (COALESCED)
 *   nothing                     -> l2, fetch as the filler (MISS); or wait
 *                                  for the request already fetching it
 *                                  (COALESCED); or pass (hit-for-pass)
 * Step l2 asks Redis (l2.c, docs/l2.md) before the origin: an object found
 * there goes into L1 through the fill, and the lookup runs again on it.
 * Not there: it takes the key's fill lock in Redis and fetches, or, when
 * another instance holds it, polls Redis for that instance's object.
 * A waiter keeps its request head in the client's input buffer and runs
 * from step recv again when the fill's head is accepted with a
 * Content-Length (it then streams the body as the filler appends it), or
 * when the filler commits or aborts; a woken waiter never waits twice, so
 * a response that turns out uncacheable releases everyone at once.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "proxy/proxy_priv.h"

static struct hp_cache *cache_of(const struct hp_client *c)
{
	return c->t->ws->snap->cache;
}

static void build_key(struct hp_client *c, const struct hp_http_request *req)
{
	struct hp_txn_cache *tc = &c->t->cache;
	struct hp_buf kb = {0};
	tc->hash = hp_cache_key_build(&kb, &tc->rc->key, req->host, req->path, req->query,
				      req->headers, req->num_headers);
	tc->key = hp_arena_alloc(&c->t->arena, kb.len ? kb.len : 1);
	memcpy(tc->key, hp_buf_data(&kb), kb.len);
	tc->keylen = kb.len;
	hp_buf_fini(&kb);
}

/* The request head, kept while filling or invalidating: the views into
 * the input buffer are gone by the time the response arrives. */
static void keep_request_head(struct hp_client *c)
{
	struct hp_txn_cache *tc = &c->t->cache;
	size_t len = c->t->req.head_len;
	tc->req_head = hp_arena_alloc(&c->t->arena, len);
	memcpy(tc->req_head, hp_buf_data(&c->in), len);
	tc->req_head_len = len;
}

static size_t saved_request_fields(struct hp_client *c, struct hp_http_header **out)
{
	struct hp_http_request req;
	if (!hp_txn_saved_request(c, &req)) {
		*out = NULL;
		return 0;
	}
	/* Vary must see the field as the lookup did. */
	req.num_headers = hp_compress_normalize(c, req.headers, req.num_headers);
	*out = req.headers;
	return req.num_headers;
}

/* Response fields minus hop-by-hop ones, as the cache stores them. */
static struct hp_http_header *end_to_end_fields(struct hp_client *c,
						const struct hp_http_response *r, size_t *n)
{
	struct hp_http_header *out = hp_arena_alloc(&c->t->arena, (r->num_headers + 1) * sizeof(*out));
	size_t k = 0;
	for (size_t i = 0; i < r->num_headers; i++) {
		const struct hp_http_header *h = &r->headers[i];
		if (hp_http_is_hop_by_hop(h->name) ||
		    hp_http_connection_lists(r->headers, r->num_headers, h->name))
			continue;
		out[k++] = *h;
	}
	*n = k;
	return out;
}

/* ==== Step lookup ==== */

/* The same request, as a GET, from an internal client that fills the
 * cache and discards the response. */
static void spawn_refresh(struct hp_client *c)
{
	const struct hp_http_request *req = &c->t->req.head;
	const char *head = hp_buf_data(&c->in);
	size_t head_len = c->t->req.head_len;
	size_t mlen = req->method.len;
	char *copy = hp_arena_alloc(&c->t->arena, head_len + 4);
	memcpy(copy, "GET", 3);
	memcpy(copy + 3, head + mlen, head_len - mlen);
	hp_client_spawn_internal(c->w, copy, head_len - mlen + 3, true, c->drive, NULL);
}

static enum hp_step serve(struct hp_client *c, struct hp_cache_obj *obj, const char *label)
{
	c->t->cache.obj = obj;
	c->t->cache.x_cache = label;
	return HP_STEP_hit;
}

/* A stored or filling object for the key, or the step for a miss (0 to
 * go on deciding). */
static enum hp_step lookup_stored(struct hp_client *c, const struct hp_http_cache_control *cc,
				  time_t now, bool refresh)
{
	struct hp_txn_cache *tc = &c->t->cache;
	const struct hp_http_request *req = &c->t->req.head;
	struct hp_cache_obj *obj = hp_cache_lookup(cache_of(c), tc->key, tc->keylen, tc->hash,
						   req->headers, req->num_headers, now);
	if (obj == NULL && !refresh) {
		/* Being fetched by another request: stream it as it arrives. */
		obj = hp_cache_lookup_filling(cache_of(c), tc->key, tc->keylen, tc->hash,
					      req->headers, req->num_headers);
		if (obj != NULL)
			tc->waited = true;
	}
	if (obj == NULL) {
		tc->fwd = hp_cache_has_variants(cache_of(c), tc->key, tc->keylen, tc->hash)
			  ? "vary-miss" : "uri-miss";
		if (cc->only_if_cached)
			return hp_respond_error(c, 504, "not in cache (only-if-cached)");
		return HP_STEP_fetch;
	}
	if (tc->waited) {
		tc->fwd = "uri-miss";
		return serve(c, obj, "COALESCED");
	}
	if (refresh) {
		tc->obj = obj;
		return HP_STEP_fetch;
	}
	switch (hp_cache_obj_evaluate(obj, cc, now, &tc->rc->policy)) {
	case HP_CACHE_FRESH:
		return serve(c, obj, "HIT");
	case HP_CACHE_STALE_SERVE_REVALIDATE:
		spawn_refresh(c);
		return serve(c, obj, "STALE");
	case HP_CACHE_STALE:
		if (cc->only_if_cached)
			return serve(c, obj, "STALE");
		/* Fresh, but the request's no-cache, max-age or min-fresh said no. */
		tc->fwd = hp_cache_obj_evaluate(obj, NULL, now, &tc->rc->policy) == HP_CACHE_FRESH
			  ? "request" : "stale";
		tc->obj = obj;
		return HP_STEP_fetch;
	}
	return HP_STEP_fetch;
}

/* Nothing fresh: fetch as the filler, wait for the filler, or pass. */
static enum hp_step begin_fill(struct hp_client *c, time_t now, bool refresh)
{
	struct hp_txn_cache *tc = &c->t->cache;
	struct hp_cache_fill *fill = NULL;
	tc->waiter.cb = hp_client_on_cache_event;
	tc->waiter.data = c;
	switch (hp_cache_begin_fill(cache_of(c), tc->key, tc->keylen, tc->hash, &fill, &tc->waiter,
				    now)) {
	case HP_CACHE_FILLER:
		tc->fill = fill;
		tc->role = refresh ? HP_ROLE_REFRESHER : HP_ROLE_FILLER;
		keep_request_head(c);
		tc->revalidating = tc->obj != NULL && (hp_cache_obj_etag(tc->obj).len > 0 ||
						       hp_cache_obj_last_modified(tc->obj).len > 0);
		tc->x_cache = "MISS";
		if (tc->fwd == NULL)
			tc->fwd = tc->obj != NULL ? "stale" : "uri-miss";
		return HP_STEP_l2;
	case HP_CACHE_WAITING:
		if (tc->obj != NULL) {
			hp_cache_obj_release(tc->obj);
			tc->obj = NULL;
		}
		tc->wait = HP_WAIT_FILL;
		return HP_STEP_wait;
	case HP_CACHE_PASS:
		tc->x_cache = "PASS";
		tc->fwd = "bypass";
		return HP_STEP_pass;
	}
	return HP_STEP_pass;
}

enum hp_step hp_step_lookup(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	struct hp_txn_cache *tc = &t->cache;
	const struct hp_http_request *req = &t->req.head;
	hp_compress_on_request(c, &t->req.head);
	tc->waited = c->after_wait;
	c->after_wait = false;
	bool refresh = c->internal && c->refresh;
	enum hp_http_method m = t->req.method;
	bool safe = m == HP_METHOD_GET || m == HP_METHOD_HEAD;
	if (cache_of(c) == NULL || !t->route->cache.enabled ||
	    (!safe && m != HP_METHOD_PURGE && hp_http_method_is_safe(m)))
		return HP_STEP_pass;
	tc->rc = &t->route->cache;
	tc->role = HP_ROLE_READER;
	build_key(c, req);
	if (m == HP_METHOD_PURGE) {
		hp_invalidate_purge(c, req);
		return HP_STEP_deliver;
	}
	if (!safe) {
		/* Invalidated when it succeeds, with the URIs its response names. */
		tc->role = HP_ROLE_INVALIDATOR;
		keep_request_head(c);
		return HP_STEP_pass;
	}
	struct hp_http_cache_control cc;
	hp_http_parse_cache_control(req->headers, req->num_headers, &cc);
	time_t now = hp_clock_wall_s();
	enum hp_step next = lookup_stored(c, &cc, now, refresh);
	if (next != HP_STEP_fetch)
		return next;
	if (tc->waited) {
		/* A woken waiter fetches alone. */
		tc->x_cache = "MISS";
		tc->fwd = "uri-miss";
		return HP_STEP_pass;
	}
	return begin_fill(c, now, refresh);
}

/* ==== Step l2: the shared tier ==== */

static void on_l2_answer(void *data, enum hp_l2_result r, const char *value, size_t len)
{
	struct hp_client *c = data;
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	struct hp_txn_l2 *l2 = &c->t->l2;
	l2->op = NULL;
	l2->ask = HP_L2_ASK_ANSWERED;
	l2->result = r;
	if (r == HP_L2_FOUND && value != NULL) {
		/* Valid only during this call (a lock taken has none). */
		l2->value = hp_arena_alloc(&c->t->arena, len ? len : 1);
		memcpy(l2->value, value, len);
		l2->len = len;
	}
	c->drive(c);
}

static enum hp_step ask_l2(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	struct hp_txn_cache *tc = &t->cache;
	struct hp_txn_l2 *l2 = &t->l2;
	l2->ask = HP_L2_ASK_ANSWERED;
	l2->result = HP_L2_ERROR;
	if (c->w->l2 == NULL)
		return HP_STEP_body;
	/* Kept for the copy to L2 of what the origin sends (l2.c). */
	l2->nreq = saved_request_fields(c, &l2->req);
	/* A refresh or a revalidation asks the origin: L2 holds no newer copy
	 * than the one it was made from, in all likelihood. */
	if (tc->role != HP_ROLE_FILLER || tc->obj != NULL || l2->req == NULL)
		return HP_STEP_body;
	l2->op = hp_l2_get(c->w->l2, tc->key, tc->keylen, on_l2_answer, c);
	if (l2->op == NULL)
		return HP_STEP_body;
	l2->ask = HP_L2_ASK_WAITING;
	hp_txn_keep_request_fields(c->t);
	return HP_STEP_WAIT;
}

/* Is the object from L2 the variant this request selects? */
static bool same_variant(const struct hp_l2_object *o, const struct hp_txn_l2 *l2)
{
	struct hp_buf b = {0};
	bool same = hp_l2_variant_key(&b, o->fields, o->nfields, l2->req, l2->nreq) &&
		    b.len == o->variant.len &&
		    (b.len == 0 || memcmp(hp_buf_data(&b), o->variant.ptr, b.len) == 0);
	hp_buf_fini(&b);
	return same;
}

/* Store the object from L2 in L1 through our fill; false if L1 would not
 * take it (the fill is then given up). */
static bool fill_from_l2(struct hp_client *c, const struct hp_l2_object *o)
{
	struct hp_txn_cache *tc = &c->t->cache;
	const struct hp_txn_l2 *l2 = &c->t->l2;
	/* The same request and response times give the same age (cache.h). */
	bool ok = hp_cache_fill_head(tc->fill, o->status, o->fields, o->nfields, l2->req, l2->nreq,
				     (time_t)(o->response_time - o->initial_age_s),
				     (time_t)o->response_time, &tc->rc->policy) &&
		  (o->body_len == 0 || hp_cache_fill_append(tc->fill, o->body, (size_t)o->body_len));
	if (ok)
		hp_cache_fill_commit(tc->fill);
	else
		hp_cache_fill_abort(tc->fill, false);
	tc->fill = NULL;
	return ok;
}

/* The URL's object in Redis is another variant than this request's: ask
 * the URL's variant hash for ours, its key computed with the Vary of the
 * object found (a URL varies the same way whatever the variant). */
static enum hp_step ask_variant(struct hp_client *c, const struct hp_l2_object *o)
{
	struct hp_txn *t = c->t;
	struct hp_txn_l2 *l2 = &t->l2;
	struct hp_buf v = {0};
	if (hp_l2_variant_key(&v, o->fields, o->nfields, l2->req, l2->nreq))
		l2->op = hp_l2_get_variant(c->w->l2, t->cache.key, t->cache.keylen,
					   hp_buf_data(&v), v.len, on_l2_answer, c);
	hp_buf_fini(&v);
	l2->phase = HP_L2_PHASE_VARIANT;
	if (l2->op == NULL) {
		hp_l2_note_miss(c->w->px->l2);
		return HP_STEP_body;
	}
	l2->ask = HP_L2_ASK_WAITING;
	return HP_STEP_WAIT;
}

/* The object came (from a GET, the variant hash or a poll): into L1, then
 * decide again. */
static enum hp_step take_l2_object(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	struct hp_txn_l2 *l2 = &t->l2;
	size_t max = hp_client_cfg(c)->limits.max_header_fields * 2;
	struct hp_http_header *fields = hp_arena_alloc(&t->arena, max * sizeof(*fields));
	struct hp_l2_object o;
	enum hp_l2_decode r = hp_l2_decode(l2->value, l2->len, &o, fields, max);
	if (r == HP_L2_DECODE_OK && l2->phase == HP_L2_PHASE_GET && o.variant.len > 0 &&
	    !same_variant(&o, l2))
		return ask_variant(c, &o);
	if (r != HP_L2_DECODE_OK || !same_variant(&o, l2) ||
	    hp_bus_purged(c->w->px, t->cache.key, t->cache.keylen, &o,
			  hp_client_cfg(c)->cache.tag_header)) {
		if (r != HP_L2_DECODE_OK)
			hp_log_debug("l2: object ignored: %s", hp_l2_decode_strerror(r));
		hp_l2_note_miss(c->w->px->l2);
		return HP_STEP_body;
	}
	l2->hit = true;
	fill_from_l2(c, &o);
	/* Decide again on what L1 now holds: fresh (a hit), stale within its
	 * windows (served while refreshed), or not taken (this step, now
	 * answered, sends the next filler to the origin). */
	t->cache.fwd = NULL;
	t->cache.x_cache = NULL;
	return HP_STEP_lookup;
}

/* ==== Cross-instance coalescing: the fill lock ==== */

static enum hp_step try_lock(struct hp_client *c)
{
	struct hp_txn_l2 *l2 = &c->t->l2;
	uint64_t lock_ms = hp_client_cfg(c)->l2.lock_ms;
	if (lock_ms == 0)
		return HP_STEP_body;
	snprintf(l2->token, sizeof(l2->token), "%u-%llx-%llx", c->w->id,
		 (unsigned long long)hp_clock_mono_ns(), (unsigned long long)(uintptr_t)c);
	l2->op = hp_l2_lock(c->w->l2, c->t->cache.key, c->t->cache.keylen, l2->token, lock_ms,
			    on_l2_answer, c);
	if (l2->op == NULL)
		return HP_STEP_body;
	l2->phase = HP_L2_PHASE_LOCK;
	l2->ask = HP_L2_ASK_WAITING;
	return HP_STEP_WAIT;
}

#define POLL_MS 10

static void on_poll_timer(struct hp_timer *tm)
{
	struct hp_txn *t = HP_CONTAINER_OF(tm, struct hp_txn, l2.poll_timer);
	struct hp_client *c = t->client;
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	t->l2.op = hp_l2_poll(c->w->l2, t->cache.key, t->cache.keylen, on_l2_answer, c);
	if (t->l2.op != NULL)
		return;
	/* Redis unavailable: fetch ourselves. */
	t->l2.ask = HP_L2_ASK_ANSWERED;
	t->l2.result = HP_L2_ERROR;
	c->drive(c);
}

/* Another instance holds the lock: look for its object every POLL_MS,
 * until the lock's life (and a little) has gone by. */
static enum hp_step poll_later(struct hp_client *c)
{
	struct hp_txn_l2 *l2 = &c->t->l2;
	uint64_t now = hp_loop_now_ms(c->w->loop);
	if (l2->phase != HP_L2_PHASE_POLL) {
		l2->phase = HP_L2_PHASE_POLL;
		l2->poll_deadline_ms = now + hp_client_cfg(c)->l2.lock_ms + 100;
	}
	if (now >= l2->poll_deadline_ms)
		return HP_STEP_body;
	l2->ask = HP_L2_ASK_WAITING;
	hp_timer_start(c->w->loop, &l2->poll_timer, POLL_MS, on_poll_timer);
	return HP_STEP_WAIT;
}

/*
 * The answers, by phase:
 *   GET   found: the object (another variant: ask VARIANT); not found: try
 *         the lock; error: fetch
 *   VARIANT  as GET
 *   LOCK  found (ours): fetch for everyone; not found (theirs): poll; error: fetch
 *   POLL  found: the object; locked: poll again; not found (no lock, no
 *         object: its holder stored nothing, or died): fetch; error: fetch
 */
static enum hp_step use_l2_answer(struct hp_client *c)
{
	struct hp_txn_l2 *l2 = &c->t->l2;
	if (l2->hit || l2->result == HP_L2_ERROR)
		return HP_STEP_body;
	switch (l2->phase) {
	case HP_L2_PHASE_GET:
	case HP_L2_PHASE_VARIANT:
		return l2->result == HP_L2_FOUND ? take_l2_object(c) : try_lock(c);
	case HP_L2_PHASE_LOCK:
		if (l2->result != HP_L2_FOUND)
			return poll_later(c);
		l2->lock_held = true;
		return HP_STEP_body;
	case HP_L2_PHASE_POLL:
		if (l2->result == HP_L2_FOUND)
			return take_l2_object(c);
		return l2->result == HP_L2_LOCKED ? poll_later(c) : HP_STEP_body;
	}
	return HP_STEP_body;
}

enum hp_step hp_step_l2(struct hp_client *c)
{
	switch (c->t->l2.ask) {
	case HP_L2_ASK_NONE:
		return ask_l2(c);
	case HP_L2_ASK_WAITING:
		return HP_STEP_WAIT;
	case HP_L2_ASK_ANSWERED:
		break;
	}
	return use_l2_answer(c);
}

/* ==== Step wait ==== */

enum hp_step hp_step_wait(struct hp_client *c)
{
	if (c->t->cache.wait == HP_WAIT_FILL)
		return HP_STEP_WAIT;
	HP_ASSERT(c->t->cache.wait == HP_WAIT_WOKEN);
	/* Run the same request again (its head is still in the input buffer);
	 * this time it will not wait. */
	c->t->cache.wait = HP_WAIT_NONE;
	c->waited_limit = c->t->limit;
	hp_txn_release(c);
	c->after_wait = true;
	return HP_STEP_recv;
}

/* ==== The upstream's answer ==== */

/* The origin failed (5xx, refused, timed out): answer with the stale
 * object if its stale-if-error window (or the route's grace) allows. */
static bool serve_stale_on_error(struct hp_client *c, time_t now)
{
	struct hp_txn_cache *tc = &c->t->cache;
	struct hp_http_header *req = NULL;
	size_t nreq = saved_request_fields(c, &req);
	struct hp_http_cache_control cc = {0};
	hp_http_parse_cache_control(req, nreq, &cc);
	if (!hp_cache_obj_stale_if_error_ok(tc->obj, &cc, now, &tc->rc->policy))
		return false;
	if (tc->fill != NULL)
		hp_cache_fill_abort(tc->fill, false);
	tc->fill = NULL;
	tc->fwd = "stale";
	hp_hit_serve(c, tc->obj, "STALE", req, nreq);
	return true;
}

/* A 304 to our validators: the stored object, freshened, is the answer. */
static void serve_revalidated(struct hp_client *c, const struct hp_http_response *r, time_t now)
{
	struct hp_txn_cache *tc = &c->t->cache;
	size_t n;
	struct hp_http_header *f = end_to_end_fields(c, r, &n);
	struct hp_cache_obj *fresh = hp_cache_fill_freshen(tc->fill, tc->obj, f, n,
							   tc->request_time, now, &tc->rc->policy);
	hp_cache_obj_release(tc->obj);
	tc->obj = NULL;
	hp_cache_fill_abort(tc->fill, false);
	tc->fill = NULL;
	if (tc->fwd == NULL)
		tc->fwd = "stale";
	struct hp_http_header *req = NULL;
	size_t nreq = saved_request_fields(c, &req);
	hp_hit_serve(c, fresh, "REVALIDATED", c->internal ? NULL : req, nreq);
}

/* Offer the response head to the fill; false if it will not be stored. */
static void offer_head(struct hp_client *c, const struct hp_http_response *r, time_t now)
{
	struct hp_txn_cache *tc = &c->t->cache;
	uint64_t max_size = hp_client_cfg(c)->cache.max_object_size;
	if (r->body == HP_BODY_LENGTH && r->content_length > max_size) {
		/* Known too large before a byte of it: pass it through, and let the
		 * next requests skip the queue. */
		hp_cache_fill_abort(tc->fill, true);
		tc->fill = NULL;
		return;
	}
	size_t n;
	struct hp_http_header *f = end_to_end_fields(c, r, &n);
	struct hp_http_header *req = NULL;
	size_t nreq = saved_request_fields(c, &req);
	if (hp_cache_fill_head(tc->fill, r->status, f, n, req, nreq, tc->request_time, now,
			       &tc->rc->policy)) {
		tc->storing = true;
	} else {
		hp_cache_fill_abort(tc->fill, true);
		tc->fill = NULL;
	}
}

bool hp_lookup_on_response(struct hp_client *c, const struct hp_http_response *r)
{
	struct hp_txn_cache *tc = &c->t->cache;
	if (tc->rc == NULL)
		return false;
	time_t now = hp_clock_wall_s();
	tc->fwd_status = r->status;
	if (tc->role == HP_ROLE_INVALIDATOR) {
		hp_invalidate_unsafe(c, r);
		return false;
	}
	if (tc->revalidating && r->status == 304) {
		serve_revalidated(c, r, now);
		return true;
	}
	if (tc->obj != NULL && r->status >= 500 && serve_stale_on_error(c, now))
		return true;
	if (tc->obj != NULL) {
		hp_cache_obj_release(tc->obj);
		tc->obj = NULL;
	}
	if (tc->fill != NULL && !c->t->compress.storable) {
		/* Coded otherwise than its variant says (filter_compress.c). */
		hp_cache_fill_abort(tc->fill, false);
		tc->fill = NULL;
	}
	if (tc->fill != NULL)
		offer_head(c, r, now);
	return false;
}

bool hp_lookup_on_error(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	if (t->cache.rc == NULL || t->cache.obj == NULL || t->resp.started)
		return false;
	return serve_stale_on_error(c, hp_clock_wall_s());
}
