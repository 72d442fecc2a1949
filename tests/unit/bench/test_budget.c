/* SPDX-License-Identifier: MIT */
/*
 * test_budget.c - the --assert language: what parses, what is refused and
 * where the error points, and how clauses judge a known result.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#include "bench/opts.h"
#include "bench/budget.h"
#include "bench/stats.h"

static void test_parse_valid(void **state)
{
	(void)state;
	struct hp_budget b;
	char err[256] = "";
	assert_int_equal(hp_budget_parse("p95<200ms,p99<500ms,success>=99%,rps>=1000", &b,
					       err, sizeof(err)),
			 0);
	assert_int_equal(b.n, 4);
	assert_int_equal(b.clauses[0].metric, HP_BUDGET_PCT);
	assert_true(b.clauses[0].pct == 95);
	assert_int_equal(b.clauses[0].op, HP_BUDGET_LT);
	assert_true(b.clauses[0].value == 200000); /* held in us */
	assert_string_equal(b.clauses[1].text, "p99<500ms");
	assert_int_equal(b.clauses[2].metric, HP_BUDGET_SUCCESS);
	assert_int_equal(b.clauses[2].op, HP_BUDGET_GE);
	assert_true(b.clauses[2].value == 99);
	assert_int_equal(b.clauses[3].metric, HP_BUDGET_RPS);
	assert_true(b.clauses[3].value == 1000);
	hp_budget_fini(&b);

	assert_int_equal(hp_budget_parse(" p99.9 <= 1.5s , max<2s,mean>10us,error_rate<1%,"
					       "errors<=0,hit_ratio>90%,stdev<5ms,min>0us",
					       &b, err, sizeof(err)),
			 0);
	assert_int_equal(b.n, 8);
	assert_true(b.clauses[0].pct == 99.9);
	assert_int_equal(b.clauses[0].op, HP_BUDGET_LE);
	assert_true(b.clauses[0].value == 1500000);
	assert_int_equal(b.clauses[1].metric, HP_BUDGET_MAX);
	assert_int_equal(b.clauses[2].op, HP_BUDGET_GT);
	assert_true(b.clauses[2].value == 10);
	assert_int_equal(b.clauses[3].metric, HP_BUDGET_ERROR_RATE);
	assert_int_equal(b.clauses[4].metric, HP_BUDGET_ERRORS);
	assert_int_equal(b.clauses[5].metric, HP_BUDGET_HIT_RATIO);
	hp_budget_fini(&b);

	/* hit_pN: a percentile of cache hits alone, beside hit_ratio. */
	assert_int_equal(hp_budget_parse("hit_p95<10ms,hit_ratio>=90%,hit_p99.9<=20ms", &b, err,
					       sizeof(err)),
			 0);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.clauses[0].metric, HP_BUDGET_HIT_PCT);
	assert_true(b.clauses[0].pct == 95);
	assert_true(b.clauses[0].value == 10000);
	assert_int_equal(b.clauses[1].metric, HP_BUDGET_HIT_RATIO);
	assert_int_equal(b.clauses[2].metric, HP_BUDGET_HIT_PCT);
	assert_true(b.clauses[2].pct == 99.9);
	assert_true(hp_budget_is_latency(HP_BUDGET_HIT_PCT));
	assert_false(hp_budget_is_latency(HP_BUDGET_HIT_RATIO));
	hp_budget_fini(&b);
}

/* Each malformed expression is refused, and the message names the column. */
static void test_parse_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *expr;
		const char *column;
	} cases[] = {
	    {"", "column 1"},
	    {"p95", "column 4"},	  /* no operator */
	    {"p95~200ms", "column 4"},	  /* unknown operator */
	    {"p95<", "column 5"},	  /* no number */
	    {"p95<200", "column 8"},	  /* latency without a unit */
	    {"p95<200xs", "column 8"},	  /* unknown unit */
	    {"success>=99", "column 12"}, /* percentage without % */
	    {"latency<5ms", "column 1"},  /* unknown metric */
	    {"p0<5ms", "column 2"},	  /* percentile out of range */
	    {"p101<5ms", "column 2"},
	    {"p95<200ms,", "column 11"},       /* empty clause */
	    {"p95<200ms;p99<1s", "column 10"}, /* wrong separator */
	    {"rps>=1000 x", "column 11"},
	    {"hit_p0<5ms", "column 6"}, /* percentile out of range */
	    {"hit_p95<5", "column 10"}, /* latency without a unit */
	    {"hit_px<5ms", "column 1"}, /* unknown metric */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hp_budget b = {0};
		char err[256] = "";
		assert_int_equal(hp_budget_parse(cases[i].expr, &b, err, sizeof(err)), -1);
		if (strstr(err, cases[i].column) == NULL)
			fail_msg("\"%s\": got \"%s\", want %s", cases[i].expr, err,
				 cases[i].column);
		assert_null(b.clauses);
	}
}

