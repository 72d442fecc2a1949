/* SPDX-License-Identifier: MIT */
/*
 * store.c - the sharded index, lookups, request coalescing and publication.
 *
 * A key hashes to one shard (high bits) and one bucket (low bits) of that
 * shard's chained table. The shard mutex guards the table, the queues and
 * every link of the objects in it; it is never held across I/O or across a
 * waiter callback. Budget: each shard owns max_memory / shards bytes and
 * evicts within itself (evict.c), so no global counter is contended and the
 * sum never exceeds max_memory. The cost is that one object may not exceed
 * a shard's budget, which max_object_size normally ensures anyway.
 */
#include <stdlib.h>

#include "cache/cache_priv.h"

#define DEFAULT_MAX_MEMORY (100u << 20)
#define DEFAULT_MAX_OBJECT (8u << 20)
#define DEFAULT_SHARDS 16
#define DEFAULT_HFP_S 120
#define INITIAL_BUCKETS 64
#define MIN_IDLE_KEYS 64 /* idle keys (ghosts) kept however few objects there are */

/* ==== Index ==== */

struct shard *hp_cache_shard_of(struct hp_cache *c, uint64_t hash)
{
	return &c->shards[(hash >> 32) % c->nshards];
}

struct kentry *hp_cache_kentry_find(struct shard *sh, const void *key, size_t keylen,
				    uint64_t hash)
{
	struct kentry *ke = sh->buckets[hash & (sh->nbuckets - 1)];

	for (; ke != NULL; ke = ke->hnext)
		if (ke->hash == hash && ke->keylen == keylen && memcmp(ke->key, key, keylen) == 0)
			return ke;
	return NULL;
}

/* Doubling keeps chains short; it runs under the shard lock, O(keys), rarely. */
static void grow(struct shard *sh)
{
	size_t n = sh->nbuckets * 2;
	struct kentry **b = hp_xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < sh->nbuckets; i++) {
		struct kentry *ke = sh->buckets[i];
		while (ke != NULL) {
			struct kentry *next = ke->hnext;
			ke->hnext = b[ke->hash & (n - 1)];
			b[ke->hash & (n - 1)] = ke;
			ke = next;
		}
	}
	free(sh->buckets);
	sh->buckets = b;
	sh->nbuckets = n;
}

static struct kentry *kentry_create(struct shard *sh, const void *key, size_t keylen,
				    uint64_t hash)
{
	struct kentry *ke = hp_xcalloc(1, sizeof(*ke) + keylen);

	ke->hash = hash;
	ke->keylen = keylen;
	memcpy(ke->key, key, keylen);
	hp_list_init(&ke->variants);
	if (sh->nkeys >= sh->nbuckets)
		grow(sh);
	struct kentry **head = &sh->buckets[hash & (sh->nbuckets - 1)];
	ke->hnext = *head;
	*head = ke;
	sh->nkeys++;
	sh->bytes += KENTRY_CHARGE(keylen);
	return ke;
}

static void kentry_free(struct shard *sh, struct kentry *ke)
{
	struct kentry **p = &sh->buckets[ke->hash & (sh->nbuckets - 1)];

	while (*p != ke)
		p = &(*p)->hnext;
	*p = ke->hnext;
	if (hp_list_linked(&ke->idle_link)) {
		hp_list_unlink(&ke->idle_link);
		sh->nidle--;
	}
	sh->nkeys--;
	sh->bytes -= KENTRY_CHARGE(ke->keylen);
	free(ke);
}

void hp_cache_kentry_settle(struct hp_cache *c, struct shard *sh, struct kentry *ke)
{
	if (ke->fill != NULL || ke->nvariants > 0) {
		if (hp_list_linked(&ke->idle_link)) {
			hp_list_unlink(&ke->idle_link);
			sh->nidle--;
		}
		return;
	}
	if (!ke->ghost && ke->hfp_until == 0) {
		kentry_free(sh, ke);
		return;
	}
	if (!hp_list_linked(&ke->idle_link)) {
		hp_list_link_tail(&sh->idle, &ke->idle_link);
		sh->nidle++;
	}
	(void)c;
}

void hp_cache_obj_unlink(struct hp_cache *c, struct shard *sh, struct hp_cache_obj *obj)
{
	struct kentry *ke = obj->ke;

	HP_AN(ke);
	hp_list_unlink(&obj->vlink);
	ke->nvariants--;
	hp_cache_queue_remove(sh, obj);
	sh->bytes -= obj->charge_bytes;
	sh->nobjs--;
	obj->ke = NULL;
	hp_cache_kentry_settle(c, sh, ke);
	/* Before the release: the index's refs rely on the cache's reference. */
	hp_cache_tags_unlink(c, obj);
	hp_cache_obj_release(obj);
}

