/* SPDX-License-Identifier: MIT */
/*
 * reqbody.c - step body: the request for the upstream, and the request
 * body's way there.
 *
 * A client's body never reaches an origin as the client framed it. A
 * chunked body is decoded strictly (RFC 9112 §7.1: CRLF only, hex sizes
 * only, bounded extensions) and framed again by us; trailers are dropped,
 * as a recipient that removes the chunked coding may do (RFC 9110 §6.5.1).
 * So an origin whose chunk parser reads a bare LF, a "0x" size or a huge
 * extension differently from ours cannot be shown a second request hidden
 * in the body.
 *
 * Bodies up to limits.request_buffering are read and checked whole before
 * the upstream is contacted (nginx's proxy_request_buffering): a malformed
 * or incomplete one is a 400 and the origin sees nothing; the whole body
 * goes with a Content-Length, and since it is kept, an idempotent request
 * may be sent again to another server. Larger bodies stream: a
 * Content-Length body as it comes (counted), a chunked one decoded and
 * re-chunked. An error half-way through resets the upstream connection
 * (txn.c: a connection released before the body was complete is closed
 * with an RST), so the origin sees an abort, never a well-formed request
 * cut short.
 *
 *   mode       body_buf holds                     upstream framing
 *   NONE       -                                  none
 *   READING    the decoded body so far            (not decided yet)
 *   BUFFERED   the whole decoded body             Content-Length
 *   RAW        - (bytes go from client->in)       the client's Content-Length
 *   CHUNKED    framed bytes not yet written       Transfer-Encoding: chunked
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "proxy/proxy_priv.h"
#include "proxy/upstream_head.h"

/* How much client input is read, or decoded, at a time while streaming:
 * memory per connection stays bounded whatever the body's size. */
#define BODY_READ_LIMIT (64 * 1024)

/* ==== Writing to the upstream ==== */

bool hp_reqbody_write_up(struct hp_client *c, const char *p, size_t len, size_t *written)
{
	struct hp_upstream_conn *up = c->t->up.conn;
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

/* ==== Decoding ==== */

/* <len> bytes as one chunk of ours. */
static void frame_chunk(struct hp_buf *b, const char *data, size_t len)
{
	char size[24];
	int n = snprintf(size, sizeof(size), "%zx\r\n", len);
	hp_buf_append(b, size, (size_t)n);
	hp_buf_append(b, data, len);
	HP_BUF_APPEND_LIT(b, "\r\n");
}

/* Decoded bytes kept as they are (a body read whole)... */
static void append_decoded(void *arg, const char *data, size_t len)
{
	struct hp_txn_req *r = arg;
	hp_buf_append(&r->body_buf, data, len);
	r->body_bytes += len;
}

/* ...or framed again (a body that streams). */
static void append_chunk(void *arg, const char *data, size_t len)
{
	struct hp_txn_req *r = arg;
	frame_chunk(&r->body_buf, data, len);
	r->body_bytes += len;
}

/* The body went wrong (<status>, <reason>): the client gets the error, and
 * an upstream that had part of it an RST (hp_txn_release_upstream). */
static enum hp_step body_failed(struct hp_client *c, int status, const char *reason)
{
	hp_client_disarm_timer(c);
	return hp_respond_error(c, status, reason);
}

/* Decode chunked bytes from the front of client->in with <emit>, at most
 * <max> of them. Returns false if the body is malformed or too large (the
 * caller answers with *<status>). */
static bool decode_chunked(struct hp_client *c, size_t max, hp_http_chunk_fn *emit, int *status)
{
	struct hp_txn_req *r = &c->t->req;
	bool done = false;
	ssize_t n = hp_http_chunked_feed(&r->body_chunked, hp_buf_data(&c->in),
					 HP_MIN(c->in.len, max), &done, emit, r);
	if (n < 0) {
		*status = 400;
		return false;
	}
	hp_buf_consume(&c->in, (size_t)n);
	if (r->body_bytes > hp_client_cfg(c)->limits.max_body_size) {
		*status = 413;
		return false;
	}
	if (done) {
		r->body_remaining = 0;
		if (emit == append_chunk)
			HP_BUF_APPEND_LIT(&r->body_buf, "0\r\n\r\n");
	}
	return true;
}

/* ==== Step body ==== */

/* End the upstream head with the body's framing. */
static void end_head(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	struct hp_buf *h = &t->up.head;
	char cl[48];
	switch (t->req.body_mode) {
	case HP_RB_BUFFERED:
		if (t->req.body == HP_BODY_CHUNKED) {
			int n = snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n",
					 t->req.body_buf.len);
			hp_buf_append(h, cl, (size_t)n);
		}
		break;
	case HP_RB_CHUNKED:
		HP_BUF_APPEND_LIT(h, "Transfer-Encoding: chunked\r\n");
		break;
	default: /* NONE, RAW: the client's Content-Length went with its fields */
		break;
	}
	HP_BUF_APPEND_LIT(h, "\r\n");
}

