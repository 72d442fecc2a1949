/* SPDX-License-Identifier: MIT */
/*
 * test_snap.c - configuration snapshots: the route table compiled from a
 * config (match order, host without case and port, prefixes), the cache
 * rules a route gets with and without a cache, the access log opened by
 * the snapshot, and reference counting (LeakSanitizer fails a leak).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "config/config.h"
#include "net/net.h"
#include "proxy/snap.h"
#include "ratelimit/ratelimit.h"

#define UP "\"upstreams\": {\"a\": {\"servers\": [\"http://127.0.0.1:9000\"]}, " \
	   "\"b\": {\"servers\": [\"http://127.0.0.1:9001\"]}}"

static struct hp_snap *snap_after(const char *json, struct hp_cache *cache,
				  const struct hp_snap *prev)
{
	struct hp_config_error cerr;
	struct hp_config *cfg = hp_config_load_buffer("t.json", json, strlen(json), NULL, NULL,
						      &cerr);
	if (cfg == NULL)
		fail_msg("load: %s", cerr.msg);
	char err[256] = "";
	struct hp_snap *s = hp_snap_create(cfg, true, cache, prev, 7, err, sizeof(err));
	if (s == NULL)
		fail_msg("snapshot: %s", err);
	return s;
}

static struct hp_snap *snap_of(const char *json, struct hp_cache *cache)
{
	return snap_after(json, cache, NULL);
}

static const char routes_json[] =
	"{" UP ", \"routes\": ["
	"{\"host\": \"API.example.com\", \"path_prefix\": \"/v1/\", \"upstream\": \"b\"},"
	"{\"host\": \"api.example.com\", \"upstream\": \"a\"},"
	"{\"path_prefix\": \"/static/\", \"upstream\": \"b\", \"cache\": {\"enabled\": false}}]}";

static void test_match_order_host_and_prefix(void **state)
{
	(void)state;
	struct hp_snap *s = snap_of(routes_json, NULL);
	assert_int_equal(s->generation, 7);
	assert_int_equal(s->nroutes, 3);
	const struct hp_route *r = s->routes;
	assert_ptr_equal(hp_snap_match(s, HP_STR("api.example.com"), HP_STR("/v1/x")), &r[0]);
	assert_ptr_equal(hp_snap_match(s, HP_STR("Api.Example.COM:8080"), HP_STR("/v1/")), &r[0]);
	assert_ptr_equal(hp_snap_match(s, HP_STR("api.example.com"), HP_STR("/v1")), &r[1]);
	assert_ptr_equal(hp_snap_match(s, HP_STR("other"), HP_STR("/static/a.css")), &r[2]);
	assert_null(hp_snap_match(s, HP_STR("other"), HP_STR("/v1/x")));
	assert_null(hp_snap_match(s, HP_STR("api.example.com.evil"), HP_STR("/v1/")));
	assert_null(hp_snap_match(s, HP_STR("other"), HP_STR("/static")));
	/* Groups resolve by name, in the file's order of upstreams. */
	assert_int_equal(r[0].group, 1);
	assert_int_equal(r[1].group, 0);
	assert_int_equal(s->ngroups, 2);
	hp_snap_release(s);
}

static void test_ipv6_host_keeps_brackets(void **state)
{
	(void)state;
	struct hp_snap *s = snap_of("{" UP ", \"routes\": [{\"host\": \"[::1]\"}]}", NULL);
	assert_non_null(hp_snap_match(s, HP_STR("[::1]:8080"), HP_STR("/")));
	assert_non_null(hp_snap_match(s, HP_STR("[::1]"), HP_STR("/x")));
	assert_null(hp_snap_match(s, HP_STR("[::2]"), HP_STR("/x")));
	hp_snap_release(s);
}

static void test_route_cache_needs_a_cache(void **state)
{
	(void)state;
	struct hp_snap *s = snap_of(routes_json, NULL);
	assert_null(s->cache);
	assert_false(s->routes[0].cache.enabled);
	hp_snap_release(s);

	struct hp_cache_conf cc = {.max_memory = 1 << 20};
	struct hp_cache *cache = hp_cache_create(&cc);
	s = snap_of("{" UP ", \"routes\": ["
		    "{\"path_prefix\": \"/s/\", \"cache\": {\"enabled\": false}},"
		    "{\"path_prefix\": \"/\", \"cache\": {\"default_ttl\": \"5m\"}}],"
		    "\"cache\": {\"namespace\": \"v2\"}}", cache);
	assert_ptr_equal(s->cache, cache);
	assert_false(s->routes[0].cache.enabled);
	assert_true(s->routes[1].cache.enabled);
	assert_int_equal(s->routes[1].cache.policy.default_ttl_s, 300);
	assert_string_equal(s->routes[1].cache.key.namespace, "v2");
	hp_snap_release(s);

	/* cache.enabled false in the snapshot: the proxy's cache goes unused. */
	s = snap_of("{" UP ", \"cache\": {\"enabled\": false}}", cache);
	assert_null(s->cache);
	assert_false(s->routes[0].cache.enabled);
	hp_snap_release(s);
	hp_cache_destroy(cache);
}

