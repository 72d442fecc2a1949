/* SPDX-License-Identifier: MIT */
/*
 * cache_priv.h - types shared by the files of src/cache/ only.
 *
 * Locking: every field marked "shard" is guarded by the lock of the shard
 * the key hashes to. Object fields outside that group are written before the
 * object is published and never again (refcnt and purged are atomics), which
 * is what lets readers use an object with no lock held.
 *
 * The tag index (tagindex.c) has its own locks, one per tag shard, which
 * guard its tables and every struct tagref link. Lock order: a shard lock,
 * then a tag-shard lock. Never take a shard lock while holding a tag-shard
 * lock, and never hold two locks of one kind: link and unlink, which run
 * under the shard lock, take the tag-shard lock inside it, and a purge by
 * tag drops the tag-shard lock (keeping references on what it found)
 * before it locks the objects' shards one at a time.
 */
#ifndef HP_CACHE_CACHE_PRIV_H
#define HP_CACHE_CACHE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "cache/cache.h"

#define HP_CACHE_MAGIC 0x63616368u
#define HP_CACHE_OBJ_MAGIC 0x6f626a63u
#define HP_CACHE_FILL_MAGIC 0x66696c6cu

#define BODY_SEG_BYTES 16384u  /* body segment size; the last one is trimmed at commit */
#define BODY_FILE_MIN 32768u   /* bodies this large move to a memfd at commit (sendfile) */
#define MAX_VARIANTS 16        /* variants per key; the oldest goes beyond this */
#define FREQ_MAX 3             /* S3-FIFO saturating access counter */
#define OBJ_OVERHEAD_BYTES 64  /* malloc headers and the like, charged per object */

enum queue { Q_NONE, Q_SMALL, Q_MAIN };

struct tagref;   /* tagindex.c: one (object, tag) pair in the tag index */
struct tagshard; /* tagindex.c: one lock's worth of the tag index */

enum body_state {
	BODY_FILLING,  /* its fill is appending; readers stream it under <mtx> */
	BODY_COMPLETE, /* committed: immutable, read with no lock */
	BODY_FAILED,   /* the fill ended without it: it will never be complete */
};

/* A body shared by an object and the objects freshened from it. While it
 * fills, <mtx> guards everything below it against streaming readers. */
struct body {
	atomic_uint refcnt;
	atomic_int state;         /* enum body_state; COMPLETE and FAILED are final */
	pthread_mutex_t mtx;
	struct hp_list watchers;  /* mtx: struct hp_cache_waiter, called on growth or end */
	uint64_t len;   /* bytes */
	size_t nseg;    /* segments in use: all BODY_SEG_BYTES long but the last */
	size_t cap;     /* slots in seg[] */
	char **seg;
	int fd;         /* sealed into a memfd (then seg is empty), else -1 */
	char *map;      /* the memfd mapped read-only, len bytes, or NULL */
};

/*
 * Invariants: linked (ke != NULL) <=> in ke->variants and in one queue;
 * with ntags > 0, in the tag index (trefs != NULL) <=> linked, or built by
 * a fill whose head was accepted and which has not ended yet;
 * the cache holds one reference while linked; charge_bytes is counted in the
 * shard's bytes exactly while linked.
 */
struct hp_cache_obj {
	unsigned magic;
	atomic_uint refcnt;
	atomic_bool purged;           /* soft purge: counts as expired */
	_Atomic int64_t purged_at;    /* wall seconds of the soft purge (with purged) */
	/* shard */
	struct kentry *ke;            /* NULL once unlinked */
	struct hp_list vlink;         /* in ke->variants, newest first */
	struct hp_list qlink;         /* in the shard's small or main queue */
	uint8_t queue;                /* enum queue */
	uint8_t freq;                 /* hits since insert or last second chance, <= FREQ_MAX */
	/* immutable once published */
	uint64_t charge_bytes;        /* everything this object holds, body included */
	uint64_t hash;                /* of its key, to find its shard again */
	size_t mem_bytes;             /* size of <mem> */
	int status;
	struct hp_str head;           /* serialized, see hp_cache_obj_head() */
	struct hp_http_header *fields;
	size_t nfields;
	struct hp_http_header *vary;  /* name, and "\1" + combined request value (or "") */
	size_t nvary;
	bool vary_star;               /* Vary: * never matches */
	struct hp_str *tags;
	size_t ntags;
	struct tagref *trefs;         /* ntags refs in the tag index while linked or filled */
	struct hp_cache_fill *fill;   /* shard (set before it is indexed): its fill, until it ends */
	struct hp_str etag;
	struct hp_str last_modified;
	struct hp_str date;           /* the origin's Date value (len 0 if none) */
	struct body *body;
	time_t response_time;         /* wall s */
	int64_t corrected_initial_age;/* s, §4.2.3 */
	int64_t lifetime_s;           /* freshness lifetime */
	int64_t swr_s;                /* stale-while-revalidate, -1 absent */
	int64_t sie_s;                /* stale-if-error, -1 absent */
	bool no_cache;                /* unqualified no-cache: revalidate every use */
	bool no_stale;                /* must-/proxy-revalidate or s-maxage */
	bool streamable;              /* has a Content-Length: may be streamed while it fills */
	char *mem;                    /* backing store of every string above */
	char *head_mem;
};

