/* SPDX-License-Identifier: MIT */
/*
 * decode_gzip.c - the gzip decoder, for a client that does not accept
 * gzip when the origin sent it. Same table as the encoders (the level is
 * ignored). Several gzip members one after another are one body (RFC 1952
 * §2.2), so the end of a member with input left starts the next; the end
 * of the body before the end of a member is an error (truncated).
 */
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "compress/compress.h"
#include "compress/compress_priv.h"

#define OUT_STEP 32768

struct gunzip {
	z_stream z;
	bool member_done;              /* the last member ended and nothing followed */
};

static void *gunzip_create(int level)
{
	(void)level;
	struct gunzip *g = hp_xcalloc(1, sizeof(*g));
	/* 15 + 16: a gzip wrapper only (not zlib's). */
	HP_AZ(inflateInit2(&g->z, 15 + 16));
	return g;
}

static bool gunzip_reset(void *st, int level)
{
	(void)level;
	struct gunzip *g = st;
	g->member_done = false;
	return inflateReset(&g->z) == Z_OK;
}

static int gunzip_feed(void *st, const void *in, size_t len, bool last, struct hp_buf *out)
{
	struct gunzip *g = st;
	g->z.next_in = (Bytef *)(uintptr_t)in;
	g->z.avail_in = (uInt)len;
	while (g->z.avail_in > 0) {
		if (g->member_done) {
			if (inflateReset(&g->z) != Z_OK)
				return HP_ERR;
			g->member_done = false;
		}
		hp_buf_reserve(out, OUT_STEP);
		size_t room = hp_buf_room(out);
		g->z.next_out = (Bytef *)hp_buf_tail(out);
		g->z.avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
		int rc = inflate(&g->z, Z_NO_FLUSH);
		hp_buf_commit(out, room - g->z.avail_out);
		if (rc == Z_STREAM_END)
			g->member_done = true;
		else if (rc != Z_OK && !(rc == Z_BUF_ERROR && g->z.avail_out == 0))
			return HP_ERR;
	}
	/* Inflate may hold output it had no room for. */
	while (!g->member_done) {
		hp_buf_reserve(out, OUT_STEP);
		size_t room = hp_buf_room(out);
		g->z.next_out = (Bytef *)hp_buf_tail(out);
		g->z.avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
		int rc = inflate(&g->z, Z_NO_FLUSH);
		hp_buf_commit(out, room - g->z.avail_out);
		if (rc == Z_STREAM_END)
			g->member_done = true;
		else if (rc == Z_BUF_ERROR || (rc == Z_OK && g->z.avail_out > 0))
			break; /* needs more input */
		else if (rc != Z_OK)
			return HP_ERR;
	}
	return last && !g->member_done ? HP_ERR : 0;
}

static void gunzip_destroy(void *st)
{
	struct gunzip *g = st;
	inflateEnd(&g->z);
	free(g);
}

const struct hp_compress_codec hp_compress_gunzip = {
	.name = "gunzip",
	.min_level = 0,
	.max_level = 0,
	.create = gunzip_create,
	.reset = gunzip_reset,
	.feed = gunzip_feed,
	.destroy = gunzip_destroy,
};
