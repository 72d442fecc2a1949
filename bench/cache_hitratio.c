/* SPDX-License-Identifier: MIT */
/*
 * cache_hitratio.c - hit ratio of the cache store's S3-FIFO eviction against
 * plain LRU at the same memory, on a synthetic workload: Zipf(0.99) requests
 * over 1M distinct keys, interrupted by scans of keys requested only once
 * (crawlers, cache-busting query strings). Both runs use the real store
 * (hp_cache_conf.eviction), the same seed and the same request sequence.
 *
 *   build/bench/cache_hitratio [requests] [max_memory_mb]
 *
 * Prints the Zipf hit ratio (scan requests excluded: they can never hit),
 * the overall one, the mean hit time within the run (clock reads included),
 * and the hit path alone timed in bulk (lookup + release, one thread).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cache/cache.h"
#include "core/clock.h"

#define NKEYS 1000000
#define ZIPF_S 0.99
#define SCAN_EVERY 100000 /* requests between scans */
#define SCAN_LEN 20000    /* one-hit keys per scan */
#define BODY_BYTES 200

struct result {
	uint64_t zipf_reqs, zipf_hits, all_reqs, all_hits, hit_ns, evictions, objects;
};

static double *zipf_cdf(void)
{
	double *cdf = malloc(NKEYS * sizeof(*cdf));
	double sum = 0;

	if (cdf == NULL)
		abort();
	for (int i = 0; i < NKEYS; i++)
		sum += 1.0 / pow(i + 1, ZIPF_S);
	double acc = 0;
	for (int i = 0; i < NKEYS; i++) {
		acc += 1.0 / pow(i + 1, ZIPF_S) / sum;
		cdf[i] = acc;
	}
	return cdf;
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int zipf_rank(const double *cdf, uint64_t *rng)
{
	double u = (double)(next_rand(rng) >> 11) / (double)(1ull << 53);
	int lo = 0;
	int hi = NKEYS - 1;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* One request: a hit, or a miss that fills the key as the proxy would. */
static bool request(struct hp_cache *c, const char *key, size_t klen, uint64_t *hit_ns)
{
	static const struct hp_http_header resp[] = {
		{HP_STR("Cache-Control"), HP_STR("max-age=3600")},
		{HP_STR("Content-Type"), HP_STR("text/plain")},
	};
	static const char body[BODY_BYTES];
	uint64_t h = XXH3_64bits(key, klen);
	uint64_t t0 = hp_clock_mono_ns();
	struct hp_cache_obj *obj = hp_cache_lookup(c, key, klen, h, NULL, 0, 1000);
	struct hp_cache_fill *fill;
	struct hp_cache_waiter w = {0};

	if (obj != NULL) {
		hp_cache_obj_release(obj);
		*hit_ns += hp_clock_mono_ns() - t0;
		return true;
	}
	if (hp_cache_begin_fill(c, key, klen, h, &fill, &w, 1000) != HP_CACHE_FILLER)
		abort();
	if (!hp_cache_fill_head(fill, 200, resp, 2, NULL, 0, 1000, 1000, NULL))
		abort();
	(void)hp_cache_fill_append(fill, body, sizeof(body));
	hp_cache_fill_commit(fill);
	return false;
}

static struct result run(enum hp_cache_eviction ev, const double *cdf, uint64_t nreq,
			 uint64_t max_memory)
{
	struct hp_cache_conf conf = {.max_memory = max_memory, .eviction = ev};
	struct hp_cache *c = hp_cache_create(&conf);
	struct result r = {0};
	uint64_t rng = 0x2545f4914f6cdd1dull;
	uint64_t scan_id = 0;
	char key[64];

	for (uint64_t i = 0; i < nreq; i++) {
		if (i > 0 && i % SCAN_EVERY == 0) {
			for (int s = 0; s < SCAN_LEN; s++) {
				int n = snprintf(key, sizeof(key), "scan/%llu",
						 (unsigned long long)scan_id++);
				r.all_hits += request(c, key, (size_t)n, &r.hit_ns);
				r.all_reqs++;
			}
		}
		int n = snprintf(key, sizeof(key), "zipf/%d", zipf_rank(cdf, &rng));
		bool hit = request(c, key, (size_t)n, &r.hit_ns);
		r.zipf_hits += hit;
		r.all_hits += hit;
		r.zipf_reqs++;
		r.all_reqs++;
	}
	struct hp_cache_stats st;
	hp_cache_get_stats(c, &st);
	r.evictions = st.evictions;
	r.objects = st.objects;
	hp_cache_destroy(c);
	return r;
}

static void print(const char *name, const struct result *r)
{
	printf("%-8s zipf hit ratio %6.2f %%   overall %6.2f %%   objects %7llu   evictions %9llu"
	       "   hit %5.0f ns\n",
	       name, 100.0 * (double)r->zipf_hits / (double)r->zipf_reqs,
	       100.0 * (double)r->all_hits / (double)r->all_reqs, (unsigned long long)r->objects,
	       (unsigned long long)r->evictions,
	       r->all_hits ? (double)r->hit_ns / (double)r->all_hits : 0.0);
}

/* The hit path alone, timed in bulk so that the clock is not what we measure. */
static void hit_cost(void)
{
	struct hp_cache_conf conf = {0};
	struct hp_cache *c = hp_cache_create(&conf);
	uint64_t unused = 0;
	uint64_t hashes[1000];
	char keys[1000][16];
	size_t lens[1000];

	for (int i = 0; i < 1000; i++) {
		lens[i] = (size_t)snprintf(keys[i], sizeof(keys[i]), "hot/%d", i);
		hashes[i] = XXH3_64bits(keys[i], lens[i]);
		(void)request(c, keys[i], lens[i], &unused);
	}
	const int rounds = 2000;
	uint64_t t0 = hp_clock_mono_ns();
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < 1000; i++) {
			struct hp_cache_obj *o = hp_cache_lookup(c, keys[i], lens[i], hashes[i],
								 NULL, 0, 1000);
			hp_cache_obj_release(o);
		}
	}
	uint64_t ns = hp_clock_mono_ns() - t0;
	printf("hit path (lookup + release, 1000 hot keys, one thread): %.0f ns\n",
	       (double)ns / (rounds * 1000.0));
	hp_cache_destroy(c);
}

int main(int argc, char **argv)
{
	uint64_t nreq = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	uint64_t mem_mb = argc > 2 ? strtoull(argv[2], NULL, 10) : 16;
	double *cdf = zipf_cdf();

	printf("workload: %llu Zipf(%.2f) requests over %d keys, a scan of %d one-hit keys every"
	       " %d requests, %d-byte bodies, max_memory %llu MB\n",
	       (unsigned long long)nreq, ZIPF_S, NKEYS, SCAN_LEN, SCAN_EVERY, BODY_BYTES,
	       (unsigned long long)mem_mb);
	struct result lru = run(HP_CACHE_EVICT_LRU, cdf, nreq, mem_mb << 20);
	print("LRU", &lru);
	struct result s3 = run(HP_CACHE_EVICT_S3FIFO, cdf, nreq, mem_mb << 20);
	print("S3-FIFO", &s3);
	free(cdf);
	hit_cost();
	return 0;
}