/* A key: its variants, its fill in progress, its hit-for-pass / ghost memory. */
struct kentry {
	struct kentry *hnext;         /* bucket chain */
	uint64_t hash;
	struct hp_list variants;      /* objects, newest first */
	size_t nvariants;
	struct hp_cache_fill *fill;   /* in progress, or NULL */
	time_t hfp_until;             /* wall s; hit-for-pass while now < this */
	bool ghost;                   /* evicted from the small queue unused (S3-FIFO) */
	struct hp_list idle_link;     /* in shard idle list: no variants, no fill */
	size_t keylen;
	char key[];
};

#define KENTRY_CHARGE(keylen) (sizeof(struct kentry) + (keylen) + 16)

/*
 * One lock's worth of the cache. Budget is max_memory / shards: the sum of
 * the shards' bytes never exceeds max_memory, with no global counter to
 * contend on.
 */
struct shard {
	pthread_mutex_t mtx;
	struct kentry **buckets;      /* power of two */
	size_t nbuckets;
	size_t nkeys;
	struct hp_list small;         /* S3-FIFO small queue, oldest first (LRU: unused) */
	struct hp_list main;          /* S3-FIFO main queue / LRU list, oldest first */
	struct hp_list idle;          /* idle kentries (ghosts, hit-for-pass), oldest first */
	size_t nidle;
	size_t nobjs;
	uint64_t bytes;               /* objects + kentries */
	uint64_t small_bytes;
	uint64_t budget_bytes;
	uint64_t inserts, evictions, purges, hfp;
} __attribute__((aligned(64)));

struct hp_cache {
	unsigned magic;
	struct hp_cache_conf conf;    /* tag_header owned */
	uint64_t max_object_bytes;    /* min(max_object_size, shard budget) at create */
	_Atomic uint64_t max_memory_now; /* bytes: conf.max_memory, or as resized since */
	unsigned nshards;
	struct shard *shards;
	struct tagshard *tagshards;   /* nshards of them, tagindex.c */
};

struct hp_cache_fill {
	unsigned magic;
	struct hp_cache *cache;
	unsigned shard_idx;
	struct kentry *ke;            /* pinned: a kentry with a fill is never freed */
	struct hp_list waiters;       /* shard */
	bool purged;                  /* shard: hard purge hit the key, do not publish */
	time_t now;                   /* of begin_fill, for hit-for-pass */
	struct hp_cache_obj *obj;     /* built by fill_head */
	struct hp_cache_obj *stream;  /* shard: <obj> once accepted, if it can be streamed */
};

/*
 * The files of src/cache, lowest first. Each uses only this header, the
 * public cache.h and the functions of the files above it in this list,
 * never one below it:
 *   key.c       cache keys                     (nothing)
 *   policy.c    RFC 9111 storability, age      (nothing)
 *   object.c    objects and bodies             (policy)
 *   tagindex.c  tag -> objects                 (object)
 *   evict.c     S3-FIFO / LRU queues, victims  (nothing)
 *   store.c     index, fills, budget           (evict, tagindex, object, policy)
 *   purge.c     invalidation                   (store, tagindex, object, key)
 */

/* ==== key.c ==== */
/* Drop a trailing ":80" from <host>: the default port names the same origin,
 * for keys and prefix purges alike. */
void hp_cache_host_drop_default_port(struct hp_str *host);
/* Split a key into its host and path-with-query parts (see hp_cache_key_build). */
bool hp_cache_key_split(const char *key, size_t keylen, struct hp_str *host, struct hp_str *path);

/* ==== policy.c ==== */
/* The response's cache directives for us: from the first valid targeted
 * field of <pol> (RFC 9213), which makes Expires void (true), else from
 * Cache-Control (false). */
bool hp_cache_response_cc(const struct hp_http_header *resp, size_t n,
			  const struct hp_cache_policy *pol, struct hp_http_cache_control *cc);
/* Whether <name> is one of <pol>'s targeted fields. */
bool hp_cache_is_targeted(const struct hp_cache_policy *pol, struct hp_str name);
/* hp_cache_freshness_lifetime() with <date_fallback> used when Date is absent. */
int64_t hp_cache_lifetime_at(int status, const struct hp_http_header *resp, size_t n,
			     const struct hp_cache_policy *pol, time_t date_fallback);

