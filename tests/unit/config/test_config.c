/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - the configuration loader as users meet it: defaults with
 * no file, every key type, exact error messages with FILE:LINE:COLUMN and
 * key path, environment and command-line overrides, dump round trips,
 * route matching, and the reference in docs/configuration.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_priv.h"
#include "core/cidr.h"

#define UP "\"upstreams\": {\"a\": {\"servers\": [\"http://127.0.0.1:9000\"]}}"

static char *const no_env[] = {NULL};

static struct hp_config *load(const char *json, char *const *env,
			      const struct hp_config_overrides *ov)
{
	struct hp_config_error err;
	struct hp_config *cfg = hp_config_load_buffer("hotpath.json", json, strlen(json), ov, env,
						      &err);
	if (cfg == NULL)
		fail_msg("load failed: %s", err.msg);
	return cfg;
}

/* "routes": [] means the default route (and leaks nothing: ASan checks). */
static void test_empty_routes(void **state)
{
	(void)state;
	struct hp_config *cfg = load("{\"upstreams\": {\"a\": {\"servers\": "
				     "[\"http://127.0.0.1:9\"]}}, \"routes\": []}", no_env, NULL);
	assert_int_equal(cfg->nroutes, 1);
	assert_string_equal(cfg->routes[0].path_prefix, "/");
	assert_int_equal(cfg->routes[0].upstream_index, 0);
	/* The admin listener is off unless asked for, loopback-only when on. */
	assert_int_equal(cfg->admin.nlisten, 0);
	assert_int_equal(cfg->admin.nallow, 2);
	hp_config_destroy(cfg);
}

/* A route's rate limit: off by default; the loader derives the interval,
 * the quota and window for the RateLimit fields, and the key's kind. */
static void test_rate_limit(void **state)
{
	(void)state;
	struct hp_config *cfg = load("{" UP ", \"routes\": [{\"path_prefix\": \"/a\"}, "
				     "{\"rate_limit\": {\"rate\": \"6000/m\", \"burst\": 20, "
				     "\"key\": \"header:X-Api-Key\", \"allow\": [\"10.0.0.0/8\"]}}]}",
				     no_env, NULL);
	const struct hp_config_rate_limit *off = &cfg->routes[0].rate_limit;
	const struct hp_config_rate_limit *rl = &cfg->routes[1].rate_limit;
	assert_null(off->rate);
	assert_int_equal(off->interval_ns, 0);
	assert_int_equal(rl->interval_ns, 10000000);
	assert_int_equal(rl->quota, 6000);
	assert_int_equal(rl->window_s, 60);
	assert_int_equal(rl->burst, 20);
	assert_int_equal(rl->key_kind, HP_RL_KEY_HEADER);
	assert_string_equal(rl->key_name, "X-Api-Key");
	assert_int_equal(rl->nallow, 1);
	assert_int_equal(rl->ipv6_prefix, 64);
	assert_string_equal(rl->name, "default");
	assert_false(rl->delay);
	hp_config_destroy(cfg);
	cfg = load("{" UP ", \"routes\": [{\"rate_limit\": {\"rate\": \"3/s\", "
		   "\"mode\": \"delay\"}}]}", no_env, NULL);
	assert_true(cfg->routes[0].rate_limit.delay);
	assert_int_equal(cfg->routes[0].rate_limit.interval_ns, 333333333);
	hp_config_destroy(cfg);
}

/* --no-cache and --admin change one key of their section, not the rest. */
static void test_cache_admin_overrides(void **state)
{
	(void)state;
	struct hp_config_overrides ov = {.workers = -1, .no_cache = true,
					 .admin_listen = "127.0.0.1:9091"};
	struct hp_config *cfg = load("{\"upstreams\": {\"a\": {\"servers\": "
				     "[\"http://127.0.0.1:9\"]}}, \"cache\": {\"max_memory\": "
				     "\"64MB\"}, \"admin\": {\"allow\": [\"10.0.0.0/8\"]}}",
				     no_env, &ov);
	assert_false(cfg->cache.enabled);
	assert_int_equal(cfg->cache.max_memory, 64 * 1024 * 1024);
	assert_int_equal(cfg->admin.nlisten, 1);
	assert_string_equal(cfg->admin.listen[0], "127.0.0.1:9091");
	assert_int_equal(cfg->admin.nallow, 1);
	hp_config_destroy(cfg);
}

/* False (after printing both) if loading does not fail with <want>. */
static bool check_error(const char *json, char *const *env,
			const struct hp_config_overrides *ov, const char *want)
{
	struct hp_config_error err;
	struct hp_config *cfg = hp_config_load_buffer(json ? "hotpath.json" : NULL, json,
						      json ? strlen(json) : 0, ov, env, &err);
	if (cfg != NULL) {
		hp_config_destroy(cfg);
		print_error("loaded, expected: %s\n", want);
		return false;
	}
	if (strcmp(err.msg, want) != 0) {
		print_error(" got: %s\nwant: %s\n", err.msg, want);
		return false;
	}
	return true;
}

