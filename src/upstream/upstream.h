/* SPDX-License-Identifier: MIT */
/*
 * upstream.h - upstream server groups, balancers and keep-alive pools.
 *
 * A group (struct hp_upstream_group) is created once from the
 * configuration, with every server's address resolved, and shared by all
 * workers: its only mutable state is per-server atomics (connections in
 * use) and the balancer's own state. Each worker owns one pool per group
 * (struct hp_upstream_pool): the idle keep-alive connections it may reuse,
 * so taking or returning a connection never takes a lock.
 *
 * Ownership of a connection: hp_upstream_connect() or hp_upstream_take()
 * hands it to the caller, who drives its I/O (it sets conn->io.cb) until it
 * gives it back with hp_upstream_release() — reusable, so it goes idle in
 * the pool, or not, so it is closed. The pool closes idle connections on
 * their idle timeout or when the server closes them, and frees every
 * connection through the loop's deferred queue, never inside a callback.
 *
 * A request that finds its server at max_connections (-EBUSY) waits in its
 * pool's queue (struct hp_upstream_waiter, a field of the request): when a
 * slot frees, the pool calls the waiters that can use a free slot, in
 * arrival order, from the loop's deferred queue (never inside the
 * releaser's call chain). A slot freed on another worker reaches this
 * worker's waiters through a post to its loop. Arrival order holds per
 * worker, not across workers.
 *
 * A group may hold any number of servers: sets of servers (those a request
 * has tried) are bitmaps of hp_upstream_set_words() words owned by the
 * caller.
 */
#ifndef HP_UPSTREAM_UPSTREAM_H
#define HP_UPSTREAM_UPSTREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/core.h"
#include "net/net.h"

struct hp_config_upstream;
struct hp_upstream_group;
struct hp_upstream_pool;
struct hp_upstream_waiter;

typedef void hp_upstream_waiter_fn(struct hp_upstream_waiter *w);

#define HP_UPSTREAM_CONN_MAGIC 0x7570636eu

/* Buckets of a circuit breaker's window: it slides by a tenth. */
#define HP_CIRCUIT_BUCKETS 10

/* A server's circuit breaker (circuit.c), shared by all workers. */
struct hp_upstream_circuit {
	_Atomic uint64_t epoch[HP_CIRCUIT_BUCKETS]; /* which slice of time each bucket holds */
	atomic_uint requests[HP_CIRCUIT_BUCKETS];   /* outcomes in it */
	atomic_uint errors[HP_CIRCUIT_BUCKETS];     /* errors among them */
	atomic_bool open;               /* opened and not closed by a probe since */
	_Atomic uint64_t open_until_ns; /* no traffic until then; half-open after */
	_Atomic uint64_t probe_ns;      /* when the half-open probe left; 0 = none */
	atomic_ullong opens;            /* times it opened, for metrics */
};

/* What a circuit is doing (hp_upstream_circuit_state). */
enum hp_circuit_state {
	HP_CIRCUIT_CLOSED,              /* traffic flows, outcomes are counted */
	HP_CIRCUIT_OPEN,                /* no traffic until open_for passed */
	HP_CIRCUIT_HALF_OPEN,           /* one probe at a time decides */
};

struct hp_upstream_server {
	char *name;                     /* "127.0.0.1:9000", for logs and headers */
	struct sockaddr_storage addr;   /* resolved at start-up */
	socklen_t addrlen;
	uint32_t weight;                /* relative share, >= 1 */
	uint32_t max_connections;       /* in use at once, all workers; 0 = unlimited */
	atomic_uint active;             /* connections in use or connecting, all workers */
	atomic_uint_fast64_t connect_failures; /* connects that failed or timed out */
	atomic_uint_fast64_t timeouts;  /* exchanges timed out once connected */
	size_t index;                   /* position in the group */
	bool backup;                    /* takes traffic only when no primary can */
	/* passive health, shared by all workers (hp_upstream_report) */
	atomic_uint fails;              /* consecutive failures */
	atomic_uint ejections;          /* consecutive ejections: the back-off doubles */
	_Atomic uint64_t down_until_ns; /* ejected until (monotonic); 0 = in service */
	atomic_ullong total_ejections;  /* for metrics */
	atomic_ullong total_retries;    /* requests retried away from it, for metrics */
	/* active health (health.c's thread writes, workers read) */
	atomic_bool check_down;         /* failed `fall` checks in a row, not risen since */
	_Atomic uint64_t up_since_ns;   /* back in service at (slow start); 0 = always was */
	struct hp_upstream_circuit circuit; /* on the error rate, when configured */
};

