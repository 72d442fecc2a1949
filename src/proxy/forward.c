/* SPDX-License-Identifier: MIT */
/*
 * forward.c - one request's trip to an upstream server and back.
 *
 * The request head is rewritten once into t->up_out (hop-by-hop fields
 * removed, Via and X-Forwarded-* set), the body streams from the client's
 * input buffer straight to the upstream socket, and the response streams
 * from the upstream connection's buffer into the client's output buffer,
 * re-framed when the client needs it: de-chunked for HTTP/1.0 clients,
 * chunked for HTTP/1.1 clients when the upstream delimits by closing (so
 * the client connection survives). Reading stops while the client's output
 * holds more than OUT_HIGH_WATER bytes, and reading the request body stops
 * while the upstream is not writable: memory per connection stays bounded
 * whatever the sizes.
 *
 * An upstream connection that fails before a single response byte, when
 * it came from the idle pool and the request is idempotent with no body,
 * is retried once on a new connection: the server may have closed it just
 * as we reused it, and nothing was done twice. Every other failure is a
 * 502 (broken or refused) or 504 (timed out) when nothing of the response
 * has reached the client yet, and an abrupt close of the client connection
 * otherwise, so a truncated response is never mistaken for a whole one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cidr.h"
#include "core/log.h"
#include "proxy/proxy_priv.h"

#define OUT_HIGH_WATER (256 * 1024)
#define BODY_READ_LIMIT (64 * 1024)
#define READ_CHUNK 16384
#define QUEUE_POLL_MS 5

static void on_upstream_event(struct hp_io *io, unsigned events);
static void on_upstream_timer(struct hp_timer *tm);
static void connect_upstream(struct hp_client *c);

void hp_put_status_line_start(struct hp_buf *b, int status)
{
	char line[16] = "HTTP/1.1 000 ";
	HP_ASSERT(status >= 100 && status <= 999);
	line[9] = (char)('0' + status / 100);
	line[10] = (char)('0' + status / 10 % 10);
	line[11] = (char)('0' + status % 10);
	hp_buf_append(b, line, 13);
}

/* ==== Building the upstream request ==== */

static void put(struct hp_buf *b, const char *s, size_t n)
{
	hp_buf_append(b, s, n);
}

static void put_str(struct hp_buf *b, struct hp_str s)
{
	hp_buf_append(b, s.ptr, s.len);
}

static void put_field(struct hp_buf *b, struct hp_str name, struct hp_str value)
{
	put_str(b, name);
	put(b, ": ", 2);
	put_str(b, value);
	put(b, "\r\n", 2);
}

static bool peer_trusted(const struct hp_client *c)
{
	const struct hp_config *cfg = hp_client_cfg(c);
	return cfg->ntrusted_proxies > 0 &&
	       hp_cidr_match(cfg->trusted_proxies, cfg->ntrusted_proxies,
			     (const struct sockaddr *)&c->peer);
}

/* While filling the cache we want the whole response, whatever the client
 * has: its own conditions are answered from the stored object after. */
static bool is_client_condition(struct hp_str name)
{
	return hp_str_ieq(name, "if-none-match") || hp_str_ieq(name, "if-modified-since") ||
	       hp_str_ieq(name, "if-match") || hp_str_ieq(name, "if-unmodified-since") ||
	       hp_str_ieq(name, "if-range") || hp_str_ieq(name, "range");
}

static bool skip_request_field(const struct hp_http_request *req, struct hp_str name,
			       bool trusted, bool absolute)
{
	if (hp_http_is_hop_by_hop(name) || hp_http_connection_lists(req->headers,
								      req->num_headers, name))
		return true;
	/* We answer 100-continue ourselves, so the upstream must not wait. */
	if (hp_str_ieq(name, "expect"))
		return true;
	if (absolute && hp_str_ieq(name, "host"))
		return true;
	if (!trusted && (hp_str_ieq(name, "x-forwarded-proto") ||
			 hp_str_ieq(name, "x-forwarded-host")))
		return true;
	return hp_str_ieq(name, "x-forwarded-for");
}

