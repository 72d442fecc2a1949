/* SPDX-License-Identifier: MIT */
/*
 * cached.c - the cache in the request path: lookup, coalescing, filling,
 * revalidation, stale serving, invalidation and background refresh.
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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/cidr.h"
#include "core/log.h"
#include "proxy/proxy_priv.h"

/* Bytes of a still-filling object copied out per step while streaming. */
#define STREAM_CHUNK (64 * 1024)

/* ==== Set-up ==== */

void hp_cached_init_routes(struct hp_proxy *px)
{
	const struct hp_config *cfg = px->cfg;
	px->route_cache = hp_xcalloc(cfg->nroutes, sizeof(*px->route_cache));
	for (size_t i = 0; i < cfg->nroutes; i++) {
		const struct hp_config_cache_policy *p = &cfg->routes[i].cache;
		struct hp_route_cache *rc = &px->route_cache[i];
		rc->enabled = px->cache != NULL && p->enabled;
		rc->policy.default_ttl_s = (int64_t)(p->default_ttl_ms / 1000);
		rc->policy.grace_s = (int64_t)(p->grace_ms / 1000);
		rc->policy.allow_set_cookie = p->allow_set_cookie;
		rc->policy.strip_tag_header = cfg->cache.strip_tag_header;
		rc->key.namespace = cfg->cache.namespace;
		rc->key.query_ignore = p->key_query_ignore;
		rc->key.query_include = (const char *const *)p->key_query_include;
		rc->key.nquery_include = p->nkey_query_include;
		rc->key.query_exclude = (const char *const *)p->key_query_exclude;
		rc->key.nquery_exclude = p->nkey_query_exclude;
		rc->key.headers = (const char *const *)p->key_headers;
		rc->key.nheaders = p->nkey_headers;
	}
}

/* ==== Helpers ==== */

