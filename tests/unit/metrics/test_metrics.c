/* SPDX-License-Identifier: MIT */
/*
 * test_metrics.c - the metrics shard and its exposition: counters by route,
 * method, status class and cache status; merging shards that interned
 * their route names in different orders; exact `le` bucket counts for
 * known samples; the text format; the bound on route names; and the
 * reference table in docs/metrics.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "metrics/metrics.h"

/* The exposition of <n> shards with fixed scrape values, NUL-terminated. */
static char *scrape(struct hp_metrics_shard *const *shards, size_t n)
{
	/* Two groups, the first with two servers: one queued series each. */
	static const struct hp_metrics_upstream ups[] = {
		{.group = "a", .server = "10.0.0.1:80", .upstream_active = 2, .upstream_queued = 4},
		{.group = "a", .server = "10.0.0.2:80", .upstream_idle = 5, .upstream_queued = 4},
		{.group = "b\"", .server = "h:1", .upstream_timeouts = 7, .upstream_ejections = 2,
		 .upstream_retries = 9, .upstream_in_service = 1},
	};
	static const struct hp_metrics_alert alerts[] = {{"api-p95", true}, {"cpu", false}};
	struct hp_metrics_values v = {.client_connections = 3, .config_reloads = 2,
				      .version = "1.2.3", .upstreams = ups, .nupstreams = 3,
				      .alerts = alerts, .nalerts = 2};
	struct hp_buf b = {0};
	hp_metrics_write(shards, n, &v, &b);
	char *s = malloc(b.len + 1);
	assert_non_null(s);
	memcpy(s, hp_buf_data(&b), b.len);
	s[b.len] = '\0';
	hp_buf_fini(&b);
	return s;
}

/* <line> is one whole line of <text>. */
static void expect_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	fprintf(stderr, "missing line: %s\nin:\n%s", line, text);
	fail();
}

static void expect_no(const char *text, const char *what)
{
	if (strstr(text, what) != NULL) {
		fprintf(stderr, "unexpected: %s\nin:\n%s", what, text);
		fail();
	}
}

static void record(struct hp_metrics_shard *s, unsigned route, enum hp_metrics_method m,
		   int status, enum hp_metrics_cache cache, uint64_t us)
{
	struct hp_metrics_request r = {.route = route, .method = m, .status = status,
				       .cache = cache, .duration_us = us, .bytes_out = 100};
	hp_metrics_record(s, &r);
}

static void test_counters(void **state)
{
	(void)state;
	struct hp_metrics_shard *s = hp_metrics_shard_create();
	unsigned a = hp_metrics_route(s, "/a/");
	assert_int_not_equal(a, HP_METRICS_ROUTE_NONE);
	assert_int_equal(hp_metrics_route(s, "/a/"), a);
	record(s, a, HP_METRICS_GET, 200, HP_METRICS_MISS, 10);
	record(s, a, HP_METRICS_GET, 200, HP_METRICS_HIT, 10);
	record(s, a, HP_METRICS_GET, 203, HP_METRICS_HIT, 10);
	record(s, a, HP_METRICS_PATCH, 502, HP_METRICS_PASS, 10);
	record(s, HP_METRICS_ROUTE_NONE, HP_METRICS_OTHER, 404, HP_METRICS_NONE, 10);
	record(s, a, HP_METRICS_HEAD, 101, HP_METRICS_NONE, 10);
	char *text = scrape(&s, 1);
	expect_line(text, "hotpath_requests_total{route=\"/a/\",method=\"GET\",status=\"2xx\","
			  "cache=\"miss\"} 1");
	expect_line(text, "hotpath_requests_total{route=\"/a/\",method=\"GET\",status=\"2xx\","
			  "cache=\"hit\"} 2");
	expect_line(text, "hotpath_requests_total{route=\"/a/\",method=\"PATCH\",status=\"5xx\","
			  "cache=\"pass\"} 1");
	expect_line(text, "hotpath_requests_total{route=\"none\",method=\"OTHER\",status=\"4xx\","
			  "cache=\"none\"} 1");
	expect_line(text, "hotpath_requests_total{route=\"/a/\",method=\"HEAD\",status=\"1xx\","
			  "cache=\"none\"} 1");
	/* Combinations never seen have no series. */
	expect_no(text, "method=\"POST\"");
	expect_line(text, "hotpath_response_bytes_total 600");
	expect_line(text, "hotpath_client_connections 3");
	expect_line(text, "hotpath_config_reloads_total 2");
	expect_line(text, "hotpath_build_info{version=\"1.2.3\"} 1");
	/* No upstream exchange was recorded: no upstream series. */
	expect_no(text, "hotpath_upstream_duration_seconds_bucket");
	free(text);
	hp_metrics_shard_destroy(s);
}

