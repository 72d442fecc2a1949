/* SPDX-License-Identifier: MIT */
/*
 * proxy_priv.h - the types the proxy's files share: the proxy, its
 * workers, client connections, and the transaction (one request and its
 * response) a connection carries at a time, split by concern. Then the
 * functions of each file, from the bottom of the proxy up: a file calls
 * only files listed above it here.
 *
 * A client connection runs one transaction at a time; pipelined requests
 * wait in its input buffer until the current response is complete, which
 * keeps responses in order without queueing state. The transaction's
 * progress is its current step (steps_tbl.h); events only set flags and
 * run the step again (pipeline.c).
 */
#ifndef HP_PROXY_PROXY_PRIV_H
#define HP_PROXY_PROXY_PRIV_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include "cache/cache.h"
#include "compress/compress.h"
#include "config/config.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "http/http.h"
#include "l2/l2.h"
#include "metrics/metrics.h"
#include "net/net.h"
#include "proxy/filter.h"
#include "proxy/proxy.h"
#include "proxy/snap.h"
#include "ratelimit/ratelimit.h"
#include "upstream/upstream.h"

#define HP_WORKER_MAGIC 0x776f726bu
#define HP_CLIENT_MAGIC 0x636c6e74u

/* Response bytes waiting in a client's output buffer above which the
 * upstream is not read: memory per connection stays bounded. */
#define HP_OUT_HIGH_WATER (256 * 1024)

struct hp_listeners;
struct hp_bus;

/*
 * The proxy. Its configuration is the current snapshot (snap.h): read by
 * workers only when they adopt it (adopt_snapshot in worker.c), replaced
 * whole by hp_proxy_reload(). What a reload cannot change (the worker
 * count, the listening sockets) is fixed at create from the start-up
 * config, <boot>.
 */
struct hp_proxy {
	const struct hp_config *boot;  /* the start-up config, borrowed */
	pthread_mutex_t snap_lock;     /* guards snap */
	struct hp_snap *snap;          /* current snapshot (a reference) */
	pthread_mutex_t reload_lock;   /* one reload at a time */
	uint64_t generation;           /* of the newest snapshot; under reload_lock */
	struct hp_listeners *listeners; /* every listening socket (listeners.h) */
	struct hp_worker *workers;
	unsigned nworkers;
	atomic_uint nclients;          /* client connections, all workers */
	struct hp_ratelimit *client_conns; /* open connections per client address, all
					      workers (limits.max_conns_per_client) */
	atomic_bool draining;          /* hp_proxy_drain() was called */
	_Atomic(struct hp_cache *) cache; /* created with the first snapshot that caches */
	struct hp_l2 *l2;              /* the Redis tier (l2.redis at start-up), or NULL */
	struct hp_bus *bus;            /* the invalidation bus (bus.c), with l2 */
	atomic_uint_fast64_t startup_us; /* process start to workers started; 0 before */
	atomic_uint_fast64_t reload_failures; /* reloads refused (hp_proxy_note_reload) */
	atomic_bool last_reload_ok;    /* the last reload tried was applied (true if none) */
	/* observe.c: the sampler thread ticks the window once a second */
	struct hp_metrics_shard **shards; /* every worker's, for the window */
	struct hp_metrics_window *window;
	pthread_t sampler;
	pthread_mutex_t sampler_lock;  /* guards sampler_stop */
	pthread_cond_t sampler_cond;   /* signalled to stop */
	bool sampler_stop;
	bool sampler_running;
	struct hp_alerts *alerts;      /* alert.c: rules evaluated after each tick */
};

/* snap.c: a reference to the current snapshot (release it with
 * hp_snap_release()); any thread. */
struct hp_snap *hp_proxy_current_snap(struct hp_proxy *px);

/* observe.c: set up the window over the workers' shards (after they
 * exist), start its sampler thread (0 or -errno), stop and free both. */
void hp_observe_init(struct hp_proxy *px);
int hp_observe_start(struct hp_proxy *px);
void hp_observe_fini(struct hp_proxy *px);

/* alert.c: alert rules' states. Evaluated on the sampler thread against
 * <s>'s rules (adopted when <s> changes); read by /status and /metrics. */
struct hp_alerts;
struct hp_metrics_alert;
struct json_t;
struct hp_alerts *hp_alerts_create(void);
void hp_alerts_destroy(struct hp_alerts *a);
void hp_alerts_eval(struct hp_alerts *a, struct hp_snap *s, struct hp_metrics_window *w,
		    uint64_t now_ms);
