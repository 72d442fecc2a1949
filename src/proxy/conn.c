/* SPDX-License-Identifier: MIT */
/*
 * conn.c - client connections as a transport: accepting, reading, writing
 * (plain, writev, sendfile), timers, lingering close, and the connections
 * without a socket that run background refreshes and warm-ups. What a
 * request means is the steps' business; an event here only sets a flag and
 * runs the connection's driver (c->drive, pipeline.c).
 *
 * Nothing is freed inside its own callback chain: a close marks the
 * connection and the loop frees it afterwards, unless a cache wake-up is
 * already posted to it, in which case that wake-up frees it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/log.h"
#include "proxy/proxy_priv.h"

#define READ_CHUNK 16384
/* How long a closing connection keeps reading (and discarding) what the
 * client still sends. Closing with unread bytes makes the kernel send a
 * reset, which can destroy the response before the client reads it. */
#define LINGER_MS 2000

static void on_client_event(struct hp_io *io, unsigned events);
static void on_client_timer(struct hp_timer *t);

/* ==== Timers ==== */

void hp_client_arm_timer(struct hp_client *c, enum hp_client_timer kind, uint64_t ms)
{
	c->timer_kind = kind;
	hp_timer_start(c->w->loop, &c->timer, ms, on_client_timer);
}


/* ==== Life cycle ==== */

static void link_to_worker(struct hp_worker *w, struct hp_client *c)
{
	hp_list_link_tail(&w->clients, &c->link);
	w->nclients++;
}

static void unlink_from_worker(struct hp_worker *w, struct hp_client *c)
{
	hp_list_unlink(&c->link);
	hp_ratelimit_leave(w->px->client_conns, c->conn_token);
	w->nclients--;
	atomic_fetch_sub(&w->px->nclients, 1);
	/* A draining worker stops with its last connection. */
	if (w->draining && w->nclients == 0)
		hp_loop_stop(w->loop);
}

static struct hp_client *client_new(struct hp_worker *w, hp_client_fn *drive)
{
	struct hp_client *c = hp_xcalloc(1, sizeof(*c));
	c->magic = HP_CLIENT_MAGIC;
	c->w = w;
	c->drive = drive;
	c->writable = true;
	return c;
}

/* The caller counted the connection in px->nclients. */
void hp_client_accept(struct hp_worker *w, int fd, const struct sockaddr_storage *peer,
		      uint64_t conn_token, hp_client_fn *drive)
{
	struct hp_client *c = client_new(w, drive);
	c->peer = *peer;
	c->conn_token = conn_token;
	hp_net_format_ip((const struct sockaddr *)peer, c->peer_ip, sizeof(c->peer_ip));
	c->readable = true;
	link_to_worker(w, c);
	if (hp_io_start(w->loop, &c->io, fd, on_client_event) < 0) {
		close(fd);
		c->closed = true;
		unlink_from_worker(w, c); /* gives back the counts */
		free(c);
		return;
	}
	hp_client_arm_timer(c, CT_HEADER, hp_client_cfg(c)->limits.header_timeout_ms);
	c->drive(c);
}

static const char too_many[] =
	"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
	"Content-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n";

static void refuse(int fd)
{
	(void)!write(fd, too_many, sizeof(too_many) - 1);
	close(fd);
}

/* limits.max_conns_per_client: one more connection of <peer>'s address
 * (an IPv6 one cut to client_ipv6_prefix bits), counted in <*token>, or
 * false when it holds the most already. By the peer: no request has been
 * read yet, so X-Forwarded-For cannot be known. */
static bool enter_client(struct hp_worker *w, const struct hp_config_limits *lim,
			 const struct sockaddr_storage *peer, uint64_t *token)
{
	*token = 0;
	if (lim->max_conns_per_client == 0 ||
	    (peer->ss_family != AF_INET && peer->ss_family != AF_INET6))
		return true;
	uint8_t key[HP_RATELIMIT_ADDR_KEY_MAX];
	size_t n = hp_ratelimit_address_key((const struct sockaddr *)peer,
					    lim->client_ipv6_prefix, key);
	return hp_ratelimit_enter(w->px->client_conns, key, n, lim->max_conns_per_client, token);
}

void hp_client_accept_pending(struct hp_worker *w, int lfd, hp_client_fn *drive)
{
	HP_CHECK_OBJ(w, HP_WORKER_MAGIC);
	const struct hp_config_limits *lim = &w->ws->snap->cfg->limits;
	uint32_t max = lim->max_connections;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len;
		int fd = hp_net_accept(lfd, &peer, &len);
		if (fd < 0) {
			if (fd != -EAGAIN)
				hp_log_warn("accept: %s", strerror(-fd));
			return;
		}
		if (max != 0 && atomic_fetch_add(&w->px->nclients, 1) >= max) {
			atomic_fetch_sub(&w->px->nclients, 1);
			refuse(fd);
			continue;
		}
		if (max == 0)
			atomic_fetch_add(&w->px->nclients, 1);
		uint64_t token;
		if (!enter_client(w, lim, &peer, &token)) {
			/* Cheapest for a client opening too many: nothing to read. */
			atomic_fetch_sub(&w->px->nclients, 1);
			close(fd);
			hp_metrics_count_conn_rejected(w->metrics);
			continue;
		}
		hp_client_accept(w, fd, &peer, token, drive);
	}
}

