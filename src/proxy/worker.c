/* SPDX-License-Identifier: MIT */
/*
 * worker.c - the proxy's life cycle and its worker threads.
 *
 * Every worker has its own listening socket per address (SO_REUSEPORT, so
 * the kernel spreads connections; listeners.c), its own loop and its own
 * upstream pools; workers share only the configuration, the upstream groups
 * and a connection counter. All sockets are bound in hp_proxy_create(), on
 * the calling thread, so a port in use is reported before anything runs.
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
#include <unistd.h>

#include "core/log.h"
#include "proxy/listeners.h"
#include "proxy/proxy_priv.h"

#define DRAIN_IDLE_GRACE_MS 1000 /* idle connections kept this long into a drain */

static const char too_many[] =
	"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
	"Content-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n";

void hp_worker_date(struct hp_worker *w, char *out)
{
	time_t now = hp_clock_wall_s();
	if (now != w->date_s) {
		w->date_s = now;
		hp_http_date_format(now, w->date);
	}
	memcpy(out, w->date, HP_HTTP_DATE_LEN + 1);
}

static void maybe_finish_drain(struct hp_worker *w)
{
	if (w->draining && w->nclients == 0)
		hp_loop_stop(w->loop);
}

void hp_worker_client_gone(struct hp_worker *w, struct hp_client *c)
{
	hp_list_unlink(&c->link);
	w->nclients--;
	atomic_fetch_sub(&w->px->nclients, 1);
	maybe_finish_drain(w);
}

/* ==== Accepting ==== */

static void refuse(int fd)
{
	(void)!write(fd, too_many, sizeof(too_many) - 1);
	close(fd);
}

void hp_worker_accept(struct hp_worker *w, int lfd)
{
	HP_CHECK_OBJ(w, HP_WORKER_MAGIC);
	uint32_t max = w->px->cfg->limits.max_connections;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len;
		int fd = hp_net_accept(lfd, &peer, &len);
		if (fd < 0) {
			if (fd != -EAGAIN)
				hp_log_warn("accept: %s", strerror(-fd));
			return;
		}
		if (max != 0 && atomic_fetch_add(&w->px->nclients, 1) >= max) {
			atomic_fetch_sub(&w->px->nclients, 1);
			refuse(fd);
			continue;
		}
		if (max == 0)
			atomic_fetch_add(&w->px->nclients, 1);
		w->nclients++;
		hp_client_accept(w, fd, &peer);
	}
}

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

static void start_drain(void *arg)
{
	struct hp_worker *w = arg;
	HP_CHECK_OBJ(w, HP_WORKER_MAGIC);
	if (w->draining)
		return;
	w->draining = true;
	hp_listeners_close_worker(w->px->listeners, w);
	uint64_t drain_ms = w->px->cfg->limits.drain_timeout_ms;
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
		hp_loop_post(px->workers[i].loop, start_drain, &px->workers[i]);
}

static void stop_now(void *arg)
{
	struct hp_worker *w = arg;
	hp_loop_stop(w->loop);
}