static void build_upstream_head(struct hp_client *c, const struct hp_http_request *req)
{
	struct hp_buf *b = &c->t.up_out;
	bool trusted = peer_trusted(c);
	bool absolute = req->target.len > 0 && req->target.ptr[0] != '/' &&
			!hp_str_eq(req->target, "*");
	/* A HEAD miss fills the cache like a GET would; the client gets the head. */
	c->t.head_as_get = c->t.fill != NULL && c->t.method == HP_METHOD_HEAD;
	put_str(b, c->t.head_as_get ? HP_STR("GET") : req->method);
	put(b, " ", 1);
	if (absolute) {
		put_str(b, req->path.len ? req->path : HP_STR("/"));
		if (req->query.len > 0) {
			put(b, "?", 1);
			put_str(b, req->query);
		}
	} else {
		put_str(b, req->target);
	}
	put(b, " HTTP/1.1\r\n", 11);
	if (absolute) {
		put_field(b, HP_STR("Host"), req->host);
	} else if (req->host.len == 0) {
		/* An HTTP/1.0 client may send no Host; HTTP/1.1 upstreams need one. */
		const struct hp_config *cfg = hp_client_cfg(c);
		const char *hp = cfg->upstreams[c->t.route->group].servers[0].hostport;
		put_field(b, HP_STR("Host"), (struct hp_str){hp, strlen(hp)});
	}
	struct hp_str xff_prev = {NULL, 0};
	bool have_proto = false, have_fhost = false;
	for (size_t i = 0; i < req->num_headers; i++) {
		const struct hp_http_header *h = &req->headers[i];
		if (trusted && hp_str_ieq(h->name, "x-forwarded-for") && xff_prev.len == 0)
			xff_prev = h->value;
		if (skip_request_field(req, h->name, trusted, absolute))
			continue;
		if ((c->t.fill != NULL || c->t.refresh) && is_client_condition(h->name))
			continue;
		have_proto |= hp_str_ieq(h->name, "x-forwarded-proto");
		have_fhost |= hp_str_ieq(h->name, "x-forwarded-host");
		put_field(b, h->name, h->value);
	}
	put(b, "X-Forwarded-For: ", 17);
	if (xff_prev.len > 0) {
		put_str(b, xff_prev);
		put(b, ", ", 2);
	}
	hp_buf_append_str(b, c->peer_ip);
	put(b, "\r\n", 2);
	if (!have_proto)
		put(b, "X-Forwarded-Proto: http\r\n", 25);
	if (!have_fhost && req->host.len > 0)
		put_field(b, HP_STR("X-Forwarded-Host"), req->host);
	put(b, "Via: 1.1 hotpath\r\n", 18);
	if (c->t.revalidating) {
		struct hp_str etag = hp_cache_obj_etag(c->t.obj);
		struct hp_str lm = hp_cache_obj_last_modified(c->t.obj);
		if (etag.len > 0)
			put_field(b, HP_STR("If-None-Match"), etag);
		if (lm.len > 0)
			put_field(b, HP_STR("If-Modified-Since"), lm);
	}
	if (req->body == HP_BODY_CHUNKED)
		put(b, "Transfer-Encoding: chunked\r\n", 28);
	put(b, "\r\n", 2);
}

static void copy_log_fields(struct hp_client *c, const struct hp_http_request *req)
{
	struct hp_txn *t = &c->t;
	struct hp_arena *a = &c->arena;
	t->log_method = hp_arena_strndup(a, req->method.ptr, req->method.len);
	t->log_target = hp_arena_strndup(a, req->target.ptr, req->target.len);
	t->log_host = hp_arena_strndup(a, req->host.ptr, req->host.len);
	const struct hp_http_header *h;
	h = hp_http_find_header(req->headers, req->num_headers, "user-agent");
	t->log_ua = h ? hp_arena_strndup(a, h->value.ptr, h->value.len) : NULL;
	h = hp_http_find_header(req->headers, req->num_headers, "referer");
	t->log_referer = h ? hp_arena_strndup(a, h->value.ptr, h->value.len) : NULL;
}

/* ==== Starting ==== */