static struct hp_cache *cache_of(const struct hp_client *c)
{
	return c->w->px->cache;
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
static bool saved_request(struct hp_client *c, struct hp_http_request *req)
{
	struct hp_txn *t = &c->t;
	if (t->req_head == NULL)
		return false;
	const struct hp_config *cfg = c->w->px->cfg;
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
	if (!saved_request(c, &req)) {
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
static void on_cache_event(struct hp_cache_waiter *w)
{
	struct hp_client *c = w->data;
	c->post_pending = true;
	hp_loop_post(c->w->loop, on_wake, c);
}

/* ==== Serving a stored object ==== */

static const char *const not_modified_fields[] = {
	"cache-control", "content-location", "etag", "expires", "last-modified", "vary",
};

static void put_304_fields(struct hp_buf *b, const struct hp_cache_obj *obj)
{
	size_t n;
	const struct hp_http_header *f = hp_cache_obj_fields(obj, &n);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < HP_ARRAY_SIZE(not_modified_fields); k++) {
			if (!hp_str_ieq(f[i].name, not_modified_fields[k]))
				continue;
			hp_buf_append(b, f[i].name.ptr, f[i].name.len);
			hp_buf_append(b, ": ", 2);
			hp_buf_append(b, f[i].value.ptr, f[i].value.len);
			hp_buf_append(b, "\r\n", 2);
		}
	}
}

static bool has_content_length(const struct hp_cache_obj *obj)
{
	size_t n;
	const struct hp_http_header *f = hp_cache_obj_fields(obj, &n);
	return hp_http_find_header(f, n, "content-length") != NULL;
}

/* Date stays the origin's, when it generated the response (RFC 9110
 * §6.6.1), or when we received it if it sent none; Age says how long ago. */
static void put_date_and_age(struct hp_buf *b, const struct hp_cache_obj *obj)
{
	time_t now = hp_clock_wall_s();
	uint64_t age = hp_cache_obj_age(obj, now);
	size_t n;
	const struct hp_http_header *f = hp_cache_obj_fields(obj, &n);
	const struct hp_http_header *date = hp_http_find_header(f, n, "date");
	hp_buf_append_str(b, "Date: ");
	if (date != NULL) {
		hp_buf_append(b, date->value.ptr, date->value.len);
	} else {
		char received[HP_HTTP_DATE_LEN + 1];
		hp_http_date_format(now - (time_t)age, received);
		hp_buf_append_str(b, received);
	}
	char line[48];
	int k = snprintf(line, sizeof(line), "\r\nAge: %llu\r\n", (unsigned long long)age);
	hp_buf_append(b, line, (size_t)k);
}

/* What a stored object is sent as. */
enum form {
	FORM_WHOLE,          /* 200 (or whatever status it was stored with) */
	FORM_NOT_MODIFIED,   /* 304: the client's validators match */
	FORM_PARTIAL,        /* 206: one byte range of it */
	FORM_UNSATISFIABLE,  /* 416: a range outside it */
};

/* If-Range (RFC 9110 §13.1.5): the range applies only if the client's
 * validator is still the stored one; strong comparison only. */
static bool if_range_holds(const struct hp_cache_obj *obj, const struct hp_http_header *req,
			   size_t nreq)
{
	const struct hp_http_header *h = hp_http_find_header(req, nreq, "if-range");
	if (h == NULL)
		return true;
	struct hp_str v = hp_str_trim(h->value);
	if (v.len > 0 && v.ptr[0] == '"') {
		struct hp_str etag = hp_cache_obj_etag(obj);
		return etag.len == v.len && memcmp(etag.ptr, v.ptr, v.len) == 0;
	}
	struct hp_str lm = hp_cache_obj_last_modified(obj);
	return lm.len > 0 && lm.len == v.len && memcmp(lm.ptr, v.ptr, v.len) == 0;
}

static enum form choose_form(const struct hp_client *c, const struct hp_cache_obj *obj,
			     const struct hp_http_header *req, size_t nreq, bool streaming,
			     uint64_t body_len, uint64_t *first, uint64_t *last)
{
	if (req == NULL)
		return FORM_WHOLE;
	if (hp_cache_not_modified(obj, req, nreq))
		return FORM_NOT_MODIFIED;
	/* Ranges are cut from complete 200 responses to GET only (§14.2). */
	const struct hp_http_header *range = hp_http_find_header(req, nreq, "range");
	if (range == NULL || streaming || c->t.method != HP_METHOD_GET ||
	    hp_cache_obj_status(obj) != 200 || !if_range_holds(obj, req, nreq))
		return FORM_WHOLE;
	switch (hp_http_parse_range(range->value, body_len, first, last)) {
	case HP_RANGE_OK:
		return FORM_PARTIAL;
	case HP_RANGE_UNSATISFIABLE:
		return FORM_UNSATISFIABLE;
	case HP_RANGE_IGNORE:
		break;
	}
	return FORM_WHOLE;
}

/* The stored fields for a 206, less those the range replaces. */
static void put_partial_fields(struct hp_client *c, struct hp_buf *b,
			       const struct hp_cache_obj *obj)
{
	size_t n;
	const struct hp_http_header *f = hp_cache_obj_fields(obj, &n);
	for (size_t i = 0; i < n; i++) {
		if (hp_str_ieq(f[i].name, "date") || hp_str_ieq(f[i].name, "content-length") ||
		    hp_cached_hides_field(c, f[i].name))
			continue;
		hp_buf_append(b, f[i].name.ptr, f[i].name.len);
		hp_buf_append(b, ": ", 2);
		hp_buf_append(b, f[i].value.ptr, f[i].value.len);
		hp_buf_append(b, "\r\n", 2);
	}
}

/* The status line and stored fields of <form>; Date, Age, lengths and the
 * cache's own fields follow. */
static void put_head(struct hp_client *c, struct hp_buf *b, const struct hp_cache_obj *obj,
		     enum form form)
{
	struct hp_txn *t = &c->t;
	switch (form) {
	case FORM_WHOLE: {
		struct hp_str head = hp_cache_obj_head(obj);
		hp_buf_append(b, head.ptr, head.len);
		t->status = hp_cache_obj_status(obj);
		break;
	}
	case FORM_NOT_MODIFIED:
		hp_buf_append_str(b, "HTTP/1.1 304 Not Modified\r\n");
		put_304_fields(b, obj);
		t->status = 304;
		break;
	case FORM_PARTIAL:
		hp_buf_append_str(b, "HTTP/1.1 206 Partial Content\r\n");
		put_partial_fields(c, b, obj);
		t->status = 206;
		break;
	case FORM_UNSATISFIABLE:
		hp_buf_append_str(b, "HTTP/1.1 416 Range Not Satisfiable\r\n");
		t->status = 416;
		break;
	}
}

/* Queue <obj> (a reference the transaction now owns) as the response. */
static void serve_obj(struct hp_client *c, struct hp_cache_obj *obj, const char *label,
		      const struct hp_http_header *req, size_t nreq)
{
	struct hp_txn *t = &c->t;
	struct hp_buf *b = &c->out;
	size_t before = b->len;
	if (t->obj != NULL && t->obj != obj)
		hp_cache_obj_release(t->obj);
	t->obj = obj;
	t->x_cache = label;
	/* Still filling: its length is in its Content-Length field, and its
	 * body must not be read before it is complete. */
	bool streaming = !hp_cache_obj_complete(obj);
	uint64_t body_len = streaming ? 0 : hp_cache_obj_body_len(obj);
	uint64_t first = 0, last = 0;
	enum form form = choose_form(c, obj, req, nreq, streaming, body_len, &first, &last);
	put_head(c, b, obj, form);
	put_date_and_age(b, obj);
	char line[128];
	int k = 0;
	if (form == FORM_PARTIAL)
		k = snprintf(line, sizeof(line), "Content-Range: bytes %llu-%llu/%llu\r\n"
			     "Content-Length: %llu\r\n", (unsigned long long)first,
			     (unsigned long long)last, (unsigned long long)body_len,
			     (unsigned long long)(last - first + 1));
	else if (form == FORM_UNSATISFIABLE)
		k = snprintf(line, sizeof(line), "Content-Range: bytes */%llu\r\n"
			     "Content-Length: 0\r\n", (unsigned long long)body_len);
	else if (form == FORM_WHOLE && !streaming && !has_content_length(obj))
		k = snprintf(line, sizeof(line), "Content-Length: %llu\r\n",
			     (unsigned long long)body_len);
	hp_buf_append(b, line, (size_t)k);
	hp_cached_put_fields(c, b);
	hp_buf_append_str(b, "Via: 1.1 hotpath\r\n");
	if (!t->client_keep_alive || c->w->draining)
		c->close_after = true;
	if (c->close_after)
		hp_buf_append_str(b, "Connection: close\r\n");
	else if (t->minor_version == 0)
		hp_buf_append_str(b, "Connection: keep-alive\r\n");
	hp_buf_append(b, "\r\n", 2);
	t->bytes_out += b->len - before;
	bool has_body = form == FORM_PARTIAL || (form == FORM_WHOLE && (streaming || body_len > 0));
	t->serving_obj = has_body && t->method != HP_METHOD_HEAD;
	t->streaming = t->serving_obj && streaming;
	t->obj_off = form == FORM_PARTIAL ? first : 0;
	t->obj_end = form == FORM_PARTIAL ? last + 1 : UINT64_MAX;
	t->state = TXN_LOCAL;
	t->resp_started = true;
	t->resp_done = true;
}

/* After a failed write: true to try again (EINTR); false to stop, either
 * because the socket is full or because the connection failed and is now
 * closed. */
static bool retry_write(struct hp_client *c)
{
	if (errno == EINTR)
		return true;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		c->writable = false;
	else
		hp_client_close(c);
	return false;
}

/* A body in a memfd: the head with MSG_MORE (so it leaves in the same
 * segment as the first body bytes), then sendfile, with no copy of the
 * body through user space. Returns false if the connection was closed. */
static bool flush_body_file(struct hp_client *c, int fd, uint64_t len)
{
	struct hp_txn *t = &c->t;
	while (c->writable && c->out.len > 0) {
		ssize_t n = send(c->io.fd, hp_buf_data(&c->out), c->out.len, MSG_MORE | MSG_NOSIGNAL);
		if (n < 0 && !retry_write(c))
			break;
		if (n > 0)
			hp_buf_consume(&c->out, (size_t)n);
	}
	while (!c->closed && c->writable && c->out.len == 0 && t->obj_off < len) {
		off_t off = (off_t)t->obj_off;
		ssize_t n = sendfile(c->io.fd, fd, &off, (size_t)(len - t->obj_off));
		if (n < 0 && !retry_write(c))
			break;
		if (n == 0) {
			/* The file is shorter than the object says: never send less
			 * than Content-Length promised and keep the connection. */
			hp_client_close(c);
			break;
		}
		if (n > 0) {
			t->obj_off += (uint64_t)n;
			t->bytes_out += (uint64_t)n;
		}
	}
	if (c->closed)
		return false;
	if (t->obj_off >= len)
		t->serving_obj = false;
	return true;
}

/* The object is still filling (a coalesced request): copy what has come
 * into c->out and write it, until the socket is full, the fill has nothing
 * more yet (we are called again when it has), or the body is complete.
 * Returns false if the connection was closed. */
static bool flush_body_stream(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	while (c->writable && !t->stream_wait && t->streaming) {
		if (c->out.len == 0) {
			t->waiter.cb = on_cache_event;
			t->waiter.data = c;
			switch (hp_cache_obj_stream(t->obj, t->obj_off, &c->out, STREAM_CHUNK,
						    &t->waiter)) {
			case HP_CACHE_STREAM_DATA:
				t->obj_off += c->out.len;
				t->bytes_out += c->out.len;
				break;
			case HP_CACHE_STREAM_WAIT:
				t->stream_wait = true;
				return true;
			case HP_CACHE_STREAM_DONE:
				t->streaming = false;
				return true;
			case HP_CACHE_STREAM_FAILED:
				/* Part of the response is out and the rest never will be. */
				hp_client_close(c);
				return false;
			}
		}
		ssize_t n = write(c->io.fd, hp_buf_data(&c->out), c->out.len);
		if (n < 0 && !retry_write(c))
			return !c->closed;
		if (n > 0)
			hp_buf_consume(&c->out, (size_t)n);
	}
	return true;
}

/* Cut iov[from..n) to <max> bytes (the end of a range); returns the new n. */
static int clip_iov(struct iovec *iov, int from, int n, uint64_t max)
{
	for (int i = from; i < n; i++) {
		if (iov[i].iov_len >= max) {
			iov[i].iov_len = (size_t)max;
			return max > 0 ? i + 1 : i;
		}
		max -= iov[i].iov_len;
	}
	return n;
}

bool hp_cached_flush_body(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	if (c->internal) {
		hp_buf_reset(&c->out);
		t->serving_obj = false;
		t->streaming = false;
		return true;
	}
	if (t->streaming && !flush_body_stream(c))
		return false;
	if (t->streaming)
		return true;
	uint64_t len = HP_MIN(t->obj_end, hp_cache_obj_body_len(t->obj));
	if (t->obj_off >= len && c->out.len == 0) {
		t->serving_obj = false;
		return true;
	}
	int fd = hp_cache_obj_body_fd(t->obj);
	if (fd >= 0)
		return flush_body_file(c, fd, len);
	while (c->writable && t->serving_obj) {
		struct iovec iov[17];
		int n = 0;
		if (c->out.len > 0)
			iov[n++] = (struct iovec){hp_buf_data(&c->out), c->out.len};
		int first = n;
		n += hp_cache_obj_body_iov(t->obj, t->obj_off, iov + n, 16);
		n = clip_iov(iov, first, n, len - t->obj_off);
		ssize_t w = writev(c->io.fd, iov, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->writable = false;
				break;
			}
			if (errno == EINTR)
				continue;
			hp_client_close(c);
			return false;
		}
		size_t from_out = HP_MIN((size_t)w, c->out.len);
		hp_buf_consume(&c->out, from_out);
		t->obj_off += (size_t)w - from_out;
		t->bytes_out += (size_t)w - from_out;
		if (t->obj_off >= len)
			t->serving_obj = false;
	}
	return true;
}

