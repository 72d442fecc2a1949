/* SPDX-License-Identifier: MIT */
/*
 * rules.c - `hotpath bench --budgets FILE`: the alert rules of a hotpath
 * configuration (alerts.rules, or a file holding only that part) judged on
 * a run, so one file drives live alerts and the CI gate. A rule with
 * "budget" passes when every clause holds; a rule with "expr" (an alert
 * condition) passes when its clauses do not all hold, that is, when the
 * alert would not fire. The run is judged as a whole: a rule's route,
 * `for` and `window` are the server's business. Rules that measure cpu
 * (the server's) are listed as skipped.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/rules.h"
#include "core/core.h"

static int fail(char *err, size_t errlen, const char *path, size_t i, const char *why)
{
	snprintf(err, errlen, "%s: alerts.rules[%zu]: %s", path, i, why);
	return -1;
}

static int load_rule(json_t *j, const char *path, size_t i, struct hp_bench_rule *r, char *err,
		     size_t errlen)
{
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *expr = json_string_value(json_object_get(j, "expr"));
	const char *budget = json_string_value(json_object_get(j, "budget"));
	if (name == NULL)
		return fail(err, errlen, path, i, "\"name\" is required");
	if ((expr == NULL) == (budget == NULL))
		return fail(err, errlen, path, i, "give one of \"expr\" and \"budget\"");
	r->name = hp_xstrdup(name);
	r->is_budget = budget != NULL;
	char why[256];
	if (hp_budget_parse(r->is_budget ? budget : expr, &r->clauses, why, sizeof(why)) < 0)
		return fail(err, errlen, path, i, why);
	for (size_t k = 0; k < r->clauses.n; k++)
		r->skipped = r->skipped || r->clauses.clauses[k].metric == HP_BUDGET_CPU;
	return 0;
}

int hp_bench_rules_load(const char *path, struct hp_bench_rules *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	if (root == NULL) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
		return -1;
	}
	json_t *rules = json_object_get(json_object_get(root, "alerts"), "rules");
	if (!json_is_array(rules) || json_array_size(rules) == 0) {
		snprintf(err, errlen, "%s: no alerts.rules to check", path);
		json_decref(root);
		return -1;
	}
	*out = (struct hp_bench_rules){
		.rules = hp_xcalloc(json_array_size(rules), sizeof(*out->rules)),
	};
	for (size_t i = 0; i < json_array_size(rules); i++) {
		out->n++;
		if (load_rule(json_array_get(rules, i), path, i, &out->rules[i], err, errlen) < 0) {
			hp_bench_rules_fini(out);
			json_decref(root);
			return -1;
		}
	}
	json_decref(root);
	return 0;
}

void hp_bench_rules_fini(struct hp_bench_rules *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->rules[i].name);
		hp_budget_fini(&rs->rules[i].clauses);
	}
	free(rs->rules);
	*rs = (struct hp_bench_rules){0};
}

bool hp_bench_rule_passes(const struct hp_bench_rule *r, const struct hp_bench_result *res)
{
	size_t held = 0;
	for (size_t k = 0; k < r->clauses.n; k++)
		held += hp_bench_clause_holds(&r->clauses.clauses[k], res);
	if (r->is_budget)
		return held == r->clauses.n;
	return held < r->clauses.n;
}

size_t hp_bench_rules_report(FILE *out, const struct hp_bench_rules *rs,
			     const struct hp_bench_result *res)
{
	if (rs->n == 0)
		return 0;
	size_t failed = 0;
	fputs("  budgets (--budgets)\n", out);
	for (size_t i = 0; i < rs->n; i++) {
		const struct hp_bench_rule *r = &rs->rules[i];
		if (r->skipped) {
			fprintf(out, "    - %-16s skipped: cpu is the server's\n", r->name);
			continue;
		}
		bool ok = hp_bench_rule_passes(r, res);
		failed += !ok;
		fprintf(out, "    %s %-16s %s", ok ? "\u2713" : "\u2717", r->name,
			r->is_budget ? "budget" : "alert if");
		for (size_t k = 0; k < r->clauses.n; k++) {
			const struct hp_budget_clause *c = &r->clauses.clauses[k];
			char v[32];
			hp_bench_clause_fmt(c, hp_bench_clause_measure(c, res), v, sizeof(v));
			fprintf(out, "%s %s (measured %s)", k ? "," : "", c->text, v);
		}
		fputc('\n', out);
	}
	return failed;
}