/* A connection to one upstream server. */
struct hp_upstream_conn {
	unsigned magic;                 /* HP_UPSTREAM_CONN_MAGIC */
	struct hp_io io;                /* its owner sets io.cb while it holds the conn */
	struct hp_timer timer;          /* owner's timeouts; the pool's idle timeout */
	struct hp_buf in;               /* bytes read from the server */
	struct hp_upstream_server *server;
	struct hp_upstream_pool *pool;
	void *owner;                    /* the request using it; NULL while idle */
	unsigned requests;              /* requests sent on this connection so far */
	uint64_t created_ns;            /* when it was opened (monotonic), for its lifetime */
	bool connected;                 /* the TCP handshake completed */
	bool reused;                    /* taken from the idle pool */
	bool readable;                  /* edge-triggered: data may be pending */
	bool writable;                  /* edge-triggered: the socket accepts writes */
	bool hup;                       /* the server shut down its side: read to EOF */
	/* private */
	struct hp_list _link;           /* in the pool's idle list */
	struct hp_deferred _free;
};

/* A request waiting for a connection slot; embed it in the request.
 * Zero-initialised means not waiting. */
struct hp_upstream_waiter {
	hp_upstream_waiter_fn *cb;            /* called once a slot it can use is free */
	struct hp_upstream_server *server;    /* the server it waits for; NULL: any */
	/* private */
	struct hp_list _link;                 /* in the pool's waiters, arrival order */
	struct hp_upstream_pool *_pool;       /* NULL when not waiting */
	unsigned _round;                      /* last wake-up run that called it */
};

/* ==== Groups (shared) ==== */

/* Create a group from its configuration, resolving every server address
 * (blocking: start-up only). Returns NULL with a reason in <err>. */
struct hp_upstream_group *hp_upstream_group_create(const struct hp_config_upstream *conf,
						   char *err, size_t errlen);
void hp_upstream_group_destroy(struct hp_upstream_group *g);
const struct hp_config_upstream *hp_upstream_group_conf(const struct hp_upstream_group *g);
size_t hp_upstream_group_size(const struct hp_upstream_group *g);
struct hp_upstream_server *hp_upstream_group_server(struct hp_upstream_group *g, size_t i);

/* Words in a server set of <g>: one bit per server, 64 per word, never 0.
 * A set is a zeroed array of that many uint64_t owned by the caller. */
size_t hp_upstream_set_words(const struct hp_upstream_group *g);
/* Add server index <i> to <set>. */
static inline void hp_upstream_set_add(uint64_t *set, size_t i);
/* Whether server index <i> is in <set>; a NULL set is empty. */
static inline bool hp_upstream_set_has(const uint64_t *set, size_t i);

/* Pick a server for a request, skipping those in <tried> (a server set of
 * <g>, or NULL for none). <key> is the request's hash (hp_upstream_hash)
 * for the hash balancer; others ignore it. In service primaries first,
 * then in service backups, then any server not tried (an ejected server
 * is a likely failure, no server a certain one). Returns NULL only when
 * every server is in <tried>. */
struct hp_upstream_server *hp_upstream_pick_except(struct hp_upstream_group *g,
						   const uint64_t *tried, uint64_t key);
/* A 64-bit hash of <len> bytes, the key hp_upstream_pick_except() takes. */
uint64_t hp_upstream_hash(const void *data, size_t len);

/* ==== Passive health and the retry budget ==== */

/* The outcome of an exchange with <s>: a failure is a refused or timed
 * out connect, or a connection that died or timed out before the response
 * head. max_fails failures in a row eject <s> for fail_timeout, doubled on
 * each ejection that follows a return without a success in between (at
 * most 16 times). Every change of state is logged with <reason>. */
void hp_upstream_report(struct hp_upstream_group *g, struct hp_upstream_server *s, bool ok,
			const char *reason);
/* A response with <status> came from <s>: in passive health a success;
 * for the circuit breaker an error when it is a 5xx. */
void hp_upstream_report_status(struct hp_upstream_group *g, struct hp_upstream_server *s,
			       int status);
