/* SPDX-License-Identifier: MIT */
/*
 * pool.c - per-worker keep-alive pools of upstream connections.
 *
 * A connection that served max_requests_per_conn requests or outlived
 * conn_lifetime is closed instead of kept (origins that leak per
 * connection, or DNS-based rotation behind one address).
 *
 * Idle connections are kept per server, most recently used first (the
 * warmest socket, and the least likely to have been closed by the server's
 * own idle timeout). Before reuse, a non-blocking MSG_PEEK tells whether the
 * server closed the connection or sent something unexpected while it sat
 * idle; either way it is dropped. That check cannot see a close still in
 * flight, so the proxy also retries an idempotent request once when a
 * reused connection fails before any response byte.
 *
 * Requests that found their server at max_connections wait in the pool's
 * FIFO of waiters. Every path that gives a slot back (release, close, a
 * failed connect) calls slot_freed(), which never calls a waiter itself: it
 * queues a deferred run, so the releaser's stack unwinds first. The run
 * calls, in arrival order, the waiters for which a slot is free right now
 * (read from the servers' atomics, so a waiter that takes the slot uses it
 * up for the next one). Slots are shared by all workers: a release on a
 * worker with no waiter that can use it posts a kick to the other pools of
 * the group that have waiters. Kicks come only from releases, never from a
 * run, so two workers cannot kick each other forever.
 *
 * With min_idle, the pool keeps at least that many connections open to
 * each server in service (idle, busy or connecting, this worker's): at
 * creation and then once a second a timer opens the missing ones, off any
 * request's path; a connection opened so goes idle once connected, like a
 * released one. Once a second at most, so a server that takes connections
 * and drops them costs min_idle connects a second, not a loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "upstream/upstream_priv.h"

struct hp_upstream_pool {
	struct hp_loop *loop;
	struct hp_upstream_group *group;
	struct hp_list *idle;   /* per server, struct hp_upstream_conn._link, MRU first */
	atomic_size_t *nidle;   /* per server; only the pool's worker stores, a scrape loads */
	size_t total_idle;
	struct hp_list waiters; /* struct hp_upstream_waiter._link, arrival order */
	atomic_size_t nwaiters; /* queued; read by other workers' kicks */
	struct hp_upstream_waiter *waking; /* whose callback runs now, or NULL */
	unsigned round;         /* wake-up runs so far */
	bool kick_after;        /* the pending run follows a release here */
	struct hp_deferred wake; /* the pending run */
	struct hp_post kick;    /* a slot freed on another worker */
	struct hp_list glink;   /* in group->pools, under its pools_lock */
	/* min_idle */
	size_t *open;           /* per server: connections this pool has open */
	struct hp_list warming; /* connects started for min_idle, by _link */
	struct hp_timer topup;  /* the next top-up */
};

#define TOPUP_INTERVAL_MS 1000

static void on_topup(struct hp_timer *t);

static void slot_freed(struct hp_upstream_pool *p, const struct hp_upstream_server *s);

/* The owner's count of idle connections to server <i>: a relaxed load and
 * store, no read-modify-write, since only the pool's worker changes it
 * (a scrape only loads). */
static inline size_t idle_of(const struct hp_upstream_pool *p, size_t i)
{
	return atomic_load_explicit(&p->nidle[i], memory_order_relaxed);
}

static inline void idle_add(struct hp_upstream_pool *p, size_t i, int delta)
{
	atomic_store_explicit(&p->nidle[i], idle_of(p, i) + (size_t)(ptrdiff_t)delta,
			      memory_order_relaxed);
}

