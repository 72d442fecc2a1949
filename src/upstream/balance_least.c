/* SPDX-License-Identifier: MIT */
/*
 * balance_least.c - least connections, weighted: the server with the
 * fewest connections in use per unit of weight (a*wb < b*wa, no division),
 * ties broken at random so that idle servers share a trickle of traffic
 * instead of the first one taking it all. No state, no lock: it reads the
 * servers' counters of connections in use, shared by all workers.
 */
#include "core/clock.h"
#include "upstream/upstream_priv.h"

static void *least_create(struct hp_upstream_group *g)
{
	(void)g;
	return NULL;
}

/* -1 when <a> carries less load per weight than <b>, 0 when equal. */
static int compare_load(const struct hp_upstream_group *g, const struct hp_upstream_server *a,
			const struct hp_upstream_server *b, uint64_t now)
{
	uint64_t la = (uint64_t)atomic_load_explicit(&a->active, memory_order_relaxed) *
		      hp_upstream_weight(g, b, now);
	uint64_t lb = (uint64_t)atomic_load_explicit(&b->active, memory_order_relaxed) *
		      hp_upstream_weight(g, a, now);
	return la < lb ? -1 : la > lb ? 1 : 0;
}

static struct hp_upstream_server *least_pick(void *state, struct hp_upstream_group *g,
					     const uint64_t *exclude, uint64_t key)
{
	(void)state;
	(void)key;
	struct hp_upstream_server *best = NULL;
	uint64_t ties = 0;
	uint64_t now = hp_clock_mono_ns();
	for (size_t i = 0; i < g->nservers; i++) {
		struct hp_upstream_server *s = &g->servers[i];
		if (hp_upstream_set_has(exclude, i))
			continue;
		int cmp = best == NULL ? -1 : compare_load(g, s, best, now);
		if (cmp < 0) {
			best = s;
			ties = 1;
		} else if (cmp == 0 && hp_upstream_random() % ++ties == 0) {
			/* Reservoir sampling: each of the tied servers has 1/ties. */
			best = s;
		}
	}
	return best;
}

static void least_destroy(void *state)
{
	(void)state;
}

const struct hp_balancer_ops hp_balancer_least_conn = {
	.name = "least_conn",
	.create = least_create,
	.pick = least_pick,
	.destroy = least_destroy,
};
