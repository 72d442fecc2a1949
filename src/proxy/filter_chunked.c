/* SPDX-License-Identifier: MIT */
/*
 * filter_chunked.c - chunked framing off and on. Dechunk strips it for an
 * HTTP/1.0 client, which knows no chunked coding (the connection then
 * closes to delimit the body). Rechunk adds it to a body the upstream
 * delimits by closing, so an HTTP/1.1 client keeps its connection.
 * Trailers are dropped when de-chunking: an HTTP/1.0 client has no place
 * for them.
 */
#include <stdio.h>

#include "core/arena.h"
#include "core/core.h"
#include "http/http.h"
#include "proxy/filter.h"

/* Decoded slices gathered from one input before they go on. */
#define DECODED_MAX 32

/* ==== Dechunk ==== */

struct dechunk {
	struct hp_filter base;
	struct hp_http_chunked state;
	struct hp_bvec out[DECODED_MAX];
	size_t nout;
	int failed;                    /* the next filter refused: HP_ERR */
	bool done;                     /* the last chunk (and trailers) came */
};

static void flush_decoded(struct dechunk *d)
{
	if (d->nout > 0 && hp_filter_next(&d->base, d->out, d->nout) < 0)
		d->failed = HP_ERR;
	d->nout = 0;
}

static void on_decoded(void *arg, const char *data, size_t len)
{
	struct dechunk *d = arg;
	if (d->nout == DECODED_MAX)
		flush_decoded(d);
	d->out[d->nout++] = (struct hp_bvec){.ptr = data, .fd = -1, .len = len};
}

static ssize_t dechunk_data(struct hp_filter *f, const struct hp_bvec *v, size_t n)
{
	struct dechunk *d = (struct dechunk *)f;
	uint64_t taken = 0;
	for (size_t i = 0; i < n; i++) {
		HP_ASSERT(v[i].ptr != NULL && !v[i].stable);
		bool done = false;
		ssize_t k = hp_http_chunked_feed(&d->state, v[i].ptr, v[i].len, &done, on_decoded, d);
		if (k < 0)
			return HP_ERR;
		d->done |= done;
		/* The slices point into v[i]: they go on before it is let go. */
		flush_decoded(d);
		if (d->failed < 0)
			return HP_ERR;
		taken += v[i].len;
	}
	return (ssize_t)taken;
}

/* A body that ends without its last chunk is cut short. */
static int dechunk_end(struct hp_filter *f)
{
	return ((struct dechunk *)f)->done ? 0 : HP_ERR;
}

static void dechunk_abort(struct hp_filter *f)
{
	(void)f;
}

static const struct hp_filter_ops dechunk_ops = {
	.name = "dechunk",
	.data = dechunk_data,
	.end = dechunk_end,
	.abort = dechunk_abort,
};

struct hp_filter *hp_filter_dechunk(struct hp_arena *a, struct hp_client *c)
{
	struct dechunk *d = hp_arena_alloc(a, sizeof(*d));
	*d = (struct dechunk){.base = {.ops = &dechunk_ops, .c = c}};
	return &d->base;
}

/* ==== Rechunk ==== */

/* Input vectors framed as one chunk per call of next. */
#define RECHUNK_BATCH 16

static ssize_t rechunk_data(struct hp_filter *f, const struct hp_bvec *v, size_t n)
{
	uint64_t taken = 0;
	while (n > 0) {
		size_t k = n < RECHUNK_BATCH ? n : RECHUNK_BATCH;
		uint64_t len = hp_bvec_len(v, k);
		char size[24];
		int slen = snprintf(size, sizeof(size), "%llx\r\n", (unsigned long long)len);
		struct hp_bvec out[RECHUNK_BATCH + 2];
		out[0] = (struct hp_bvec){.ptr = size, .fd = -1, .len = (size_t)slen};
		for (size_t i = 0; i < k; i++) {
			HP_ASSERT(!v[i].stable);
			out[1 + i] = v[i];
		}
		out[1 + k] = (struct hp_bvec){.ptr = "\r\n", .fd = -1, .len = 2};
		if (len > 0 && hp_filter_next(f, out, k + 2) < 0)
			return HP_ERR;
		taken += len;
		v += k;
		n -= k;
	}
	return (ssize_t)taken;
}

static int rechunk_end(struct hp_filter *f)
{
	static const char last[] = "0\r\n\r\n";
	struct hp_bvec v = {.ptr = last, .fd = -1, .len = sizeof(last) - 1};
	return hp_filter_next(f, &v, 1) < 0 ? HP_ERR : 0;
}

static void rechunk_abort(struct hp_filter *f)
{
	(void)f;
}

static const struct hp_filter_ops rechunk_ops = {
	.name = "rechunk",
	.data = rechunk_data,
	.end = rechunk_end,
	.abort = rechunk_abort,
};

struct hp_filter *hp_filter_rechunk(struct hp_arena *a, struct hp_client *c)
{
	struct hp_filter *f = hp_arena_alloc(a, sizeof(*f));
	*f = (struct hp_filter){.ops = &rechunk_ops, .c = c};
	return f;
}
