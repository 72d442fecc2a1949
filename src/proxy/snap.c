/* SPDX-License-Identifier: MIT */
/*
 * snap.c - building, sharing and retiring configuration snapshots, and the
 * route table: routing lives here, in the proxy, not in the config loader,
 * so a reload compiles new routes beside the old ones and swaps them whole;
 * and the proxy's current snapshot, as every thread reads it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "proxy/accesslog.h"
#include "proxy/proxy_priv.h"
#include "proxy/snap.h"
#include "ratelimit/ratelimit.h"
#include "upstream/upstream.h"

/* ==== Routes ==== */

static void compile_route_cache(struct hp_route_cache *rc, const struct hp_config *cfg,
				const struct hp_config_cache_policy *p, bool have_cache)
{
	rc->enabled = have_cache && p->enabled;
	rc->policy.default_ttl_s = (int64_t)(p->default_ttl_ms / 1000);
	rc->policy.grace_s = (int64_t)(p->grace_ms / 1000);
	rc->policy.allow_set_cookie = p->allow_set_cookie;
	rc->policy.strip_tag_header = cfg->cache.strip_tag_header;
	rc->policy.targeted = (const char *const *)cfg->cache.targeted_fields;
	rc->policy.ntargeted = cfg->cache.ntargeted_fields;
	rc->policy.strip_targeted = cfg->cache.strip_targeted_fields;
	rc->key.namespace = cfg->cache.namespace;
	rc->key.query_ignore = p->key_query_ignore;
	rc->key.query_include = (const char *const *)p->key_query_include;
	rc->key.nquery_include = p->nkey_query_include;
	rc->key.query_exclude = (const char *const *)p->key_query_exclude;
	rc->key.nquery_exclude = p->nkey_query_exclude;
	rc->key.headers = (const char *const *)p->key_headers;
	rc->key.nheaders = p->nkey_headers;
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/* The settings a key table's contents depend on: the policy's name, its
 * rate and burst (the meaning of a stored TAT), what a key is made of
 * (key, ipv6_prefix) and the table's size. mode and allow may change and
 * the counts still mean the same. */
static bool same_limit_table(const struct hp_config_rate_limit *a,
			     const struct hp_config_rate_limit *b)
{
	return same_str(a->name, b->name) && a->interval_ns == b->interval_ns &&
	       a->burst == b->burst && a->key_kind == b->key_kind &&
	       same_str(a->key_name, b->key_name) && a->ipv6_prefix == b->ipv6_prefix &&
	       a->max_keys == b->max_keys;
}

/* The key table of <prev>'s route of the same name whose limit has the same
 * policy as <cr>'s, with a reference for the caller; NULL if none. Each old
 * table goes to one new route at most (<taken>, one flag per old route), so
 * two routes never come to share one. */
static struct hp_ratelimit *carry_limiter(const struct hp_snap *prev, bool *taken,
					  const char *name, const struct hp_config_rate_limit *rl)
{
	for (size_t j = 0; prev != NULL && j < prev->nroutes; j++) {
		const struct hp_route *o = &prev->routes[j];
		if (taken[j] || o->limiter == NULL || strcmp(o->name, name) != 0 ||
		    !same_limit_table(o->limit, rl))
			continue;
		taken[j] = true;
		return hp_ratelimit_fetch(o->limiter);
	}
	return NULL;
}

static void compile_routes(struct hp_snap *s, bool have_cache, const struct hp_snap *prev)
{
	bool *taken = hp_xcalloc(prev != NULL && prev->nroutes ? prev->nroutes : 1, 1);
	const struct hp_config *cfg = s->cfg;
	s->nroutes = cfg->nroutes;
	s->routes = hp_xcalloc(cfg->nroutes ? cfg->nroutes : 1, sizeof(*s->routes));
	for (size_t i = 0; i < cfg->nroutes; i++) {
		const struct hp_config_route *cr = &cfg->routes[i];
		struct hp_route *r = &s->routes[i];
		r->name = cr->name != NULL ? cr->name : cr->path_prefix;
		r->host = cr->host;
		r->path_prefix = cr->path_prefix;
		r->prefix_len = strlen(cr->path_prefix);
		r->group = cr->upstream_index;
		compile_route_cache(&r->cache, cfg, &cr->cache, have_cache);
		if (cr->rate_limit.interval_ns == 0 && cr->rate_limit.concurrency == 0)
			continue;
		/* A reload keeps the counts of an unchanged policy: a client
		 * over its limit must not get a fresh burst by a reload. */
		r->limit = &cr->rate_limit;
		r->limiter = carry_limiter(prev, taken, r->name, r->limit);
		if (r->limiter == NULL)
			r->limiter = hp_ratelimit_create(cr->rate_limit.interval_ns
								 ? cr->rate_limit.interval_ns : 1,
							 cr->rate_limit.burst,
							 cr->rate_limit.max_keys);
		else
			hp_log_debug("reload: route %s keeps its rate-limit keys", r->name);
	}
	free(taken);
}

/* "example.com:8080" -> "example.com"; a bracketed IPv6 keeps its brackets. */
static struct hp_str host_without_port(struct hp_str host)
{
	for (size_t i = host.len; i > 0; i--) {
		char ch = host.ptr[i - 1];
		if (ch == ':')
			return (struct hp_str){host.ptr, i - 1};
		if (ch < '0' || ch > '9')
			break;
	}
	return host;
}

const struct hp_route *hp_snap_match(const struct hp_snap *s, struct hp_str host,
				     struct hp_str path)
{
	host = host_without_port(host);
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct hp_route *r = &s->routes[i];
		if (r->host != NULL && !hp_str_ieq(host, r->host))
			continue;
		if (path.len >= r->prefix_len && memcmp(path.ptr, r->path_prefix, r->prefix_len) == 0)
			return r;
	}
	return NULL;
}