/* Rate-limit outcomes by route, merged over shards; only outcomes seen are
 * series, and /status's per-name totals agree with the exposition. */
static void test_limits(void **state)
{
	(void)state;
	struct hp_metrics_shard *sh[2] = {hp_metrics_shard_create(), hp_metrics_shard_create()};
	unsigned a0 = hp_metrics_route(sh[0], "/a/");
	unsigned b1 = hp_metrics_route(sh[1], "/b/");
	unsigned a1 = hp_metrics_route(sh[1], "/a/");
	struct hp_metrics_request r = {.route = a0, .method = HP_METRICS_GET, .status = 429,
				       .cache = HP_METRICS_NONE, .limit = HP_METRICS_LIMIT_REJECTED};
	hp_metrics_record(sh[0], &r);
	r.route = a1;
	hp_metrics_record(sh[1], &r);
	r.limit = HP_METRICS_LIMIT_DELAYED;
	r.status = 200;
	hp_metrics_record(sh[1], &r);
	r.route = b1;
	r.limit = HP_METRICS_LIMIT_NONE;
	hp_metrics_record(sh[1], &r);
	char *text = scrape(sh, 2);
	expect_line(text, "hotpath_ratelimit_requests_total{route=\"/a/\",outcome=\"rejected\"} 2");
	expect_line(text, "hotpath_ratelimit_requests_total{route=\"/a/\",outcome=\"delayed\"} 1");
	expect_no(text, "hotpath_ratelimit_requests_total{route=\"/b/\"");
	expect_no(text, "outcome=\"none\"");
	free(text);
	uint64_t lim[HP_METRICS_NLIMIT];
	hp_metrics_route_limits(sh, 2, "/a/", lim);
	assert_int_equal(lim[HP_METRICS_LIMIT_REJECTED], 2);
	assert_int_equal(lim[HP_METRICS_LIMIT_DELAYED], 1);
	hp_metrics_route_limits(sh, 2, "/nowhere", lim);
	assert_int_equal(lim[HP_METRICS_LIMIT_REJECTED] + lim[HP_METRICS_LIMIT_DELAYED], 0);
	hp_metrics_shard_destroy(sh[0]);
	hp_metrics_shard_destroy(sh[1]);
}

static void test_merge(void **state)
{
	(void)state;
	struct hp_metrics_shard *sh[2] = {hp_metrics_shard_create(), hp_metrics_shard_create()};
	/* Different interning orders: the merge goes by name, not slot. */
	unsigned x0 = hp_metrics_route(sh[0], "/x");
	unsigned y0 = hp_metrics_route(sh[0], "/y");
	unsigned y1 = hp_metrics_route(sh[1], "/y");
	unsigned x1 = hp_metrics_route(sh[1], "/x");
	assert_int_not_equal(x0, x1);
	record(sh[0], x0, HP_METRICS_GET, 200, HP_METRICS_HIT, 200);
	record(sh[1], x1, HP_METRICS_GET, 200, HP_METRICS_HIT, 300);
	record(sh[1], x1, HP_METRICS_GET, 200, HP_METRICS_HIT, 300);
	record(sh[0], y0, HP_METRICS_DELETE, 500, HP_METRICS_NONE, 200);
	record(sh[1], y1, HP_METRICS_DELETE, 500, HP_METRICS_NONE, 200);
	struct hp_metrics_request up = {.route = x1, .method = HP_METRICS_GET, .status = 200,
					.cache = HP_METRICS_MISS, .duration_us = 900,
					.upstream = true, .upstream_us = 800, .bytes_out = 5};
	hp_metrics_record(sh[1], &up);
	char *text = scrape(sh, 2);
	expect_line(text, "hotpath_requests_total{route=\"/x\",method=\"GET\",status=\"2xx\","
			  "cache=\"hit\"} 3");
	expect_line(text, "hotpath_requests_total{route=\"/y\",method=\"DELETE\",status=\"5xx\","
			  "cache=\"none\"} 2");
	expect_line(text, "hotpath_request_duration_seconds_count{route=\"/x\"} 4");
	expect_line(text, "hotpath_request_duration_seconds_sum{route=\"/x\"} 0.001700");
	expect_line(text, "hotpath_upstream_duration_seconds_count{route=\"/x\"} 1");
	expect_line(text, "hotpath_upstream_duration_seconds_bucket{route=\"/x\",le=\"0.0005\"} 0");
	expect_line(text, "hotpath_upstream_duration_seconds_bucket{route=\"/x\",le=\"0.001\"} 1");
	expect_line(text, "hotpath_response_bytes_total 505");
	/* Each route's histogram appears once, whatever the shard count. */
	const char *first = strstr(text, "hotpath_request_duration_seconds_count{route=\"/x\"}");
	assert_null(strstr(first + 1, "hotpath_request_duration_seconds_count{route=\"/x\"}"));
	free(text);
	hp_metrics_shard_destroy(sh[0]);
	hp_metrics_shard_destroy(sh[1]);
}

