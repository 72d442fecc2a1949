/* SPDX-License-Identifier: MIT */
/*
 * balance_random.c - a server drawn at random in proportion to its
 * weight. No shared state at all: useful when many proxies share the same
 * servers and any coordination would be an illusion anyway.
 */
#include "core/clock.h"
#include "upstream/upstream_priv.h"

static void *random_create(struct hp_upstream_group *g)
{
	(void)g;
	return NULL;
}

static struct hp_upstream_server *random_pick(void *state, struct hp_upstream_group *g,
					      const uint64_t *exclude, uint64_t key)
{
	(void)state;
	(void)key;
	uint64_t now = hp_clock_mono_ns();
	uint64_t total = 0;
	for (size_t i = 0; i < g->nservers; i++) {
		if (!hp_upstream_set_has(exclude, i))
			total += hp_upstream_weight(g, &g->servers[i], now);
	}
	if (total == 0)
		return NULL;
	/* Both loops read the weights at the same <now>: the same sum. */
	uint64_t r = hp_upstream_random() % total;
	for (size_t i = 0; i < g->nservers; i++) {
		if (hp_upstream_set_has(exclude, i))
			continue;
		uint32_t w = hp_upstream_weight(g, &g->servers[i], now);
		if (r < w)
			return &g->servers[i];
		r -= w;
	}
	return NULL;
}

static void random_destroy(void *state)
{
	(void)state;
}

const struct hp_balancer_ops hp_balancer_random = {
	.name = "random",
	.create = random_create,
	.pick = random_pick,
	.destroy = random_destroy,
};
