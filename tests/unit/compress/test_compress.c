/* SPDX-License-Identifier: MIT */
/*
 * test_compress.c - every encoder round trips (decoded by the reference
 * libraries, gzip also by our decoder): empty bodies, one-byte feeds, the
 * input split at every offset, large bodies; streams reused from the pool
 * (created once for gzip and zstd, anew for brotli); the gzip decoder on
 * split, multi-member, truncated and broken input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <brotli/decode.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "compress/compress.h"

static const enum hp_compress_enc encs[] = {HP_ENC_GZIP, HP_ENC_BR, HP_ENC_ZSTD};

/* Decode <in> with the reference library of <enc> into <out> (reset first). */
static void reference_decode(enum hp_compress_enc enc, const char *in, size_t len,
			     struct hp_buf *out)
{
	hp_buf_reset(out);
	size_t cap = (1 << 20) + 4096;
	hp_buf_reserve(out, cap);
	switch (enc) {
	case HP_ENC_GZIP: {
		z_stream z = {0};
		assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
		z.next_in = (Bytef *)(uintptr_t)in;
		z.avail_in = (uInt)len;
		z.next_out = (Bytef *)hp_buf_tail(out);
		z.avail_out = (uInt)cap;
		assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
		hp_buf_commit(out, cap - z.avail_out);
		inflateEnd(&z);
		break;
	}
	case HP_ENC_BR: {
		size_t n = cap;
		assert_int_equal(BrotliDecoderDecompress(len, (const uint8_t *)in, &n,
							 (uint8_t *)hp_buf_tail(out)),
				 BROTLI_DECODER_RESULT_SUCCESS);
		hp_buf_commit(out, n);
		break;
	}
	case HP_ENC_ZSTD: {
		size_t n = ZSTD_decompress(hp_buf_tail(out), cap, in, len);
		assert_false(ZSTD_isError(n));
		hp_buf_commit(out, n);
		break;
	}
	default:
		fail();
	}
}

/* Some JSON-like text, compressible but not trivially. */
static char *make_body(size_t len)
{
	char *b = malloc(len + 1);
	uint32_t x = 12345;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		static const char alphabet[] = "{\"id\": 0123456789, \"name\": \"abc\"}\n";
		b[i] = alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
	}
	return b;
}

/* Encode <body> fed in pieces at <cuts> (ascending offsets), then check. */
static void round_trip(struct hp_compress_pool *p, enum hp_compress_enc enc, int level,
		       const char *body, size_t len, const size_t *cuts, size_t ncuts)
{
	struct hp_buf enc_out = {0}, dec = {0};
	struct hp_compress_stream *s = hp_compress_take(p, enc, level);
	size_t at = 0;
	for (size_t i = 0; i < ncuts; i++) {
		assert_int_equal(hp_compress_feed(s, body + at, cuts[i] - at, false, &enc_out), 0);
		at = cuts[i];
	}
	assert_int_equal(hp_compress_feed(s, body + at, len - at, true, &enc_out), 0);
	/* Past its end a stream takes nothing more. */
	assert_int_equal(hp_compress_feed(s, "x", 1, true, &enc_out), HP_ERR);
	hp_compress_give(p, s);
	reference_decode(enc, hp_buf_data(&enc_out), enc_out.len, &dec);
	assert_int_equal(dec.len, len);
	assert_memory_equal(hp_buf_data(&dec), body, len);
	if (enc == HP_ENC_GZIP) {
		/* Our decoder agrees, fed one byte at a time. */
		struct hp_buf dec2 = {0};
		struct hp_compress_stream *g = hp_compress_take_gunzip(p);
		for (size_t i = 0; i < enc_out.len; i++)
			assert_int_equal(hp_compress_feed(g, hp_buf_data(&enc_out) + i, 1, false, &dec2), 0);
		assert_int_equal(hp_compress_feed(g, NULL, 0, true, &dec2), 0);
		hp_compress_give(p, g);
		assert_int_equal(dec2.len, len);
		assert_memory_equal(hp_buf_data(&dec2), body, len);
		hp_buf_fini(&dec2);
	}
	hp_buf_fini(&enc_out);
	hp_buf_fini(&dec);
}