void hp_forward_start(struct hp_client *c, const struct hp_http_request *req, size_t head_len)
{
	struct hp_txn *t = &c->t;
	const struct hp_config *cfg = hp_client_cfg(c);
	t->method = req->method_id;
	t->minor_version = req->minor_version;
	t->client_keep_alive = req->keep_alive;
	t->req_body = req->body;
	t->req_remaining = req->body == HP_BODY_LENGTH ? req->content_length : 0;
	if (t->req_body == HP_BODY_LENGTH && t->req_remaining == 0)
		t->req_body = HP_BODY_NONE;
	t->req_done = t->req_body == HP_BODY_NONE;
	if (t->ws->snap->alog != NULL)
		copy_log_fields(c, req);
	if (req->method_id == HP_METHOD_CONNECT) {
		hp_buf_consume(&c->in, head_len);
		hp_client_send_error(c, 405, "CONNECT is not supported by this reverse proxy");
		return;
	}
	if (t->req_body == HP_BODY_LENGTH && t->req_remaining > cfg->limits.max_body_size) {
		hp_buf_consume(&c->in, head_len);
		hp_client_send_error(c, 413, "request body too large");
		return;
	}
	t->route = hp_snap_match(t->ws->snap, req->host, req->path);
	if (t->route == NULL) {
		hp_buf_consume(&c->in, head_len);
		hp_client_send_error(c, 404, "no route for this host and path");
		return;
	}
	t->pool = t->ws->pools[t->route->group];
	switch (hp_cached_begin(c, req, head_len)) {
	case HP_CV_DONE:
		hp_buf_consume(&c->in, head_len);
		return;
	case HP_CV_WAIT:
		/* The head stays in the input buffer, to be run again. */
		return;
	case HP_CV_FETCH:
		break;
	}
	build_upstream_head(c, req);
	if (req->expect_continue && req->minor_version == 1 && !t->req_done)
		hp_buf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	/* The views in <req> die here: the head leaves the input buffer. */
	hp_buf_consume(&c->in, head_len);
	t->retryable = hp_http_method_is_idempotent(t->method) && t->req_done;
	t->state = TXN_CONNECTING;
	connect_upstream(c);
}

/* ==== Upstream connection ==== */

static void attach(struct hp_client *c, struct hp_upstream_conn *up)
{
	struct hp_txn *t = &c->t;
	const struct hp_config_upstream *uc = hp_upstream_group_conf(hp_upstream_pool_group(t->pool));
	t->up = up;
	t->up_out_sent = 0;
	t->state = TXN_EXCHANGE;
	if (t->upstream_ns == 0) {
		t->upstream_ns = hp_clock_mono_ns();
		t->request_time = hp_clock_wall_s();
	}
	up->io.cb = on_upstream_event;
	up->requests++;
	hp_timer_start(c->w->loop, &up->timer,
		       up->connected ? uc->send_timeout_ms : uc->connect_timeout_ms,
		       on_upstream_timer);
}

static void release_upstream(struct hp_client *c, bool reusable)
{
	struct hp_txn *t = &c->t;
	if (t->up == NULL)
		return;
	hp_timer_stop(c->w->loop, &t->up->timer);
	hp_upstream_release(t->up, reusable);
	t->up = NULL;
}

void hp_forward_abort(struct hp_client *c)
{
	release_upstream(c, false);
	hp_cached_release(c);
	if (c->timer_kind == CT_QUEUE)
		hp_client_disarm_timer(c);
}

static void upstream_failed(struct hp_client *c, int status, const char *reason)
{
	struct hp_txn *t = &c->t;
	if (t->server != NULL)
		hp_log_debug("upstream %s: %s", t->server->name, reason);
	if (t->resp_started) {
		hp_client_close(c);
		return;
	}
	release_upstream(c, false);
	if (hp_cached_on_error(c))
		return;
	hp_client_send_error(c, status, reason);
}

static void connect_upstream(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	struct hp_upstream_group *g = hp_upstream_pool_group(t->pool);
	for (;;) {
		struct hp_upstream_server *s = hp_upstream_pick(g, t->tried);
		if (s == NULL) {
			upstream_failed(c, 502, "upstream unavailable: connection refused");
			return;
		}
		t->server = s;
		struct hp_upstream_conn *up = hp_upstream_take(t->pool, s, c);
		if (up == NULL) {
			int rc = hp_upstream_connect(t->pool, s, c, on_upstream_event, &up);
			if (rc == -EBUSY) {
				/* At max_connections: wait for a slot, bounded by the
				 * connect timeout, as HAProxy's server queue does. */
				const struct hp_config_upstream *uc = hp_upstream_group_conf(g);
				if (t->queue_deadline_ms == 0)
					t->queue_deadline_ms =
						hp_loop_now_ms(c->w->loop) + uc->connect_timeout_ms;
				hp_client_arm_timer(c, CT_QUEUE, QUEUE_POLL_MS);
				return;
			}
			if (rc < 0) {
				hp_log_debug("connect %s: %s", s->name, strerror(-rc));
				if (s->index < 64)
					t->tried |= (uint64_t)1 << s->index;
				continue;
			}
		}
		attach(c, up);
		return;
	}
}