/* A JSON array of every rule with its state and measured clauses (new ref). */
struct json_t *hp_alerts_json(struct hp_alerts *a);
/* Copies of every rule's name and firing flag; free with hp_alerts_firing_free. */
size_t hp_alerts_firing(struct hp_alerts *a, struct hp_metrics_alert **out);
void hp_alerts_firing_free(struct hp_metrics_alert *m, size_t n);

/* alert_hook.c: the webhook's own thread and queue; posting never blocks. */
struct hp_alert_hook;
struct hp_alert_hook *hp_alert_hook_create(void);
void hp_alert_hook_destroy(struct hp_alert_hook *h);
void hp_alert_hook_post(struct hp_alert_hook *h, const char *url, uint64_t timeout_ms,
			uint32_t retries, const char *body);

struct hp_worker {
	unsigned magic;                /* HP_WORKER_MAGIC */
	unsigned id;
	struct hp_proxy *px;
	struct hp_loop *loop;
	pthread_t thread;
	struct hp_wsnap *ws;           /* the snapshot new requests start on, and its pools */
	struct hp_metrics_shard *metrics; /* written only by this worker; freed with the proxy */
	struct hp_list clients;        /* struct hp_client.link */
	size_t nclients;
	bool draining;                 /* not accepting; stop when clients are gone */
	struct hp_timer drain_timer;   /* forces the stop after drain_timeout */
	struct hp_post drain_post;     /* hp_proxy_drain() -> start_drain */
	struct hp_post stop_post;      /* hp_proxy_stop() -> stop_now */
	struct hp_post adopt_post;     /* hp_proxy_reload() -> adopt_snapshot */
	struct hp_post warm_post;      /* hp_proxy_start() -> start_warm */
	struct hp_timer idle_close_timer; /* closes idle connections a grace after drain starts */
	time_t date_s;                 /* second of the cached Date value */
	char date[HP_HTTP_DATE_LEN + 1];
	struct hp_compress_pool *compress; /* idle compression streams, reused (filter_compress.c) */
	struct hp_l2_client *l2;       /* this worker's Redis connection, or NULL (l2.c) */
	struct hp_buf logbuf;          /* access log lines waiting to be written */
	struct hp_timer log_timer;     /* flushes logbuf once a second */
	uint64_t uplog_next_ms;        /* monotonic: when an upstream failure may be logged again */
	unsigned uplog_suppressed;     /* failures not logged since the last line */
	struct hp_http_header *req_fields;  /* scratch for parsing request heads */
	struct hp_http_header *resp_fields; /* scratch for parsing response heads */
	size_t nfields;                /* req_fields holds nfields, resp_fields twice that;
					  only grows, so any snapshot's limits fit */
	struct hp_txn *spare_txns;     /* given back by finished requests, for the next */
	unsigned nspare_txns;
	struct hp_buf *spare_bufs;     /* input buffer storage of idle connections */
	unsigned nspare_bufs;
	size_t warm_next;              /* next cache.warm entry to fetch */
	unsigned warm_active;          /* warm-up requests in flight */
	unsigned warm_failed;          /* warm-up responses that were not 2xx */
	bool warm_logged;
};

/* ==== The transaction, by concern ==== */

enum hp_step {
#define HP_STEP(name, file, what) HP_STEP_##name,
#include "proxy/steps_tbl.h"
#undef HP_STEP
	HP_STEP_WAIT,    /* not a step: run the current one again on the next event */
	HP_STEP_DONE,    /* not a step: the connection is closed */
};

/* How the request body goes to the upstream (reqbody.c has the table). */
enum hp_reqbody_mode {
	HP_RB_NONE,          /* no body */
	HP_RB_READING,       /* being read whole before the upstream is contacted */
	HP_RB_BUFFERED,      /* whole in body_buf: sent with a Content-Length, maybe again */
	HP_RB_RAW,           /* a Content-Length body streamed from client->in */
	HP_RB_CHUNKED,       /* decoded and re-chunked into body_buf as it streams */
};

/* The request as the client sent it (recv.c, route.c). The parsed head's
 * views point into the client's input buffer and the worker's field
 * array: valid only until the step that consumes the head returns. */
