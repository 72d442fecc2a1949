/* SPDX-License-Identifier: MIT */
/*
 * worker.c - the proxy's life cycle and its worker threads.
 *
 * Every worker has its own listening socket per address (SO_REUSEPORT, so
 * the kernel spreads connections; listeners.c), its own loop and its own upstream
 * pools; workers share only the configuration snapshot, the upstream
 * groups and a connection counter. All sockets are bound in
 * hp_proxy_create(), on the calling thread, so a port in use is reported
 * before anything runs.
 *
 * Reload: hp_proxy_reload() builds a new snapshot on the calling thread
 * (DNS and file opening never block a worker), makes it current, and posts
 * to every worker, which adopts it between two events: new requests start
 * on it, requests in flight finish on theirs, and the worker's idle
 * keep-alive connections to servers that stay move to the new pools.
 *
 * Draining: each worker closes its listeners, closes connections that sit
 * idle between requests (after a short grace, see on_idle_grace), and lets
 * the others finish; a response finished while draining carries
 * "Connection: close". The worker stops when its last client is gone or
 * when drain_timeout fires, whichever is first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/listeners.h"
#include "proxy/accesslog.h"
#include "proxy/proxy_priv.h"

#define DRAIN_IDLE_GRACE_MS 1000 /* idle connections kept this long into a drain */

static void maybe_finish_drain(struct hp_worker *w)
{
	if (w->draining && w->nclients == 0)
		hp_loop_stop(w->loop);
}

/* ==== Accepting ==== */

/* ==== Draining ==== */

static void on_drain_timeout(struct hp_timer *t)
{
	struct hp_worker *w = HP_CONTAINER_OF(t, struct hp_worker, drain_timer);
	if (w->nclients > 0)
		hp_log_warn("worker %u: drain timeout, closing %zu connections", w->id,
			    w->nclients);
	hp_loop_stop(w->loop);
}

/*
 * Closing a keep-alive connection races with the client's next request:
 * if the request is on its way, the client sees the connection end with
 * no answer (a reset, when the request arrives before our close). So idle
 * connections get a grace period first: a client that comes back within it
 * is answered with "Connection: close" and leaves cleanly, which covers
 * every client with a steady request rate, load generators and upgrade
 * tests included. Those still idle after it are closed (nginx closes them
 * at once on a graceful stop).
 */
static void on_idle_grace(struct hp_timer *t)
{
	struct hp_worker *w = HP_CONTAINER_OF(t, struct hp_worker, idle_close_timer);
	struct hp_list *pos = w->clients.next;
	while (pos != &w->clients) {
		struct hp_client *c = HP_CONTAINER_OF(pos, struct hp_client, link);
		pos = pos->next;
		if (hp_client_is_idle(c))
			hp_client_close(c);
	}
	maybe_finish_drain(w);
}

static void start_drain(struct hp_post *p)
{
	struct hp_worker *w = HP_CONTAINER_OF(p, struct hp_worker, drain_post);
	HP_CHECK_OBJ(w, HP_WORKER_MAGIC);
	if (w->draining)
		return;
	w->draining = true;
	hp_listeners_close_worker(w->px->listeners, w);
	uint64_t drain_ms = w->ws->snap->cfg->limits.drain_timeout_ms;
	hp_timer_start(w->loop, &w->drain_timer, drain_ms, on_drain_timeout);
	hp_timer_start(w->loop, &w->idle_close_timer,
		       drain_ms < DRAIN_IDLE_GRACE_MS ? drain_ms : DRAIN_IDLE_GRACE_MS,
		       on_idle_grace);
	maybe_finish_drain(w);
}

void hp_proxy_drain(struct hp_proxy *px)
{
	atomic_store(&px->draining, true);
	for (unsigned i = 0; i < px->nworkers; i++)
		hp_loop_post_node(px->workers[i].loop, &px->workers[i].drain_post, start_drain);
}

static void stop_now(struct hp_post *p)
{
	struct hp_worker *w = HP_CONTAINER_OF(p, struct hp_worker, stop_post);
	hp_loop_stop(w->loop);
}

void hp_proxy_stop(struct hp_proxy *px)
{
	for (unsigned i = 0; i < px->nworkers; i++)
		hp_loop_post_node(px->workers[i].loop, &px->workers[i].stop_post, stop_now);
}

