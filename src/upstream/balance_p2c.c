/* SPDX-License-Identifier: MIT */
/*
 * balance_p2c.c - power of two random choices: two distinct servers drawn
 * at random, the one with fewer connections in use per unit of weight
 * wins. Nearly as even as least connections, but each pick looks at two
 * counters, not all of them, and workers picking at once do not all pile
 * onto the same idlest server.
 */
#include "core/clock.h"
#include "upstream/upstream_priv.h"

static void *p2c_create(struct hp_upstream_group *g)
{
	(void)g;
	return NULL;
}

/* The <n>th server (from 0) not in <exclude>. */
static struct hp_upstream_server *nth_eligible(struct hp_upstream_group *g,
					       const uint64_t *exclude, size_t n)
{
	for (size_t i = 0; i < g->nservers; i++) {
		if (hp_upstream_set_has(exclude, i))
			continue;
		if (n-- == 0)
			return &g->servers[i];
	}
	return NULL;
}

static struct hp_upstream_server *p2c_pick(void *state, struct hp_upstream_group *g,
					   const uint64_t *exclude, uint64_t key)
{
	(void)state;
	(void)key;
	size_t n = 0;
	for (size_t i = 0; i < g->nservers; i++)
		n += !hp_upstream_set_has(exclude, i);
	if (n <= 1)
		return nth_eligible(g, exclude, 0);
	size_t i = hp_upstream_random() % n;
	size_t j = hp_upstream_random() % (n - 1);
	if (j >= i)
		j++;
	struct hp_upstream_server *a = nth_eligible(g, exclude, i);
	struct hp_upstream_server *b = nth_eligible(g, exclude, j);
	uint64_t now = hp_clock_mono_ns();
	uint64_t la = (uint64_t)atomic_load_explicit(&a->active, memory_order_relaxed) *
		      hp_upstream_weight(g, b, now);
	uint64_t lb = (uint64_t)atomic_load_explicit(&b->active, memory_order_relaxed) *
		      hp_upstream_weight(g, a, now);
	return lb < la ? b : a;
}

static void p2c_destroy(void *state)
{
	(void)state;
}

const struct hp_balancer_ops hp_balancer_p2c = {
	.name = "p2c",
	.create = p2c_create,
	.pick = p2c_pick,
	.destroy = p2c_destroy,
};
