/* SPDX-License-Identifier: MIT */
/*
 * client.c - one worker's connection to Redis, driven by the worker's own
 * epoll loop through hiredis's adapter hooks, and the shared counters.
 *
 * The loop is edge-triggered and registers a descriptor once for reading
 * and writing, while hiredis reads and writes once per call and asks for
 * interest with addRead/addWrite. The adapter bridges the two: on a read
 * edge it calls hiredis until the socket has no bytes left (FIONREAD),
 * since no second edge will come for bytes already there; addWrite queues
 * a deferred flush, which also batches every command issued during one
 * round of events into one write (pipelining for free).
 *
 * hiredis 0.14 has no command timeouts, so each GET carries a timer of the
 * worker's loop. Replies come in order, so when the oldest command times
 * out the connection is useless for everything queued behind it: a
 * timeout, like an error, counts towards the circuit breaker, which after
 * BREAKER_ERRORS consecutive failures closes the connection (failing what
 * is pending at once) and reconnects after a back-off that doubles from
 * BACKOFF_MIN_MS to BACKOFF_MAX_MS. A new connection is half-open: no
 * request uses it until a PING comes back (a stopped server still accepts
 * connections), and only then does the back-off reset.
 *
 * hiredis frees its context inside its own calls (a lost connection), so
 * every call into it is followed by a check of cl->ac, which the cleanup
 * hook clears.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "core/clock.h"
#include "core/log.h"
#include "l2/l2.h"
#include "net/net.h"

#define BREAKER_ERRORS 3        /* consecutive failures that open the circuit */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define MAX_PENDING 4096        /* GETs in flight on one worker beyond which we skip */
#define PROBE_MS 1000           /* limit of the PING that closes the circuit again */
#define MAX_NODES 255           /* cluster nodes one router knows (a byte per slot) */
#define NO_NODE 0xff
#define MAX_REDIRECTS 5         /* MOVED/ASK hops of one command */

struct hp_l2 {
	char *ip;
	int port;
	uint64_t timeout_ms;
	char *prefix;
	size_t prefix_len;
	atomic_uint_fast64_t hits, misses, errors, timeouts, writes, skipped, connects;
	atomic_uint_fast64_t bus_published, bus_received, bus_resyncs;
	atomic_uint_fast64_t redirects, slot_refreshes;
	atomic_uint connected, workers;
	atomic_uint nodes;             /* cluster: the most nodes one router knows */
	atomic_bool bus_up;
	char *channel;                 /* prefix + "inv" */
	bool cluster;
	struct hp_l2_addr *seeds;      /* cluster: where to ask for the slot map */
	size_t nseeds;
};

enum state {
	ST_DOWN,        /* no connection; the reconnect timer is armed */
	ST_CONNECTING,  /* connect in progress */
	ST_PROBING,     /* connected, a PING must come back before any request uses it
			   (half-open: a stopped server still accepts connections) */
	ST_UP,          /* connected, circuit closed */
};

struct hp_l2_client {
	struct hp_l2 *l2;
	struct hp_loop *loop;
	redisAsyncContext *ac;         /* NULL when there is no connection */
	enum state state;
	struct hp_io io;               /* ac's socket on the loop */
	bool want_read, want_write;    /* hiredis's interest (its ev hooks) */
	struct hp_deferred flush;      /* writes what commands queued this round */
	struct hp_deferred trip;       /* closes a failing connection outside hiredis */
	struct hp_timer retry;         /* reconnect after back-off; the PING's limit */
	uint64_t backoff_ms;
	unsigned failures;             /* consecutive failed or timed-out commands */
	unsigned pending;              /* GETs in flight */
	struct hp_buf key;             /* scratch for prefixed keys */
	bool destroying;
	/* a subscriber (hp_l2_subscriber_create) */
	hp_l2_message_fn *on_message;  /* NULL for a command client */
	void *message_data;
	bool subscribed_once;          /* a later subscription is a resync */
	char gcra_sha[48];             /* SHA1 of gcra_script once loaded on this connection */
	char *ip;                      /* where this connection goes */
	int port;
	size_t seed;                   /* a cluster's subscriber: the seed it tries now */
	/* a cluster node's connection: the worker's router */
	struct hp_l2_client *router;
	/* a cluster router (hp_l2_client_create with l2->cluster): no
	 * connection of its own */
	struct hp_l2_client **nodes;
	size_t nnodes;
	uint8_t *slots;                /* HP_L2_SLOTS node indexes, NO_NODE unknown */
	bool map_loaded, refreshing;
};

enum op_kind {
	OP_GET,
	OP_LOCK,
	OP_POLL,
	OP_GCRA,
	OP_JOURNAL,
};

/* GCRA (ratelimit.h) in Redis, on Redis's clock in microseconds, so that
 * instances with different clocks share one timeline. Lua numbers are
 * doubles: microseconds since 1970 stay exact (below 2^53). Returns
 * {allowed, remaining, retry_us, reset_us, delay_us}. */
static const char gcra_script[] =
	"local now = redis.call('TIME') "
	"now = tonumber(now[1]) * 1000000 + tonumber(now[2]) "
	"local T = tonumber(ARGV[1]) "
	"local tau = tonumber(ARGV[2]) * T "
	"local t = tonumber(redis.call('GET', KEYS[1]) or 0) "
	"if t > now + tau + T then t = now + tau + T end "
	"if t < now then t = now end "
	"if t - now > tau then return {0, 0, t - now - tau, t - now, 0} end "
	"local delay = t - now "
	"t = t + T "
	"redis.call('SET', KEYS[1], string.format('%.0f', t), 'PX', math.ceil((t - now) / 1000) + 1) "
	"return {1, math.floor((now + tau + T - t) / T), 0, t - now, delay}";

struct hp_l2_op {
	struct hp_l2_client *cl;
	enum op_kind kind;
	hp_l2_get_fn *cb;              /* NULL once answered, timed out or cancelled */
	void *data;
	struct hp_timer timer;         /* the command's timeout */
};

static void connect_now(struct hp_l2_client *cl);

static void on_retry(struct hp_timer *t)
{
	connect_now(HP_CONTAINER_OF(t, struct hp_l2_client, retry));
}

/* ==== Shared state ==== */

