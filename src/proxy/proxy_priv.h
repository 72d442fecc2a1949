/* SPDX-License-Identifier: MIT */
/*
 * proxy_priv.h - the types the proxy's files share: the proxy, its
 * workers, client connections and the transaction (one request and its
 * response) a client connection carries at a time.
 *
 * A client connection runs one transaction at a time; pipelined requests
 * wait in its input buffer until the current response is complete, which
 * keeps responses in order without queueing state.
 */
#ifndef HP_PROXY_PROXY_PRIV_H
#define HP_PROXY_PROXY_PRIV_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "http/http.h"
#include "net/net.h"
#include "proxy/proxy.h"
#include "cache/cache.h"
#include "upstream/upstream.h"

#define HP_WORKER_MAGIC 0x776f726bu
#define HP_CLIENT_MAGIC 0x636c6e74u

struct hp_accesslog;
struct hp_listeners;

/* A route's cache rules in the cache module's terms, built once. */
struct hp_route_cache {
	bool enabled;
	struct hp_cache_policy policy;
	struct hp_cache_key_spec key;
};

struct hp_proxy {
	const struct hp_config *cfg;   /* borrowed */
	struct hp_upstream_group **groups; /* one per cfg->upstreams */
	struct hp_listeners *listeners; /* every listening socket (listeners.h) */
	struct hp_worker *workers;
	unsigned nworkers;
	atomic_uint nclients;          /* client connections, all workers */
	atomic_bool draining;          /* hp_proxy_drain() was called */
	struct hp_accesslog *alog;     /* NULL when access_log.path is NULL */
	struct hp_cache *cache;        /* NULL when cache.enabled is false */
	struct hp_route_cache *route_cache; /* one per cfg->routes */
};

struct hp_worker {
	unsigned magic;                /* HP_WORKER_MAGIC */
	unsigned id;
	struct hp_proxy *px;
	struct hp_loop *loop;
	pthread_t thread;
	struct hp_upstream_pool **pools; /* one per upstream group */
	struct hp_list clients;        /* struct hp_client.link */
	size_t nclients;
	bool draining;                 /* not accepting; stop when clients are gone */
	struct hp_timer drain_timer;   /* forces the stop after drain_timeout */
	struct hp_timer idle_close_timer; /* closes idle connections a grace after drain starts */
	time_t date_s;                 /* second of the cached Date value */
	char date[HP_HTTP_DATE_LEN + 1];
	struct hp_buf logbuf;          /* access log lines waiting to be written */
	struct hp_timer log_timer;     /* flushes logbuf once a second */
	struct hp_http_header *req_fields;  /* scratch for parsing request heads */
	struct hp_http_header *resp_fields; /* scratch for parsing response heads */
	size_t warm_next;              /* next cache.warm entry to fetch */
	unsigned warm_active;          /* warm-up requests in flight */
	unsigned warm_failed;          /* warm-up responses that were not 2xx */
	bool warm_logged;
};

enum hp_txn_state {
	TXN_IDLE,        /* waiting for a request head */
	TXN_CONNECTING,  /* head parsed, waiting for an upstream connection */
	TXN_EXCHANGE,    /* request going up, response coming down */
	TXN_LOCAL,       /* sending a response hotpath made itself, or a stored one */
	TXN_WAITING,     /* another request is fetching this key: wait for it */
};

enum hp_client_timer {
	CT_NONE,
	CT_KEEPALIVE,    /* idle between requests */
	CT_HEADER,       /* a head has started and must complete */
	CT_BODY,         /* between request body bytes */
	CT_SEND,         /* the client is not reading */
	CT_QUEUE,        /* waiting for an upstream connection slot */
	CT_LINGER,       /* response sent, draining what the client still sends */
};

