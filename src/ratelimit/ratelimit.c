/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.c - GCRA decisions and the bounded key table they are kept in.
 *
 * The table is split into shards by the top bits of a key's hash, each with
 * its own mutex, its own fixed array of entries, a bucket array of chains
 * and a least-recently-seen list threaded through the entries by index.
 * Nothing is allocated after create: a new key takes a free entry or the
 * shard's least recently seen one, so memory is max_keys entries (32 bytes
 * each) plus buckets, whatever the traffic. Locks are held for a hash chain
 * walk and a few stores, never across I/O.
 */
#include "ratelimit/ratelimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <xxhash.h>

#include "core/clock.h"
#include "core/core.h"

/* ==== GCRA ==== */

bool hp_ratelimit_gcra(uint64_t *tat, uint64_t now_ns, uint64_t interval_ns, uint32_t burst,
		       struct hp_ratelimit_verdict *v)
{
	uint64_t tau = (uint64_t)burst * interval_ns; /* how far TAT may run ahead of now */
	uint64_t t = *tat;

	/* Accepted requests leave TAT at most tau + T ahead of the time they
	 * were taken at; more means the clock went back. Clamp, so a step back
	 * costs at most what a full burst would, not the size of the step. */
	if (t > now_ns + tau + interval_ns)
		t = now_ns + tau + interval_ns;
	if (t < now_ns)
		t = now_ns;
	if (t - now_ns > tau) {
		v->allowed = false;
		v->remaining = 0;
		v->retry_ns = t - now_ns - tau;
		v->reset_ns = t - now_ns;
		v->delay_ns = 0;
		*tat = t;
		return false;
	}
	v->delay_ns = t - now_ns;
	t += interval_ns;
	*tat = t;
	v->allowed = true;
	v->retry_ns = 0;
	v->reset_ns = t - now_ns;
	/* Further requests now are accepted while TAT - now stays <= tau. */
	v->remaining = (uint32_t)((now_ns + tau + interval_ns - t) / interval_ns);
	return true;
}

/* ==== The key table ==== */

#define NIL UINT32_MAX
#define MAX_SHARDS 16

struct entry {
	uint64_t hash;                 /* seeded XXH3 of the key */
	uint64_t tat;                  /* theoretical arrival time, monotonic ns */
	uint32_t chain;                /* next entry in the bucket, or NIL */
	uint32_t newer, older;         /* least-recently-seen list, or NIL */
	uint32_t inflight;             /* hp_ratelimit_enter() not yet left; while > 0
					  the entry is never dropped for another key */
};

/*
 * Invariants: used <= cap; entries [0, used) are each in exactly one chain
 * and in the LRU list, whose ends are lru_new and lru_old; an entry with
 * inflight > 0 stays in the table (an in-flight count dropped with its key
 * would let the key past its concurrency limit).
 */
struct shard {
	pthread_mutex_t lock;
	struct entry *e;               /* cap entries */
	uint32_t *buckets;             /* nbuckets chain heads */
	uint32_t mask;                 /* nbuckets - 1 */
	uint32_t cap;                  /* entries at most */
	uint32_t used;                 /* entries in use */
	uint32_t lru_new, lru_old;     /* most and least recently seen, or NIL */
} __attribute__((aligned(64)));

struct hp_ratelimit {
	atomic_uint _refs;
	uint64_t interval_ns;          /* emission interval T */
	uint32_t burst;                /* requests beyond the first taken at once */
	uint64_t seed;                 /* of the key hash, random per table */
	unsigned nshards;
	size_t capacity;               /* sum of the shards' cap */
	struct shard shards[MAX_SHARDS];
};

static void lru_unlink(struct shard *s, uint32_t i)
{
	struct entry *e = &s->e[i];
	if (e->newer != NIL)
		s->e[e->newer].older = e->older;
	else
		s->lru_new = e->older;
	if (e->older != NIL)
		s->e[e->older].newer = e->newer;
	else
		s->lru_old = e->newer;
}

static void lru_push(struct shard *s, uint32_t i)
{
	struct entry *e = &s->e[i];
	e->newer = NIL;
	e->older = s->lru_new;
	if (s->lru_new != NIL)
		s->e[s->lru_new].newer = i;
	s->lru_new = i;
	if (s->lru_old == NIL)
		s->lru_old = i;
}