/* The body is decided: the head is complete and the upstream may be
 * contacted. A request may go again after a failed try only if nothing of
 * its body would be missing. Step fetch connects: it also handles waiting
 * for a connection slot, which must not run this step (and end the head)
 * again. */
static enum hp_step go_upstream(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	end_head(c);
	bool whole = t->req.body_mode == HP_RB_NONE || t->req.body_mode == HP_RB_BUFFERED;
	t->up.retryable = hp_http_method_is_idempotent(t->req.method) && whole;
	if (t->req.body_mode == HP_RB_BUFFERED && c->timer_kind == CT_BODY)
		hp_client_disarm_timer(c);
	return HP_STEP_fetch;
}

/* First entry: the upstream head is written (less its framing) and the
 * client's head leaves the input buffer; the body's mode is chosen. */
static void prepare(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	struct hp_txn_req *r = &t->req;
	const struct hp_http_request *req = &r->head;
	/* A HEAD miss fills the cache like a GET would; the client gets the head. */
	t->cache.head_as_get = t->cache.fill != NULL && r->method == HP_METHOD_HEAD;
	hp_upstream_head_request(c, &t->up.head, req);
	hp_connect_prepare(c);
	if (r->expect_continue && r->minor_version == 1 && !r->body_done)
		HP_BUF_APPEND_LIT(&t->out, "HTTP/1.1 100 Continue\r\n\r\n");
	/* The views in <req> die here: the head leaves the input buffer. */
	hp_buf_consume(&c->in, r->head_len);
	r->head_len = 0;
	uint64_t limit = hp_client_cfg(c)->limits.request_buffering;
	r->body_chunked = (struct hp_http_chunked){.strict = true};
	hp_buf_reset(&r->body_buf);
	if (r->body == HP_BODY_NONE)
		r->body_mode = HP_RB_NONE;
	else if (limit > 0 && (r->body == HP_BODY_CHUNKED || r->body_remaining <= limit))
		r->body_mode = HP_RB_READING;
	else
		r->body_mode = r->body == HP_BODY_CHUNKED ? HP_RB_CHUNKED : HP_RB_RAW;
	if (r->body == HP_BODY_CHUNKED)
		r->body_remaining = 1; /* unknown, but not finished */
}

/* A chunked body outgrew request_buffering: what was read goes first, as
 * one chunk, and the rest streams. */
static enum hp_step start_streaming(struct hp_client *c)
{
	struct hp_txn_req *r = &c->t->req;
	struct hp_buf framed = {0};
	frame_chunk(&framed, hp_buf_data(&r->body_buf), r->body_buf.len);
	hp_buf_fini(&r->body_buf);
	r->body_buf = framed;
	r->body_mode = HP_RB_CHUNKED;
	return go_upstream(c);
}

/* Take what the client sent of a body being read whole. Returns false when
 * it failed (*<status> says how). */
static bool take_input(struct hp_client *c, int *status)
{
	struct hp_txn_req *r = &c->t->req;
	if (r->body == HP_BODY_CHUNKED)
		return decode_chunked(c, c->in.len, append_decoded, status);
	size_t n = (size_t)HP_MIN((uint64_t)c->in.len, r->body_remaining);
	hp_buf_append(&r->body_buf, hp_buf_data(&c->in), n);
	hp_buf_consume(&c->in, n);
	r->body_remaining -= n;
	r->body_bytes += n;
	return true;
}