/* A result with 99 responses at 1 ms and one at 900 ms, 2 errors, 10 s. */
static void make_result(struct hp_bench_result *r)
{
	*r = (struct hp_bench_result){0};
	hp_bench_stats_init(&r->st, 1);
	hp_hist_record_n(&r->st.lat, 1000, 99);
	hp_hist_record(&r->st.lat, 900000);
	r->st.responses = 100;
	r->st.status[2] = 98;
	r->st.status[5] = 2;
	r->st.errors[HP_BERR_CONNECT] = 1;
	r->st.errors[HP_BERR_TIMEOUT] = 1;
	r->elapsed_s = 10;
}

static size_t violations(const char *expr, const struct hp_bench_result *r)
{
	struct hp_budget b;
	char err[256];
	assert_int_equal(hp_budget_parse(expr, &b, err, sizeof(err)), 0);
	size_t n = hp_bench_budget_violations(&b, r);
	hp_budget_fini(&b);
	return n;
}

static void test_evaluate(void **state)
{
	(void)state;
	struct hp_bench_result r;
	make_result(&r);
	assert_int_equal(violations("p99<2ms", &r), 0);
	assert_int_equal(violations("p99.9<2ms", &r), 1);
	assert_int_equal(violations("max<=900ms", &r), 0);
	assert_int_equal(violations("rps>=10", &r), 0);
	assert_int_equal(violations("rps>10", &r), 1);
	/* 98 good out of 102 attempts (100 responses + 2 socket errors). */
	assert_int_equal(violations("success>=96%", &r), 0);
	assert_int_equal(violations("success>=97%", &r), 1);
	/* Socket errors and 5xx: 4 of 102 attempts. */
	assert_int_equal(violations("error_rate<4%", &r), 0);
	assert_int_equal(violations("error_rate<3.9%", &r), 1);
	assert_int_equal(violations("errors<=2", &r), 0);
	/* Every failing clause is counted, not just the first. */
	assert_int_equal(violations("p50<1us,p99.9<1ms,rps>1e6,success>=99.5%", &r), 4);

	struct hp_budget b;
	char err[256];
	assert_int_equal(hp_budget_parse("success>=99%", &b, err, sizeof(err)), 0);
	assert_true(fabs(hp_bench_clause_measure(&b.clauses[0], &r) - 9800.0 / 102) < 1e-9);
	hp_budget_fini(&b);
	hp_bench_result_fini(&r);
}

/* hit_pN reads the hits' own histogram: 10 hits at 50 us beside misses at
 * 1 ms and 900 ms; a run without hits fails it. */
static void test_evaluate_hits(void **state)
{
	(void)state;
	struct hp_bench_result r;
	make_result(&r);
	assert_int_equal(violations("hit_p99<10ms", &r), 1); /* no hit yet */
	hp_hist_record_n(&r.st.cache[HP_BCACHE_HIT].lat, 50, 10);
	r.st.cache[HP_BCACHE_HIT].responses = 10;
	assert_int_equal(violations("hit_p99<100us", &r), 0);
	assert_int_equal(violations("hit_p50<40us", &r), 1);
	assert_int_equal(violations("p99<100us", &r), 1); /* all responses: 1 ms */
	hp_bench_result_fini(&r);
}

/* A latency budget proves nothing without a response, so it fails. */
static void test_empty_run_fails_latency(void **state)
{
	(void)state;
	struct hp_bench_result r = {0};
	hp_bench_stats_init(&r.st, 1);
	r.st.errors[HP_BERR_CONNECT] = 5;
	assert_int_equal(violations("p99<1s", &r), 1);
	assert_int_equal(violations("errors<10", &r), 0);
	hp_bench_result_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_evaluate),
	    cmocka_unit_test(test_evaluate_hits),
	    cmocka_unit_test(test_empty_run_fails_latency),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
