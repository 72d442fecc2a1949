/* SPDX-License-Identifier: MIT */
/*
 * cached.c - the cache in the request path: lookup, coalescing, filling,
 * revalidation, stale serving and background refresh. Sending a stored
 * object is stored.c's; purges and invalidation are invalidate.c's.
 *
 * For a GET or HEAD on a caching route, hp_cached_begin() looks the key up
 * and decides:
 *   fresh object                -> serve it (HIT)
 *   stale, within SWR or grace  -> serve it (STALE) and refresh it once in
 *                                  the background, by an internal client
 *   stale otherwise             -> fetch as the filler, with its validators
 *                                  (a 304 freshens it: REVALIDATED; a 5xx or
 *                                  a failure within stale-if-error serves it)
 *   being fetched, head known   -> stream it as it arrives (COALESCED)
 *   nothing                     -> become the filler (MISS), or wait for the
 *                                  request already fetching it (COALESCED)
 * A waiter keeps its request head in the client's input buffer and re-runs
 * the lookup when the fill's head is accepted with a Content-Length (it
 * then streams the body as the filler appends it), or when the filler
 * commits or aborts; a woken waiter never waits twice, so a response that
 * turns out uncacheable releases everyone at once, and the key is then
 * hit-for-pass for a while (PASS). A fill cut short closes the connections
 * streaming it, as it does the filler's.
 *
 * The cache's callbacks come from whichever worker runs the fill, so a
 * waiter or a streaming reader is woken through hp_loop_post() onto its own
 * worker; a client that closes while such a wake-up is in flight is freed
 * by the wake-up.
 */
#include <string.h>

#include "proxy/proxy_priv.h"

/* ==== Helpers ==== */

static struct hp_cache *cache_of(const struct hp_client *c)
{
	return c->t.ws->snap->cache;
}

static void build_key(struct hp_client *c, struct hp_str host, struct hp_str path,
		      struct hp_str query, const struct hp_http_header *h, size_t n)
{
	struct hp_txn *t = &c->t;
	struct hp_buf kb = {0};
	t->hash = hp_cache_key_build(&kb, &t->rc->key, host, path, query, h, n);
	t->key = hp_arena_alloc(&c->arena, kb.len ? kb.len : 1);
	memcpy(t->key, hp_buf_data(&kb), kb.len);
	t->keylen = kb.len;
	hp_buf_fini(&kb);
}