bool hp_cached_hides_field(const struct hp_client *c, struct hp_str name)
{
	const struct hp_config_cache *cc = &c->w->px->cfg->cache;
	if (c->t.rc == NULL || !cc->strip_tag_header)
		return false;
	return hp_str_ieq(name, cc->tag_header) || hp_str_ieq(name, "surrogate-key");
}

/* The key as an RFC 8941 string: printable ASCII, separators shown as '|'. */
static void put_key_param(struct hp_buf *b, const struct hp_txn *t)
{
	hp_buf_append(b, "; key=\"", 7);
	for (size_t i = 0; i < t->keylen; i++) {
		unsigned char ch = (unsigned char)t->key[i];
		if (ch == '"' || ch == '\\')
			hp_buf_append(b, "\\", 1);
		char out = ch < 0x20 || ch >= 0x7f ? '|' : (char)ch;
		hp_buf_append(b, &out, 1);
	}
	hp_buf_append(b, "\"", 1);
}

static void put_server_timing(struct hp_client *c, struct hp_buf *b)
{
	const struct hp_txn *t = &c->t;
	char line[160];
	int k;
	if (t->upstream_ns != 0 && t->upstream_done_ns > t->upstream_ns)
		k = snprintf(line, sizeof(line), "Server-Timing: cache;desc=%s, upstream;dur=%.3f\r\n",
			     t->x_cache, (double)(t->upstream_done_ns - t->upstream_ns) / 1e6);
	else
		k = snprintf(line, sizeof(line), "Server-Timing: cache;desc=%s;dur=%.3f\r\n",
			     t->x_cache, (double)(hp_clock_mono_ns() - t->start_ns) / 1e6);
	hp_buf_append(b, line, (size_t)k);
}