static void expect_error_env(const char *json, char *const *env,
			     const struct hp_config_overrides *ov, const char *want)
{
	assert_true(check_error(json, env, ov, want));
}

static void expect_error(const char *json, const char *want)
{
	expect_error_env(json, no_env, NULL, want);
}

/* l2: several Redis addresses only as a cluster's nodes, in either key
 * order; the cluster's seeds load. */
static void test_l2_cluster(void **state)
{
	(void)state;
#define L2UP "\"upstreams\": {\"a\": {\"servers\": [\"http://127.0.0.1:9\"]}}"
	expect_error("{" L2UP ", \"l2\": {\"redis\": [\"127.0.0.1:7000\", \"127.0.0.1:7001\"]}}",
		     "hotpath.json:1:65: l2: redis lists 2 servers: several are only for the nodes "
		     "of a Redis Cluster (\"cluster\": true)");
	struct hp_config *cfg = load("{" L2UP ", \"l2\": {\"cluster\": true, \"redis\": "
				     "[\"127.0.0.1:7000\", \"127.0.0.1:7001\", \"127.0.0.1:7002\"]}}",
				     no_env, NULL);
	assert_true(cfg->l2.cluster);
	assert_int_equal(cfg->l2.nredis, 3);
	hp_config_destroy(cfg);
	cfg = load("{" L2UP ", \"l2\": {\"redis\": [\"127.0.0.1:7000\"]}}", no_env, NULL);
	assert_false(cfg->l2.cluster);
	hp_config_destroy(cfg);
#undef L2UP
}

static bool in_list(const struct hp_cidr *list, size_t n, const char *ip)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return hp_cidr_match(list, n, (struct sockaddr *)&sin);
}

/* ==== Defaults ==== */

static void test_defaults(void **state)
{
	const char *urls[] = {"http://127.0.0.1:9000"};
	struct hp_config_overrides ov = {.upstream_urls = urls, .nupstream_urls = 1,
					 .workers = -1};
	struct hp_config_error err;
	struct hp_config *cfg = hp_config_load(NULL, &ov, no_env, &err);

	(void)state;
	assert_non_null(cfg);
	assert_null(cfg->path);
	assert_int_equal(cfg->nlisten, 1);
	assert_string_equal(cfg->listen[0], "127.0.0.1:8080");
	assert_int_equal(cfg->workers, 0);
	assert_string_equal(cfg->log_level, "info");
	assert_null(cfg->access_log.path);
	assert_string_equal(cfg->access_log.format, "combined");
	assert_int_equal(cfg->ntrusted_proxies, 0);

	assert_int_equal(cfg->nupstreams, 1);
	const struct hp_config_upstream *up = &cfg->upstreams[0];
	assert_string_equal(up->name, "default");
	assert_int_equal(up->nservers, 1);
	assert_string_equal(up->servers[0].url, "http://127.0.0.1:9000");
	assert_string_equal(up->servers[0].host, "127.0.0.1");
	assert_int_equal(up->servers[0].port, 9000);
	assert_string_equal(up->servers[0].hostport, "127.0.0.1:9000");
	assert_int_equal(up->servers[0].weight, 1);
	assert_string_equal(up->balance, "round_robin");
	assert_int_equal(up->connect_timeout_ms, 30000);
	assert_int_equal(up->send_timeout_ms, 30000);
	assert_int_equal(up->read_timeout_ms, 60000);
	assert_int_equal(up->idle_timeout_ms, 600000);
	assert_int_equal(up->max_idle, 100);
	assert_int_equal(up->max_connections, 100);
	assert_int_equal(up->retries, 1);

	assert_int_equal(cfg->nroutes, 1);
	const struct hp_config_route *r = &cfg->routes[0];
	assert_null(r->host);
	assert_string_equal(r->path_prefix, "/");
	assert_string_equal(r->upstream, "default");
	assert_int_equal(r->upstream_index, 0);
	assert_true(r->cache.enabled);
	assert_int_equal(r->cache.default_ttl_ms, 0);
	assert_int_equal(r->cache.grace_ms, 0);
	assert_false(r->cache.allow_set_cookie);
	assert_int_equal(r->cache.nkey_query_include, 0);
	assert_int_equal(r->cache.nkey_query_exclude, 0);
	assert_false(r->cache.key_query_ignore);
	assert_int_equal(r->cache.nkey_headers, 0);

	const struct hp_config_limits *l = &cfg->limits;
	assert_int_equal(l->max_connections, 10000);
	assert_int_equal(l->max_header_size, 32 * 1024);
	assert_int_equal(l->max_header_fields, 100);
	assert_int_equal(l->max_request_line, 8 * 1024);
	assert_int_equal(l->max_body_size, 10 * 1024 * 1024);
	assert_int_equal(l->header_timeout_ms, 10000);
	assert_int_equal(l->body_timeout_ms, 60000);
	assert_int_equal(l->keepalive_timeout_ms, 75000);
	assert_int_equal(l->send_timeout_ms, 60000);
	assert_int_equal(l->drain_timeout_ms, 10000);

	const struct hp_config_cache *c = &cfg->cache;
	assert_true(c->enabled);
	assert_int_equal(c->max_memory, 100 * 1024 * 1024);
	assert_int_equal(c->max_object_size, 8 * 1024 * 1024);
	assert_string_equal(c->namespace, "");
	assert_string_equal(c->tag_header, "Cache-Tag");
	assert_true(c->strip_tag_header);
	assert_int_equal(c->npurge_allow, 2);
	assert_true(in_list(c->purge_allow, c->npurge_allow, "127.9.9.9"));
	assert_false(in_list(c->purge_allow, c->npurge_allow, "10.0.0.1"));
	assert_int_equal(c->hit_for_pass_ms, 120000);
	assert_int_equal(c->nwarm, 0);
	assert_int_equal(c->warm_concurrency, 4);
	assert_false(c->server_timing);
	assert_true(c->x_cache);
	hp_config_destroy(cfg);
}

