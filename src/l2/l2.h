/* SPDX-License-Identifier: MIT */
/*
 * l2.h - the second cache tier: objects in a Redis server shared by every
 * hotpath instance, reached asynchronously from each worker's own loop.
 *
 * Two parts. The format (format.c) turns a stored response into one Redis
 * string and back: a version byte first, so an instance never misreads an
 * object another version wrote (it counts as a miss). The client
 * (client.c) is one hiredis connection per worker, driven by the worker's
 * epoll loop through hiredis's adapter hooks: no thread, no blocking call.
 *
 * Invariants a caller relies on:
 *   - Redis is an optimisation. Every command ends, within timeout_ms, in
 *     its callback with a result or an error; while the server is down,
 *     slow or failing, the client says "unavailable" at once (a circuit
 *     breaker) and reconnects by itself with a growing back-off.
 *   - If a function that takes a callback returns NULL or false, the
 *     callback is never called (libuv's rule).
 *   - hp_l2_cancel() guarantees the callback is not called afterwards.
 *   - The shared struct hp_l2 holds only atomics after creation: any
 *     thread may read its counters.
 * Nothing here knows about the cache or the proxy; the proxy converts.
 */
#ifndef HP_L2_L2_H
#define HP_L2_L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/core.h"
#include "http/http.h"

struct hp_loop;
struct hp_l2;         /* shared by the workers: where Redis is, counters */
struct hp_l2_client;  /* one worker's connection */
struct hp_l2_op;      /* a GET in flight */

/* ==== The object format ==== */

#define HP_L2_FORMAT_VERSION 1

/* A stored response as it travels. Strings are views: into the caller's
 * memory when encoding, into the encoded bytes when decoded. */
struct hp_l2_object {
	int status;
	int64_t response_time;         /* wall s when the origin's response came */
	int64_t initial_age_s;         /* corrected initial age (RFC 9111 §4.2.3) */
	int64_t expires;               /* wall s when it stops being fresh */
	int64_t swr_s;                 /* stale-while-revalidate window, -1 none */
	int64_t sie_s;                 /* stale-if-error window, -1 none */
	struct hp_str variant;         /* hp_l2_variant_key() of the request it answered */
	const struct hp_http_header *fields; /* end-to-end response fields */
	size_t nfields;
	const char *body;              /* decode: the body bytes; encode: unused */
	uint64_t body_len;
};

enum hp_l2_decode {
	HP_L2_DECODE_OK,
	HP_L2_DECODE_TRUNCATED,        /* shorter than its lengths say */
	HP_L2_DECODE_VERSION,          /* written by another format version */
	HP_L2_DECODE_TOO_MANY_FIELDS,  /* more fields than the caller's array holds */
	HP_L2_DECODE_TRAILING,         /* bytes after the body */
};

/* Append the encoding of <o> up to and including its body length to <out>;
 * the caller appends exactly o->body_len body bytes after it. */
void hp_l2_encode_head(struct hp_buf *out, const struct hp_l2_object *o);
/* The whole encoding, body from o->body. */
void hp_l2_encode(struct hp_buf *out, const struct hp_l2_object *o);
/* Decode <len> bytes at <p> into <o>, whose views point into <p>; fields go
 * into <fields>, which holds <max_fields>. */
enum hp_l2_decode hp_l2_decode(const char *p, size_t len, struct hp_l2_object *o,
			       struct hp_http_header *fields, size_t max_fields);
/* A short static description of a decode result. */
const char *hp_l2_decode_strerror(enum hp_l2_decode r);

/*
 * The variant key of a response: for each field its Vary names, the
 * request's value ("name:value\n", names lower-cased, in Vary's order).
 * Appended to <out>. False for Vary: * (no request matches it).
 */
bool hp_l2_variant_key(struct hp_buf *out, const struct hp_http_header *resp, size_t nresp,
		       const struct hp_http_header *req, size_t nreq);

/* ==== Invalidation messages (the bus) ==== */