enum hp_step hp_step_body(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	struct hp_txn_req *r = &t->req;
	if (r->head_len > 0)
		prepare(c);
	if (r->body_mode != HP_RB_READING)
		return go_upstream(c);
	uint64_t limit = hp_client_cfg(c)->limits.request_buffering;
	for (;;) {
		int status = 0;
		if (c->in.len > 0 && !take_input(c, &status))
			return body_failed(c, status, status == 413 ? "request body too large"
								    : "invalid chunked request body");
		if (r->body_remaining == 0) {
			r->body_mode = HP_RB_BUFFERED;
			return go_upstream(c);
		}
		if (r->body_buf.len > limit)
			return start_streaming(c);
		if (c->in.len > 0)
			continue;
		/* Our 100 Continue first: the client may wait for it. */
		if (t->out.len > 0 && (!hp_client_flush(c) || c->closed))
			return HP_STEP_DONE;
		if (!hp_client_read(c, BODY_READ_LIMIT) || c->closed)
			return HP_STEP_DONE;
		if (c->in.len > 0)
			continue;
		if (c->eof)
			return body_failed(c, 400, "incomplete request body");
		if (c->timer_kind != CT_BODY)
			hp_client_arm_timer(c, CT_BODY, hp_client_cfg(c)->limits.body_timeout_ms);
		return HP_STEP_WAIT;
	}
}

/* ==== Streaming to the upstream ==== */

/* More of a streamed body from the client into body_ready (RAW) or
 * body_buf (CHUNKED). False when there is none to send now: waiting, or
 * the request failed (an error response is queued, or the client closed). */
static bool more_body(struct hp_client *c)
{
	struct hp_txn_req *r = &c->t->req;
	if (c->in.len == 0 && !hp_client_read(c, BODY_READ_LIMIT))
		return false;
	if (c->closed)
		return false;
	if (c->in.len == 0) {
		if (c->eof) {
			/* The client gave up half-way through its body: the upstream's
			 * connection is reset as this one closes. */
			hp_client_close(c);
			return false;
		}
		if (c->timer_kind != CT_BODY)
			hp_client_arm_timer(c, CT_BODY, hp_client_cfg(c)->limits.body_timeout_ms);
		return false;
	}
	if (r->body_mode == HP_RB_RAW) {
		uint64_t n = HP_MIN((uint64_t)c->in.len, r->body_remaining);
		r->body_ready = (size_t)n;
		r->body_remaining -= n;
		r->body_bytes += n;
		return n > 0;
	}
	int status = 0;
	if (!decode_chunked(c, BODY_READ_LIMIT, append_chunk, &status)) {
		body_failed(c, status, status == 413 ? "request body too large"
						     : "invalid chunked request body");
		return false;
	}
	return r->body_buf.len > 0;
}

/* Bytes waiting for the upstream, and how to let go of what was written. */
static const char *pending(struct hp_client *c, size_t *len)
{
	struct hp_txn_req *r = &c->t->req;
	switch (r->body_mode) {
	case HP_RB_RAW:
		*len = r->body_ready;
		return hp_buf_data(&c->in);
	case HP_RB_BUFFERED:
		*len = r->body_buf.len - r->body_sent;
		return hp_buf_data(&r->body_buf) + r->body_sent;
	default: /* CHUNKED */
		*len = r->body_buf.len;
		return hp_buf_data(&r->body_buf);
	}
}

static void written(struct hp_client *c, size_t n)
{
	struct hp_txn_req *r = &c->t->req;
	switch (r->body_mode) {
	case HP_RB_RAW:
		hp_buf_consume(&c->in, n);
		r->body_ready -= n;
		break;
	case HP_RB_BUFFERED:
		r->body_sent += n;
		break;
	default:
		hp_buf_consume(&r->body_buf, n);
		break;
	}
}

bool hp_reqbody_send(struct hp_client *c, bool *progress)
{
	struct hp_txn *t = c->t;
	struct hp_txn_req *r = &t->req;
	bool streamed = r->body_mode == HP_RB_RAW || r->body_mode == HP_RB_CHUNKED;
	while (!r->body_done && t->up.conn->writable) {
		size_t len;
		pending(c, &len);
		if (len == 0 && r->body_remaining > 0 && (!streamed || !more_body(c)))
			return true;
		const char *p = pending(c, &len);
		size_t w;
		bool ok = hp_reqbody_write_up(c, p, len, &w);
		written(c, w);
		*progress |= w > 0;
		if (w > 0 && c->timer_kind == CT_BODY)
			hp_client_arm_timer(c, CT_BODY, hp_client_cfg(c)->limits.body_timeout_ms);
		if (!ok)
			return false;
		pending(c, &len);
		if (len == 0 && r->body_remaining == 0) {
			r->body_done = true;
			if (c->timer_kind == CT_BODY)
				hp_client_disarm_timer(c);
		}
	}
	return true;
}