/* Whether <s> is out of service now: ejected, failing its checks, or its
 * circuit open (not half-open: that one takes a probe). */
bool hp_upstream_server_down(const struct hp_upstream_server *s, uint64_t now_ns);
/* Whether some server of <g> is in service (for readiness). */
bool hp_upstream_group_available(const struct hp_upstream_group *g);
/* The weight balancers use: <s>'s weight times HP_UPSTREAM_WEIGHT_SCALE,
 * ramped from a tenth over slow_start after it came back. */
#define HP_UPSTREAM_WEIGHT_SCALE 16u
uint32_t hp_upstream_weight(const struct hp_upstream_group *g,
			    const struct hp_upstream_server *s, uint64_t now_ns);
/* Count one request of <g> toward the retry budget's window. */
void hp_upstream_count_request(struct hp_upstream_group *g);
/* Whether one more retry fits the budget: retries in the last 10 to 20
 * seconds stay under retry_budget percent of the requests in them (plus
 * a floor of 10, so a quiet group can still retry). Counts it if so. */
bool hp_upstream_retry_take(struct hp_upstream_group *g);

/* ==== Circuit breaking on the error rate (circuit.c) ==== */

/* Count an outcome of <s> (<error>: a failure or a 5xx) when the group
 * has circuit.error_rate. Closed: the circuit opens when the window holds
 * min_requests outcomes and the share of errors reaches error_rate.
 * Half-open: the outcome (the probe's) closes it, or opens it again.
 * Every change is logged with <reason>. Any thread. */
void hp_upstream_circuit_record(struct hp_upstream_group *g, struct hp_upstream_server *s,
				bool error, const char *reason);
enum hp_circuit_state hp_upstream_circuit_state(const struct hp_upstream_server *s,
						uint64_t now_ns);
/* Half-open: whether a request may go to <s> as its probe (one at a time;
 * a probe that never reports frees its turn after open_for). Takes the
 * turn if so. Closed: always true. */
bool hp_upstream_circuit_admit(struct hp_upstream_group *g, struct hp_upstream_server *s,
			       uint64_t now_ns);
/* "closed", "open" or "half-open". */
const char *hp_upstream_circuit_name(enum hp_circuit_state st);

/* ==== Balancers: a const table per strategy, one file each ==== */

struct hp_balancer_ops {
	const char *name;
	/* Allocate the strategy's state for <g>. */
	void *(*create)(struct hp_upstream_group *g);
	/* Choose among the group's servers not in the set <exclude> (NULL:
	 * none excluded); NULL if none is left. */
	struct hp_upstream_server *(*pick)(void *state, struct hp_upstream_group *g,
					   const uint64_t *exclude, uint64_t key);
	void (*destroy)(void *state);
};

extern const struct hp_balancer_ops hp_balancer_round_robin;
extern const struct hp_balancer_ops hp_balancer_least_conn;
extern const struct hp_balancer_ops hp_balancer_p2c;
extern const struct hp_balancer_ops hp_balancer_hash;
extern const struct hp_balancer_ops hp_balancer_random;

/* ==== Pools (per worker) ==== */

struct hp_upstream_pool *hp_upstream_pool_create(struct hp_loop *loop,
						 struct hp_upstream_group *g);
/* Close every idle connection and free the pool, on the loop's thread or
 * after its loop stopped. Connections still owned by requests must have
 * been released, and waiters cancelled, first. */
void hp_upstream_pool_destroy(struct hp_upstream_pool *p);
struct hp_upstream_group *hp_upstream_pool_group(const struct hp_upstream_pool *p);

/* An idle connection to <s> that still looks alive, or NULL. */
struct hp_upstream_conn *hp_upstream_take(struct hp_upstream_pool *p,
					  struct hp_upstream_server *s, void *owner);
/* Start a new connection to <s>. Returns 0 with *out set (the handshake
 * may still be in progress: wait for HP_IO_WRITE, then check
 * hp_upstream_conn_check_connected), -EBUSY when <s> is at its
 * max_connections, or another -errno. */
int hp_upstream_connect(struct hp_upstream_pool *p, struct hp_upstream_server *s, void *owner,
			hp_io_fn *cb, struct hp_upstream_conn **out);
/* After a write event on a connecting conn: 0 once connected, -errno if
 * the connection failed. */