/* What linking <obj> under a key of <keylen> bytes costs the shard: the
 * object, its share of the key, and its entries in the tag index. */
static uint64_t charge_of(const struct hp_cache_obj *obj, size_t keylen)
{
	return hp_cache_obj_charge(obj) + hp_cache_tags_charge(obj) + keylen;
}

/* ==== Budget ==== */

/* Forget the oldest idle key (ghost or hit-for-pass); false if none. */
static bool drop_idle(struct hp_cache *c, struct shard *sh)
{
	struct kentry *ke = HP_LIST_FIRST(&sh->idle, struct kentry, idle_link);

	if (ke == NULL)
		return false;
	ke->ghost = false;
	ke->hfp_until = 0;
	hp_cache_kentry_settle(c, sh, ke);
	return true;
}

/* Bring the shard back within its budget: idle keys beyond their bound
 * first, then the victims evict.c names, then idle keys again if the
 * queues ran dry. */
static void evict(struct hp_cache *c, struct shard *sh)
{
	while (sh->nidle > HP_MAX(sh->nobjs, (size_t)MIN_IDLE_KEYS))
		(void)drop_idle(c, sh);
	while (sh->bytes > sh->budget_bytes) {
		struct hp_cache_obj *victim = hp_cache_evict_next(c, sh);
		if (victim != NULL) {
			sh->evictions++;
			hp_cache_obj_unlink(c, sh, victim);
		} else if (!drop_idle(c, sh)) {
			break;
		}
	}
}

/* ==== Create and destroy ==== */

struct hp_cache *hp_cache_create(const struct hp_cache_conf *conf)
{
	struct hp_cache *c = hp_xcalloc(1, sizeof(*c));

	c->magic = HP_CACHE_MAGIC;
	c->conf = *conf;
	if (c->conf.max_memory == 0)
		c->conf.max_memory = DEFAULT_MAX_MEMORY;
	if (c->conf.max_object_size == 0)
		c->conf.max_object_size = DEFAULT_MAX_OBJECT;
	if (c->conf.hit_for_pass_s == 0)
		c->conf.hit_for_pass_s = DEFAULT_HFP_S;
	c->conf.tag_header = hp_xstrdup(conf->tag_header ? conf->tag_header : "Cache-Tag");
	c->nshards = conf->shards ? conf->shards : DEFAULT_SHARDS;
	c->shards = aligned_alloc(64, c->nshards * sizeof(*c->shards));
	HP_AN(c->shards);
	memset(c->shards, 0, c->nshards * sizeof(*c->shards));
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *sh = &c->shards[i];
		HP_AZ(pthread_mutex_init(&sh->mtx, NULL));
		sh->nbuckets = INITIAL_BUCKETS;
		sh->buckets = hp_xcalloc(sh->nbuckets, sizeof(*sh->buckets));
		hp_list_init(&sh->small);
		hp_list_init(&sh->main);
		hp_list_init(&sh->idle);
		sh->budget_bytes = c->conf.max_memory / c->nshards;
	}
	c->max_object_bytes = HP_MIN(c->conf.max_object_size, c->shards[0].budget_bytes);
	atomic_init(&c->max_memory_now, c->conf.max_memory);
	hp_cache_tags_create(c);
	return c;
}

void hp_cache_set_max_memory(struct hp_cache *c, uint64_t max_memory)
{
	HP_CHECK_OBJ(c, HP_CACHE_MAGIC);
	if (max_memory == 0)
		max_memory = DEFAULT_MAX_MEMORY;
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *sh = &c->shards[i];
		HP_AZ(pthread_mutex_lock(&sh->mtx));
		sh->budget_bytes = max_memory / c->nshards;
		evict(c, sh);
		HP_AZ(pthread_mutex_unlock(&sh->mtx));
	}
	atomic_store_explicit(&c->max_memory_now, max_memory, memory_order_relaxed);
}

