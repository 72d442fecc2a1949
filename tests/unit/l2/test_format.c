/* SPDX-License-Identifier: MIT */
/*
 * test_format.c - the L2 object format: a round trip keeps every part
 * (status, times, stale windows, variant key, fields, body, an empty body
 * too); every truncation of a valid encoding is refused, never read past
 * its end; another version byte, too many fields and trailing bytes are
 * refused; the variant key follows Vary (case, several fields, "*"); and
 * the invalidation bus's messages round-trip and refuse what is malformed;
 * purge journal entries keep their time and message, and a journal read's
 * packed answer gives back its entries in order and stops at a cut one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "l2/l2.h"

#define S(lit) ((struct hp_str){lit, sizeof(lit) - 1})

static const struct hp_http_header sample_fields[] = {
	{S("Content-Type"), S("text/plain")},
	{S("Cache-Control"), S("max-age=60, stale-while-revalidate=30")},
	{S("Vary"), S("Accept-Language")},
	{S("X-Empty"), S("")},
};

static struct hp_l2_object sample(const char *body, size_t len)
{
	return (struct hp_l2_object){
		.status = 203,
		.response_time = 1700000000,
		.initial_age_s = 7,
		.expires = 1700000053,
		.swr_s = 30,
		.sie_s = -1,
		.variant = S("accept-language:fr\n"),
		.fields = sample_fields,
		.nfields = HP_ARRAY_SIZE(sample_fields),
		.body = body,
		.body_len = len,
	};
}

static bool str_eq(struct hp_str a, struct hp_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void check_same(const struct hp_l2_object *a, const struct hp_l2_object *b)
{
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->response_time, b->response_time);
	assert_int_equal(a->initial_age_s, b->initial_age_s);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->swr_s, b->swr_s);
	assert_int_equal(a->sie_s, b->sie_s);
	assert_true(str_eq(a->variant, b->variant));
	assert_int_equal(a->nfields, b->nfields);
	for (size_t i = 0; i < a->nfields; i++) {
		assert_true(str_eq(a->fields[i].name, b->fields[i].name));
		assert_true(str_eq(a->fields[i].value, b->fields[i].value));
	}
	assert_int_equal(a->body_len, b->body_len);
	if (a->body_len > 0)
		assert_memory_equal(a->body, b->body, a->body_len);
}

static void test_round_trip(void **state)
{
	(void)state;
	static const char body[] = "hello, shared cache\0with a NUL";
	struct hp_l2_object in = sample(body, sizeof(body));
	struct hp_buf b = {0};
	hp_l2_encode(&b, &in);
	struct hp_http_header fields[8];
	struct hp_l2_object out;
	assert_int_equal(hp_l2_decode(hp_buf_data(&b), b.len, &out, fields, 8), HP_L2_DECODE_OK);
	check_same(&in, &out);
	/* encode_head plus the body appended by the caller is the same bytes. */
	struct hp_buf b2 = {0};
	hp_l2_encode_head(&b2, &in);
	hp_buf_append(&b2, body, sizeof(body));
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(hp_buf_data(&b), hp_buf_data(&b2), b.len);
	hp_buf_fini(&b);
	hp_buf_fini(&b2);
}

static void test_empty_body_and_no_fields(void **state)
{
	(void)state;
	struct hp_l2_object in = sample(NULL, 0);
	in.nfields = 0;
	in.variant = (struct hp_str){"", 0};
	struct hp_buf b = {0};
	hp_l2_encode(&b, &in);
	struct hp_l2_object out;
	assert_int_equal(hp_l2_decode(hp_buf_data(&b), b.len, &out, NULL, 0), HP_L2_DECODE_OK);
	check_same(&in, &out);
	hp_buf_fini(&b);
}

/* Every prefix of a valid encoding, each in its own allocation so that
 * ASan catches a read past its end. */
