/* SPDX-License-Identifier: MIT */
/*
 * snap.h - configuration snapshots and the route table compiled from them.
 *
 * A snapshot is everything a request reads of the configuration, built
 * once off the workers and never changed: the loaded config (owned), the
 * upstream groups with their resolved addresses, the route table, and the
 * access log. It is reference-counted; the proxy holds one reference to
 * the current snapshot, each worker one to the snapshot it serves new
 * requests with, and hp_proxy_reload() swaps the proxy's for a new one.
 * The last release frees it, so in-flight requests finish on the snapshot
 * they started with.
 *
 * Per worker, a snapshot gets a struct hp_wsnap: the keep-alive pools of
 * its groups on that worker's loop. A transaction holds its worker's
 * current wsnap (a plain counter: only that worker touches it) from its
 * head to its log line; a retired wsnap is freed, closing its idle
 * connections, when its last transaction ends.
 */
#ifndef HP_PROXY_SNAP_H
#define HP_PROXY_SNAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "config/config.h"
#include "core/core.h"

struct hp_accesslog;
struct hp_config;
struct hp_config_rate_limit;
struct hp_ratelimit;
struct hp_loop;
struct hp_metrics_shard;
struct hp_upstream_group;
struct hp_upstream_pool;

/* A route's cache rules in the cache module's terms. */
struct hp_route_cache {
	bool enabled;                  /* the route caches and the cache exists */
	struct hp_cache_policy policy;
	struct hp_cache_key_spec key;  /* views into the snapshot's config */
};

/* One compiled route: what to match, and where and how to send it. */
struct hp_route {
	const char *name;              /* routes[].name, default its path prefix */
	const char *host;              /* NULL = any host; compared without case and port */
	const char *path_prefix;
	size_t prefix_len;
	size_t group;                  /* index into snap->groups (and wsnap->pools) */
	struct hp_route_cache cache;
	struct hp_ratelimit *limiter;  /* owned; NULL when the route has no rate limit */
	const struct hp_config_rate_limit *limit; /* its settings, in the snapshot's config */
};

struct hp_snap {
	atomic_uint _refs;
	uint64_t generation;           /* 1 for the first, +1 per reload */
	struct hp_config *cfg;         /* owned if owns_cfg */
	bool owns_cfg;
	struct hp_upstream_group **groups; /* cfg->nupstreams, owned */
	size_t ngroups;
	struct hp_route *routes;       /* cfg->nroutes, in match order */
	size_t nroutes;
	struct hp_accesslog *alog;     /* NULL when access_log.path is NULL */
	struct hp_cache *cache;        /* borrowed from the proxy; NULL when not caching */
	char admin_token[HP_CONFIG_TOKEN_MAX + 1]; /* PURGE needs it; "" = none */
};

/* A snapshot's pools on one worker. */
struct hp_wsnap {
	struct hp_snap *snap;          /* a reference */
	struct hp_upstream_pool **pools; /* snap->ngroups, on the worker's loop */
	unsigned *route_slots;         /* snap->nroutes: each route's metrics slot on the worker */
	unsigned refs;                 /* the worker (while current) + its transactions */
};

/* Build a snapshot from <cfg>: resolves every upstream server (blocking:
 * never on a worker), compiles the routes (caching when cfg says so and
 * <cache> is non-NULL) and opens the access log. With <take_cfg> the
 * snapshot owns <cfg> and frees it (on failure too); without, <cfg> is
 * borrowed and must outlive it (the start-up config, which the command
 * line owns). A route whose name and rate-limit policy (name, rate,
 * burst, key, ipv6_prefix, max_keys) are those of a route of <prev> (the
 * snapshot it replaces; NULL: none) shares that route's key table, so a
 * reload does not reset its clients' counts. Returns NULL with a one-line
 * reason in <err>. */
struct hp_snap *hp_snap_create(struct hp_config *cfg, bool take_cfg, struct hp_cache *cache,
			       const struct hp_snap *prev, uint64_t generation, char *err,
			       size_t errlen);
/* Take one more reference. Any thread. */
struct hp_snap *hp_snap_fetch(struct hp_snap *s);
/* Drop a reference; the last one frees the snapshot. NULL is allowed. */
void hp_snap_release(struct hp_snap *s);

/* The first route whose host matches <host> (its ":port" ignored, without
 * case) or is any, and whose path prefix starts <path>; NULL if none. */
const struct hp_route *hp_snap_match(const struct hp_snap *s, struct hp_str host,
				     struct hp_str path);

/* A wsnap for <s> on <loop>, with one reference (the caller's). Its pools
 * take over the idle connections of <prev>'s pools (NULL: none) that go to
 * a server still configured in a group of the same name. Each route's name
 * is interned in <metrics>, the worker's shard (it must be the caller's to
 * write; NULL: every route counts as "none"). */
struct hp_wsnap *hp_wsnap_create(struct hp_snap *s, struct hp_loop *loop,
				 struct hp_wsnap *prev, struct hp_metrics_shard *metrics);
static inline struct hp_wsnap *hp_wsnap_fetch(struct hp_wsnap *ws);
/* Drop a reference; the last one closes the pools' idle connections and
 * releases the snapshot. Connections still held by requests must have
 * been given back first (their requests hold references). */
void hp_wsnap_release(struct hp_wsnap *ws);

/* inline definitions */

static inline struct hp_wsnap *hp_wsnap_fetch(struct hp_wsnap *ws)
{
	ws->refs++;
	return ws;
}

#endif
