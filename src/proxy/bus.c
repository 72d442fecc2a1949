/* SPDX-License-Identifier: MIT */
/*
 * bus.c - the invalidation bus between hotpath instances sharing Redis.
 *
 * Every purge made here (PURGE, the admin API, an unsafe method's
 * invalidation) is published on the channel <l2.prefix>inv with this
 * instance's id; every instance subscribes (one connection, on worker 0's
 * loop) and applies the purges of the others to its L1, ignoring its own.
 * Publishing goes through a queue drained on worker 0, since the admin
 * thread has no Redis connection; an URL purge also deletes the L2 copy,
 * and a tag purge the L2 objects of the tag (the tag sets of l2.c).
 *
 * L2 objects cannot all be found again for a prefix or tag purge, so each
 * instance keeps a log of the purges it made or heard of (newest
 * LOG_SIZE): an object read from L2 that such a purge matches, and that
 * came from the origin before it, is ignored (a miss). When the bus was
 * lost, messages may have been missed: on resubscribing, the instance
 * drops its whole L1 and logs a purge of everything at that time, so that
 * nothing from before the gap is served, from L1 or L2 (docs/l2.md).
 *
 * The log is memory: an instance started later would not know of the
 * prefix and all purges made before it. So those also go into Redis's
 * purge journal (l2.h), which each instance reads into its log when it
 * subscribes; until it has read it, every L2 object counts as purged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/proxy_priv.h"

#define LOG_SIZE 256
#define JOURNAL_RETRY_MS 5       /* first retry of a failed read, doubling: worker 0's
				   connection is often up a moment after the subscriber */
#define JOURNAL_RETRY_MAX_MS 5000

struct logged {
	time_t at;                     /* wall s of the purge */
	char kind;                     /* as struct hp_l2_purge */
	char *a, *b;                   /* copies, NUL-terminated (keys may hold NULs: lengths) */
	size_t alen, blen;
};

struct queued {
	struct hp_list link;
	char kind;                     /* 'k': DEL the key; 't': purge the tag's set;
					  'p', 'a': into the journal */
	time_t at;                     /* wall s of the purge */
	size_t keylen;                 /* 'k', 't': the key or tag, at the front of data */
	size_t len;                    /* the message, after the key */
	char data[];
};

struct hp_bus {
	struct hp_proxy *px;
	char instance[17];             /* 16 hex digits */
	struct hp_l2_client *sub;      /* the subscriber, on worker 0's loop */
	pthread_mutex_t lock;          /* guards everything below */
	struct logged log[LOG_SIZE];   /* a ring */
	size_t next;                   /* slot of the next entry */
	time_t floor;                  /* objects from before this are purged: entries dropped
					  from the ring, read as a purge of everything */
	struct hp_list queue;          /* struct queued, for worker 0 to publish */
	bool journal_read;             /* the journal is in the log: L2 objects may be used */
	/* Worker 0's loop only. */
	struct hp_post drain;          /* posted to worker 0 */
	uint64_t journal_ttl_ms;       /* l2.max_ttl: no L2 object outlives that */
	struct hp_l2_op *journal_op;   /* the journal's read in flight */
	struct hp_timer journal_retry; /* the next try after a failed read */
	uint64_t journal_retry_ms;     /* its delay: 0 after a success */
};

/* ==== The log ==== */

static void log_purge(struct hp_bus *b, const struct hp_l2_purge *p, time_t at)
{
	HP_AZ(pthread_mutex_lock(&b->lock));
	struct logged *e = &b->log[b->next];
	if (e->kind != 0 && e->at > b->floor)
		b->floor = e->at;
	free(e->a);
	free(e->b);
	*e = (struct logged){.at = at, .kind = p->kind, .alen = p->a.len, .blen = p->b.len};
	e->a = hp_xmalloc(p->a.len + 1);
	memcpy(e->a, p->a.ptr, p->a.len);
	e->a[p->a.len] = '\0';
	e->b = hp_xmalloc(p->b.len + 1);
	memcpy(e->b, p->b.ptr, p->b.len);
	e->b[p->b.len] = '\0';
	b->next = (b->next + 1) % LOG_SIZE;
	HP_AZ(pthread_mutex_unlock(&b->lock));
}

/* Is <tag> among the object's tag fields: <tag_header> (comma-separated)
 * or Surrogate-Key (space-separated), as the cache reads them? */
static bool has_tag(const struct hp_http_header *f, size_t n, const char *tag_header,
		    struct hp_str tag)
{
	struct hp_cache_tag_iter it = {0};
	struct hp_str one;
	while (hp_cache_next_tag(f, n, tag_header, &it, &one))
		if (one.len == tag.len && memcmp(one.ptr, tag.ptr, tag.len) == 0)
			return true;
	return false;
}