void hp_cached_put_fields(struct hp_client *c, struct hp_buf *b)
{
	struct hp_txn *t = &c->t;
	const struct hp_config_cache *cc = &c->w->px->cfg->cache;
	if (t->x_cache == NULL)
		return;
	char line[192];
	int k;
	if (cc->x_cache) {
		k = snprintf(line, sizeof(line), "X-Cache: %s\r\n", t->x_cache);
		hp_buf_append(b, line, (size_t)k);
	}
	if (t->fwd == NULL && t->obj != NULL) {
		k = snprintf(line, sizeof(line), "Cache-Status: hotpath; hit; ttl=%lld",
			     (long long)hp_cache_obj_ttl(t->obj, hp_clock_wall_s()));
	} else {
		k = snprintf(line, sizeof(line), "Cache-Status: hotpath; fwd=%s; fwd-status=%d%s%s",
			     t->fwd ? t->fwd : "uri-miss",
			     t->fwd_status ? t->fwd_status : t->status, t->storing ? "; stored" : "",
			     t->waited ? "; collapsed" : "");
	}
	hp_buf_append(b, line, (size_t)k);
	if (cc->status_key && t->key != NULL)
		put_key_param(b, t);
	hp_buf_append(b, "\r\n", 2);
	if (cc->server_timing)
		put_server_timing(c, b);
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
		serve_obj(c, obj, "COALESCED", req->headers, req->num_headers);
		return HP_CV_DONE;
	}
	if (t->refresh) {
		t->obj = obj;
		return HP_CV_FETCH;
	}
	switch (hp_cache_obj_evaluate(obj, cc, now, &t->rc->policy)) {
	case HP_CACHE_FRESH:
		serve_obj(c, obj, "HIT", req->headers, req->num_headers);
		return HP_CV_DONE;
	case HP_CACHE_STALE_SERVE_REVALIDATE:
		spawn_refresh(c, req, head_len);
		serve_obj(c, obj, "STALE", req->headers, req->num_headers);
		return HP_CV_DONE;
	case HP_CACHE_STALE:
		if (cc->only_if_cached) {
			serve_obj(c, obj, "STALE", req->headers, req->num_headers);
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
	t->waiter.cb = on_cache_event;
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

static bool purge_allowed(const struct hp_client *c)
{
	const struct hp_config_cache *cc = &c->w->px->cfg->cache;
	return hp_cidr_match(cc->purge_allow, cc->npurge_allow, (const struct sockaddr *)&c->peer);
}

static bool header_set(const struct hp_http_request *req, const char *name)
{
	const struct hp_http_header *h = hp_http_find_header(req->headers, req->num_headers, name);
	return h != NULL && !hp_str_eq(hp_str_trim(h->value), "0") &&
	       !hp_str_ieq(hp_str_trim(h->value), "false");
}

/* PURGE <url>: the URL (every variant); with X-Purge-Prefix: 1 every URL
 * under it, with X-Purge-Tag: a, b every object tagged so, with
 * X-Purge-All: 1 everything; X-Purge-Soft: 1 marks stale instead. */
static enum hp_cache_verdict purge(struct hp_client *c, const struct hp_http_request *req)
{
	if (!purge_allowed(c)) {
		hp_client_send_error(c, 403, "purge not allowed from this address");
		return HP_CV_DONE;
	}
	struct hp_cache *cache = cache_of(c);
	bool soft = header_set(req, "x-purge-soft");
	size_t n = 0;
	const struct hp_http_header *tag = hp_http_find_header(req->headers, req->num_headers,
							       "x-purge-tag");
	if (header_set(req, "x-purge-all")) {
		n = hp_cache_purge_all(cache);
	} else if (tag != NULL) {
		size_t pos = 0;
		struct hp_str one;
		while (hp_str_next_token(tag->value, &pos, &one))
			n += hp_cache_purge_tag(cache, one, soft);
	} else if (header_set(req, "x-purge-prefix")) {
		n = hp_cache_purge_prefix(cache, req->host, req->path, soft);
	} else {
		n = hp_cache_purge_key(cache, c->t.key, c->t.keylen, c->t.hash, soft);
	}
	char msg[64];
	snprintf(msg, sizeof(msg), "%s %zu", soft ? "soft-purged" : "purged", n);
	hp_client_send_error(c, 200, msg);
	return HP_CV_DONE;
}

enum hp_cache_verdict hp_cached_begin(struct hp_client *c, const struct hp_http_request *req,
				      size_t head_len)
{
	struct hp_txn *t = &c->t;
	struct hp_proxy *px = c->w->px;
	t->waited = c->after_wait;
	c->after_wait = false;
	t->refresh = c->internal && c->refresh;
	if (px->cache == NULL)
		return HP_CV_FETCH;
	t->rc = &px->route_cache[t->route - px->cfg->routes];
	bool safe = t->method == HP_METHOD_GET || t->method == HP_METHOD_HEAD;
	if (!t->rc->enabled || (!safe && t->method != HP_METHOD_PURGE &&
				hp_http_method_is_safe(t->method))) {
		t->rc = NULL;
		return HP_CV_FETCH;
	}
	build_key(c, req->host, req->path, req->query, req->headers, req->num_headers);
	if (t->method == HP_METHOD_PURGE)
		return purge(c, req);
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

/* ==== Invalidation by unsafe methods (RFC 9111 §4.4) ==== */

/* Hosts compare without case and without the default port. */
static struct hp_str host_without_port80(struct hp_str h)
{
	if (h.len > 3 && memcmp(h.ptr + h.len - 3, ":80", 3) == 0)
		h.len -= 3;
	return h;
}

static bool same_host(struct hp_str a, struct hp_str b)
{
	return hp_str_ieq_str(host_without_port80(a), host_without_port80(b));
}

/*
 * Resolve a Location / Content-Location reference against the request
 * target into its host, path and query. An absolute "/path", an absolute
 * URI ("http://host/path", "//host/path") or a relative "name" (merged with
 * the target's directory). False for anything else, or a host other than
 * the target's: those are never invalidated, so that an origin cannot
 * purge another site's objects.
 */
static bool resolve_reference(struct hp_client *c, struct hp_str ref,
			      const struct hp_http_request *req, struct hp_str *path,
			      struct hp_str *query)
{
	ref = hp_str_trim(ref);
	const char *hash = memchr(ref.ptr, '#', ref.len);
	if (hash != NULL)
		ref.len = (size_t)(hash - ref.ptr);
	size_t skip = hp_str_istarts_with(ref, "http://") ? 7
		      : hp_str_istarts_with(ref, "https://") ? 8
		      : hp_str_istarts_with(ref, "//") ? 2 : 0;
	if (skip > 0) {
		struct hp_str rest = {ref.ptr + skip, ref.len - skip};
		size_t alen = hp_str_span_until(rest, "/?");
		if (!same_host((struct hp_str){rest.ptr, alen}, req->host))
			return false;
		ref = (struct hp_str){rest.ptr + alen, rest.len - alen};
		if (ref.len == 0)
			ref = (struct hp_str){"/", 1};
	}
	if (ref.len == 0 || memchr(ref.ptr, ':', hp_str_span_until(ref, "/?")) != NULL)
		return false; /* empty, or another scheme */
	if (ref.ptr[0] != '/') {
		const char *slash = req->path.ptr + req->path.len;
		while (slash > req->path.ptr && slash[-1] != '/')
			slash--;
		size_t dir = (size_t)(slash - req->path.ptr);
		char *merged = hp_arena_alloc(&c->arena, dir + ref.len);
		memcpy(merged, req->path.ptr, dir);
		memcpy(merged + dir, ref.ptr, ref.len);
		ref = (struct hp_str){merged, dir + ref.len};
	}
	const char *q = memchr(ref.ptr, '?', ref.len);
	*path = (struct hp_str){ref.ptr, q ? (size_t)(q - ref.ptr) : ref.len};
	*query = q ? (struct hp_str){q + 1, ref.len - path->len - 1} : (struct hp_str){"", 0};
	return true;
}

static void purge_reference(struct hp_client *c, const struct hp_http_request *req,
			    const char *field, const struct hp_http_response *r)
{
	const struct hp_http_header *h = hp_http_find_header(r->headers, r->num_headers, field);
	struct hp_str path, query;
	if (h == NULL || !resolve_reference(c, h->value, req, &path, &query))
		return;
	struct hp_buf kb = {0};
	uint64_t hash = hp_cache_key_build(&kb, &c->t.rc->key, req->host, path, query,
					   req->headers, req->num_headers);
	hp_cache_purge_key(cache_of(c), hp_buf_data(&kb), kb.len, hash, false);
	hp_buf_fini(&kb);
}

/* A non-error response to an unsafe method: the target and the same-host
 * URIs in Location and Content-Location are no longer valid. */
static void invalidate_after_unsafe(struct hp_client *c, const struct hp_http_response *r)
{
	struct hp_txn *t = &c->t;
	if (r->status < 200 || r->status >= 400)
		return;
	hp_cache_purge_key(cache_of(c), t->key, t->keylen, t->hash, false);
	struct hp_http_request req;
	if (!saved_request(c, &req))
		return;
	purge_reference(c, &req, "location", r);
	purge_reference(c, &req, "content-location", r);
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
	serve_obj(c, t->obj, "STALE", req, nreq);
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
		invalidate_after_unsafe(c, r);
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
		serve_obj(c, fresh, "REVALIDATED", c->internal ? NULL : req, nreq);
		return true;
	}
	if (t->obj != NULL && r->status >= 500 && serve_stale_on_error(c, now))
		return true;
	if (t->obj != NULL) {
		hp_cache_obj_release(t->obj);
		t->obj = NULL;
	}
	uint64_t max_size = c->w->px->cfg->cache.max_object_size;
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