void hp_cache_destroy(struct hp_cache *c)
{
	HP_CHECK_OBJ(c, HP_CACHE_MAGIC);
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *sh = &c->shards[i];
		for (size_t b = 0; b < sh->nbuckets; b++) {
			struct kentry *ke;
			while ((ke = sh->buckets[b]) != NULL) {
				HP_ASSERT(ke->fill == NULL);
				ke->ghost = false;
				ke->hfp_until = 0;
				size_t nv = ke->nvariants;
				if (nv == 0)
					hp_cache_kentry_settle(c, sh, ke);
				/* The last unlink frees the key. */
				for (; nv > 0; nv--)
					hp_cache_obj_unlink(c, sh, HP_LIST_FIRST(&ke->variants,
						struct hp_cache_obj, vlink));
			}
		}
		HP_AZ(sh->nkeys);
		free(sh->buckets);
		HP_AZ(pthread_mutex_destroy(&sh->mtx));
	}
	hp_cache_tags_destroy(c);
	free(c->shards);
	free((char *)c->conf.tag_header);
	c->magic = 0;
	free(c);
}

/* ==== Lookup ==== */

struct hp_cache_obj *hp_cache_lookup(struct hp_cache *c, const void *key, size_t keylen,
				     uint64_t hash, const struct hp_http_header *req_headers,
				     size_t nreq, time_t now)
{
	struct shard *sh = hp_cache_shard_of(c, hash);
	struct hp_cache_obj *found = NULL;

	(void)now;
	pthread_mutex_lock(&sh->mtx);
	struct kentry *ke = hp_cache_kentry_find(sh, key, keylen, hash);
	if (ke != NULL) {
		struct hp_list *n;
		/* Newest first: §4.1 says the most recent matching response wins. */
		for (n = ke->variants.next; n != &ke->variants; n = n->next) {
			struct hp_cache_obj *obj = HP_CONTAINER_OF(n, struct hp_cache_obj, vlink);
			if (hp_cache_vary_match(obj, req_headers, nreq)) {
				hp_cache_queue_hit(c, sh, obj);
				found = hp_cache_obj_fetch(obj);
				break;
			}
		}
	}
	pthread_mutex_unlock(&sh->mtx);
	return found;
}

bool hp_cache_has_variants(struct hp_cache *c, const void *key, size_t keylen, uint64_t hash)
{
	struct shard *sh = hp_cache_shard_of(c, hash);

	pthread_mutex_lock(&sh->mtx);
	struct kentry *ke = hp_cache_kentry_find(sh, key, keylen, hash);
	bool any = ke != NULL && ke->nvariants > 0;
	pthread_mutex_unlock(&sh->mtx);
	return any;
}

struct hp_cache_obj *hp_cache_lookup_filling(struct hp_cache *c, const void *key, size_t keylen,
					     uint64_t hash, const struct hp_http_header *req_headers,
					     size_t nreq)
{
	struct shard *sh = hp_cache_shard_of(c, hash);
	struct hp_cache_obj *found = NULL;

	pthread_mutex_lock(&sh->mtx);
	struct kentry *ke = hp_cache_kentry_find(sh, key, keylen, hash);
	struct hp_cache_fill *f = ke != NULL ? ke->fill : NULL;
	if (f != NULL && f->stream != NULL && hp_cache_vary_match(f->stream, req_headers, nreq))
		found = hp_cache_obj_fetch(f->stream);
	pthread_mutex_unlock(&sh->mtx);
	return found;
}

/* ==== Coalescing ==== */

enum hp_cache_begin hp_cache_begin_fill(struct hp_cache *c, const void *key, size_t keylen,
					uint64_t hash, struct hp_cache_fill **fill,
					struct hp_cache_waiter *w, time_t now)
{
	struct shard *sh = hp_cache_shard_of(c, hash);
	enum hp_cache_begin r = HP_CACHE_FILLER;

	*fill = NULL;
	pthread_mutex_lock(&sh->mtx);
	struct kentry *ke = hp_cache_kentry_find(sh, key, keylen, hash);
	if (ke == NULL)
		ke = kentry_create(sh, key, keylen, hash);
	if (ke->hfp_until != 0 && now < ke->hfp_until) {
		sh->hfp++;
		r = HP_CACHE_PASS;
	} else if (ke->fill != NULL) {
		w->_shard = (unsigned)(sh - c->shards);
		w->_queued = true;
		hp_list_link_tail(&ke->fill->waiters, &w->_link);
		r = HP_CACHE_WAITING;
	} else {
		struct hp_cache_fill *f = hp_xcalloc(1, sizeof(*f));
		f->magic = HP_CACHE_FILL_MAGIC;
		f->cache = c;
		f->shard_idx = (unsigned)(sh - c->shards);
		f->ke = ke;
		f->now = now;
		hp_list_init(&f->waiters);
		ke->hfp_until = 0;
		ke->fill = f;
		*fill = f;
	}
	hp_cache_kentry_settle(c, sh, ke);
	pthread_mutex_unlock(&sh->mtx);
	return r;
}

