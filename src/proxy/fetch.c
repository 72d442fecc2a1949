/* SPDX-License-Identifier: MIT */
/*
 * fetch.c - steps pass and fetch: one request's trip to an upstream server,
 * until the response head is in; then, while deliver streams the body,
 * hp_fetch_pump() keeps the exchange moving.
 *
 * The upstream request and the way its body goes are step body's
 * (reqbody.c); here they are sent, and the response body flows from the
 * upstream connection's buffer into the chain. Reading stops
 * while the client's output holds more than HP_OUT_HIGH_WATER bytes, and
 * reading the request body stops while the upstream is not writable:
 * memory per connection stays bounded whatever the sizes.
 *
 * Getting the connection (balancer, pool, queue, retry, also on a
 * response status of retry_on) is connect.c's;
 * a failure is a 502 (broken or refused) or 504 (timed out) while nothing
 * of the response has reached the client, and an abrupt close of the
 * client connection after, so a truncated response is never mistaken for
 * a whole one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/proxy_priv.h"
#include "proxy/upstream_head.h"

#define READ_CHUNK 16384

static const struct hp_config_upstream *group_conf(const struct hp_client *c)
{
	return hp_upstream_group_conf(hp_upstream_pool_group(c->t->up.pool));
}

/* ==== Sending the request ==== */

/* Send what can go up. False on an upstream write error. */
static bool send_request(struct hp_client *c, bool *progress)
{
	struct hp_txn *t = c->t;
	struct hp_txn_up *u = &t->up;
	size_t w;
	if (u->head_sent < u->head.len) {
		bool ok = hp_reqbody_write_up(c, u->head.base + u->head_sent,
					      u->head.len - u->head_sent, &w);
		u->head_sent += w;
		*progress |= w > 0;
		if (!ok)
			return false;
		if (u->head_sent < u->head.len)
			return true;
	}
	return hp_reqbody_send(c, progress);
}

/* ==== Reading the response ==== */

/* Read what the upstream has. False if the connection failed; *eof when
 * it closed (cleanly or not). */