static void test_no_upstream(void **state)
{
	(void)state;
	expect_error_env(NULL, no_env, NULL,
			 "no upstream: give --upstream URL or an upstreams section");
	expect_error("{\"workers\": 2}",
		     "no upstream: give --upstream URL or an upstreams section");
}

/* ==== Every key type, from the example in the brief ==== */

static const char full[] =
	"{ \"listen\": [\"127.0.0.1:8080\", \"[::1]:8081\", \":8082\"], \"workers\": 2,\n"
	"  \"log_level\": \"debug\",\n"
	"  \"access_log\": {\"path\": \"-\", \"format\": \"json\"},\n"
	"  \"trusted_proxies\": [\"10.0.0.0/8\"],\n"
	"  \"upstreams\": {\"api\": {\"servers\": [\"http://127.0.0.1:9000\",\n"
	"                   {\"url\": \"http://127.0.0.1:9001\", \"weight\": 2}],\n"
	"             \"connect_timeout\": \"5s\", \"read_timeout\": \"30s\", \"max_idle\": 64},\n"
	"     \"static\": {\"servers\": [\"HTTP://[::1]\", \"http://files.internal:81/\"],\n"
	"                \"retries\": 0, \"max_connections\": 0}},\n"
	"  \"routes\": [{\"host\": \"api.example.com\", \"path_prefix\": \"/v1/\",\n"
	"               \"upstream\": \"api\",\n"
	"               \"cache\": {\"default_ttl\": \"5m\", \"grace\": \"1.5s\",\n"
	"                         \"key_headers\": [\"Accept-Language\"],\n"
	"                         \"key_query_exclude\": [\"utm_source\"],\n"
	"                         \"allow_set_cookie\": true}},\n"
	"             {\"path_prefix\": \"/static/\", \"upstream\": \"static\",\n"
	"              \"cache\": {\"key_query_ignore\": true}},\n"
	"             {}],\n"
	"  \"limits\": {\"max_body_size\": \"1.5MB\", \"header_timeout\": \"2s\",\n"
	"             \"max_header_size\": 65536},\n"
	"  \"cache\": {\"max_memory\": \"1GiB\", \"purge_allow\": [\"127.0.0.1/32\"],\n"
	"            \"namespace\": \"v2\", \"warm\": [\"/\", \"/index.html\"],\n"
	"            \"x_cache\": false, \"server_timing\": true} }\n";

