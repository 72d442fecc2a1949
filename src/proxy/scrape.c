/* SPDX-License-Identifier: MIT */
/*
 * scrape.c - the proxy's side of /metrics: hand the metrics module every
 * worker's shard and the figures only the proxy knows (client connections,
 * the cache's counters, reloads, upstream health). The shards live until hp_proxy_destroy(),
 * so the admin thread may scrape at any time before that, workers running
 * or not.
 */
#include <stdlib.h>

#include "proxy/proxy_priv.h"

void hp_proxy_metrics(struct hp_proxy *px, struct hp_buf *out)
{
	struct hp_metrics_values v = {.version = HOTPATH_VERSION};
	v.client_connections = atomic_load(&px->nclients);
	/* Generation 1 is the start-up configuration, not a reload. */
	v.config_reloads = (double)(hp_proxy_generation(px) - 1);
	struct hp_cache *cache = hp_proxy_cache(px);
	if (cache != NULL) {
		struct hp_cache_stats st;
		hp_cache_get_stats(cache, &st);
		v.cache_objects = (double)st.objects;
		v.cache_bytes = (double)st.bytes;
		v.cache_max_bytes = (double)st.max_bytes;
		v.cache_inserts = (double)st.inserts;
		v.cache_evictions = (double)st.evictions;
		v.cache_purges = (double)st.purges;
		v.cache_hit_for_pass = (double)st.hit_for_pass;
	}
	hp_proxy_upstream_figures(px, &v.upstream_servers_out, &v.upstream_ejections,
				  &v.upstream_retries);
	hp_metrics_read_process(&v);
	struct hp_metrics_shard **all = hp_xcalloc(px->nworkers + 1, sizeof(*all));
	for (unsigned i = 0; i < px->nworkers; i++)
		all[i] = px->workers[i].metrics;
	hp_metrics_write(all, px->nworkers, &v, out);
	free(all);
}
