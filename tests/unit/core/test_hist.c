/* SPDX-License-Identifier: MIT */
/*
 * test_hist.c - the log-linear histogram: every value is reported within
 * its promised precision, percentiles pick the right rank, and merging,
 * resetting and iterating keep the counts intact.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#include "core/hist.h"

#define HOUR_US 3600000000ull

static void test_bucket_precision(void **state)
{
	(void)state;
	struct hp_hist h;
	hp_hist_init(&h, HOUR_US, 3);
	/* Every bucket is narrower than 1/1000 of the values it holds. */
	for (uint64_t v = 1; v <= HOUR_US; v = v * 3 / 2 + 1) {
		uint64_t lo;
		uint64_t hi;
		hp_hist_bucket_range(&h, v, &lo, &hi);
		assert_true(lo <= v && v <= hi);
		assert_true((double)(hi - lo) <= (double)lo / 1000.0);
	}
	/* Small values are exact. */
	for (uint64_t v = 0; v < 2000; v++) {
		uint64_t lo;
		uint64_t hi;
		hp_hist_bucket_range(&h, v, &lo, &hi);
		assert_int_equal(lo, v);
		assert_int_equal(hi, v);
	}
	assert_true(h.num_counts * sizeof(uint64_t) < 200 * 1024);
	hp_hist_fini(&h);
}

static void test_percentiles_uniform(void **state)
{
	(void)state;
	struct hp_hist h;
	hp_hist_init(&h, HOUR_US, 3);
	/* 1..100000 us once each: pN is N% of 100000, within 0.1 %. */
	for (uint64_t v = 1; v <= 100000; v++)
		hp_hist_record(&h, v);
	static const double pcts[] = {50, 75, 90, 95, 99, 99.9, 99.99};
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		double want = pcts[i] * 1000.0;
		double got = (double)hp_hist_percentile(&h, pcts[i]);
		assert_true(fabs(got - want) <= want * 0.001 + 1);
	}
	assert_int_equal(hp_hist_percentile(&h, 0), 1);
	assert_int_equal(hp_hist_percentile(&h, 100), 100000);
	assert_int_equal(hp_hist_min(&h), 1);
	assert_int_equal(hp_hist_max(&h), 100000);
	assert_true(fabs(hp_hist_mean(&h) - 50000.5) < 1e-6);
	/* Population stdev of 1..n is sqrt((n^2 - 1) / 12). */
	assert_true(fabs(hp_hist_stdev(&h) - sqrt((1e10 - 1) / 12)) < 0.01);
	hp_hist_validate(&h);
	hp_hist_fini(&h);
}

static void test_percentile_rank(void **state)
{
	(void)state;
	struct hp_hist h;
	hp_hist_init(&h, HOUR_US, 3);
	/* 99 fast requests and one slow one: p99 is fast, p99.9 is slow. */
	hp_hist_record_n(&h, 1000, 99);
	hp_hist_record(&h, 2000000);
	assert_int_equal(hp_hist_percentile(&h, 50), 1000);
	assert_int_equal(hp_hist_percentile(&h, 99), 1000);
	assert_int_equal(hp_hist_percentile(&h, 99.9), 2000000);
	assert_int_equal(h.total, 100);
	hp_hist_fini(&h);
}

static void test_empty_and_clamp(void **state)
{
	(void)state;
	struct hp_hist h;
	hp_hist_init(&h, 1000000, 3);
	assert_int_equal(hp_hist_percentile(&h, 99), 0);
	assert_int_equal(hp_hist_min(&h), 0);
	assert_true(hp_hist_mean(&h) == 0.0);
	assert_true(hp_hist_stdev(&h) == 0.0);
	/* Above highest: counted, max still exact. */
	hp_hist_record(&h, 5000000);
	assert_int_equal(h.total, 1);
	assert_int_equal(hp_hist_max(&h), 5000000);
	assert_int_equal(hp_hist_percentile(&h, 50), 5000000);
	hp_hist_validate(&h);
	hp_hist_fini(&h);
}

static void test_merge_and_reset(void **state)
{
	(void)state;
	struct hp_hist a;
	struct hp_hist b;
	struct hp_hist all;
	hp_hist_init(&a, HOUR_US, 3);
	hp_hist_init(&b, HOUR_US, 3);
	hp_hist_init(&all, HOUR_US, 3);
	for (uint64_t v = 1; v < 50000; v += 7) {
		hp_hist_record(v % 2 ? &a : &b, v * 13);
		hp_hist_record(&all, v * 13);
	}
	hp_hist_merge(&a, &b);
	hp_hist_validate(&a);
	assert_int_equal(a.total, all.total);
	assert_int_equal(hp_hist_min(&a), hp_hist_min(&all));
	assert_int_equal(hp_hist_max(&a), hp_hist_max(&all));
	assert_memory_equal(a.counts, all.counts, a.num_counts * sizeof(uint64_t));
	assert_int_equal(hp_hist_percentile(&a, 99.9), hp_hist_percentile(&all, 99.9));
	hp_hist_reset(&a);
	assert_int_equal(a.total, 0);
	assert_int_equal(hp_hist_percentile(&a, 50), 0);
	hp_hist_validate(&a);
	hp_hist_fini(&a);
	hp_hist_fini(&b);
	hp_hist_fini(&all);
}

static void test_iterate(void **state)
{
	(void)state;
	struct hp_hist h;
	hp_hist_init(&h, HOUR_US, 3);
	hp_hist_record_n(&h, 5, 2);
	hp_hist_record_n(&h, 300000, 3);
	hp_hist_record(&h, 70);
	struct hp_hist_iter it = {0};
	uint64_t seen = 0;
	uint64_t last_hi = 0;
	int buckets = 0;
	while (hp_hist_next(&h, &it)) {
		assert_true(it.lo >= last_hi);
		last_hi = it.hi;
		seen += it.count;
		buckets++;
	}
	assert_int_equal(buckets, 3);
	assert_int_equal(seen, 6);
	assert_true(last_hi >= 300000);
	hp_hist_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bucket_precision), cmocka_unit_test(test_percentiles_uniform),
	    cmocka_unit_test(test_percentile_rank),  cmocka_unit_test(test_empty_and_clamp),
	    cmocka_unit_test(test_merge_and_reset),  cmocka_unit_test(test_iterate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
