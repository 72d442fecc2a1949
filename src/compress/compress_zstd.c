/* SPDX-License-Identifier: MIT */
/*
 * compress_zstd.c - the zstd encoder. ZSTD_CCtx_reset (session only)
 * keeps the context's tables for the next stream, and the level is a
 * parameter set again after it.
 */
#include <zstd.h>

#include "compress/compress.h"

#define OUT_STEP 16384

static void set_level(ZSTD_CCtx *z, int level)
{
	ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, level);
	/* Clients must be able to decode with a bounded window (RFC 8878
	 * §3.1.1.1.2 advises 8 MiB at most for HTTP). */
	ZSTD_CCtx_setParameter(z, ZSTD_c_windowLog, 21);
	ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);
}

static void *zs_create(int level)
{
	ZSTD_CCtx *z = ZSTD_createCCtx();
	HP_AN(z);
	set_level(z, level);
	return z;
}

static bool zs_reset(void *st, int level)
{
	if (ZSTD_isError(ZSTD_CCtx_reset(st, ZSTD_reset_session_only)))
		return false;
	set_level(st, level);
	return true;
}

static int zs_feed(void *st, const void *in, size_t len, bool last, struct hp_buf *out)
{
	ZSTD_inBuffer ib = {in, len, 0};
	ZSTD_EndDirective op = last ? ZSTD_e_end : ZSTD_e_continue;
	for (;;) {
		hp_buf_reserve(out, OUT_STEP);
		ZSTD_outBuffer ob = {hp_buf_tail(out), hp_buf_room(out), 0};
		size_t left = ZSTD_compressStream2(st, &ob, &ib, op);
		if (ZSTD_isError(left))
			return HP_ERR;
		hp_buf_commit(out, ob.pos);
		if (last ? left == 0 : ib.pos == ib.size)
			return 0;
	}
}

static void zs_destroy(void *st)
{
	ZSTD_freeCCtx(st);
}

const struct hp_compress_codec hp_compress_zstd = {
	.name = "zstd",
	.min_level = 1,
	.max_level = 19,
	.create = zs_create,
	.reset = zs_reset,
	.feed = zs_feed,
	.destroy = zs_destroy,
};
