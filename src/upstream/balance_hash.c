/* SPDX-License-Identifier: MIT */
/*
 * balance_hash.c - consistent hashing on a ring with virtual nodes: each
 * server owns VNODES_PER_WEIGHT points per unit of weight, placed by the
 * hash of its address (not its position in the list, so a key stays on
 * its server across restarts and reorderings). A key goes to the first
 * point at or after its hash that belongs to a server not excluded, so
 * when one of N servers leaves (removed, ejected, tried), only its keys
 * move, about 1/N of them, each to the next server on the ring. The ring
 * is built once; picks are a binary search, without a lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upstream/upstream_priv.h"

#define VNODES_PER_WEIGHT 160
#define MAX_POINTS_PER_SERVER 16000

struct point {
	uint64_t hash;
	uint32_t server;
};

struct ring {
	struct point *points;
	size_t npoints;
};

static int cmp_point(const void *a, const void *b)
{
	const struct point *pa = a, *pb = b;
	if (pa->hash != pb->hash)
		return pa->hash < pb->hash ? -1 : 1;
	return pa->server < pb->server ? -1 : pa->server > pb->server;
}

static void *hash_create(struct hp_upstream_group *g)
{
	struct ring *r = hp_xcalloc(1, sizeof(*r));
	size_t total = 0;
	for (size_t i = 0; i < g->nservers; i++)
		total += HP_MIN((size_t)g->servers[i].weight * VNODES_PER_WEIGHT,
				MAX_POINTS_PER_SERVER);
	r->points = hp_xcalloc(total, sizeof(*r->points));
	for (size_t i = 0; i < g->nservers; i++) {
		size_t n = HP_MIN((size_t)g->servers[i].weight * VNODES_PER_WEIGHT,
				  MAX_POINTS_PER_SERVER);
		for (size_t k = 0; k < n; k++) {
			char label[300];
			int len = snprintf(label, sizeof(label), "%s#%zu", g->servers[i].name, k);
			r->points[r->npoints].hash = hp_upstream_hash(label, (size_t)len);
			r->points[r->npoints].server = (uint32_t)i;
			r->npoints++;
		}
	}
	qsort(r->points, r->npoints, sizeof(*r->points), cmp_point);
	return r;
}

/* Index of the first point whose hash is >= <key>, wrapping to 0. */
static size_t first_at(const struct ring *r, uint64_t key)
{
	size_t lo = 0, hi = r->npoints;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->points[mid].hash < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == r->npoints ? 0 : lo;
}

static struct hp_upstream_server *hash_pick(void *state, struct hp_upstream_group *g,
					    const uint64_t *exclude, uint64_t key)
{
	const struct ring *r = state;
	if (r->npoints == 0)
		return NULL;
	size_t at = first_at(r, key);
	for (size_t n = 0; n < r->npoints; n++) {
		const struct point *p = &r->points[(at + n) % r->npoints];
		if (!hp_upstream_set_has(exclude, p->server))
			return &g->servers[p->server];
	}
	return NULL;
}

static void hash_destroy(void *state)
{
	struct ring *r = state;
	if (r == NULL)
		return;
	free(r->points);
	free(r);
}

const struct hp_balancer_ops hp_balancer_hash = {
	.name = "hash",
	.create = hash_create,
	.pick = hash_pick,
	.destroy = hash_destroy,
};
