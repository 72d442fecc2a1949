/* SPDX-License-Identifier: MIT */
/*
 * test_policy.c - RFC 9111 rules, one table row per rule: storability,
 * freshness lifetime, age, the per-request decision, stale-if-error and
 * conditional requests answered 304. Times are offsets from T0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "unit/cache/helpers.h"

#define CC "Cache-Control: "

/* ==== Storability (§3) ==== */

struct storable_case {
	int line;
	enum hp_http_method method;
	int status;
	const char *resp;
	bool auth;
	bool allow_cookie;
	bool ok;
	const char *why;
};

#define ST(m, st, resp, auth, cookie, ok, why) {__LINE__, m, st, resp, auth, cookie, ok, why}
static const struct storable_case storable_cases[] = {
	ST(HP_METHOD_GET, 200, "", 0, 0, true, NULL),
	ST(HP_METHOD_GET, 404, "", 0, 0, true, NULL),
	ST(HP_METHOD_HEAD, 200, CC "max-age=60", 0, 0, false, "method"),
	ST(HP_METHOD_POST, 200, CC "max-age=60", 0, 0, false, "method"),
	ST(HP_METHOD_GET, 206, CC "max-age=60", 0, 0, false, "status"),
	ST(HP_METHOD_GET, 304, CC "max-age=60", 0, 0, false, "status"),
	ST(HP_METHOD_GET, 101, CC "max-age=60", 0, 0, false, "status"),
	ST(HP_METHOD_GET, 302, "", 0, 0, false, "status not cacheable by default"),
	ST(HP_METHOD_GET, 500, "", 0, 0, false, "status not cacheable by default"),
	ST(HP_METHOD_GET, 302, CC "max-age=60", 0, 0, true, NULL),
	ST(HP_METHOD_GET, 500, "Expires: @60", 0, 0, true, NULL),
	ST(HP_METHOD_GET, 307, CC "public", 0, 0, true, NULL),
	ST(HP_METHOD_GET, 200, CC "no-store", 0, 0, false, "no-store"),
	ST(HP_METHOD_GET, 200, CC "max-age=60, No-Store", 0, 0, false, "no-store"),
	ST(HP_METHOD_GET, 200, CC "no-store, must-understand", 0, 0, true, NULL),
	ST(HP_METHOD_GET, 599, CC "max-age=60, must-understand", 0, 0, false, "must-understand"),
	ST(HP_METHOD_GET, 599, CC "no-store, must-understand", 0, 0, false, "must-understand"),
	ST(HP_METHOD_GET, 299, CC "max-age=60, must-understand", 0, 0, false, "must-understand"),
	ST(HP_METHOD_GET, 599, CC "max-age=60", 0, 0, true, NULL),
	ST(HP_METHOD_GET, 404, CC "max-age=60, must-understand", 0, 0, true, NULL),
	ST(HP_METHOD_GET, 308, CC "max-age=60, must-understand", 0, 0, true, NULL),
	ST(HP_METHOD_GET, 200, CC "private", 0, 0, false, "private"),
	ST(HP_METHOD_GET, 200, CC "private=\"X-User\"", 0, 0, true, NULL),
	ST(HP_METHOD_GET, 200, CC "max-age=60", 1, 0, false, "authorization"),
	ST(HP_METHOD_GET, 200, CC "public", 1, 0, true, NULL),
	ST(HP_METHOD_GET, 200, CC "s-maxage=60", 1, 0, true, NULL),
	ST(HP_METHOD_GET, 200, CC "must-revalidate", 1, 0, true, NULL),
	ST(HP_METHOD_GET, 200, "Set-Cookie: a=b", 0, 0, false, "set-cookie"),
	ST(HP_METHOD_GET, 200, "Set-Cookie: a=b", 0, 1, true, NULL),
	ST(HP_METHOD_GET, 200, "Set-Cookie: a=b|" CC "private=\"Set-Cookie\"", 0, 0, true, NULL),
	ST(HP_METHOD_GET, 200, "Vary: *", 0, 0, false, "vary *"),
	ST(HP_METHOD_GET, 200, "Vary: Accept-Encoding, *", 0, 0, false, "vary *"),
	ST(HP_METHOD_GET, 200, "Vary: Accept-Encoding", 0, 0, true, NULL),
};