/* ==== Worker thread ==== */

static void close_all_clients(struct hp_worker *w)
{
	while (!hp_list_empty(&w->clients)) {
		struct hp_client *c = HP_LIST_FIRST(&w->clients, struct hp_client, link);
		hp_client_close(c);
	}
	hp_loop_flush(w->loop);
}

static void *worker_main(void *arg)
{
	struct hp_worker *w = arg;
	HP_CHECK_OBJ(w, HP_WORKER_MAGIC);
	int rc = hp_loop_run(w->loop);
	if (rc < 0)
		hp_log_error("worker %u: event loop failed: %s", w->id, strerror(-rc));
	close_all_clients(w);
	hp_accesslog_flush(w);
	return NULL;
}

/* Heads are parsed and consumed synchronously on the worker, so one array
 * of each serves every connection of it; it grows to the largest
 * max_header_fields any snapshot asked for. */
static void size_field_arrays(struct hp_worker *w, const struct hp_config *cfg)
{
	size_t n = cfg->limits.max_header_fields;
	if (n <= w->nfields)
		return;
	free(w->req_fields);
	free(w->resp_fields);
	w->req_fields = hp_xcalloc(n, sizeof(*w->req_fields));
	w->resp_fields = hp_xcalloc(n * 2, sizeof(*w->resp_fields));
	w->nfields = n;
}

static void worker_init(struct hp_proxy *px, struct hp_worker *w, unsigned id)
{
	w->magic = HP_WORKER_MAGIC;
	w->id = id;
	w->px = px;
	w->loop = hp_loop_create();
	hp_loop_set_data(w->loop, w);
	hp_list_init(&w->clients);
	w->metrics = hp_metrics_shard_create();
	w->compress = hp_compress_pool_create(16);
	w->ws = hp_wsnap_create(px->snap, w->loop, NULL, w->metrics);
	size_field_arrays(w, px->snap->cfg);
	/* Before the thread starts: the loop is not running yet. */
	if (px->l2 != NULL)
		w->l2 = hp_l2_client_create(px->l2, w->loop);
}

static void worker_fini(struct hp_worker *w)
{
	if (w->loop == NULL)
		return;
	hp_timer_stop(w->loop, &w->drain_timer);
	hp_timer_stop(w->loop, &w->idle_close_timer);
	hp_timer_stop(w->loop, &w->log_timer);
	hp_loop_flush(w->loop);
	/* Every client is gone, so the pools hold no connection in use. */
	hp_wsnap_release(w->ws);
	w->ws = NULL;
	hp_loop_flush(w->loop);
	hp_txn_free_spares(w);
	hp_l2_client_destroy(w->l2);
	w->l2 = NULL;
	hp_loop_flush(w->loop);
	hp_compress_pool_destroy(w->compress);
	w->compress = NULL;
	hp_loop_destroy(w->loop);
	hp_buf_fini(&w->logbuf);
	free(w->req_fields);
	free(w->resp_fields);
	/* Only now: the admin may scrape until the proxy is destroyed. */
	hp_metrics_shard_destroy(w->metrics);
	w->metrics = NULL;
	w->loop = NULL;
}

/* On the worker: start new requests on the proxy's current snapshot. */
static void adopt_snapshot(struct hp_post *p)
{
	struct hp_worker *w = HP_CONTAINER_OF(p, struct hp_worker, adopt_post);
	HP_CHECK_OBJ(w, HP_WORKER_MAGIC);
	struct hp_proxy *px = w->px;
	HP_AZ(pthread_mutex_lock(&px->snap_lock));
	struct hp_snap *s = hp_snap_fetch(px->snap);
	HP_AZ(pthread_mutex_unlock(&px->snap_lock));
	if (s != w->ws->snap) {
		/* Lines buffered so far go to the log they were written for. */
		hp_accesslog_flush(w);
		struct hp_wsnap *old = w->ws;
		w->ws = hp_wsnap_create(s, w->loop, old, w->metrics);
		hp_wsnap_release(old);
		size_field_arrays(w, s->cfg);
		hp_log_debug("worker %u: configuration %llu in use", w->id,
			     (unsigned long long)s->generation);
	}
	hp_snap_release(s);
}

