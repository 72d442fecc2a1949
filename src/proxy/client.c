/* SPDX-License-Identifier: MIT */
/*
 * client.c - client connections: reading request heads, writing
 * responses, keep-alive, pipelining, timeouts and the responses hotpath
 * makes itself (errors).
 *
 * hp_client_drive() is the one place that advances a connection: it is
 * called on every socket event of the client or of its upstream
 * connection, and loops until neither side can make progress. The
 * transaction states (proxy_priv.h) are:
 *   IDLE        reading a request head (or idle between requests)
 *   CONNECTING  waiting for an upstream connection (forward.c)
 *   EXCHANGE    request going up, response coming down (forward.c)
 *   LOCAL       a response of our own is being flushed
 * A transaction ends when its whole response has been written; the
 * connection then closes or goes back to IDLE, where the next pipelined
 * request may already be waiting in the input buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/log.h"
#include "proxy/proxy_priv.h"

#define READ_CHUNK 16384
/* How long a closing connection keeps reading (and discarding) what the
 * client still sends. Closing with unread bytes makes the kernel send a
 * reset, which can destroy the response before the client reads it. */
#define LINGER_MS 2000

/* ==== Life cycle ==== */

static void on_client_event(struct hp_io *io, unsigned events);
static void on_client_timer(struct hp_timer *t);

static void arm_timer(struct hp_client *c, enum hp_client_timer kind, uint64_t ms)
{
	c->timer_kind = kind;
	hp_timer_start(c->w->loop, &c->timer, ms, on_client_timer);
}

static void disarm_timer(struct hp_client *c)
{
	c->timer_kind = CT_NONE;
	hp_timer_stop(c->w->loop, &c->timer);
}

void hp_client_accept(struct hp_worker *w, int fd, const struct sockaddr_storage *peer)
{
	struct hp_client *c = hp_xcalloc(1, sizeof(*c));
	c->magic = HP_CLIENT_MAGIC;
	c->w = w;
	c->peer = *peer;
	hp_net_format_ip((const struct sockaddr *)peer, c->peer_ip, sizeof(c->peer_ip));
	hp_arena_init(&c->arena, 2048);
	hp_list_link_tail(&w->clients, &c->link);
	c->writable = true;
	c->readable = true;
	if (hp_io_start(w->loop, &c->io, fd, on_client_event) < 0) {
		close(fd);
		c->closed = true;
		hp_worker_client_gone(w, c);
		hp_arena_fini(&c->arena);
		free(c);
		return;
	}
	arm_timer(c, CT_HEADER, hp_client_cfg(c)->limits.header_timeout_ms);
	hp_client_drive(c);
}

void hp_client_free_now(struct hp_client *c)
{
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	HP_ASSERT(c->closed);
	hp_buf_fini(&c->in);
	hp_buf_fini(&c->out);
	hp_buf_fini(&c->t.up_out);
	hp_wsnap_release(c->t.ws);
	c->t.ws = NULL;
	hp_arena_fini(&c->arena);
	c->magic = 0;
	free(c);
}

static void free_client(struct hp_deferred *d)
{
	struct hp_client *c = HP_CONTAINER_OF(d, struct hp_client, free_later);
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	/* A cache wake-up posted to this client is still queued: it frees. */
	if (c->post_pending)
		return;
	hp_client_free_now(c);
}

void hp_client_close(struct hp_client *c)
{
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	if (c->closed)
		return;
	c->closed = true;
	hp_forward_abort(c);
	disarm_timer(c);
	hp_io_close(&c->io);
	if (c->warm) {
		c->w->warm_active--;
		if (c->last_status < 200 || c->last_status >= 300)
			c->w->warm_failed++;
		hp_worker_warm_next(c->w);
	}
	hp_worker_client_gone(c->w, c);
	hp_loop_defer(c->w->loop, &c->free_later, free_client);
}

static void start_internal(struct hp_deferred *d)
{
	struct hp_client *c = HP_CONTAINER_OF(d, struct hp_client, start_later);
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	hp_client_drive(c);
}

