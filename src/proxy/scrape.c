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

/* Every server of the current snapshot's groups, in configuration order;
 * the names point into <s>, which the caller keeps until written. */
static struct hp_metrics_upstream *read_upstreams(struct hp_snap *s, size_t *n)
{
	size_t total = 0;
	for (size_t g = 0; g < s->ngroups; g++)
		total += hp_upstream_group_size(s->groups[g]);
	struct hp_metrics_upstream *ups = hp_xcalloc(total ? total : 1, sizeof(*ups));
	size_t k = 0;
	for (size_t g = 0; g < s->ngroups; g++) {
		struct hp_upstream_group *grp = s->groups[g];
		double queued = (double)hp_upstream_group_queued(grp);
		for (size_t i = 0; i < hp_upstream_group_size(grp); i++) {
			struct hp_upstream_server_stats st;
			hp_upstream_server_stats(grp, i, &st);
			ups[k++] = (struct hp_metrics_upstream){
				.group = s->cfg->upstreams[g].name,
				.server = hp_upstream_group_server(grp, i)->name,
				.upstream_active = st.active,
				.upstream_idle = (double)st.idle,
				.upstream_queued = queued,
				.upstream_connect_failures = (double)st.connect_failures,
				.upstream_timeouts = (double)st.timeouts,
				.upstream_circuit_state = (double)st.circuit,
				.upstream_circuit_opens = (double)st.circuit_opens,
				.upstream_ejections = (double)st.ejections,
				.upstream_retries = (double)st.retries,
				.upstream_in_service = st.down ? 0 : 1,
			};
		}
	}
	*n = total;
	return ups;
}

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
	if (px->l2 != NULL) {
		struct hp_l2_stats l2;
		hp_l2_get_stats(px->l2, &l2);
		v.l2_hits = (double)l2.hits;
		v.l2_misses = (double)l2.misses;
		v.l2_errors = (double)l2.errors;
		v.l2_timeouts = (double)l2.timeouts;
		v.l2_writes = (double)l2.writes;
		v.l2_skipped = (double)l2.skipped;
		v.l2_connected = (double)l2.connected;
		v.l2_bus_up = l2.bus_up ? 1 : 0;
		v.l2_bus_published = (double)l2.bus_published;
		v.l2_bus_received = (double)l2.bus_received;
		v.l2_bus_resyncs = (double)l2.bus_resyncs;
		v.l2_redirects = (double)l2.redirects;
		v.l2_slot_refreshes = (double)l2.slot_refreshes;
	}
	v.startup_duration = (double)atomic_load(&px->startup_us) / 1e6;
	v.config_reload_failures = (double)atomic_load(&px->reload_failures);
	v.config_last_reload_ok = atomic_load(&px->last_reload_ok) ? 1 : 0;
	struct hp_snap *snap = hp_proxy_current_snap(px);
	v.upstreams = read_upstreams(snap, &v.nupstreams);
	struct hp_metrics_alert *alerts;
	v.nalerts = hp_alerts_firing(px->alerts, &alerts);
	v.alerts = alerts;
	v.upstream_servers_out = hp_proxy_upstream_servers_out(px);
	hp_metrics_read_process(&v);
	struct hp_metrics_shard **all = hp_xcalloc(px->nworkers + 1, sizeof(*all));
	for (unsigned i = 0; i < px->nworkers; i++)
		all[i] = px->workers[i].metrics;
	hp_metrics_write(all, px->nworkers, &v, out);
	free(all);
	free((void *)v.upstreams);
	hp_alerts_firing_free(alerts, v.nalerts);
	hp_snap_release(snap);
}