struct hp_upstream_pool *hp_upstream_pool_create(struct hp_loop *loop,
						 struct hp_upstream_group *g)
{
	struct hp_upstream_pool *p = hp_xcalloc(1, sizeof(*p));
	p->loop = loop;
	p->group = g;
	p->idle = hp_xcalloc(g->nservers, sizeof(*p->idle));
	p->nidle = hp_xcalloc(g->nservers, sizeof(*p->nidle));
	p->open = hp_xcalloc(g->nservers, sizeof(*p->open));
	hp_list_init(&p->warming);
	for (size_t i = 0; i < g->nservers; i++)
		atomic_init(&p->nidle[i], 0);
	for (size_t i = 0; i < g->nservers; i++)
		hp_list_init(&p->idle[i]);
	hp_list_init(&p->waiters);
	atomic_init(&p->nwaiters, 0);
	pthread_mutex_lock(&g->pools_lock);
	hp_list_link_tail(&g->pools, &p->glink);
	pthread_mutex_unlock(&g->pools_lock);
	if (g->conf->min_idle > 0)
		hp_timer_start(loop, &p->topup, 0, on_topup);
	return p;
}

struct hp_upstream_group *hp_upstream_pool_group(const struct hp_upstream_pool *p)
{
	return p->group;
}

size_t hp_upstream_pool_idle(const struct hp_upstream_pool *p)
{
	return p->total_idle;
}

static void free_conn(struct hp_deferred *d)
{
	struct hp_upstream_conn *c = HP_CONTAINER_OF(d, struct hp_upstream_conn, _free);
	HP_CHECK_OBJ(c, HP_UPSTREAM_CONN_MAGIC);
	hp_buf_fini(&c->in);
	c->magic = 0;
	free(c);
}

static void unlink_idle(struct hp_upstream_conn *c)
{
	struct hp_upstream_pool *p = c->pool;
	hp_list_unlink(&c->_link);
	idle_add(p, c->server->index, -1);
	p->total_idle--;
}

/* Close and schedule the free; <in_use> says whether it counted as active. */
static void destroy_conn(struct hp_upstream_conn *c, bool in_use)
{
	struct hp_loop *loop = c->pool->loop;
	hp_timer_stop(loop, &c->timer);
	hp_io_close(&c->io);
	c->pool->open[c->server->index]--;
	if (in_use) {
		atomic_fetch_sub(&c->server->active, 1);
		slot_freed(c->pool, c->server);
	}
	hp_loop_defer(loop, &c->_free, free_conn);
}

static void on_idle_event(struct hp_io *io, unsigned events)
{
	(void)events;
	struct hp_upstream_conn *c = HP_CONTAINER_OF(io, struct hp_upstream_conn, io);
	HP_CHECK_OBJ(c, HP_UPSTREAM_CONN_MAGIC);
	/* An idle connection has nothing to say; any readiness means the server
	 * closed it or broke protocol. Writability alone is expected. */
	if (!(events & (HP_IO_READ | HP_IO_ERROR)))
		return;
	unlink_idle(c);
	destroy_conn(c, false);
}

static void on_idle_timeout(struct hp_timer *t)
{
	struct hp_upstream_conn *c = HP_CONTAINER_OF(t, struct hp_upstream_conn, timer);
	HP_CHECK_OBJ(c, HP_UPSTREAM_CONN_MAGIC);
	unlink_idle(c);
	destroy_conn(c, false);
}