static void test_storable(void **state)
{
	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(storable_cases); i++) {
		const struct storable_case *t = &storable_cases[i];
		struct hp_cache_policy pol = {.allow_set_cookie = t->allow_cookie};
		struct fields f;
		const char *why = "unset";
		fields_parse(&f, t->resp);
		bool ok = hp_cache_storable(t->method, t->status, f.h, f.n, t->auth, &pol, &why);
		if (ok != t->ok || (t->why == NULL ? why != NULL : strcmp(why, t->why) != 0))
			fail_msg("line %d: got %d (%s)", t->line, ok, why ? why : "NULL");
	}
}

/* ==== Freshness lifetime (§4.2.1, §4.2.2) ==== */

struct lifetime_case {
	int line;
	int status;
	const char *resp;
	int64_t default_ttl_s;
	int64_t want;
};

#define LT(st, resp, ttl, want) {__LINE__, st, resp, ttl, want}
static const struct lifetime_case lifetime_cases[] = {
	LT(200, CC "max-age=60", 0, 60),
	LT(200, CC "max-age=60, s-maxage=10", 0, 10),
	LT(200, CC "max-age=60|Expires: @3600|Date: @0", 0, 60),
	LT(200, "Expires: @3600|Date: @0", 0, 3600),
	LT(200, "Expires: @-10|Date: @0", 0, 0),
	LT(200, "Expires: 0|Date: @0", 0, 0),
	LT(200, "Expires: 0|Date: @0|Last-Modified: @-1000", 0, 0),
	LT(200, "Date: @0|Last-Modified: @-1000", 0, 100),
	LT(200, "Date: @0|Last-Modified: @-10000000", 0, 86400),
	LT(200, "Date: @0|Last-Modified: @1000", 0, 0),
	LT(404, "Date: @0|Last-Modified: @-1000", 0, 100),
	LT(302, "Date: @0|Last-Modified: @-1000", 0, 0),
	LT(302, CC "public|Date: @0|Last-Modified: @-1000", 0, 100),
	LT(200, "Date: @0|Last-Modified: @-1000", 300, 300),
	LT(200, CC "max-age=5", 300, 5),
	LT(200, "Expires: @10|Date: @0", 300, 10),
	LT(200, "", 0, 0),
	LT(200, "", 300, 300),
	LT(200, CC "max-age=abc", 300, 0),
};

static void test_lifetime(void **state)
{
	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(lifetime_cases); i++) {
		const struct lifetime_case *t = &lifetime_cases[i];
		struct hp_cache_policy pol = {.default_ttl_s = t->default_ttl_s};
		struct fields f;
		fields_parse(&f, t->resp);
		int64_t got = hp_cache_freshness_lifetime(t->status, f.h, f.n, &pol);
		if (got != t->want)
			fail_msg("line %d: lifetime %lld, want %lld", t->line, (long long)got,
				 (long long)t->want);
	}
}

/* ==== Age (§4.2.3) ==== */

struct age_case {
	int line;
	const char *resp;
	int req_off, resp_off, now_off;
	uint64_t want;
};

#define AGE(resp, rq, rs, now, want) {__LINE__, CC "max-age=1000|" resp, rq, rs, now, want}
static const struct age_case age_cases[] = {
	AGE("Date: @0", 0, 0, 10, 10),
	AGE("Date: @0|Age: 30", 0, 0, 0, 30),
	AGE("Date: @0|Age: 30", -5, 0, 0, 35),
	AGE("Date: @-100", 0, 0, 0, 100),
	AGE("Date: @-100|Age: 20", 0, 0, 5, 105),
	AGE("Date: @100", 0, 0, 0, 0),
	AGE("Date: @0|Age: junk", 0, 0, 3, 3),
	AGE("ETag: \"x\"", 0, 0, 7, 7),
};

static void test_age(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(age_cases); i++) {
		const struct age_case *t = &age_cases[i];
		struct hp_cache_obj *obj = store_obj(c, "age", 200, t->resp, "", T0 + t->req_off,
						     T0 + t->resp_off, NULL, "x");
		assert_non_null(obj);
		uint64_t got = hp_cache_obj_age(obj, T0 + t->now_off);
		if (got != t->want)
			fail_msg("line %d: age %llu, want %llu", t->line, (unsigned long long)got,
				 (unsigned long long)t->want);
		assert_int_equal(hp_cache_obj_ttl(obj, T0 + t->now_off), 1000 - (int64_t)got);
		hp_cache_obj_release(obj);
	}
	hp_cache_destroy(c);
}

/* ==== The per-request decision (§4.2.4, §5.2, RFC 5861) ==== */

struct eval_case {
	int line;
	const char *resp;
	const char *req;
	int now_off;
	int64_t grace_s;
	enum hp_cache_state want;
};