/* One request and its response. Reset between requests. */
struct hp_txn {
	enum hp_txn_state state;
	uint64_t start_ns;             /* head complete */
	uint64_t upstream_ns;          /* upstream request started */
	uint64_t upstream_done_ns;     /* upstream response head received */
	uint64_t queue_deadline_ms;    /* give up waiting for a slot (loop clock) */
	/* request */
	enum hp_http_method method;
	int minor_version;
	bool client_keep_alive;        /* the client wants the connection kept */
	enum hp_http_body req_body;    /* NONE, LENGTH or CHUNKED */
	uint64_t req_remaining;        /* LENGTH: body bytes not yet read */
	uint64_t req_body_bytes;       /* body bytes seen (decoded for chunked) */
	struct hp_http_chunked req_chunked;
	size_t req_ready;              /* bytes at the front of client->in that are body,
					  validated, not yet sent upstream */
	bool req_done;                 /* the whole request is with the upstream */
	bool retryable;                /* idempotent with no body: may be resent */
	struct hp_buf up_out;          /* request head for the upstream, then unused */
	size_t up_out_sent;            /* bytes of up_out already written */
	/* upstream */
	const struct hp_config_route *route;
	struct hp_upstream_pool *pool;
	struct hp_upstream_server *server;
	struct hp_upstream_conn *up;
	uint64_t tried;                /* servers tried, bitmask */
	unsigned attempts;
	/* response */
	bool resp_head_done;
	int status;
	enum hp_http_body resp_body;
	uint64_t resp_remaining;       /* LENGTH: bytes still to come */
	struct hp_http_chunked resp_chunked;
	bool dechunk;                  /* HTTP/1.0 client: strip chunked framing */
	bool rechunk;                  /* close-delimited body sent chunked to a 1.1 client */
	bool resp_keep_alive;          /* the upstream connection may be reused */
	bool resp_started;             /* bytes of the response went into client->out */
	bool resp_done;                /* the whole response is in client->out */
	uint64_t bytes_out;            /* response bytes given to the client */
	/* cache (cached.c) */
	const struct hp_route_cache *rc; /* the route's cache rules, NULL when not caching */
	char *key;                     /* cache key, in the arena */
	size_t keylen;
	uint64_t hash;
	struct hp_cache_obj *obj;      /* stored object being served or revalidated (a ref) */
	struct hp_cache_fill *fill;    /* ours while we fetch for the cache */
	struct hp_cache_waiter waiter; /* registered while TXN_WAITING */
	bool waited;                   /* woken after waiting: do not coalesce again */
	bool storing;                  /* the response is being copied into fill */
	bool revalidating;             /* the upstream request carries obj's validators */
	bool serving_obj;              /* the body comes from obj, not from upstream */
	bool streaming;                /* obj is still filling: its body is copied as it grows */
	bool stream_wait;              /* waiter is registered for more of obj's body */
	bool refresh;                  /* background refresh: revalidate whatever is stored */
	bool head_as_get;              /* a HEAD miss fetched as GET to fill the cache: the
					  body is stored, not sent */
	uint64_t obj_off;              /* body bytes of obj already written */
	uint64_t obj_end;              /* where the body (or the range) sent from obj ends */
	const char *x_cache;           /* HIT, MISS, STALE, REVALIDATED, COALESCED, PASS */
	const char *fwd;               /* Cache-Status fwd= reason, NULL for a hit */
	int fwd_status;                /* the origin's status, for Cache-Status */
	char *req_head;                /* copy of the request head while filling (for Vary) */
	size_t req_head_len;
	time_t request_time;           /* wall clock when the upstream request started */
	/* log fields, copied into the arena when an access log is on */
	const char *log_method, *log_target, *log_ua, *log_referer, *log_host;
};

struct hp_client {
	unsigned magic;                /* HP_CLIENT_MAGIC */
	struct hp_io io;
	struct hp_timer timer;
	enum hp_client_timer timer_kind;
	struct hp_deferred free_later;
	struct hp_list link;           /* in worker->clients */
	struct hp_worker *w;
	struct sockaddr_storage peer;
	char peer_ip[INET6_ADDRSTRLEN];
	struct hp_buf in;              /* bytes from the client */
	struct hp_buf out;             /* bytes for the client */
	struct hp_arena arena;         /* this request's memory */
	bool readable;                 /* edge-triggered flags */
	bool writable;
	bool eof;                      /* the client shut down its sending side */
	bool hup;                      /* a shutdown was signalled: read on to EOF */
	bool close_after;              /* close once out is flushed */
	bool closed;
	bool lingering;                /* write side shut, discarding input until EOF */
	bool internal;                 /* no socket: a background refresh or a warm-up */
	bool post_pending;             /* a cache wake-up is posted to us: free after it */
	bool after_wait;               /* re-running a request after waiting on a fill */
	bool refresh;                  /* internal: refresh whatever is stored */
	bool warm;                     /* internal: a cache warm-up request */
	struct hp_deferred start_later;/* internal: first drive, outside the caller's stack */
	unsigned requests;             /* served on this connection */
	int last_status;               /* status of the last finished transaction */
	struct hp_txn t;
};

/* Append "HTTP/1.1 <status> " to <b>. */
void hp_put_status_line_start(struct hp_buf *b, int status);