void hp_proxy_stop(struct hp_proxy *px)
{
	for (unsigned i = 0; i < px->nworkers; i++)
		hp_loop_post(px->workers[i].loop, stop_now, &px->workers[i]);
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

static void worker_init(struct hp_proxy *px, struct hp_worker *w, unsigned id)
{
	const struct hp_config *cfg = px->cfg;
	w->magic = HP_WORKER_MAGIC;
	w->id = id;
	w->px = px;
	w->loop = hp_loop_create();
	hp_loop_set_data(w->loop, w);
	hp_list_init(&w->clients);
	w->pools = hp_xcalloc(cfg->nupstreams, sizeof(*w->pools));
	/* Heads are parsed and consumed synchronously on the worker, so one
	 * array of each serves every connection of it. */
	w->req_fields = hp_xcalloc(cfg->limits.max_header_fields, sizeof(*w->req_fields));
	w->resp_fields = hp_xcalloc(cfg->limits.max_header_fields * 2, sizeof(*w->resp_fields));
	for (size_t i = 0; i < cfg->nupstreams; i++)
		w->pools[i] = hp_upstream_pool_create(w->loop, px->groups[i]);
}

static void worker_fini(struct hp_worker *w)
{
	if (w->loop == NULL)
		return;
	for (size_t i = 0; i < w->px->cfg->nupstreams; i++)
		hp_upstream_pool_destroy(w->pools[i]);
	hp_timer_stop(w->loop, &w->drain_timer);
	hp_timer_stop(w->loop, &w->idle_close_timer);
	hp_timer_stop(w->loop, &w->log_timer);
	hp_loop_flush(w->loop);
	hp_loop_destroy(w->loop);
	hp_buf_fini(&w->logbuf);
	free(w->pools);
	free(w->req_fields);
	free(w->resp_fields);
	w->loop = NULL;
}

/* ==== Proxy ==== */

static unsigned worker_count(const struct hp_config *cfg)
{
	if (cfg->workers > 0)
		return cfg->workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

struct hp_proxy *hp_proxy_create(const struct hp_config *cfg, char *err, size_t errlen)
{
	struct hp_proxy *px = hp_xcalloc(1, sizeof(*px));
	px->cfg = cfg;
	atomic_init(&px->nclients, 0);
	atomic_init(&px->draining, false);
	px->groups = hp_xcalloc(cfg->nupstreams, sizeof(*px->groups));
	for (size_t i = 0; i < cfg->nupstreams; i++) {
		px->groups[i] = hp_upstream_group_create(&cfg->upstreams[i], err, errlen);
		if (px->groups[i] == NULL)
			goto fail;
	}
	if (cfg->cache.enabled) {
		struct hp_cache_conf cc = {
			.max_memory = cfg->cache.max_memory,
			.max_object_size = cfg->cache.max_object_size,
			.hit_for_pass_s = cfg->cache.hit_for_pass_ms / 1000,
			.tag_header = cfg->cache.tag_header,
		};
		px->cache = hp_cache_create(&cc);
	}
	hp_cached_init_routes(px);
	if (cfg->access_log.path != NULL) {
		px->alog = hp_accesslog_open(&cfg->access_log, err, errlen);
		if (px->alog == NULL)
			goto fail;
	}
	px->nworkers = worker_count(cfg);
	px->workers = hp_xcalloc(px->nworkers, sizeof(*px->workers));
	for (unsigned i = 0; i < px->nworkers; i++)
		worker_init(px, &px->workers[i], i);
	px->listeners = hp_listeners_create(px, err, errlen);
	if (px->listeners == NULL)
		goto fail;
	return px;
fail:
	hp_proxy_destroy(px);
	return NULL;
}

/* XXX: a placeholder until configuration snapshots land (issue 9): the
 * configuration is still borrowed by every request, so it cannot be
 * replaced. It refuses honestly, and the reload tests stay red until then. */
int hp_proxy_reload(struct hp_proxy *px, struct hp_config *cfg, char *err, size_t errlen)
{
	(void)px;
	hp_config_destroy(cfg);
	snprintf(err, errlen, "reload not yet available");
	return -1;
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

void hp_worker_warm_next(struct hp_worker *w)
{
	const struct hp_config *cfg = w->px->cfg;
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
		hp_client_spawn_internal(w, req, len, false)->warm = true;
	}
	if (w->warm_active == 0 && w->warm_next == cfg->cache.nwarm && cfg->cache.nwarm > 0 &&
	    !w->warm_logged) {
		w->warm_logged = true;
		hp_log_info("cache warm-up: %zu URLs fetched, %u failed", cfg->cache.nwarm,
			    w->warm_failed);
	}
}

static void start_warm(void *arg)
{
	hp_worker_warm_next(arg);
}

int hp_proxy_start(struct hp_proxy *px)
{
	if (px->cache != NULL && px->cfg->cache.nwarm > 0)
		hp_loop_post(px->workers[0].loop, start_warm, &px->workers[0]);
	for (unsigned i = 0; i < px->nworkers; i++) {
		int rc = pthread_create(&px->workers[i].thread, NULL, worker_main, &px->workers[i]);
		if (rc != 0)
			return -rc;
	}
	return 0;
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
	for (unsigned i = 0; px->workers != NULL && i < px->nworkers; i++)
		worker_fini(&px->workers[i]);
	free(px->workers);
	for (size_t i = 0; px->groups != NULL && i < px->cfg->nupstreams; i++)
		hp_upstream_group_destroy(px->groups[i]);
	free(px->groups);
	hp_accesslog_close(px->alog);
	if (px->cache != NULL)
		hp_cache_destroy(px->cache);
	free(px->route_cache);
	free(px);
}

/* ==== For the admin listener ==== */

bool hp_proxy_draining(const struct hp_proxy *px)
{
	return atomic_load(&px->draining);
}

struct hp_cache *hp_proxy_cache(const struct hp_proxy *px)
{
	return px->cache;
}

bool hp_proxy_cache_key(const struct hp_proxy *px, struct hp_str host, struct hp_str path,
			struct hp_str query, struct hp_buf *out, uint64_t *hash)
{
	const struct hp_config_route *route = hp_config_match_route(px->cfg, host, path);
	if (px->cache == NULL || route == NULL)
		return false;
	const struct hp_route_cache *rc = &px->route_cache[route - px->cfg->routes];
	if (!rc->enabled)
		return false;
	*hash = hp_cache_key_build(out, &rc->key, host, path, query, NULL, 0);
	return true;
}