static bool read_up(struct hp_client *c, bool *progress, bool *eof)
{
	struct hp_upstream_conn *up = c->t->up.conn;
	while (up->readable && c->t->out.len < HP_OUT_HIGH_WATER) {
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
	if (*progress)
		hp_timer_start(c->w->loop, &up->timer, group_conf(c)->read_timeout_ms,
			       hp_txn_on_upstream_timer);
	return true;
}

/* The head of the response as the client gets it. */
static void start_response(struct hp_client *c, const struct hp_http_response *r)
{
	struct hp_txn *t = c->t;
	t->resp.status = r->status;
	t->up.body = r->body;
	t->up.body_remaining = r->content_length;
	t->up.keep_alive = r->keep_alive;
	t->up.head_in = true;
	t->up.head_ns = hp_clock_mono_ns();
	/* HTTP/1.0 knows no chunks: a body of unknown length is delimited by
	 * the close, as one the compressor makes is. */
	if (hp_body_dechunks(c) || (r->body == HP_BODY_CLOSE && t->req.minor_version == 0) ||
	    (hp_compress_transforms(c) && t->req.minor_version == 0))
		c->close_after = true;
	if (!t->req.keep_alive || c->w->draining || !t->req.body_done)
		c->close_after = true;
	size_t before = c->t->out.len;
	hp_upstream_head_response(c, &c->t->out, r);
	t->resp.bytes_out += c->t->out.len - before;
	t->resp.started = true;
}

/* Parse response heads (forwarding 1xx) at the front of the upstream
 * buffer. Returns the next step: fetch (incomplete: WAIT is decided by
 * the caller), deliver, or a failure's. */
static enum hp_step take_head(struct hp_client *c, bool *taken, bool *again, int *status)
{
	struct hp_txn *t = c->t;
	struct hp_buf *in = &t->up.conn->in;
	const struct hp_config *cfg = hp_client_cfg(c);
	struct hp_http_limits lim = {
		.max_request_line = cfg->limits.max_header_size,
		.max_head_bytes = cfg->limits.max_header_size * 2,
		.max_headers = cfg->limits.max_header_fields * 2,
	};
	*taken = false;
	*again = false;
	while (in->len > 0) {
		struct hp_http_response r;
		int rc = hp_http_parse_response(hp_buf_data(in), in->len, &r, c->w->resp_fields,
						&lim, t->cache.head_as_get ? HP_METHOD_GET
									   : t->req.method);
		if (rc == HP_AGAIN)
			return HP_STEP_fetch;
		if (rc < 0) {
			hp_log_info("upstream %s: invalid response: %s", t->up.server->name,
				    r.error_reason ? r.error_reason : "malformed");
			return hp_fetch_failed(c, 502, "invalid response from upstream");
		}
		if (r.status >= 100 && r.status < 200) {
			if (r.status == 101)
				return hp_fetch_failed(c, 502, "invalid response from upstream");
			hp_upstream_head_interim(c, &c->t->out, &r);
			hp_buf_consume(in, (size_t)rc);
			continue;
		}
		if (!t->resp.started && hp_connect_retry_status(c, r.status)) {
			/* A status of retry_on: the connection is gone, another
			 * server gets the request. */
			*again = true;
			return HP_STEP_fetch;
		}
		*taken = true;
		*status = r.status;
		hp_compress_on_response(c, &r);
		if (hp_lookup_on_response(c, &r)) {
			/* Answered from the cache (a 304 freshened it, or it is served
			 * stale on an error): the upstream's response goes no further. */
			hp_buf_consume(in, (size_t)rc);
			hp_txn_release_upstream(c, r.status == 304 && r.keep_alive &&
						   t->req.body_done && in->len == 0);
			return HP_STEP_deliver;
		}
		start_response(c, &r);
		hp_buf_consume(in, (size_t)rc);
		if (t->cache.head_as_get && !t->cache.storing) {
			/* Nobody wants this body: drop it with the connection. */
			t->up.keep_alive = false;
			hp_txn_release_upstream(c, false);
			t->resp.source = HP_SRC_DONE;
			return HP_STEP_deliver;
		}
		hp_body_begin(c, HP_SRC_UPSTREAM, 1, 0);
		return HP_STEP_deliver;
	}
	return HP_STEP_fetch;
}

/* ==== The body ==== */

/* Feed the chain from the upstream buffer. Returns 1 when the body is
 * complete, 0 when more is expected, -1 on broken framing. */
static int pass_body(struct hp_client *c, bool up_eof)
{
	struct hp_txn_up *u = &c->t->up;
	struct hp_filter_chain *ch = &c->t->resp.chain;
	struct hp_buf *in = &u->conn->in;
	switch (u->body) {
	case HP_BODY_NONE:
		return 1;
	case HP_BODY_LENGTH: {
		size_t n = (size_t)HP_MIN((uint64_t)in->len, u->body_remaining);
		if (hp_filter_bytes(ch, hp_buf_data(in), n) < 0)
			return -1;
		hp_buf_consume(in, n);
		u->body_remaining -= n;
		return u->body_remaining == 0 ? 1 : 0;
	}
	case HP_BODY_CHUNKED: {
		/* The framing is found here; the filters decode it if they must. */
		bool done = false;
		ssize_t n = hp_http_chunked_feed(&u->body_chunked, hp_buf_data(in), in->len, &done,
						 NULL, NULL);
		if (n < 0 || hp_filter_bytes(ch, hp_buf_data(in), (size_t)n) < 0)
			return -1;
		hp_buf_consume(in, (size_t)n);
		return done ? 1 : 0;
	}
	case HP_BODY_CLOSE:
		if (hp_filter_bytes(ch, hp_buf_data(in), in->len) < 0)
			return -1;
		hp_buf_consume(in, in->len);
		return up_eof ? 1 : 0;
	}
	return -1;
}

static void body_complete(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	struct hp_txn_up *u = &t->up;
	int rc = hp_filter_end(&t->resp.chain);
	t->resp.source = HP_SRC_DONE;
	bool reusable = u->keep_alive && t->req.body_done && u->body != HP_BODY_CLOSE;
	hp_txn_release_upstream(c, reusable);
	if (!t->req.body_done || rc < 0)
		c->close_after = true;
}

/* ==== Steps ==== */

enum hp_step hp_step_pass(struct hp_client *c)
{
	/* Nothing of this response is stored: a plain fetch. */
	HP_ASSERT(c->t->cache.fill == NULL);
	return HP_STEP_body;
}

/* The exchange until the response head. */
static enum hp_step exchange(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	struct hp_txn_up *u = &t->up;
	bool progress = false;
	if (!t->req.body_done || u->head_sent < u->head.len) {
		if (!send_request(c, &progress)) {
			/* The upstream stopped taking the request; it may still have
			 * answered (an early 413, say), so read before deciding. */
			if (u->conn->in.len == 0 && !u->conn->readable &&
			    hp_connect_retry(c, "write to upstream failed"))
				return hp_connect_upstream(c);
			t->req.body_done = true;
			c->close_after = true;
			u->conn->readable = true;
		}
		if (c->closed)
			return HP_STEP_DONE;
		if (u->conn == NULL)
			return HP_STEP_deliver; /* an error response (400, 413) was queued */
	}
	bool eof = false;
	bool ok = read_up(c, &progress, &eof);
	bool taken, again;
	int status = 0;
	enum hp_step next = take_head(c, &taken, &again, &status);
	if (again)
		return hp_connect_upstream(c);
	/* The close may have come with the head: the body's pump must see it,
	 * and reading again gives it again (0 or the error). */
	if ((eof || !ok) && u->conn != NULL)
		u->conn->readable = true;
	if (taken && u->server != NULL)
		hp_connect_answered(c, status);
	if (taken || next != HP_STEP_fetch)
		return next;
	if (c->t->out.len > 0 && (!hp_client_flush(c) || c->closed))
		return HP_STEP_DONE;
	if (eof || !ok) {
		if (u->conn->in.len == 0 && hp_connect_retry(c, "closed before any response byte"))
			return hp_connect_upstream(c);
		return hp_fetch_failed(c, 502, u->conn->in.len ? "incomplete response from upstream"
							       : "upstream closed the connection");
	}
	return progress ? HP_STEP_fetch : HP_STEP_WAIT;
}

enum hp_step hp_step_fetch(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	struct hp_txn_up *u = &t->up;
	if (t->req.head_len > 0)
		return HP_STEP_body; /* the upstream request is not built yet */
	/* Interim responses (our 100 Continue, a forwarded 103) go out now:
	 * the client may be waiting for them before it sends its body. */
	if (c->t->out.len > 0 && (!hp_client_flush(c) || c->closed))
		return HP_STEP_DONE;
	if (u->conn == NULL && u->slot_free)
		return hp_connect_slot_turn(c);
	if (c->expired == CT_QUEUE) {
		c->expired = CT_NONE;
		return hp_connect_busy(c, "upstream busy: all connections in use");
	}
	if (u->conn == NULL)
		return hp_upstream_waiting(&u->slot) ? HP_STEP_WAIT : hp_connect_upstream(c);
	if (u->expired) {
		hp_upstream_count_failure(u->server, u->conn->connected ? HP_UPSTREAM_TIMEOUT
									: HP_UPSTREAM_CONNECT_FAILED);
		return hp_connect_timed_out(c);
	}
	if (!u->conn->connected)
		return u->connect_event ? hp_connect_check(c) : HP_STEP_WAIT;
	return exchange(c);
}

enum hp_step hp_fetch_pump(struct hp_client *c, bool *progress)
{
	struct hp_txn *t = c->t;
	struct hp_txn_up *u = &t->up;
	if (u->expired) {
		hp_upstream_count_failure(u->server, HP_UPSTREAM_TIMEOUT);
		return hp_fetch_failed(c, 504, "upstream timed out");
	}
	if (!t->req.body_done && !send_request(c, progress)) {
		/* The response is under way: the rest of the request is not
		 * needed, and the connection will not be reused. */
		t->req.body_done = true;
		c->close_after = true;
	}
	if (c->closed)
		return HP_STEP_DONE;
	bool eof = false;
	bool ok = read_up(c, progress, &eof);
	int done = pass_body(c, eof);
	if (c->closed)
		return HP_STEP_DONE;
	if (done < 0) {
		hp_log_info("upstream %s: invalid chunked body", u->server->name);
		return hp_fetch_failed(c, 502, "invalid response body from upstream");
	}
	if (done > 0) {
		body_complete(c);
		*progress = true;
		return HP_STEP_deliver;
	}
	if (eof || !ok) {
		/* Cut short: deliver what came, then close so it cannot pass as whole. */
		hp_log_info("upstream %s: closed mid-body", u->server->name);
		hp_filter_abort(&t->resp.chain);
		hp_txn_release_upstream(c, false);
		t->resp.source = HP_SRC_DONE;
		c->close_after = true;
		*progress = true;
	}
	return HP_STEP_deliver;
}