void hp_forward_retry_queued(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	if (t->state != TXN_CONNECTING)
		return;
	if (hp_loop_now_ms(c->w->loop) >= t->queue_deadline_ms) {
		upstream_failed(c, 503, "upstream busy: all connections in use");
		return;
	}
	connect_upstream(c);
}

static bool try_retry(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	const struct hp_config_upstream *uc = hp_upstream_group_conf(hp_upstream_pool_group(t->pool));
	if (!t->retryable || t->up == NULL || !t->up->reused || t->resp_head_done ||
	    t->attempts >= uc->retries)
		return false;
	t->attempts++;
	release_upstream(c, false);
	t->state = TXN_CONNECTING;
	connect_upstream(c);
	return true;
}

/* ==== Sending the request ==== */

static void count_body(void *arg, const char *data, size_t len)
{
	(void)data;
	*(uint64_t *)arg += len;
}

/* Decide how many bytes at the front of c->in are request body ready to
 * go. Returns false if the request failed (an error response is queued). */
static bool classify_body(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	if (t->req_body == HP_BODY_LENGTH) {
		uint64_t n = HP_MIN((uint64_t)c->in.len, t->req_remaining);
		t->req_ready = (size_t)n;
		t->req_remaining -= n;
		t->req_body_bytes += n;
		return true;
	}
	bool done = false;
	ssize_t n = hp_http_chunked_feed(&t->req_chunked, hp_buf_data(&c->in), c->in.len, &done,
					 count_body, &t->req_body_bytes);
	if (n < 0) {
		hp_client_send_error(c, 400, "invalid chunked request body");
		return false;
	}
	if (t->req_body_bytes > hp_client_cfg(c)->limits.max_body_size) {
		hp_client_send_error(c, 413, "request body too large");
		return false;
	}
	t->req_ready = (size_t)n;
	if (done)
		t->req_remaining = 0;
	else
		t->req_remaining = 1; /* unknown, but not finished */
	return true;
}

/* Write to the upstream; false on a write error (the caller decides). */
static bool write_up(struct hp_client *c, const char *p, size_t len, size_t *written)
{
	struct hp_upstream_conn *up = c->t.up;
	*written = 0;
	while (up->writable && *written < len) {
		ssize_t n = write(up->io.fd, p + *written, len - *written);
		if (n > 0) {
			*written += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			up->writable = false;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			return false;
		}
	}
	return true;
}

static bool send_request(struct hp_client *c, bool *progress)
{
	struct hp_txn *t = &c->t;
	size_t w;
	if (t->up_out_sent < t->up_out.len) {
		bool ok = write_up(c, t->up_out.base + t->up_out_sent,
				   t->up_out.len - t->up_out_sent, &w);
		t->up_out_sent += w;
		*progress |= w > 0;
		if (!ok)
			return false;
		if (t->up_out_sent < t->up_out.len)
			return true;
	}
	while (!t->req_done && t->up->writable) {
		if (t->req_ready == 0) {
			if (c->in.len == 0 && !hp_client_read(c, BODY_READ_LIMIT))
				return true;
			if (c->closed)
				return true;
			if (c->in.len == 0) {
				if (c->eof) {
					/* The client gave up half-way through its body. */
					hp_client_close(c);
					return true;
				}
				if (c->timer_kind != CT_BODY)
					hp_client_arm_timer(c, CT_BODY,
						hp_client_cfg(c)->limits.body_timeout_ms);
				return true;
			}
			if (!classify_body(c))
				return true;
		}
		bool ok = write_up(c, hp_buf_data(&c->in), t->req_ready, &w);
		hp_buf_consume(&c->in, w);
		t->req_ready -= w;
		*progress |= w > 0;
		if (w > 0 && c->timer_kind == CT_BODY)
			hp_client_arm_timer(c, CT_BODY, hp_client_cfg(c)->limits.body_timeout_ms);
		if (!ok)
			return false;
		if (t->req_ready == 0 && t->req_remaining == 0) {
			t->req_done = true;
			if (c->timer_kind == CT_BODY)
				hp_client_disarm_timer(c);
		}
	}
	return true;
}

/* ==== Receiving the response ==== */

