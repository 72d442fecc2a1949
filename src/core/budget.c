/* SPDX-License-Identifier: MIT */
/*
 * budget.c - the budget language of `hotpath bench --assert` and of alert
 * rules: comma-separated clauses METRIC OP NUMBER[UNIT], e.g.
 * "p95<200ms,p99<500ms,success>=99%,rps>=1000". It lives in core so that
 * bench, the config loader (which checks alert rules) and the proxy (which
 * evaluates them) read one language; what each can measure is theirs.
 *
 *   metrics  p<N> (any percentile, p99.9), min, mean, max, stdev  (unit us|ms|s)
 *            hit_p<N>: the percentile over cache hits only (hit and stale:
 *            served from memory with no upstream exchange), the budget of
 *            the cache itself ("cache lookup < 10 ms")              (unit us|ms|s)
 *            success, error_rate, hit_ratio, cpu                    (unit %)
 *            rps, errors                                            (no unit)
 *   ops      <  <=  >  >=
 *
 * Units are required where they apply: "p99<500" would silently mean
 * different things to different readers, and a budget that passes because
 * of a unit mix-up is worse than none. Errors name the 1-based column.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/budget.h"
#include "core/core.h"

enum unit_kind { UNIT_TIME, UNIT_PCT, UNIT_NONE };

static const struct {
	const char *name;
	enum hp_budget_metric metric;
	enum unit_kind unit;
} metrics[] = {
    {"min", HP_BUDGET_MIN, UNIT_TIME},
    {"mean", HP_BUDGET_MEAN, UNIT_TIME},
    {"max", HP_BUDGET_MAX, UNIT_TIME},
    {"stdev", HP_BUDGET_STDEV, UNIT_TIME},
    {"rps", HP_BUDGET_RPS, UNIT_NONE},
    {"success", HP_BUDGET_SUCCESS, UNIT_PCT},
    {"error_rate", HP_BUDGET_ERROR_RATE, UNIT_PCT},
    {"errors", HP_BUDGET_ERRORS, UNIT_NONE},
    {"hit_ratio", HP_BUDGET_HIT_RATIO, UNIT_PCT},
    {"cpu", HP_BUDGET_CPU, UNIT_PCT},
};

struct cursor {
	const char *all; /* the whole expression, for columns */
	const char *p;
	char *err;
	size_t errlen;
};

static int fail(struct cursor *c, const char *why)
{
	snprintf(c->err, c->errlen, "column %zu of \"%s\": %s", (size_t)(c->p - c->all) + 1, c->all,
		 why);
	return -1;
}

static void skip_space(struct cursor *c)
{
	while (*c->p == ' ' || *c->p == '\t')
		c->p++;
}

static bool take_number(struct cursor *c, double *out)
{
	if (!isdigit((unsigned char)*c->p) && *c->p != '.')
		return false;
	char *end;
	*out = strtod(c->p, &end);
	if (end == c->p || !isfinite(*out))
		return false;
	c->p = end;
	return true;
}

/* "pN" or "hit_pN": a percentile of all responses or of cache hits. */
static int take_percentile(struct cursor *c, struct hp_budget_clause *cl, enum unit_kind *unit,
			   bool *taken)
{
	static const char hit[] = "hit_p";
	bool of_hits = strncmp(c->p, hit, sizeof(hit) - 1) == 0;
	const char *p = of_hits ? c->p + sizeof(hit) - 2 : c->p;
	*taken = p[0] == 'p' && isdigit((unsigned char)p[1]);
	if (!*taken)
		return 0;
	c->p = p + 1;
	const char *num = c->p;
	if (!take_number(c, &cl->pct) || cl->pct <= 0 || cl->pct > 100) {
		c->p = num;
		return fail(c, "percentile must be above 0 and at most 100, e.g. p99.9");
	}
	cl->metric = of_hits ? HP_BUDGET_HIT_PCT : HP_BUDGET_PCT;
	*unit = UNIT_TIME;
	return 0;
}

