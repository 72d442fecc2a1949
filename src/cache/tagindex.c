/* SPDX-License-Identifier: MIT */
/*
 * tagindex.c - tag -> the linked objects carrying it, so that a purge by
 * tag costs O(objects tagged) instead of a walk over every key.
 *
 * The index is split into tag shards by tag hash, each with its own mutex
 * and chained table of tag entries; an entry lists one ref per linked
 * object carrying the tag. An object's refs are one array allocated when it
 * is linked and freed when it is unlinked, both under its shard lock, so
 * the index holds exactly the linked objects: a ref never outlives the
 * cache's reference on its object. That is what lets a purge take its own
 * references under a tag-shard lock alone. Lock order: shard, then tag
 * shard (see cache_priv.h). Lookups never come here.
 */
#include <stdlib.h>
#include <xxhash.h>

#include "cache/cache_priv.h"

#define INITIAL_BUCKETS 64

struct tagent {
	struct tagent *hnext;         /* bucket chain */
	uint64_t hash;                /* XXH3 of the tag */
	struct hp_list refs;          /* struct tagref.link, in no particular order */
	size_t nrefs;
	size_t len;
	char tag[];
};

struct tagref {
	struct hp_list link;          /* in ent->refs */
	struct tagent *ent;           /* NULL: a repeat of an earlier tag of the object */
	struct hp_cache_obj *obj;
};

/* One tag of one object: its ref, an entry of its own (entries are shared,
 * so this is an upper bound), malloc overhead and a bucket slot. */
#define TAG_CHARGE(taglen) (sizeof(struct tagref) + sizeof(struct tagent) + (taglen) + 16 + \
			    sizeof(struct tagent *))

/* Invariant: an entry exists iff nrefs > 0; nrefs is the sum over entries. */
struct tagshard {
	pthread_mutex_t mtx;
	struct tagent **buckets;      /* power of two */
	size_t nbuckets;
	size_t nents;
	size_t nrefs;
} __attribute__((aligned(64)));

static struct tagshard *tagshard_of(struct hp_cache *c, uint64_t hash)
{
	return &c->tagshards[(hash >> 32) % c->nshards];
}

/* ==== Create and destroy ==== */

void hp_cache_tags_create(struct hp_cache *c)
{
	c->tagshards = aligned_alloc(64, c->nshards * sizeof(*c->tagshards));
	HP_AN(c->tagshards);
	memset(c->tagshards, 0, c->nshards * sizeof(*c->tagshards));
	for (unsigned i = 0; i < c->nshards; i++) {
		struct tagshard *ts = &c->tagshards[i];
		HP_AZ(pthread_mutex_init(&ts->mtx, NULL));
		ts->nbuckets = INITIAL_BUCKETS;
		ts->buckets = hp_xcalloc(ts->nbuckets, sizeof(*ts->buckets));
	}
}

void hp_cache_tags_destroy(struct hp_cache *c)
{
	for (unsigned i = 0; i < c->nshards; i++) {
		struct tagshard *ts = &c->tagshards[i];
		/* Every object was unlinked first, which emptied the index. */
		HP_AZ(ts->nents);
		HP_AZ(ts->nrefs);
		free(ts->buckets);
		HP_AZ(pthread_mutex_destroy(&ts->mtx));
	}
	free(c->tagshards);
	c->tagshards = NULL;
}

/*
 * Each tag is charged as if its entry were its own: shared entries make
 * the real cost lower, never higher, and the charge stays a property of
 * the object alone, fixed at commit, so linking and unlinking stay exact.
 */
uint64_t hp_cache_tags_charge(const struct hp_cache_obj *obj)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < obj->ntags; i++)
		bytes += TAG_CHARGE(obj->tags[i].len);
	return bytes;
}

/* ==== Entries ==== */

static struct tagent *find(struct tagshard *ts, struct hp_str tag, uint64_t hash)
{
	struct tagent *e = ts->buckets[hash & (ts->nbuckets - 1)];

	for (; e != NULL; e = e->hnext)
		if (e->hash == hash && e->len == tag.len && memcmp(e->tag, tag.ptr, tag.len) == 0)
			return e;
	return NULL;
}