struct hp_l2 *hp_l2_create(const struct hp_l2_conf *conf)
{
	struct hp_l2 *l2 = hp_xcalloc(1, sizeof(*l2));
	l2->ip = hp_xstrdup(conf->ip);
	l2->port = conf->port;
	l2->timeout_ms = conf->timeout_ms ? conf->timeout_ms : 20;
	l2->prefix = hp_xstrdup(conf->prefix ? conf->prefix : "");
	l2->prefix_len = strlen(l2->prefix);
	l2->cluster = conf->cluster;
	l2->nseeds = conf->nseeds > 0 ? conf->nseeds : 1;
	l2->seeds = hp_xcalloc(l2->nseeds, sizeof(*l2->seeds));
	for (size_t i = 0; i < l2->nseeds; i++) {
		const struct hp_l2_addr *a = conf->nseeds > 0 ? &conf->seeds[i]
							       : &(struct hp_l2_addr){conf->ip, conf->port};
		l2->seeds[i] = (struct hp_l2_addr){hp_xstrdup(a->ip), a->port};
	}
	size_t n = l2->prefix_len + 4;
	l2->channel = hp_xmalloc(n);
	snprintf(l2->channel, n, "%sinv", l2->prefix);
	return l2;
}

void hp_l2_destroy(struct hp_l2 *l2)
{
	if (l2 == NULL)
		return;
	free(l2->ip);
	for (size_t i = 0; i < l2->nseeds; i++)
		free((char *)l2->seeds[i].ip);
	free(l2->seeds);
	free(l2->prefix);
	free(l2->channel);
	free(l2);
}

static uint64_t load(const atomic_uint_fast64_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

static void bump(atomic_uint_fast64_t *a)
{
	atomic_fetch_add_explicit(a, 1, memory_order_relaxed);
}

void hp_l2_get_stats(const struct hp_l2 *l2, struct hp_l2_stats *out)
{
	*out = (struct hp_l2_stats){
		.hits = load(&l2->hits),
		.misses = load(&l2->misses),
		.errors = load(&l2->errors),
		.timeouts = load(&l2->timeouts),
		.writes = load(&l2->writes),
		.skipped = load(&l2->skipped),
		.connects = load(&l2->connects),
		.connected = atomic_load_explicit(&l2->connected, memory_order_relaxed),
		.workers = atomic_load_explicit(&l2->workers, memory_order_relaxed),
		.bus_up = atomic_load_explicit(&l2->bus_up, memory_order_relaxed),
		.bus_published = load(&l2->bus_published),
		.bus_received = load(&l2->bus_received),
		.bus_resyncs = load(&l2->bus_resyncs),
		.cluster = l2->cluster,
		.nodes = l2->cluster ? atomic_load_explicit(&l2->nodes, memory_order_relaxed) : 1,
		.redirects = load(&l2->redirects),
		.slot_refreshes = load(&l2->slot_refreshes),
	};
}

void hp_l2_note_miss(struct hp_l2 *l2)
{
	bump(&l2->misses);
}

void hp_l2_note_received(struct hp_l2 *l2)
{
	bump(&l2->bus_received);
}

/* ==== The adapter: hiredis on the worker's loop ==== */

static void flush_writes(struct hp_deferred *d)
{
	struct hp_l2_client *cl = HP_CONTAINER_OF(d, struct hp_l2_client, flush);
	/* One write per call: go on while it makes progress, since the edge
	 * that would call us again came long ago. */
	while (cl->ac != NULL && cl->want_write) {
		size_t before = cl->ac->c.obuf != NULL ? sdslen(cl->ac->c.obuf) : 0;
		redisAsyncHandleWrite(cl->ac);
		if (cl->ac == NULL || cl->ac->c.obuf == NULL || sdslen(cl->ac->c.obuf) == before ||
		    sdslen(cl->ac->c.obuf) == 0)
			break;
	}
}

static size_t bytes_waiting(int fd)
{
	int n = 0;
	return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (size_t)n : 0;
}

static void on_io(struct hp_io *io, unsigned events)
{
	struct hp_l2_client *cl = HP_CONTAINER_OF(io, struct hp_l2_client, io);
	if ((events & HP_IO_WRITE) && cl->ac != NULL && cl->want_write)
		flush_writes(&cl->flush);
	if (!(events & (HP_IO_READ | HP_IO_ERROR | HP_IO_HUP)) || cl->ac == NULL)
		return;
	/* Until the socket is empty; and once more after a hang-up, so that
	 * hiredis sees the end of the stream and lets go of the connection. */
	do {
		redisAsyncHandleRead(cl->ac);
	} while (cl->ac != NULL && bytes_waiting(cl->ac->c.fd) > 0);
	if (cl->ac != NULL && (events & (HP_IO_ERROR | HP_IO_HUP)))
		redisAsyncHandleRead(cl->ac);
}

static void ev_add_read(void *p)
{
	((struct hp_l2_client *)p)->want_read = true;
}

static void ev_del_read(void *p)
{
	((struct hp_l2_client *)p)->want_read = false;
}

static void ev_add_write(void *p)
{
	struct hp_l2_client *cl = p;
	cl->want_write = true;
	hp_loop_defer(cl->loop, &cl->flush, flush_writes);
}

static void ev_del_write(void *p)
{
	((struct hp_l2_client *)p)->want_write = false;
}

/* hiredis is about to free the context (and close its socket). */
static void ev_cleanup(void *p)
{
	struct hp_l2_client *cl = p;
	hp_io_stop(&cl->io);
	hp_loop_cancel_defer(&cl->flush);
	cl->want_read = cl->want_write = false;
	cl->ac = NULL;
}

/* ==== Connection and circuit ==== */

/* The gauges: workers connected, and whether the bus is up. */
static void note_up(struct hp_l2_client *cl, bool up)
{
	if (cl->on_message != NULL)
		atomic_store_explicit(&cl->l2->bus_up, up, memory_order_relaxed);
	else if (up)
		atomic_fetch_add_explicit(&cl->l2->connected, 1, memory_order_relaxed);
	else
		atomic_fetch_sub_explicit(&cl->l2->connected, 1, memory_order_relaxed);
}

static void refresh_slots(struct hp_l2_client *router);

static void schedule_reconnect(struct hp_l2_client *cl)
{
	if (cl->state == ST_UP)
		note_up(cl, false);
	cl->state = ST_DOWN;
	if (cl->destroying)
		return;
	if (cl->on_message != NULL && cl->l2->nseeds > 1) {
		/* Any node carries a cluster's messages: try the next one. */
		cl->seed = (cl->seed + 1) % cl->l2->nseeds;
		free(cl->ip);
		cl->ip = hp_xstrdup(cl->l2->seeds[cl->seed].ip);
		cl->port = cl->l2->seeds[cl->seed].port;
	}
	cl->backoff_ms = hp_backoff_next(cl->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
	hp_timer_start(cl->loop, &cl->retry, cl->backoff_ms, on_retry);
}

static void on_ping_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct hp_l2_client *cl = ac->data;
	redisReply *reply = r;
	(void)privdata;
	if (cl == NULL || cl->state != ST_PROBING || reply == NULL ||
	    reply->type == REDIS_REPLY_ERROR)
		return;
	hp_timer_stop(cl->loop, &cl->retry);
	cl->state = ST_UP;
	cl->backoff_ms = 0;
	bump(&cl->l2->connects);
	note_up(cl, true);
	if (cl->router != NULL && !cl->router->map_loaded)
		refresh_slots(cl->router);
}

/* Subscriber: the subscription's confirmation closes the circuit (as the
 * PING does for a client), then every message of the channel. */
static void on_sub_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct hp_l2_client *cl = ac->data;
	redisReply *reply = r;
	(void)privdata;
	if (cl == NULL || reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 3 || reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	const char *what = reply->element[0]->str;
	if (strcmp(what, "subscribe") == 0 && cl->state == ST_PROBING) {
		hp_timer_stop(cl->loop, &cl->retry);
		cl->state = ST_UP;
		cl->backoff_ms = 0;
		note_up(cl, true);
		enum hp_l2_bus_event ev = HP_L2_BUS_SUBSCRIBED;
		if (cl->subscribed_once) {
			bump(&cl->l2->bus_resyncs);
			ev = HP_L2_BUS_RESYNC;
		}
		cl->subscribed_once = true;
		cl->on_message(cl->message_data, ev, NULL, 0);
	} else if (strcmp(what, "message") == 0 &&
		   reply->element[2]->type == REDIS_REPLY_STRING) {
		cl->on_message(cl->message_data, HP_L2_BUS_MESSAGE, reply->element[2]->str,
			       (size_t)reply->element[2]->len);
	}
}

static void trip_circuit(struct hp_deferred *d);

static void on_script_loaded(redisAsyncContext *ac, void *r, void *privdata)
{
	struct hp_l2_client *cl = ac->data;
	redisReply *reply = r;
	(void)privdata;
	if (cl != NULL && reply != NULL && reply->type == REDIS_REPLY_STRING &&
	    (size_t)reply->len < sizeof(cl->gcra_sha)) {
		memcpy(cl->gcra_sha, reply->str, (size_t)reply->len);
		cl->gcra_sha[reply->len] = '\0';
	}
}

/* Connected but silent: close and try again later, longer. */
static void on_probe_timeout(struct hp_timer *t)
{
	struct hp_l2_client *cl = HP_CONTAINER_OF(t, struct hp_l2_client, retry);
	if (cl->state == ST_PROBING)
		hp_loop_defer(cl->loop, &cl->trip, trip_circuit);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct hp_l2_client *cl = ac->data;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this returns. */
		hp_log_debug("l2: connect to %s:%d failed: %s", cl->ip, cl->port,
			     ac->errstr);
		schedule_reconnect(cl);
		return;
	}
	cl->state = ST_PROBING;
	cl->failures = 0;
	cl->gcra_sha[0] = '\0';
	if (cl->on_message == NULL)
		(void)redisAsyncCommand(cl->ac, on_script_loaded, NULL, "SCRIPT LOAD %s", gcra_script);
	int rc = cl->on_message != NULL
		 ? redisAsyncCommand(cl->ac, on_sub_reply, NULL, "SUBSCRIBE %s", cl->l2->channel)
		 : redisAsyncCommand(cl->ac, on_ping_reply, NULL, "PING");
	if (rc == REDIS_OK)
		hp_timer_start(cl->loop, &cl->retry, HP_MAX(cl->l2->timeout_ms, (uint64_t)PROBE_MS),
			       on_probe_timeout);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct hp_l2_client *cl = ac->data;
	(void)status;
	if (cl->state == ST_UP && !cl->destroying)
		hp_log_info("l2: lost the connection to Redis %s:%d; L1 only until it is back",
			    cl->ip, cl->port);
	schedule_reconnect(cl);
}

