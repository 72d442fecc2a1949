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
#include "upstream/upstream.h"

#define HP_WORKER_MAGIC 0x776f726bu
#define HP_CLIENT_MAGIC 0x636c6e74u

struct hp_accesslog;

struct hp_listen_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char *name;                    /* as configured */
};

struct hp_proxy {
	const struct hp_config *cfg;   /* borrowed */
	struct hp_upstream_group **groups; /* one per cfg->upstreams */
	struct hp_listen_addr *addrs;  /* one per cfg->listen */
	int *bound_fds;                /* the first worker's listeners, bound at create */
	struct hp_worker *workers;
	unsigned nworkers;
	atomic_uint nclients;          /* client connections, all workers */
	struct hp_accesslog *alog;     /* NULL when access_log.path is NULL */
};

struct hp_listener {
	struct hp_io io;
	struct hp_worker *w;
};

struct hp_worker {
	unsigned magic;                /* HP_WORKER_MAGIC */
	unsigned id;
	struct hp_proxy *px;
	struct hp_loop *loop;
	pthread_t thread;
	struct hp_listener *listeners; /* one per listen address */
	struct hp_upstream_pool **pools; /* one per upstream group */
	struct hp_list clients;        /* struct hp_client.link */
	size_t nclients;
	bool draining;                 /* not accepting; stop when clients are gone */
	struct hp_timer drain_timer;   /* forces the stop after drain_timeout */
	time_t date_s;                 /* second of the cached Date value */
	char date[HP_HTTP_DATE_LEN + 1];
	struct hp_buf logbuf;          /* access log lines waiting to be written */
	struct hp_timer log_timer;     /* flushes logbuf once a second */
};

enum hp_txn_state {
	TXN_IDLE,        /* waiting for a request head */
	TXN_CONNECTING,  /* head parsed, waiting for an upstream connection */
	TXN_EXCHANGE,    /* request going up, response coming down */
	TXN_LOCAL,       /* sending a response hotpath made itself */
};

enum hp_client_timer {
	CT_NONE,
	CT_KEEPALIVE,    /* idle between requests */
	CT_HEADER,       /* a head has started and must complete */
	CT_BODY,         /* between request body bytes */
	CT_SEND,         /* the client is not reading */
	CT_QUEUE,        /* waiting for an upstream connection slot */
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
	bool close_after;              /* close once out is flushed */
	bool closed;
	unsigned requests;             /* served on this connection */
	struct hp_txn t;
};

/* worker.c */
void hp_worker_date(struct hp_worker *w, char *out);
void hp_worker_client_gone(struct hp_worker *w, struct hp_client *c);

/* client.c */
void hp_client_accept(struct hp_worker *w, int fd, const struct sockaddr_storage *peer);
void hp_client_close(struct hp_client *c);
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

/* accesslog.c */
struct hp_accesslog *hp_accesslog_open(const struct hp_config_access_log *conf, char *err,
				       size_t errlen);
void hp_accesslog_close(struct hp_accesslog *log);
void hp_accesslog_record(struct hp_client *c);
void hp_accesslog_flush(struct hp_worker *w);

#endif