int hp_upstream_conn_check_connected(struct hp_upstream_conn *c);
/* Give <c> back. A <reusable> connection (response complete, nothing
 * pending either way) goes idle in the pool if there is room; otherwise it
 * is closed. The caller must not touch <c> afterwards. */
void hp_upstream_release(struct hp_upstream_conn *c, bool reusable);

/* Move <from>'s idle connections into <to> (both on one loop) for servers
 * of <to>'s group with the same address; close the others. Used when a
 * reload replaces a group, so keep-alive survives for servers that stay.
 * Returns how many moved. */
size_t hp_upstream_pool_adopt_idle(struct hp_upstream_pool *to, struct hp_upstream_pool *from);

/* Count of idle connections (for metrics and tests). */
size_t hp_upstream_pool_idle(const struct hp_upstream_pool *p);
/* Connections this pool has open to server index <i>: connecting, in use
 * or idle (min_idle tops this up; for tests). */
size_t hp_upstream_pool_open(const struct hp_upstream_pool *p, size_t i);

/* ==== Figures for metrics ==== */

/* What a failure counts as (hp_upstream_count_failure). */
enum hp_upstream_failure {
	HP_UPSTREAM_CONNECT_FAILED,     /* refused, unreachable, reset or timed out connecting */
	HP_UPSTREAM_TIMEOUT,            /* send or read timeout on a connected exchange */
};

/* One server's figures summed over every worker's pool. */
struct hp_upstream_server_stats {
	unsigned active;                /* connections in use or connecting */
	size_t idle;                    /* keep-alive connections waiting in pools */
	uint64_t connect_failures;
	uint64_t timeouts;
	bool down;                      /* out of service now (hp_upstream_server_down) */
	enum hp_circuit_state circuit;
	uint64_t circuit_opens;
	uint64_t ejections;             /* passive ejections */
	uint64_t retries;               /* requests retried away from it */
};

/* Count a failure of <s>. Any worker; off the fast path. */
void hp_upstream_count_failure(struct hp_upstream_server *s, enum hp_upstream_failure f);
/* Read server <i> of <g> while workers run (any thread; takes the group's
 * pool registry lock briefly, never a worker's). */
void hp_upstream_server_stats(struct hp_upstream_group *g, size_t i,
			      struct hp_upstream_server_stats *st);
/* Requests queued for a connection slot in all of <g>'s pools. Any thread. */
size_t hp_upstream_group_queued(struct hp_upstream_group *g);

/* ==== Waiting for a connection slot ==== */

/*
 * Queue <w> behind the pool's other waiters until a slot on <server> (NULL:
 * on any server of the group) is free, then call <cb>(<w>) once, from the
 * loop's deferred queue or a cross-thread post, never from inside
 * hp_upstream_release() or hp_upstream_connect(). When <cb> runs, <w> is no
 * longer queued; it should try hp_upstream_take()/hp_upstream_connect() at
 * once: a slot it leaves unused goes to the next waiter of the same run.
 * Another worker may still win the slot (-EBUSY again): waiting again from
 * inside <cb> puts <w> back at the head of the queue, so it keeps its turn.
 * <w> must not be queued already.
 */
void hp_upstream_pool_wait(struct hp_upstream_pool *p, struct hp_upstream_waiter *w,
			   struct hp_upstream_server *server, hp_upstream_waiter_fn *cb);
/* Leave the queue (timeout, client gone); <cb> will not be called. Safe
 * on a waiter that is not queued. */
void hp_upstream_pool_cancel_wait(struct hp_upstream_waiter *w);
/* Whether <w> is queued. */
static inline bool hp_upstream_waiting(const struct hp_upstream_waiter *w);
/* Count of queued waiters (for metrics and tests). */
size_t hp_upstream_pool_waiters(const struct hp_upstream_pool *p);
/* Count of waiters queued in all the pools of <g>. */
size_t hp_upstream_group_waiting(const struct hp_upstream_group *g);

/* inline definitions */

static inline void hp_upstream_set_add(uint64_t *set, size_t i)
{
	set[i / 64] |= (uint64_t)1 << (i % 64);
}

static inline bool hp_upstream_set_has(const uint64_t *set, size_t i)
{
	return set != NULL && (set[i / 64] & ((uint64_t)1 << (i % 64))) != 0;
}

static inline bool hp_upstream_waiting(const struct hp_upstream_waiter *w)
{
	return w->_pool != NULL;
}

#endif