static void connect_now(struct hp_l2_client *cl)
{
	cl->state = ST_CONNECTING;
	redisAsyncContext *ac = redisAsyncConnect(cl->ip, cl->port);
	if (ac == NULL || ac->err) {
		if (ac != NULL)
			redisAsyncFree(ac);
		schedule_reconnect(cl);
		return;
	}
	ac->data = cl;
	ac->ev.data = cl;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	cl->ac = ac;
	if (hp_io_start(cl->loop, &cl->io, ac->c.fd, on_io) < 0) {
		redisAsyncFree(ac); /* cleanup clears cl->ac; no callback was connected */
		schedule_reconnect(cl);
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	/* hiredis learns that the connect finished on the first write event:
	 * the edge epoll reports when the connect completes (or at once, on
	 * registration, if it already has). A flush now would be too early. */
	cl->want_write = true;
}

/* Close a connection that keeps failing; outside any hiredis call. */
static void trip_circuit(struct hp_deferred *d)
{
	struct hp_l2_client *cl = HP_CONTAINER_OF(d, struct hp_l2_client, trip);
	if (cl->ac == NULL || (cl->state != ST_UP && cl->state != ST_PROBING))
		return;
	if (cl->state == ST_UP)
		hp_log_info("l2: Redis %s:%d failed %u commands in a row; circuit open, L1 only",
			    cl->ip, cl->port, cl->failures);
	/* Fails every pending command (their callbacks run now), then the
	 * disconnect callback schedules the reconnect. */
	redisAsyncFree(cl->ac);
	if (cl->state != ST_DOWN)
		schedule_reconnect(cl); /* not connected as hiredis saw it: no callback */
}

static void count_failure(struct hp_l2_client *cl)
{
	bump(&cl->l2->errors);
	if (++cl->failures >= BREAKER_ERRORS && cl->state == ST_UP)
		hp_loop_defer(cl->loop, &cl->trip, trip_circuit);
}

static void count_success(struct hp_l2_client *cl)
{
	cl->failures = 0;
}

/* One connection to <ip>:<port>; <router> when it is a cluster node's. */
static struct hp_l2_client *connection_new(struct hp_l2 *l2, struct hp_loop *loop,
					   const char *ip, int port,
					   struct hp_l2_client *router)
{
	struct hp_l2_client *cl = hp_xcalloc(1, sizeof(*cl));
	cl->l2 = l2;
	cl->loop = loop;
	cl->io.fd = -1;
	cl->ip = hp_xstrdup(ip);
	cl->port = port;
	cl->router = router;
	return cl;
}

static struct hp_l2_client *client_new(struct hp_l2 *l2, struct hp_loop *loop,
				       hp_l2_message_fn *cb, void *data)
{
	struct hp_l2_client *cl =
		connection_new(l2, loop, l2->seeds[0].ip, l2->seeds[0].port, NULL);
	cl->on_message = cb;
	cl->message_data = data;
	if (cb == NULL)
		atomic_fetch_add_explicit(&l2->workers, 1, memory_order_relaxed);
	connect_now(cl);
	return cl;
}

/* ==== Cluster routing ==== */

/* The index of the router's node at <ip>:<port>, connecting to it if it
 * is new; NO_NODE when there are too many. */
static unsigned node_at(struct hp_l2_client *r, const char *ip, int port)
{
	for (size_t i = 0; i < r->nnodes; i++)
		if (r->nodes[i]->port == port && strcmp(r->nodes[i]->ip, ip) == 0)
			return (unsigned)i;
	if (r->nnodes >= MAX_NODES || r->destroying)
		return NO_NODE;
	r->nodes = hp_xrealloc(r->nodes, (r->nnodes + 1) * sizeof(*r->nodes));
	struct hp_l2_client *n = connection_new(r->l2, r->loop, ip, port, r);
	r->nodes[r->nnodes] = n;
	connect_now(n);
	unsigned known = (unsigned)++r->nnodes;
	unsigned seen = atomic_load_explicit(&r->l2->nodes, memory_order_relaxed);
	while (seen < known && !atomic_compare_exchange_weak_explicit(
				       &r->l2->nodes, &seen, known, memory_order_relaxed,
				       memory_order_relaxed))
		;
	return known - 1;
}

/* A node that can take a command now, NULL if none. */
static struct hp_l2_client *any_ready_node(struct hp_l2_client *r)
{
	for (size_t i = 0; i < r->nnodes; i++)
		if (hp_l2_client_ready(r->nodes[i]))
			return r->nodes[i];
	return NULL;
}

/* Where the command on the Redis key <name> goes: <cl> itself for one
 * server; for a cluster the node owning its slot (which may be down: then
 * the command is skipped, as for one server down), or, slot unknown, any
 * node up, which redirects us. */
static struct hp_l2_client *node_for(struct hp_l2_client *cl, const char *name, size_t len)
{
	if (cl == NULL || cl->slots == NULL)
		return cl;
	unsigned i = cl->slots[hp_l2_key_slot(name, len)];
	if (i != NO_NODE)
		return cl->nodes[i];
	struct hp_l2_client *n = any_ready_node(cl);
	return n != NULL ? n : cl->nodes[0];
}

/* "CLUSTER SLOTS": [[start, end, [ip, port, id], replicas...], ...]. The
 * map is replaced whole; nodes that left keep their (idle) connection. */
static void on_slots_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct hp_l2_client *node = ac->data;
	struct hp_l2_client *router = node != NULL ? node->router : NULL;
	redisReply *reply = r;
	(void)privdata;
	if (router == NULL)
		return;
	router->refreshing = false;
	if (router->destroying || reply == NULL)
		return;
	if (reply->type != REDIS_REPLY_ARRAY) {
		/* Say it once: the lookups stay skipped (L1 only) until a map comes. */
		if (!router->map_loaded && atomic_load_explicit(&router->l2->slot_refreshes,
								memory_order_relaxed) == 0)
			hp_log_warn("l2: CLUSTER SLOTS on %s:%d failed (%s): is it a Redis Cluster? "
				    "L1 only", node->ip, node->port,
				    reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		return;
	}
	memset(router->slots, NO_NODE, HP_L2_SLOTS);
	for (size_t i = 0; i < reply->elements; i++) {
		redisReply *e = reply->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2 ||
		    e->element[2]->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
			continue;
		long long lo = e->element[0]->integer, hi = e->element[1]->integer;
		const char *ip = e->element[2]->element[0]->str;
		/* An empty address means the node we asked. */
		unsigned idx = node_at(router, ip[0] != '\0' ? ip : node->ip,
				       (int)e->element[2]->element[1]->integer);
		for (long long s = HP_MAX(lo, 0LL); s <= hi && s < HP_L2_SLOTS && idx != NO_NODE; s++)
			router->slots[s] = (uint8_t)idx;
	}
	router->map_loaded = true;
	bump(&router->l2->slot_refreshes);
}

/* Ask a node up for the slot map, unless a request is in flight. */
static void refresh_slots(struct hp_l2_client *router)
{
	if (router->refreshing || router->destroying)
		return;
	struct hp_l2_client *n = any_ready_node(router);
	if (n == NULL)
		return;
	if (redisAsyncCommand(n->ac, on_slots_reply, NULL, "CLUSTER SLOTS") == REDIS_OK)
		router->refreshing = true;
}

/* A command sent to a cluster node, kept formatted to be sent again where
 * a MOVED or ASK answer says. */
struct routed {
	redisCallbackFn *fn;
	void *privdata;
	struct hp_l2_op *op;           /* its op, moved along with it; NULL for a write */
	char *cmd;
	size_t len;
	unsigned hops;
};

static void routed_free(struct routed *rt)
{
	redisFreeCommand(rt->cmd);
	free(rt);
}

static void on_routed_reply(redisAsyncContext *ac, void *r, void *privdata);

/* Follow "MOVED <slot> <ip>:<port>" or "ASK <slot> <ip>:<port>"; false if
 * <reply> is neither or the command could not be sent again. */
static bool redirect(struct hp_l2_client *node, redisReply *reply, struct routed *rt)
{
	struct hp_l2_client *router = node->router;
	bool ask = strncmp(reply->str, "ASK ", 4) == 0;
	if (router == NULL || router->destroying || rt->hops >= MAX_REDIRECTS ||
	    (!ask && strncmp(reply->str, "MOVED ", 6) != 0))
		return false;
	unsigned slot;
	char ip[64];
	int port;
	const char *colon = strrchr(reply->str, ':');
	if (colon == NULL || sscanf(reply->str + (ask ? 4 : 6), "%u", &slot) != 1 ||
	    slot >= HP_L2_SLOTS || sscanf(colon + 1, "%d", &port) != 1)
		return false;
	const char *sp = strchr(reply->str + (ask ? 4 : 6), ' ');
	size_t iplen = sp != NULL && sp < colon ? (size_t)(colon - sp - 1) : 0;
	if (iplen >= sizeof(ip))
		return false;
	memcpy(ip, sp + 1, iplen);
	ip[iplen] = '\0';
	unsigned idx = node_at(router, iplen > 0 ? ip : node->ip, port);
	if (idx == NO_NODE)
		return false;
	struct hp_l2_client *to = router->nodes[idx];
	if (!ask) {
		router->slots[slot] = (uint8_t)idx;
		refresh_slots(router);
	}
	/* A node just met is connecting: hiredis keeps the command until then. */
	if (to->ac == NULL)
		return false;
	if (ask && redisAsyncCommand(to->ac, NULL, NULL, "ASKING") != REDIS_OK)
		return false;
	if (redisAsyncFormattedCommand(to->ac, on_routed_reply, rt, rt->cmd, rt->len) != REDIS_OK)
		return false;
	rt->hops++;
	bump(&router->l2->redirects);
	if (rt->op != NULL) {
		rt->op->cl->pending--;
		rt->op->cl = to;
		to->pending++;
	}
	return true;
}

static void on_routed_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct routed *rt = privdata;
	struct hp_l2_client *node = ac->data;
	redisReply *reply = r;
	if (node != NULL && reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    redirect(node, reply, rt))
		return;
	rt->fn(ac, r, rt->privdata);
	routed_free(rt);
}