/* ==== object.c ==== */
struct hp_cache_obj *hp_cache_obj_new(void);
/* Fill <obj>'s head, fields, vary, tags and times; the body is untouched. */
void hp_cache_obj_set_head(struct hp_cache *c, struct hp_cache_obj *obj, int status,
			   const struct hp_http_header *resp, size_t nresp,
			   const struct hp_http_header *req, size_t nreq,
			   const struct hp_cache_obj *vary_from, time_t request_time,
			   time_t response_time, const struct hp_cache_policy *pol);
/* The filler's side of a streamed body: each takes the body lock, and
 * moves the watchers to wake (with no lock held) into <woken>. */
void hp_cache_body_append(struct body *b, const void *data, size_t len, struct hp_list *woken);
/* Seal or trim the body and mark it complete. */
void hp_cache_body_finish(struct body *b, struct hp_list *woken);
/* Mark an unfinished body failed. */
void hp_cache_body_fail(struct body *b, struct hp_list *woken);
/* Under the lock guarding <from>: move its waiters to <woken>. */
void hp_cache_take_waiters(struct hp_list *from, struct hp_list *woken);
/* Call each waiter of <woken> (no lock held). */
void hp_cache_wake(struct hp_list *woken);
void hp_cache_body_release(struct body *b);
bool hp_cache_vary_match(const struct hp_cache_obj *obj, const struct hp_http_header *req,
			 size_t nreq);
bool hp_cache_supersedes(const struct hp_cache_obj *newer, const struct hp_cache_obj *older);
bool hp_cache_obj_has_tag(const struct hp_cache_obj *obj, struct hp_str tag);
/* Bytes <obj> holds, body included; its tag index entries are apart
 * (hp_cache_tags_charge). */
uint64_t hp_cache_obj_charge(const struct hp_cache_obj *obj);

/* ==== tagindex.c ==== */
void hp_cache_tags_create(struct hp_cache *c);
/* The index must be empty: unlink every object first. */
void hp_cache_tags_destroy(struct hp_cache *c);
/* Bytes the index may hold for <obj>'s tags; part of its charge_bytes. */
uint64_t hp_cache_tags_charge(const struct hp_cache_obj *obj);
/* As <obj> is accepted by a fill (no lock held) or linked by freshen (under
 * its shard lock), and as it is unlinked (under its shard lock) or its fill
 * ends unpublished (no lock held); always before the reference that kept it
 * alive is dropped. Take tag-shard locks inside. */
void hp_cache_tags_link(struct hp_cache *c, struct hp_cache_obj *obj);
void hp_cache_tags_unlink(struct hp_cache *c, struct hp_cache_obj *obj);
/* The objects linked or being filled with <tag> (exact bytes), each
 * with a reference taken for the caller to release, in a malloc'ed array
 * to free (NULL if none); <*n> gets the count. Call with no shard lock
 * held. Under the shard lock, obj->ke and obj->fill then tell which it is,
 * if neither: unlinked, or its fill ended, since. */
struct hp_cache_obj **hp_cache_tags_collect(struct hp_cache *c, struct hp_str tag, size_t *n);
/* Distinct tags and (object, tag) refs in the index, for tests. */
void hp_cache_tags_count(struct hp_cache *c, size_t *tags, size_t *refs);

/* ==== evict.c ==== */
/* Queue a newly linked <obj>; <replaced> (still linked, or NULL) passes on its
 * place, since a refreshed object is as popular as the one it replaces. */
void hp_cache_queue_insert(struct hp_cache *c, struct shard *sh, struct hp_cache_obj *obj,
			   const struct hp_cache_obj *replaced);
void hp_cache_queue_hit(struct hp_cache *c, struct shard *sh, struct hp_cache_obj *obj);
void hp_cache_queue_remove(struct shard *sh, struct hp_cache_obj *obj);
/* The next victim, still linked (the caller unlinks it), or NULL if the
 * queues are empty. May reorder the queues; marks a small-queue victim's
 * key a ghost. */
struct hp_cache_obj *hp_cache_evict_next(struct hp_cache *c, struct shard *sh);

/* ==== store.c ==== */
struct shard *hp_cache_shard_of(struct hp_cache *c, uint64_t hash);
struct kentry *hp_cache_kentry_find(struct shard *sh, const void *key, size_t keylen,
				    uint64_t hash);
/* Unlink <obj> from its key and queue, uncharge it, settle its key (which may
 * free the key) and drop the cache's reference. */
void hp_cache_obj_unlink(struct hp_cache *c, struct shard *sh, struct hp_cache_obj *obj);
/* Free <ke> if it holds nothing, else move it to the idle list if idle. */
void hp_cache_kentry_settle(struct hp_cache *c, struct shard *sh, struct kentry *ke);

#endif