static void test_every_type(void **state)
{
	struct hp_config *cfg = load(full, no_env, NULL);

	(void)state;
	assert_string_equal(cfg->path, "hotpath.json");
	assert_int_equal(cfg->nlisten, 3);
	assert_string_equal(cfg->listen[1], "[::1]:8081");
	assert_int_equal(cfg->workers, 2);
	assert_string_equal(cfg->log_level, "debug");
	assert_string_equal(cfg->access_log.path, "-");
	assert_string_equal(cfg->access_log.format, "json");
	assert_true(in_list(cfg->trusted_proxies, cfg->ntrusted_proxies, "10.1.2.3"));

	assert_int_equal(cfg->nupstreams, 2);
	const struct hp_config_upstream *api = &cfg->upstreams[0];
	assert_string_equal(api->name, "api");
	assert_int_equal(api->nservers, 2);
	assert_int_equal(api->servers[0].weight, 1);
	assert_string_equal(api->servers[1].hostport, "127.0.0.1:9001");
	assert_int_equal(api->servers[1].weight, 2);
	assert_int_equal(api->connect_timeout_ms, 5000);
	assert_int_equal(api->read_timeout_ms, 30000);
	assert_int_equal(api->send_timeout_ms, 30000);
	assert_int_equal(api->max_idle, 64);
	const struct hp_config_upstream *st = &cfg->upstreams[1];
	assert_string_equal(st->name, "static");
	assert_string_equal(st->servers[0].host, "::1");
	assert_int_equal(st->servers[0].port, 80);
	assert_string_equal(st->servers[0].hostport, "[::1]:80");
	assert_string_equal(st->servers[1].host, "files.internal");
	assert_string_equal(st->servers[1].hostport, "files.internal:81");
	assert_int_equal(st->retries, 0);
	assert_int_equal(st->max_connections, 0);

	assert_int_equal(cfg->nroutes, 3);
	const struct hp_config_route *r = &cfg->routes[0];
	assert_string_equal(r->host, "api.example.com");
	assert_string_equal(r->path_prefix, "/v1/");
	assert_int_equal(r->upstream_index, 0);
	assert_int_equal(r->cache.default_ttl_ms, 300000);
	assert_int_equal(r->cache.grace_ms, 1500);
	assert_true(r->cache.allow_set_cookie);
	assert_int_equal(r->cache.nkey_headers, 1);
	assert_string_equal(r->cache.key_headers[0], "Accept-Language");
	assert_string_equal(r->cache.key_query_exclude[0], "utm_source");
	assert_int_equal(cfg->routes[1].upstream_index, 1);
	assert_true(cfg->routes[1].cache.key_query_ignore);
	/* An empty route object is all defaults: "/" to the first upstream. */
	assert_string_equal(cfg->routes[2].path_prefix, "/");
	assert_string_equal(cfg->routes[2].upstream, "api");
	assert_int_equal(cfg->routes[2].upstream_index, 0);

	assert_int_equal(cfg->limits.max_body_size, 1536 * 1024);
	assert_int_equal(cfg->limits.header_timeout_ms, 2000);
	assert_int_equal(cfg->limits.max_header_size, 65536);
	assert_int_equal(cfg->limits.body_timeout_ms, 60000);
	assert_int_equal(cfg->cache.max_memory, 1024 * 1024 * 1024);
	assert_int_equal(cfg->cache.npurge_allow, 1);
	assert_false(in_list(cfg->cache.purge_allow, 1, "127.0.0.2"));
	assert_string_equal(cfg->cache.namespace, "v2");
	assert_int_equal(cfg->cache.nwarm, 2);
	assert_false(cfg->cache.x_cache);
	assert_true(cfg->cache.server_timing);
	hp_config_destroy(cfg);
}

static void test_sizes_and_durations(void **state)
{
	static const struct {
		const char *in;
		uint64_t out;
	} sizes[] = {
		{"0", 0}, {"512", 512}, {"512B", 512}, {"1KB", 1024}, {"1kb", 1024},
		{"1KiB", 1024}, {"1 MB", 1 << 20}, {"1.5MB", 3 << 19}, {"2GB", 2ull << 30},
		{"1TiB", 1ull << 40}, {"10M", 10 << 20},
	}, durations[] = {
		{"0", 0}, {"0.0", 0}, {"250ms", 250}, {"1s", 1000}, {"1.5s", 1500},
		{"0.001s", 1}, {"2m", 120000}, {"1h", 3600000}, {"1.25h", 4500000},
	};
	static const char *const bad_sizes[] = {
		"", "MB", "-1MB", "1.MB", "ten", "1XB", "1MBs", ".5MB", "99999999999999999999",
		"16777216TB",
	};
	/* A bare non-zero number is refused: it meant ms here and s in bench. */
	static const char *const bad_durations[] = {"", "s", "1d", "1 sec", "1.s", "-1s", "1e3",
						    "250", "30", "0.5", "1us"};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(sizes); i++) {
		if (!hp_config_parse_size(sizes[i].in, &v) || v != sizes[i].out)
			fail_msg("size \"%s\"", sizes[i].in);
	}
	for (size_t i = 0; i < HP_ARRAY_SIZE(durations); i++) {
		if (!hp_config_parse_duration(durations[i].in, &v) || v != durations[i].out)
			fail_msg("duration \"%s\"", durations[i].in);
	}
	for (size_t i = 0; i < HP_ARRAY_SIZE(bad_sizes); i++)
		if (hp_config_parse_size(bad_sizes[i], &v))
			fail_msg("accepted size \"%s\"", bad_sizes[i]);
	for (size_t i = 0; i < HP_ARRAY_SIZE(bad_durations); i++)
		if (hp_config_parse_duration(bad_durations[i], &v))
			fail_msg("accepted duration \"%s\"", bad_durations[i]);
}

/* ==== Errors: one line per case, with exact positions ==== */

