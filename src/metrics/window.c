/* SPDX-License-Identifier: MIT */
/*
 * window.c - figures over the last minute and the last five minutes: a
 * ring of per-second snapshots merged from the workers' shards.
 *
 * Once a second, one thread (the caller of hp_metrics_window_tick) reads
 * every shard with relaxed loads, as a scrape does, and stores what
 * changed since the previous tick: requests, 5xx, cache hits and lookups,
 * and two series of durations (every request, and hits served from the
 * cache alone) in coarse histograms (hp_hist with one significant digit: a
 * bucket is at most 1/16 of its value wide). The last 60 seconds are kept
 * one by one; older ones are summed by ten, 30 such tens covering five
 * minutes, so a route costs ~280 KiB however busy it is. Readers (/status, alerts) and the ticker share a mutex; workers
 * never see it.
 *
 * The five-minute window is whole tens of seconds plus the current
 * partial ten, so it spans 291 to 300 seconds; its figures say which.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "metrics/metrics_priv.h"

#define WINDOW_ROUTES 64    /* route names told apart; later ones sum into the last */
#define RING1 60            /* one-second entries */
#define RING10 30           /* ten-second entries */
#define COARSE_HIGHEST_US HP_METRICS_HIST_HIGHEST_US

/* What changed in one entry's span, for one route. */
struct counts {
	uint64_t requests;
	uint64_t errors;               /* 5xx */
	uint64_t hits;                 /* hit, stale, coalesced, revalidated */
	uint64_t lookups;              /* hits and misses */
};

/* One series of durations of one route, in coarse buckets. */
struct wlat {
	uint64_t *prev;                /* cumulative counts at the last tick */
	uint64_t *cur;                 /* cumulative, built during a tick */
	uint32_t *ring1;               /* RING1 x ncoarse */
	uint32_t *ring10;              /* RING10 x ncoarse */
	uint32_t *acc;                 /* ncoarse: the ten being filled */
};

struct wroute {
	char name[HP_METRICS_NAME_MAX];
	struct counts prev;            /* cumulative at the last tick */
	struct counts cur;             /* cumulative, built during a tick */
	struct counts c1[RING1];
	struct counts c10[RING10];
	struct counts acc;             /* the ten being filled */
	struct wlat lat[HP_METRICS_NSERIES];
};

struct hp_metrics_window {
	pthread_mutex_t lock;          /* ticks against reads; never a worker's */
	struct hp_metrics_shard *const *shards; /* borrowed; they outlive the window */
	size_t nshards;
	struct hp_hist coarse;         /* layout only */
	size_t *fine_to_coarse;        /* a shard bucket's coarse bucket */
	size_t nfine;
	unsigned char (*map)[HP_METRICS_MAX_ROUTES]; /* shard slot -> route + 1; 0 unknown */
	struct wroute *routes[WINDOW_ROUTES];
	size_t nroutes;
	uint64_t ticks;                /* seconds recorded */
	double cpu_prev;               /* process CPU seconds at the last tick */
	double cpu1[RING1];
	double cpu10[RING10];
	double cpu_acc;
};

/* ==== Layout ==== */

/* Each fine bucket of the shards' histograms nests in one coarse bucket:
 * both layouts split octaves into powers of two. */
static void map_buckets(struct hp_metrics_window *w)
{
	struct hp_hist fine;
	hp_hist_init(&fine, HP_METRICS_HIST_HIGHEST_US, HP_METRICS_HIST_DIGITS);
	w->nfine = fine.num_counts;
	w->fine_to_coarse = hp_xcalloc(fine.num_counts, sizeof(*w->fine_to_coarse));
	for (size_t i = 0; i < fine.num_counts; i++)
		fine.counts[i] = 1;
	struct hp_hist_iter it = {0};
	while (hp_hist_next(&fine, &it))
		w->fine_to_coarse[it.index - 1] = hp_hist_index(&w->coarse, it.lo);
	hp_hist_fini(&fine);
}

struct hp_metrics_window *hp_metrics_window_create(struct hp_metrics_shard *const *shards,
						   size_t n)
{
	struct hp_metrics_window *w = hp_xcalloc(1, sizeof(*w));
	HP_AZ(pthread_mutex_init(&w->lock, NULL));
	w->shards = shards;
	w->nshards = n;
	hp_hist_init(&w->coarse, COARSE_HIGHEST_US, 1);
	map_buckets(w);
	w->map = hp_xcalloc(n ? n : 1, sizeof(*w->map));
	return w;
}

void hp_metrics_window_destroy(struct hp_metrics_window *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nroutes; i++) {
		struct wroute *r = w->routes[i];
		for (size_t k = 0; k < HP_METRICS_NSERIES; k++) {
			free(r->lat[k].prev);
			free(r->lat[k].cur);
			free(r->lat[k].ring1);
			free(r->lat[k].ring10);
			free(r->lat[k].acc);
		}
		free(r);
	}
	free(w->map);
	free(w->fine_to_coarse);
	hp_hist_fini(&w->coarse);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* ==== Ticks ==== */

