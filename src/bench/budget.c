/* SPDX-License-Identifier: MIT */
/*
 * budget.c - a bench run measured against budget clauses (core/budget.h):
 * each metric's value in a result, whether a clause holds, and how a value
 * is printed.
 */
#include <math.h>
#include <stdio.h>

#include "bench/budget.h"
#include "core/core.h"

double hp_bench_clause_measure(const struct hp_budget_clause *c, const struct hp_bench_result *r)
{
	const struct hp_hist *h = &r->st.lat;
	switch (c->metric) {
	case HP_BUDGET_PCT:
		return (double)hp_hist_percentile(h, c->pct);
	case HP_BUDGET_HIT_PCT:
		return (double)hp_hist_percentile(&r->st.cache[HP_BCACHE_HIT].lat, c->pct);
	case HP_BUDGET_MIN:
		return (double)hp_hist_min(h);
	case HP_BUDGET_MEAN:
		return hp_hist_mean(h);
	case HP_BUDGET_MAX:
		return (double)hp_hist_max(h);
	case HP_BUDGET_STDEV:
		return hp_hist_stdev(h);
	case HP_BUDGET_RPS:
		return hp_bench_rps(r);
	case HP_BUDGET_SUCCESS:
		return hp_bench_success_pct(r);
	case HP_BUDGET_ERROR_RATE:
		return hp_bench_error_pct(r);
	case HP_BUDGET_ERRORS:
		return (double)hp_bench_errors_total(&r->st);
	case HP_BUDGET_HIT_RATIO:
		return hp_bench_hit_pct(r);
	case HP_BUDGET_CPU:
		break; /* the server's: a run cannot measure it (refused by opts.c) */
	}
	return NAN;
}

bool hp_bench_clause_holds(const struct hp_budget_clause *c, const struct hp_bench_result *r)
{
	double v = hp_bench_clause_measure(c, r);
	/* A latency budget over a run without a single response (or, for
	 * hit_pN, without a single hit) proves nothing. */
	if (c->metric == HP_BUDGET_HIT_PCT && r->st.cache[HP_BCACHE_HIT].lat.total == 0)
		return false;
	if (hp_budget_is_latency(c->metric) && r->st.lat.total == 0)
		return false;
	return hp_budget_compare(c->op, v, c->value);
}

const char *hp_bench_clause_fmt(const struct hp_budget_clause *c, double v, char *buf, size_t n)
{
	if (hp_budget_is_latency(c->metric))
		return hp_bench_fmt_us(v, buf, n);
	if (c->metric == HP_BUDGET_RPS)
		snprintf(buf, n, "%.1f", v);
	else if (c->metric == HP_BUDGET_ERRORS)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.2f%%", v);
	return buf;
}

size_t hp_bench_budget_violations(const struct hp_budget *b, const struct hp_bench_result *r)
{
	size_t n = 0;
	for (size_t i = 0; i < b->n; i++)
		n += !hp_bench_clause_holds(&b->clauses[i], r);
	return n;
}
