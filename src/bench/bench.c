/* SPDX-License-Identifier: MIT */
/*
 * bench.c - `hotpath bench`: parse the command line, run the load test (or
 * the --find-max search), print and write the reports, judge the budget.
 *
 * Files of the bench, each using only those listed before it:
 *   duration.c, stats.c  durations; counters and derived figures
 *   budget.c             a run against the --assert language (core/budget.c)
 *   rules.c              --budgets FILE: a configuration's alert rules on a run
 *   request.c            URLs and serialised requests
 *   scenario.c           scenario files into requests
 *   opts.c               the command line, stages and profiles
 *   engine.c             the load itself
 *   report.c, html.c, compare.c   what a run leaves behind
 *   bench.c              this: the command
 *
 * --find-max first runs closed-loop to learn the most the target can take,
 * then bisects constant-rate runs between 0 and that figure: a rate passes
 * when the budget holds and the target kept up (at least 90 % of the asked
 * rate was answered; short runs lose the requests still in flight at the
 * end, hence the slack). The highest passing rate is reported with its run.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/engine.h"
#include "bench/opts.h"
#include "bench/report.h"
#include "core/core.h"

#define FIND_MAX_STEPS 7

void hp_bench_usage(FILE *out)
{
	hp_bench_opts_usage(out);
}

static bool rate_passes(const struct hp_bench_opts *o, const struct hp_bench_result *r, double rate)
{
	return !r->unreachable && hp_bench_budget_violations(&o->find_max, r) == 0 &&
	       hp_bench_rps(r) >= 0.90 * rate;
}

/* Bisect constant-rate runs; leaves the best passing run in <best>. */
static double find_max(const struct hp_bench_opts *o, bool progress, struct hp_bench_result *best)
{
	struct hp_bench_result probe = {0};
	hp_bench_run(o, 0, progress, NULL, &probe);
	double hi = hp_bench_rps(&probe) * 1.05;
	double lo = 0;
	fprintf(stderr, "find-max: closed loop reached %.0f req/s; bisecting below %.0f\n",
		hp_bench_rps(&probe), hi);
	if (probe.unreachable) {
		*best = probe;
		return 0;
	}
	hp_bench_result_fini(&probe);
	bool have = false;
	for (int i = 0; i < FIND_MAX_STEPS && hi > 1; i++) {
		double mid = (lo + hi) / 2;
		struct hp_bench_result r = {0};
		hp_bench_run(o, mid, progress, NULL, &r);
		bool pass = rate_passes(o, &r, mid);
		fprintf(stderr, "find-max: %.0f req/s %s (achieved %.0f, p99 %.2fms)\n", mid,
			pass ? "passes" : "fails", hp_bench_rps(&r),
			(double)hp_hist_percentile(&r.st.lat, 99) / 1000);
		if (pass) {
			lo = mid;
			if (have)
				hp_bench_result_fini(best);
			*best = r;
			have = true;
		} else {
			hi = mid;
			hp_bench_result_fini(&r);
		}
	}
	if (!have)
		hp_bench_stats_init(&best->st, o->ntargets);
	return lo;
}

static void print_find_max(const struct hp_budget *b, double found)
{
	fputs("find-max: highest rate meeting \"", stdout);
	for (size_t i = 0; i < b->n; i++)
		printf("%s%s", i ? "," : "", b->clauses[i].text);
	if (found > 0)
		printf("\": %.0f req/s (the run above proved it)\n", found);
	else
		fputs("\": none, even the lowest rate tried failed\n", stdout);
}

static int write_reports(const struct hp_bench_opts *o, const struct hp_bench_result *r,
			 double found)
{
	if (o->json_path && hp_bench_report_json(o->json_path, o, r, found) < 0) {
		fprintf(stderr, "hotpath bench: cannot write %s\n", o->json_path);
		return 1;
	}
	if (o->html_path && hp_bench_report_html(o->html_path, o, r) < 0) {
		fprintf(stderr, "hotpath bench: cannot write %s\n", o->html_path);
		return 1;
	}
	return 0;
}

/* The whole plan first, so a long profile says what it will do. */
static void print_plan(const struct hp_bench_opts *o)
{
	if (o->nstages == 0)
		return;
	printf("%s%s: %zu stages, %.0fs in all\n", o->profile ? "profile " : "stages",
	       o->profile ? o->profile : "", o->nstages, (double)o->duration_ns / 1e9);
	fflush(stdout);
}

int hp_bench_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "compare") == 0)
		return hp_bench_compare_main(argc - 1, argv + 1, stdout);
	struct hp_bench_opts o;
	int rc = hp_bench_opts_parse(&o, argc, argv);
	if (rc != 0) {
		if (rc < 0)
			hp_bench_usage(stdout);
		hp_bench_opts_fini(&o);
		return rc < 0 ? 0 : rc;
	}
	signal(SIGPIPE, SIG_IGN);
	bool progress = !o.quiet && isatty(STDERR_FILENO);
	struct hp_bench_result r = {0};
	double found = 0;
	print_plan(&o);
	if (o.find_max.n)
		found = find_max(&o, progress, &r);
	else
		hp_bench_run(&o, o.rate, progress, stdout, &r);
	if (r.unreachable) {
		fprintf(stderr, "hotpath bench: target unreachable, run stopped: %s\n",
			r.unreachable_reason);
		rc = 3;
	} else {
		hp_bench_report_text(stdout, &o, &r);
		if (o.find_max.n)
			print_find_max(&o.find_max, found);
		rc = o.find_max.n && found <= 0 ? 1 : 0;
		hp_bench_report_budget(stdout, "budget (--assert)", &o.budget, &r);
		if (hp_bench_budget_violations(&o.budget, &r) > 0)
			rc = 1;
		if (hp_bench_rules_report(stdout, &o.rules, &r) > 0)
			rc = 1;
	}
	fflush(stdout);
	int wrc = write_reports(&o, &r, found);
	hp_bench_result_fini(&r);
	hp_bench_opts_fini(&o);
	return rc ? rc : wrc;
}
