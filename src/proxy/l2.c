/* SPDX-License-Identifier: MIT */
/*
 * l2.c - the proxy's side of the L2 tier, below the steps: the copy of a
 * freshly filled object into Redis, made when its body is complete (the
 * fill filter's end), after the last byte went to the client's writer, so
 * it never delays the response: the SET is queued on the worker's Redis
 * connection and written after the current round of events. Step l2 (the
 * GET before the origin) is lookup.c's.
 *
 * A response with Vary is also put in the URL's variant hash, so that
 * every variant survives, not just the latest (lookup.c asks the hash
 * when the latest is another variant).
 *
 * Its tags go into a set per tag in Redis, so that a tag purge deletes the
 * L2 objects of the tag, whichever instance filled them (bus.c).
 *
 * The TTL in Redis is the object's remaining freshness plus its longest
 * stale window (stale-while-revalidate, stale-if-error, the route's
 * grace), so that what another instance can still serve stale survives
 * the trip; capped by l2.max_ttl.
 */
#include <string.h>

#include "proxy/proxy_priv.h"

bool hp_l2_tier_wants_copy(const struct hp_client *c)
{
	/* Only a transaction that went through step l2 kept its fields: the
	 * others (and a client without a worker, in unit tests) never copy. */
	return c->t != NULL && c->t->l2.req != NULL && c->t->cache.rc != NULL &&
	       c->w != NULL && hp_l2_client_ready(c->w->l2);
}

static int64_t stale_window_s(const struct hp_cache_obj_times *tm, const struct hp_cache_policy *pol)
{
	int64_t w = HP_MAX(tm->swr_s, tm->sie_s);
	return HP_MAX(w, HP_MAX(pol->grace_s, (int64_t)0));
}

static void append_body(struct hp_buf *out, const struct hp_cache_obj *obj)
{
	uint64_t off = 0;
	struct iovec iov[16];
	int n;
	while ((n = hp_cache_obj_body_iov(obj, off, iov, (int)HP_ARRAY_SIZE(iov))) > 0) {
		for (int i = 0; i < n; i++) {
			hp_buf_append(out, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
	}
}

/* Each tag of the object into Redis's tag index (hp_l2_tag_add): the tag
 * field's comma-separated list and Surrogate-Key's space-separated one,
 * as the cache reads them. */
static void index_tags(struct hp_client *c, const struct hp_http_header *f, size_t n,
		       uint64_t ttl_ms)
{
	struct hp_cache_tag_iter it = {0};
	struct hp_str one;
	while (hp_cache_next_tag(f, n, hp_client_cfg(c)->cache.tag_header, &it, &one))
		(void)hp_l2_tag_add(c->w->l2, one, c->t->cache.key, c->t->cache.keylen, ttl_ms);
}

void hp_l2_tier_write(struct hp_client *c, struct hp_cache_obj *obj)
{
	if (!hp_l2_tier_wants_copy(c))
		return;
	const struct hp_config_l2 *conf = &hp_client_cfg(c)->l2;
	const struct hp_txn *t = c->t;
	time_t now = hp_clock_wall_s();
	struct hp_cache_obj_times tm;
	hp_cache_obj_get_times(obj, &tm);
	int64_t ttl_s = hp_cache_obj_ttl(obj, now);
	int64_t keep_s = ttl_s + stale_window_s(&tm, &t->cache.rc->policy);
	size_t nfields;
	const struct hp_http_header *fields = hp_cache_obj_fields(obj, &nfields);
	uint64_t body_len = hp_cache_obj_body_len(obj);
	if (keep_s <= 0 || body_len > conf->max_object_size)
		return;
	struct hp_buf variant = {0};
	if (!hp_l2_variant_key(&variant, fields, nfields, t->l2.req, t->l2.nreq)) {
		hp_buf_fini(&variant);
		return;
	}
	struct hp_l2_object o = {
		.status = hp_cache_obj_status(obj),
		.response_time = tm.response_time,
		.initial_age_s = tm.initial_age_s,
		.expires = (int64_t)now + ttl_s,
		.swr_s = tm.swr_s,
		.sie_s = tm.sie_s,
		.variant = {hp_buf_data(&variant), variant.len},
		.fields = fields,
		.nfields = nfields,
		.body_len = body_len,
	};
	struct hp_buf enc = {0};
	hp_l2_encode_head(&enc, &o);
	append_body(&enc, obj);
	if (enc.len <= conf->max_object_size + 4096) {
		uint64_t px = HP_MIN((uint64_t)keep_s * 1000, conf->max_ttl_ms);
		/* The URL's key holds the variant written last (a reader learns
		 * the Vary names from it); a varying object also goes into the
		 * URL's variant hash, where the other variants stay. */
		if (hp_l2_set(c->w->l2, t->cache.key, t->cache.keylen, hp_buf_data(&enc), enc.len,
			      px)) {
			if (variant.len > 0)
				(void)hp_l2_set_variant(c->w->l2, t->cache.key, t->cache.keylen,
							hp_buf_data(&variant), variant.len,
							hp_buf_data(&enc), enc.len, px);
			index_tags(c, fields, nfields, conf->max_ttl_ms);
		}
	}
	hp_buf_fini(&variant);
	hp_buf_fini(&enc);
}
