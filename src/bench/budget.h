/* SPDX-License-Identifier: MIT */
/*
 * budget.h - the --assert / --find-max language: comma-separated clauses
 * METRIC OP VALUE, e.g. "p95<200ms,p99<500ms,success>=99%,rps>=1000", and
 * their verdicts on a result. Above stats.h, below everything else.
 */
#ifndef HP_BENCH_BUDGET_H
#define HP_BENCH_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/stats.h"

enum hp_bench_metric {
	HP_BM_PCT, /* latency percentile (<pct>) */
	HP_BM_MIN,
	HP_BM_MEAN,
	HP_BM_MAX,
	HP_BM_STDEV,
	HP_BM_RPS,	  /* responses per second */
	HP_BM_SUCCESS,	  /* % of attempts answered 2xx or 3xx */
	HP_BM_ERROR_RATE, /* % of attempts that failed at the socket level or were 5xx */
	HP_BM_ERRORS,	  /* count of socket-level errors */
	HP_BM_HIT_RATIO,  /* % of cache-labelled responses that were hits */
};

enum hp_bench_op { HP_OP_LT, HP_OP_LE, HP_OP_GT, HP_OP_GE };

/* One clause of --assert, e.g. "p99<500ms". Latencies are held in us and
 * percentages as 0..100. */
struct hp_bench_clause {
	enum hp_bench_metric metric;
	double pct; /* HP_BM_PCT: which percentile */
	enum hp_bench_op op;
	double value;  /* bound in the metric's unit */
	char text[48]; /* the clause as written, for reports */
};

struct hp_bench_budget {
	struct hp_bench_clause *clauses;
	size_t n;
};

/* Parse <s> into <b> (which must be empty). Returns 0, or -1 with a message
 * in <err> naming the column where it is wrong. */
int hp_bench_budget_parse(const char *s, struct hp_bench_budget *b, char *err, size_t errlen);
void hp_bench_budget_fini(struct hp_bench_budget *b);
/* The measured value of <c>'s metric in <r>, in the clause's unit. */
double hp_bench_clause_measure(const struct hp_bench_clause *c, const struct hp_bench_result *r);
bool hp_bench_clause_holds(const struct hp_bench_clause *c, const struct hp_bench_result *r);
/* Format <v>, a value of <c>'s metric, with its unit into <buf>; returns <buf>. */
const char *hp_bench_clause_fmt(const struct hp_bench_clause *c, double v, char *buf, size_t n);
/* Number of clauses of <b> that do not hold in <r>. */
size_t hp_bench_budget_violations(const struct hp_bench_budget *b, const struct hp_bench_result *r);

#endif