static void test_truncated(void **state)
{
	(void)state;
	struct hp_l2_object in = sample("0123456789", 10);
	struct hp_buf b = {0};
	hp_l2_encode(&b, &in);
	struct hp_http_header fields[8];
	for (size_t len = 0; len < b.len; len++) {
		char *copy = malloc(len ? len : 1);
		memcpy(copy, hp_buf_data(&b), len);
		struct hp_l2_object out;
		enum hp_l2_decode r = hp_l2_decode(copy, len, &out, fields, 8);
		if (r != HP_L2_DECODE_TRUNCATED)
			fail_msg("%zu of %zu bytes: got %s", len, b.len, hp_l2_decode_strerror(r));
		free(copy);
	}
	hp_buf_fini(&b);
}

static void test_refused(void **state)
{
	(void)state;
	struct hp_l2_object in = sample("x", 1);
	struct hp_buf b = {0};
	hp_l2_encode(&b, &in);
	struct hp_http_header fields[8];
	struct hp_l2_object out;
	char *p = hp_buf_data(&b);
	p[0] = HP_L2_FORMAT_VERSION + 1;
	assert_int_equal(hp_l2_decode(p, b.len, &out, fields, 8), HP_L2_DECODE_VERSION);
	p[0] = 0;
	assert_int_equal(hp_l2_decode(p, b.len, &out, fields, 8), HP_L2_DECODE_VERSION);
	p[0] = HP_L2_FORMAT_VERSION;
	assert_int_equal(hp_l2_decode(p, b.len, &out, fields, 3), HP_L2_DECODE_TOO_MANY_FIELDS);
	hp_buf_append(&b, "!", 1);
	assert_int_equal(hp_l2_decode(hp_buf_data(&b), b.len, &out, fields, 8),
			 HP_L2_DECODE_TRAILING);
	hp_buf_fini(&b);
}

/* A body length near 2^64 must not wrap the bounds check. */
static void test_huge_length(void **state)
{
	(void)state;
	struct hp_l2_object in = sample(NULL, 0);
	in.nfields = 0;
	struct hp_buf b = {0};
	hp_l2_encode(&b, &in);
	memset(hp_buf_data(&b) + b.len - 8, 0xff, 8);
	struct hp_l2_object out;
	assert_int_equal(hp_l2_decode(hp_buf_data(&b), b.len, &out, NULL, 0),
			 HP_L2_DECODE_TRUNCATED);
	hp_buf_fini(&b);
}

static void check_variant(const struct hp_http_header *resp, size_t nresp,
			  const struct hp_http_header *req, size_t nreq, const char *want)
{
	struct hp_buf b = {0};
	bool ok = hp_l2_variant_key(&b, resp, nresp, req, nreq);
	if (want == NULL) {
		assert_false(ok);
	} else {
		assert_true(ok);
		assert_int_equal(b.len, strlen(want));
		if (b.len > 0)
			assert_memory_equal(hp_buf_data(&b), want, b.len);
	}
	hp_buf_fini(&b);
}

static void test_variant_key(void **state)
{
	(void)state;
	const struct hp_http_header none[] = {{S("Content-Type"), S("text/plain")}};
	const struct hp_http_header vary[] = {
		{S("VARY"), S("Accept-Encoding , X-Tenant")},
		{S("Vary"), S("Cookie")},
	};
	const struct hp_http_header star[] = {{S("Vary"), S("Accept, *")}};
	const struct hp_http_header req[] = {
		{S("accept-encoding"), S("gzip")},
		{S("Cookie"), S("a=1")},
		{S("cookie"), S("b=2")},
	};
	check_variant(none, 1, req, 3, "");
	check_variant(vary, 2, req, 3, "accept-encoding:gzip\nx-tenant:\ncookie:a=1,b=2\n");
	check_variant(vary, 2, NULL, 0, "accept-encoding:\nx-tenant:\ncookie:\n");
	check_variant(star, 1, req, 3, NULL);
}

/* The bus's purge messages: every kind round-trips, binary keys included;
 * anything else is refused. */
