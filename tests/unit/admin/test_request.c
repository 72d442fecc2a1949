/* SPDX-License-Identifier: MIT */
/*
 * test_request.c - what an admin request asks (hp_admin_parse): endpoints
 * and their methods, purge parameters percent-decoded, and every mistake an
 * operator can make in a purge query answered 400 rather than "purged 0".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "admin/admin.h"

static int parse(const char *method, const char *target, char *scratch,
		 struct hp_admin_request *r)
{
	return hp_admin_parse((struct hp_str){method, strlen(method)},
			      (struct hp_str){target, strlen(target)}, scratch, r);
}

static void assert_str(struct hp_str s, const char *want)
{
	if (s.len != strlen(want) || memcmp(s.ptr, want, s.len) != 0)
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.ptr, want);
}

static void test_endpoints_and_methods(void **state)
{
	(void)state;
	static const struct {
		const char *method, *target;
		int status;
		enum hp_admin_action action;
	} cases[] = {
		{"GET", "/health", 0, HP_ADMIN_HEALTH},
		{"HEAD", "/health", 0, HP_ADMIN_HEALTH},
		{"GET", "/ready?verbose=1", 0, HP_ADMIN_READY},
		{"GET", "/cache", 0, HP_ADMIN_CACHE_STATS},
		{"GET", "/metrics", 0, HP_ADMIN_METRICS},
		{"HEAD", "/metrics", 0, HP_ADMIN_METRICS},
		{"GET", "/metrics?name[]=x", 0, HP_ADMIN_METRICS},
		{"POST", "/metrics", 405, HP_ADMIN_METRICS},
		{"GET", "/metrics/", 404, HP_ADMIN_HEALTH},
		{"POST", "/health", 405, HP_ADMIN_HEALTH},
		{"GET", "/purge?all", 405, HP_ADMIN_PURGE},
		{"DELETE", "/purge?all", 405, HP_ADMIN_PURGE},
		{"POST", "/purge?all", 0, HP_ADMIN_PURGE},
		{"PURGE", "/purge?all=1", 0, HP_ADMIN_PURGE},
		{"GET", "/", 0, HP_ADMIN_DASHBOARD},
		{"GET", "/status", 0, HP_ADMIN_STATUS},
		{"POST", "/status", 405, HP_ADMIN_STATUS},
		{"GET", "/healthz", 404, HP_ADMIN_HEALTH},
		{"GET", "/purge/x", 404, HP_ADMIN_HEALTH},
		{"POST", "/reload", 0, HP_ADMIN_RELOAD},
		{"GET", "/reload", 405, HP_ADMIN_RELOAD},
		{"PURGE", "/reload", 405, HP_ADMIN_RELOAD},
		{"POST", "/reload/", 404, HP_ADMIN_HEALTH},
		{"POST", "/reloads", 404, HP_ADMIN_HEALTH},
	};
	char scratch[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hp_admin_request r;
		int status = parse(cases[i].method, cases[i].target, scratch, &r);
		if (status != cases[i].status)
			fail_msg("%s %s: status %d, want %d", cases[i].method, cases[i].target,
				 status, cases[i].status);
		if (status == 0 || status == 405)
			assert_int_equal(r.action, cases[i].action);
		if (status != 0)
			assert_non_null(r.error);
	}
}

/* /reload takes nothing: the file is the one the server started with, so a
 * parameter is a mistake (someone expecting ?file=), never ignored. */
static void test_reload(void **state)
{
	(void)state;
	char scratch[256];
	struct hp_admin_request r;
	assert_int_equal(parse("POST", "/reload", scratch, &r), 0);
	assert_int_equal(r.action, HP_ADMIN_RELOAD);
	assert_int_equal(parse("POST", "/reload?", scratch, &r), 0);
	assert_int_equal(parse("POST", "/reload?file=/etc/x.json", scratch, &r), 400);
	assert_string_equal(r.error, "reload takes no parameters");
	assert_int_equal(parse("GET", "/reload?x", scratch, &r), 405);
	assert_string_equal(r.error, "use POST");
}

static void test_purge_url(void **state)
{
	(void)state;
	char scratch[256];
	struct hp_admin_request r;
	const char *t = "/purge?url=http%3A%2F%2FExample.test%3A8080%2Fa%2520b%3Fx%3D1%26y%3D2";
	assert_int_equal(parse("POST", t, scratch, &r), 0);
	assert_int_equal(r.purge, HP_ADMIN_PURGE_URL);
	assert_false(r.soft);
	assert_str(r.host, "Example.test:8080");
	assert_str(r.path, "/a%20b"); /* decoded once: the path as sent on the wire */
	assert_str(r.query, "x=1&y=2");

	/* Unencoded works too when the URL has no '&'; a fragment is dropped. */
	assert_int_equal(parse("POST", "/purge?soft=1&url=https://h/p?q#frag", scratch, &r), 0);
	assert_true(r.soft);
	assert_str(r.host, "h");
	assert_str(r.path, "/p");
	assert_str(r.query, "q");

	/* No path: "/". */
	assert_int_equal(parse("POST", "/purge?url=http://h", scratch, &r), 0);
	assert_str(r.path, "/");
	assert_str(r.query, "");
}

static void test_purge_prefix_tag_all(void **state)
{
	(void)state;
	char scratch[256];
	struct hp_admin_request r;
	assert_int_equal(parse("POST", "/purge?prefix=http://h/api/&soft=true", scratch, &r), 0);
	assert_int_equal(r.purge, HP_ADMIN_PURGE_PREFIX);
	assert_true(r.soft);
	assert_str(r.host, "h");
	assert_str(r.path, "/api/");

	assert_int_equal(parse("POST", "/purge?tag=product-1%2Cproduct-2&soft=0", scratch, &r), 0);
	assert_int_equal(r.purge, HP_ADMIN_PURGE_TAG);
	assert_false(r.soft);
	assert_str(r.tags, "product-1,product-2");

	assert_int_equal(parse("POST", "/purge?all", scratch, &r), 0);
	assert_int_equal(r.purge, HP_ADMIN_PURGE_ALL);
	assert_int_equal(parse("POST", "/purge?&&all=yes&", scratch, &r), 0);
	assert_int_equal(r.purge, HP_ADMIN_PURGE_ALL);
}

static void test_purge_mistakes(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"/purge",                          /* nothing to purge */
		"/purge?soft=1",                   /* still nothing */
		"/purge?tags=a",                   /* a typo */
		"/purge?tag=a&tag=b",              /* repeated */
		"/purge?tag=a&all",                /* two kinds */
		"/purge?url=http://h/a&prefix=http://h/", /* two kinds */
		"/purge?tag=",                     /* empty tag */
		"/purge?tag=%20",                  /* blank tag */
		"/purge?url=/relative",            /* no host */
		"/purge?url=ftp://h/x",            /* not http */
		"/purge?url=http:///x",            /* empty host */
		"/purge?url=http://a%20b/x",       /* invalid host */
		"/purge?prefix=h/x",               /* no scheme */
		"/purge?tag=a%2",                  /* truncated escape */
		"/purge?tag=a%zz",                 /* bad escape */
		"/purge?all=0",                    /* all, but not */
		"/purge?all&soft=maybe",           /* bad flag */
	};
	char scratch[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hp_admin_request r;
		int status = parse("POST", bad[i], scratch, &r);
		if (status != 400)
			fail_msg("%s: status %d, want 400", bad[i], status);
		assert_non_null(r.error);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints_and_methods),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_purge_url),
		cmocka_unit_test(test_purge_prefix_tag_all),
		cmocka_unit_test(test_purge_mistakes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