/* redisAsyncCommand on <cl>'s connection; for a cluster node's, through
 * on_routed_reply, which follows redirections. */
static int command(struct hp_l2_client *cl, struct hp_l2_op *op, redisCallbackFn *fn,
		   void *privdata, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc;
	if (cl->router == NULL) {
		rc = redisvAsyncCommand(cl->ac, fn, privdata, fmt, ap);
	} else {
		struct routed *rt = hp_xcalloc(1, sizeof(*rt));
		*rt = (struct routed){.fn = fn, .privdata = privdata, .op = op};
		int len = redisvFormatCommand(&rt->cmd, fmt, ap);
		rc = len < 0 ? REDIS_ERR : REDIS_OK;
		if (rc == REDIS_OK) {
			rt->len = (size_t)len;
			rc = redisAsyncFormattedCommand(cl->ac, on_routed_reply, rt, rt->cmd,
							rt->len);
		}
		if (rc != REDIS_OK) {
			if (rt->cmd != NULL)
				redisFreeCommand(rt->cmd);
			free(rt);
		}
	}
	va_end(ap);
	return rc;
}

static struct hp_l2_client *router_new(struct hp_l2 *l2, struct hp_loop *loop)
{
	struct hp_l2_client *r =
		connection_new(l2, loop, l2->seeds[0].ip, l2->seeds[0].port, NULL);
	r->slots = hp_xmalloc(HP_L2_SLOTS);
	memset(r->slots, NO_NODE, HP_L2_SLOTS);
	atomic_fetch_add_explicit(&l2->workers, 1, memory_order_relaxed);
	for (size_t i = 0; i < l2->nseeds; i++)
		(void)node_at(r, l2->seeds[i].ip, l2->seeds[i].port);
	return r;
}