struct hp_txn_req {
	uint64_t start_ns;             /* head complete (monotonic) */
	struct hp_http_request head;   /* the parsed head (see above) */
	size_t head_len;               /* its bytes at the front of client->in; 0 once consumed */
	enum hp_http_method method;
	int minor_version;
	bool keep_alive;               /* the client wants the connection kept */
	bool expect_continue;          /* the client waits for 100 Continue */
	enum hp_http_body body;        /* NONE, LENGTH or CHUNKED */
	uint64_t body_remaining;       /* LENGTH: body bytes not yet read */
	uint64_t body_bytes;           /* body bytes seen (decoded for chunked) */
	struct hp_http_chunked body_chunked;
	size_t body_ready;             /* RAW: bytes at the front of client->in that are
					  body, counted, not yet sent upstream */
	enum hp_reqbody_mode body_mode;
	struct hp_buf body_buf;        /* BUFFERED: the decoded body; CHUNKED: our framed
					  bytes not yet written (freed with the txn) */
	size_t body_sent;              /* BUFFERED: bytes written on this connection */
	bool body_done;                /* the whole request is with the upstream */
	/* The client: the connection's peer, or the address a trusted proxy
	 * forwarded for (trusted_proxies); rate-limit keys and the access log
	 * use it. Point at client->peer unless forwarded (then the arena). */
	const struct sockaddr_storage *client;
	const char *client_ip;
	/* log fields, copied into the arena when an access log is on */
	const char *log_method, *log_target, *log_ua, *log_referer, *log_host;
};

/* How the cache takes part (lookup.c, hit.c, invalidate.c). */
enum hp_cache_role {
	HP_ROLE_NONE,       /* not a caching route or method: pass */
	HP_ROLE_READER,     /* looked up; answered from an object, or passing */
	HP_ROLE_FILLER,      /* fetching for the cache: the response may be stored */
	HP_ROLE_REFRESHER,  /* a background refresh of what is stored */
	HP_ROLE_INVALIDATOR,/* an unsafe method: its success invalidates */
};

enum hp_cache_wait {
	HP_WAIT_NONE,
	HP_WAIT_FILL,        /* registered on another request's fill (step wait) */
	HP_WAIT_STREAM,      /* registered for more of an object still filling */
	HP_WAIT_WOKEN,       /* the wake-up came: run the lookup again */
};

struct hp_txn_cache {
	enum hp_cache_role role;
	enum hp_cache_wait wait;
	const struct hp_route_cache *rc; /* the route's cache rules; NULL when not caching */
	char *key;                     /* cache key, in the arena */
	size_t keylen;
	uint64_t hash;
	struct hp_cache_obj *obj;      /* stored object served or revalidated (a reference) */
	struct hp_cache_fill *fill;    /* ours while we fetch, until the fill filter takes it */
	struct hp_cache_waiter waiter; /* registered while wait != NONE */
	bool waited;                   /* this request waited once: it never waits again */
	bool revalidating;             /* the upstream request carries obj's validators */
	bool storing;                  /* the response is being copied into the fill */
	bool head_as_get;              /* a HEAD miss fetched as GET to fill the cache */
	const char *x_cache;           /* HIT, MISS, STALE, REVALIDATED, COALESCED, PASS */
	const char *fwd;               /* Cache-Status fwd= reason, NULL for a hit */
	int fwd_status;                /* the origin's status, for Cache-Status */
	char *req_head;                /* copy of the request head while filling (for Vary) */
	size_t req_head_len;
	time_t request_time;           /* wall clock when the upstream request started */
};

/* The L2 tier's part (l2.c). */
enum hp_l2_ask {
	HP_L2_ASK_NONE,      /* not asked (yet) */
	HP_L2_ASK_WAITING,   /* a GET is in flight: <op> */
	HP_L2_ASK_ANSWERED,  /* its answer is in <result>, <value> */
};

enum hp_l2_phase {
	HP_L2_PHASE_GET,     /* is the object in Redis? */
	HP_L2_PHASE_VARIANT, /* it is another variant: is ours in the URL's variant hash? */
	HP_L2_PHASE_LOCK,    /* no: may we fetch it (the fill lock)? */
	HP_L2_PHASE_POLL,    /* another instance fetches it: wait for its object */
};

struct hp_txn_l2 {
	enum hp_l2_ask ask;
	enum hp_l2_phase phase;
	struct hp_l2_op *op;           /* while WAITING, unless the poll timer is armed */
	struct hp_timer poll_timer;    /* POLL: the next look */
	uint64_t poll_deadline_ms;     /* POLL: fetch ourselves after this (loop clock) */
	bool lock_held;                /* we fetch for every instance: unlock at the end */
	char token[40];                /* the lock's value, ours */
	enum hp_l2_result result;
	char *value;                   /* FOUND: the stored bytes, in the arena */
	size_t len;
	bool hit;                      /* answered from L2 (Cache-Status detail) */
	struct hp_http_header *req;    /* the request's fields as the cache saw them, kept
					  by step l2 for the copy's variant key; NULL: no copy */
	size_t nreq;
};