static void test_errors(void **state)
{
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
		/* syntax errors: jansson's position and text */
		{"{\"workers\": 2,}",
		 "hotpath.json:1:15: syntax error: string or '}' expected near '}'"},
		{"{\"workers\": 2, \"workers\": 3}",
		 "hotpath.json:1:24: workers: syntax error: duplicate object key near '\"workers\"'"},
		/* syntax errors name the key path where they happened */
		{"{\n  \"cache\": {\n    \"max_memory\": 10MB\n  }\n}",
		 "hotpath.json:3:22: cache.max_memory: syntax error: '}' expected near 'MB'"},
		{"{\"upstreams\": {\"api\": {\"servers\": [\"http://a\", \"http://b]}}}",
		 "hotpath.json:1:60: upstreams.api.servers[1]: syntax error: premature end of input "
		 "near '\"http://b]}}}'"},
		{"{\"limits\": {\"header_timeout\": \"1s\",}, \"workers\": 1}",
		 "hotpath.json:1:36: limits: syntax error: string or '}' expected near '}'"},
		{"[]", "hotpath.json:1:1: expected an object at the top level, got an array"},
		/* unknown keys point at the key */
		{"{\n  \"cache\": {\n    \"max_memroy\": \"1MB\"\n  }\n}",
		 "hotpath.json:3:5: cache.max_memroy: unknown key (did you mean \"max_memory\"?)"},
		{"{\"bogus\": 1}", "hotpath.json:1:2: bogus: unknown key"},
		/* wrong types */
		{"{\"workers\": \"two\"}",
		 "hotpath.json:1:13: workers: expected an integer, got \"two\""},
		{"{\"workers\": 2.5}", "hotpath.json:1:13: workers: expected an integer, got 2.5"},
		{"{\"workers\": 5000}", "hotpath.json:1:13: workers: must be from 0 to 1024, got 5000"},
		{"{\"cache\": {\"enabled\": \"yes\"}}",
		 "hotpath.json:1:23: cache.enabled: expected true or false, got \"yes\""},
		{"{\"limits\": []}", "hotpath.json:1:12: limits: expected an object, got an array"},
		{"{\"listen\": \"127.0.0.1:80\"}",
		 "hotpath.json:1:12: listen: expected an array of strings, got \"127.0.0.1:80\""},
		{"{\"log_level\": \"loud\"}",
		 "hotpath.json:1:15: log_level: expected one of \"error\", \"warn\", \"info\", "
		 "\"debug\", got \"loud\""},
		/* rate limits: the rate and key spellings */
		{"{" UP ", \"routes\": [{\"rate_limit\": {\"rate\": \"100/d\"}}]}",
		 "hotpath.json:1:97: routes[0].rate_limit.rate: expected a rate like \"100/s\", "
		 "\"6000/m\" or \"10/h\" (1 to 1000000000 per unit), got \"100/d\""},
		{"{" UP ", \"routes\": [{\"rate_limit\": {\"rate\": \"1/s\", \"key\": \"header:\"}}]}",
		 "hotpath.json:1:111: routes[0].rate_limit.key: expected \"ip\", \"route\", "
		 "\"header:NAME\" or \"cookie:NAME\", got \"header:\""},
		/* sizes and durations */
		{"{\n  \"limits\": {\"max_body_size\": \"ten\"}}",
		 "hotpath.json:2:31: limits.max_body_size: expected a size like \"10MB\", "
		 "got \"ten\""},
		{"{\"limits\": {\"max_header_size\": \"2MB\"}}",
		 "hotpath.json:1:32: limits.max_header_size: must be from 1KB to 1MB, got 2MB"},
		{"{\"limits\": {\"header_timeout\": \"soon\"}}",
		 "hotpath.json:1:31: limits.header_timeout: expected a duration with a unit "
		 "(ms, s, m, h), got \"soon\""},
		{"{\"limits\": {\"header_timeout\": -5}}",
		 "hotpath.json:1:31: limits.header_timeout: expected a duration with a unit "
		 "(ms, s, m, h), got -5"},
		{"{\"limits\": {\"header_timeout\": 30}}",
		 "hotpath.json:1:31: limits.header_timeout: expected a duration with a unit "
		 "(ms, s, m, h), got 30"},
		{"{\"limits\": {\"header_timeout\": \"30\"}}",
		 "hotpath.json:1:31: limits.header_timeout: expected a duration with a unit "
		 "(ms, s, m, h), got \"30\""},
		/* URLs, with the path of an array element */
		{"{\"upstreams\": {\"api\": {\"servers\": [\"http://a:1\",\n"
		 "    \"https://b\"]}}}",
		 "hotpath.json:2:5: upstreams.api.servers[1]: https upstreams are not supported"},
		{"{\"upstreams\": {\"api\": {\"servers\": [{\"url\": \"http://a/x\"}]}}}",
		 "hotpath.json:1:44: upstreams.api.servers[0].url: upstream URL must not have a "
		 "path"},
		{"{\"upstreams\": {\"api\": {\"servers\": [\"http://a:99999\"]}}}",
		 "hotpath.json:1:36: upstreams.api.servers[0]: bad upstream URL \"http://a:99999\": "
		 "port must be a number from 1 to 65535"},
		{"{\"upstreams\": {\"api\": {\"servers\": [\"ftp://a\"]}}}",
		 "hotpath.json:1:36: upstreams.api.servers[0]: expected an upstream URL like "
		 "\"http://127.0.0.1:9000\", got \"ftp://a\""},
		{"{\"upstreams\": {\"api\": {\"servers\": []}}}",
		 "hotpath.json:1:35: upstreams.api.servers: must have from 1 to 1024 elements, "
		 "got 0"},
		{"{\"upstreams\": {\"api\": {\"retries\": 1}}}",
		 "hotpath.json:1:23: upstreams.api: missing required key \"servers\""},
		{"{\"upstreams\": {\"api\": {\"servers\": [{\"weight\": 0, \"url\": \"http://a\"}]}}}",
		 "hotpath.json:1:47: upstreams.api.servers[0].weight: must be from 1 to 1000, got 0"},
		{"{\"upstreams\": {\"a b\": {\"servers\": [\"http://a\"]}}}",
		 "hotpath.json:1:16: upstreams.a b: upstream names use only letters, digits, "
		 "'-', '_' and '.'"},
		/* CIDRs */
		{"{" UP ",\n \"trusted_proxies\": [\"10.0.0.0/8\", \"10.0.0.0/33\"]}",
		 "hotpath.json:2:36: trusted_proxies[1]: expected an address or network like "
		 "\"10.0.0.0/8\", got \"10.0.0.0/33\""},
		/* routes */
		{"{" UP ",\n \"routes\": [{\"path_prefix\": \"/\"},\n  {\"upstream\": \"nope\"}]}",
		 "hotpath.json:3:16: routes[1].upstream: unknown upstream \"nope\""},
		{"{" UP ", \"routes\": [{\"path_prefix\": \"v1\"}]}",
		 "hotpath.json:1:89: routes[0].path_prefix: must start with '/', got \"v1\""},
		{"{" UP ", \"routes\": [{\"cache\": {\"key_headers\": [\"Accept\", \"Bad Header\"]}}]}",
		 "hotpath.json:1:110: routes[0].cache.key_headers[1]: not a header name: "
		 "\"Bad Header\""},
		/* listen */
		{"{\"listen\": [\"127.0.0.1:80\", \"::1:80\"]}",
		 "hotpath.json:1:29: listen[1]: IPv6 addresses must be in brackets: \"[::1]:8080\", "
		 "got \"::1:80\""},
		{"{\"listen\": [\"localhost\"]}",
		 "hotpath.json:1:13: listen[0]: expected \"host:port\", \"[v6]:port\" or \":port\", "
		 "got \"localhost\""},
		/* cross-key */
		{"{" UP ", \"cache\": {\"max_memory\": \"1MB\"}}",
		 "hotpath.json: cache.max_object_size: must not exceed cache.max_memory (1MB)"},
		/* escaped keys are decoded when locating */
		{"{\"\\u0063ache\": {\"x_cache\": 1}}",
		 "hotpath.json:1:28: cache.x_cache: expected true or false, got 1"},
		/* an empty key (found by the fuzzer) */
		{"{\"\": 1}", "hotpath.json:1:2: \"\": unknown key"},
		/* columns count characters, not bytes */
		{"{\"cache\": {\"namespace\": \"\xc3\xa9t\xc3\xa9\", \"enabled\": 0}}",
		 "hotpath.json:1:43: cache.enabled: expected true or false, got 0"},
	};

	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++)
		failed += !check_error(cases[i].json, no_env, NULL, cases[i].msg);
	assert_int_equal(failed, 0);
}

