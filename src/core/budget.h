/* SPDX-License-Identifier: MIT */
/*
 * budget.h - the budget language shared by `hotpath bench --assert`, its
 * --budgets file and alert rules: comma-separated clauses METRIC OP VALUE,
 * e.g. "p95<200ms,p99<500ms,success>=99%,rps>=1000,hit_p95<10ms". This module parses
 * and compares; what a metric's value is depends on who measures it (a
 * bench run, or a window of live traffic), so measuring lives with them.
 * Latencies are held in us and percentages as 0..100.
 */
#ifndef HP_CORE_BUDGET_H
#define HP_CORE_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

enum hp_budget_metric {
	HP_BUDGET_PCT,	   /* latency percentile (<pct>) */
	HP_BUDGET_HIT_PCT, /* latency percentile of responses served from the cache */
	HP_BUDGET_MIN,
	HP_BUDGET_MEAN,
	HP_BUDGET_MAX,
	HP_BUDGET_STDEV,
	HP_BUDGET_RPS,	      /* responses per second */
	HP_BUDGET_SUCCESS,    /* % of attempts answered 2xx or 3xx */
	HP_BUDGET_ERROR_RATE, /* % of attempts that failed at the socket level or were 5xx */
	HP_BUDGET_ERRORS,     /* count of errors */
	HP_BUDGET_HIT_RATIO,  /* % of cache-labelled responses that were hits */
	HP_BUDGET_CPU,	      /* % of one CPU the server used (live only) */
};

enum hp_budget_op { HP_BUDGET_LT, HP_BUDGET_LE, HP_BUDGET_GT, HP_BUDGET_GE };

/* One clause, e.g. "p99<500ms". */
struct hp_budget_clause {
	enum hp_budget_metric metric;
	double pct; /* HP_BUDGET_PCT: which percentile */
	enum hp_budget_op op;
	double value;  /* bound in the metric's unit (us, %, or a count) */
	char text[48]; /* the clause as written, for reports */
};

struct hp_budget {
	struct hp_budget_clause *clauses;
	size_t n;
};

/* Parse <s> into <b> (which must be empty). Returns 0, or -1 with a message
 * in <err> naming the column where it is wrong. */
int hp_budget_parse(const char *s, struct hp_budget *b, char *err, size_t errlen);
void hp_budget_fini(struct hp_budget *b);
/* Whether <m> is a latency, held in us. */
bool hp_budget_is_latency(enum hp_budget_metric m);
/* Whether <v> OP <bound> holds. */
bool hp_budget_compare(enum hp_budget_op op, double v, double bound);

#endif