/* The exchange with an upstream server (fetch.c). */
struct hp_txn_up {
	struct hp_upstream_pool *pool; /* the route's group, on this worker */
	struct hp_upstream_server *server;
	struct hp_upstream_conn *conn; /* ours while set */
	struct hp_buf head;            /* request head for the upstream */
	size_t head_sent;              /* bytes of it already written */
	uint64_t *tried;               /* servers tried: a server set in the arena, or NULL */
	struct hp_upstream_waiter slot;/* queued for a connection slot (max_connections) */
	bool slot_free;                /* the pool called us: a slot may be ours */
	unsigned attempts;             /* retries made */
	bool stale_retried;            /* the free retry after a dead pooled conn was used */
	uint64_t hash;                 /* the balancer's key (hp_connect_prepare) */
	bool retryable;                /* idempotent with no body: may be sent again */
	bool connect_event;            /* the connect finished or failed: check it */
	bool expired;                  /* the connection's timer fired */
	bool head_in;                  /* the final response head was taken */
	uint64_t start_ns;             /* request sent (monotonic) */
	uint64_t head_ns;              /* response head received */
	const char *fail;              /* why the exchange failed (a literal), or NULL */
	/* the response body's framing as the upstream sends it */
	enum hp_http_body body;
	uint64_t body_remaining;       /* LENGTH: bytes still to come */
	struct hp_http_chunked body_chunked;
	bool keep_alive;               /* the connection may be reused afterwards */
};

/* Where the response body comes from (deliver.c). */
enum hp_body_source {
	HP_SRC_NONE,         /* no body, or ours is whole in client->out */
	HP_SRC_UPSTREAM,     /* streamed from t->up.conn */
	HP_SRC_STORED,       /* a complete stored object: t->cache.obj */
	HP_SRC_STREAM,       /* an object still filling: copied as it grows */
	HP_SRC_DONE,         /* the source is finished (end ran through the chain) */
};

struct hp_txn_resp {
	int status;
	bool started;                  /* bytes of the response went into client->out */
	enum hp_body_source source;
	uint64_t off;                  /* STORED, STREAM: body bytes of the object taken */
	struct hp_filter_chain chain;
	struct hp_buf stream;          /* STREAM: bytes copied from the object */
	uint64_t bytes_out;            /* response bytes given to the client */
};

/* The rate limit's decision (route.c), for the RateLimit fields. */
enum hp_limit_shared {
	HP_LIMIT_SHARED_NONE,     /* not asked (a local limit, or not yet) */
	HP_LIMIT_SHARED_WAITING,  /* Redis decides: shared_op in flight */
	HP_LIMIT_SHARED_DONE,     /* its verdict is in <verdict> */
	HP_LIMIT_SHARED_FAILED,   /* Redis did not answer: the local table decides */
	HP_LIMIT_SHARED_USED,     /* the verdict was applied (a delay may follow) */
};

struct hp_txn_limit {
	const struct hp_config_rate_limit *conf; /* NULL: no limit applied */
	struct hp_ratelimit_verdict verdict;
	bool delaying;                 /* waiting on the client timer (CT_DELAY) */
	enum hp_metrics_limit outcome; /* for the metrics: rejected, delayed or NONE */
	struct hp_ratelimit *inflight_rl; /* concurrency: the table counting this request */
	uint64_t inflight_token;       /* its hp_ratelimit_enter() token; 0: not counted */
	enum hp_limit_shared shared;   /* rate_limit.shared: Redis's part */
	struct hp_l2_op *shared_op;    /* while WAITING */
};

/* The response's content coding (filter_compress.c). */
struct hp_txn_compress {
	bool on;                       /* the route compresses: <want> was negotiated */
	enum hp_compress_enc want;     /* the coding the request gets, if the response may */
	bool accepts_gzip;             /* the client's own Accept-Encoding takes gzip */
	enum hp_compress_enc enc;      /* the body is being encoded in this (IDENTITY: not) */
	bool gunzip;                   /* the origin's gzip is being decoded for the client */
	bool storable;                 /* the cache may keep it (an origin coding we asked for) */
	uint64_t in;                   /* body bytes into the encoder, for the metrics */
	uint64_t out;                  /* bytes out of it */
};

/*
 * One request and its response (txn.c). A connection holds one only while
 * a request runs: it is taken from the worker's spares when a head is
 * complete and given back when the response is out, with its arena and
 * buffers, so an idle keep-alive connection holds no request memory.
 */