/* ==== Snapshots ==== */

static void snap_free(struct hp_snap *s)
{
	for (size_t i = 0; s->groups != NULL && i < s->ngroups; i++)
		hp_upstream_group_destroy(s->groups[i]);
	free(s->groups);
	for (size_t i = 0; s->routes != NULL && i < s->nroutes; i++)
		hp_ratelimit_release(s->routes[i].limiter);
	free(s->routes);
	hp_accesslog_close(s->alog);
	if (s->owns_cfg)
		hp_config_destroy(s->cfg);
	free(s);
}

struct hp_snap *hp_snap_create(struct hp_config *cfg, bool take_cfg, struct hp_cache *cache,
			       const struct hp_snap *prev, uint64_t generation, char *err,
			       size_t errlen)
{
	struct hp_snap *s = hp_xcalloc(1, sizeof(*s));
	atomic_init(&s->_refs, 1);
	s->generation = generation;
	s->cfg = cfg;
	s->owns_cfg = take_cfg;
	s->cache = cfg->cache.enabled ? cache : NULL;
	s->ngroups = cfg->nupstreams;
	s->groups = hp_xcalloc(s->ngroups, sizeof(*s->groups));
	for (size_t i = 0; i < s->ngroups; i++) {
		s->groups[i] = hp_upstream_group_create(&cfg->upstreams[i], err, errlen);
		if (s->groups[i] == NULL)
			goto fail;
	}
	compile_routes(s, s->cache != NULL, prev);
	/* Read here, off the workers: a reload picks up a new token. */
	if (hp_config_admin_token(&cfg->admin, s->admin_token, sizeof(s->admin_token), err,
				  errlen) < 0)
		goto fail;
	if (cfg->access_log.path != NULL) {
		s->alog = hp_accesslog_open(&cfg->access_log, err, errlen);
		if (s->alog == NULL)
			goto fail;
	}
	return s;
fail:
	snap_free(s);
	return NULL;
}

struct hp_snap *hp_snap_fetch(struct hp_snap *s)
{
	atomic_fetch_add_explicit(&s->_refs, 1, memory_order_relaxed);
	return s;
}

void hp_snap_release(struct hp_snap *s)
{
	if (s == NULL)
		return;
	if (atomic_fetch_sub_explicit(&s->_refs, 1, memory_order_acq_rel) == 1)
		snap_free(s);
}

/* ==== The proxy's current snapshot ==== */

struct hp_snap *hp_proxy_current_snap(struct hp_proxy *px)
{
	HP_AZ(pthread_mutex_lock(&px->snap_lock));
	struct hp_snap *s = hp_snap_fetch(px->snap);
	HP_AZ(pthread_mutex_unlock(&px->snap_lock));
	return s;
}

struct hp_cache *hp_proxy_cache(const struct hp_proxy *px)
{
	return atomic_load(&((struct hp_proxy *)px)->cache);
}

uint64_t hp_proxy_generation(struct hp_proxy *px)
{
	struct hp_snap *s = hp_proxy_current_snap(px);
	uint64_t g = s->generation;
	hp_snap_release(s);
	return g;
}

/* ==== Per-worker pools ==== */

static struct hp_upstream_pool *pool_named(struct hp_wsnap *ws, const char *name)
{
	for (size_t i = 0; ws != NULL && i < ws->snap->ngroups; i++)
		if (strcmp(ws->snap->cfg->upstreams[i].name, name) == 0)
			return ws->pools[i];
	return NULL;
}

struct hp_wsnap *hp_wsnap_create(struct hp_snap *s, struct hp_loop *loop,
				 struct hp_wsnap *prev, struct hp_metrics_shard *metrics)
{
	struct hp_wsnap *ws = hp_xcalloc(1, sizeof(*ws));
	ws->snap = hp_snap_fetch(s);
	ws->refs = 1;
	ws->pools = hp_xcalloc(s->ngroups ? s->ngroups : 1, sizeof(*ws->pools));
	for (size_t i = 0; i < s->ngroups; i++) {
		ws->pools[i] = hp_upstream_pool_create(loop, s->groups[i]);
		struct hp_upstream_pool *old = pool_named(prev, s->cfg->upstreams[i].name);
		if (old != NULL)
			hp_upstream_pool_adopt_idle(ws->pools[i], old);
	}
	/* Interned here, off the request path, so that recording never
	 * allocates; the slots outlive this snapshot (metrics.h). */
	ws->route_slots = hp_xcalloc(s->nroutes ? s->nroutes : 1, sizeof(*ws->route_slots));
	for (size_t i = 0; metrics != NULL && i < s->nroutes; i++)
		ws->route_slots[i] = hp_metrics_route(metrics, s->routes[i].name);
	return ws;
}

void hp_wsnap_release(struct hp_wsnap *ws)
{
	if (ws == NULL)
		return;
	HP_ASSERT(ws->refs > 0);
	if (--ws->refs > 0)
		return;
	for (size_t i = 0; i < ws->snap->ngroups; i++)
		hp_upstream_pool_destroy(ws->pools[i]);
	free(ws->pools);
	free(ws->route_slots);
	hp_snap_release(ws->snap);
	free(ws);
}
