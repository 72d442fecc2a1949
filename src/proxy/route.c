/* SPDX-License-Identifier: MIT */
/*
 * route.c - steps route and limit. route picks the first route of the
 * snapshot that matches the request's host and path (404 when none) and
 * refuses what no upstream should see (CONNECT, a body over
 * max_body_size); limit applies the route's rate limit (docs/ratelimit.md):
 * it computes the request's key, asks the route's shared table, and answers
 * 429 when the key is over its rate.
 */
#include <stdio.h>
#include <string.h>

#include "core/cidr.h"
#include "proxy/proxy_priv.h"

enum hp_step hp_step_route(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	const struct hp_http_request *req = &t->req.head;
	const struct hp_config *cfg = t->ws->snap->cfg;
	if (t->req.method == HP_METHOD_CONNECT)
		return hp_respond_error(c, 405, "CONNECT is not supported by this reverse proxy");
	if (t->req.body == HP_BODY_LENGTH && t->req.body_remaining > cfg->limits.max_body_size)
		return hp_respond_error(c, 413, "request body too large");
	t->route = hp_snap_match(t->ws->snap, req->host, req->path);
	if (t->route == NULL)
		return hp_respond_error(c, 404, "no route for this host and path");
	t->up.pool = t->ws->pools[t->route->group];
	return HP_STEP_limit;
}

/* ==== Rate limits ==== */

/* Pairs are "name=value" separated by ';' and optional spaces. */
struct hp_str hp_route_find_cookie(const struct hp_http_request *req, const char *name)
{
	size_t nlen = strlen(name);
	for (size_t i = 0; i < req->num_headers; i++) {
		const struct hp_http_header *h = &req->headers[i];
		if (!hp_str_ieq(h->name, "cookie"))
			continue;
		const char *p = h->value.ptr;
		const char *end = p + h->value.len;
		while (p < end) {
			while (p < end && (*p == ' ' || *p == ';'))
				p++;
			const char *pair = p;
			while (p < end && *p != ';')
				p++;
			if ((size_t)(p - pair) > nlen && memcmp(pair, name, nlen) == 0 &&
			    pair[nlen] == '=')
				return (struct hp_str){pair + nlen + 1, (size_t)(p - pair) - nlen - 1};
		}
	}
	return (struct hp_str){NULL, 0};
}

/* The key of <c>'s request under <rl>: a header or cookie value, or the
 * client's address (also when that value is absent, so that leaving it out
 * does not escape the limit), or nothing for a route-wide limit. */
static struct hp_str request_key(const struct hp_client *c, const struct hp_config_rate_limit *rl,
				 uint8_t *addr)
{
	const struct hp_http_request *req = &c->t->req.head;
	struct hp_str v = {NULL, 0};
	switch (rl->key_kind) {
	case HP_RL_KEY_ROUTE:
		return (struct hp_str){"", 0};
	case HP_RL_KEY_HEADER: {
		const struct hp_http_header *h =
			hp_http_find_header(req->headers, req->num_headers, rl->key_name);
		if (h != NULL)
			v = h->value;
		break;
	}
	case HP_RL_KEY_COOKIE:
		v = hp_route_find_cookie(req, rl->key_name);
		break;
	case HP_RL_KEY_IP:
		break;
	}
	if (v.len > 0)
		return v;
	size_t n = hp_ratelimit_address_key((const struct sockaddr *)c->t->req.client, rl->ipv6_prefix,
					    addr);
	return (struct hp_str){(const char *)addr, n};
}

/* Delay mode: the request waits on the client's timer until it is due,
 * as nginx's limit_req does without nodelay; the worker goes on meanwhile.
 * Other events (the client sending more) find it still waiting. */
static enum hp_step delay_request(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	if (!t->limit.delaying) {
		uint64_t ms = t->limit.verdict.delay_ns / 1000000;
		if (ms == 0)
			return HP_STEP_lookup;
		hp_txn_keep_request_fields(t);
		t->limit.delaying = true;
		t->limit.outcome = HP_METRICS_LIMIT_DELAYED;
		hp_client_arm_timer(c, CT_DELAY, ms);
		return HP_STEP_WAIT;
	}
	if (c->expired != CT_DELAY)
		return HP_STEP_WAIT;
	c->expired = CT_NONE;
	t->limit.delaying = false;
	return HP_STEP_lookup;
}

/* rate_limit.concurrency: one more request of this key in flight, until
 * the transaction is released (txn.c). Over it: 429 at once, with the
 * draft's fields for a quota of concurrent requests, and the rate left
 * untouched. */
static bool enter_concurrency(struct hp_txn *t, const struct hp_config_rate_limit *rl,
			      struct hp_str key)
{
	struct hp_ratelimit *table = t->route->limiter;
	if (!hp_ratelimit_enter(table, key.ptr, key.len, rl->concurrency, &t->limit.inflight_token))
		return false;
	t->limit.inflight_rl = table;
	return true;
}

static enum hp_step refuse_concurrency(struct hp_client *c, const struct hp_config_rate_limit *rl)
{
	c->t->limit.outcome = HP_METRICS_LIMIT_CONCURRENCY;
	char fields[256];
	snprintf(fields, sizeof(fields),
		 "RateLimit-Policy: \"%s-concurrency\";q=%u;qu=\"concurrent-requests\"\r\n"
		 "RateLimit: \"%s-concurrency\";r=0\r\nRetry-After: 1\r\n",
		 rl->name, rl->concurrency, rl->name);
	return hp_respond_error_fields(c, 429, "too many requests in flight", fields);
}