static void chain_unlink(struct shard *s, uint32_t i)
{
	uint32_t *p = &s->buckets[s->e[i].hash & s->mask];
	while (*p != i) {
		HP_ASSERT(*p != NIL);
		p = &s->e[*p].chain;
	}
	*p = s->e[i].chain;
}

static uint32_t shard_find(const struct shard *s, uint64_t hash)
{
	uint32_t i;
	for (i = s->buckets[hash & s->mask]; i != NIL; i = s->e[i].chain)
		if (s->e[i].hash == hash)
			break;
	return i;
}

/* The least recently seen entry with nothing in flight, unlinked; NIL when
 * every entry has requests in flight. Busy entries passed over move to the
 * new end, so the next search does not pass them again. */
static uint32_t shard_evict(struct shard *s)
{
	for (uint32_t k = 0; k < s->used; k++) {
		uint32_t i = s->lru_old;
		lru_unlink(s, i);
		if (s->e[i].inflight == 0) {
			chain_unlink(s, i);
			return i;
		}
		lru_push(s, i);
	}
	return NIL;
}

/* The entry of <hash>, made (from a free one or the least recently seen
 * idle one) when absent; moved to the new end of the LRU list either way.
 * NULL when the shard is full of keys with requests in flight. */
static struct entry *shard_get(struct shard *s, uint64_t hash)
{
	uint32_t i = shard_find(s, hash);
	if (i != NIL) {
		lru_unlink(s, i);
		lru_push(s, i);
		return &s->e[i];
	}
	if (s->used < s->cap)
		i = s->used++;
	else if ((i = shard_evict(s)) == NIL)
		return NULL;
	uint32_t *head = &s->buckets[hash & s->mask];
	s->e[i].hash = hash;
	s->e[i].tat = 0;
	s->e[i].inflight = 0;
	s->e[i].chain = *head;
	*head = i;
	lru_push(s, i);
	return &s->e[i];
}

struct hp_ratelimit *hp_ratelimit_create(uint64_t interval_ns, uint32_t burst, size_t max_keys)
{
	HP_ASSERT(interval_ns >= 1 && max_keys >= 1 && max_keys <= (size_t)MAX_SHARDS * (NIL / 2));
	struct hp_ratelimit *rl = hp_xcalloc(1, sizeof(*rl));
	atomic_init(&rl->_refs, 1);
	rl->interval_ns = interval_ns;
	rl->burst = burst;
	if (getrandom(&rl->seed, sizeof(rl->seed), GRND_NONBLOCK) != sizeof(rl->seed))
		rl->seed = hp_clock_mono_ns() * 0x9e3779b97f4a7c15ull;
	/* Small tables get one shard, so max_keys stays exact. */
	rl->nshards = max_keys >= 4 * MAX_SHARDS ? MAX_SHARDS : 1;
	for (unsigned k = 0; k < rl->nshards; k++) {
		struct shard *s = &rl->shards[k];
		s->cap = (uint32_t)(max_keys / rl->nshards);
		uint32_t nb = 1;
		while (nb < s->cap)
			nb <<= 1;
		s->mask = nb - 1;
		s->e = hp_xcalloc(s->cap, sizeof(*s->e));
		s->buckets = hp_xmalloc(nb * sizeof(*s->buckets));
		for (uint32_t b = 0; b < nb; b++)
			s->buckets[b] = NIL;
		s->lru_new = s->lru_old = NIL;
		HP_AZ(pthread_mutex_init(&s->lock, NULL));
		rl->capacity += s->cap;
	}
	return rl;
}

struct hp_ratelimit *hp_ratelimit_fetch(struct hp_ratelimit *rl)
{
	atomic_fetch_add_explicit(&rl->_refs, 1, memory_order_relaxed);
	return rl;
}

void hp_ratelimit_release(struct hp_ratelimit *rl)
{
	if (rl == NULL)
		return;
	/* acq_rel: the freeing thread sees every other holder's last stores. */
	if (atomic_fetch_sub_explicit(&rl->_refs, 1, memory_order_acq_rel) != 1)
		return;
	for (unsigned k = 0; k < rl->nshards; k++) {
		pthread_mutex_destroy(&rl->shards[k].lock);
		free(rl->shards[k].e);
		free(rl->shards[k].buckets);
	}
	free(rl);
}

