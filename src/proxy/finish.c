/* SPDX-License-Identifier: MIT */
/*
 * finish.c - step log: the response is out. Count it in the worker's
 * metrics shard, write its access log line, give back everything the
 * transaction held, and either keep the connection for the next request
 * (which may already be waiting in the input buffer: pipelining) or close
 * it gracefully. An idle connection
 * holds no buffer and no transaction: both go back to the worker.
 */
#include "proxy/proxy_priv.h"

static enum hp_metrics_method metrics_method(enum hp_http_method m)
{
	switch (m) {
	case HP_METHOD_GET: return HP_METRICS_GET;
	case HP_METHOD_HEAD: return HP_METRICS_HEAD;
	case HP_METHOD_POST: return HP_METRICS_POST;
	case HP_METHOD_PUT: return HP_METRICS_PUT;
	case HP_METHOD_DELETE: return HP_METRICS_DELETE;
	case HP_METHOD_PATCH: return HP_METRICS_PATCH;
	default: return HP_METRICS_OTHER;
	}
}

/* From the X-Cache value the cache steps set (one of a few literals, so
 * the first two letters tell them apart); NULL: the cache took no part. */
static enum hp_metrics_cache metrics_cache(const char *x)
{
	if (x == NULL)
		return HP_METRICS_NONE;
	switch (x[0]) {
	case 'H': return HP_METRICS_HIT;
	case 'M': return HP_METRICS_MISS;
	case 'S': return HP_METRICS_STALE;
	case 'R': return HP_METRICS_REVALIDATED;
	case 'C': return HP_METRICS_COALESCED;
	case 'P': return HP_METRICS_PASS;
	default: return HP_METRICS_NONE;
	}
}

/* The route's slot comes from the transaction's own snapshot: t->route
 * points into it, and a reload since the request started changes only
 * the worker's current one. */
static void record_metrics(struct hp_client *c, const struct hp_txn *t)
{
	const struct hp_snap *s = t->ws->snap;
	unsigned slot = HP_METRICS_ROUTE_NONE;
	if (t->route != NULL)
		slot = t->ws->route_slots[t->route - s->routes];
	uint64_t now = hp_clock_mono_ns();
	bool up = t->up.start_ns != 0 && t->up.head_ns > t->up.start_ns;
	struct hp_metrics_request r = {
		.route = slot,
		.method = metrics_method(t->req.method),
		.status = t->resp.status,
		.cache = metrics_cache(t->cache.x_cache),
		.duration_us = t->req.start_ns && now > t->req.start_ns
			? (now - t->req.start_ns) / 1000 : 0,
		.upstream = up,
		.upstream_us = up ? (t->up.head_ns - t->up.start_ns) / 1000 : 0,
		.bytes_out = t->resp.bytes_out,
		.compress_in = t->compress.in,
		.compress_out = t->compress.out,
		.limit = t->limit.outcome,
	};
	hp_metrics_record(c->w->metrics, &r);
}

enum hp_step hp_step_log(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	/* Warm-ups and background refreshes are not client traffic. */
	if (!c->internal && t->ws->snap->cfg->metrics_enabled)
		record_metrics(c, t);
	hp_accesslog_record(c);
	c->last_status = t->resp.status;
	c->requests++;
	bool keep = t->req.keep_alive && !c->close_after && !c->w->draining && !c->internal &&
		    t->req.body_done;
	hp_txn_release(c);
	if (!keep) {
		hp_client_close_gracefully(c);
		return HP_STEP_DONE;
	}
	const struct hp_config_limits *lim = &hp_client_cfg(c)->limits;
	if (c->in.len == 0) {
		/* Idle: the connection keeps no buffer while it waits. */
		hp_txn_give_input(c);
		hp_client_arm_timer(c, CT_KEEPALIVE, lim->keepalive_timeout_ms);
	}
	else
		hp_client_arm_timer(c, CT_HEADER, lim->header_timeout_ms);
	return HP_STEP_recv;
}