bool hp_cache_cancel_wait(struct hp_cache *c, struct hp_cache_waiter *w)
{
	struct shard *sh = &c->shards[w->_shard];
	bool withdrawn = false;

	pthread_mutex_lock(&sh->mtx);
	if (w->_queued) {
		hp_list_unlink(&w->_link);
		w->_queued = false;
		withdrawn = true;
	}
	pthread_mutex_unlock(&sh->mtx);
	return withdrawn;
}

/* Under the lock: end the fill's hold on its key, take its waiters out. */
static void detach_fill(struct shard *sh, struct hp_cache_fill *f, struct hp_list *woken)
{
	(void)sh;
	HP_ASSERT(f->ke->fill == f);
	f->ke->fill = NULL;
	if (f->obj != NULL)
		f->obj->fill = NULL;
	f->stream = NULL;
	hp_list_init(woken);
	hp_cache_take_waiters(&f->waiters, woken);
}

/* An object that was not published leaves the tag index here; readers
 * streaming its body learn that it will not grow any more. */
static void fill_free(struct hp_cache_fill *f)
{
	if (f->obj != NULL) {
		struct hp_list woken;
		hp_list_init(&woken);
		hp_cache_body_fail(f->obj->body, &woken);
		hp_cache_wake(&woken);
		hp_cache_tags_unlink(f->cache, f->obj);
		hp_cache_obj_release(f->obj);
	}
	f->magic = 0;
	free(f);
}

/* ==== Filling ==== */

bool hp_cache_fill_head(struct hp_cache_fill *f, int status,
			const struct hp_http_header *resp, size_t nresp,
			const struct hp_http_header *req, size_t nreq, time_t request_time,
			time_t response_time, const struct hp_cache_policy *pol)
{
	struct hp_http_cache_control req_cc;
	bool auth = hp_http_find_header(req, nreq, "Authorization") != NULL;

	HP_CHECK_OBJ(f, HP_CACHE_FILL_MAGIC);
	HP_ASSERT(f->obj == NULL);
	if (!hp_cache_storable(HP_METHOD_GET, status, resp, nresp, auth, pol, NULL))
		return false;
	hp_http_parse_cache_control(req, nreq, &req_cc);
	if (req_cc.no_store)
		return false;
	struct hp_cache_obj *obj = hp_cache_obj_new();
	hp_cache_obj_set_head(f->cache, obj, status, resp, nresp, req, nreq, NULL, request_time,
			      response_time, pol);
	f->obj = obj;
	/* Stale at once and impossible to revalidate or serve stale: storing it
	 * would only make every request wait for a full fetch. */
	bool usable = obj->lifetime_s > 0 || obj->etag.len > 0 || obj->last_modified.len > 0 ||
		      obj->swr_s > 0 || (pol != NULL && pol->grace_s > 0);
	if (!usable || obj->head.len > f->cache->max_object_bytes)
		return false;
	/* Indexed from now on, so that a tag purge during the fetch can stop
	 * its publication as a key purge does. */
	obj->hash = f->ke->hash;
	obj->streamable = hp_http_find_header(resp, nresp, "Content-Length") != NULL;
	struct shard *sh = &f->cache->shards[f->shard_idx];
	struct hp_list woken;
	hp_list_init(&woken);
	pthread_mutex_lock(&sh->mtx);
	obj->fill = f;
	/* Waiters can stream it from now on rather than wait for the end. */
	if (obj->streamable) {
		f->stream = obj;
		hp_cache_take_waiters(&f->waiters, &woken);
	}
	pthread_mutex_unlock(&sh->mtx);
	hp_cache_tags_link(f->cache, obj);
	hp_cache_wake(&woken);
	return true;
}

bool hp_cache_fill_append(struct hp_cache_fill *f, const void *data, size_t len)
{
	HP_CHECK_OBJ(f, HP_CACHE_FILL_MAGIC);
	HP_AN(f->obj);
	if (f->obj->head.len + f->obj->body->len + len > f->cache->max_object_bytes)
		return false;
	struct hp_list woken;
	hp_list_init(&woken);
	hp_cache_body_append(f->obj->body, data, len, &woken);
	hp_cache_wake(&woken);
	return true;
}