/* ==== Proxy ==== */

static unsigned worker_count(const struct hp_config *cfg)
{
	if (cfg->workers > 0)
		return cfg->workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* The cache is created with the first snapshot that enables it and lives
 * as long as the proxy; later snapshots resize it. */
static struct hp_cache *cache_for(struct hp_proxy *px, const struct hp_config *cfg)
{
	struct hp_cache *cache = atomic_load(&px->cache);
	if (!cfg->cache.enabled)
		return cache;
	if (cache != NULL) {
		hp_cache_set_max_memory(cache, cfg->cache.max_memory);
		return cache;
	}
	struct hp_cache_conf cc = {
		.max_memory = cfg->cache.max_memory,
		.max_object_size = cfg->cache.max_object_size,
		.hit_for_pass_s = cfg->cache.hit_for_pass_ms / 1000,
		.tag_header = cfg->cache.tag_header,
	};
	cache = hp_cache_create(&cc);
	atomic_store(&px->cache, cache);
	return cache;
}

/* One l2.redis address resolved to a numeric ip and port. */
static bool l2_resolve(const char *addr, char *ip, size_t iplen, int *port, char *err,
		       size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char why[256];
	if (hp_net_resolve(addr, &ss, &len, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "l2.redis: %s: %s", addr, why);
		return false;
	}
	hp_net_format_ip((const struct sockaddr *)&ss, ip, iplen);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return true;
}

/* The Redis tier of the start-up config, its addresses resolved here (a
 * worker never resolves). NULL without l2.redis; false on failure. */
static bool l2_create(struct hp_proxy *px, const struct hp_config *cfg, char *err,
		      size_t errlen)
{
	size_t n = cfg->l2.nredis;
	if (n == 0)
		return true;
	char (*ips)[INET6_ADDRSTRLEN] = hp_xcalloc(n, sizeof(*ips));
	struct hp_l2_addr *seeds = hp_xcalloc(n, sizeof(*seeds));
	bool ok = true;
	for (size_t i = 0; ok && i < n; i++) {
		ok = l2_resolve(cfg->l2.redis[i], ips[i], sizeof(ips[i]), &seeds[i].port, err,
				errlen);
		seeds[i].ip = ips[i];
	}
	if (ok) {
		struct hp_l2_conf conf = {
			.ip = seeds[0].ip,
			.port = seeds[0].port,
			.cluster = cfg->l2.cluster,
			.seeds = seeds,
			.nseeds = n,
			.timeout_ms = cfg->l2.timeout_ms,
			.prefix = cfg->l2.prefix,
		};
		px->l2 = hp_l2_create(&conf);
		hp_log_info("l2: Redis %s%s:%d%s, objects up to %llu bytes for at most %llu s",
			    cfg->l2.cluster ? "Cluster, seed " : "at ", seeds[0].ip, seeds[0].port,
			    n > 1 ? " and more" : "",
			    (unsigned long long)cfg->l2.max_object_size,
			    (unsigned long long)(cfg->l2.max_ttl_ms / 1000));
	}
	free(seeds);
	free(ips);
	return ok;
}

struct hp_proxy *hp_proxy_create(const struct hp_config *cfg, char *err, size_t errlen)
{
	struct hp_proxy *px = hp_xcalloc(1, sizeof(*px));
	px->boot = cfg;
	atomic_init(&px->nclients, 0);
	atomic_init(&px->draining, false);
	atomic_init(&px->cache, NULL);
	atomic_init(&px->startup_us, 0);
	atomic_init(&px->reload_failures, 0);
	atomic_init(&px->last_reload_ok, true);
	HP_AZ(pthread_mutex_init(&px->snap_lock, NULL));
	HP_AZ(pthread_mutex_init(&px->reload_lock, NULL));
	px->generation = 1;
	/* Counts only keys with connections open, which never outnumber
	 * max_connections: twice that leaves every shard room. Its pages are
	 * touched only as clients come. */
	size_t conn_keys = 2 * (size_t)cfg->limits.max_connections;
	px->client_conns = hp_ratelimit_create(1, 0, conn_keys < 1024 ? 1024
						: conn_keys > 4000000 ? 4000000 : conn_keys);
	/* The start-up config stays the command line's: borrowed. */
	px->snap = hp_snap_create((struct hp_config *)cfg, false, cache_for(px, cfg), NULL,
				  px->generation, err, errlen);
	if (px->snap == NULL)
		goto fail;
	if (!l2_create(px, cfg, err, errlen))
		goto fail;
	px->nworkers = worker_count(cfg);
	px->workers = hp_xcalloc(px->nworkers, sizeof(*px->workers));
	for (unsigned i = 0; i < px->nworkers; i++)
		worker_init(px, &px->workers[i], i);
	hp_bus_create(px);
	hp_observe_init(px);
	px->listeners = hp_listeners_create(px, err, errlen);
	if (px->listeners == NULL)
		goto fail;
	return px;
fail:
	hp_proxy_destroy(px);
	return NULL;
}

/* ==== Cache warm-up ==== */

/* "/path" is asked of the first listen address's host; "http://host/path"
 * names its own host. */
static size_t warm_request(const struct hp_config *cfg, const char *url, char *out, size_t n)
{
	const char *host = cfg->listen[0];
	size_t hostlen = strlen(host);
	const char *path = url;
	if (strncmp(url, "http://", 7) == 0) {
		host = url + 7;
		const char *slash = strchr(host, '/');
		hostlen = slash ? (size_t)(slash - host) : strlen(host);
		path = slash ? slash : "/";
	}
	int k = snprintf(out, n, "GET %s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: hotpath-warm\r\n"
			 "Connection: close\r\n\r\n", path, (int)hostlen, host);
	return k > 0 && (size_t)k < n ? (size_t)k : 0;
}

static void warm_next(struct hp_worker *w);

/* A warm-up connection closed: count it, start the next. */
static void warm_done(struct hp_client *c)
{
	struct hp_worker *w = c->w;
	w->warm_active--;
	if (c->last_status < 200 || c->last_status >= 300)
		w->warm_failed++;
	warm_next(w);
}

static void warm_next(struct hp_worker *w)
{
	const struct hp_config *cfg = w->ws->snap->cfg;
	uint32_t limit = cfg->cache.warm_concurrency ? cfg->cache.warm_concurrency : 1;
	while (w->warm_active < limit && w->warm_next < cfg->cache.nwarm && !w->draining) {
		char req[2048];
		const char *url = cfg->cache.warm[w->warm_next++];
		size_t len = warm_request(cfg, url, req, sizeof(req));
		if (len == 0) {
			hp_log_warn("cache warm-up: skipping %s: too long", url);
			continue;
		}
		w->warm_active++;
		hp_client_spawn_internal(w, req, len, false, hp_pipeline_run, warm_done)->warm = true;
	}
	if (w->warm_active == 0 && w->warm_next == cfg->cache.nwarm && cfg->cache.nwarm > 0 &&
	    !w->warm_logged) {
		w->warm_logged = true;
		hp_log_info("cache warm-up: %zu URLs fetched, %u failed", cfg->cache.nwarm,
			    w->warm_failed);
	}
}

static void start_warm(struct hp_post *p)
{
	warm_next(HP_CONTAINER_OF(p, struct hp_worker, warm_post));
}

int hp_proxy_start(struct hp_proxy *px)
{
	if (px->snap->cache != NULL && px->snap->cfg->cache.nwarm > 0)
		hp_loop_post_node(px->workers[0].loop, &px->workers[0].warm_post, start_warm);
	for (unsigned i = 0; i < px->nworkers; i++) {
		int rc = pthread_create(&px->workers[i].thread, NULL, worker_main, &px->workers[i]);
		if (rc != 0)
			return -rc;
	}
	int orc = hp_observe_start(px);
	if (orc < 0)
		return orc;
	/* From exec, so config loading and address resolution count too. */
	double start = hp_metrics_process_start_time();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if (start > 0 && now > start)
		atomic_store(&px->startup_us, (uint64_t)((now - start) * 1e6));
	return 0;
}

void hp_proxy_note_reload(struct hp_proxy *px, bool ok)
{
	if (!ok)
		atomic_fetch_add(&px->reload_failures, 1);
	atomic_store(&px->last_reload_ok, ok);
}

void hp_proxy_wait(struct hp_proxy *px)
{
	for (unsigned i = 0; i < px->nworkers; i++)
		pthread_join(px->workers[i].thread, NULL);
}

void hp_proxy_destroy(struct hp_proxy *px)
{
	if (px == NULL)
		return;
	/* Before the loops go: a socket is unregistered from its loop's epoll. */
	hp_listeners_destroy(px->listeners);
	/* The sampler reads the shards that worker_fini frees. */
	hp_observe_fini(px);
	/* Its subscriber is on worker 0's loop. */
	hp_bus_destroy(px);
	for (unsigned i = 0; px->workers != NULL && i < px->nworkers; i++)
		worker_fini(&px->workers[i]);
	free(px->workers);
	hp_l2_destroy(px->l2);
	hp_snap_release(px->snap);
	hp_ratelimit_release(px->client_conns);
	struct hp_cache *cache = atomic_load(&px->cache);
	if (cache != NULL)
		hp_cache_destroy(cache);
	pthread_mutex_destroy(&px->snap_lock);
	pthread_mutex_destroy(&px->reload_lock);
	free(px);
}

/* ==== For the admin listener ==== */

bool hp_proxy_draining(const struct hp_proxy *px)
{
	return atomic_load(&px->draining);
}

bool hp_proxy_cache_key(const struct hp_proxy *cpx, struct hp_str host, struct hp_str path,
			struct hp_str query, struct hp_buf *out, uint64_t *hash)
{
	struct hp_snap *s = hp_proxy_current_snap((struct hp_proxy *)cpx);
	const struct hp_route *route = hp_snap_match(s, host, path);
	bool ok = s->cache != NULL && route != NULL && route->cache.enabled;
	if (ok)
		*hash = hp_cache_key_build(out, &route->cache.key, host, path, query, NULL, 0);
	hp_snap_release(s);
	return ok;
}

bool hp_proxy_group_unavailable(const struct hp_proxy *cpx, char *name, size_t len)
{
	struct hp_snap *s = hp_proxy_current_snap((struct hp_proxy *)cpx);
	bool found = false;
	for (size_t i = 0; i < s->nroutes && !found; i++) {
		const struct hp_upstream_group *g = s->groups[s->routes[i].group];
		if (!hp_upstream_group_available(g)) {
			snprintf(name, len, "%s", hp_upstream_group_conf(g)->name);
			found = true;
		}
	}
	hp_snap_release(s);
	return found;
}

double hp_proxy_upstream_servers_out(struct hp_proxy *px)
{
	struct hp_snap *s = hp_proxy_current_snap(px);
	uint64_t now = hp_clock_mono_ns();
	double out = 0;
	for (size_t i = 0; i < s->ngroups; i++) {
		struct hp_upstream_group *g = s->groups[i];
		for (size_t j = 0; j < hp_upstream_group_size(g); j++)
			out += hp_upstream_server_down(hp_upstream_group_server(g, j), now);
	}
	hp_snap_release(s);
	return out;
}

/* ==== Reload ==== */

static bool same_strings(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static const struct hp_config_upstream *upstream_named(const struct hp_config *cfg,
							const char *name)
{
	for (size_t i = 0; i < cfg->nupstreams; i++)
		if (strcmp(cfg->upstreams[i].name, name) == 0)
			return &cfg->upstreams[i];
	return NULL;
}

static bool same_servers(const struct hp_config_upstream *a, const struct hp_config_upstream *b)
{
	if (a->nservers != b->nservers)
		return false;
	for (size_t i = 0; i < a->nservers; i++)
		if (strcmp(a->servers[i].url, b->servers[i].url) != 0 ||
		    a->servers[i].weight != b->servers[i].weight)
			return false;
	return true;
}

/* One log line per kind of change, so an operator sees what a reload did. */
static void log_changes(const struct hp_config *old, const struct hp_config *cfg,
			uint64_t generation)
{
	for (size_t i = 0; i < cfg->nupstreams; i++) {
		const struct hp_config_upstream *u = &cfg->upstreams[i];
		const struct hp_config_upstream *was = upstream_named(old, u->name);
		if (was == NULL)
			hp_log_info("reload: upstream %s added (%zu servers)", u->name, u->nservers);
		else if (!same_servers(was, u))
			hp_log_info("reload: upstream %s: servers changed (%zu -> %zu)", u->name,
				    was->nservers, u->nservers);
	}
	for (size_t i = 0; i < old->nupstreams; i++)
		if (upstream_named(cfg, old->upstreams[i].name) == NULL)
			hp_log_info("reload: upstream %s removed; its idle connections close",
				    old->upstreams[i].name);
	if (old->nroutes != cfg->nroutes)
		hp_log_info("reload: %zu routes (were %zu)", cfg->nroutes, old->nroutes);
	if (old->cache.enabled != cfg->cache.enabled)
		hp_log_info("reload: cache %s", cfg->cache.enabled ? "on" : "off");
	else if (old->cache.max_memory != cfg->cache.max_memory)
		hp_log_info("reload: cache.max_memory %llu -> %llu bytes",
			    (unsigned long long)old->cache.max_memory,
			    (unsigned long long)cfg->cache.max_memory);
	if ((old->access_log.path == NULL) != (cfg->access_log.path == NULL) ||
	    (cfg->access_log.path != NULL && strcmp(old->access_log.path, cfg->access_log.path)))
		hp_log_info("reload: access log %s", cfg->access_log.path ? cfg->access_log.path
									   : "off");
	hp_log_info("reload: configuration %llu in use", (unsigned long long)generation);
}

/* What only a restart (or an upgrade) applies: warn, keep serving. */
static void warn_restart_only(const struct hp_proxy *px, const struct hp_config *cfg)
{
	const struct hp_config *boot = px->boot;
	if (cfg->workers != boot->workers)
		hp_log_warn("reload: workers changes apply after a restart or an upgrade");
	if (!same_strings(boot->admin.listen, boot->admin.nlisten, cfg->admin.listen,
			  cfg->admin.nlisten))
		hp_log_warn("reload: admin.listen changes apply after a restart");
	if (cfg->cache.max_object_size != boot->cache.max_object_size)
		hp_log_warn("reload: cache.max_object_size changes apply after a restart");
	if (!same_strings(boot->l2.redis, boot->l2.nredis, cfg->l2.redis, cfg->l2.nredis) ||
	    cfg->l2.cluster != boot->l2.cluster || cfg->l2.timeout_ms != boot->l2.timeout_ms ||
	    strcmp(cfg->l2.prefix, boot->l2.prefix))
		hp_log_warn("reload: l2.redis, l2.cluster, l2.timeout and l2.prefix changes apply "
			    "after a restart");
}

int hp_proxy_reload(struct hp_proxy *px, struct hp_config *cfg, char *err, size_t errlen)
{
	HP_AZ(pthread_mutex_lock(&px->reload_lock));
	struct hp_snap *old = hp_proxy_current_snap(px);
	warn_restart_only(px, cfg);
	struct hp_snap *s = hp_snap_create(cfg, true, cache_for(px, cfg), old, px->generation + 1,
					   err, errlen);
	if (s == NULL) {
		hp_snap_release(old);
		HP_AZ(pthread_mutex_unlock(&px->reload_lock));
		return -1;
	}
	/* Last: the listeners cannot be put back once changed. */
	if (hp_listeners_update(px, s->cfg, err, errlen) < 0) {
		hp_snap_release(s);
		hp_snap_release(old);
		HP_AZ(pthread_mutex_unlock(&px->reload_lock));
		return -1;
	}
	px->generation++;
	log_changes(old->cfg, s->cfg, s->generation);
	hp_snap_release(old);
	HP_AZ(pthread_mutex_lock(&px->snap_lock));
	old = px->snap;
	px->snap = s;
	HP_AZ(pthread_mutex_unlock(&px->snap_lock));
	hp_snap_release(old);
	for (unsigned i = 0; i < px->nworkers; i++)
		hp_loop_post_node(px->workers[i].loop, &px->workers[i].adopt_post, adopt_snapshot);
	HP_AZ(pthread_mutex_unlock(&px->reload_lock));
	return 0;
}

void hp_proxy_reopen_logs(struct hp_proxy *px)
{
	struct hp_snap *s = hp_proxy_current_snap(px);
	if (s->alog != NULL) {
		int rc = hp_accesslog_reopen(s->alog);
		if (rc < 0)
			hp_log_error("access_log: cannot open %s again: %s",
				     s->cfg->access_log.path, strerror(-rc));
	}
	hp_snap_release(s);
}