struct hp_txn {
	enum hp_step step;             /* where the request is (steps_tbl.h) */
	struct hp_client *client;      /* whose request it is */
	struct hp_arena arena;         /* this request's memory */
	struct hp_buf out;             /* bytes for the client */
	struct hp_txn *next_spare;     /* in the worker's spares while unused */
	struct hp_wsnap *ws;           /* the snapshot it runs on (a reference) */
	const struct hp_route *route;
	struct hp_txn_req req;
	struct hp_txn_cache cache;
	struct hp_txn_l2 l2;
	struct hp_txn_up up;
	struct hp_txn_resp resp;
	struct hp_txn_limit limit;
	struct hp_txn_compress compress;
};

/* ==== Client connections ==== */

enum hp_client_timer {
	CT_NONE,
	CT_KEEPALIVE,    /* idle between requests */
	CT_HEADER,       /* a head has started and must complete */
	CT_BODY,         /* between request body bytes */
	CT_SEND,         /* the client is not reading */
	CT_QUEUE,        /* waiting for an upstream connection slot: the deadline */
	CT_DELAY,        /* rate limit in delay mode: when the request is due */
	CT_LINGER,       /* response sent, draining what the client still sends */
};

struct hp_client;
typedef void hp_client_fn(struct hp_client *c);

struct hp_client {
	unsigned magic;                /* HP_CLIENT_MAGIC */
	struct hp_io io;
	struct hp_timer timer;
	enum hp_client_timer timer_kind;
	enum hp_client_timer expired;  /* a timer fired: the driver handles it first */
	hp_client_fn *drive;           /* runs the transaction (pipeline.c) */
	hp_client_fn *on_close;        /* called once when it closes; NULL = nothing */
	struct hp_deferred free_later;
	struct hp_post wake;           /* a cache wake-up, posted from the filling thread */
	struct hp_list link;           /* in worker->clients */
	struct hp_worker *w;
	struct sockaddr_storage peer;
	char peer_ip[INET6_ADDRSTRLEN];
	struct hp_buf in;              /* bytes from the client; no storage while idle */
	bool readable;                 /* edge-triggered flags */
	bool writable;
	bool eof;                      /* the client shut down its sending side */
	bool hup;                      /* a shutdown was signalled: read on to EOF */
	bool close_after;              /* close once out is flushed */
	bool closed;
	bool lingering;                /* write side shut, discarding input until EOF */
	bool internal;                 /* no socket: a background refresh or a warm-up */
	bool post_pending;             /* a cache wake-up is coming (its waiter could not be
					  withdrawn): it frees us. Worker thread only. */
	bool after_wait;               /* re-running a request after waiting on a fill */
	struct hp_txn_limit waited_limit; /* after_wait: the request's rate-limit decision,
					     which the run again must not take twice */
	bool refresh;                  /* internal: refresh whatever is stored */
	bool warm;                     /* internal: a cache warm-up request */
	struct hp_deferred start_later;/* internal: first drive, outside the caller's stack */
	uint64_t conn_token;           /* its count in px->client_conns; 0: not counted */
	unsigned requests;             /* served on this connection */
	int last_status;               /* status of the last finished transaction */
	struct hp_txn *t;              /* the request running; NULL between requests */
};

/* The configuration <c>'s work reads: its transaction's snapshot while one
 * runs, its worker's current one between requests. */
static inline const struct hp_config *hp_client_cfg(const struct hp_client *c)
{
	return (c->t != NULL && c->t->ws != NULL ? c->t->ws : c->w->ws)->snap->cfg;
}

/* ==== txn.c: a transaction's resources ==== */

/* Start a new transaction (c->t) on <c>'s worker's current snapshot. */
void hp_txn_begin(struct hp_client *c);
/* Give back what the transaction holds for its work (upstream connection,
 * body chain, cache references, fill, waiters) but keep the request and
 * the snapshot: for an error response. Idempotent. */
void hp_txn_abort_work(struct hp_client *c);
/* hp_txn_abort_work(), then drop the snapshot and give the transaction
 * back to the worker (c->t is NULL after). */
void hp_txn_release(struct hp_client *c);
/* Free the worker's spare transactions and input buffers (worker exit). */
void hp_txn_free_spares(struct hp_worker *w);
/* Storage for <c>'s empty input buffer, from the worker's spares if any;
 * and back to them when the connection goes idle. */
void hp_txn_take_input(struct hp_client *c);
void hp_txn_give_input(struct hp_client *c);
/* Before a step waits (a delay, Redis): copy the request's parsed fields
 * into the transaction's arena, as they live in the worker's scratch array
 * that the next request parsed on this worker overwrites. Their views into
 * client->in stay valid: nothing is read from the client meanwhile. */