struct hp_client *hp_client_spawn_internal(struct hp_worker *w, const char *head, size_t len,
					   bool refresh)
{
	struct hp_client *c = hp_xcalloc(1, sizeof(*c));
	c->magic = HP_CLIENT_MAGIC;
	c->w = w;
	c->internal = true;
	c->refresh = refresh;
	c->writable = true;
	strcpy(c->peer_ip, "127.0.0.1");
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&c->peer;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	hp_arena_init(&c->arena, 2048);
	hp_buf_append(&c->in, head, len);
	hp_list_link_tail(&w->clients, &c->link);
	w->nclients++;
	atomic_fetch_add(&w->px->nclients, 1);
	hp_loop_defer(w->loop, &c->start_later, start_internal);
	return c;
}

bool hp_client_is_idle(const struct hp_client *c)
{
	return c->t.state == TXN_IDLE && c->in.len == 0 && c->out.len == 0;
}

/* ==== Reading and writing ==== */

/* Read until the buffer holds <limit> bytes or the socket is drained.
 * Returns false if the connection failed (it is then closed). */
static bool read_client(struct hp_client *c, size_t limit)
{
	if (c->internal)
		return true;
	while (c->readable && !c->eof && c->in.len < limit) {
		hp_buf_reserve(&c->in, READ_CHUNK);
		size_t room = hp_buf_room(&c->in);
		ssize_t n = read(c->io.fd, hp_buf_tail(&c->in), room);
		if (n > 0) {
			hp_buf_commit(&c->in, (size_t)n);
			/* A short read means the socket is drained: with edge-triggered
			 * epoll, the next arrival raises a new event. */
			if ((size_t)n < room && !c->hup)
				c->readable = false;
		} else if (n == 0) {
			c->eof = true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->readable = false;
		} else if (errno != EINTR) {
			hp_client_close(c);
			return false;
		}
	}
	return true;
}

bool hp_client_read(struct hp_client *c, size_t limit)
{
	return read_client(c, limit);
}

static void finish_txn(struct hp_client *c);

/*
 * The client went away (a write failed) or stopped reading. If its
 * response is filling the cache, the fill goes on without it, like a
 * background refresh, so the requests coalesced behind it still get one
 * upstream response; otherwise the connection closes and aborts whatever
 * feeds it.
 */
static void client_gone(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	if (c->internal || t->fill == NULL || t->up == NULL || !t->req_done) {
		hp_client_close(c);
		return;
	}
	hp_log_debug("client %s left; finishing its cache fill", c->peer_ip);
	disarm_timer(c);
	hp_io_close(&c->io);
	c->internal = true;
	c->close_after = true;
	hp_buf_reset(&c->in);
	hp_buf_reset(&c->out);
}

/* Write what is pending. Returns false if the connection was closed. */
static bool flush_out(struct hp_client *c)
{
	if (c->t.serving_obj) {
		if (!hp_cached_flush_body(c))
			return false;
	} else if (c->internal) {
		hp_buf_reset(&c->out);
	}
	while (c->writable && c->out.len > 0) {
		ssize_t n = write(c->io.fd, hp_buf_data(&c->out), c->out.len);
		if (n > 0) {
			hp_buf_consume(&c->out, (size_t)n);
			if (c->timer_kind == CT_SEND)
				arm_timer(c, CT_SEND, hp_client_cfg(c)->limits.send_timeout_ms);
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->writable = false;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			client_gone(c);
			return !c->closed;
		}
	}
	/* Waiting for more of a body being filled is not the client's fault. */
	bool pending = c->out.len > 0 || (c->t.serving_obj && !c->t.stream_wait);
	if (pending && c->timer_kind != CT_SEND)
		arm_timer(c, CT_SEND, hp_client_cfg(c)->limits.send_timeout_ms);
	else if (!pending && c->timer_kind == CT_SEND)
		disarm_timer(c);
	return true;
}

/* ==== Lingering close ==== */

