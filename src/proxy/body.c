/* SPDX-License-Identifier: MIT */
/*
 * body.c - the chain a response body needs, decided once when its head is:
 *
 *   from an upstream:  [dechunk] [compress] [fill] [rechunk] writer    (or discard)
 *   from a stored one: [range] writer
 *   from a fill:       writer
 *
 * dechunk for an HTTP/1.0 client of a chunked body, or before compress,
 * which encodes the body (or decodes an origin's gzip) when the response
 * is transformed (filter_compress.c), so the fill stores the coded bytes
 * and rechunk frames them for an HTTP/1.1 client; fill when the
 * response is being stored (it decodes chunked framing itself when the
 * client keeps it); rechunk when the upstream delimits by closing and the
 * client speaks HTTP/1.1; range for a 206; discard for a HEAD fetched as
 * a GET to fill the cache.
 */
#include "proxy/proxy_priv.h"

/* A transformed body is coded unframed, then framed again for the client. */
bool hp_body_dechunks(const struct hp_client *c)
{
	return c->t->up.body == HP_BODY_CHUNKED &&
	       (c->t->req.minor_version == 0 || hp_compress_transforms(c));
}

bool hp_body_rechunks(const struct hp_client *c)
{
	return c->t->req.minor_version == 1 &&
	       (c->t->up.body == HP_BODY_CLOSE || hp_compress_transforms(c));
}

static void add_upstream_filters(struct hp_client *c, struct hp_filter_chain *ch)
{
	struct hp_txn *t = c->t;
	struct hp_arena *a = &c->t->arena;
	bool chunked = t->up.body == HP_BODY_CHUNKED;
	if (hp_body_dechunks(c)) {
		hp_filter_add(ch, hp_filter_dechunk(a, c));
		chunked = false;
	}
	if (hp_compress_transforms(c))
		hp_filter_add(ch, hp_filter_compress(a, c));
	if (t->cache.fill != NULL && t->cache.storing) {
		/* From here the chain owns the fill. */
		hp_filter_add(ch, hp_filter_fill(a, c, t->cache.fill, chunked));
		t->cache.fill = NULL;
	}
	if (t->cache.head_as_get) {
		hp_filter_add(ch, hp_filter_discard(a, c));
		return;
	}
	if (hp_body_rechunks(c))
		hp_filter_add(ch, hp_filter_rechunk(a, c));
	hp_filter_add(ch, hp_filter_writer(a, c));
}

void hp_body_begin(struct hp_client *c, enum hp_body_source src, uint64_t first,
		   uint64_t last)
{
	struct hp_txn *t = c->t;
	struct hp_filter_chain *ch = &t->resp.chain;
	*ch = (struct hp_filter_chain){0};
	t->resp.source = src;
	t->resp.off = 0;
	switch (src) {
	case HP_SRC_UPSTREAM:
		add_upstream_filters(c, ch);
		break;
	case HP_SRC_STORED:
		if (first <= last) {
			/* The source starts at the range: nothing before it is read. */
			t->resp.off = first;
			hp_filter_add(ch, hp_filter_range(&c->t->arena, c, first, last));
		}
		hp_filter_add(ch, hp_filter_writer(&c->t->arena, c));
		break;
	case HP_SRC_STREAM:
		hp_filter_add(ch, hp_filter_writer(&c->t->arena, c));
		break;
	case HP_SRC_NONE:
	case HP_SRC_DONE:
		return;
	}
	hp_filter_start(ch);
}