static bool matches(const struct logged *e, const void *key, size_t keylen,
		    const struct hp_l2_object *o, const char *tag_header)
{
	switch (e->kind) {
	case 'a':
		return true;
	case 'k':
		return e->alen == keylen && memcmp(e->a, key, keylen) == 0;
	case 'p':
		return hp_cache_key_matches_prefix(key, keylen, (struct hp_str){e->a, e->alen},
						   (struct hp_str){e->b, e->blen});
	case 't':
		return has_tag(o->fields, o->nfields, tag_header, (struct hp_str){e->a, e->alen});
	}
	return false;
}

bool hp_bus_purged(struct hp_proxy *px, const void *key, size_t keylen,
		   const struct hp_l2_object *o, const char *tag_header)
{
	struct hp_bus *b = px->bus;
	if (b == NULL)
		return false;
	bool purged = false;
	HP_AZ(pthread_mutex_lock(&b->lock));
	if (!b->journal_read || o->response_time <= b->floor)
		purged = true;
	for (size_t i = 0; i < LOG_SIZE && !purged; i++) {
		const struct logged *e = &b->log[i];
		/* The same second counts: the purge may have come after it. */
		if (e->kind != 0 && e->at >= o->response_time)
			purged = matches(e, key, keylen, o, tag_header);
	}
	HP_AZ(pthread_mutex_unlock(&b->lock));
	return purged;
}

/* ==== Publishing ==== */

/* On worker 0: what the other threads queued. */
static void drain_queue(struct hp_post *post)
{
	struct hp_bus *b = HP_CONTAINER_OF(post, struct hp_bus, drain);
	struct hp_l2_client *cl = b->px->workers[0].l2;
	struct hp_list todo;
	hp_list_init(&todo);
	HP_AZ(pthread_mutex_lock(&b->lock));
	while (!hp_list_empty(&b->queue)) {
		struct queued *q = HP_LIST_FIRST(&b->queue, struct queued, link);
		hp_list_unlink(&q->link);
		hp_list_link_tail(&todo, &q->link);
	}
	HP_AZ(pthread_mutex_unlock(&b->lock));
	while (!hp_list_empty(&todo)) {
		struct queued *q = HP_LIST_FIRST(&todo, struct queued, link);
		hp_list_unlink(&q->link);
		if (q->kind == 'k') {
			(void)hp_l2_del(cl, q->data, q->keylen);
		} else if (q->kind == 't') {
			(void)hp_l2_tag_purge(cl, (struct hp_str){q->data, q->keylen});
		} else {
			struct hp_buf entry = {0};
			hp_l2_journal_entry(&entry, q->at, q->data + q->keylen, q->len);
			(void)hp_l2_journal_add(cl, hp_buf_data(&entry), entry.len,
						b->journal_ttl_ms);
			hp_buf_fini(&entry);
		}
		if (!hp_l2_publish(cl, q->data + q->keylen, q->len))
			hp_log_info("l2: purge not published (Redis unavailable); other "
				    "instances keep their copies until they expire");
		free(q);
	}
}

void hp_proxy_publish_purge(struct hp_proxy *px, char kind, struct hp_str a, struct hp_str b_,
			    bool soft)
{
	struct hp_bus *b = px->bus;
	if (b == NULL)
		return;
	struct hp_l2_purge p = {
		.kind = kind,
		.soft = soft,
		.instance = {b->instance, strlen(b->instance)},
		.a = a,
		.b = b_,
	};
	time_t at = hp_clock_wall_s();
	log_purge(b, &p, at);
	struct hp_buf msg = {0};
	hp_l2_purge_encode(&msg, &p);
	size_t keylen = kind == 'k' || kind == 't' ? a.len : 0;
	struct queued *q = hp_xmalloc(sizeof(*q) + keylen + msg.len);
	q->kind = kind;
	q->at = at;
	q->keylen = keylen;
	q->len = msg.len;
	memcpy(q->data, a.ptr, keylen);
	memcpy(q->data + keylen, hp_buf_data(&msg), msg.len);
	hp_buf_fini(&msg);
	HP_AZ(pthread_mutex_lock(&b->lock));
	hp_list_link_tail(&b->queue, &q->link);
	HP_AZ(pthread_mutex_unlock(&b->lock));
	hp_loop_post_node(px->workers[0].loop, &b->drain, drain_queue);
}

/* ==== Receiving ==== */

static void apply(struct hp_bus *b, const struct hp_l2_purge *p)
{
	struct hp_cache *cache = atomic_load(&b->px->cache);
	log_purge(b, p, hp_clock_wall_s());
	if (cache == NULL)
		return;
	switch (p->kind) {
	case 'k':
		hp_cache_purge_key(cache, p->a.ptr, p->a.len, hp_cache_key_hash(p->a.ptr, p->a.len),
				   p->soft);
		break;
	case 'p':
		hp_cache_purge_prefix(cache, p->a, p->b, p->soft);
		break;
	case 't':
		hp_cache_purge_tag(cache, p->a, p->soft);
		break;
	case 'a':
		hp_cache_purge_all(cache);
		break;
	}
}

/* ==== The journal: the prefix and all purges made before we listened ==== */

static void read_journal(struct hp_bus *b);

static void on_journal_retry(struct hp_timer *t)
{
	read_journal(HP_CONTAINER_OF(t, struct hp_bus, journal_retry));
}