static void linger_read(struct hp_client *c)
{
	char sink[4096];
	for (;;) {
		ssize_t n = read(c->io.fd, sink, sizeof(sink));
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		hp_client_close(c);
		return;
	}
}

/* Close after a response: at once if the client already finished sending,
 * otherwise shut our side and drain its input for up to LINGER_MS. */
static void close_gracefully(struct hp_client *c)
{
	if (c->internal || c->eof) {
		hp_client_close(c);
		return;
	}
	if (shutdown(c->io.fd, SHUT_WR) < 0) {
		hp_client_close(c);
		return;
	}
	c->lingering = true;
	hp_buf_reset(&c->in);
	arm_timer(c, CT_LINGER, LINGER_MS);
	linger_read(c);
}

/* ==== Local responses ==== */

void hp_client_send_error(struct hp_client *c, int status, const char *reason)
{
	struct hp_txn *t = &c->t;
	if (t->resp_started) {
		/* Part of a response is out: the only honest signal left is to
		 * close without completing it. */
		hp_client_close(c);
		return;
	}
	hp_forward_abort(c);
	/* After a protocol error the framing is unknown, and after an error
	 * with unread body bytes they would be taken for the next request. */
	bool body_pending = t->req_body != HP_BODY_NONE && !t->req_done;
	if ((status >= 400 && status < 500) || body_pending || !t->client_keep_alive)
		c->close_after = true;
	char date[HP_HTTP_DATE_LEN + 1];
	hp_worker_date(c->w, date);
	char body[256];
	int blen;
	if (status >= 400) {
		/* "bad gateway: upstream timed out": the status in words, then why. */
		char phrase[64];
		snprintf(phrase, sizeof(phrase), "%s", hp_http_status_reason(status));
		for (char *p = phrase; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		blen = snprintf(body, sizeof(body), "%s: %s\n", phrase, reason);
	} else {
		blen = snprintf(body, sizeof(body), "%s\n", reason);
	}
	char head[512];
	int hlen = snprintf(head, sizeof(head),
			    "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: hotpath\r\n"
			    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
			    "%s\r\n",
			    status, hp_http_status_reason(status), date, blen,
			    c->close_after ? "Connection: close\r\n" : "");
	hp_buf_append(&c->out, head, (size_t)hlen);
	if (t->method != HP_METHOD_HEAD)
		hp_buf_append(&c->out, body, (size_t)blen);
	t->state = TXN_LOCAL;
	t->status = status;
	t->resp_started = true;
	t->resp_done = true;
	t->bytes_out = (size_t)hlen + (t->method != HP_METHOD_HEAD ? (size_t)blen : 0);
	if (t->start_ns == 0)
		t->start_ns = hp_clock_mono_ns();
	if (c->timer_kind != CT_SEND)
		disarm_timer(c);
}

/* ==== Request heads ==== */

static struct hp_http_limits head_limits(const struct hp_config *cfg)
{
	return (struct hp_http_limits){
		.max_request_line = cfg->limits.max_request_line,
		.max_head_bytes = cfg->limits.max_header_size,
		.max_headers = cfg->limits.max_header_fields,
	};
}

/* Reset the transaction, dropping its snapshot: a request that starts
 * after a reload runs on the new configuration. */
static void begin_txn(struct hp_client *c)
{
	struct hp_buf keep = c->t.up_out;
	hp_buf_reset(&keep);
	hp_wsnap_release(c->t.ws);
	memset(&c->t, 0, sizeof(c->t));
	c->t.up_out = keep;
}

/* Parse the head at the front of c->in. Returns true if it moved on. */
static bool read_head(struct hp_client *c)
{
	const struct hp_config *cfg = hp_client_cfg(c);
	if (!read_client(c, cfg->limits.max_header_size + 1))
		return false;
	if (c->in.len == 0) {
		if (c->eof)
			hp_client_close(c);
		return false;
	}
	if (c->timer_kind != CT_HEADER)
		arm_timer(c, CT_HEADER, cfg->limits.header_timeout_ms);
	struct hp_http_limits lim = head_limits(cfg);
	struct hp_http_request req;
	struct hp_http_header *hdrs = c->w->req_fields;
	int rc = hp_http_parse_request(hp_buf_data(&c->in), c->in.len, &req, hdrs, &lim);
	if (rc == HP_AGAIN) {
		if (c->eof)
			hp_client_close(c);
		return false;
	}
	begin_txn(c);
	c->t.ws = hp_wsnap_fetch(c->w->ws);
	if (rc == HP_ERR) {
		/* Nothing after a malformed head can be trusted. */
		hp_buf_reset(&c->in);
		c->close_after = true;
		hp_client_send_error(c, req.error_status ? req.error_status : 400,
				     req.error_reason ? req.error_reason : "bad request");
		return true;
	}
	disarm_timer(c);
	c->t.start_ns = hp_clock_mono_ns();
	hp_forward_start(c, &req, (size_t)rc);
	return true;
}

/* ==== Driving ==== */

static void finish_txn(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	hp_accesslog_record(c);
	c->last_status = t->status;
	c->requests++;
	bool keep = t->client_keep_alive && !c->close_after && !c->w->draining && !c->internal &&
		    (t->req_body == HP_BODY_NONE || t->req_done);
	hp_forward_abort(c);
	begin_txn(c);
	hp_arena_reset(&c->arena);
	if (!keep) {
		close_gracefully(c);
		return;
	}
	if (c->in.len == 0)
		arm_timer(c, CT_KEEPALIVE, hp_client_cfg(c)->limits.keepalive_timeout_ms);
	else
		arm_timer(c, CT_HEADER, hp_client_cfg(c)->limits.header_timeout_ms);
}

void hp_client_drive(struct hp_client *c)
{
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	if (c->lingering) {
		linger_read(c);
		return;
	}
	while (!c->closed) {
		if (!flush_out(c))
			return;
		struct hp_txn *t = &c->t;
		if (t->resp_done && c->out.len == 0 && !t->serving_obj) {
			finish_txn(c);
			if (c->closed || c->lingering)
				return;
			continue;
		}
		bool progress = false;
		switch (t->state) {
		case TXN_IDLE:
			progress = read_head(c);
			break;
		case TXN_CONNECTING:
		case TXN_EXCHANGE:
			progress = hp_forward_drive(c);
			break;
		case TXN_LOCAL:
		case TXN_WAITING:
			break;
		}
		if (!progress)
			return;
	}
}

static void on_client_event(struct hp_io *io, unsigned events)
{
	struct hp_client *c = HP_CONTAINER_OF(io, struct hp_client, io);
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	if (events & HP_IO_READ)
		c->readable = true;
	if (events & HP_IO_HUP)
		c->hup = true;
	if (events & HP_IO_WRITE)
		c->writable = true;
	hp_client_drive(c);
}

static void on_client_timer(struct hp_timer *tm)
{
	struct hp_client *c = HP_CONTAINER_OF(tm, struct hp_client, timer);
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	enum hp_client_timer kind = c->timer_kind;
	c->timer_kind = CT_NONE;
	switch (kind) {
	case CT_HEADER:
		if (c->in.len == 0 || c->t.resp_started) {
			hp_client_close(c);
			return;
		}
		hp_buf_reset(&c->in);
		hp_client_send_error(c, 408, "request header timeout");
		break;
	case CT_BODY:
		hp_client_send_error(c, 408, "request body timeout");
		break;
	case CT_QUEUE:
		hp_forward_retry_queued(c);
		break;
	case CT_SEND:
		client_gone(c);
		break;
	case CT_KEEPALIVE:
	case CT_LINGER:
	case CT_NONE:
		hp_client_close(c);
		return;
	}
	hp_client_drive(c);
}

void hp_client_arm_timer(struct hp_client *c, enum hp_client_timer kind, uint64_t ms)
{
	arm_timer(c, kind, ms);
}

void hp_client_disarm_timer(struct hp_client *c)
{
	disarm_timer(c);
}
