/* SPDX-License-Identifier: MIT */
/*
 * filter_range.c - one byte range of the body, for a 206 cut from a stored
 * object. It slices vectors without copying, so a range of a memfd body
 * still leaves by sendfile; bytes outside the range are taken and dropped.
 * When the writer takes only part of a stable slice, the filter reports
 * how far into its input that reaches, and the source offers the rest again.
 */
#include "core/arena.h"
#include "core/core.h"
#include "proxy/filter.h"

/* Slices passed on per call; longer inputs go on in several calls. */
#define SLICE_MAX 16

struct range {
	struct hp_filter base;
	uint64_t first;                /* first byte wanted (body offset) */
	uint64_t end;                  /* one past the last byte wanted */
	uint64_t pos;                  /* body offset of the next input byte */
};

/* The part of <v> (at body offset <at>) inside [lo, hi), or len 0. */
static struct hp_bvec slice(const struct hp_bvec *v, uint64_t at, uint64_t lo, uint64_t hi)
{
	struct hp_bvec s = *v;
	uint64_t from = at > lo ? at : lo;
	uint64_t to = at + v->len < hi ? at + v->len : hi;
	if (from >= to) {
		s.len = 0;
		return s;
	}
	if (s.ptr != NULL)
		s.ptr += from - at;
	else
		s.off += from - at;
	s.len = (size_t)(to - from);
	return s;
}

static ssize_t range_data(struct hp_filter *f, const struct hp_bvec *v, size_t n)
{
	struct range *r = (struct range *)f;
	uint64_t start = r->pos;
	uint64_t total = hp_bvec_len(v, n);
	struct hp_bvec out[SLICE_MAX];
	size_t k = 0;
	uint64_t out_start = 0;        /* body offset of out[0] */
	uint64_t at = start;
	size_t i = 0;
	for (; i < n && k < SLICE_MAX; i++) {
		struct hp_bvec s = slice(&v[i], at, r->first, r->end);
		if (s.len > 0) {
			if (k == 0)
				out_start = at + (s.ptr != NULL ? (uint64_t)(s.ptr - v[i].ptr)
								: s.off - v[i].off);
			out[k++] = s;
		}
		at += v[i].len;
	}
	if (k == 0) {
		/* Nothing wanted here (before the range or after it): drop it. */
		r->pos = at;
		return (ssize_t)(at - start);
	}
	uint64_t offered = hp_bvec_len(out, k);
	ssize_t taken = hp_filter_next(f, out, k);
	if (taken < 0)
		return HP_ERR;
	if ((uint64_t)taken < offered) {
		/* The socket is full: the source offers the rest again. */
		r->pos = out_start + (uint64_t)taken;
		return (ssize_t)(r->pos - start);
	}
	/* All of it went: what follows the range in these vectors is dropped
	 * too, unless SLICE_MAX cut the walk short. */
	r->pos = i == n ? start + total : at;
	return (ssize_t)(r->pos - start);
}

static int range_end(struct hp_filter *f)
{
	(void)f;
	return 0;
}

static void range_abort(struct hp_filter *f)
{
	(void)f;
}

static const struct hp_filter_ops range_ops = {
	.name = "range",
	.data = range_data,
	.end = range_end,
	.abort = range_abort,
};

struct hp_filter *hp_filter_range(struct hp_arena *a, struct hp_client *c, uint64_t first,
				  uint64_t last)
{
	struct range *r = hp_arena_alloc(a, sizeof(*r));
	*r = (struct range){
		.base = {.ops = &range_ops, .c = c},
		.first = first,
		.end = last + 1,
		.pos = first, /* sources start at the range */
	};
	return &r->base;
}