static void put_response_fields(struct hp_client *c, struct hp_buf *b,
				const struct hp_http_response *r)
{
	for (size_t i = 0; i < r->num_headers; i++) {
		const struct hp_http_header *h = &r->headers[i];
		if (hp_http_is_hop_by_hop(h->name) ||
		    hp_http_connection_lists(r->headers, r->num_headers, h->name) ||
		    hp_cached_hides_field(c, h->name))
			continue;
		put_field(b, h->name, h->value);
	}
}

static void forward_interim(struct hp_client *c, const struct hp_http_response *r)
{
	/* HTTP/1.0 clients know no 1xx; 100 was already sent by us if asked. */
	if (c->t.minor_version == 0 || r->status == 100)
		return;
	hp_put_status_line_start(&c->out, r->status);
	put_str(&c->out, r->reason);
	put(&c->out, "\r\n", 2);
	put_response_fields(c, &c->out, r);
	put(&c->out, "\r\n", 2);
}

static void start_response(struct hp_client *c, const struct hp_http_response *r)
{
	struct hp_txn *t = &c->t;
	struct hp_buf *b = &c->out;
	t->status = r->status;
	t->resp_body = r->body;
	t->resp_remaining = r->content_length;
	t->resp_keep_alive = r->keep_alive;
	t->resp_head_done = true;
	t->resp_started = true;
	t->upstream_done_ns = hp_clock_mono_ns();
	if (r->body == HP_BODY_CHUNKED && t->minor_version == 0) {
		t->dechunk = true;
		c->close_after = true;
	} else if (r->body == HP_BODY_CLOSE) {
		if (t->minor_version == 1)
			t->rechunk = true;
		else
			c->close_after = true;
	}
	if (!t->client_keep_alive || c->w->draining || !t->req_done)
		c->close_after = true;
	size_t before = b->len;
	hp_put_status_line_start(b, r->status);
	put_str(b, r->reason.len ? r->reason : (struct hp_str){hp_http_status_reason(r->status),
		strlen(hp_http_status_reason(r->status))});
	put(b, "\r\n", 2);
	put_response_fields(c, b, r);
	if (hp_http_find_header(r->headers, r->num_headers, "date") == NULL) {
		/* RFC 9110 §6.6.1: a response forwarded without Date gets the time
		 * it was received. */
		char date[HP_HTTP_DATE_LEN + 1];
		hp_worker_date(c->w, date);
		put(b, "Date: ", 6);
		put(b, date, HP_HTTP_DATE_LEN);
		put(b, "\r\n", 2);
	}
	if (r->body == HP_BODY_CHUNKED && !t->dechunk)
		put(b, "Transfer-Encoding: chunked\r\n", 28);
	if (t->rechunk)
		put(b, "Transfer-Encoding: chunked\r\n", 28);
	hp_cached_put_fields(c, b);
	put(b, "Via: 1.1 hotpath\r\n", 18);
	if (c->close_after)
		put(b, "Connection: close\r\n", 19);
	else if (t->minor_version == 0)
		put(b, "Connection: keep-alive\r\n", 24);
	put(b, "\r\n", 2);
	t->bytes_out += b->len - before;
}

static void append_decoded(void *arg, const char *data, size_t len)
{
	struct hp_client *c = arg;
	if (c->t.dechunk && !c->t.head_as_get) {
		hp_buf_append(&c->out, data, len);
		c->t.bytes_out += len;
	}
	hp_cached_on_body(c, data, len);
}

static void append_out(struct hp_client *c, const char *p, size_t n)
{
	if (c->t.head_as_get)
		return;
	hp_buf_append(&c->out, p, n);
	c->t.bytes_out += n;
}

/* Move body bytes from the upstream buffer to the client. Returns 1 when
 * the body is complete, 0 when more is expected, -1 on broken framing. */