/* One purge, as published on the channel <prefix>inv for the other
 * instances. <a>, <b> by kind: 'k' a cache key (an URL purge or an unsafe
 * method's invalidation), 'p' a host (a) and a path prefix (b), 't' a tag
 * (a), 'a' everything. */
struct hp_l2_purge {
	char kind;                     /* 'k', 'p', 't' or 'a' */
	bool soft;                     /* mark stale instead of removing */
	struct hp_str instance;        /* who purged: its own messages an instance ignores */
	struct hp_str a, b;
};
/* Append the message to <out>. */
void hp_l2_purge_encode(struct hp_buf *out, const struct hp_l2_purge *p);
/* Parse <len> bytes at <msg>; views point into it. False if malformed. */
bool hp_l2_purge_decode(const char *msg, size_t len, struct hp_l2_purge *p);

/*
 * The purge journal: prefix and all purges cannot delete their L2 objects
 * (Redis cannot list them without a scan), so they also go into the list
 * <prefix>purges, newest first, HP_L2_JOURNAL_SIZE at most, kept l2.max_ttl
 * after the newest. An instance that starts, or subscribes again, after
 * they went by reads it and still ignores the L2 copies they purged.
 * An entry is the purge's wall time and its message.
 */
#define HP_L2_JOURNAL_SIZE 256
/* Append the entry of the purge made at <at> whose message (hp_l2_purge_encode())
 * is <msg>. */
void hp_l2_journal_entry(struct hp_buf *out, int64_t at, const char *msg, size_t len);
/* Views point into <e>. False if malformed. */
bool hp_l2_journal_entry_decode(const char *e, size_t len, int64_t *at, struct hp_l2_purge *p);
/* A journal read answers with its entries packed, each a u32 length and
 * its bytes: hp_l2_journal_pack() appends one to <out>;
 * hp_l2_journal_unpack() takes the next from *cur (moved past it), false
 * at <end> or when the rest is malformed. */
void hp_l2_journal_pack(struct hp_buf *out, const char *entry, size_t len);
bool hp_l2_journal_unpack(const char **cur, const char *end, struct hp_str *entry);

/* ==== Redis Cluster slots (slot.c) ==== */

#define HP_L2_SLOTS 16384
/* CRC16-CCITT (XMODEM), the cluster's key hash: "123456789" gives 0x31C3. */
uint16_t hp_l2_crc16(const void *data, size_t len);
/* The cluster slot of the Redis key <key>: of its {hash tag} if it has a
 * non-empty one, else of the whole key. */
unsigned hp_l2_key_slot(const void *key, size_t len);

/* ==== The shared state ==== */

/* A Redis server's numeric address. */
struct hp_l2_addr {
	const char *ip;
	int port;
};

struct hp_l2_conf {
	const char *ip;                /* numeric address of the Redis server (resolved) */
	int port;
	/* A Redis Cluster: <seeds> (ip, port above first) are nodes asked for
	 * the slot map; keys go to the node owning their slot. */
	bool cluster;
	const struct hp_l2_addr *seeds;
	size_t nseeds;
	uint64_t timeout_ms;           /* limit of one command */
	const char *prefix;            /* of every key */
};

/* Counters, read by any thread. */
struct hp_l2_stats {
	uint64_t hits;                 /* GETs that found an object */
	uint64_t misses;               /* GETs that found none */
	uint64_t errors;               /* commands that failed or timed out */
	uint64_t timeouts;             /* of which timed out */
	uint64_t writes;               /* SETs sent */
	uint64_t skipped;              /* lookups and writes skipped: not connected or
					  circuit open */
	uint64_t connects;             /* connections made, all workers */
	unsigned connected;            /* workers connected now */
	unsigned workers;              /* workers with a client */
	bool bus_up;                   /* the subscriber is subscribed now */
	uint64_t bus_published;        /* purges published */
	uint64_t bus_received;         /* purges of other instances received */
	uint64_t bus_resyncs;          /* resubscriptions after losing the bus */
	bool cluster;                  /* a Redis Cluster */
	unsigned nodes;                /* cluster: the most nodes a worker knows; else 1 */
	uint64_t redirects;            /* cluster: MOVED and ASK answers followed */
	uint64_t slot_refreshes;       /* cluster: slot maps fetched (CLUSTER SLOTS) */
};