#define FRESH HP_CACHE_FRESH
#define SWR HP_CACHE_STALE_SERVE_REVALIDATE
#define STALE HP_CACHE_STALE
#define BASE "Date: @0|ETag: \"e\"|"
#define EV(resp, req, now, grace, want) {__LINE__, BASE resp, req, now, grace, want}
static const struct eval_case eval_cases[] = {
	EV(CC "max-age=60", "", 10, 0, FRESH),
	EV(CC "max-age=60", "", 59, 0, FRESH),
	EV(CC "max-age=60", "", 60, 0, STALE),
	EV(CC "max-age=60", CC "no-cache", 10, 0, STALE),
	EV(CC "max-age=60", CC "max-age=5", 10, 0, STALE),
	EV(CC "max-age=60", CC "max-age=20", 10, 0, FRESH),
	EV(CC "max-age=60", CC "min-fresh=55", 10, 0, STALE),
	EV(CC "max-age=60", CC "min-fresh=30", 10, 0, FRESH),
	EV(CC "max-age=60", CC "max-stale=30", 80, 0, FRESH),
	EV(CC "max-age=60", CC "max-stale=10", 80, 0, STALE),
	EV(CC "max-age=60", CC "max-stale", 100000, 0, FRESH),
	EV(CC "max-age=60, must-revalidate", CC "max-stale", 80, 0, STALE),
	EV(CC "max-age=60, proxy-revalidate", CC "max-stale", 80, 0, STALE),
	EV(CC "s-maxage=60", CC "max-stale", 80, 0, STALE),
	EV(CC "max-age=60, no-cache", "", 10, 0, STALE),
	EV(CC "max-age=60, no-cache=\"X-Secret\"", "", 10, 0, FRESH),
	EV(CC "max-age=60, stale-while-revalidate=30", "", 80, 0, SWR),
	EV(CC "max-age=60, stale-while-revalidate=30", "", 91, 0, STALE),
	EV(CC "max-age=60, stale-while-revalidate=30, must-revalidate", "", 80, 0, STALE),
	EV(CC "max-age=60, stale-while-revalidate=30", CC "no-cache", 80, 0, STALE),
	EV(CC "max-age=60", "", 100, 50, SWR),
	EV(CC "max-age=60", "", 200, 50, STALE),
	EV(CC "max-age=60, must-revalidate", "", 100, 50, STALE),
	EV(CC "max-age=60", CC "only-if-cached", 10, 0, FRESH),
	EV(CC "max-age=60", CC "only-if-cached", 100, 0, STALE),
	EV("Expires: @30", "", 20, 0, FRESH),
	EV("Expires: @30", "", 40, 0, STALE),
};

static void test_evaluate(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(eval_cases); i++) {
		const struct eval_case *t = &eval_cases[i];
		struct hp_cache_policy pol = {.grace_s = t->grace_s};
		struct hp_http_cache_control cc;
		struct fields rq;
		struct hp_cache_obj *obj = store_obj(c, "ev", 200, t->resp, "", T0, T0, &pol, "b");
		assert_non_null(obj);
		fields_parse(&rq, t->req);
		hp_http_parse_cache_control(rq.h, rq.n, &cc);
		enum hp_cache_state got = hp_cache_obj_evaluate(obj, &cc, T0 + t->now_off, &pol);
		if (got != t->want)
			fail_msg("line %d: state %d, want %d", t->line, got, t->want);
		/* No request directives at all must be accepted too. */
		(void)hp_cache_obj_evaluate(obj, NULL, T0 + t->now_off, NULL);
		hp_cache_obj_release(obj);
	}
	hp_cache_destroy(c);
}

struct sie_case {
	int line;
	const char *resp;
	const char *req;
	int now_off;
	int64_t grace_s;
	bool want;
};

#define SIE(resp, req, now, grace, want) {__LINE__, BASE resp, req, now, grace, want}
static const struct sie_case sie_cases[] = {
	SIE(CC "max-age=60", "", 10, 0, true),
	SIE(CC "max-age=60", "", 100, 0, false),
	SIE(CC "max-age=60, stale-if-error=100", "", 100, 0, true),
	SIE(CC "max-age=60, stale-if-error=100", "", 200, 0, false),
	SIE(CC "max-age=60", CC "stale-if-error=100", 100, 0, true),
	SIE(CC "max-age=60", "", 100, 50, true),
	SIE(CC "max-age=60", "", 200, 50, false),
	SIE(CC "max-age=60, stale-if-error=100, must-revalidate", "", 100, 0, false),
	SIE(CC "s-maxage=60, stale-if-error=100", "", 100, 0, false),
	SIE(CC "max-age=60, no-cache", "", 10, 0, false),
};

