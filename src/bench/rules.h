/* SPDX-License-Identifier: MIT */
/*
 * rules.h - --budgets FILE: a configuration's alert rules judged on a run
 * (rules.c). Above budget.h.
 */
#ifndef HP_BENCH_RULES_H
#define HP_BENCH_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bench/budget.h"

struct hp_bench_rule {
	char *name;
	bool is_budget;                /* "budget": must hold; else "expr": must not */
	bool skipped;                  /* measures cpu, which bench cannot */
	struct hp_budget clauses;
};

struct hp_bench_rules {
	struct hp_bench_rule *rules;
	size_t n;
};

/* Read alerts.rules of the JSON file <path> into <out>. Returns 0, or -1
 * with "FILE: where: why" in <err> (nothing to free then). */
int hp_bench_rules_load(const char *path, struct hp_bench_rules *out, char *err, size_t errlen);
void hp_bench_rules_fini(struct hp_bench_rules *rs);
/* Whether <r> passes on <res>: a budget holds, an alert would not fire. */
bool hp_bench_rule_passes(const struct hp_bench_rule *r, const struct hp_bench_result *res);
/* Print each rule's verdict to <out>; returns how many failed. */
size_t hp_bench_rules_report(FILE *out, const struct hp_bench_rules *rs,
			     const struct hp_bench_result *res);

#endif