static void empty_body(void **state)
{
	(void)state;
	struct hp_compress_pool *p = hp_compress_pool_create(4);
	for (size_t e = 0; e < HP_ARRAY_SIZE(encs); e++) {
		round_trip(p, encs[e], 6, "", 0, NULL, 0);
		size_t cut = 0;
		round_trip(p, encs[e], 6, "", 0, &cut, 1);
	}
	hp_compress_pool_destroy(p);
}

static void split_everywhere(void **state)
{
	(void)state;
	struct hp_compress_pool *p = hp_compress_pool_create(4);
	char *body = make_body(700);
	for (size_t e = 0; e < HP_ARRAY_SIZE(encs); e++) {
		for (size_t at = 0; at <= 700; at++)
			round_trip(p, encs[e], 5, body, 700, &at, 1);
		size_t two[2] = {1, 699};
		round_trip(p, encs[e], 5, body, 700, two, 2);
	}
	free(body);
	hp_compress_pool_destroy(p);
}

static void one_byte_feeds(void **state)
{
	(void)state;
	struct hp_compress_pool *p = hp_compress_pool_create(4);
	size_t len = 5000;
	char *body = make_body(len);
	size_t *cuts = malloc(len * sizeof(*cuts));
	for (size_t i = 0; i < len; i++)
		cuts[i] = i;
	for (size_t e = 0; e < HP_ARRAY_SIZE(encs); e++)
		round_trip(p, encs[e], 3, body, len, cuts, len);
	free(cuts);
	free(body);
	hp_compress_pool_destroy(p);
}

static void large_and_levels(void **state)
{
	(void)state;
	struct hp_compress_pool *p = hp_compress_pool_create(4);
	size_t len = 1 << 20;
	char *body = make_body(len);
	size_t cuts[3] = {16384, 16385, 900000};
	for (size_t e = 0; e < HP_ARRAY_SIZE(encs); e++) {
		const struct hp_compress_codec *c = hp_compress_codec(encs[e]);
		round_trip(p, encs[e], c->min_level, body, len, cuts, 3);
		round_trip(p, encs[e], 5, body, len, cuts, 3);
		/* Out-of-range levels are clamped, not refused. */
		round_trip(p, encs[e], 99, body, 70000, NULL, 0);
	}
	free(body);
	hp_compress_pool_destroy(p);
}

/* gzip and zstd streams are reset and reused: after the first response no
 * state is created; brotli, which cannot reset, makes one per response. */
static void pool_reuse(void **state)
{
	(void)state;
	char *body = make_body(65536);
	struct hp_compress_pool *p = hp_compress_pool_create(4);
	round_trip(p, HP_ENC_GZIP, 6, body, 65536, NULL, 0);
	round_trip(p, HP_ENC_ZSTD, 3, body, 65536, NULL, 0);
	unsigned long made = hp_compress_pool_created(p);
	for (int i = 0; i < 10; i++) {
		round_trip(p, HP_ENC_GZIP, i % 2 ? 6 : 1, body, 65536, NULL, 0);
		round_trip(p, HP_ENC_ZSTD, i % 2 ? 3 : 9, body, 65536, NULL, 0);
	}
	assert_int_equal(hp_compress_pool_created(p), made);
	round_trip(p, HP_ENC_BR, 5, body, 65536, NULL, 0);
	round_trip(p, HP_ENC_BR, 5, body, 65536, NULL, 0);
	assert_int_equal(hp_compress_pool_created(p), made + 2);
	/* A stream given back unfinished (an aborted response) is reset too. */
	struct hp_buf out = {0};
	struct hp_compress_stream *s = hp_compress_take(p, HP_ENC_GZIP, 6);
	assert_int_equal(hp_compress_feed(s, body, 1000, false, &out), 0);
	hp_compress_give(p, s);
	round_trip(p, HP_ENC_GZIP, 6, body, 65536, NULL, 0);
	hp_buf_fini(&out);
	/* More idle streams than max_idle are freed, not kept. */
	struct hp_compress_pool *small = hp_compress_pool_create(1);
	struct hp_compress_stream *a = hp_compress_take(small, HP_ENC_ZSTD, 3);
	struct hp_compress_stream *b = hp_compress_take(small, HP_ENC_ZSTD, 3);
	hp_compress_give(small, a);
	hp_compress_give(small, b);
	hp_compress_pool_destroy(small);
	free(body);
	hp_compress_pool_destroy(p);
}

