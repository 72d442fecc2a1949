/* SPDX-License-Identifier: MIT */
/*
 * compress_gzip.c - the gzip encoder (zlib deflate with a gzip wrapper).
 * A stream is reset with deflateReset, which keeps the window and hash
 * tables it already touched: that reuse is what the pool is for. A new
 * level goes in with deflateParams right after the reset, before any
 * input, where it cannot flush anything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "compress/compress.h"

/* windowBits 15 plus 16: a gzip header and trailer instead of zlib's. */
#define GZIP_WBITS (15 + 16)
/* Output room asked for per deflate call. */
#define OUT_STEP 16384

struct gz {
	z_stream z;
	int level;                     /* the stream's current level */
};

static void *gz_create(int level)
{
	struct gz *g = hp_xcalloc(1, sizeof(*g));
	g->level = level;
	/* Fails only without memory, which hp_x* treat as fatal too. */
	HP_AZ(deflateInit2(&g->z, level, Z_DEFLATED, GZIP_WBITS, 8, Z_DEFAULT_STRATEGY));
	return g;
}

static bool gz_reset(void *st, int level)
{
	struct gz *g = st;
	if (deflateReset(&g->z) != Z_OK)
		return false;
	if (level != g->level) {
		if (deflateParams(&g->z, level, Z_DEFAULT_STRATEGY) != Z_OK)
			return false;
		g->level = level;
	}
	return true;
}

static int gz_feed(void *st, const void *in, size_t len, bool last, struct hp_buf *out)
{
	struct gz *g = st;
	g->z.next_in = (Bytef *)(uintptr_t)in;
	g->z.avail_in = (uInt)len;
	int flush = last ? Z_FINISH : Z_NO_FLUSH;
	for (;;) {
		hp_buf_reserve(out, OUT_STEP);
		size_t room = hp_buf_room(out);
		g->z.next_out = (Bytef *)hp_buf_tail(out);
		g->z.avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
		size_t before = g->z.avail_out;
		int rc = deflate(&g->z, flush);
		hp_buf_commit(out, before - g->z.avail_out);
		if (rc == Z_STREAM_END)
			return 0;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return HP_ERR;
		/* Done when the input is in and deflate left room: it had nothing more. */
		if (g->z.avail_in == 0 && g->z.avail_out > 0 && !last)
			return 0;
	}
}

static void gz_destroy(void *st)
{
	struct gz *g = st;
	deflateEnd(&g->z);
	free(g);
}

const struct hp_compress_codec hp_compress_gzip = {
	.name = "gzip",
	.min_level = 1,
	.max_level = 9,
	.create = gz_create,
	.reset = gz_reset,
	.feed = gz_feed,
	.destroy = gz_destroy,
};