/* ==== Environment ==== */

static void test_env_overrides(void **state)
{
	char *env[] = {
		"PATH=/usr/bin",
		"HOTPATH_CACHE_MAX_MEMORY=256MB",
		"HOTPATH_LIMITS_MAX_BODY_SIZE=1MB",
		"HOTPATH_LOG_LEVEL=debug",
		"HOTPATH_WORKERS=2",
		"HOTPATH_LISTEN=127.0.0.1:8080, 127.0.0.1:8081",
		"HOTPATH_TRUSTED_PROXIES=10.0.0.0/8,192.168.0.0/16",
		"HOTPATH_CACHE_X_CACHE=off",
		"HOTPATH_ACCESS_LOG_PATH=/var/log/hotpath.log",
		"HOTPATH_LIMITS_HEADER_TIMEOUT=1.5s",
		"HOTPATH_CACHE_NAMESPACE=",
		NULL,
	};
	struct hp_config *cfg = load("{" UP ", \"workers\": 8, \"cache\": {\"namespace\": \"x\"}}",
				     env, NULL);

	(void)state;
	assert_int_equal(cfg->cache.max_memory, 256 << 20);
	assert_int_equal(cfg->limits.max_body_size, 1 << 20);
	assert_string_equal(cfg->log_level, "debug");
	assert_int_equal(cfg->workers, 2);
	assert_int_equal(cfg->nlisten, 2);
	assert_string_equal(cfg->listen[1], "127.0.0.1:8081");
	assert_int_equal(cfg->ntrusted_proxies, 2);
	assert_true(in_list(cfg->trusted_proxies, 2, "192.168.3.4"));
	assert_false(cfg->cache.x_cache);
	assert_string_equal(cfg->access_log.path, "/var/log/hotpath.log");
	assert_int_equal(cfg->limits.header_timeout_ms, 1500);
	assert_string_equal(cfg->cache.namespace, "");
	hp_config_destroy(cfg);

	/* An empty list clears the default; an empty nullable string unsets. */
	char *env2[] = {"HOTPATH_CACHE_PURGE_ALLOW=", "HOTPATH_ACCESS_LOG_PATH=", NULL};
	cfg = load("{" UP ", \"access_log\": {\"path\": \"-\"}}", env2, NULL);
	assert_int_equal(cfg->cache.npurge_allow, 0);
	assert_null(cfg->access_log.path);
	hp_config_destroy(cfg);
}