static bool still_alive(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Whether <c> has served its max_requests_per_conn or outlived conn_lifetime. */
static bool worn_out(const struct hp_upstream_conn *c, const struct hp_config_upstream *conf)
{
	if (conf->max_requests_per_conn != 0 && c->requests >= conf->max_requests_per_conn)
		return true;
	return conf->conn_lifetime_ms != 0 &&
	       hp_clock_mono_ns() - c->created_ns >= conf->conn_lifetime_ms * 1000000;
}

struct hp_upstream_conn *hp_upstream_take(struct hp_upstream_pool *p,
					  struct hp_upstream_server *s, void *owner)
{
	struct hp_list *list = &p->idle[s->index];
	while (!hp_list_empty(list)) {
		struct hp_upstream_conn *c = HP_LIST_FIRST(list, struct hp_upstream_conn, _link);
		unlink_idle(c);
		if (!still_alive(c->io.fd) || worn_out(c, p->group->conf)) {
			destroy_conn(c, false);
			continue;
		}
		if (s->max_connections != 0 &&
		    atomic_fetch_add(&s->active, 1) >= s->max_connections) {
			/* At the limit: keep it idle for later. The count went
			 * up for a moment, and another worker may have seen it. */
			atomic_fetch_sub(&s->active, 1);
			slot_freed(p, s);
			hp_list_link_head(list, &c->_link);
			idle_add(p, s->index, 1);
			p->total_idle++;
			return NULL;
		}
		if (s->max_connections == 0)
			atomic_fetch_add(&s->active, 1);
		hp_timer_stop(p->loop, &c->timer);
		c->owner = owner;
		c->reused = true;
		c->readable = false;
		c->writable = true;
		return c;
	}
	return NULL;
}

int hp_upstream_connect(struct hp_upstream_pool *p, struct hp_upstream_server *s, void *owner,
			hp_io_fn *cb, struct hp_upstream_conn **out)
{
	unsigned before = atomic_fetch_add(&s->active, 1);
	if (s->max_connections != 0 && before >= s->max_connections) {
		atomic_fetch_sub(&s->active, 1);
		slot_freed(p, s);
		return -EBUSY;
	}
	int fd = hp_net_connect((const struct sockaddr *)&s->addr, s->addrlen);
	if (fd < 0) {
		atomic_fetch_sub(&s->active, 1);
		slot_freed(p, s);
		return fd;
	}
	struct hp_upstream_conn *c = hp_xcalloc(1, sizeof(*c));
	c->magic = HP_UPSTREAM_CONN_MAGIC;
	c->created_ns = hp_clock_mono_ns();
	c->server = s;
	c->pool = p;
	c->owner = owner;
	int rc = hp_io_start(p->loop, &c->io, fd, cb);
	if (rc < 0) {
		close(fd);
		atomic_fetch_sub(&s->active, 1);
		slot_freed(p, s);
		free(c);
		return rc;
	}
	p->open[s->index]++;
	*out = c;
	return 0;
}

/* ==== min_idle: connections opened in advance ==== */

/* A connect started by the top-up finished or failed. */
static void on_warm_event(struct hp_io *io, unsigned events)
{
	(void)events;
	struct hp_upstream_conn *c = HP_CONTAINER_OF(io, struct hp_upstream_conn, io);
	HP_CHECK_OBJ(c, HP_UPSTREAM_CONN_MAGIC);
	hp_list_unlink(&c->_link);
	if (hp_upstream_conn_check_connected(c) < 0) {
		hp_upstream_count_failure(c->server, HP_UPSTREAM_CONNECT_FAILED);
		destroy_conn(c, true);
		return;
	}
	hp_log_debug("upstream %s: connection to %s opened in advance", c->pool->group->conf->name,
		     c->server->name);
	hp_upstream_release(c, true);
}

static void on_warm_timeout(struct hp_timer *t)
{
	struct hp_upstream_conn *c = HP_CONTAINER_OF(t, struct hp_upstream_conn, timer);
	HP_CHECK_OBJ(c, HP_UPSTREAM_CONN_MAGIC);
	hp_list_unlink(&c->_link);
	hp_upstream_count_failure(c->server, HP_UPSTREAM_CONNECT_FAILED);
	destroy_conn(c, true);
}

/* Open what server <s> lacks of min_idle; stop at the first refusal
 * (max_connections reached, or no socket). */
static void top_up_server(struct hp_upstream_pool *p, struct hp_upstream_server *s)
{
	const struct hp_config_upstream *conf = p->group->conf;
	uint32_t want = conf->min_idle < conf->max_idle ? conf->min_idle : conf->max_idle;
	while (p->open[s->index] < want) {
		struct hp_upstream_conn *c;
		if (hp_upstream_connect(p, s, NULL, on_warm_event, &c) < 0)
			return;
		hp_list_link_tail(&p->warming, &c->_link);
		hp_timer_start(p->loop, &c->timer, conf->connect_timeout_ms, on_warm_timeout);
	}
}

static void on_topup(struct hp_timer *t)
{
	struct hp_upstream_pool *p = HP_CONTAINER_OF(t, struct hp_upstream_pool, topup);
	uint64_t now = hp_clock_mono_ns();
	for (size_t i = 0; i < p->group->nservers; i++) {
		struct hp_upstream_server *s = &p->group->servers[i];
		/* A server out of service would only fail them, or must not get
		 * traffic; it is topped up once it is back. */
		if (!hp_upstream_server_down(s, now))
			top_up_server(p, s);
	}
	hp_timer_start(p->loop, &p->topup, TOPUP_INTERVAL_MS, on_topup);
}

size_t hp_upstream_pool_open(const struct hp_upstream_pool *p, size_t i)
{
	HP_ASSERT(i < p->group->nservers);
	return p->open[i];
}

int hp_upstream_conn_check_connected(struct hp_upstream_conn *c)
{
	int err = hp_net_socket_error(c->io.fd);
	if (err != 0)
		return -err;
	c->connected = true;
	c->writable = true;
	return 0;
}

void hp_upstream_release(struct hp_upstream_conn *c, bool reusable)
{
	HP_CHECK_OBJ(c, HP_UPSTREAM_CONN_MAGIC);
	struct hp_upstream_pool *p = c->pool;
	const struct hp_config_upstream *conf = p->group->conf;
	size_t i = c->server->index;
	c->owner = NULL;
	if (!reusable || c->in.len != 0 || !c->connected || idle_of(p, i) >= conf->max_idle ||
	    worn_out(c, conf)) {
		destroy_conn(c, true);
		return;
	}
	atomic_fetch_sub(&c->server->active, 1);
	slot_freed(p, c->server);
	hp_buf_reset(&c->in);
	c->io.cb = on_idle_event;
	hp_timer_start(p->loop, &c->timer, conf->idle_timeout_ms, on_idle_timeout);
	hp_list_link_head(&p->idle[i], &c->_link);
	idle_add(p, i, 1);
	p->total_idle++;
}

static struct hp_upstream_server *same_address(struct hp_upstream_group *g,
					       const struct hp_upstream_server *s)
{
	for (size_t i = 0; i < g->nservers; i++) {
		struct hp_upstream_server *t = &g->servers[i];
		if (t->addrlen == s->addrlen && memcmp(&t->addr, &s->addr, s->addrlen) == 0)
			return t;
	}
	return NULL;
}

size_t hp_upstream_pool_adopt_idle(struct hp_upstream_pool *to, struct hp_upstream_pool *from)
{
	HP_ASSERT(to->loop == from->loop);
	size_t moved = 0;
	for (size_t i = 0; i < from->group->nservers; i++) {
		while (!hp_list_empty(&from->idle[i])) {
			struct hp_upstream_conn *c =
				HP_LIST_LAST(&from->idle[i], struct hp_upstream_conn, _link);
			unlink_idle(c);
			struct hp_upstream_server *s = same_address(to->group, c->server);
			const struct hp_config_upstream *conf = to->group->conf;
			if (s == NULL || idle_of(to, s->index) >= conf->max_idle) {
				destroy_conn(c, false);
				continue;
			}
			/* Oldest first, linked at the head: the MRU order survives. */
			from->open[i]--;
			to->open[s->index]++;
			c->server = s;
			c->pool = to;
			hp_timer_start(to->loop, &c->timer, conf->idle_timeout_ms, on_idle_timeout);
			hp_list_link_head(&to->idle[s->index], &c->_link);
			idle_add(to, s->index, 1);
			to->total_idle++;
			moved++;
		}
	}
	return moved;
}

void hp_upstream_pool_destroy(struct hp_upstream_pool *p)
{
	if (p == NULL)
		return;
	HP_ASSERT(hp_list_empty(&p->waiters));
	/* Out of the registry first: after that no worker posts a kick here. */
	pthread_mutex_lock(&p->group->pools_lock);
	hp_list_unlink(&p->glink);
	pthread_mutex_unlock(&p->group->pools_lock);
	(void)hp_loop_post_cancel(p->loop, &p->kick);
	hp_loop_cancel_defer(&p->wake);
	hp_timer_stop(p->loop, &p->topup);
	while (!hp_list_empty(&p->warming)) {
		struct hp_upstream_conn *c =
			HP_LIST_FIRST(&p->warming, struct hp_upstream_conn, _link);
		hp_list_unlink(&c->_link);
		hp_timer_stop(p->loop, &c->timer);
		hp_io_close(&c->io);
		atomic_fetch_sub(&c->server->active, 1);
		hp_buf_fini(&c->in);
		c->magic = 0;
		free(c);
	}
	for (size_t i = 0; i < p->group->nservers; i++) {
		while (!hp_list_empty(&p->idle[i])) {
			struct hp_upstream_conn *c =
				HP_LIST_FIRST(&p->idle[i], struct hp_upstream_conn, _link);
			unlink_idle(c);
			hp_timer_stop(p->loop, &c->timer);
			hp_io_close(&c->io);
			hp_buf_fini(&c->in);
			c->magic = 0;
			free(c);
		}
	}
	free(p->idle);
	free(p->nidle);
	free(p->open);
	free(p);
}

/* ==== Waiting for a connection slot ==== */

static bool slot_free(const struct hp_upstream_server *s)
{
	return s->max_connections == 0 || atomic_load(&s->active) < s->max_connections;
}

static bool any_slot_free(const struct hp_upstream_group *g)
{
	for (size_t i = 0; i < g->nservers; i++) {
		if (slot_free(&g->servers[i]))
			return true;
	}
	return false;
}

static bool can_use(const struct hp_upstream_pool *p, const struct hp_upstream_waiter *w)
{
	return w->server != NULL ? slot_free(w->server) : any_slot_free(p->group);
}

/* The oldest waiter that can use a free slot and was not called in this
 * run: one that waits again from its callback is skipped until the next
 * run, which keeps a run finite. */
static struct hp_upstream_waiter *next_waiter(struct hp_upstream_pool *p)
{
	for (struct hp_list *n = p->waiters.next; n != &p->waiters; n = n->next) {
		struct hp_upstream_waiter *w = HP_CONTAINER_OF(n, struct hp_upstream_waiter, _link);
		if (w->_round != p->round && can_use(p, w))
			return w;
	}
	return NULL;
}

static void unqueue(struct hp_upstream_waiter *w)
{
	struct hp_upstream_pool *p = w->_pool;
	hp_list_unlink(&w->_link);
	w->_pool = NULL;
	atomic_fetch_sub(&p->nwaiters, 1);
	atomic_fetch_sub(&p->group->waiting, 1);
}

/* The list is searched from its head after every callback, because a
 * callback may cancel or add waiters. */
static void run_waiters(struct hp_upstream_pool *p)
{
	p->round++;
	struct hp_upstream_waiter *w;
	while ((w = next_waiter(p)) != NULL) {
		w->_round = p->round;
		unqueue(w);
		p->waking = w;
		w->cb(w);
		p->waking = NULL;
	}
}

static void on_kick(struct hp_post *post)
{
	run_waiters(HP_CONTAINER_OF(post, struct hp_upstream_pool, kick));
}

/* Post a run to every other pool of the group that has waiters. The
 * counters are read without the lock: a waiter queued just after is
 * covered by the check hp_upstream_pool_wait() makes after queueing. */
static void kick_others(struct hp_upstream_pool *p)
{
	struct hp_upstream_group *g = p->group;
	if (atomic_load(&g->waiting) == atomic_load(&p->nwaiters))
		return;
	pthread_mutex_lock(&g->pools_lock);
	for (struct hp_list *n = g->pools.next; n != &g->pools; n = n->next) {
		struct hp_upstream_pool *q = HP_CONTAINER_OF(n, struct hp_upstream_pool, glink);
		if (q != p && atomic_load(&q->nwaiters) > 0)
			hp_loop_post_node(q->loop, &q->kick, on_kick);
	}
	pthread_mutex_unlock(&g->pools_lock);
}

static void on_wake(struct hp_deferred *d)
{
	struct hp_upstream_pool *p = HP_CONTAINER_OF(d, struct hp_upstream_pool, wake);
	bool kick = p->kick_after;
	p->kick_after = false;
	run_waiters(p);
	if (kick && any_slot_free(p->group))
		kick_others(p);
}

/* A slot of <s> was given back. Unlimited servers never make anyone wait,
 * so they cost nothing here. */
static void slot_freed(struct hp_upstream_pool *p, const struct hp_upstream_server *s)
{
	if (s->max_connections == 0)
		return;
	if (atomic_load(&p->nwaiters) > 0) {
		p->kick_after = true;
		hp_loop_defer(p->loop, &p->wake, on_wake);
		return;
	}
	kick_others(p);
}

void hp_upstream_pool_wait(struct hp_upstream_pool *p, struct hp_upstream_waiter *w,
			   struct hp_upstream_server *server, hp_upstream_waiter_fn *cb)
{
	HP_ASSERT(w->_pool == NULL);
	w->cb = cb;
	w->server = server;
	w->_pool = p;
	w->_round = p->round;
	if (w == p->waking)
		hp_list_link_head(&p->waiters, &w->_link);
	else
		hp_list_link_tail(&p->waiters, &w->_link);
	atomic_fetch_add(&p->nwaiters, 1);
	atomic_fetch_add(&p->group->waiting, 1);
	/* A slot freed on another worker after the caller's -EBUSY but before
	 * the counters above went up was not announced to us: look now. */
	if (can_use(p, w))
		hp_loop_defer(p->loop, &p->wake, on_wake);
}

void hp_upstream_pool_cancel_wait(struct hp_upstream_waiter *w)
{
	if (w->_pool != NULL)
		unqueue(w);
}

size_t hp_upstream_group_waiting(const struct hp_upstream_group *g)
{
	return atomic_load(&g->waiting);
}

size_t hp_upstream_pool_waiters(const struct hp_upstream_pool *p)
{
	return atomic_load(&p->nwaiters);
}

void hp_upstream_server_stats(struct hp_upstream_group *g, size_t i,
			      struct hp_upstream_server_stats *st)
{
	HP_ASSERT(i < g->nservers);
	const struct hp_upstream_server *s = &g->servers[i];
	st->active = atomic_load_explicit(&s->active, memory_order_relaxed);
	st->connect_failures = atomic_load_explicit(&s->connect_failures, memory_order_relaxed);
	st->timeouts = atomic_load_explicit(&s->timeouts, memory_order_relaxed);
	uint64_t now = hp_clock_mono_ns();
	st->down = hp_upstream_server_down(s, now);
	st->circuit = hp_upstream_circuit_state(s, now);
	st->circuit_opens = atomic_load_explicit(&s->circuit.opens, memory_order_relaxed);
	st->ejections = atomic_load_explicit(&s->total_ejections, memory_order_relaxed);
	st->retries = atomic_load_explicit(&s->total_retries, memory_order_relaxed);
	st->idle = 0;
	/* The lock only keeps pools from coming and going; workers take it
	 * only when a freed slot must wake another worker's waiters. */
	pthread_mutex_lock(&g->pools_lock);
	for (struct hp_list *n = g->pools.next; n != &g->pools; n = n->next)
		st->idle += idle_of(HP_CONTAINER_OF(n, struct hp_upstream_pool, glink), i);
	pthread_mutex_unlock(&g->pools_lock);
}

size_t hp_upstream_group_queued(struct hp_upstream_group *g)
{
	return atomic_load_explicit(&g->waiting, memory_order_relaxed);
}

void hp_upstream_count_failure(struct hp_upstream_server *s, enum hp_upstream_failure f)
{
	/* A failure is off the fast path, and workers share the server: an
	 * atomic add is the simple way to count it. */
	atomic_fetch_add_explicit(f == HP_UPSTREAM_TIMEOUT ? &s->timeouts : &s->connect_failures, 1,
				  memory_order_relaxed);
}