/* Response fields minus hop-by-hop ones, as the cache stores them. */
static struct hp_http_header *end_to_end_fields(struct hp_client *c,
						const struct hp_http_response *r, size_t *n)
{
	struct hp_http_header *out = hp_arena_alloc(&c->arena, (r->num_headers + 1) * sizeof(*out));
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

/* Re-parse the request head kept while filling or invalidating (the
 * original views are gone by the time the response arrives). */
bool hp_cached_saved_request(struct hp_client *c, struct hp_http_request *req)
{
	struct hp_txn *t = &c->t;
	if (t->req_head == NULL)
		return false;
	const struct hp_config *cfg = hp_client_cfg(c);
	struct hp_http_limits lim = {
		.max_request_line = cfg->limits.max_request_line,
		.max_head_bytes = cfg->limits.max_header_size,
		.max_headers = cfg->limits.max_header_fields,
	};
	struct hp_http_header *h = hp_arena_alloc(&c->arena, lim.max_headers * sizeof(*h));
	return hp_http_parse_request(t->req_head, t->req_head_len, req, h, &lim) > 0;
}

static size_t saved_request_fields(struct hp_client *c, struct hp_http_header **out)
{
	struct hp_http_request req;
	if (!hp_cached_saved_request(c, &req)) {
		*out = NULL;
		return 0;
	}
	*out = req.headers;
	return req.num_headers;
}

/* ==== Wake-ups from the cache ==== */

/* On the client's own worker: a fill it waited on can be read (or ended),
 * or the object it streams has grown (or ended). */
static void on_wake(void *arg)
{
	struct hp_client *c = arg;
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	c->post_pending = false;
	if (c->closed) {
		hp_client_free_now(c);
		return;
	}
	if (c->t.state == TXN_WAITING) {
		/* Run the same request again; this time it will not wait. */
		c->after_wait = true;
		c->t.state = TXN_IDLE;
	} else if (c->t.stream_wait) {
		c->t.stream_wait = false;
	} else {
		return;
	}
	hp_client_drive(c);
}

/* The waiter callback, from whichever thread runs the fill. */
void hp_cached_on_event(struct hp_cache_waiter *w)
{
	struct hp_client *c = w->data;
	c->post_pending = true;
	hp_loop_post(c->w->loop, on_wake, c);
}

/* ==== The decision ==== */

static void spawn_refresh(struct hp_client *c, const struct hp_http_request *req,
			  size_t head_len)
{
	/* The same request, as a GET, from an internal client that fills the
	 * cache and discards the response. */
	const char *head = hp_buf_data(&c->in);
	size_t mlen = req->method.len;
	char *copy = hp_arena_alloc(&c->arena, head_len + 4);
	memcpy(copy, "GET", 3);
	memcpy(copy + 3, head + mlen, head_len - mlen);
	hp_client_spawn_internal(c->w, copy, head_len - mlen + 3, true);
}

static enum hp_cache_verdict only_if_cached_miss(struct hp_client *c)
{
	hp_client_send_error(c, 504, "not in cache (only-if-cached)");
	return HP_CV_DONE;
}

static enum hp_cache_verdict lookup_stored(struct hp_client *c, const struct hp_http_request *req,
					   size_t head_len,
					   const struct hp_http_cache_control *cc, time_t now)
{
	struct hp_txn *t = &c->t;
	struct hp_cache_obj *obj = hp_cache_lookup(cache_of(c), t->key, t->keylen, t->hash,
						   req->headers, req->num_headers, now);
	if (obj == NULL && !t->refresh) {
		/* Being fetched by another request: stream it as it arrives. */
		obj = hp_cache_lookup_filling(cache_of(c), t->key, t->keylen, t->hash,
					      req->headers, req->num_headers);
		if (obj != NULL)
			t->waited = true;
	}
	if (obj == NULL) {
		t->fwd = hp_cache_has_variants(cache_of(c), t->key, t->keylen, t->hash)
			 ? "vary-miss" : "uri-miss";
		return cc->only_if_cached ? only_if_cached_miss(c) : HP_CV_FETCH;
	}
	if (t->waited) {
		t->fwd = "uri-miss";
		hp_cached_serve(c, obj, "COALESCED", req->headers, req->num_headers);
		return HP_CV_DONE;
	}
	if (t->refresh) {
		t->obj = obj;
		return HP_CV_FETCH;
	}
	switch (hp_cache_obj_evaluate(obj, cc, now, &t->rc->policy)) {
	case HP_CACHE_FRESH:
		hp_cached_serve(c, obj, "HIT", req->headers, req->num_headers);
		return HP_CV_DONE;
	case HP_CACHE_STALE_SERVE_REVALIDATE:
		spawn_refresh(c, req, head_len);
		hp_cached_serve(c, obj, "STALE", req->headers, req->num_headers);
		return HP_CV_DONE;
	case HP_CACHE_STALE:
		if (cc->only_if_cached) {
			hp_cached_serve(c, obj, "STALE", req->headers, req->num_headers);
			return HP_CV_DONE;
		}
		/* Fresh, but the request's no-cache, max-age or min-fresh said no. */
		t->fwd = hp_cache_obj_evaluate(obj, NULL, now, &t->rc->policy) == HP_CACHE_FRESH
			 ? "request" : "stale";
		t->obj = obj;
		return HP_CV_FETCH;
	}
	return HP_CV_FETCH;
}

static void keep_request_head(struct hp_client *c, size_t head_len)
{
	struct hp_txn *t = &c->t;
	t->req_head = hp_arena_alloc(&c->arena, head_len);
	memcpy(t->req_head, hp_buf_data(&c->in), head_len);
	t->req_head_len = head_len;
}

static enum hp_cache_verdict begin_fill(struct hp_client *c, size_t head_len, time_t now)
{
	struct hp_txn *t = &c->t;
	struct hp_cache_fill *fill = NULL;
	t->waiter.cb = hp_cached_on_event;
	t->waiter.data = c;
	switch (hp_cache_begin_fill(cache_of(c), t->key, t->keylen, t->hash, &fill, &t->waiter,
				    now)) {
	case HP_CACHE_FILLER:
		t->fill = fill;
		keep_request_head(c, head_len);
		if (t->obj != NULL && (hp_cache_obj_etag(t->obj).len > 0 ||
				       hp_cache_obj_last_modified(t->obj).len > 0))
			t->revalidating = true;
		t->x_cache = "MISS";
		if (t->fwd == NULL)
			t->fwd = t->obj != NULL ? "stale" : "uri-miss";
		return HP_CV_FETCH;
	case HP_CACHE_WAITING:
		if (t->obj != NULL) {
			hp_cache_obj_release(t->obj);
			t->obj = NULL;
		}
		t->state = TXN_WAITING;
		return HP_CV_WAIT;
	case HP_CACHE_PASS:
		t->x_cache = "PASS";
		t->fwd = "bypass";
		return HP_CV_FETCH;
	}
	return HP_CV_FETCH;
}

enum hp_cache_verdict hp_cached_begin(struct hp_client *c, const struct hp_http_request *req,
				      size_t head_len)
{
	struct hp_txn *t = &c->t;
	t->waited = c->after_wait;
	c->after_wait = false;
	t->refresh = c->internal && c->refresh;
	if (cache_of(c) == NULL)
		return HP_CV_FETCH;
	t->rc = &t->route->cache;
	bool safe = t->method == HP_METHOD_GET || t->method == HP_METHOD_HEAD;
	if (!t->rc->enabled || (!safe && t->method != HP_METHOD_PURGE &&
				hp_http_method_is_safe(t->method))) {
		t->rc = NULL;
		return HP_CV_FETCH;
	}
	build_key(c, req->host, req->path, req->query, req->headers, req->num_headers);
	if (t->method == HP_METHOD_PURGE)
		return hp_cached_purge(c, req);
	if (!safe) {
		/* Invalidated when it succeeds, with the URIs its response names. */
		keep_request_head(c, head_len);
		return HP_CV_FETCH;
	}
	struct hp_http_cache_control cc;
	hp_http_parse_cache_control(req->headers, req->num_headers, &cc);
	time_t now = hp_clock_wall_s();
	enum hp_cache_verdict v = lookup_stored(c, req, head_len, &cc, now);
	if (v != HP_CV_FETCH)
		return v;
	if (t->waited) {
		/* A woken waiter fetches alone. */
		t->x_cache = "MISS";
		t->fwd = "uri-miss";
		return HP_CV_FETCH;
	}
	return begin_fill(c, head_len, now);
}

/* ==== The upstream's answer ==== */

/* The origin failed (5xx, refused, timed out): answer with the stale
 * object if its stale-if-error window (or the route's grace) allows. */
static bool serve_stale_on_error(struct hp_client *c, time_t now)
{
	struct hp_txn *t = &c->t;
	struct hp_http_header *req = NULL;
	size_t nreq = saved_request_fields(c, &req);
	struct hp_http_cache_control cc = {0};
	hp_http_parse_cache_control(req, nreq, &cc);
	if (!hp_cache_obj_stale_if_error_ok(t->obj, &cc, now, &t->rc->policy))
		return false;
	if (t->fill != NULL)
		hp_cache_fill_abort(t->fill, false);
	t->fill = NULL;
	t->fwd = "stale";
	hp_cached_serve(c, t->obj, "STALE", req, nreq);
	return true;
}

bool hp_cached_on_response(struct hp_client *c, const struct hp_http_response *r)
{
	struct hp_txn *t = &c->t;
	if (t->rc == NULL)
		return false;
	time_t now = hp_clock_wall_s();
	struct hp_http_header *req = NULL;
	size_t nreq = 0;
	t->fwd_status = r->status;
	if (!hp_http_method_is_safe(t->method)) {
		hp_cached_invalidate_unsafe(c, r);
		return false;
	}
	if (t->revalidating && r->status == 304) {
		size_t n;
		struct hp_http_header *f = end_to_end_fields(c, r, &n);
		struct hp_cache_obj *fresh = hp_cache_fill_freshen(t->fill, t->obj, f, n,
								   t->request_time, now,
								   &t->rc->policy);
		hp_cache_obj_release(t->obj);
		t->obj = NULL;
		hp_cache_fill_abort(t->fill, false);
		t->fill = NULL;
		if (t->fwd == NULL)
			t->fwd = "stale";
		nreq = saved_request_fields(c, &req);
		hp_cached_serve(c, fresh, "REVALIDATED", c->internal ? NULL : req, nreq);
		return true;
	}
	if (t->obj != NULL && r->status >= 500 && serve_stale_on_error(c, now))
		return true;
	if (t->obj != NULL) {
		hp_cache_obj_release(t->obj);
		t->obj = NULL;
	}
	uint64_t max_size = hp_client_cfg(c)->cache.max_object_size;
	if (t->fill != NULL && r->body == HP_BODY_LENGTH && r->content_length > max_size) {
		/* Known too large before a byte of it: pass it through, and let the
		 * next requests skip the queue. */
		hp_cache_fill_abort(t->fill, true);
		t->fill = NULL;
	}
	if (t->fill != NULL) {
		size_t n;
		struct hp_http_header *f = end_to_end_fields(c, r, &n);
		nreq = saved_request_fields(c, &req);
		if (hp_cache_fill_head(t->fill, r->status, f, n, req, nreq, t->request_time, now,
				       &t->rc->policy)) {
			t->storing = true;
		} else {
			hp_cache_fill_abort(t->fill, true);
			t->fill = NULL;
		}
	}
	return false;
}

void hp_cached_on_body(struct hp_client *c, const char *data, size_t len)
{
	struct hp_txn *t = &c->t;
	if (!t->storing || len == 0)
		return;
	if (!hp_cache_fill_append(t->fill, data, len)) {
		/* Larger than max_object_size: stream it, and do not try again soon. */
		hp_cache_fill_abort(t->fill, true);
		t->fill = NULL;
		t->storing = false;
	}
}

void hp_cached_on_complete(struct hp_client *c, bool whole)
{
	struct hp_txn *t = &c->t;
	if (t->fill == NULL)
		return;
	if (t->storing && whole)
		hp_cache_fill_commit(t->fill);
	else
		hp_cache_fill_abort(t->fill, false);
	t->fill = NULL;
}

bool hp_cached_on_error(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	if (t->rc == NULL || t->obj == NULL || t->resp_started)
		return false;
	return serve_stale_on_error(c, hp_clock_wall_s());
}

void hp_cached_release(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	if (t->state == TXN_WAITING && !hp_cache_cancel_wait(cache_of(c), &t->waiter))
		c->post_pending = true; /* the wake-up is on its way: it frees us */
	if (t->fill != NULL) {
		hp_cache_fill_abort(t->fill, false);
		t->fill = NULL;
	}
	if (t->stream_wait && !hp_cache_obj_cancel_stream(t->obj, &t->waiter))
		c->post_pending = true; /* the wake-up is on its way: it frees us */
	t->stream_wait = false;
	if (t->obj != NULL) {
		hp_cache_obj_release(t->obj);
		t->obj = NULL;
	}
	t->storing = false;
	t->serving_obj = false;
	t->streaming = false;
}
