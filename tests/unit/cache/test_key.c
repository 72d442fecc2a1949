/* SPDX-License-Identifier: MIT */
/*
 * test_key.c - cache key normalization: requests a user calls "the same URL"
 * share a key, anything that changes the response does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "unit/cache/helpers.h"

struct key {
	char bytes[8192];
	size_t len;
	uint64_t hash;
};

static struct hp_str S(const char *s)
{
	return (struct hp_str){s, strlen(s)};
}

static void build(struct key *k, const struct hp_cache_key_spec *spec, const char *host,
		  const char *path, const char *query, const char *hdrs)
{
	struct hp_buf b = {0};
	struct fields f;

	fields_parse(&f, hdrs);
	hp_buf_append(&b, "junk", 4); /* keys are appended: earlier bytes are not part of it */
	k->hash = hp_cache_key_build(&b, spec, S(host), S(path), S(query), f.h, f.n);
	assert_true(b.len - 4 < sizeof(k->bytes));
	k->len = b.len - 4;
	memcpy(k->bytes, hp_buf_data(&b) + 4, k->len);
	assert_int_equal(k->hash, XXH3_64bits(k->bytes, k->len));
	hp_buf_fini(&b);
}

static bool same(const struct hp_cache_key_spec *spec, const char *h1, const char *p1,
		 const char *q1, const char *r1, const char *h2, const char *p2, const char *q2,
		 const char *r2)
{
	struct key a;
	struct key b;

	build(&a, spec, h1, p1, q1, r1);
	build(&b, spec, h2, p2, q2, r2);
	if (a.len == b.len && memcmp(a.bytes, b.bytes, a.len) == 0) {
		assert_int_equal(a.hash, b.hash);
		return true;
	}
	return false;
}

struct key_case {
	int line;
	const char *h1, *p1, *q1;
	const char *h2, *p2, *q2;
	bool same;
};

#define K(h1, p1, q1, h2, p2, q2, eq) {__LINE__, h1, p1, q1, h2, p2, q2, eq}
static const struct key_case url_cases[] = {
	K("example.com", "/a", "", "example.com", "/a", "", true),
	K("Example.COM", "/a", "", "example.com", "/a", "", true),
	K("example.com:80", "/a", "", "example.com", "/a", "", true),
	K("example.com:8080", "/a", "", "example.com", "/a", "", false),
	K("example.org", "/a", "", "example.com", "/a", "", false),
	K("example.com", "/A", "", "example.com", "/a", "", false),
	K("example.com", "/%41%7e", "", "example.com", "/A~", "", true),
	K("example.com", "/a%2fb", "", "example.com", "/a%2Fb", "", true),
	K("example.com", "/a%2Fb", "", "example.com", "/a/b", "", false),
	K("example.com", "/a%zz", "", "example.com", "/a%zz", "", true),
	K("example.com", "/a%4", "", "example.com", "/a%4", "", true),
	K("example.com", "", "", "example.com", "/", "", true),
	K("example.com", "/a", "x=1", "example.com", "/a", "", false),
	K("example.com", "/a", "b=1&a=2", "example.com", "/a", "a=2&b=1", true),
	K("example.com", "/a", "a=1&&b=2&", "example.com", "/a", "a=1&b=2", true),
	K("example.com", "/a", "a=%41", "example.com", "/a", "a=A", true),
	K("example.com", "/a", "b=%41&a=1", "example.com", "/a", "a=1&b=A", true),
	K("example.com", "/a", "a=1", "example.com", "/a", "a=2", false),
	K("example.com", "/a", "a=1&a=2", "example.com", "/a", "a=2&a=1", true),
};

static void test_url_normalization(void **state)
{
	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(url_cases); i++) {
		const struct key_case *t = &url_cases[i];
		if (same(NULL, t->h1, t->p1, t->q1, "", t->h2, t->p2, t->q2, "") != t->same)
			fail_msg("line %d: expected %s", t->line, t->same ? "same" : "different");
	}
}