/* Each reference is released once; the last frees (LeakSanitizer checks). */
static void test_references(void **state)
{
	(void)state;
	struct hp_snap *s = snap_of(routes_json, NULL);
	struct hp_snap *again = hp_snap_fetch(s);
	assert_ptr_equal(again, s);
	hp_snap_release(s);
	assert_int_equal(hp_snap_match(again, HP_STR("x"), HP_STR("/static/"))->group, 1);
	hp_snap_release(again);
	hp_snap_release(NULL);
}

static void test_bad_snapshot_frees_config(void **state)
{
	(void)state;
	char json[256];
	snprintf(json, sizeof(json),
		 "{" UP ", \"access_log\": {\"path\": \"/nonexistent-dir/x/access.log\"}}");
	struct hp_config_error cerr;
	struct hp_config *cfg = hp_config_load_buffer("t.json", json, strlen(json), NULL, NULL,
						      &cerr);
	assert_non_null(cfg);
	char err[256] = "";
	assert_null(hp_snap_create(cfg, true, NULL, NULL, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "access_log: cannot open /nonexistent-dir/x/access.log"));
}

#define RL(name, rate) "{\"path_prefix\": \"/" name "/\", \"name\": \"" name "\", " \
	"\"rate_limit\": {\"rate\": \"" rate "\", \"burst\": 2}}"

/* A reload hands a route's key table to the new snapshot only when the
 * route's name and policy are unchanged; it outlives the old snapshot. */
static void test_limiter_carried_over(void **state)
{
	(void)state;
	struct hp_snap *a = snap_of("{" UP ", \"routes\": [" RL("keep", "10/s") ", "
				    RL("chg", "10/s") ", " RL("gone", "10/s") "]}", NULL);
	struct hp_ratelimit_verdict v;
	assert_true(hp_ratelimit_take(a->routes[0].limiter, "k", 1, 1, &v));
	/* "chg" changes its rate; "new" takes the place of "gone"; "keep" moved. */
	struct hp_snap *b = snap_after("{" UP ", \"routes\": [" RL("new", "10/s") ", "
				       RL("chg", "20/s") ", " RL("keep", "10/s") "]}", NULL, a);
	assert_ptr_equal(b->routes[2].limiter, a->routes[0].limiter);
	assert_ptr_not_equal(b->routes[1].limiter, a->routes[1].limiter);
	assert_ptr_not_equal(b->routes[0].limiter, a->routes[2].limiter);
	hp_snap_release(a);
	assert_int_equal(hp_ratelimit_count(b->routes[2].limiter), 1);
	assert_int_equal(hp_ratelimit_count(b->routes[1].limiter), 0);
	hp_snap_release(b);
}

static void test_wsnap_pools_per_group(void **state)
{
	(void)state;
	struct hp_loop *loop = hp_loop_create();
	struct hp_snap *s = snap_of(routes_json, NULL);
	struct hp_wsnap *ws = hp_wsnap_create(s, loop, NULL, NULL);
	hp_snap_release(s); /* the wsnap keeps its own reference */
	assert_non_null(ws->pools[0]);
	assert_non_null(ws->pools[1]);
	struct hp_wsnap *held = hp_wsnap_fetch(ws);
	assert_int_equal(held->refs, 2);
	hp_wsnap_release(ws);
	struct hp_snap *s2 = snap_of(routes_json, NULL);
	struct hp_wsnap *next = hp_wsnap_create(s2, loop, held, NULL);
	hp_snap_release(s2);
	hp_wsnap_release(held);
	hp_wsnap_release(next);
	hp_loop_flush(loop);
	hp_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match_order_host_and_prefix),
	    cmocka_unit_test(test_ipv6_host_keeps_brackets),
	    cmocka_unit_test(test_route_cache_needs_a_cache),
	    cmocka_unit_test(test_references),
	    cmocka_unit_test(test_bad_snapshot_frees_config),
	    cmocka_unit_test(test_wsnap_pools_per_group),
	    cmocka_unit_test(test_limiter_carried_over),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