static void gzip_of(const char *in, size_t len, struct hp_buf *out)
{
	struct hp_compress_pool *p = hp_compress_pool_create(1);
	struct hp_compress_stream *s = hp_compress_take(p, HP_ENC_GZIP, 6);
	assert_int_equal(hp_compress_feed(s, in, len, true, out), 0);
	hp_compress_give(p, s);
	hp_compress_pool_destroy(p);
}

static int gunzip_all(struct hp_compress_pool *p, const char *in, size_t len, size_t cut,
		      struct hp_buf *out)
{
	struct hp_compress_stream *g = hp_compress_take_gunzip(p);
	int rc = hp_compress_feed(g, in, cut, false, out);
	if (rc == 0)
		rc = hp_compress_feed(g, in + cut, len - cut, true, out);
	hp_compress_give(p, g);
	return rc;
}

static void gunzip_cases(void **state)
{
	(void)state;
	struct hp_compress_pool *p = hp_compress_pool_create(2);
	char *body = make_body(3000);
	struct hp_buf z = {0}, out = {0};
	gzip_of(body, 3000, &z);
	for (size_t cut = 0; cut <= z.len; cut++) {
		hp_buf_reset(&out);
		assert_int_equal(gunzip_all(p, hp_buf_data(&z), z.len, cut, &out), 0);
		assert_int_equal(out.len, 3000);
		assert_memory_equal(hp_buf_data(&out), body, 3000);
	}
	/* Two members are one body. */
	struct hp_buf two = {0};
	hp_buf_append(&two, hp_buf_data(&z), z.len);
	gzip_of("tail", 4, &two);
	hp_buf_reset(&out);
	assert_int_equal(gunzip_all(p, hp_buf_data(&two), two.len, z.len + 3, &out), 0);
	assert_int_equal(out.len, 3004);
	assert_memory_equal(hp_buf_data(&out) + 3000, "tail", 4);
	/* Truncated, at every length: an error at the end, never a crash. */
	for (size_t l = 0; l < z.len; l += 7) {
		hp_buf_reset(&out);
		assert_int_equal(gunzip_all(p, hp_buf_data(&z), l, l / 2, &out), HP_ERR);
	}
	/* Not gzip at all. */
	hp_buf_reset(&out);
	assert_int_equal(gunzip_all(p, "hello, world", 12, 5, &out), HP_ERR);
	/* A broken byte in the middle: the CRC or the data catches it. */
	hp_buf_data(&z)[z.len / 2] ^= 0x55;
	hp_buf_reset(&out);
	assert_int_equal(gunzip_all(p, hp_buf_data(&z), z.len, 0, &out), HP_ERR);
	hp_buf_fini(&z);
	hp_buf_fini(&two);
	hp_buf_fini(&out);
	free(body);
	hp_compress_pool_destroy(p);
}

/* ==== Negotiation: one line per case ==== */

static const enum hp_compress_enc server_order[] = {HP_ENC_BR, HP_ENC_ZSTD, HP_ENC_GZIP};

#define NEG(ae, want) \
	assert_string_equal(hp_compress_name(hp_compress_negotiate( \
		(struct hp_str){ae, strlen(ae)}, true, server_order, 3)), want)

