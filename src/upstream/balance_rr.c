/* SPDX-License-Identifier: MIT */
/*
 * balance_rr.c - smooth weighted round robin: each pick adds every
 * server's weight to its current score, takes the highest, and subtracts
 * the total from it. Equal weights give plain rotation; weights 5,1,1 give
 * a a b a c a a rather than a burst of five. One mutex: the pick is a few
 * dozen instructions and only contends when workers pick at the same
 * instant. Weights are the ramped ones of slow start (hp_upstream_weight).
 */
#include <pthread.h>
#include <stdlib.h>

#include "core/clock.h"
#include "upstream/upstream_priv.h"

struct rr_state {
	pthread_mutex_t lock;
	int64_t *current;   /* running score per server */
};

static void *rr_create(struct hp_upstream_group *g)
{
	struct rr_state *st = hp_xcalloc(1, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	st->current = hp_xcalloc(g->nservers, sizeof(*st->current));
	return st;
}

static struct hp_upstream_server *rr_pick(void *state, struct hp_upstream_group *g,
					  const uint64_t *exclude, uint64_t key)
{
	(void)key;
	struct rr_state *st = state;
	if (g->nservers == 1)
		return hp_upstream_set_has(exclude, 0) ? NULL : &g->servers[0];
	uint64_t now = hp_clock_mono_ns();
	pthread_mutex_lock(&st->lock);
	int64_t total = 0;
	struct hp_upstream_server *best = NULL;
	for (size_t i = 0; i < g->nservers; i++) {
		if (hp_upstream_set_has(exclude, i))
			continue;
		uint32_t w = hp_upstream_weight(g, &g->servers[i], now);
		st->current[i] += w;
		total += w;
		if (best == NULL || st->current[i] > st->current[best->index])
			best = &g->servers[i];
	}
	if (best != NULL)
		st->current[best->index] -= total;
	pthread_mutex_unlock(&st->lock);
	return best;
}

static void rr_destroy(void *state)
{
	struct rr_state *st = state;
	if (st == NULL)
		return;
	pthread_mutex_destroy(&st->lock);
	free(st->current);
	free(st);
}

const struct hp_balancer_ops hp_balancer_round_robin = {
	.name = "round_robin",
	.create = rr_create,
	.pick = rr_pick,
	.destroy = rr_destroy,
};
