/* SPDX-License-Identifier: MIT */
/*
 * cache_tagpurge.c - what a purge by tag costs in a full cache, and what
 * the hit path costs beside it, on the real store.
 *
 *   build/bench/cache_tagpurge [objects] [tagged]
 *
 * Stores <objects> small responses (default 100000), each with its own
 * Cache-Tag plus a shared one; <tagged> of them (default 10) also carry
 * Surrogate-Key "hot". Prints the mean time of a soft purge of "hot" (the
 * objects stay, so every round purges the same set), of a purge of a tag
 * no object carries, of one hard purge, of a fill (begin, head, append,
 * commit: where the index is maintained) and of lookup + release in bulk
 * (which never touches the index). Lookup and fill times include building
 * the key with snprintf and hashing it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cache/cache.h"
#include "core/clock.h"

#define PURGE_ROUNDS 200
#define LOOKUPS 2000000
#define T0 ((time_t)1700000000)

static void fields(struct hp_http_header *h, size_t *n, const char *cc, const char *tags,
		   const char *sk)
{
	*n = 0;
	h[(*n)++] = (struct hp_http_header){HP_STR("Cache-Control"), {cc, strlen(cc)}};
	h[(*n)++] = (struct hp_http_header){HP_STR("Cache-Tag"), {tags, strlen(tags)}};
	if (sk != NULL)
		h[(*n)++] = (struct hp_http_header){HP_STR("Surrogate-Key"), {sk, strlen(sk)}};
}

static int key_of(char *out, size_t size, unsigned i)
{
	return snprintf(out, size, "%cbench.example%c/item/%u%c", 0, 0, i, 0);
}

static void fill(struct hp_cache *c, unsigned i, bool hot)
{
	char key[64];
	char tags[64];
	struct hp_http_header h[3];
	size_t n;
	struct hp_cache_fill *f;
	struct hp_cache_waiter w = {0};
	int klen = key_of(key, sizeof(key), i);
	uint64_t hash = XXH3_64bits(key, (size_t)klen);

	snprintf(tags, sizeof(tags), "item-%u, items", i);
	fields(h, &n, "max-age=3600", tags, hot ? "hot" : NULL);
	if (hp_cache_begin_fill(c, key, (size_t)klen, hash, &f, &w, T0) != HP_CACHE_FILLER ||
	    !hp_cache_fill_head(f, 200, h, n, NULL, 0, T0, T0, NULL)) {
		fprintf(stderr, "fill %u refused\n", i);
		exit(1);
	}
	(void)hp_cache_fill_append(f, "0123456789abcdef0123456789abcdef", 32);
	hp_cache_fill_commit(f);
}

static double purge_ns(struct hp_cache *c, struct hp_str tag, size_t *removed)
{
	uint64_t t0 = hp_clock_mono_ns();

	for (int r = 0; r < PURGE_ROUNDS; r++)
		*removed = hp_cache_purge_tag(c, tag, true);
	return (double)(hp_clock_mono_ns() - t0) / PURGE_ROUNDS;
}

static double lookup_ns(struct hp_cache *c, unsigned nobj)
{
	char key[64];
	uint64_t rng = 88172645463325252ull;
	unsigned hits = 0;
	uint64_t t0 = hp_clock_mono_ns();

	for (int i = 0; i < LOOKUPS; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		int klen = key_of(key, sizeof(key), (unsigned)(rng % nobj));
		struct hp_cache_obj *o = hp_cache_lookup(c, key, (size_t)klen,
							 XXH3_64bits(key, (size_t)klen),
							 NULL, 0, T0);
		if (o != NULL) {
			hits++;
			hp_cache_obj_release(o);
		}
	}
	double ns = (double)(hp_clock_mono_ns() - t0) / LOOKUPS;
	if (hits != LOOKUPS)
		printf("warning: %u of %d lookups hit\n", hits, LOOKUPS);
	return ns;
}

int main(int argc, char **argv)
{
	unsigned nobj = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000;
	unsigned ntagged = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 10;
	struct hp_cache_conf conf = {.max_memory = 1ull << 30};
	struct hp_cache *c = hp_cache_create(&conf);
	struct hp_cache_stats st;
	size_t n = 0;

	if (nobj == 0 || ntagged > nobj)
		return 2;
	uint64_t t0 = hp_clock_mono_ns();
	for (unsigned i = 0; i < nobj; i++)
		fill(c, i, i % (nobj / ntagged) == 0 && i / (nobj / ntagged) < ntagged);
	double fill_ns = (double)(hp_clock_mono_ns() - t0) / nobj;
	hp_cache_get_stats(c, &st);
	printf("objects %llu, accounted %.1f MB (%.0f B/object)\n",
	       (unsigned long long)st.objects, (double)st.bytes / 1e6,
	       (double)st.bytes / (double)st.objects);
	double hit = lookup_ns(c, nobj);
	double soft = purge_ns(c, HP_STR("hot"), &n);
	printf("soft purge of a tag on %zu objects: %.1f us\n", n, soft / 1e3);
	double none = purge_ns(c, HP_STR("no-such-tag"), &n);
	printf("purge of a tag on no object:      %.1f us\n", none / 1e3);
	t0 = hp_clock_mono_ns();
	n = hp_cache_purge_tag(c, HP_STR("hot"), false);
	printf("hard purge of a tag on %zu objects: %.1f us\n", n,
	       (double)(hp_clock_mono_ns() - t0) / 1e3);
	printf("fill of one object (2-3 tags):    %.1f ns\n", fill_ns);
	printf("lookup + release (hit):           %.1f ns\n", hit);
	hp_cache_destroy(c);
	return 0;
}