struct hp_l2_client *hp_l2_client_create(struct hp_l2 *l2, struct hp_loop *loop)
{
	return l2->cluster ? router_new(l2, loop) : client_new(l2, loop, NULL, NULL);
}

struct hp_l2_client *hp_l2_subscriber_create(struct hp_l2 *l2, struct hp_loop *loop,
					     hp_l2_message_fn *cb, void *data)
{
	HP_AN(cb);
	return client_new(l2, loop, cb, data);
}

void hp_l2_client_destroy(struct hp_l2_client *cl)
{
	if (cl == NULL)
		return;
	cl->destroying = true;
	/* A router's nodes first: their pending callbacks may still look at it. */
	for (size_t i = 0; i < cl->nnodes; i++)
		hp_l2_client_destroy(cl->nodes[i]);
	free(cl->nodes);
	free(cl->slots);
	hp_timer_stop(cl->loop, &cl->retry);
	hp_loop_cancel_defer(&cl->trip);
	if (cl->ac != NULL)
		redisAsyncFree(cl->ac);
	if (cl->state == ST_UP)
		note_up(cl, false);
	if (cl->on_message == NULL && cl->router == NULL)
		atomic_fetch_sub_explicit(&cl->l2->workers, 1, memory_order_relaxed);
	hp_buf_fini(&cl->key);
	free(cl->ip);
	free(cl);
}

bool hp_l2_client_ready(const struct hp_l2_client *cl)
{
	if (cl != NULL && cl->slots != NULL)
		return cl->map_loaded && any_ready_node((struct hp_l2_client *)cl) != NULL;
	return cl != NULL && cl->ac != NULL && cl->state == ST_UP && cl->on_message == NULL;
}

/* ==== Commands ==== */

/* <prefix><kind><key>; for a cluster <prefix><kind>{<key>}, the hash tag
 * putting an object and its lock in one slot (MGET, and the lock's
 * script, touch both or one, never two slots). */
static const char *prefixed_as(struct hp_l2_client *cl, const char *kind, const void *key,
			       size_t keylen, size_t *len)
{
	hp_buf_reset(&cl->key);
	hp_buf_append(&cl->key, cl->l2->prefix, cl->l2->prefix_len);
	hp_buf_append_str(&cl->key, kind);
	if (cl->l2->cluster)
		hp_buf_append_str(&cl->key, "{");
	hp_buf_append(&cl->key, key, keylen);
	if (cl->l2->cluster)
		hp_buf_append_str(&cl->key, "}");
	*len = cl->key.len;
	return hp_buf_data(&cl->key);
}