static void test_query_rules(void **state)
{
	static const char *const include[] = {"id", "page"};
	static const char *const exclude[] = {"utm_source", "utm_medium"};
	struct hp_cache_key_spec ignore = {.query_ignore = true};
	struct hp_cache_key_spec inc = {.query_include = include, .nquery_include = 2};
	struct hp_cache_key_spec exc = {.query_exclude = exclude, .nquery_exclude = 2};

	(void)state;
	assert_true(same(&ignore, "h", "/a", "x=1&y=2", "", "h", "/a", "", ""));
	assert_false(same(&ignore, "h", "/a", "", "", "h", "/b", "", ""));
	assert_true(same(&inc, "h", "/a", "id=1&utm=x&page=2", "", "h", "/a", "page=2&id=1", ""));
	assert_false(same(&inc, "h", "/a", "id=1", "", "h", "/a", "id=2", ""));
	assert_true(same(&inc, "h", "/a", "idx=1", "", "h", "/a", "", ""));
	assert_true(same(&exc, "h", "/a", "utm_source=x&q=1&utm_medium", "", "h", "/a", "q=1", ""));
	assert_false(same(&exc, "h", "/a", "q=1", "", "h", "/a", "q=2", ""));
	assert_false(same(&exc, "h", "/a", "utm_sourcex=1", "", "h", "/a", "", ""));
}

/* More parameters than fit on the stack must sort the same way. */
static void test_many_params(void **state)
{
	char fwd[2048] = "";
	char rev[2048] = "";
	char p[16];

	(void)state;
	for (int i = 0; i < 150; i++) {
		snprintf(p, sizeof(p), "%sp%03d=%d", i ? "&" : "", i, i);
		strcat(fwd, p);
		snprintf(p, sizeof(p), "%sp%03d=%d", i ? "&" : "", 149 - i, 149 - i);
		strcat(rev, p);
	}
	assert_true(same(NULL, "h", "/", fwd, "", "h", "/", rev, ""));
	assert_false(same(NULL, "h", "/", fwd, "", "h", "/", "p000=0", ""));
}

static void test_header_keys(void **state)
{
	static const char *const hdrs[] = {"Accept-Language", "x-device"};
	struct hp_cache_key_spec spec = {.headers = hdrs, .nheaders = 2};

	(void)state;
	assert_true(same(&spec, "h", "/", "", "accept-language: en|X-Device: m", "h", "/", "",
			 "X-Device: m|Accept-Language: en"));
	assert_false(same(&spec, "h", "/", "", "Accept-Language: en", "h", "/", "",
			  "Accept-Language: fr"));
	assert_false(same(&spec, "h", "/", "", "Accept-Language:", "h", "/", "", ""));
	assert_true(same(&spec, "h", "/", "", "Accept-Language: en|Cookie: a=1", "h", "/", "",
			 "Accept-Language: en|Cookie: b=2"));
	/* Without the rule, request fields do not matter. */
	assert_true(same(NULL, "h", "/", "", "Accept-Language: en", "h", "/", "",
			 "Accept-Language: fr"));
}

static void test_namespace(void **state)
{
	struct hp_cache_key_spec v1 = {.namespace = "v1"};
	struct hp_cache_key_spec v2 = {.namespace = "v2"};
	struct key a;
	struct key b;

	(void)state;
	build(&a, &v1, "h", "/a", "", "");
	build(&b, &v2, "h", "/a", "", "");
	assert_false(a.len == b.len && memcmp(a.bytes, b.bytes, a.len) == 0);
	assert_true(same(&v1, "h", "/a", "", "", "h", "/a", "", ""));
	/* A namespace cannot be confused with a host. */
	struct hp_cache_key_spec nsh = {.namespace = "h"};
	build(&a, &nsh, "", "/a", "", "");
	build(&b, NULL, "h", "/a", "", "");
	assert_false(a.len == b.len && memcmp(a.bytes, b.bytes, a.len) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_normalization),
		cmocka_unit_test(test_query_rules),
		cmocka_unit_test(test_many_params),
		cmocka_unit_test(test_header_keys),
		cmocka_unit_test(test_namespace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