/* Known samples against the fixed bounds: each bound's cumulative count is
 * exact, 60 s itself is under le="60" and 70 s only under +Inf. */
static void test_hist_buckets(void **state)
{
	(void)state;
	static const uint64_t samples_us[] = {50, 100, 101, 3000, 60000000, 70000000, 7000};
	struct hp_metrics_shard *s = hp_metrics_shard_create();
	unsigned r = hp_metrics_route(s, "/h");
	for (size_t i = 0; i < sizeof(samples_us) / sizeof(samples_us[0]); i++)
		record(s, r, HP_METRICS_GET, 200, HP_METRICS_MISS, samples_us[i]);
	char *text = scrape(&s, 1);
	static const char *const want[] = {
		"le=\"0.0001\"} 2", "le=\"0.00025\"} 3", "le=\"0.0005\"} 3", "le=\"0.001\"} 3",
		"le=\"0.0025\"} 3", "le=\"0.005\"} 4",   "le=\"0.01\"} 5",   "le=\"0.025\"} 5",
		"le=\"0.05\"} 5",   "le=\"0.075\"} 5",   "le=\"0.1\"} 5",    "le=\"0.25\"} 5",
		"le=\"0.5\"} 5",    "le=\"0.75\"} 5",    "le=\"1\"} 5",      "le=\"2.5\"} 5",
		"le=\"5\"} 5",      "le=\"7.5\"} 5",     "le=\"10\"} 5",     "le=\"30\"} 5",
		"le=\"60\"} 6",     "le=\"+Inf\"} 7",
	};
	const char *p = text;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char line[128];
		snprintf(line, sizeof(line), "hotpath_request_duration_seconds_bucket{route=\"/h\",%s",
			 want[i]);
		expect_line(text, line);
		/* In increasing order of le. */
		const char *at = strstr(text, line);
		assert_true(at > p);
		p = at;
	}
	expect_line(text, "hotpath_request_duration_seconds_count{route=\"/h\"} 7");
	expect_line(text, "hotpath_request_duration_seconds_sum{route=\"/h\"} 130.010251");
	/* Misses are not the cache's own latency. */
	expect_no(text, "hotpath_cache_hit_duration_seconds_count{route=\"/h\"}");
	free(text);
	hp_metrics_shard_destroy(s);
}

/* Every row has one HELP and one TYPE; every other line is a sample; label
 * values are escaped. */