static const char *prefixed(struct hp_l2_client *cl, const void *key, size_t keylen,
			    size_t *len)
{
	return prefixed_as(cl, "o:", key, keylen, len);
}

static void answer(struct hp_l2_op *op, enum hp_l2_result r, const char *v, size_t len)
{
	hp_l2_get_fn *cb = op->cb;
	op->cb = NULL;
	if (cb != NULL)
		cb(op->data, r, v, len);
}

static void on_get_timeout(struct hp_timer *t)
{
	struct hp_l2_op *op = HP_CONTAINER_OF(t, struct hp_l2_op, timer);
	bump(&op->cl->l2->timeouts);
	count_failure(op->cl);
	/* The op stays with hiredis until its reply (or the connection's end). */
	answer(op, HP_L2_ERROR, NULL, 0);
}

/* LRANGE's entries, packed for the answer (hp_l2_journal_pack()). */
static void answer_journal(struct hp_l2_op *op, const redisReply *reply)
{
	struct hp_buf packed = {0};
	for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
		const redisReply *e = reply->element[i];
		if (e->type == REDIS_REPLY_STRING)
			hp_l2_journal_pack(&packed, e->str, (size_t)e->len);
	}
	answer(op, packed.len > 0 ? HP_L2_FOUND : HP_L2_NOT_FOUND, hp_buf_data(&packed),
	       packed.len);
	hp_buf_fini(&packed);
}

static void on_get_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct hp_l2_op *op = privdata;
	struct hp_l2_client *cl = op->cl;
	redisReply *reply = r;
	(void)ac;
	hp_timer_stop(cl->loop, &op->timer);
	cl->pending--;
	bool answered = op->cb == NULL;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		if (!answered)
			count_failure(cl);
		answer(op, HP_L2_ERROR, NULL, 0);
	} else if (op->kind == OP_LOCK) {
		count_success(cl);
		/* "OK" when set, nil when the key existed. */
		answer(op, reply->type == REDIS_REPLY_STATUS ? HP_L2_FOUND : HP_L2_NOT_FOUND, NULL, 0);
	} else if (op->kind == OP_GCRA) {
		int64_t out[HP_L2_GCRA_FIELDS];
		bool ok = reply->type == REDIS_REPLY_ARRAY && reply->elements == HP_L2_GCRA_FIELDS;
		for (size_t i = 0; ok && i < HP_L2_GCRA_FIELDS; i++) {
			ok = reply->element[i]->type == REDIS_REPLY_INTEGER;
			out[i] = ok ? (int64_t)reply->element[i]->integer : 0;
		}
		if (ok)
			count_success(cl);
		else if (!answered)
			count_failure(cl);
		answer(op, ok ? HP_L2_FOUND : HP_L2_ERROR, ok ? (const char *)out : NULL,
		       ok ? sizeof(out) : 0);
	} else if (op->kind == OP_POLL) {
		count_success(cl);
		redisReply *obj = reply->elements == 2 ? reply->element[0] : NULL;
		redisReply *lock = reply->elements == 2 ? reply->element[1] : NULL;
		if (obj != NULL && obj->type == REDIS_REPLY_STRING) {
			if (!answered)
				bump(&cl->l2->hits);
			answer(op, HP_L2_FOUND, obj->str, (size_t)obj->len);
		} else {
			answer(op, lock != NULL && lock->type == REDIS_REPLY_STRING ? HP_L2_LOCKED
										  : HP_L2_NOT_FOUND,
			       NULL, 0);
		}
	} else if (op->kind == OP_JOURNAL) {
		count_success(cl);
		answer_journal(op, reply);
	} else if (reply->type == REDIS_REPLY_STRING) {
		count_success(cl);
		if (!answered)
			bump(&cl->l2->hits);
		answer(op, HP_L2_FOUND, reply->str, (size_t)reply->len);
	} else {
		count_success(cl);
		if (!answered)
			bump(&cl->l2->misses);
		answer(op, HP_L2_NOT_FOUND, NULL, 0);
	}
	free(op);
}

static void on_write_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct hp_l2_client *cl = ac->data;
	redisReply *reply = r;
	(void)privdata;
	if (cl != NULL && (reply == NULL || reply->type == REDIS_REPLY_ERROR))
		bump(&cl->l2->errors);
}

/* <node> is node_for()'s answer (the client itself for one server). */
static struct hp_l2_op *new_op(struct hp_l2_client *node, enum op_kind kind, hp_l2_get_fn *cb,
			       void *data)
{
	if (!hp_l2_client_ready(node) || node->pending >= MAX_PENDING) {
		if (node != NULL)
			bump(&node->l2->skipped);
		return NULL;
	}
	struct hp_l2_op *op = hp_xcalloc(1, sizeof(*op));
	*op = (struct hp_l2_op){.cl = node, .kind = kind, .cb = cb, .data = data};
	return op;
}

/* <rc> is command()'s: the op is in flight, or freed. */
static struct hp_l2_op *sent(struct hp_l2_op *op, int rc)
{
	struct hp_l2_client *cl = op->cl;
	if (rc != REDIS_OK) {
		free(op);
		bump(&cl->l2->skipped);
		return NULL;
	}
	cl->pending++;
	hp_timer_start(cl->loop, &op->timer, cl->l2->timeout_ms, on_get_timeout);
	return op;
}

/*
 * An op on one Redis key, <prefix><kind><key>, made on the key's node:
 * the name is left in <name> (the router's scratch, valid until its next
 * key) and the node in op->cl. NULL when no node can take it now.
 */
static struct hp_l2_op *keyed_op(struct hp_l2_client *cl, const char *kind, const void *key,
				 size_t keylen, enum op_kind op_kind, hp_l2_get_fn *cb, void *data,
				 struct hp_str *name)
{
	if (cl == NULL)
		return NULL;
	name->ptr = prefixed_as(cl, kind, key, keylen, &name->len);
	return new_op(node_for(cl, name->ptr, name->len), op_kind, cb, data);
}

struct hp_l2_op *hp_l2_get(struct hp_l2_client *cl, const void *key, size_t keylen,
			   hp_l2_get_fn *cb, void *data)
{
	struct hp_str k;
	struct hp_l2_op *op = keyed_op(cl, "o:", key, keylen, OP_GET, cb, data, &k);
	if (op == NULL)
		return NULL;
	return sent(op, command(op->cl, op, on_get_reply, op, "GET %b", k.ptr, k.len));
}