static void start_internal(struct hp_deferred *d)
{
	struct hp_client *c = HP_CONTAINER_OF(d, struct hp_client, start_later);
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	c->drive(c);
}

struct hp_client *hp_client_spawn_internal(struct hp_worker *w, const char *head, size_t len,
					   bool refresh, hp_client_fn *drive,
					   hp_client_fn *on_close)
{
	struct hp_client *c = client_new(w, drive);
	c->on_close = on_close;
	c->internal = true;
	c->refresh = refresh;
	strcpy(c->peer_ip, "127.0.0.1");
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&c->peer;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	hp_buf_append(&c->in, head, len);
	link_to_worker(w, c);
	atomic_fetch_add(&w->px->nclients, 1);
	/* Not on the caller's stack: it may be in the middle of a request. */
	hp_loop_defer(w->loop, &c->start_later, start_internal);
	return c;
}

static void free_now(struct hp_client *c)
{
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	HP_ASSERT(c->closed);
	/* The transaction's memory goes back to the worker only now: whatever
	 * closed the connection may still be reading it up the stack. */
	hp_txn_release(c);
	hp_buf_fini(&c->in);
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
	free_now(c);
}

void hp_client_close(struct hp_client *c)
{
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	if (c->closed)
		return;
	c->closed = true;
	hp_txn_abort_work(c);
	hp_client_disarm_timer(c);
	hp_io_close(&c->io);
	if (c->on_close != NULL)
		c->on_close(c);
	unlink_from_worker(c->w, c);
	hp_loop_defer(c->w->loop, &c->free_later, free_client);
}

bool hp_client_is_idle(const struct hp_client *c)
{
	return c->t == NULL && c->in.len == 0;
}

/* ==== Cache wake-ups ==== */

/* On the client's own worker: a fill it waited on can be read (or ended),
 * or the object it streams has grown (or ended). */
static void on_wake(struct hp_post *p)
{
	struct hp_client *c = HP_CONTAINER_OF(p, struct hp_client, wake);
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	c->post_pending = false;
	if (c->closed) {
		free_now(c);
		return;
	}
	if (c->t == NULL)
		return;
	struct hp_txn_cache *tc = &c->t->cache;
	if (tc->wait == HP_WAIT_FILL)
		tc->wait = HP_WAIT_WOKEN;
	else if (tc->wait == HP_WAIT_STREAM)
		tc->wait = HP_WAIT_NONE;
	else
		return;
	c->drive(c);
}

/* Any thread: only the post, which never allocates and touches no field
 * of the client that its worker reads. If the client closes meanwhile,
 * withdrawing the waiter fails and it waits for this post (post_pending). */
void hp_client_on_cache_event(struct hp_cache_waiter *w)
{
	struct hp_client *c = w->data;
	hp_loop_post_node(c->w->loop, &c->wake, on_wake);
}

/* ==== Reading ==== */

/* Whether bytes wait on the socket, without taking buffer memory for a
 * connection that has nothing to say (an idle keep-alive, or one that
 * connected and sent nothing yet). */
static bool has_input(struct hp_client *c)
{
	char b;
	ssize_t n = recv(c->io.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->readable = false;
		return false;
	}
	return true; /* data, EOF or an error: read() says which */
}