static void test_purge_messages(void **state)
{
	(void)state;
	static const char key[] = "ns\0example.com\0/a?b=1\0";
	const struct hp_l2_purge cases[] = {
		{'k', false, S("0123456789abcdef"), {key, sizeof(key) - 1}, {"", 0}},
		{'p', true, S("0123456789abcdef"), S("example.com"), S("/api/")},
		{'t', true, S("x"), S("product-7"), {"", 0}},
		{'a', false, S("x"), {"", 0}, {"", 0}},
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		struct hp_buf b = {0};
		hp_l2_purge_encode(&b, &cases[i]);
		struct hp_l2_purge p;
		assert_true(hp_l2_purge_decode(hp_buf_data(&b), b.len, &p));
		assert_int_equal(p.kind, cases[i].kind);
		assert_int_equal(p.soft, cases[i].soft);
		assert_true(str_eq(p.instance, cases[i].instance));
		assert_true(str_eq(p.a, cases[i].a));
		assert_true(str_eq(p.b, cases[i].b));
		/* Every truncation that cuts into the fixed part or a is refused. */
		for (size_t len = 0; len < b.len - cases[i].b.len; len++) {
			char *copy = malloc(len ? len : 1);
			memcpy(copy, hp_buf_data(&b), len);
			assert_false(hp_l2_purge_decode(copy, len, &p));
			free(copy);
		}
		hp_buf_fini(&b);
	}
	struct hp_l2_purge p;
	assert_false(hp_l2_purge_decode("HP2 x k0 \0\0\0\0", 13, &p));
	assert_false(hp_l2_purge_decode("HP1 x z0 \0\0\0\0", 13, &p));
	assert_true(hp_l2_purge_decode("HP1 x a0 \0\0\0\0", 13, &p));
}

/* A journal entry: its time (negative too: it is a wall clock) and its
 * purge; cut anywhere, refused. */
static void test_journal_entry(void **state)
{
	(void)state;
	const struct hp_l2_purge purge = {'p', true, S("0123456789abcdef"), S("example.com"),
					  S("/api/")};
	const int64_t times[] = {1796000000, 0, -5};
	for (size_t i = 0; i < HP_ARRAY_SIZE(times); i++) {
		struct hp_buf msg = {0}, e = {0};
		hp_l2_purge_encode(&msg, &purge);
		hp_l2_journal_entry(&e, times[i], hp_buf_data(&msg), msg.len);
		int64_t at;
		struct hp_l2_purge p;
		assert_true(hp_l2_journal_entry_decode(hp_buf_data(&e), e.len, &at, &p));
		assert_int_equal(at, times[i]);
		assert_int_equal(p.kind, 'p');
		assert_true(p.soft);
		assert_true(str_eq(p.a, purge.a));
		assert_true(str_eq(p.b, purge.b));
		for (size_t len = 0; len < 8 + 4; len++)
			assert_false(hp_l2_journal_entry_decode(hp_buf_data(&e), len, &at, &p));
		hp_buf_fini(&msg);
		hp_buf_fini(&e);
	}
}

/* The packed answer of a journal read: entries in order, empty ones too;
 * a cut entry ends the walk without reading past the end. */
static void test_journal_pack(void **state)
{
	(void)state;
	const struct hp_str entries[] = {S("first"), {"", 0}, S("third\0with a NUL")};
	struct hp_buf b = {0};
	for (size_t i = 0; i < HP_ARRAY_SIZE(entries); i++)
		hp_l2_journal_pack(&b, entries[i].ptr, entries[i].len);
	const char *cur = hp_buf_data(&b), *end = cur + b.len;
	struct hp_str e;
	for (size_t i = 0; i < HP_ARRAY_SIZE(entries); i++) {
		assert_true(hp_l2_journal_unpack(&cur, end, &e));
		assert_true(str_eq(e, entries[i]));
	}
	assert_false(hp_l2_journal_unpack(&cur, end, &e));
	assert_ptr_equal(cur, end);
	/* Cut in the last entry (a copy exactly that long, for ASan): two
	 * entries, then the end. */
	size_t cut = b.len - 3;
	char *copy = malloc(cut);
	memcpy(copy, hp_buf_data(&b), cut);
	cur = copy;
	size_t n = 0;
	while (hp_l2_journal_unpack(&cur, copy + cut, &e))
		n++;
	assert_int_equal(n, 2);
	free(copy);
	hp_buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_body_and_no_fields),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_huge_length),
		cmocka_unit_test(test_variant_key),
		cmocka_unit_test(test_purge_messages),
		cmocka_unit_test(test_journal_entry),
		cmocka_unit_test(test_journal_pack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