static void test_env_errors(void **state)
{
	static const struct {
		const char *var;
		const char *msg;
	} cases[] = {
		{"HOTPATH_CACHE_MAX_MEMORY=lots",
		 "HOTPATH_CACHE_MAX_MEMORY: cache.max_memory: expected a size like \"10MB\", "
		 "got \"lots\""},
		{"HOTPATH_WORKERS=two", "HOTPATH_WORKERS: workers: expected an integer, got \"two\""},
		{"HOTPATH_WORKERS=-1", "HOTPATH_WORKERS: workers: expected an integer, got \"-1\""},
		{"HOTPATH_CACHE_ENABLED=maybe",
		 "HOTPATH_CACHE_ENABLED: cache.enabled: expected true or false, got \"maybe\""},
		{"HOTPATH_TRUSTED_PROXIES=10.0.0.0/8,nope",
		 "HOTPATH_TRUSTED_PROXIES: trusted_proxies[1]: expected an address or network "
		 "like \"10.0.0.0/8\", got \"nope\""},
		{"HOTPATH_LISTEN=", "HOTPATH_LISTEN: listen: must have from 1 to 64 elements, got 0"},
		{"HOTPATH_LIMITS_HEADER_TIMEOUT=30",
		 "HOTPATH_LIMITS_HEADER_TIMEOUT: limits.header_timeout: expected a duration with a "
		 "unit (ms, s, m, h), got \"30\""},
		{"HOTPATH_LIMITS_HEADER_TIMEOUT=0",
		 "HOTPATH_LIMITS_HEADER_TIMEOUT: limits.header_timeout: must be from 1ms to 1h, "
		 "got 0s"},
	};

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		char *env[] = {(char *)cases[i].var, NULL};
		expect_error_env("{" UP "}", env, NULL, cases[i].msg);
	}
}

static void test_env_names(void **state)
{
	char name[64];

	(void)state;
	hp_config_env_name("limits.max_body_size", name, sizeof(name));
	assert_string_equal(name, "HOTPATH_LIMITS_MAX_BODY_SIZE");
	hp_config_env_name("workers", name, sizeof(name));
	assert_string_equal(name, "HOTPATH_WORKERS");
}

/* ==== Command line ==== */

static void test_cli_overrides_win(void **state)
{
	const char *urls[] = {"http://10.0.0.1:8000", "http://10.0.0.2"};
	struct hp_config_overrides ov = {.listen = "0.0.0.0:80", .upstream_urls = urls,
					 .nupstream_urls = 2, .workers = 3};
	char *env[] = {"HOTPATH_WORKERS=2", "HOTPATH_LISTEN=127.0.0.1:1", NULL};
	const char *json = "{\"upstreams\": {\"api\": {\"servers\": [\"http://a\"]}},"
			   " \"routes\": [{\"path_prefix\": \"/v1/\", \"upstream\": \"api\"}],"
			   " \"workers\": 1}";
	struct hp_config *cfg = load(json, env, &ov);

	(void)state;
	assert_int_equal(cfg->workers, 3);
	assert_int_equal(cfg->nlisten, 1);
	assert_string_equal(cfg->listen[0], "0.0.0.0:80");
	assert_int_equal(cfg->nupstreams, 1);
	assert_string_equal(cfg->upstreams[0].name, "default");
	assert_int_equal(cfg->upstreams[0].nservers, 2);
	assert_int_equal(cfg->upstreams[0].servers[1].port, 80);
	/* Routes keep their policies but go to the --upstream group. */
	assert_int_equal(cfg->nroutes, 1);
	assert_string_equal(cfg->routes[0].path_prefix, "/v1/");
	assert_string_equal(cfg->routes[0].upstream, "default");
	assert_int_equal(cfg->routes[0].upstream_index, 0);
	hp_config_destroy(cfg);

	const char *bad[] = {"https://x"};
	struct hp_config_overrides ov2 = {.upstream_urls = bad, .nupstream_urls = 1,
					  .workers = -1};
	expect_error_env(NULL, no_env, &ov2, "--upstream: upstreams.default.servers[0]: "
					     "https upstreams are not supported");
	struct hp_config_overrides ov3 = {.listen = "nowhere", .upstream_urls = urls,
					  .nupstream_urls = 1, .workers = -1};
	expect_error_env(NULL, no_env, &ov3, "--listen: listen[0]: expected \"host:port\", "
					     "\"[v6]:port\" or \":port\", got \"nowhere\"");
	struct hp_config_overrides ov4 = {.upstream_urls = urls, .nupstream_urls = 1,
					  .workers = 100000};
	expect_error_env(NULL, no_env, &ov4,
			 "--workers: workers: must be from 0 to 1024, got 100000");
}