void hp_txn_keep_request_fields(struct hp_txn *t);
/* Give back the upstream connection, to its pool if <reusable>. */
void hp_txn_release_upstream(struct hp_client *c, bool reusable);
/* The io callback of an upstream connection the transaction holds, and its
 * timer callback: set flags, then run the transaction (c->drive). */
void hp_txn_on_upstream_event(struct hp_io *io, unsigned events);
void hp_txn_on_upstream_timer(struct hp_timer *tm);

/* ==== conn.c: the client connection ==== */

/* A new connection on <w>, run by <drive>; <on_close> (may be NULL) is
 * called when it closes. */
void hp_client_accept(struct hp_worker *w, int fd, const struct sockaddr_storage *peer,
		      uint64_t conn_token, hp_client_fn *drive);
/* Accept what is pending on listening socket <lfd> for <w>, on its thread,
 * each connection run by <drive>; past limits.max_connections (the whole
 * process) answer 503 and close; a client address that holds
 * limits.max_conns_per_client already is closed at once and counted. */
void hp_client_accept_pending(struct hp_worker *w, int lfd, hp_client_fn *drive);
/* A connection without a socket that runs the request <head> (copied):
 * a background refresh (<refresh>) or a warm-up. */
struct hp_client *hp_client_spawn_internal(struct hp_worker *w, const char *head, size_t len,
					   bool refresh, hp_client_fn *drive,
					   hp_client_fn *on_close);
/* Close now (freed later by the loop): releases the transaction. */
void hp_client_close(struct hp_client *c);
/* The client went away or stopped reading: a fill it feeds goes on without
 * it (the connection becomes internal); otherwise close. */
void hp_client_gone(struct hp_client *c);
bool hp_client_is_idle(const struct hp_client *c);
/* Read until c->in holds <limit> bytes or the socket is drained. False if
 * the connection failed and was closed. */
bool hp_client_read(struct hp_client *c, size_t limit);
/* Write c->out. False if the connection was closed. Keeps CT_SEND armed
 * while bytes wait for the client. */
bool hp_client_flush(struct hp_client *c);
/* Write <iov>[0..n) after nothing else; returns the bytes written, 0 when
 * the socket is full, or -1 when the connection failed (it is gone). */
ssize_t hp_client_writev(struct hp_client *c, const struct iovec *iov, int n);
/* sendfile <len> bytes of <fd> from <off>, after c->out (sent first, with
 * MSG_MORE); the same returns. */
ssize_t hp_client_sendfile(struct hp_client *c, int fd, uint64_t off, size_t len);
/* Close after a response: at once if the client finished sending, else
 * shut our side and drain its input for a while. */
void hp_client_close_gracefully(struct hp_client *c);
void hp_client_linger_read(struct hp_client *c);
void hp_client_arm_timer(struct hp_client *c, enum hp_client_timer kind, uint64_t ms);
static inline void hp_client_disarm_timer(struct hp_client *c);
/* The cache waiter callback (any thread): wakes the client on its worker,
 * or frees it there if it closed meanwhile. */
void hp_client_on_cache_event(struct hp_cache_waiter *w);

/* ==== respond.c: responses hotpath makes itself ==== */

/* Append "HTTP/1.1 <status> " to <b>. */
void hp_put_status_line_start(struct hp_buf *b, int status);
void hp_put_field(struct hp_buf *b, struct hp_str name, struct hp_str value);
/* The worker's Date value for this second. */
void hp_worker_date(struct hp_worker *w, char *out);
/* Queue a short plain-text response (dropping the transaction's work); if
 * part of a response is already out, close instead, the only honest signal
 * left. Returns the step to go on with: deliver, or DONE. */
enum hp_step hp_respond_error(struct hp_client *c, int status, const char *reason);
/* As hp_respond_error, with <fields> (complete "Name: value\r\n" lines, or
 * "") added to the head. */
enum hp_step hp_respond_error_fields(struct hp_client *c, int status, const char *reason,
				     const char *fields);
/* The RateLimit-Policy and RateLimit fields of <t>'s rate-limit decision,
 * as complete lines, into <out>; "" when no limit applied. Returns the
 * length (< <size>, which should be at least HP_LIMIT_FIELDS_MAX). */
#define HP_LIMIT_FIELDS_MAX 256
size_t hp_respond_limit_fields(const struct hp_txn *t, char *out, size_t size);

/* ==== l2.c: the shared tier (and step l2, below) ==== */