struct hp_l2_op *hp_l2_lock(struct hp_l2_client *cl, const void *key, size_t keylen,
			    const char *token, uint64_t ttl_ms, hp_l2_get_fn *cb, void *data)
{
	struct hp_str k;
	struct hp_l2_op *op = keyed_op(cl, "l:", key, keylen, OP_LOCK, cb, data, &k);
	if (op == NULL)
		return NULL;
	return sent(op, command(op->cl, op, on_get_reply, op, "SET %b %s NX PX %llu", k.ptr, k.len,
				token, (unsigned long long)ttl_ms));
}

struct hp_l2_op *hp_l2_poll(struct hp_l2_client *cl, const void *key, size_t keylen,
			    hp_l2_get_fn *cb, void *data)
{
	if (cl == NULL)
		return NULL;
	/* Both names in one buffer: prefixed() reuses its scratch. In a
	 * cluster they share a slot (one hash tag). */
	struct hp_buf both = {0};
	size_t olen, llen;
	const char *k = prefixed(cl, key, keylen, &olen);
	hp_buf_append(&both, k, olen);
	k = prefixed_as(cl, "l:", key, keylen, &llen);
	hp_buf_append(&both, k, llen);
	const char *o = hp_buf_data(&both);
	struct hp_l2_client *n = node_for(cl, o, olen);
	struct hp_l2_op *op = new_op(n, OP_POLL, cb, data);
	if (op == NULL) {
		hp_buf_fini(&both);
		return NULL;
	}
	int rc = command(n, op, on_get_reply, op, "MGET %b %b", o, olen, o + olen, llen);
	hp_buf_fini(&both);
	return sent(op, rc);
}

struct hp_l2_op *hp_l2_gcra(struct hp_l2_client *cl, const void *key, size_t keylen,
			    uint64_t interval_us, uint32_t burst, hp_l2_get_fn *cb, void *data)
{
	struct hp_str k;
	struct hp_l2_op *op = keyed_op(cl, "rl:", key, keylen, OP_GCRA, cb, data, &k);
	if (op == NULL)
		return NULL;
	/* The script is loaded on each connection (each node of a cluster). */
	struct hp_l2_client *n = op->cl;
	if (n->gcra_sha[0] == '\0') {
		free(op);
		return NULL;
	}
	return sent(op, command(n, op, on_get_reply, op, "EVALSHA %s 1 %b %llu %u", n->gcra_sha,
				k.ptr, k.len, (unsigned long long)interval_us, burst));
}

/* The node for the Redis key <name> if it can take a command now. */
static struct hp_l2_client *ready_node_for(struct hp_l2_client *cl, const char *name,
					   size_t len)
{
	struct hp_l2_client *n = node_for(cl, name, len);
	return hp_l2_client_ready(n) ? n : NULL;
}

bool hp_l2_unlock(struct hp_l2_client *cl, const void *key, size_t keylen, const char *token)
{
	static const char script[] =
		"if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
		"end return 0";
	if (cl == NULL)
		return false;
	size_t len;
	const char *k = prefixed_as(cl, "l:", key, keylen, &len);
	struct hp_l2_client *n = ready_node_for(cl, k, len);
	return n != NULL && command(n, NULL, on_write_reply, NULL, "EVAL %s 1 %b %s", script, k,
				    len, token) == REDIS_OK;
}

void hp_l2_cancel(struct hp_l2_op *op)
{
	if (op == NULL)
		return;
	/* hiredis still holds it: freed with its reply. */
	op->cb = NULL;
	hp_timer_stop(op->cl->loop, &op->timer);
}

static void on_set_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct hp_l2_client *cl = ac->data;
	redisReply *reply = r;
	(void)privdata;
	if (cl == NULL)
		return;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		bump(&cl->l2->errors);
	else
		count_success(cl);
}

bool hp_l2_set(struct hp_l2_client *cl, const void *key, size_t keylen, const void *value,
	       size_t len, uint64_t ttl_ms)
{
	if (cl == NULL)
		return false;
	size_t klen;
	const char *k = prefixed(cl, key, keylen, &klen);
	struct hp_l2_client *n = ready_node_for(cl, k, klen);
	if (n == NULL || ttl_ms == 0) {
		bump(&cl->l2->skipped);
		return false;
	}
	if (command(n, NULL, on_set_reply, NULL, "SET %b %b PX %llu", k, klen, value, len,
		    (unsigned long long)ttl_ms) != REDIS_OK) {
		bump(&cl->l2->skipped);
		return false;
	}
	bump(&cl->l2->writes);
	return true;
}


/* The object's name and its variant hash's in <both> (prefixed() reuses
 * its scratch); *olen is the first's length, *vlen the second's. In a
 * cluster they share a slot. */
static void object_and_variants(struct hp_l2_client *cl, const void *key, size_t keylen,
				struct hp_buf *both, size_t *olen, size_t *vlen)
{
	const char *k = prefixed(cl, key, keylen, olen);
	hp_buf_append(both, k, *olen);
	k = prefixed_as(cl, "v:", key, keylen, vlen);
	hp_buf_append(both, k, *vlen);
}

bool hp_l2_del(struct hp_l2_client *cl, const void *key, size_t keylen)
{
	if (cl == NULL)
		return false;
	struct hp_buf both = {0};
	size_t olen, vlen;
	object_and_variants(cl, key, keylen, &both, &olen, &vlen);
	const char *o = hp_buf_data(&both);
	struct hp_l2_client *n = ready_node_for(cl, o, olen);
	bool ok = n != NULL && command(n, NULL, on_write_reply, NULL, "DEL %b %b", o, olen,
				       o + olen, vlen) == REDIS_OK;
	hp_buf_fini(&both);
	return ok;
}

bool hp_l2_set_variant(struct hp_l2_client *cl, const void *key, size_t keylen,
		       const void *variant, size_t vlen, const void *value, size_t len,
		       uint64_t ttl_ms)
{
	if (cl == NULL || ttl_ms == 0)
		return false;
	size_t hlen;
	const char *h = prefixed_as(cl, "v:", key, keylen, &hlen);
	struct hp_l2_client *n = ready_node_for(cl, h, hlen);
	unsigned long long px = (unsigned long long)ttl_ms;
	/* The hash lives as long as its latest variant: older ones may go
	 * sooner than their own TTL (a miss), never stay forever. (PEXPIRE's
	 * NX and GT would keep the longest, but need Redis 7.) */
	return n != NULL &&
	       command(n, NULL, on_set_reply, NULL, "HSET %b %b %b", h, hlen, variant, vlen, value,
		       len) == REDIS_OK &&
	       command(n, NULL, on_write_reply, NULL, "PEXPIRE %b %llu", h, hlen, px) == REDIS_OK;
}

