/* SPDX-License-Identifier: MIT */
/*
 * observe.c - the sampler thread and /status. Once a second the sampler
 * ticks the metrics window (metrics.h), then evaluates the alert rules
 * against it (alert.c). A tick reads the workers' shards as a
 * scrape does, so the request path never waits for it. /status reports
 * the window's one- and five-minute figures, total and per route name,
 * with the process, cache and upstream pool figures of the moment and the
 * alert rules' states (alert.c), as one JSON object (jansson).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "proxy/proxy_priv.h"

/* ==== Sampler ==== */

static double process_cpu_seconds(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Ticks on whole seconds of the monotonic clock after start, so a slow
 * tick does not shift the next one; the stop flag ends the wait at once. */
static void *sampler_main(void *arg)
{
	struct hp_proxy *px = arg;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	HP_AZ(pthread_mutex_lock(&px->sampler_lock));
	while (!px->sampler_stop) {
		next.tv_sec++;
		int rc = 0;
		while (!px->sampler_stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&px->sampler_cond, &px->sampler_lock, &next);
		if (px->sampler_stop)
			break;
		HP_AZ(pthread_mutex_unlock(&px->sampler_lock));
		hp_metrics_window_tick(px->window, process_cpu_seconds());
		HP_AZ(pthread_mutex_lock(&px->snap_lock));
		struct hp_snap *s = hp_snap_fetch(px->snap);
		HP_AZ(pthread_mutex_unlock(&px->snap_lock));
		hp_alerts_eval(px->alerts, s, px->window, hp_clock_mono_ms());
		hp_snap_release(s);
		HP_AZ(pthread_mutex_lock(&px->sampler_lock));
	}
	HP_AZ(pthread_mutex_unlock(&px->sampler_lock));
	return NULL;
}

void hp_observe_init(struct hp_proxy *px)
{
	px->shards = hp_xcalloc(px->nworkers ? px->nworkers : 1, sizeof(*px->shards));
	for (unsigned i = 0; i < px->nworkers; i++)
		px->shards[i] = px->workers[i].metrics;
	px->window = hp_metrics_window_create(px->shards, px->nworkers);
	px->alerts = hp_alerts_create();
	HP_AZ(pthread_mutex_init(&px->sampler_lock, NULL));
	pthread_condattr_t ca;
	HP_AZ(pthread_condattr_init(&ca));
	HP_AZ(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
	HP_AZ(pthread_cond_init(&px->sampler_cond, &ca));
	pthread_condattr_destroy(&ca);
}

int hp_observe_start(struct hp_proxy *px)
{
	int rc = pthread_create(&px->sampler, NULL, sampler_main, px);
	if (rc != 0)
		return -rc;
	px->sampler_running = true;
	return 0;
}

void hp_observe_fini(struct hp_proxy *px)
{
	if (px->window == NULL)
		return;
	if (px->sampler_running) {
		HP_AZ(pthread_mutex_lock(&px->sampler_lock));
		px->sampler_stop = true;
		HP_AZ(pthread_cond_signal(&px->sampler_cond));
		HP_AZ(pthread_mutex_unlock(&px->sampler_lock));
		pthread_join(px->sampler, NULL);
		px->sampler_running = false;
	}
	hp_alerts_destroy(px->alerts);
	px->alerts = NULL;
	hp_metrics_window_destroy(px->window);
	px->window = NULL;
	pthread_cond_destroy(&px->sampler_cond);
	pthread_mutex_destroy(&px->sampler_lock);
	free(px->shards);
	px->shards = NULL;
}

/* ==== /status ==== */

/* Rounded so the JSON stays readable: durations to the microsecond,
 * ratios to 1e-6. */
static double round6(double v)
{
	return (double)(long long)(v * 1e6 + (v >= 0 ? 0.5 : -0.5)) / 1e6;
}

static json_t *figures_json(const struct hp_metrics_figures *f, bool cpu)
{
	json_t *o = json_pack("{s:f, s:I, s:f, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
			      "seconds", f->seconds, "requests", (json_int_t)f->requests,
			      "rps", round6(f->rps), "errors", (json_int_t)f->errors,
			      "error_rate", round6(f->error_rate), "hit_ratio",
			      round6(f->hit_ratio), "p50_ms", round6(f->p50_ms), "p95_ms",
			      round6(f->p95_ms), "p99_ms", round6(f->p99_ms), "hit_p95_ms",
			      round6(f->hit_p95_ms), "hit_p99_ms", round6(f->hit_p99_ms));
	HP_AN(o);
	if (cpu)
		json_object_set_new(o, "cpu_pct", json_real(round6(f->cpu_pct)));
	return o;
}

static json_t *windows_json(struct hp_metrics_window *w, const char *route, bool cpu)
{
	/* 1s: the last whole second, for live charts. */
	static const struct {
		const char *key;
		unsigned seconds;
	} spans[] = {{"1s", 1}, {"1m", 60}, {"5m", 300}};
	json_t *o = json_object();
	for (size_t i = 0; i < HP_ARRAY_SIZE(spans); i++) {
		struct hp_metrics_figures f;
		(void)hp_metrics_window_read(w, route, spans[i].seconds, &f);
		json_object_set_new(o, spans[i].key, figures_json(&f, cpu));
	}
	return o;
}

static json_t *routes_json(struct hp_proxy *px)
{
	const char *names[HP_METRICS_MAX_ROUTES];
	size_t n = hp_metrics_window_names(px->window, names, HP_ARRAY_SIZE(names));
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *r = windows_json(px->window, names[i], false);
		json_object_set_new(r, "name", json_string(names[i]));
		/* Totals since start, as the counters of /metrics. */
		uint64_t lim[HP_METRICS_NLIMIT];
		hp_metrics_route_limits(px->shards, px->nworkers, names[i], lim);
		json_object_set_new(r, "rate_limited",
				    json_pack("{s:I, s:I, s:I}", "rejected",
					      (json_int_t)lim[HP_METRICS_LIMIT_REJECTED], "delayed",
					      (json_int_t)lim[HP_METRICS_LIMIT_DELAYED], "concurrency",
					      (json_int_t)lim[HP_METRICS_LIMIT_CONCURRENCY]));
		json_array_append_new(a, r);
	}
	return a;
}

static json_t *upstreams_json(struct hp_proxy *px)
{
	json_t *a = json_array();
	HP_AZ(pthread_mutex_lock(&px->snap_lock));
	struct hp_snap *s = hp_snap_fetch(px->snap);
	HP_AZ(pthread_mutex_unlock(&px->snap_lock));
	for (size_t g = 0; g < s->ngroups; g++) {
		struct hp_upstream_group *grp = s->groups[g];
		json_t *servers = json_array();
		for (size_t i = 0; i < hp_upstream_group_size(grp); i++) {
			struct hp_upstream_server_stats st;
			hp_upstream_server_stats(grp, i, &st);
			json_array_append_new(
				servers,
				json_pack("{s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
					  "server", hp_upstream_group_server(grp, i)->name,
					  "in_service", !st.down, "circuit",
					  hp_upstream_circuit_name(st.circuit), "active",
					  (json_int_t)st.active, "idle", (json_int_t)st.idle,
					  "connect_failures", (json_int_t)st.connect_failures,
					  "timeouts", (json_int_t)st.timeouts, "ejections",
					  (json_int_t)st.ejections, "retries", (json_int_t)st.retries,
					  "circuit_opens", (json_int_t)st.circuit_opens));
		}
		json_array_append_new(a, json_pack("{s:s, s:I, s:o}", "group",
						   s->cfg->upstreams[g].name, "queued",
						   (json_int_t)hp_upstream_group_queued(grp),
						   "servers", servers));
	}
	hp_snap_release(s);
	return a;
}

static json_t *process_json(struct hp_proxy *px)
{
	struct hp_metrics_values v = {0};
	hp_metrics_read_process(&v);
	return json_pack("{s:f, s:f, s:f, s:I, s:f}", "start_time", v.process_start_time,
			 "cpu_seconds", round6(v.process_cpu), "resident_bytes",
			 v.process_resident_memory, "client_connections",
			 (json_int_t)atomic_load(&px->nclients), "open_fds", v.process_open_fds);
}

static json_t *cache_json(struct hp_proxy *px)
{
	struct hp_cache *cache = hp_proxy_cache(px);
	if (cache == NULL)
		return json_null();
	struct hp_cache_stats st;
	hp_cache_get_stats(cache, &st);
	return json_pack("{s:I, s:I, s:I}", "objects", (json_int_t)st.objects, "bytes",
			 (json_int_t)st.bytes, "max_bytes", (json_int_t)st.max_bytes);
}

/* "up" when every worker is connected (to every node of a cluster),
 * "down" when none is, else "partial"; null without l2. */
static json_t *l2_json(struct hp_proxy *px)
{
	if (px->l2 == NULL)
		return json_null();
	struct hp_l2_stats st;
	hp_l2_get_stats(px->l2, &st);
	const char *state = st.connected == 0 ? "down"
			    : st.connected >= st.workers * HP_MAX(st.nodes, 1u) ? "up" : "partial";
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "state", state,
			      "connected_workers", (json_int_t)st.connected, "workers",
			      (json_int_t)st.workers, "hits", (json_int_t)st.hits, "misses",
			      (json_int_t)st.misses, "errors", (json_int_t)st.errors, "timeouts",
			      (json_int_t)st.timeouts, "writes", (json_int_t)st.writes, "skipped",
			      (json_int_t)st.skipped);
	HP_AN(o);
	json_object_set_new(o, "bus", json_pack("{s:b, s:I, s:I, s:I}", "up", st.bus_up,
						"published", (json_int_t)st.bus_published,
						"received", (json_int_t)st.bus_received,
						"resyncs", (json_int_t)st.bus_resyncs));
	if (st.cluster)
		json_object_set_new(o, "cluster",
				    json_pack("{s:I, s:I, s:I}", "nodes", (json_int_t)st.nodes,
					      "redirects", (json_int_t)st.redirects,
					      "slot_refreshes", (json_int_t)st.slot_refreshes));
	return o;
}

void hp_proxy_status(struct hp_proxy *px, struct hp_buf *out)
{
	json_t *o = json_pack("{s:s, s:I}", "version", HOTPATH_VERSION, "generation",
			      (json_int_t)hp_proxy_generation(px));
	HP_AN(o);
	json_object_set_new(o, "total", windows_json(px->window, NULL, true));
	json_object_set_new(o, "routes", routes_json(px));
	json_object_set_new(o, "process", process_json(px));
	json_object_set_new(o, "cache", cache_json(px));
	json_object_set_new(o, "l2", l2_json(px));
	json_object_set_new(o, "upstreams", upstreams_json(px));
	json_object_set_new(o, "alerts", hp_alerts_json(px->alerts));
	char *text = json_dumps(o, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
	HP_AN(text);
	hp_buf_append_str(out, text);
	hp_buf_append_byte(out, '\n');
	free(text);
	json_decref(o);
}