static int take_metric(struct cursor *c, struct hp_budget_clause *cl, enum unit_kind *unit)
{
	bool percentile;
	if (take_percentile(c, cl, unit, &percentile) < 0)
		return -1;
	if (percentile)
		return 0;
	size_t len = strspn(c->p, "abcdefghijklmnopqrstuvwxyz_");
	for (size_t i = 0; i < HP_ARRAY_SIZE(metrics); i++) {
		if (strlen(metrics[i].name) == len && strncmp(c->p, metrics[i].name, len) == 0) {
			cl->metric = metrics[i].metric;
			*unit = metrics[i].unit;
			c->p += len;
			return 0;
		}
	}
	return fail(c, "unknown metric; expected pN, hit_pN, min, mean, max, stdev, rps, "
		       "success, error_rate, errors, hit_ratio or cpu");
}

static int take_op(struct cursor *c, struct hp_budget_clause *cl)
{
	if (c->p[0] != '<' && c->p[0] != '>')
		return fail(c, "expected a comparison: <, <=, > or >=");
	bool eq = c->p[1] == '=';
	cl->op = c->p[0] == '<' ? (eq ? HP_BUDGET_LE : HP_BUDGET_LT) : (eq ? HP_BUDGET_GE : HP_BUDGET_GT);
	c->p += eq ? 2 : 1;
	return 0;
}

static int take_unit(struct cursor *c, struct hp_budget_clause *cl, enum unit_kind unit)
{
	if (unit == UNIT_PCT) {
		if (*c->p != '%')
			return fail(c, "expected '%' after the number, e.g. success>=99%");
		c->p++;
		return 0;
	}
	if (unit == UNIT_NONE)
		return 0;
	static const struct {
		const char *name;
		double us;
	} units[] = {{"us", 1}, {"ms", 1e3}, {"s", 1e6}};
	for (size_t i = 0; i < HP_ARRAY_SIZE(units); i++) {
		size_t n = strlen(units[i].name);
		if (strncmp(c->p, units[i].name, n) == 0 && !isalpha((unsigned char)c->p[n])) {
			cl->value *= units[i].us;
			c->p += n;
			return 0;
		}
	}
	return fail(c, "expected a time unit: us, ms or s (e.g. p99<500ms)");
}

static int take_clause(struct cursor *c, struct hp_budget_clause *cl)
{
	skip_space(c);
	const char *start = c->p;
	enum unit_kind unit;
	if (take_metric(c, cl, &unit) < 0)
		return -1;
	skip_space(c);
	if (take_op(c, cl) < 0)
		return -1;
	skip_space(c);
	if (!take_number(c, &cl->value))
		return fail(c, "expected a number");
	if (take_unit(c, cl, unit) < 0)
		return -1;
	size_t n = (size_t)(c->p - start);
	if (n >= sizeof(cl->text))
		n = sizeof(cl->text) - 1;
	memcpy(cl->text, start, n);
	cl->text[n] = '\0';
	skip_space(c);
	if (*c->p != ',' && *c->p != '\0')
		return fail(c, "expected ',' or the end after the clause");
	return 0;
}

int hp_budget_parse(const char *s, struct hp_budget *b, char *err, size_t errlen)
{
	struct cursor c = {.all = s, .p = s, .err = err, .errlen = errlen};
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	*b = (struct hp_budget){.clauses = hp_xcalloc(cap, sizeof(*b->clauses))};
	for (;;) {
		if (take_clause(&c, &b->clauses[b->n]) < 0) {
			hp_budget_fini(b);
			return -1;
		}
		b->n++;
		if (*c.p == '\0')
			return 0;
		c.p++;
	}
}

void hp_budget_fini(struct hp_budget *b)
{
	free(b->clauses);
	*b = (struct hp_budget){0};
}

bool hp_budget_is_latency(enum hp_budget_metric m)
{
	switch (m) {
	case HP_BUDGET_PCT:
	case HP_BUDGET_HIT_PCT:
	case HP_BUDGET_MIN:
	case HP_BUDGET_MEAN:
	case HP_BUDGET_MAX:
	case HP_BUDGET_STDEV:
		return true;
	default:
		return false;
	}
}

bool hp_budget_compare(enum hp_budget_op op, double v, double bound)
{
	switch (op) {
	case HP_BUDGET_LT:
		return v < bound;
	case HP_BUDGET_LE:
		return v <= bound;
	case HP_BUDGET_GT:
		return v > bound;
	case HP_BUDGET_GE:
		return v >= bound;
	}
	return false;
}