static struct wroute *route_named(struct hp_metrics_window *w, const char *name)
{
	for (size_t i = 0; i < w->nroutes; i++)
		if (strcmp(w->routes[i]->name, name) == 0)
			return w->routes[i];
	if (w->nroutes == WINDOW_ROUTES)
		return w->routes[WINDOW_ROUTES - 1];
	struct wroute *r = hp_xcalloc(1, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", w->nroutes == WINDOW_ROUTES - 1 ? "other" : name);
	size_t nc = w->coarse.num_counts;
	for (size_t k = 0; k < HP_METRICS_NSERIES; k++) {
		struct wlat *l = &r->lat[k];
		l->prev = hp_xcalloc(nc, sizeof(*l->prev));
		l->cur = hp_xcalloc(nc, sizeof(*l->cur));
		l->ring1 = hp_xcalloc(RING1 * nc, sizeof(*l->ring1));
		l->ring10 = hp_xcalloc(RING10 * nc, sizeof(*l->ring10));
		l->acc = hp_xcalloc(nc, sizeof(*l->acc));
	}
	w->routes[w->nroutes++] = r;
	return r;
}

static bool is_hit(size_t cache)
{
	return cache == HP_METRICS_HIT || cache == HP_METRICS_STALE ||
	       cache == HP_METRICS_COALESCED || cache == HP_METRICS_REVALIDATED;
}

/* Add one shard slot's cumulative figures into its route's cur. */
static void add_slot(struct hp_metrics_window *w, struct wroute *r,
		     const struct hp_metrics_slot *slot)
{
	for (size_t m = 0; m < HP_METRICS_NMETHODS; m++)
		for (size_t s = 0; s < HP_METRICS_NSTATUS; s++)
			for (size_t c = 0; c < HP_METRICS_NCACHE; c++) {
				uint64_t v = atomic_load_explicit(&slot->requests[m][s][c],
								  memory_order_relaxed);
				r->cur.requests += v;
				if (s == 4)
					r->cur.errors += v;
				if (is_hit(c))
					r->cur.hits += v;
				if (is_hit(c) || c == HP_METRICS_MISS)
					r->cur.lookups += v;
			}
	const struct hp_metrics_hist *series[HP_METRICS_NSERIES] = {
		[HP_METRICS_ALL] = &slot->request_duration,
		[HP_METRICS_HITS] = &slot->hit_duration,
	};
	for (size_t k = 0; k < HP_METRICS_NSERIES; k++) {
		const _Atomic uint64_t *fine = series[k]->counts;
		for (size_t i = 0; i < w->nfine; i++)
			r->lat[k].cur[w->fine_to_coarse[i]] +=
				atomic_load_explicit(&fine[i], memory_order_relaxed);
	}
}

static void gather(struct hp_metrics_window *w)
{
	size_t nc = w->coarse.num_counts;
	for (size_t i = 0; i < w->nroutes; i++) {
		memset(&w->routes[i]->cur, 0, sizeof(w->routes[i]->cur));
		for (size_t k = 0; k < HP_METRICS_NSERIES; k++)
			memset(w->routes[i]->lat[k].cur, 0, nc * sizeof(uint64_t));
	}
	for (size_t s = 0; s < w->nshards; s++) {
		const struct hp_metrics_shard *sh = w->shards[s];
		size_t n = atomic_load_explicit(&sh->nslots, memory_order_acquire);
		for (size_t k = 0; k < n; k++) {
			/* Slot names never change: look each up once. */
			if (w->map[s][k] == 0) {
				struct wroute *r = route_named(w, sh->slots[k]->name);
				for (size_t j = 0; j < w->nroutes; j++)
					if (w->routes[j] == r)
						w->map[s][k] = (unsigned char)(j + 1);
			}
			add_slot(w, w->routes[w->map[s][k] - 1], sh->slots[k]);
		}
	}
}

static uint64_t delta(uint64_t cur, uint64_t prev)
{
	return cur >= prev ? cur - prev : 0;
}

/* The durations part of store_route(), for one series. */
static void store_lat(struct wlat *l, size_t nc, size_t i1, bool ten_done, size_t i10)
{
	uint32_t *l1 = &l->ring1[i1 * nc];
	for (size_t b = 0; b < nc; b++) {
		uint64_t v = delta(l->cur[b], l->prev[b]);
		l1[b] = (uint32_t)HP_MIN(v, UINT32_MAX);
		l->acc[b] = (uint32_t)HP_MIN((uint64_t)l->acc[b] + l1[b], UINT32_MAX);
	}
	memcpy(l->prev, l->cur, nc * sizeof(uint64_t));
	if (ten_done) {
		memcpy(&l->ring10[i10 * nc], l->acc, nc * sizeof(uint32_t));
		memset(l->acc, 0, nc * sizeof(uint32_t));
	}
}

/* Store the second that just ended into slot <i1> of the one-second ring
 * and into the ten being filled, which goes to the ten-second ring on
 * every tenth tick. */
static void store_route(struct hp_metrics_window *w, struct wroute *r, size_t i1, bool ten_done,
			size_t i10)
{
	size_t nc = w->coarse.num_counts;
	struct counts d = {
		.requests = delta(r->cur.requests, r->prev.requests),
		.errors = delta(r->cur.errors, r->prev.errors),
		.hits = delta(r->cur.hits, r->prev.hits),
		.lookups = delta(r->cur.lookups, r->prev.lookups),
	};
	r->c1[i1] = d;
	r->acc.requests += d.requests;
	r->acc.errors += d.errors;
	r->acc.hits += d.hits;
	r->acc.lookups += d.lookups;
	r->prev = r->cur;
	for (size_t k = 0; k < HP_METRICS_NSERIES; k++)
		store_lat(&r->lat[k], nc, i1, ten_done, i10);
	if (ten_done) {
		r->c10[i10] = r->acc;
		memset(&r->acc, 0, sizeof(r->acc));
	}
}

void hp_metrics_window_tick(struct hp_metrics_window *w, double cpu_seconds)
{
	HP_AZ(pthread_mutex_lock(&w->lock));
	gather(w);
	size_t i1 = (size_t)(w->ticks % RING1);
	bool ten_done = w->ticks % 10 == 9;
	size_t i10 = (size_t)((w->ticks / 10) % RING10);
	for (size_t i = 0; i < w->nroutes; i++)
		store_route(w, w->routes[i], i1, ten_done, i10);
	/* The first tick has no previous reading: everything before it counts
	 * as that second's, as it does for the request counters. */
	double cpu = cpu_seconds > w->cpu_prev ? cpu_seconds - w->cpu_prev : 0;
	w->cpu_prev = cpu_seconds;
	w->cpu1[i1] = cpu;
	w->cpu_acc += cpu;
	if (ten_done) {
		w->cpu10[i10] = w->cpu_acc;
		w->cpu_acc = 0;
	}
	w->ticks++;
	HP_AZ(pthread_mutex_unlock(&w->lock));
}

/* ==== Reading ==== */

static void add_counts(struct counts *to, const struct counts *from)
{
	to->requests += from->requests;
	to->errors += from->errors;
	to->hits += from->hits;
	to->lookups += from->lookups;
}

static void add_lat(uint64_t *to, const uint32_t *from, size_t nc)
{
	for (size_t b = 0; b < nc; b++)
		to[b] += from[b];
}

/* Sum route <r>'s last <n1> seconds, or its last <n10> whole tens and
 * the partial ten, into <c> and, for each series, <lat>[series] (NULL:
 * not wanted). */
static void sum_route(const struct hp_metrics_window *w, const struct wroute *r, size_t n1,
		      size_t n10, struct counts *c, uint64_t *lat[HP_METRICS_NSERIES])
{
	size_t nc = w->coarse.num_counts;
	for (size_t k = 0; k < n1; k++) {
		size_t i = (size_t)((w->ticks - 1 - k) % RING1);
		add_counts(c, &r->c1[i]);
		for (size_t s = 0; s < HP_METRICS_NSERIES; s++)
			if (lat[s] != NULL)
				add_lat(lat[s], &r->lat[s].ring1[i * nc], nc);
	}
	if (n10 == 0 && n1 > 0)
		return;
	add_counts(c, &r->acc);
	for (size_t s = 0; s < HP_METRICS_NSERIES; s++)
		if (lat[s] != NULL)
			add_lat(lat[s], r->lat[s].acc, nc);
	for (size_t k = 0; k < n10; k++) {
		size_t i = (size_t)((w->ticks / 10 - 1 - k) % RING10);
		add_counts(c, &r->c10[i]);
		for (size_t s = 0; s < HP_METRICS_NSERIES; s++)
			if (lat[s] != NULL)
				add_lat(lat[s], &r->lat[s].ring10[i * nc], nc);
	}
}

/* The percentile from coarse counts: the upper edge of the bucket that
 * holds the rank, in microseconds. */
static double quantile_us(struct hp_metrics_window *w, const uint64_t *lat, double pct)
{
	struct hp_hist *h = &w->coarse;
	uint64_t total = 0;
	for (size_t b = 0; b < h->num_counts; b++) {
		h->counts[b] = lat[b];
		total += lat[b];
	}
	h->total = total;
	h->min = 0;
	h->max = UINT64_MAX;
	double v = total ? (double)hp_hist_percentile(h, pct) : 0;
	memset(h->counts, 0, h->num_counts * sizeof(*h->counts));
	h->total = 0;
	return v;
}

/* Up to a minute: whole seconds; beyond, whole tens and the partial one
 * (counted in acc). Returns the seconds covered. */
static double span_of(const struct hp_metrics_window *w, unsigned seconds, size_t *n1,
		      size_t *n10)
{
	if (seconds <= RING1) {
		*n1 = (size_t)HP_MIN((uint64_t)seconds, w->ticks);
		return (double)*n1;
	}
	uint64_t whole = seconds / 10 - (w->ticks % 10 ? 1 : 0);
	*n10 = (size_t)HP_MIN(HP_MIN(whole, (uint64_t)RING10), w->ticks / 10);
	return (double)(*n10 * 10 + w->ticks % 10);
}

bool hp_metrics_window_read(struct hp_metrics_window *w, const char *route, unsigned seconds,
			    struct hp_metrics_figures *f)
{
	memset(f, 0, sizeof(*f));
	HP_AZ(pthread_mutex_lock(&w->lock));
	size_t n1 = 0;
	size_t n10 = 0;
	double span = span_of(w, seconds, &n1, &n10);
	size_t nc = w->coarse.num_counts;
	uint64_t *lat[HP_METRICS_NSERIES];
	for (size_t s = 0; s < HP_METRICS_NSERIES; s++)
		lat[s] = hp_xcalloc(nc, sizeof(*lat[s]));
	struct counts c = {0};
	bool found = route == NULL;
	for (size_t i = 0; i < w->nroutes; i++) {
		if (route != NULL && strcmp(w->routes[i]->name, route) != 0)
			continue;
		found = true;
		sum_route(w, w->routes[i], n1, n10, &c, lat);
	}
	double cpu = 0;
	for (size_t k = 0; k < n1; k++)
		cpu += w->cpu1[(w->ticks - 1 - k) % RING1];
	if (n1 == 0) {
		cpu += w->cpu_acc;
		for (size_t k = 0; k < n10; k++)
			cpu += w->cpu10[(w->ticks / 10 - 1 - k) % RING10];
	}
	f->seconds = span;
	f->requests = c.requests;
	f->errors = c.errors;
	f->hits = c.hits;
	f->lookups = c.lookups;
	f->rps = span > 0 ? (double)c.requests / span : 0;
	f->error_rate = c.requests ? (double)c.errors / (double)c.requests : 0;
	f->hit_ratio = c.lookups ? (double)c.hits / (double)c.lookups : 0;
	f->p50_ms = quantile_us(w, lat[HP_METRICS_ALL], 50) / 1000;
	f->p95_ms = quantile_us(w, lat[HP_METRICS_ALL], 95) / 1000;
	f->p99_ms = quantile_us(w, lat[HP_METRICS_ALL], 99) / 1000;
	f->hit_p95_ms = quantile_us(w, lat[HP_METRICS_HITS], 95) / 1000;
	f->hit_p99_ms = quantile_us(w, lat[HP_METRICS_HITS], 99) / 1000;
	f->cpu_pct = span > 0 ? 100 * cpu / span : 0;
	for (size_t s = 0; s < HP_METRICS_NSERIES; s++)
		free(lat[s]);
	HP_AZ(pthread_mutex_unlock(&w->lock));
	return found;
}

double hp_metrics_window_quantile_us(struct hp_metrics_window *w, const char *route,
				     unsigned seconds, enum hp_metrics_series series, double pct)
{
	HP_AZ(pthread_mutex_lock(&w->lock));
	size_t n1 = 0;
	size_t n10 = 0;
	span_of(w, seconds, &n1, &n10);
	size_t nc = w->coarse.num_counts;
	uint64_t *lat[HP_METRICS_NSERIES] = {0};
	lat[series] = hp_xcalloc(nc, sizeof(*lat[series]));
	struct counts c = {0};
	for (size_t i = 0; i < w->nroutes; i++)
		if (route == NULL || strcmp(w->routes[i]->name, route) == 0)
			sum_route(w, w->routes[i], n1, n10, &c, lat);
	double v = quantile_us(w, lat[series], pct);
	free(lat[series]);
	HP_AZ(pthread_mutex_unlock(&w->lock));
	return v;
}

size_t hp_metrics_window_names(struct hp_metrics_window *w, const char **names, size_t max)
{
	HP_AZ(pthread_mutex_lock(&w->lock));
	size_t n = HP_MIN(w->nroutes, max);
	for (size_t i = 0; i < n; i++)
		names[i] = w->routes[i]->name;
	HP_AZ(pthread_mutex_unlock(&w->lock));
	return n;
}