void hp_ratelimit_destroy(struct hp_ratelimit *rl)
{
	hp_ratelimit_release(rl);
}

/* Never 0: a token of 0 means "not counted" (hp_ratelimit_enter). */
static uint64_t key_hash(const struct hp_ratelimit *rl, const void *key, size_t len)
{
	uint64_t h = XXH3_64bits_withSeed(key, len, rl->seed);
	return h != 0 ? h : 1;
}

/* The top bits pick the shard, the low bits the bucket. */
static struct shard *shard_of(struct hp_ratelimit *rl, uint64_t hash)
{
	return &rl->shards[rl->nshards == 1 ? 0 : hash >> 60];
}

bool hp_ratelimit_take(struct hp_ratelimit *rl, const void *key, size_t len, uint64_t now_ns,
		       struct hp_ratelimit_verdict *v)
{
	uint64_t hash = key_hash(rl, key, len);
	struct shard *s = shard_of(rl, hash);
	pthread_mutex_lock(&s->lock);
	struct entry *e = shard_get(s, hash);
	/* A shard full of keys in flight (more than max_keys requests at
	 * once): judged as a fresh key, not remembered. */
	uint64_t fresh = 0;
	bool ok = hp_ratelimit_gcra(e != NULL ? &e->tat : &fresh, now_ns, rl->interval_ns,
				    rl->burst, v);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

bool hp_ratelimit_enter(struct hp_ratelimit *rl, const void *key, size_t len, uint32_t max,
			uint64_t *token)
{
	uint64_t hash = key_hash(rl, key, len);
	struct shard *s = shard_of(rl, hash);
	pthread_mutex_lock(&s->lock);
	struct entry *e = shard_get(s, hash);
	bool ok = true;
	*token = 0;
	if (e != NULL && e->inflight >= max) {
		ok = false;
	} else if (e != NULL) {
		e->inflight++;
		*token = hash;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

void hp_ratelimit_leave(struct hp_ratelimit *rl, uint64_t token)
{
	if (token == 0)
		return;
	struct shard *s = shard_of(rl, token);
	pthread_mutex_lock(&s->lock);
	uint32_t i = shard_find(s, token);
	if (i != NIL && s->e[i].inflight > 0)
		s->e[i].inflight--;
	pthread_mutex_unlock(&s->lock);
}

uint32_t hp_ratelimit_inflight(struct hp_ratelimit *rl, const void *key, size_t len)
{
	uint64_t hash = key_hash(rl, key, len);
	struct shard *s = shard_of(rl, hash);
	pthread_mutex_lock(&s->lock);
	uint32_t i = shard_find(s, hash);
	uint32_t n = i != NIL ? s->e[i].inflight : 0;
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t hp_ratelimit_count(struct hp_ratelimit *rl)
{
	size_t n = 0;
	for (unsigned k = 0; k < rl->nshards; k++) {
		pthread_mutex_lock(&rl->shards[k].lock);
		n += rl->shards[k].used;
		pthread_mutex_unlock(&rl->shards[k].lock);
	}
	return n;
}

/* ==== Keys ==== */

/* One client commonly holds a whole IPv6 /64, hence the prefix. */
size_t hp_ratelimit_address_key(const struct sockaddr *sa, unsigned v6_prefix,
				uint8_t out[HP_RATELIMIT_ADDR_KEY_MAX])
{
	HP_ASSERT(v6_prefix >= 1 && v6_prefix <= 128);
	out[0] = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
		out[1] = 4;
		memcpy(out + 2, &sin->sin_addr, 4);
		return 6;
	}
	HP_ASSERT(sa->sa_family == AF_INET6);
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
	const uint8_t *a = sin6->sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		out[1] = 4;
		memcpy(out + 2, a + 12, 4);
		return 6;
	}
	out[1] = 6;
	memset(out + 2, 0, 16);
	memcpy(out + 2, a, v6_prefix / 8);
	if (v6_prefix % 8)
		out[2 + v6_prefix / 8] = (uint8_t)(a[v6_prefix / 8] & (0xff00u >> (v6_prefix % 8)));
	return 18;
}

size_t hp_ratelimit_capacity(const struct hp_ratelimit *rl)
{
	return rl->capacity;
}