struct hp_l2_op *hp_l2_get_variant(struct hp_l2_client *cl, const void *key, size_t keylen,
				   const void *variant, size_t vlen, hp_l2_get_fn *cb,
				   void *data)
{
	struct hp_str h;
	struct hp_l2_op *op = keyed_op(cl, "v:", key, keylen, OP_GET, cb, data, &h);
	if (op == NULL)
		return NULL;
	return sent(op, command(op->cl, op, on_get_reply, op, "HGET %b %b", h.ptr, h.len, variant,
				vlen));
}

/* The journal's name: one key (on one node of a cluster). */
#define JOURNAL "purges"

bool hp_l2_journal_add(struct hp_l2_client *cl, const void *entry, size_t len, uint64_t ttl_ms)
{
	if (cl == NULL || ttl_ms == 0)
		return false;
	size_t jlen;
	const char *j = prefixed_as(cl, JOURNAL, "", 0, &jlen);
	struct hp_l2_client *n = ready_node_for(cl, j, jlen);
	if (n == NULL)
		return false;
	/* Newest first; the newest HP_L2_JOURNAL_SIZE; as long as an object
	 * written now can live. */
	int rc = command(n, NULL, on_write_reply, NULL, "LPUSH %b %b", j, jlen, entry, len);
	if (rc == REDIS_OK)
		rc = command(n, NULL, on_write_reply, NULL, "LTRIM %b 0 %d", j, jlen,
			     HP_L2_JOURNAL_SIZE - 1);
	if (rc == REDIS_OK)
		rc = command(n, NULL, on_write_reply, NULL, "PEXPIRE %b %llu", j, jlen,
			     (unsigned long long)ttl_ms);
	return rc == REDIS_OK;
}

struct hp_l2_op *hp_l2_journal_read(struct hp_l2_client *cl, hp_l2_get_fn *cb, void *data)
{
	struct hp_str j;
	struct hp_l2_op *op = keyed_op(cl, JOURNAL, "", 0, OP_JOURNAL, cb, data, &j);
	if (op == NULL)
		return NULL;
	return sent(op, command(op->cl, op, on_get_reply, op, "LRANGE %b 0 %d", j.ptr, j.len,
				HP_L2_JOURNAL_SIZE - 1));
}

bool hp_l2_publish(struct hp_l2_client *cl, const void *msg, size_t len)
{
	/* In a cluster any node broadcasts a message to the subscribers of
	 * every node. */
	struct hp_l2_client *n = cl != NULL && cl->slots != NULL ? any_ready_node(cl) : cl;
	if (!hp_l2_client_ready(n))
		return false;
	if (redisAsyncCommand(n->ac, on_write_reply, NULL, "PUBLISH %s %b", cl->l2->channel, msg,
			      len) != REDIS_OK)
		return false;
	bump(&cl->l2->bus_published);
	return true;
}

/* ==== Tag index ==== */

/* The set <prefix>t:<tag> holds the Redis names of the objects carrying
 * the tag, so that a tag purge deletes them wherever they were filled. */
bool hp_l2_tag_add(struct hp_l2_client *cl, struct hp_str tag, const void *key, size_t keylen,
		   uint64_t ttl_ms)
{
	if (cl == NULL)
		return false;
	/* The object and its variant hash: a tag purge deletes both. */
	struct hp_buf obj = {0};
	size_t olen, vlen;
	object_and_variants(cl, key, keylen, &obj, &olen, &vlen);
	const char *o = hp_buf_data(&obj);
	size_t tlen;
	const char *t = prefixed_as(cl, "t:", tag.ptr, tag.len, &tlen);
	struct hp_l2_client *n = ready_node_for(cl, t, tlen);
	bool ok = n != NULL &&
		  command(n, NULL, on_write_reply, NULL, "SADD %b %b %b", t, tlen, o, olen,
			  o + olen, vlen) == REDIS_OK &&
		  command(n, NULL, on_write_reply, NULL, "PEXPIRE %b %llu", t, tlen,
			  (unsigned long long)ttl_ms) == REDIS_OK;
	hp_buf_fini(&obj);
	return ok;
}

/* A cluster's tag purge, second half: the members live in many slots, so
 * each is deleted on its own node (a script may touch one slot only). */
static void on_tag_members(redisAsyncContext *ac, void *r, void *privdata)
{
	struct hp_l2_client *node = ac->data;
	struct hp_l2_client *router = node != NULL ? node->router : NULL;
	redisReply *reply = r;
	(void)privdata;
	if (router == NULL || router->destroying || reply == NULL ||
	    reply->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < reply->elements; i++) {
		redisReply *m = reply->element[i];
		if (m->type != REDIS_REPLY_STRING)
			continue;
		struct hp_l2_client *n = ready_node_for(router, m->str, (size_t)m->len);
		if (n != NULL)
			(void)command(n, NULL, on_write_reply, NULL, "DEL %b", m->str,
				      (size_t)m->len);
	}
}

bool hp_l2_tag_purge(struct hp_l2_client *cl, struct hp_str tag)
{
	static const char script[] =
		"for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do redis.call('DEL', k) end "
		"return redis.call('DEL', KEYS[1])";
	if (cl == NULL)
		return false;
	size_t tlen;
	const char *t = prefixed_as(cl, "t:", tag.ptr, tag.len, &tlen);
	struct hp_l2_client *n = ready_node_for(cl, t, tlen);
	if (n == NULL)
		return false;
	if (cl->slots == NULL)
		return command(n, NULL, on_write_reply, NULL, "EVAL %s 1 %b", script, t, tlen) ==
		       REDIS_OK;
	/* SMEMBERS then DEL of the set: queued in this order on one node, so
	 * the members come back before the set goes. */
	return command(n, NULL, on_tag_members, NULL, "SMEMBERS %b", t, tlen) == REDIS_OK &&
	       command(n, NULL, on_write_reply, NULL, "DEL %b", t, tlen) == REDIS_OK;
}