/* Worker 0's connection may not be up yet, or Redis may be gone again. */
static void retry_journal(struct hp_bus *b)
{
	b->journal_retry_ms =
		hp_backoff_next(b->journal_retry_ms, JOURNAL_RETRY_MS, JOURNAL_RETRY_MAX_MS);
	hp_timer_start(b->px->workers[0].loop, &b->journal_retry, b->journal_retry_ms,
		       on_journal_retry);
}

/* Into the log, oldest first, so that the newest stay in its ring; how
 * many. */
static size_t log_journal(struct hp_bus *b, const char *packed, size_t len)
{
	struct hp_str entries[HP_L2_JOURNAL_SIZE];
	size_t n = 0;
	const char *cur = packed, *end = packed + len;
	while (n < HP_ARRAY_SIZE(entries) && hp_l2_journal_unpack(&cur, end, &entries[n]))
		n++;
	size_t logged = 0;
	for (size_t i = n; i-- > 0;) {
		int64_t at;
		struct hp_l2_purge p;
		if (hp_l2_journal_entry_decode(entries[i].ptr, entries[i].len, &at, &p) &&
		    (p.kind == 'p' || p.kind == 'a')) {
			log_purge(b, &p, (time_t)at);
			logged++;
		}
	}
	return logged;
}

static void on_journal(void *data, enum hp_l2_result r, const char *value, size_t len)
{
	struct hp_bus *b = data;
	b->journal_op = NULL;
	if (r == HP_L2_ERROR) {
		retry_journal(b);
		return;
	}
	b->journal_retry_ms = 0;
	size_t n = r == HP_L2_FOUND ? log_journal(b, value, len) : 0;
	hp_log_info("l2: purge journal read: %zu prefix or all purge%s made earlier", n,
		    n == 1 ? "" : "s");
	HP_AZ(pthread_mutex_lock(&b->lock));
	b->journal_read = true;
	HP_AZ(pthread_mutex_unlock(&b->lock));
}

/* On worker 0, through its own connection (the subscriber's is taken). */
static void read_journal(struct hp_bus *b)
{
	if (b->journal_op != NULL)
		return;
	b->journal_op = hp_l2_journal_read(b->px->workers[0].l2, on_journal, b);
	if (b->journal_op == NULL)
		retry_journal(b);
}

static void on_message(void *data, enum hp_l2_bus_event ev, const char *msg, size_t len)
{
	struct hp_bus *b = data;
	if (ev == HP_L2_BUS_SUBSCRIBED) {
		read_journal(b);
		return;
	}
	if (ev == HP_L2_BUS_RESYNC) {
		/* Purges may have gone by while we were away. */
		struct hp_l2_purge all = {.kind = 'a', .a = {"", 0}, .b = {"", 0}};
		apply(b, &all);
		hp_log_info("l2: invalidation bus back after a loss: the memory cache was emptied "
			    "and older L2 objects are ignored");
		read_journal(b);
		return;
	}
	struct hp_l2_purge p;
	if (!hp_l2_purge_decode(msg, len, &p)) {
		hp_log_debug("l2: malformed message on the invalidation bus ignored");
		return;
	}
	if (p.instance.len == strlen(b->instance) &&
	    memcmp(p.instance.ptr, b->instance, p.instance.len) == 0)
		return;
	hp_l2_note_received(b->px->l2);
	apply(b, &p);
}

/* ==== Life ==== */

void hp_bus_create(struct hp_proxy *px)
{
	if (px->l2 == NULL || px->nworkers == 0)
		return;
	struct hp_bus *b = hp_xcalloc(1, sizeof(*b));
	b->px = px;
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ hp_clock_mono_ns();
	snprintf(b->instance, sizeof(b->instance), "%016llx", (unsigned long long)r);
	HP_AZ(pthread_mutex_init(&b->lock, NULL));
	hp_list_init(&b->queue);
	b->journal_ttl_ms = px->boot->l2.max_ttl_ms;
	px->bus = b;
	/* Before the workers' threads start: their loops are not running. */
	b->sub = hp_l2_subscriber_create(px->l2, px->workers[0].loop, on_message, b);
}

void hp_bus_destroy(struct hp_proxy *px)
{
	struct hp_bus *b = px->bus;
	if (b == NULL)
		return;
	hp_l2_client_destroy(b->sub);
	hp_l2_cancel(b->journal_op);
	if (px->workers[0].loop != NULL) {
		hp_timer_stop(px->workers[0].loop, &b->journal_retry);
		(void)hp_loop_post_cancel(px->workers[0].loop, &b->drain);
	}
	while (!hp_list_empty(&b->queue)) {
		struct queued *q = HP_LIST_FIRST(&b->queue, struct queued, link);
		hp_list_unlink(&q->link);
		free(q);
	}
	for (size_t i = 0; i < LOG_SIZE; i++) {
		free(b->log[i].a);
		free(b->log[i].b);
	}
	pthread_mutex_destroy(&b->lock);
	free(b);
	px->bus = NULL;
}