/* Doubling keeps chains short; it runs under the tag-shard lock, rarely. */
static void grow(struct tagshard *ts)
{
	size_t n = ts->nbuckets * 2;
	struct tagent **b = hp_xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < ts->nbuckets; i++) {
		struct tagent *e = ts->buckets[i];
		while (e != NULL) {
			struct tagent *next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(ts->buckets);
	ts->buckets = b;
	ts->nbuckets = n;
}

static struct tagent *find_or_create(struct tagshard *ts, struct hp_str tag, uint64_t hash)
{
	struct tagent *e = find(ts, tag, hash);

	if (e != NULL)
		return e;
	e = hp_xcalloc(1, sizeof(*e) + tag.len);
	e->hash = hash;
	e->len = tag.len;
	memcpy(e->tag, tag.ptr, tag.len);
	hp_list_init(&e->refs);
	if (ts->nents >= ts->nbuckets)
		grow(ts);
	struct tagent **head = &ts->buckets[hash & (ts->nbuckets - 1)];
	e->hnext = *head;
	*head = e;
	ts->nents++;
	return e;
}

static void entry_free(struct tagshard *ts, struct tagent *e)
{
	struct tagent **p = &ts->buckets[e->hash & (ts->nbuckets - 1)];

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	ts->nents--;
	free(e);
}

/* ==== Link and unlink ==== */

/* A response may repeat a tag ("a, a", or in both fields): one ref each
 * would make a soft purge count the object twice. */
static bool repeated(const struct hp_cache_obj *obj, size_t i)
{
	struct hp_str t = obj->tags[i];

	for (size_t j = 0; j < i; j++)
		if (obj->tags[j].len == t.len && memcmp(obj->tags[j].ptr, t.ptr, t.len) == 0)
			return true;
	return false;
}

void hp_cache_tags_link(struct hp_cache *c, struct hp_cache_obj *obj)
{
	HP_ASSERT(obj->trefs == NULL);
	if (obj->ntags == 0)
		return;
	obj->trefs = hp_xcalloc(obj->ntags, sizeof(*obj->trefs));
	for (size_t i = 0; i < obj->ntags; i++) {
		struct tagref *r = &obj->trefs[i];
		if (repeated(obj, i))
			continue;
		uint64_t hash = XXH3_64bits(obj->tags[i].ptr, obj->tags[i].len);
		struct tagshard *ts = tagshard_of(c, hash);
		r->obj = obj;
		pthread_mutex_lock(&ts->mtx);
		r->ent = find_or_create(ts, obj->tags[i], hash);
		hp_list_link_tail(&r->ent->refs, &r->link);
		r->ent->nrefs++;
		ts->nrefs++;
		pthread_mutex_unlock(&ts->mtx);
	}
}

void hp_cache_tags_unlink(struct hp_cache *c, struct hp_cache_obj *obj)
{
	if (obj->trefs == NULL)
		return;
	for (size_t i = 0; i < obj->ntags; i++) {
		struct tagref *r = &obj->trefs[i];
		if (r->ent == NULL)
			continue;
		/* Our ref keeps the entry, and its immutable hash, alive. */
		struct tagshard *ts = tagshard_of(c, r->ent->hash);
		pthread_mutex_lock(&ts->mtx);
		hp_list_unlink(&r->link);
		ts->nrefs--;
		if (--r->ent->nrefs == 0)
			entry_free(ts, r->ent);
		pthread_mutex_unlock(&ts->mtx);
	}
	free(obj->trefs);
	obj->trefs = NULL;
}

/* ==== Queries ==== */

struct hp_cache_obj **hp_cache_tags_collect(struct hp_cache *c, struct hp_str tag, size_t *n)
{
	uint64_t hash = XXH3_64bits(tag.ptr, tag.len);
	struct tagshard *ts = tagshard_of(c, hash);
	struct hp_cache_obj **objs = NULL;

	*n = 0;
	pthread_mutex_lock(&ts->mtx);
	struct tagent *e = find(ts, tag, hash);
	if (e != NULL) {
		objs = hp_xmalloc(e->nrefs * sizeof(*objs));
		struct hp_list *l;
		/* Safe without the shard lock: while its ref is here, the object
		 * is linked, so the cache's reference keeps refcnt above zero. */
		for (l = e->refs.next; l != &e->refs; l = l->next)
			objs[(*n)++] = hp_cache_obj_fetch(HP_CONTAINER_OF(l, struct tagref,
									  link)->obj);
		HP_ASSERT(*n == e->nrefs);
	}
	pthread_mutex_unlock(&ts->mtx);
	return objs;
}

void hp_cache_tags_count(struct hp_cache *c, size_t *tags, size_t *refs)
{
	*tags = 0;
	*refs = 0;
	for (unsigned i = 0; i < c->nshards; i++) {
		struct tagshard *ts = &c->tagshards[i];
		pthread_mutex_lock(&ts->mtx);
		*tags += ts->nents;
		*refs += ts->nrefs;
		pthread_mutex_unlock(&ts->mtx);
	}
}