/* The verdict is in (local or shared): go on, delay, or 429. */
static enum hp_step apply_verdict(struct hp_client *c, const struct hp_config_rate_limit *rl)
{
	struct hp_txn *t = c->t;
	if (t->limit.verdict.allowed)
		return rl->delay ? delay_request(c) : HP_STEP_lookup;
	t->limit.outcome = HP_METRICS_LIMIT_REJECTED;
	char fields[HP_LIMIT_FIELDS_MAX + 64];
	size_t n = hp_respond_limit_fields(t, fields, HP_LIMIT_FIELDS_MAX);
	snprintf(fields + n, sizeof(fields) - n, "Retry-After: %llu\r\n",
		 (unsigned long long)((t->limit.verdict.retry_ns + 999999999) / 1000000000));
	return hp_respond_error_fields(c, 429, "rate limit exceeded", fields);
}

/* The local table's verdict on <key>. */
static enum hp_step take_locally(struct hp_client *c, const struct hp_config_rate_limit *rl,
				 struct hp_str key)
{
	(void)hp_ratelimit_take(c->t->route->limiter, key.ptr, key.len, hp_clock_mono_ns(),
				&c->t->limit.verdict);
	return apply_verdict(c, rl);
}

/* ==== Shared limits (rate_limit.shared, with l2): the state in Redis ==== */

static void on_shared_verdict(void *data, enum hp_l2_result r, const char *value, size_t len)
{
	struct hp_client *c = data;
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	struct hp_txn_limit *l = &c->t->limit;
	l->shared_op = NULL;
	l->shared = HP_LIMIT_SHARED_FAILED;
	if (r == HP_L2_FOUND && value != NULL && len == HP_L2_GCRA_FIELDS * sizeof(int64_t)) {
		int64_t v[HP_L2_GCRA_FIELDS];
		memcpy(v, value, sizeof(v));
		l->verdict = (struct hp_ratelimit_verdict){
			.allowed = v[0] != 0,
			.remaining = (uint32_t)v[1],
			.retry_ns = (uint64_t)v[2] * 1000,
			.reset_ns = (uint64_t)v[3] * 1000,
			.delay_ns = (uint64_t)v[4] * 1000,
		};
		l->shared = HP_LIMIT_SHARED_DONE;
	}
	c->drive(c);
}

/* Ask Redis; false when it cannot be asked (the local table decides). The
 * Redis key: the policy name and its rate, then the request's key. */
static bool ask_shared(struct hp_client *c, const struct hp_config_rate_limit *rl,
		       struct hp_str key)
{
	struct hp_txn *t = c->t;
	char head[160];
	int k = snprintf(head, sizeof(head), "%s:%u/%u:", rl->name, rl->quota, rl->window_s);
	if (k < 0 || (size_t)k >= sizeof(head))
		return false;
	char *full = hp_arena_alloc(&t->arena, (size_t)k + key.len + 1);
	memcpy(full, head, (size_t)k);
	memcpy(full + k, key.ptr, key.len);
	t->limit.shared_op = hp_l2_gcra(c->w->l2, full, (size_t)k + key.len,
					(rl->interval_ns + 999) / 1000, rl->burst, on_shared_verdict,
					c);
	if (t->limit.shared_op == NULL)
		return false;
	hp_txn_keep_request_fields(t);
	t->limit.shared = HP_LIMIT_SHARED_WAITING;
	return true;
}

enum hp_step hp_step_limit(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	const struct hp_config_rate_limit *rl = t->route->limit;
	if (rl == NULL)
		return HP_STEP_lookup;
	switch (t->limit.shared) {
	case HP_LIMIT_SHARED_NONE:
		break;
	case HP_LIMIT_SHARED_WAITING:
		return HP_STEP_WAIT;
	case HP_LIMIT_SHARED_DONE:
		t->limit.shared = HP_LIMIT_SHARED_USED;
		return apply_verdict(c, rl);
	case HP_LIMIT_SHARED_FAILED: {
		/* Redis did not answer: the local table decides. Not from the
		 * top: the key's concurrency was counted on the first run. */
		t->limit.shared = HP_LIMIT_SHARED_USED;
		uint8_t addr[HP_RATELIMIT_ADDR_KEY_MAX];
		return take_locally(c, rl, request_key(c, rl, addr));
	}
	case HP_LIMIT_SHARED_USED:
		return delay_request(c); /* only a delayed request runs the step again */
	}
	if (t->limit.delaying)
		return delay_request(c);
	if (rl->nallow > 0 &&
	    hp_cidr_match(rl->allow, rl->nallow, (const struct sockaddr *)t->req.client))
		return HP_STEP_lookup;
	uint8_t addr[HP_RATELIMIT_ADDR_KEY_MAX];
	struct hp_str key = request_key(c, rl, addr);
	/* In flight again after waiting on a fill (its first run left when
	 * its transaction was released). */
	if (rl->concurrency > 0 && !enter_concurrency(t, rl, key))
		return refuse_concurrency(c, rl);
	if (c->after_wait) {
		/* Its rate was counted on the first run, before the wait. */
		if (c->waited_limit.conf == rl) {
			struct hp_txn_limit now = t->limit;
			t->limit = c->waited_limit;
			t->limit.inflight_rl = now.inflight_rl;
			t->limit.inflight_token = now.inflight_token;
		}
		return HP_STEP_lookup;
	}
	if (rl->interval_ns == 0)
		return HP_STEP_lookup; /* a concurrency limit alone */
	t->limit.conf = rl;
	t->limit.outcome = HP_METRICS_LIMIT_NONE;
	if (rl->shared && t->limit.shared == HP_LIMIT_SHARED_NONE && ask_shared(c, rl, key))
		return HP_STEP_WAIT;
	return take_locally(c, rl, key);
}