/* Copy <obj>, just filled from the origin by <c>, into Redis behind the
 * response; a no-op without L2, for an object over l2.max_object_size or
 * one with no freshness or stale window left. */
void hp_l2_tier_write(struct hp_client *c, struct hp_cache_obj *obj);
/* Whether <c>'s fill should be copied to L2 (hp_cache_fill_commit_fetch). */
bool hp_l2_tier_wants_copy(const struct hp_client *c);

/* ==== bus.c: the invalidation bus between instances (docs/l2.md) ==== */

/* Set up the bus when l2 is configured: the instance id, the subscriber on
 * worker 0's loop. Before the workers start. */
void hp_bus_create(struct hp_proxy *px);
/* After the workers stopped. */
void hp_bus_destroy(struct hp_proxy *px);
/* Was the L2 object <o> under the key <key> purged after it came from the
 * origin, by a purge this instance made or heard of? Any thread. */
bool hp_bus_purged(struct hp_proxy *px, const void *key, size_t keylen,
		   const struct hp_l2_object *o, const char *tag_header);

/* ==== body.c: the chain a response needs ==== */

/* Build and start the chain for a body from <src>: dechunk, fill, rechunk,
 * range, discard as the transaction needs, then the writer. <first> and
 * <last> bound a range (only for HP_SRC_STORED; last < first: none). */
void hp_body_begin(struct hp_client *c, enum hp_body_source src, uint64_t first,
		   uint64_t last);
/* Does an upstream body reach this client de-chunked (an HTTP/1.0 client),
 * or chunked where the upstream closes (an HTTP/1.1 client kept alive)?
 * The head says so before the chain exists. */
bool hp_body_dechunks(const struct hp_client *c);
bool hp_body_rechunks(const struct hp_client *c);

/* ==== filter_compress.c: the coding decisions (the filter: filter.h) ==== */

/* Negotiate <req>'s coding when its route compresses, and reduce its
 * Accept-Encoding to that coding (what the cache's Vary and the origin see). */
void hp_compress_on_request(struct hp_client *c, struct hp_http_request *req);
/* The same reduction on another copy of the request's fields, h[0..n)
 * (for identity the field is removed); returns the new count. */
size_t hp_compress_normalize(const struct hp_client *c, struct hp_http_header *h, size_t n);
/* The response head is in: decide whether its body is encoded, decoded or
 * sent as is, and rewrite <r>'s fields to match (Content-Encoding, no
 * Content-Length, weak ETag, Vary: Accept-Encoding); fields in the arena. */
void hp_compress_on_response(struct hp_client *c, struct hp_http_response *r);
/* Is the upstream body transformed on its way (encoded or decoded)? */
bool hp_compress_transforms(const struct hp_client *c);

/* ==== The steps (steps_tbl.h), each file using only those above ==== */

/* A step: does its part, returns the next step, HP_STEP_WAIT or HP_STEP_DONE. */
typedef enum hp_step hp_step_fn(struct hp_client *c);

/* recv.c */
enum hp_step hp_step_recv(struct hp_client *c);
/* Re-parse the request head kept for a fill or an invalidation; false if
 * none was kept. The fields go in the client's arena. */
bool hp_txn_saved_request(struct hp_client *c, struct hp_http_request *req);

/* route.c */
enum hp_step hp_step_route(struct hp_client *c);
enum hp_step hp_step_limit(struct hp_client *c);
/* Servers of the running configuration out of service now, for /metrics
 * (worker.c). */
double hp_proxy_upstream_servers_out(struct hp_proxy *px);
/* The value of cookie <name> in <req>'s Cookie fields, or an empty view. */
struct hp_str hp_route_find_cookie(const struct hp_http_request *req, const char *name);

/* hit.c: stored objects as responses */
/* Queue <obj> (a reference the transaction now owns) as the response, in
 * the form <req> asks (NULL: as stored), labelled X-Cache: <label>. */
void hp_hit_serve(struct hp_client *c, struct hp_cache_obj *obj, const char *label,
		  const struct hp_http_header *req, size_t nreq);
enum hp_step hp_step_hit(struct hp_client *c);
/* Is <name> a purge-tag field or a targeted cache-control field (when so
 * configured) that clients must not see? */
bool hp_hit_hides_field(const struct hp_client *c, struct hp_str name);
/* Response fields the cache adds to a response going to the client. */
void hp_hit_put_fields(struct hp_client *c, struct hp_buf *b);

/* invalidate.c */
/* Answer a PURGE request (403 outside cache.purge_allow). */
void hp_invalidate_purge(struct hp_client *c, const struct hp_http_request *req);
/* The upstream answered unsafe request <c> with <r>: invalidate what it
 * changed, if it succeeded. */