/* Under the lock: link <obj> as the newest variant of <ke>, replacing what it
 * supersedes, then evict for room. Consumes the caller's reference. <obj>
 * is in the tag index already. */
static void publish(struct hp_cache *c, struct shard *sh, struct kentry *ke,
		    struct hp_cache_obj *obj)
{
	struct hp_cache_obj *replaced = NULL;
	struct hp_list *n;

	for (n = ke->variants.next; n != &ke->variants; n = n->next) {
		struct hp_cache_obj *old = HP_CONTAINER_OF(n, struct hp_cache_obj, vlink);
		if (hp_cache_supersedes(obj, old)) {
			replaced = old;
			break;
		}
	}
	/* Set by fill_head or freshen: purges read it with no shard lock. */
	HP_ASSERT(obj->hash == ke->hash);
	obj->ke = ke;
	hp_list_link_head(&ke->variants, &obj->vlink);
	ke->nvariants++;
	sh->nobjs++;
	sh->bytes += obj->charge_bytes;
	sh->inserts++;
	hp_cache_queue_insert(c, sh, obj, replaced);
	/* Drop every superseded variant, and the oldest ones beyond the cap. */
	size_t kept = 1;
	for (n = obj->vlink.next; n != &ke->variants;) {
		struct hp_cache_obj *old = HP_CONTAINER_OF(n, struct hp_cache_obj, vlink);
		n = n->next;
		if (hp_cache_supersedes(obj, old) || kept >= MAX_VARIANTS)
			hp_cache_obj_unlink(c, sh, old);
		else
			kept++;
	}
	evict(c, sh);
}

/* With <fetch>, a reference on the object is taken before it is published
 * (eviction may unlink it at once) and returned if it was. */
static struct hp_cache_obj *commit(struct hp_cache_fill *f, bool fetch)
{
	HP_CHECK_OBJ(f, HP_CACHE_FILL_MAGIC);
	struct hp_cache *c = f->cache;
	struct shard *sh = &c->shards[f->shard_idx];
	struct hp_cache_obj *obj = f->obj;
	struct hp_list woken;
	bool published = false;

	HP_AN(obj);
	if (fetch)
		hp_cache_obj_fetch(obj);
	struct hp_list readers;
	hp_list_init(&readers);
	hp_cache_body_finish(obj->body, &readers);
	hp_cache_wake(&readers);
	obj->charge_bytes = charge_of(obj, f->ke->keylen);
	pthread_mutex_lock(&sh->mtx);
	detach_fill(sh, f, &woken);
	if (!f->purged && obj->charge_bytes <= sh->budget_bytes) {
		/* Eviction may take the new object, and its key with it: do not
		 * touch the key after this. */
		publish(c, sh, f->ke, obj);
		f->obj = NULL;
		published = true;
	} else {
		hp_cache_kentry_settle(c, sh, f->ke);
	}
	f->ke = NULL;
	pthread_mutex_unlock(&sh->mtx);
	hp_cache_wake(&woken);
	fill_free(f);
	if (fetch && !published) {
		hp_cache_obj_release(obj);
		obj = NULL;
	}
	return fetch ? obj : NULL;
}

void hp_cache_fill_commit(struct hp_cache_fill *f)
{
	(void)commit(f, false);
}

struct hp_cache_obj *hp_cache_fill_commit_fetch(struct hp_cache_fill *f)
{
	return commit(f, true);
}

void hp_cache_fill_abort(struct hp_cache_fill *f, bool hit_for_pass)
{
	HP_CHECK_OBJ(f, HP_CACHE_FILL_MAGIC);
	struct hp_cache *c = f->cache;
	struct shard *sh = &c->shards[f->shard_idx];
	struct kentry *ke = f->ke;
	struct hp_list woken;

	pthread_mutex_lock(&sh->mtx);
	detach_fill(sh, f, &woken);
	if (hit_for_pass) {
		/* The origin now says "do not store": stop serving what we have. */
		ke->hfp_until = f->now + (time_t)c->conf.hit_for_pass_s;
		for (size_t i = ke->nvariants; i > 0; i--)
			hp_cache_obj_unlink(c, sh, HP_LIST_FIRST(&ke->variants,
						struct hp_cache_obj, vlink));
	}
	hp_cache_kentry_settle(c, sh, ke);
	f->ke = NULL;
	pthread_mutex_unlock(&sh->mtx);
	hp_cache_wake(&woken);
	fill_free(f);
}

/* ==== Revalidation ==== */