/* worker.c */
void hp_worker_date(struct hp_worker *w, char *out);
void hp_worker_client_gone(struct hp_worker *w, struct hp_client *c);
/* Start more cache warm-up requests, up to cache.warm_concurrency. */
void hp_worker_warm_next(struct hp_worker *w);

/* client.c */
void hp_client_accept(struct hp_worker *w, int fd, const struct sockaddr_storage *peer);
void hp_client_close(struct hp_client *c);
/* Free a closed client whose deferred free was held back by post_pending. */
void hp_client_free_now(struct hp_client *c);
void hp_client_drive(struct hp_client *c);
void hp_client_send_error(struct hp_client *c, int status, const char *reason);
bool hp_client_is_idle(const struct hp_client *c);
/* Read from the client until c->in holds <limit> bytes or the socket is
 * drained. False if the connection failed and was closed. */
bool hp_client_read(struct hp_client *c, size_t limit);
void hp_client_arm_timer(struct hp_client *c, enum hp_client_timer kind, uint64_t ms);
void hp_client_disarm_timer(struct hp_client *c);

/* forward.c */
void hp_forward_start(struct hp_client *c, const struct hp_http_request *req, size_t head_len);
/* Advance the exchange; true if anything moved. */
bool hp_forward_drive(struct hp_client *c);
void hp_forward_abort(struct hp_client *c);
void hp_forward_retry_queued(struct hp_client *c);

/* cached.c: the cache's decisions in the request path */
enum hp_cache_verdict {
	HP_CV_FETCH,     /* go upstream (t->fill / t->revalidating say how) */
	HP_CV_DONE,      /* answered from the cache, or an error was queued */
	HP_CV_WAIT,      /* coalesced behind another fetch */
};
enum hp_cache_verdict hp_cached_begin(struct hp_client *c, const struct hp_http_request *req,
				      size_t head_len);
/* The upstream answered: decide to store, freshen, or serve stale. Returns
 * true if the response was handled from the cache (the upstream's is dropped). */
bool hp_cached_on_response(struct hp_client *c, const struct hp_http_response *r);
void hp_cached_on_body(struct hp_client *c, const char *data, size_t len);
void hp_cached_on_complete(struct hp_client *c, bool whole);
/* The upstream failed before a response: serve stale if allowed. */
bool hp_cached_on_error(struct hp_client *c);
void hp_cached_release(struct hp_client *c);
/* Re-parse the request head kept for a fill or an invalidation; false if
 * none was kept. The fields go in the client's arena. */
bool hp_cached_saved_request(struct hp_client *c, struct hp_http_request *req);
/* The waiter callback for waiting on a fill or on a streamed body (any
 * thread): wakes the client on its own worker. */
void hp_cached_on_event(struct hp_cache_waiter *w);
void hp_cached_init_routes(struct hp_proxy *px);
struct hp_client *hp_client_spawn_internal(struct hp_worker *w, const char *head, size_t len,
					   bool refresh);

/* stored.c: sending a stored object */
/* Queue <obj> (a reference the transaction now owns) as the response, in
 * the form <req> asks (NULL: as stored), labelled X-Cache: <label>. */
void hp_cached_serve(struct hp_client *c, struct hp_cache_obj *obj, const char *label,
		     const struct hp_http_header *req, size_t nreq);
/* Write the stored body after c->out; false if the connection failed. */
bool hp_cached_flush_body(struct hp_client *c);
/* Is <name> a purge-tag field that clients must not see? */
bool hp_cached_hides_field(const struct hp_client *c, struct hp_str name);
/* Response fields the cache adds to a response going to the client. */
void hp_cached_put_fields(struct hp_client *c, struct hp_buf *b);

/* invalidate.c */
/* Answer a PURGE request (403 outside cache.purge_allow). */
enum hp_cache_verdict hp_cached_purge(struct hp_client *c, const struct hp_http_request *req);
/* The upstream answered unsafe request <c> with <r>: invalidate what it
 * changed, if it succeeded. */
void hp_cached_invalidate_unsafe(struct hp_client *c, const struct hp_http_response *r);

/* accesslog.c */
struct hp_accesslog *hp_accesslog_open(const struct hp_config_access_log *conf, char *err,
				       size_t errlen);
void hp_accesslog_close(struct hp_accesslog *log);
void hp_accesslog_record(struct hp_client *c);
void hp_accesslog_flush(struct hp_worker *w);

#endif