/* Create the shared state; <conf>'s strings are copied. Makes no connection. */
struct hp_l2 *hp_l2_create(const struct hp_l2_conf *conf);
void hp_l2_destroy(struct hp_l2 *l2);
void hp_l2_get_stats(const struct hp_l2 *l2, struct hp_l2_stats *out);
/* A lookup the caller decided to skip, or found no use for (counted). */
void hp_l2_note_miss(struct hp_l2 *l2);

/* ==== One worker's client ==== */

/* A client on <loop> (the calling thread's); it connects at once, in the
 * background. For a cluster it is a router: one connection per node, a
 * slot map fetched from the first node up (CLUSTER SLOTS) and fetched
 * again after each MOVED; MOVED and ASK are followed (ASKING first for
 * ASK). Keys are named <prefix><kind>{<cache key>} there, so an object
 * and its fill lock share a slot. */
struct hp_l2_client *hp_l2_client_create(struct hp_l2 *l2, struct hp_loop *loop);
/* Close the connection; pending callbacks are called with an error first. */
void hp_l2_client_destroy(struct hp_l2_client *cl);
/* Connected, and the circuit is closed: a command now has a chance. */
bool hp_l2_client_ready(const struct hp_l2_client *cl);

enum hp_l2_result {
	HP_L2_FOUND,                   /* value and len are the stored bytes; for
					  hp_l2_lock(): the lock is ours */
	HP_L2_NOT_FOUND,               /* no object; for hp_l2_lock(): another instance
					  holds the lock; for hp_l2_poll(): no object and
					  no lock (fetch it yourself) */
	HP_L2_LOCKED,                  /* hp_l2_poll(): no object yet, the lock is held */
	HP_L2_ERROR,                   /* failed, timed out or the connection was lost */
};

/* Called once per hp_l2_get() that returned an op, unless cancelled. The
 * value is valid only during the call. */
typedef void hp_l2_get_fn(void *data, enum hp_l2_result r, const char *value, size_t len);

/* GET the object stored under the cache key <key> (prefix added). NULL when
 * the client is not ready (counted as skipped): then <cb> is never called. */
struct hp_l2_op *hp_l2_get(struct hp_l2_client *cl, const void *key, size_t keylen,
			   hp_l2_get_fn *cb, void *data);
/*
 * Cross-instance coalescing: try to take the fill lock of the cache key
 * <key> (SET <prefix>l:<key> <token> NX PX <ttl_ms>). FOUND: ours; fetch,
 * then hp_l2_unlock(). NOT_FOUND: another instance fetches it: poll.
 */
struct hp_l2_op *hp_l2_lock(struct hp_l2_client *cl, const void *key, size_t keylen,
			    const char *token, uint64_t ttl_ms, hp_l2_get_fn *cb, void *data);
/* The object and the lock of <key> at once (MGET): FOUND with the object,
 * LOCKED, or NOT_FOUND (neither: the holder finished without storing, or
 * died and its lock expired). */
struct hp_l2_op *hp_l2_poll(struct hp_l2_client *cl, const void *key, size_t keylen,
			    hp_l2_get_fn *cb, void *data);
/* Release the lock of <key> if it still holds <token> (a script: a lock
 * that expired and was taken by another instance stays). No answer. */
bool hp_l2_unlock(struct hp_l2_client *cl, const void *key, size_t keylen, const char *token);
/*
 * Shared rate limits: one GCRA decision for <key> in Redis (EVALSHA of a
 * script loaded on connect; Redis's clock), <interval_us> per request,
 * <burst>. FOUND: <value> holds HP_L2_GCRA_FIELDS int64_t in host order:
 * allowed (0/1), remaining, retry_us, reset_us, delay_us. NULL (not ready,
 * script not loaded) or ERROR: decide locally.
 */