bool hp_client_read(struct hp_client *c, size_t limit)
{
	if (c->internal)
		return true;
	if (c->in.base == NULL) {
		/* A new connection starts readable without an event: look before
		 * taking memory. Later, readable means epoll saw bytes arrive. */
		if (!c->readable || c->eof || (c->requests == 0 && !has_input(c)))
			return true;
		hp_txn_take_input(c);
	}
	while (c->readable && !c->eof && c->in.len < limit) {
		hp_buf_reserve(&c->in, READ_CHUNK);
		size_t room = hp_buf_room(&c->in);
		ssize_t n = read(c->io.fd, hp_buf_tail(&c->in), room);
		if (n > 0) {
			hp_buf_commit(&c->in, (size_t)n);
			if (hp_client_cfg(c)->metrics_enabled)
				hp_metrics_count_bytes_in(c->w->metrics, (uint64_t)n);
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

/* ==== Writing ==== */

/*
 * The client went away (a write failed) or stopped reading. If its
 * response is filling the cache, the fill goes on without it, like a
 * background refresh, so the requests coalesced behind it still get one
 * upstream response; otherwise the connection closes and aborts whatever
 * feeds it.
 */
void hp_client_gone(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	bool filling = t != NULL && (t->cache.fill != NULL || t->cache.storing);
	if (c->internal || !filling || t->up.conn == NULL || !t->req.body_done) {
		hp_client_close(c);
		return;
	}
	hp_log_debug("client %s left; finishing its cache fill", c->peer_ip);
	hp_client_disarm_timer(c);
	hp_io_close(&c->io);
	c->internal = true;
	c->close_after = true;
	hp_buf_reset(&c->in);
	hp_buf_reset(&c->t->out);
}

/* A write made progress: the client is reading, so its send timer restarts. */
static void wrote(struct hp_client *c)
{
	if (c->timer_kind == CT_SEND)
		hp_client_arm_timer(c, CT_SEND, hp_client_cfg(c)->limits.send_timeout_ms);
}

/* The socket is full: from now on the client has send_timeout to read. */
static void blocked(struct hp_client *c)
{
	c->writable = false;
	if (c->timer_kind != CT_SEND)
		hp_client_arm_timer(c, CT_SEND, hp_client_cfg(c)->limits.send_timeout_ms);
}

/* After a failed write: 0 (the socket is full) or -1 (the client is gone). */
static ssize_t write_failed(struct hp_client *c)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		blocked(c);
		return 0;
	}
	hp_client_gone(c);
	return -1;
}

bool hp_client_flush(struct hp_client *c)
{
	if (c->t == NULL)
		return !c->closed;
	if (c->internal)
		hp_buf_reset(&c->t->out);
	while (c->writable && c->t->out.len > 0) {
		ssize_t n = write(c->io.fd, hp_buf_data(&c->t->out), c->t->out.len);
		if (n > 0) {
			hp_buf_consume(&c->t->out, (size_t)n);
			wrote(c);
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (write_failed(c) < 0) {
			return !c->closed;
		}
	}
	if (c->t->out.len > 0 && !c->writable)
		blocked(c);
	else if (c->t->out.len == 0 && c->timer_kind == CT_SEND)
		hp_client_disarm_timer(c);
	return true;
}

ssize_t hp_client_writev(struct hp_client *c, const struct iovec *iov, int n)
{
	if (c->internal) {
		size_t total = 0;
		for (int i = 0; i < n; i++)
			total += iov[i].iov_len;
		return (ssize_t)total;
	}
	if (!c->writable)
		return 0;
	for (;;) {
		ssize_t w = writev(c->io.fd, iov, n);
		if (w >= 0) {
			wrote(c);
			return w;
		}
		if (errno != EINTR)
			return write_failed(c);
	}
}

ssize_t hp_client_sendfile(struct hp_client *c, int fd, uint64_t off, size_t len)
{
	if (c->internal) {
		hp_buf_reset(&c->t->out);
		return (ssize_t)len;
	}
	/* The head leaves with MSG_MORE, in the same segment as the body. */
	while (c->writable && c->t->out.len > 0) {
		ssize_t n = send(c->io.fd, hp_buf_data(&c->t->out), c->t->out.len,
				 MSG_MORE | MSG_NOSIGNAL);
		if (n > 0)
			hp_buf_consume(&c->t->out, (size_t)n);
		else if (n < 0 && errno == EINTR)
			continue;
		else if (write_failed(c) < 0)
			return -1;
	}
	if (!c->writable || c->t->out.len > 0)
		return 0;
	for (;;) {
		off_t o = (off_t)off;
		ssize_t w = sendfile(c->io.fd, fd, &o, len);
		if (w > 0) {
			wrote(c);
			return w;
		}
		if (w == 0) {
			/* The file is shorter than the object says: never send less
			 * than Content-Length promised and keep the connection. */
			hp_client_close(c);
			return -1;
		}
		if (errno != EINTR)
			return write_failed(c);
	}
}

/* ==== Lingering close ==== */

void hp_client_linger_read(struct hp_client *c)
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

void hp_client_close_gracefully(struct hp_client *c)
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
	hp_client_arm_timer(c, CT_LINGER, LINGER_MS);
	hp_client_linger_read(c);
}

/* ==== Events ==== */

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
	if (c->lingering) {
		hp_client_linger_read(c);
		return;
	}
	c->drive(c);
}

/* Timers that only end the connection are handled here; those that need
 * an answer (408) or a retry go to the driver through c->expired. */
static void on_client_timer(struct hp_timer *tm)
{
	struct hp_client *c = HP_CONTAINER_OF(tm, struct hp_client, timer);
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	enum hp_client_timer kind = c->timer_kind;
	c->timer_kind = CT_NONE;
	switch (kind) {
	case CT_HEADER:
		if (c->in.len == 0 || (c->t != NULL && c->t->resp.started)) {
			hp_client_close(c);
			return;
		}
		break;
	case CT_SEND:
		hp_client_gone(c);
		return;
	case CT_BODY:
	case CT_QUEUE:
	case CT_DELAY:
		break;
	case CT_KEEPALIVE:
	case CT_LINGER:
	case CT_NONE:
		hp_client_close(c);
		return;
	}
	c->expired = kind;
	c->drive(c);
}
