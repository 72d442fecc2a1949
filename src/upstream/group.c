/* SPDX-License-Identifier: MIT */
/*
 * group.c - upstream server groups: built once from the configuration,
 * with addresses resolved at start-up so no worker ever waits on DNS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "upstream/upstream.h"
#include "upstream/upstream_priv.h"

static const struct hp_balancer_ops *find_balancer(const char *name)
{
	if (name == NULL || strcmp(name, "round_robin") == 0)
		return &hp_balancer_round_robin;
	return NULL;
}

struct hp_upstream_group *hp_upstream_group_create(const struct hp_config_upstream *conf,
						   char *err, size_t errlen)
{
	const struct hp_balancer_ops *ops = find_balancer(conf->balance);
	if (ops == NULL) {
		snprintf(err, errlen, "upstream %s: unknown balance '%s'", conf->name,
			 conf->balance);
		return NULL;
	}
	struct hp_upstream_group *g = hp_xcalloc(1, sizeof(*g));
	g->conf = conf;
	pthread_mutex_init(&g->pools_lock, NULL);
	hp_list_init(&g->pools);
	atomic_init(&g->waiting, 0);
	g->nservers = conf->nservers;
	g->servers = hp_xcalloc(g->nservers, sizeof(*g->servers));
	for (size_t i = 0; i < g->nservers; i++) {
		struct hp_upstream_server *s = &g->servers[i];
		const struct hp_config_server *cs = &conf->servers[i];
		char rerr[256];
		if (hp_net_resolve(cs->hostport, &s->addr, &s->addrlen, rerr, sizeof(rerr)) < 0) {
			snprintf(err, errlen, "upstream %s: server %s: %s", conf->name, cs->url,
				 rerr);
			goto fail;
		}
		s->name = hp_xstrdup(cs->hostport);
		s->weight = cs->weight ? cs->weight : 1;
		s->max_connections = conf->max_connections;
		s->index = i;
		atomic_init(&s->active, 0);
		atomic_init(&s->connect_failures, 0);
		atomic_init(&s->timeouts, 0);
	}
	g->ops = ops;
	g->balancer = ops->create(g);
	return g;
fail:
	hp_upstream_group_destroy(g);
	return NULL;
}

void hp_upstream_group_destroy(struct hp_upstream_group *g)
{
	if (g == NULL)
		return;
	HP_ASSERT(hp_list_empty(&g->pools));
	if (g->ops != NULL)
		g->ops->destroy(g->balancer);
	pthread_mutex_destroy(&g->pools_lock);
	for (size_t i = 0; i < g->nservers; i++)
		free(g->servers[i].name);
	free(g->servers);
	free(g);
}

const struct hp_config_upstream *hp_upstream_group_conf(const struct hp_upstream_group *g)
{
	return g->conf;
}

size_t hp_upstream_group_size(const struct hp_upstream_group *g)
{
	return g->nservers;
}

struct hp_upstream_server *hp_upstream_group_server(struct hp_upstream_group *g, size_t i)
{
	HP_ASSERT(i < g->nservers);
	return &g->servers[i];
}

size_t hp_upstream_set_words(const struct hp_upstream_group *g)
{
	size_t words = (g->nservers + 63) / 64;
	return words > 0 ? words : 1;
}

struct hp_upstream_server *hp_upstream_pick_except(struct hp_upstream_group *g,
						   const uint64_t *tried)
{
	return g->ops->pick(g->balancer, g, tried);
}
