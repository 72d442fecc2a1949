/* SPDX-License-Identifier: MIT */
/*
 * filter_fill.c - the cache's copy of a body being fetched. The bytes go on
 * to the client unchanged; a copy (de-chunked when the upstream chunks)
 * goes into the fill, which is published when the body is complete and
 * dropped when it is not. A body that outgrows max_object_size stops being
 * copied and its key is remembered as uncacheable for a while (hit-for-
 * pass), so the requests after it do not queue behind a fill that cannot
 * succeed. A committed object is also copied to the L2 tier (l2.c).
 */
#include "core/arena.h"
#include "core/core.h"
#include "cache/cache.h"
#include "http/http.h"
#include "proxy/filter.h"
#include "proxy/proxy_priv.h"

struct fill {
	struct hp_filter base;
	struct hp_cache_fill *fill;    /* NULL once committed, aborted or abandoned */
	bool chunked;                  /* the input still carries chunked framing */
	struct hp_http_chunked state;
};

static void stop_storing(struct fill *ff, bool hit_for_pass)
{
	hp_cache_fill_abort(ff->fill, hit_for_pass);
	ff->fill = NULL;
	ff->base.c->t->cache.storing = false;
}

static void append(void *arg, const char *data, size_t len)
{
	struct fill *ff = arg;
	if (ff->fill != NULL && len > 0 && !hp_cache_fill_append(ff->fill, data, len))
		stop_storing(ff, true);
}

static ssize_t fill_data(struct hp_filter *f, const struct hp_bvec *v, size_t n)
{
	struct fill *ff = (struct fill *)f;
	for (size_t i = 0; i < n && ff->fill != NULL; i++) {
		HP_ASSERT(v[i].ptr != NULL);
		if (!ff->chunked) {
			append(ff, v[i].ptr, v[i].len);
			continue;
		}
		bool done = false;
		if (hp_http_chunked_feed(&ff->state, v[i].ptr, v[i].len, &done, append, ff) < 0)
			stop_storing(ff, false);
	}
	/* Copied first: the client's side may close the transaction below. */
	return hp_filter_next(f, v, n);
}

static int fill_end(struct hp_filter *f)
{
	struct fill *ff = (struct fill *)f;
	if (ff->fill == NULL)
		return 0;
	if (hp_l2_tier_wants_copy(f->c)) {
		/* The last bytes went on to the writer already: the copy to
		 * Redis is behind the response. */
		struct hp_cache_obj *obj = hp_cache_fill_commit_fetch(ff->fill);
		if (obj != NULL) {
			hp_l2_tier_write(f->c, obj);
			hp_cache_obj_release(obj);
		}
	} else {
		hp_cache_fill_commit(ff->fill);
	}
	ff->fill = NULL;
	return 0;
}

static void fill_abort(struct hp_filter *f)
{
	struct fill *ff = (struct fill *)f;
	if (ff->fill != NULL)
		stop_storing(ff, false);
}

static const struct hp_filter_ops fill_ops = {
	.name = "fill",
	.data = fill_data,
	.end = fill_end,
	.abort = fill_abort,
};

struct hp_filter *hp_filter_fill(struct hp_arena *a, struct hp_client *c,
				 struct hp_cache_fill *fill, bool chunked)
{
	struct fill *ff = hp_arena_alloc(a, sizeof(*ff));
	*ff = (struct fill){
		.base = {.ops = &fill_ops, .c = c},
		.fill = fill,
		.chunked = chunked,
	};
	return &ff->base;
}
