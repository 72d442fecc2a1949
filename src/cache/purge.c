/* SPDX-License-Identifier: MIT */
/*
 * purge.c - invalidation by key, by host and path prefix, by tag, and of
 * everything.
 *
 * A hard purge unlinks objects (readers keep theirs until they release it)
 * and marks a fill in progress on the key so that it is not published: its
 * response may predate the purge. A soft purge only flags objects as
 * expired, so stale-while-revalidate and grace can still serve them while
 * one request refreshes them. Prefix purges scan every key of every shard,
 * one shard lock at a time: they are admin operations, and the hit path
 * pays nothing for them. Tag purges are what applications fire on every
 * write, so they ask the tag index (tagindex.c) and cost O(objects tagged).
 *
 * A fill in progress whose response head carries the tag is in the tag
 * index too (from hp_cache_fill_head on): a hard tag purge stops its
 * publication, as a key purge does, and a soft one publishes it already
 * stale. Neither counts it, since it is not stored yet. A fill whose head
 * has not arrived cannot be known to carry the tag and is published.
 */
#include <stdlib.h>

#include "cache/cache_priv.h"
#include "core/clock.h"

/* A soft purge: the object is stale from now on (its Cache-Status ttl
 * counts from here). */
static void mark_stale(struct hp_cache_obj *obj)
{
	if (!atomic_load_explicit(&obj->purged, memory_order_relaxed))
		atomic_store_explicit(&obj->purged_at, (int64_t)hp_clock_wall_s(),
				      memory_order_relaxed);
	atomic_store_explicit(&obj->purged, true, memory_order_relaxed);
}

/* Purge every variant of <ke>. <ke> may be freed on return. */
static size_t purge_entry(struct hp_cache *c, struct shard *sh, struct kentry *ke, bool soft)
{
	size_t n = ke->nvariants;
	struct hp_list *l;

	if (soft) {
		for (l = ke->variants.next; l != &ke->variants; l = l->next) {
			struct hp_cache_obj *obj = HP_CONTAINER_OF(l, struct hp_cache_obj, vlink);
			mark_stale(obj);
		}
		sh->purges += n;
		return n;
	}
	if (ke->fill != NULL)
		ke->fill->purged = true;
	ke->hfp_until = 0;
	if (n == 0)
		hp_cache_kentry_settle(c, sh, ke);
	for (size_t i = n; i > 0; i--)
		hp_cache_obj_unlink(c, sh,
				    HP_LIST_FIRST(&ke->variants, struct hp_cache_obj, vlink));
	sh->purges += n;
	return n;
}

size_t hp_cache_purge_key(struct hp_cache *c, const void *key, size_t keylen, uint64_t hash,
			  bool soft)
{
	struct shard *sh = hp_cache_shard_of(c, hash);
	size_t n = 0;

	pthread_mutex_lock(&sh->mtx);
	struct kentry *ke = hp_cache_kentry_find(sh, key, keylen, hash);
	if (ke != NULL)
		n = purge_entry(c, sh, ke, soft);
	pthread_mutex_unlock(&sh->mtx);
	return n;
}

typedef size_t purge_fn(struct hp_cache *c, struct shard *sh, struct kentry *ke,
			const void *arg, bool soft);

/* Apply <fn> to every key of every shard. <fn> may free the key it is given. */
static size_t purge_scan(struct hp_cache *c, purge_fn *fn, const void *arg, bool soft)
{
	size_t n = 0;

	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *sh = &c->shards[i];
		pthread_mutex_lock(&sh->mtx);
		for (size_t b = 0; b < sh->nbuckets; b++) {
			struct kentry *next;
			for (struct kentry *ke = sh->buckets[b]; ke != NULL; ke = next) {
				next = ke->hnext;
				n += fn(c, sh, ke, arg, soft);
			}
		}
		pthread_mutex_unlock(&sh->mtx);
	}
	return n;
}

struct prefix {
	struct hp_str host; /* without a default port */
	struct hp_str path;
};

static bool key_under(const char *key, size_t keylen, const struct prefix *p)
{
	struct hp_str host;
	struct hp_str path;

	if (!hp_cache_key_split(key, keylen, &host, &path))
		return false;
	return hp_str_ieq_str(host, p->host) && path.len >= p->path.len &&
	       memcmp(path.ptr, p->path.ptr, p->path.len) == 0;
}

static size_t purge_if_prefix(struct hp_cache *c, struct shard *sh, struct kentry *ke,
			      const void *arg, bool soft)
{
	if (!key_under(ke->key, ke->keylen, arg))
		return 0;
	return purge_entry(c, sh, ke, soft);
}

bool hp_cache_key_matches_prefix(const void *key, size_t keylen, struct hp_str host,
				 struct hp_str path_prefix)
{
	struct prefix p = {host, path_prefix};

	hp_cache_host_drop_default_port(&p.host);
	return key_under(key, keylen, &p);
}

size_t hp_cache_purge_prefix(struct hp_cache *c, struct hp_str host, struct hp_str path_prefix,
			     bool soft)
{
	struct prefix p = {host, path_prefix};

	hp_cache_host_drop_default_port(&p.host);
	return purge_scan(c, purge_if_prefix, &p, soft);
}

/* Under the shard lock. <obj> may have been unlinked since it was collected
 * (eviction, replacement, another purge), or not be linked yet (a fill). */
static size_t purge_obj(struct hp_cache *c, struct shard *sh, struct hp_cache_obj *obj,
			bool soft)
{
	if (obj->ke == NULL) {
		if (obj->fill != NULL && soft)
			mark_stale(obj);
		else if (obj->fill != NULL)
			obj->fill->purged = true;
		return 0;
	}
	if (soft)
		mark_stale(obj);
	else
		hp_cache_obj_unlink(c, sh, obj);
	sh->purges++;
	return 1;
}

size_t hp_cache_purge_tag(struct hp_cache *c, struct hp_str tag, bool soft)
{
	size_t nobjs;
	struct hp_cache_obj **objs = hp_cache_tags_collect(c, tag, &nobjs);
	size_t n = 0;

	/* The tag-shard lock is released: lock order is shard, then tag shard. */
	for (size_t i = 0; i < nobjs; i++) {
		struct shard *sh = hp_cache_shard_of(c, objs[i]->hash);
		pthread_mutex_lock(&sh->mtx);
		n += purge_obj(c, sh, objs[i], soft);
		pthread_mutex_unlock(&sh->mtx);
		hp_cache_obj_release(objs[i]);
	}
	free(objs);
	return n;
}

static size_t purge_any(struct hp_cache *c, struct shard *sh, struct kentry *ke,
			const void *arg, bool soft)
{
	(void)arg;
	return purge_entry(c, sh, ke, soft);
}

size_t hp_cache_purge_all(struct hp_cache *c)
{
	return purge_scan(c, purge_any, NULL, false);
}
