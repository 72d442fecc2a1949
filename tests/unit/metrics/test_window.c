/* SPDX-License-Identifier: MIT */
/*
 * test_window.c - the one- and five-minute figures: exact counts, rates,
 * error rate and hit ratio per route and in total after known ticks;
 * quantiles within the stated tolerance (0 to +6.25 %); what falls out of
 * the one-minute window and the five-minute one; CPU percent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

static void record(struct hp_metrics_shard *s, unsigned route, int status,
		   enum hp_metrics_cache cache, uint64_t us)
{
	struct hp_metrics_request r = {.route = route, .method = HP_METRICS_GET,
				       .status = status, .cache = cache, .duration_us = us};
	hp_metrics_record(s, &r);
}

/* Two shards that interned their names in different orders. */
static void test_counts(void **state)
{
	(void)state;
	struct hp_metrics_shard *sh[2] = {hp_metrics_shard_create(), hp_metrics_shard_create()};
	unsigned a0 = hp_metrics_route(sh[0], "api");
	unsigned b1 = hp_metrics_route(sh[1], "static");
	unsigned a1 = hp_metrics_route(sh[1], "api");
	struct hp_metrics_window *w = hp_metrics_window_create(sh, 2);
	/* Second 1: api 3 hits, 1 miss, 1 pass, 1 502 (on two workers);
	 * static 4 hits. */
	for (int i = 0; i < 3; i++)
		record(sh[0], a0, 200, HP_METRICS_HIT, 100);
	record(sh[1], a1, 200, HP_METRICS_MISS, 1000);
	record(sh[1], a1, 200, HP_METRICS_PASS, 1000);
	record(sh[0], a0, 502, HP_METRICS_NONE, 1000);
	for (int i = 0; i < 4; i++)
		record(sh[1], b1, 200, HP_METRICS_HIT, 50);
	hp_metrics_window_tick(w, 0.5);
	/* Second 2: nothing new; CPU 0.25 s more. */
	hp_metrics_window_tick(w, 0.75);
	struct hp_metrics_figures f;
	assert_true(hp_metrics_window_read(w, "api", 60, &f));
	assert_true(f.seconds == 2);
	assert_int_equal(f.requests, 6);
	assert_int_equal(f.errors, 1);
	assert_int_equal(f.hits, 3);
	assert_int_equal(f.lookups, 4);
	assert_true(f.rps == 3.0);
	assert_true(f.hit_ratio == 0.75);
	assert_true(f.error_rate > 0.1666 && f.error_rate < 0.1667);
	assert_true(hp_metrics_window_read(w, NULL, 60, &f));
	assert_int_equal(f.requests, 10);
	assert_int_equal(f.hits, 7);
	assert_true(f.cpu_pct == 37.5); /* 0.75 s over 2 s */
	assert_false(hp_metrics_window_read(w, "nope", 60, &f));
	const char *names[8];
	size_t n = hp_metrics_window_names(w, names, 8);
	assert_int_equal(n, 3); /* none, api, static */
	hp_metrics_window_destroy(w);
	hp_metrics_shard_destroy(sh[0]);
	hp_metrics_shard_destroy(sh[1]);
}

/* 1000 samples 1..1000 ms: p50 500, p95 950, p99 990, each within
 * 0 to +6.25 % (plus the shards' own 1/128). */
static void test_quantiles(void **state)
{
	(void)state;
	struct hp_metrics_shard *sh = hp_metrics_shard_create();
	unsigned r = hp_metrics_route(sh, "r");
	struct hp_metrics_window *w = hp_metrics_window_create(&sh, 1);
	for (uint64_t ms = 1; ms <= 1000; ms++)
		record(sh, r, 200, HP_METRICS_MISS, ms * 1000);
	hp_metrics_window_tick(w, 0);
	struct hp_metrics_figures f;
	assert_true(hp_metrics_window_read(w, "r", 60, &f));
	double want[3] = {500, 950, 990};
	double got[3] = {f.p50_ms, f.p95_ms, f.p99_ms};
	for (int i = 0; i < 3; i++) {
		if (!(got[i] >= want[i] * (1 - 1.0 / 128) && got[i] <= want[i] * 1.0625 * 1.01))
			fail_msg("quantile %d: %.3f ms, want %.0f ms -0.8 %%..+6.3 %%", i, got[i],
				 want[i]);
	}
	hp_metrics_window_destroy(w);
	hp_metrics_shard_destroy(sh);
}