static int pass_body(struct hp_client *c, bool up_eof)
{
	struct hp_txn *t = &c->t;
	struct hp_buf *in = &t->up->in;
	if (t->head_as_get && !t->storing) {
		/* Nobody wants this body: drop it with the connection. */
		t->resp_keep_alive = false;
		return 1;
	}
	switch (t->resp_body) {
	case HP_BODY_NONE:
		return 1;
	case HP_BODY_LENGTH: {
		uint64_t n = HP_MIN((uint64_t)in->len, t->resp_remaining);
		append_out(c, hp_buf_data(in), (size_t)n);
		hp_cached_on_body(c, hp_buf_data(in), (size_t)n);
		hp_buf_consume(in, (size_t)n);
		t->resp_remaining -= n;
		return t->resp_remaining == 0 ? 1 : 0;
	}
	case HP_BODY_CHUNKED: {
		bool done = false;
		bool decode = t->dechunk || t->storing;
		ssize_t n = hp_http_chunked_feed(&t->resp_chunked, hp_buf_data(in), in->len, &done,
						 decode ? append_decoded : NULL, c);
		if (n < 0)
			return -1;
		if (!t->dechunk)
			append_out(c, hp_buf_data(in), (size_t)n);
		hp_buf_consume(in, (size_t)n);
		return done ? 1 : 0;
	}
	case HP_BODY_CLOSE:
		if (in->len > 0) {
			if (t->rechunk) {
				char size[24];
				int k = snprintf(size, sizeof(size), "%zx\r\n", in->len);
				append_out(c, size, (size_t)k);
			}
			append_out(c, hp_buf_data(in), in->len);
			hp_cached_on_body(c, hp_buf_data(in), in->len);
			if (t->rechunk)
				append_out(c, "\r\n", 2);
			hp_buf_consume(in, in->len);
		}
		if (up_eof && t->rechunk)
			append_out(c, "0\r\n\r\n", 5);
		return up_eof ? 1 : 0;
	}
	return -1;
}

static void response_complete(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	t->resp_done = true;
	hp_cached_on_complete(c, true);
	bool reusable = t->resp_keep_alive && t->req_done && t->resp_body != HP_BODY_CLOSE;
	release_upstream(c, reusable);
	if (!t->req_done)
		c->close_after = true;
}

/* Parse response heads (skipping 1xx) at the front of the upstream buffer.
 * Returns 1 when a final head was taken, 0 if incomplete, -1 on error. */
static int take_head(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	struct hp_buf *in = &t->up->in;
	const struct hp_config *cfg = hp_client_cfg(c);
	struct hp_http_limits lim = {
		.max_request_line = cfg->limits.max_header_size,
		.max_head_bytes = cfg->limits.max_header_size * 2,
		.max_headers = cfg->limits.max_header_fields * 2,
	};
	struct hp_http_header *hdrs = c->w->resp_fields;
	while (in->len > 0) {
		struct hp_http_response r;
		int rc = hp_http_parse_response(hp_buf_data(in), in->len, &r, hdrs, &lim,
						t->head_as_get ? HP_METHOD_GET : t->method);
		if (rc == HP_AGAIN)
			return 0;
		if (rc < 0) {
			hp_log_info("upstream %s: invalid response: %s", t->server->name,
				    r.error_reason ? r.error_reason : "malformed");
			return -1;
		}
		if (r.status >= 100 && r.status < 200) {
			if (r.status == 101)
				return -1;
			forward_interim(c, &r);
			hp_buf_consume(in, (size_t)rc);
			continue;
		}
		if (hp_cached_on_response(c, &r)) {
			/* Answered from the cache (a 304 freshened it, or it is served
			 * stale on an error): the upstream's response goes no further. */
			hp_buf_consume(in, (size_t)rc);
			release_upstream(c, r.status == 304 && r.keep_alive && t->req_done &&
					 in->len == 0);
			return 2;
		}
		start_response(c, &r);
		hp_buf_consume(in, (size_t)rc);
		return 1;
	}
	return 0;
}

/* Read what the upstream has. Returns false if the connection failed
 * (errno-like code in *err, 0 for a clean close). */
static bool read_up(struct hp_client *c, bool *progress, bool *eof)
{
	struct hp_upstream_conn *up = c->t.up;
	while (up->readable && c->out.len < OUT_HIGH_WATER) {
		hp_buf_reserve(&up->in, READ_CHUNK);
		size_t room = hp_buf_room(&up->in);
		ssize_t n = read(up->io.fd, hp_buf_tail(&up->in), room);
		if (n > 0) {
			hp_buf_commit(&up->in, (size_t)n);
			*progress = true;
			if ((size_t)n < room && !up->hup)
				up->readable = false;
			if (up->in.len >= 4 * READ_CHUNK)
				break;
		} else if (n == 0) {
			*eof = true;
			up->readable = false;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			up->readable = false;
		} else if (errno != EINTR) {
			*eof = true;
			up->readable = false;
			return false;
		}
	}
	return true;
}