/* §3.2: the 304's fields replace stored ones of the same name, except
 * Content-Length, which describes the stored body and not the 304. */
static bool updatable(struct hp_str name)
{
	return !hp_str_ieq(name, "Content-Length");
}

static struct hp_http_header *merge_fields(const struct hp_cache_obj *old,
					   const struct hp_http_header *resp, size_t n,
					   size_t *nout)
{
	struct hp_http_header *m = hp_xmalloc((old->nfields + n + 1) * sizeof(*m));
	size_t k = 0;

	for (size_t i = 0; i < old->nfields; i++) {
		struct hp_str name = old->fields[i].name;
		const struct hp_http_header *upd = NULL;
		for (size_t j = 0; j < n && upd == NULL; j++)
			if (updatable(resp[j].name) && hp_str_ieq_str(resp[j].name, name))
				upd = &resp[j];
		if (upd == NULL)
			m[k++] = old->fields[i];
	}
	for (size_t j = 0; j < n; j++)
		if (updatable(resp[j].name))
			m[k++] = resp[j];
	*nout = k;
	return m;
}

/* hp_cache_freshen(), and with <f> (may be NULL), the fill the revalidation
 * ran under: it pins the key, so the new object is stored even if <old> was
 * evicted meanwhile, unless a hard purge hit the key. */
static struct hp_cache_obj *freshen(struct hp_cache *c, struct hp_cache_fill *f,
				    struct hp_cache_obj *old,
				    const struct hp_http_header *resp304, size_t n,
				    time_t request_time, time_t response_time,
				    const struct hp_cache_policy *pol)
{
	HP_CHECK_OBJ(old, HP_CACHE_OBJ_MAGIC);
	size_t nm;
	struct hp_http_header *merged = merge_fields(old, resp304, n, &nm);
	struct hp_cache_obj *obj = hp_cache_obj_new();

	hp_cache_body_release(obj->body);
	obj->body = old->body;
	atomic_fetch_add_explicit(&old->body->refcnt, 1, memory_order_relaxed);
	hp_cache_obj_set_head(c, obj, old->status, merged, nm, NULL, 0, old, request_time,
			      response_time, pol);
	free(merged);
	obj->hash = old->hash;
	struct hp_cache_obj *mine = hp_cache_obj_fetch(obj);

	struct shard *sh = hp_cache_shard_of(c, old->hash);
	pthread_mutex_lock(&sh->mtx);
	/* <old> evicted or purged meanwhile: without a fill we no longer know
	 * the key, and the new object is only the caller's. */
	struct kentry *ke = old->ke;
	if (ke == NULL && f != NULL && !f->purged)
		ke = f->ke;
	if (ke != NULL) {
		obj->charge_bytes = charge_of(obj, ke->keylen);
		if (obj->charge_bytes <= sh->budget_bytes) {
			hp_cache_tags_link(c, obj);
			publish(c, sh, ke, obj);
			obj = NULL;
		}
	}
	pthread_mutex_unlock(&sh->mtx);
	if (obj != NULL)
		hp_cache_obj_release(obj);
	return mine;
}

struct hp_cache_obj *hp_cache_freshen(struct hp_cache *c, struct hp_cache_obj *old,
				      const struct hp_http_header *resp304, size_t n,
				      time_t request_time, time_t response_time,
				      const struct hp_cache_policy *pol)
{
	return freshen(c, NULL, old, resp304, n, request_time, response_time, pol);
}

struct hp_cache_obj *hp_cache_fill_freshen(struct hp_cache_fill *f, struct hp_cache_obj *old,
					   const struct hp_http_header *resp304, size_t n,
					   time_t request_time, time_t response_time,
					   const struct hp_cache_policy *pol)
{
	HP_CHECK_OBJ(f, HP_CACHE_FILL_MAGIC);
	return freshen(f->cache, f, old, resp304, n, request_time, response_time, pol);
}

/* ==== Statistics ==== */

void hp_cache_get_stats(struct hp_cache *c, struct hp_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->max_bytes = atomic_load_explicit(&c->max_memory_now, memory_order_relaxed);
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *sh = &c->shards[i];
		pthread_mutex_lock(&sh->mtx);
		out->objects += sh->nobjs;
		out->bytes += sh->bytes;
		out->inserts += sh->inserts;
		out->evictions += sh->evictions;
		out->purges += sh->purges;
		out->hit_for_pass += sh->hfp;
		pthread_mutex_unlock(&sh->mtx);
	}
}