/* The hits' series holds hits and stale serves alone: 100 hits at 1 ms
 * and 5 stale at 2 ms beside 100 misses at 500 ms and 100 revalidated at
 * 400 ms (an upstream exchange, not the cache's own time). */
static void test_hit_quantiles(void **state)
{
	(void)state;
	struct hp_metrics_shard *sh = hp_metrics_shard_create();
	unsigned r = hp_metrics_route(sh, "r");
	struct hp_metrics_window *w = hp_metrics_window_create(&sh, 1);
	for (int i = 0; i < 100; i++) {
		record(sh, r, 200, HP_METRICS_HIT, 1000);
		record(sh, r, 200, HP_METRICS_MISS, 500000);
		record(sh, r, 200, HP_METRICS_REVALIDATED, 400000);
	}
	for (int i = 0; i < 5; i++)
		record(sh, r, 200, HP_METRICS_STALE, 2000);
	hp_metrics_window_tick(w, 0);
	struct hp_metrics_figures f;
	assert_true(hp_metrics_window_read(w, "r", 60, &f));
	assert_true(f.p95_ms >= 500 * (1 - 1.0 / 128));
	assert_true(f.hit_p95_ms >= 1 * (1 - 1.0 / 128) && f.hit_p95_ms <= 1 * 1.0625 * 1.01);
	assert_true(f.hit_p99_ms >= 2 * (1 - 1.0 / 128) && f.hit_p99_ms <= 2 * 1.0625 * 1.01);
	double us = hp_metrics_window_quantile_us(w, "r", 300, HP_METRICS_HITS, 95);
	assert_true(us >= 1000 * (1 - 1.0 / 128) && us <= 1000 * 1.0625 * 1.01);
	us = hp_metrics_window_quantile_us(w, NULL, 60, HP_METRICS_ALL, 50);
	assert_true(us >= 400000 * (1 - 1.0 / 128) && us <= 400000 * 1.0625 * 1.01);
	hp_metrics_window_destroy(w);
	hp_metrics_shard_destroy(sh);
}

/* A second 61 ticks ago is out of the minute and still in five minutes;
 * 301 ticks ago, out of both. */
static void test_expiry(void **state)
{
	(void)state;
	struct hp_metrics_shard *sh = hp_metrics_shard_create();
	unsigned r = hp_metrics_route(sh, "r");
	struct hp_metrics_window *w = hp_metrics_window_create(&sh, 1);
	for (int i = 0; i < 7; i++)
		record(sh, r, 200, HP_METRICS_MISS, 100);
	hp_metrics_window_tick(w, 0);
	struct hp_metrics_figures f;
	for (int t = 1; t <= 60; t++)
		hp_metrics_window_tick(w, 0);
	assert_true(hp_metrics_window_read(w, "r", 60, &f));
	assert_int_equal(f.requests, 0);
	assert_true(f.seconds == 60);
	assert_true(hp_metrics_window_read(w, "r", 300, &f));
	assert_int_equal(f.requests, 7);
	assert_true(f.seconds == 61);
	for (int t = 61; t < 300; t++)
		hp_metrics_window_tick(w, 0);
	assert_true(hp_metrics_window_read(w, "r", 300, &f));
	assert_int_equal(f.requests, 7); /* 300 ticks: the first is still in */
	assert_true(f.seconds == 300);
	hp_metrics_window_tick(w, 0);
	assert_true(hp_metrics_window_read(w, "r", 300, &f));
	assert_int_equal(f.requests, 0);
	assert_true(f.seconds >= 291 && f.seconds <= 300);
	hp_metrics_window_destroy(w);
	hp_metrics_shard_destroy(sh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_hit_quantiles),
		cmocka_unit_test(test_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
