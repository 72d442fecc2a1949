/* SPDX-License-Identifier: MIT */
/*
 * test_cache_control.c - hp_http_parse_cache_control(): one table line per
 * field value and the directives it must yield, written as a canonical
 * dump of the parsed struct so that every field is compared on each line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "http/http.h"

struct cc_case {
	int line;
	const char *value;
	const char *want; /* dump() of the result */
};

#define CC(value, want) {__LINE__, value, want}

static const struct cc_case cases[] = {
	CC("", ""),
	CC("no-store", "no-store"),
	CC("NO-Store", "no-store"),
	CC(" ,, no-store ,,", "no-store"),
	CC("no-store junk", "no-store"),
	CC("max-age=60", "max-age=60"),
	CC("max-age=\"60\"", "max-age=60"),
	CC("max-age=0", "max-age=0"),
	CC("max-age=abc", "max-age=0"),         /* invalid max-age means stale (§4.2.1) */
	CC("max-age=", "max-age=0"),
	CC("max-age", "max-age=0"),
	CC("max-age=-1", "max-age=0"),
	CC("max-age=1.5", "max-age=0"),
	CC("max-age=5 junk, no-store", "no-store max-age=0"),
	CC("max-age=99999999999999999999999", "max-age=2147483648"),
	CC("max-age=10, max-age=20", "max-age=10"),
	CC("s-maxage=5, public", "public s-maxage=5"),
	CC("s-maxage=abc", ""),
	CC("s-maxage", ""),
	CC("no-cache", "no-cache"),
	CC("no-cache=\"Set-Cookie, X-A\"", "no-cache=\"Set-Cookie, X-A\""),
	CC("no-cache=\"a\", no-cache", "no-cache"),
	CC("no-cache, no-cache=\"a\"", "no-cache"),
	CC("no-cache=\"unterminated", "no-cache"),
	CC("private", "private"),
	CC("private=\"Authorization\"", "private=\"Authorization\""),
	CC("private=x-token", "private=\"x-token\""),
	CC("max-stale", "max-stale"),
	CC("max-stale=10", "max-stale=10"),
	CC("max-stale=x", ""),
	CC("min-fresh=5", "min-fresh=5"),
	CC("min-fresh=x", ""),
	CC("stale-while-revalidate=30, stale-if-error=600",
	   "stale-while-revalidate=30 stale-if-error=600"),
	CC("immutable, must-understand, no-transform, only-if-cached, must-revalidate, "
	   "proxy-revalidate",
	   "must-revalidate proxy-revalidate only-if-cached no-transform immutable "
	   "must-understand"),
	CC("foo, bar=\"baz, no-store\", public", "public"),  /* commas inside quotes */
	CC("bar=\"a\\\", no-store\", public", "public"),       /* escaped quote */
	CC("foo=\"unterminated, no-store", ""),
	CC("=5, no-store", "no-store"),
	CC("no-store=1", "no-store"),
	CC("public, max-age=3600, s-maxage=600, stale-while-revalidate=60",
	   "public max-age=3600 s-maxage=600 stale-while-revalidate=60"),
};

static void put_flag(char **p, bool on, const char *name)
{
	if (on)
		*p += sprintf(*p, " %s", name);
}

static void put_fields(char **p, bool on, struct hp_str fields, const char *name)
{
	if (on && fields.len > 0)
		*p += sprintf(*p, " %s=\"%.*s\"", name, (int)fields.len, fields.ptr);
	else
		put_flag(p, on, name);
}

static void put_seconds(char **p, int64_t v, const char *name)
{
	if (v == INT64_MAX)
		*p += sprintf(*p, " %s", name);
	else if (v >= 0)
		*p += sprintf(*p, " %s=%lld", name, (long long)v);
}

static const char *dump(const struct hp_http_cache_control *cc)
{
	static char buf[512];
	char *p = buf;

	*p = '\0';
	put_flag(&p, cc->no_store, "no-store");
	put_fields(&p, cc->no_cache, cc->no_cache_fields, "no-cache");
	put_fields(&p, cc->private_, cc->private_fields, "private");
	put_flag(&p, cc->public_, "public");
	put_flag(&p, cc->must_revalidate, "must-revalidate");
	put_flag(&p, cc->proxy_revalidate, "proxy-revalidate");
	put_flag(&p, cc->only_if_cached, "only-if-cached");
	put_flag(&p, cc->no_transform, "no-transform");
	put_flag(&p, cc->immutable, "immutable");
	put_flag(&p, cc->must_understand, "must-understand");
	put_seconds(&p, cc->max_age, "max-age");
	put_seconds(&p, cc->s_maxage, "s-maxage");
	put_seconds(&p, cc->min_fresh, "min-fresh");
	put_seconds(&p, cc->stale_while_revalidate, "stale-while-revalidate");
	put_seconds(&p, cc->stale_if_error, "stale-if-error");
	put_seconds(&p, cc->max_stale, "max-stale");
	return buf[0] == ' ' ? buf + 1 : buf;
}