static void negotiate(void **state)
{
	(void)state;
	NEG("gzip", "gzip");
	NEG("gzip, deflate, br, zstd", "br");
	NEG("gzip, deflate, br", "br");
	NEG("GZIP", "gzip");
	NEG("x-gzip", "gzip");
	NEG("deflate", "identity");
	NEG("", "identity");
	NEG("br;q=0.5, gzip", "gzip");
	NEG("br;q=0.5, gzip;q=0.5", "br");
	NEG("br;q=0, gzip", "gzip");
	NEG("br;q=0.000, gzip;q=0.001", "gzip");
	NEG("*", "br");
	NEG("*;q=0", "identity");
	NEG("*;q=0, gzip", "gzip");
	NEG("gzip;q=0.2, *;q=0.5", "br");
	NEG("br;q=0, *", "zstd");
	NEG("identity;q=0", "identity");
	NEG("identity;q=0, gzip", "gzip");
	NEG("gzip;q=0.5, identity", "identity");
	NEG("gzip;q=0.5, identity;q=0.5", "gzip");
	NEG("gzip ; q=1.0", "gzip");
	NEG("  gzip  ,  br  ", "br");
	NEG("gzip;q=1.001", "identity");   /* malformed: skipped */
	NEG("gzip;q=2", "identity");
	NEG("gzip;q=0.12345", "identity");
	NEG("gzip;q=", "identity");
	NEG("gzip;q=abc, zstd", "zstd");
	NEG("gzip;level=9", "gzip");       /* other parameters ignored */
	NEG(",,,gzip,,", "gzip");
	NEG(";q=1", "identity");
	NEG("zstd;q=0.9, br;q=0.8", "zstd");
	/* Absent field: identity. */
	assert_int_equal(hp_compress_negotiate(HP_STR("gzip"), false, server_order, 3),
			 HP_ENC_IDENTITY);
	/* Only the server's codings count, in the server's order. */
	enum hp_compress_enc only_gzip[] = {HP_ENC_GZIP};
	assert_int_equal(hp_compress_negotiate(HP_STR("br, zstd"), true, only_gzip, 1),
			 HP_ENC_IDENTITY);
	enum hp_compress_enc gzip_first[] = {HP_ENC_GZIP, HP_ENC_BR};
	assert_int_equal(hp_compress_negotiate(HP_STR("br, gzip"), true, gzip_first, 2),
			 HP_ENC_GZIP);
	assert_true(hp_compress_accepts(HP_STR("gzip;q=0.1"), true, HP_ENC_GZIP));
	assert_false(hp_compress_accepts(HP_STR("gzip;q=0"), true, HP_ENC_GZIP));
	assert_true(hp_compress_accepts(HP_STR("*"), true, HP_ENC_GZIP));
	assert_false(hp_compress_accepts(HP_STR("br"), true, HP_ENC_GZIP));
	assert_false(hp_compress_accepts(HP_STR("gzip"), false, HP_ENC_GZIP));
	assert_true(hp_compress_accepts(HP_STR(""), true, HP_ENC_IDENTITY));
}

static void media_types(void **state)
{
	(void)state;
	char *types[] = {"text/*", "application/json", "+json", "application/javascript",
			 "+xml", "image/svg+xml"};
	size_t n = HP_ARRAY_SIZE(types);
#define TYPE(ct, want) assert_int_equal(hp_compress_type_matches(HP_STR(ct), types, n), want)
	TYPE("text/html", true);
	TYPE("text/html; charset=utf-8", true);
	TYPE("TEXT/PLAIN", true);
	TYPE("text/", false);
	TYPE("application/json", true);
	TYPE("application/json;charset=utf-8", true);
	TYPE("application/problem+json", true);
	TYPE("application/atom+xml", true);
	TYPE("image/svg+xml", true);
	TYPE("application/javascript", true);
	TYPE("image/png", false);
	TYPE("application/octet-stream", false);
	TYPE("+json", false);
	TYPE("application/jsonx", false);
	TYPE("", false);
	TYPE("  ", false);
	assert_false(hp_compress_type_matches((struct hp_str){NULL, 0}, types, n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_body),
		cmocka_unit_test(split_everywhere),
		cmocka_unit_test(one_byte_feeds),
		cmocka_unit_test(large_and_levels),
		cmocka_unit_test(pool_reuse),
		cmocka_unit_test(gunzip_cases),
		cmocka_unit_test(negotiate),
		cmocka_unit_test(media_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
