/* SPDX-License-Identifier: MIT */
/*
 * budget.h - a bench run against the budget language of core/budget.h
 * (--assert, --find-max, --budgets): each clause's measured value in a
 * result and its verdict. Above stats.h, below everything else.
 */
#ifndef HP_BENCH_BUDGET_H
#define HP_BENCH_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/stats.h"
#include "core/budget.h"

/* The measured value of <c>'s metric in <r>, in the clause's unit. */
double hp_bench_clause_measure(const struct hp_budget_clause *c, const struct hp_bench_result *r);
bool hp_bench_clause_holds(const struct hp_budget_clause *c, const struct hp_bench_result *r);
/* Format <v>, a value of <c>'s metric, with its unit into <buf>; returns <buf>. */
const char *hp_bench_clause_fmt(const struct hp_budget_clause *c, double v, char *buf, size_t n);
/* Number of clauses of <b> that do not hold in <r>. */
size_t hp_bench_budget_violations(const struct hp_budget *b, const struct hp_bench_result *r);

#endif