static void test_table(void **state)
{
	(void)state;
	int failed = 0;

	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		const struct cc_case *c = &cases[i];
		struct hp_http_header h = {HP_STR("Cache-Control"),
					   {c->value, strlen(c->value)}};
		struct hp_http_cache_control cc;

		hp_http_parse_cache_control(&h, 1, &cc);
		if (strcmp(dump(&cc), c->want) != 0) {
			print_error("line %d: got \"%s\", want \"%s\"\n", c->line, dump(&cc),
				    c->want);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void test_several_fields(void **state)
{
	(void)state;
	const struct hp_http_header h[] = {
		{HP_STR("cache-control"), HP_STR("max-age=5")},
		{HP_STR("Vary"), HP_STR("no-store")},
		{HP_STR("Cache-Control"), HP_STR("private, max-age=9")},
	};
	struct hp_http_cache_control cc;

	hp_http_parse_cache_control(h, 3, &cc);
	assert_string_equal(dump(&cc), "private max-age=5");
	hp_http_parse_cache_control(h, 0, &cc);
	assert_string_equal(dump(&cc), "");
	assert_int_equal(cc.max_age, -1);
	assert_int_equal(cc.max_stale, -1);
}

/* Targeted fields (RFC 9213): dictionaries, NULL where the field must be
 * ignored (absent, empty or invalid). */
static const struct cc_case targeted_cases[] = {
	CC("max-age=60", "max-age=60"),
	CC("no-store", "no-store"),
	CC("no-store=?1, max-age=5", "no-store max-age=5"),
	CC("no-store=?0, max-age=5", "max-age=5"),
	CC("max-age=60;x=1, s-maxage=10", "max-age=60 s-maxage=10"),
	CC("private=\"Set-Cookie\", stale-while-revalidate=30", "private=\"Set-Cookie\" stale-while-revalidate=30"),
	CC("max-age=-5", "max-age=0"),
	CC("max-age=1.5", "max-age=0"),
	CC("s-maxage=-5, public", "public"),
	CC("unknown=tok, max-age=7", "max-age=7"),
	CC("max-age=99999999999999", "max-age=2147483648"),
	CC("", NULL),
	CC("   ", NULL),
	CC("MAX-AGE=60", NULL),
	CC("max-age=60,", NULL),
	CC("max-age=60 no-store", NULL),
	CC("max-age=(1 2)", NULL),
	CC("max-age=\"60", NULL),
	CC("max-age=9999999999999999", NULL),
	CC("max-age=60, =5", NULL),
	CC("max-age=?2", NULL),
};

static void test_targeted(void **state)
{
	(void)state;
	int failed = 0;

	for (size_t i = 0; i < HP_ARRAY_SIZE(targeted_cases); i++) {
		const struct cc_case *c = &targeted_cases[i];
		struct hp_http_header h[] = {
			{HP_STR("Cache-Control"), HP_STR("no-store")},
			{HP_STR("CDN-Cache-Control"), {c->value, strlen(c->value)}},
		};
		struct hp_http_cache_control cc;
		bool ok = hp_http_parse_targeted_cache_control(h, 2, "cdn-cache-control", &cc);
		const char *got = ok ? dump(&cc) : NULL;
		if ((got == NULL) != (c->want == NULL) ||
		    (got != NULL && strcmp(got, c->want) != 0)) {
			print_error("line %d: got \"%s\", want \"%s\"\n", c->line,
				    got ? got : "(ignored)", c->want ? c->want : "(ignored)");
			failed++;
		}
	}
	struct hp_http_cache_control cc;
	const struct hp_http_header none = {HP_STR("Cache-Control"), HP_STR("max-age=1")};
	assert_false(hp_http_parse_targeted_cache_control(&none, 1, "CDN-Cache-Control", &cc));
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_several_fields),
		cmocka_unit_test(test_targeted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