/* ==== Dump ==== */

static void roundtrip(const char *json)
{
	struct hp_config *a = load(json, no_env, NULL);
	char *da = hp_config_dump(a);
	struct hp_config *b = load(da, no_env, NULL);
	char *db = hp_config_dump(b);

	assert_string_equal(da, db);
	assert_int_equal(a->nupstreams, b->nupstreams);
	assert_int_equal(a->limits.max_body_size, b->limits.max_body_size);
	assert_int_equal(a->routes[0].cache.grace_ms, b->routes[0].cache.grace_ms);
	free(da);
	free(db);
	hp_config_destroy(a);
	hp_config_destroy(b);
}

static void test_dump(void **state)
{
	(void)state;
	roundtrip(full);
	roundtrip("{" UP "}");

	struct hp_config *cfg = load(full, no_env, NULL);
	char *d = hp_config_dump(cfg);
	/* Units are written the way people write them. */
	assert_non_null(strstr(d, "\"max_memory\": \"1GB\""));
	assert_non_null(strstr(d, "\"max_body_size\": \"1536KB\""));
	assert_non_null(strstr(d, "\"grace\": \"1500ms\""));
	assert_non_null(strstr(d, "\"default_ttl\": \"5m\""));
	assert_non_null(strstr(d, "\"idle_timeout\": \"10m\""));
	assert_non_null(strstr(d, "\"host\": null"));
	assert_non_null(strstr(d, "\"purge_allow\": [\n      \"127.0.0.1/32\""));
	free(d);
	hp_config_destroy(cfg);
}

/* ==== Files and docs ==== */

static void test_load_file(void **state)
{
	char path[] = "/tmp/hp_config_test_XXXXXX";
	int fd = mkstemp(path);
	const char *json = "{\n" UP ",\n\"workers\": true}\n";
	struct hp_config_error err;
	char want[256];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	assert_null(hp_config_load(path, NULL, NULL, &err));
	snprintf(want, sizeof(want), "%s:3:12: workers: expected an integer, got true", path);
	assert_string_equal(err.msg, want);
	unlink(path);
	assert_null(hp_config_load(path, NULL, NULL, &err));
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
	assert_string_equal(err.msg, want);
}

static char *read_doc(void)
{
	FILE *f = fopen("docs/configuration.md", "r");
	if (f == NULL)
		return NULL;
	char *text = calloc(1, 1 << 20);
	assert_non_null(text);
	size_t n = fread(text, 1, (1 << 20) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void test_reference_in_docs(void **state)
{
	char *ref = hp_config_reference();
	char *doc = read_doc();

	(void)state;
	if (doc == NULL) {
		free(ref);
		skip(); /* not run from the repository root */
	}
	if (strstr(doc, ref) == NULL) {
		fprintf(stderr, "docs/configuration.md is out of date; the table should be:\n%s",
			ref);
		fail_msg("reference table missing from docs/configuration.md");
	}
	free(ref);
	free(doc);
}

/* The shipped examples load, and the documented error example is exact. */
static void test_examples_load(void **state)
{
	static const char *const files[] = {
		"examples/minimal.json", "examples/api-cache.json", "examples/demo.json",
		"examples/alerts.json",
	};
	struct hp_config_error err;

	(void)state;
	if (access("examples/minimal.json", R_OK) != 0)
		skip(); /* not run from the repository root */
	for (size_t i = 0; i < HP_ARRAY_SIZE(files); i++) {
		struct hp_config *cfg = hp_config_load(files[i], NULL, no_env, &err);
		if (cfg == NULL)
			fail_msg("%s", err.msg);
		hp_config_destroy(cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_routes),
		cmocka_unit_test(test_l2_cluster),
		cmocka_unit_test(test_cache_admin_overrides),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_no_upstream),
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_sizes_and_durations),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_env_overrides),
		cmocka_unit_test(test_env_errors),
		cmocka_unit_test(test_env_names),
		cmocka_unit_test(test_cli_overrides_win),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_reference_in_docs),
		cmocka_unit_test(test_examples_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