void hp_invalidate_unsafe(struct hp_client *c, const struct hp_http_response *r);

/* lookup.c: the cache's decisions */
enum hp_step hp_step_lookup(struct hp_client *c);
enum hp_step hp_step_l2(struct hp_client *c);
enum hp_step hp_step_wait(struct hp_client *c);
/* The upstream answered: store, freshen, or serve stale. True if the
 * response was answered from the cache (the upstream's is dropped). */
bool hp_lookup_on_response(struct hp_client *c, const struct hp_http_response *r);
/* The upstream failed before a response: serve stale if allowed. */
bool hp_lookup_on_error(struct hp_client *c);

/* connect.c: an upstream connection for the request */
/* Pick a server not tried yet and take a pooled connection or start one.
 * Returns fetch (go on), WAIT (queued for a slot, or connecting), or what
 * a failure leads to. */
enum hp_step hp_connect_upstream(struct hp_client *c);
/* The pool called us (t->up.slot_free): the server we queued for first. */
enum hp_step hp_connect_slot_turn(struct hp_client *c);
/* A connect finished or failed: go on, or try the next server. */
enum hp_step hp_connect_check(struct hp_client *c);
/* The connection died (<reason>) before any response byte: release it and
 * allow one more try (true), on another server unless it was a stale
 * pooled connection, if the request is idempotent and the tries and the
 * group's retry budget allow. */
bool hp_connect_retry(struct hp_client *c, const char *reason);
/* The response head with <status> came and nothing of it reached the
 * client: if <status> is in the group's retry_on and the request is
 * idempotent, within its tries and the retry budget, drop the response
 * with its connection and return true (go to hp_connect_upstream). */
bool hp_connect_retry_status(struct hp_client *c, int status);
/* The connection's timer fired before any response byte: a retry on
 * another server as above, or the 504. */
enum hp_step hp_connect_timed_out(struct hp_client *c);
/* Before the first try: the balancer's key for the request, counted in
 * the retry budget's window. While the request head is still parsed. */
void hp_connect_prepare(struct hp_client *c);
/* No connection slot for the request (queue full, or its wait timed out):
 * stale if allowed, or a 503 with Retry-After. */
enum hp_step hp_connect_busy(struct hp_client *c, const char *reason);
/* The response head with <status> came: the server answered (passive
 * health; a 5xx is an error for the circuit breaker). */
void hp_connect_answered(struct hp_client *c, int status);
/* The upstream failed: a 502/504 (or stale) before the response started,
 * a close after. Returns the step to go on with. */
enum hp_step hp_fetch_failed(struct hp_client *c, int status, const char *reason);

/* reqbody.c */
/* Step body: build the upstream head, read a body up to
 * limits.request_buffering whole (400 before the upstream hears of a bad
 * one), then on to fetch, which connects. */
enum hp_step hp_step_body(struct hp_client *c);
/* Write what can go of <p>[0..len) to the upstream; *<written> says how
 * much. False on a write error (the caller decides). */
bool hp_reqbody_write_up(struct hp_client *c, const char *p, size_t len, size_t *written);
/* Send what can go of the body (after the head). False on an upstream
 * write error; true otherwise, also when the request failed on the
 * client's side (an error response is queued, or the client closed: the
 * caller checks). */
bool hp_reqbody_send(struct hp_client *c, bool *progress);

/* fetch.c */
enum hp_step hp_step_pass(struct hp_client *c);
enum hp_step hp_step_fetch(struct hp_client *c);
/* Move the exchange on while the body streams: send what is left of the
 * request, read the upstream, feed the chain. Returns the step to go on
 * with (deliver, or DONE); sets the source to HP_SRC_DONE at the end. */
enum hp_step hp_fetch_pump(struct hp_client *c, bool *progress);

/* deliver.c */
enum hp_step hp_step_deliver(struct hp_client *c);

/* accesslog.c (the file itself: accesslog.h) */
void hp_accesslog_record(struct hp_client *c);
void hp_accesslog_flush(struct hp_worker *w);

/* finish.c */
enum hp_step hp_step_log(struct hp_client *c);

/* ==== pipeline.c: the driver ==== */

/* Run <c>'s transaction until it waits or the connection closes. Every
 * client's drive function. */
void hp_pipeline_run(struct hp_client *c);

/* inline definitions */

static inline void hp_client_disarm_timer(struct hp_client *c)
{
	c->timer_kind = CT_NONE;
	hp_timer_stop(c->w->loop, &c->timer);
}

#endif