static void receive_response(struct hp_client *c, bool *progress)
{
	struct hp_txn *t = &c->t;
	bool eof = false;
	bool ok = read_up(c, progress, &eof);
	if (*progress) {
		const struct hp_config_upstream *uc =
			hp_upstream_group_conf(hp_upstream_pool_group(t->pool));
		hp_timer_start(c->w->loop, &t->up->timer, uc->read_timeout_ms, on_upstream_timer);
	}
	if (!t->resp_head_done) {
		int rc = take_head(c);
		if (rc < 0) {
			upstream_failed(c, 502, "invalid response from upstream");
			return;
		}
		if (rc == 2)
			return;
		if (rc == 0) {
			if (eof || !ok) {
				if (t->up->in.len == 0 && try_retry(c))
					return;
				upstream_failed(c, 502, t->up->in.len ? "incomplete response from upstream"
						: "upstream closed the connection");
			}
			return;
		}
		*progress = true;
	}
	int done = pass_body(c, eof);
	if (done < 0) {
		hp_log_info("upstream %s: invalid chunked body", t->server->name);
		upstream_failed(c, 502, "invalid response body from upstream");
		return;
	}
	if (done > 0) {
		response_complete(c);
		return;
	}
	if (eof || !ok) {
		/* Cut short: deliver what came, then close so it cannot pass as whole. */
		hp_log_info("upstream %s: closed mid-body", t->server->name);
		hp_cached_on_complete(c, false);
		release_upstream(c, false);
		t->resp_done = true;
		c->close_after = true;
	}
}

/* ==== Driving ==== */

/* One step: send what can go up, take what came down. Returns true if
 * anything changed, so the caller loops until the exchange is stuck on I/O. */
static bool exchange(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	bool progress = false;
	if (!t->req_done || t->up_out_sent < t->up_out.len) {
		if (!send_request(c, &progress)) {
			/* The upstream stopped taking the request; it may still have
			 * answered (an early 413, say), so read before deciding. */
			if (!t->resp_head_done && t->up->in.len == 0 && !t->up->readable &&
			    try_retry(c))
				return true;
			t->req_done = true;
			c->close_after = true;
			t->up->readable = true;
		}
		if (c->closed || t->up == NULL)
			return true;
	}
	if (!t->resp_done)
		receive_response(c, &progress);
	return progress;
}

bool hp_forward_drive(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	if (t->state != TXN_EXCHANGE || t->up == NULL || !t->up->connected)
		return false;
	enum hp_txn_state state = t->state;
	bool done = t->resp_done;
	bool progress = exchange(c);
	return progress || c->closed || t->state != state || t->resp_done != done;
}

static void on_upstream_event(struct hp_io *io, unsigned events)
{
	struct hp_upstream_conn *up = HP_CONTAINER_OF(io, struct hp_upstream_conn, io);
	HP_CHECK_OBJ(up, HP_UPSTREAM_CONN_MAGIC);
	struct hp_client *c = up->owner;
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	if (events & HP_IO_READ)
		up->readable = true;
	if (events & HP_IO_HUP)
		up->hup = true;
	if (events & HP_IO_WRITE)
		up->writable = true;
	if (!up->connected && (events & (HP_IO_WRITE | HP_IO_ERROR))) {
		int rc = hp_upstream_conn_check_connected(up);
		if (rc < 0) {
			struct hp_txn *t = &c->t;
			hp_log_debug("connect %s: %s", up->server->name, strerror(-rc));
			if (t->server->index < 64)
				t->tried |= (uint64_t)1 << t->server->index;
			release_upstream(c, false);
			t->state = TXN_CONNECTING;
			connect_upstream(c);
			hp_client_drive(c);
			return;
		}
		const struct hp_config_upstream *uc =
			hp_upstream_group_conf(hp_upstream_pool_group(c->t.pool));
		hp_timer_start(c->w->loop, &up->timer, uc->send_timeout_ms, on_upstream_timer);
	}
	hp_client_drive(c);
}

static void on_upstream_timer(struct hp_timer *tm)
{
	struct hp_upstream_conn *up = HP_CONTAINER_OF(tm, struct hp_upstream_conn, timer);
	HP_CHECK_OBJ(up, HP_UPSTREAM_CONN_MAGIC);
	struct hp_client *c = up->owner;
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	upstream_failed(c, 504, up->connected ? "upstream timed out"
					      : "upstream connect timed out");
	hp_client_drive(c);
}