#define HP_L2_GCRA_FIELDS 5
struct hp_l2_op *hp_l2_gcra(struct hp_l2_client *cl, const void *key, size_t keylen,
			    uint64_t interval_us, uint32_t burst, hp_l2_get_fn *cb, void *data);
/* The callback of <op> will not be called; <op> is gone for the caller. */
void hp_l2_cancel(struct hp_l2_op *op);
/* DEL the cache key <key> (and its variants), without waiting. False when
 * not sent. */
bool hp_l2_del(struct hp_l2_client *cl, const void *key, size_t keylen);
/* PUBLISH <msg> on the invalidation channel, without waiting. False when
 * not sent. */
bool hp_l2_publish(struct hp_l2_client *cl, const void *msg, size_t len);
/* Tag index: add the object under cache key <key> to the set of tag
 * <tag> (SADD), which lives <ttl_ms> from now at most. No answer. */
bool hp_l2_tag_add(struct hp_l2_client *cl, struct hp_str tag, const void *key, size_t keylen,
		   uint64_t ttl_ms);
/* Delete every object of tag <tag>, and the set (one script). No answer. */
bool hp_l2_tag_purge(struct hp_l2_client *cl, struct hp_str tag);
/* The purge journal (above): add <entry> (LPUSH, LTRIM, PEXPIRE <ttl_ms>),
 * without waiting; read it whole: answered HP_L2_FOUND with the entries
 * packed (hp_l2_journal_unpack()), HP_L2_NOT_FOUND when empty, or
 * HP_L2_ERROR, as hp_l2_get(). */
bool hp_l2_journal_add(struct hp_l2_client *cl, const void *entry, size_t len, uint64_t ttl_ms);
struct hp_l2_op *hp_l2_journal_read(struct hp_l2_client *cl, hp_l2_get_fn *cb, void *data);
/* A purge received (the subscriber counts it). */
void hp_l2_note_received(struct hp_l2 *l2);

enum hp_l2_bus_event {
	HP_L2_BUS_MESSAGE,             /* a message: msg, len */
	HP_L2_BUS_SUBSCRIBED,          /* subscribed for the first time */
	HP_L2_BUS_RESYNC,              /* subscribed again after losing the connection:
					  messages may have been missed */
};
typedef void hp_l2_message_fn(void *data, enum hp_l2_bus_event ev, const char *msg,
			      size_t len);
/* A connection on <loop> subscribed to the invalidation channel, which
 * calls <cb> for each message and after each resubscription; it
 * reconnects by itself like a client. Destroy with hp_l2_client_destroy(). */
struct hp_l2_client *hp_l2_subscriber_create(struct hp_l2 *l2, struct hp_loop *loop,
					     hp_l2_message_fn *cb, void *data);

/*
 * Vary variants: every variant of a URL also goes into the hash
 * <prefix>v:<key>, under its variant key (hp_l2_variant_key()); the hash
 * lives as long as the variant written last.
 * hp_l2_set_variant() without waiting; hp_l2_get_variant() as hp_l2_get().
 * hp_l2_del() deletes the hash with the object.
 */
bool hp_l2_set_variant(struct hp_l2_client *cl, const void *key, size_t keylen,
		       const void *variant, size_t vlen, const void *value, size_t len,
		       uint64_t ttl_ms);
struct hp_l2_op *hp_l2_get_variant(struct hp_l2_client *cl, const void *key, size_t keylen,
				   const void *variant, size_t vlen, hp_l2_get_fn *cb,
				   void *data);

/* SET the cache key <key> to <value> with a TTL of <ttl_ms> (PX), without
 * waiting for the answer. False when not sent (not ready). */
bool hp_l2_set(struct hp_l2_client *cl, const void *key, size_t keylen, const void *value,
	       size_t len, uint64_t ttl_ms);

#endif
