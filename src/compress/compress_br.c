/* SPDX-License-Identifier: MIT */
/*
 * compress_br.c - the brotli encoder (libbrotlienc). The library has no
 * way to reset an encoder for a new stream, so reset says no and the pool
 * makes a fresh instance per response; docs/compression.md measures what
 * that costs against the compression itself.
 */
#include <brotli/encode.h>

#include "compress/compress.h"

#define OUT_STEP 16384

static void *br_create(int level)
{
	BrotliEncoderState *s = BrotliEncoderCreateInstance(NULL, NULL, NULL);
	HP_AN(s);
	BrotliEncoderSetParameter(s, BROTLI_PARAM_QUALITY, (uint32_t)level);
	/* A 4 MiB window (the default) costs memory for nothing on responses
	 * that are mostly smaller than 1 MiB. */
	BrotliEncoderSetParameter(s, BROTLI_PARAM_LGWIN, 20);
	return s;
}

static bool br_reset(void *st, int level)
{
	(void)st;
	(void)level;
	return false;
}

static int br_feed(void *st, const void *in, size_t len, bool last, struct hp_buf *out)
{
	BrotliEncoderState *s = st;
	const uint8_t *next_in = in;
	size_t avail_in = len;
	BrotliEncoderOperation op = last ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS;
	for (;;) {
		hp_buf_reserve(out, OUT_STEP);
		size_t room = hp_buf_room(out);
		uint8_t *next_out = (uint8_t *)hp_buf_tail(out);
		size_t avail_out = room;
		if (!BrotliEncoderCompressStream(s, op, &avail_in, &next_in, &avail_out, &next_out,
						 NULL))
			return HP_ERR;
		hp_buf_commit(out, room - avail_out);
		if (BrotliEncoderHasMoreOutput(s))
			continue;
		if (last ? BrotliEncoderIsFinished(s) : avail_in == 0)
			return 0;
	}
}

static void br_destroy(void *st)
{
	BrotliEncoderDestroyInstance(st);
}

const struct hp_compress_codec hp_compress_br = {
	.name = "br",
	.min_level = 0,
	.max_level = 11,
	.create = br_create,
	.reset = br_reset,
	.feed = br_feed,
	.destroy = br_destroy,
};