static void test_format(void **state)
{
	(void)state;
	struct hp_metrics_shard *s = hp_metrics_shard_create();
	unsigned r = hp_metrics_route(s, "/q\"\\");
	record(s, r, HP_METRICS_GET, 200, HP_METRICS_STALE, 10);
	char *text = scrape(&s, 1);
	expect_line(text, "hotpath_requests_total{route=\"/q\\\"\\\\\",method=\"GET\",status=\"2xx\","
			  "cache=\"stale\"} 1");
	expect_line(text, "# TYPE hotpath_requests_total counter");
	expect_line(text, "# TYPE hotpath_request_duration_seconds histogram");
	/* A stale serve is the cache's own latency. */
	expect_line(text, "hotpath_cache_hit_duration_seconds_count{route=\"/q\\\"\\\\\"} 1");
	expect_line(text, "# TYPE hotpath_client_connections gauge");
	expect_line(text, "# TYPE process_cpu_seconds_total counter");
	expect_line(text, "hotpath_upstream_active_connections{group=\"a\",server=\"10.0.0.1:80\"} 2");
	expect_line(text, "hotpath_upstream_idle_connections{group=\"a\",server=\"10.0.0.2:80\"} 5");
	expect_line(text, "hotpath_upstream_timeouts_total{group=\"b\\\"\",server=\"h:1\"} 7");
	expect_line(text, "hotpath_upstream_queued_requests{group=\"a\"} 4");
	expect_line(text, "hotpath_upstream_ejections_total{group=\"b\\\"\",server=\"h:1\"} 2");
	expect_line(text, "hotpath_upstream_retries_total{group=\"b\\\"\",server=\"h:1\"} 9");
	expect_line(text, "hotpath_upstream_in_service{group=\"a\",server=\"10.0.0.1:80\"} 0");
	expect_line(text, "hotpath_upstream_in_service{group=\"b\\\"\",server=\"h:1\"} 1");
	expect_line(text, "hotpath_alert_firing{alert=\"api-p95\"} 1");
	expect_line(text, "hotpath_alert_firing{alert=\"cpu\"} 0");
	expect_line(text, "hotpath_upstream_queued_requests{group=\"b\\\"\"} 0");
	assert_null(strstr(text, "hotpath_upstream_queued_requests{group=\"a\",server"));
	char *q = strstr(text, "hotpath_upstream_queued_requests{group=\"a\"}");
	assert_null(strstr(q + 1, "hotpath_upstream_queued_requests{group=\"a\"}"));
	size_t helps = 0;
	size_t types = 0;
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			helps++;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			types++;
			continue;
		}
		/* name[{labels}] value */
		assert_true((line[0] >= 'a' && line[0] <= 'z'));
		const char *sp = strrchr(line, ' ');
		assert_non_null(sp);
		char *end;
		(void)strtod(sp + 1, &end);
		assert_true(*end == '\0' && end > sp + 1);
	}
	assert_int_equal(helps, types);
	assert_int_equal(helps, 52); /* the rows of metrics_tbl.h */
	free(text);
	hp_metrics_shard_destroy(s);
}

/* Names beyond the bound share "other"; known names keep their slots. */
static void test_route_bound(void **state)
{
	(void)state;
	struct hp_metrics_shard *s = hp_metrics_shard_create();
	unsigned first = hp_metrics_route(s, "/r0");
	unsigned other = 0;
	for (int i = 1; i < 400; i++) {
		char name[16];
		snprintf(name, sizeof(name), "/r%d", i);
		unsigned k = hp_metrics_route(s, name);
		assert_true(k < HP_METRICS_MAX_ROUTES);
		if (i >= HP_METRICS_MAX_ROUTES - 2) {
			if (other == 0)
				other = k;
			assert_int_equal(k, other);
		}
	}
	assert_int_equal(other, HP_METRICS_MAX_ROUTES - 1);
	assert_int_equal(hp_metrics_route(s, "/r0"), first);
	record(s, other, HP_METRICS_GET, 200, HP_METRICS_HIT, 10);
	char *text = scrape(&s, 1);
	expect_line(text, "hotpath_requests_total{route=\"other\",method=\"GET\",status=\"2xx\","
			  "cache=\"hit\"} 1");
	free(text);
	hp_metrics_shard_destroy(s);
}

static void test_reference_in_docs(void **state)
{
	(void)state;
	char *ref = hp_metrics_doc();
	FILE *f = fopen("docs/metrics.md", "r");
	if (f == NULL) {
		free(ref);
		fail_msg("docs/metrics.md not found: run from the repository root");
	}
	char *doc = calloc(1, 1 << 20);
	assert_non_null(doc);
	size_t n = fread(doc, 1, (1 << 20) - 1, f);
	doc[n] = '\0';
	fclose(f);
	if (strstr(doc, ref) == NULL) {
		fprintf(stderr, "docs/metrics.md is out of date; the table should be:\n%s", ref);
		fail_msg("reference table missing from docs/metrics.md");
	}
	free(ref);
	free(doc);
}

static void test_process(void **state)
{
	(void)state;
	struct hp_metrics_values v = {0};
	hp_metrics_read_process(&v);
	assert_true(v.process_open_fds >= 3);
	assert_true(v.process_resident_memory > 0);
	assert_true(v.process_start_time > 1.6e9);
	assert_true(v.process_cpu >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters),     cmocka_unit_test(test_merge), cmocka_unit_test(test_limits),
		cmocka_unit_test(test_hist_buckets), cmocka_unit_test(test_format),
		cmocka_unit_test(test_route_bound),  cmocka_unit_test(test_reference_in_docs),
		cmocka_unit_test(test_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