static void test_stale_if_error(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(sie_cases); i++) {
		const struct sie_case *t = &sie_cases[i];
		struct hp_cache_policy pol = {.grace_s = t->grace_s};
		struct hp_http_cache_control cc;
		struct fields rq;
		struct hp_cache_obj *obj = store_obj(c, "sie", 200, t->resp, "", T0, T0, &pol, "b");
		assert_non_null(obj);
		fields_parse(&rq, t->req);
		hp_http_parse_cache_control(rq.h, rq.n, &cc);
		bool got = hp_cache_obj_stale_if_error_ok(obj, &cc, T0 + t->now_off, &pol);
		if (got != t->want)
			fail_msg("line %d: got %d", t->line, got);
		hp_cache_obj_release(obj);
	}
	hp_cache_destroy(c);
}

/* ==== Conditional requests answered from the cache (RFC 9110 §13.2.2) ==== */

struct nm_case {
	int line;
	int status;
	const char *resp;
	const char *req;
	bool want;
};

#define NM(st, resp, req, want) {__LINE__, st, CC "max-age=100|" resp, req, want}
static const struct nm_case nm_cases[] = {
	NM(200, "ETag: \"abc\"", "If-None-Match: \"abc\"", true),
	NM(200, "ETag: W/\"abc\"", "If-None-Match: \"abc\"", true),
	NM(200, "ETag: \"abc\"", "If-None-Match: W/\"abc\"", true),
	NM(200, "ETag: \"abc\"", "If-None-Match: \"x\", \"abc\"", true),
	NM(200, "ETag: \"abc\"", "If-None-Match: \"x\"|If-None-Match: \"abc\"", true),
	NM(200, "ETag: \"a,b\"", "If-None-Match: \"a,b\"", true),
	NM(200, "ETag: \"a,b\"", "If-None-Match: \"a\"", false),
	NM(200, "ETag: \"abc\"", "If-None-Match: \"abd\"", false),
	NM(200, "ETag: \"abc\"", "If-None-Match: abc", false),
	NM(200, "ETag: \"abc\"", "If-None-Match: *", true),
	NM(200, "ETag: \"abc\"|Last-Modified: @-100", "If-None-Match: \"x\"|If-Modified-Since: @0",
	   false),
	NM(200, "ETag: \"abc\"|Last-Modified: @-100",
	   "If-None-Match: \"abc\"|If-Modified-Since: @-500", true),
	NM(200, "Last-Modified: @-100", "If-Modified-Since: @0", true),
	NM(200, "Last-Modified: @-100", "If-Modified-Since: @-100", true),
	NM(200, "Last-Modified: @-100", "If-Modified-Since: @-200", false),
	NM(200, "Last-Modified: @-100", "If-Modified-Since: yesterday", false),
	NM(200, "Date: @-50", "If-Modified-Since: @0", true),
	NM(200, "Date: @-50", "If-Modified-Since: @-60", false),
	NM(404, "ETag: \"abc\"", "If-None-Match: \"abc\"", false),
	NM(200, "", "If-None-Match: \"abc\"", false),
	NM(200, "ETag: \"abc\"", "", false),
};

static void test_not_modified(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(nm_cases); i++) {
		const struct nm_case *t = &nm_cases[i];
		struct fields rq;
		struct hp_cache_obj *obj = store_obj(c, "nm", t->status, t->resp, "", T0, T0, NULL,
						     "b");
		assert_non_null(obj);
		fields_parse(&rq, t->req);
		bool got = hp_cache_not_modified(obj, rq.h, rq.n);
		if (got != t->want)
			fail_msg("line %d: got %d", t->line, got);
		hp_cache_obj_release(obj);
	}
	hp_cache_destroy(c);
}

/* Validators the proxy sends when it revalidates. */
static void test_validators(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);
	struct hp_cache_obj *obj = store_obj(c, "v", 200, "ETag: \"v1\"|Last-Modified: @-5", "", T0,
					     T0, NULL, "b");

	(void)state;
	assert_non_null(obj);
	assert_true(hp_str_eq(hp_cache_obj_etag(obj), "\"v1\""));
	char lm[HP_HTTP_DATE_LEN + 1];
	hp_http_date_format(T0 - 5, lm);
	assert_true(hp_str_eq(hp_cache_obj_last_modified(obj), lm));
	hp_cache_obj_release(obj);
	hp_cache_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_storable),
		cmocka_unit_test(test_lifetime),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test(test_stale_if_error),
		cmocka_unit_test(test_not_modified),
		cmocka_unit_test(test_validators),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
