/* SPDX-License-Identifier: MIT */
/*
 * bench.c - `hotpath bench`: parse the command line, run the load test (or
 * the --find-max search), print and write the reports, judge the budget.
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
#include "bench/bench_priv.h"
#include "core/core.h"

#define FIND_MAX_STEPS 7

void hp_bench_usage(FILE *out)
{
	fputs(
	    "usage: hotpath bench [options] URL [URL@WEIGHT ...]\n"
	    "\n"
	    "Load an HTTP/1.1 server and report latency percentiles and throughput.\n"
	    "\n"
	    "  -c, --connections N   connections in all (default 10)\n"
	    "  -t, --threads N       threads, each with its own event loop (default 1)\n"
	    "  -d, --duration D      measured duration, e.g. 30s, 2m (default 10s)\n"
	    "  -n, --requests N      stop after N requests instead of a duration\n"
	    "  -R, --rate R          constant rate in req/s (open model: latency counts\n"
	    "                        from the intended send time, as wrk2 does)\n"
	    "  -m, --method M        request method (default GET; POST with a body)\n"
	    "  -H, --header 'N: v'   add a request header (repeatable)\n"
	    "  -b, --body S          request body; --body-file F reads it from F\n"
	    "      --timeout D       per-request timeout (default 10s)\n"
	    "      --no-keepalive    one request per connection\n"
	    "      --spin-us N       poll up to N us before sleeping (default 50, 0 = never):\n"
	    "                        saves a wake-up per round trip, costs CPU when idle\n"
	    "      --copy-body       read every body byte into memory; by default the part of a\n"
	    "                        Content-Length body past the first read is discarded in\n"
	    "                        the kernel (recv MSG_TRUNC), counted but never copied\n"
	    "      --warmup D        run D before measuring (not counted)\n"
	    "      --stages LIST     ramp linearly from target to target, e.g.\n"
	    "                        \"10s:100,30s:1000,10s:0\" (req/s) or\n"
	    "                        \"10s:50c,1m:50c\" (connections)\n"
	    "      --assert EXPR     budget, e.g. \"p95<200ms,p99<500ms,success>=99%,rps>=1000\";\n"
	    "                        metrics pN min mean max stdev (us|ms|s), success\n"
	    "                        error_rate hit_ratio (%), rps errors\n"
	    "      --find-max EXPR   search the highest constant rate that meets EXPR\n"
	    "      --json FILE       write every figure and the timeline as JSON\n"
	    "      --html FILE       write a self-contained page with SVG plots\n"
	    "      --quiet           no live progress line\n"
	    "\n"
	    "URL@WEIGHT spreads requests over several URLs by weight (default 1).\n"
	    "Exit: 0 ok, 1 a budget clause failed, 2 usage error, 3 target unreachable.\n",
	    out);
}

static void print_violations(const struct hp_bench_budget *b, const struct hp_bench_result *r,
			     FILE *out)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct hp_bench_clause *c = &b->clauses[i];
		if (hp_bench_clause_holds(c, r))
			continue;
		double v = hp_bench_clause_measure(c, r);
		char buf[32];
		if (c->metric <= HP_BM_STDEV)
			hp_bench_fmt_us(v, buf, sizeof(buf));
		else if (c->metric == HP_BM_RPS || c->metric == HP_BM_ERRORS)
			snprintf(buf, sizeof(buf), "%.1f", v);
		else
			snprintf(buf, sizeof(buf), "%.2f%%", v);
		fprintf(out, "assert failed: %s (measured %s)\n", c->text, buf);
	}
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
	hp_bench_run(o, 0, progress, &probe);
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
		hp_bench_run(o, mid, progress, &r);
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
		hp_bench_stats_init(&best->st);
	return lo;
}

static void print_find_max(const struct hp_bench_budget *b, double found)
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

int hp_bench_main(int argc, char **argv)
{
	struct hp_bench_opts o;
	int rc = hp_bench_opts_parse(&o, argc, argv);
	if (rc != 0) {
		hp_bench_opts_fini(&o);
		return rc < 0 ? 0 : rc;
	}
	signal(SIGPIPE, SIG_IGN);
	bool progress = !o.quiet && isatty(STDERR_FILENO);
	struct hp_bench_result r = {0};
	double found = 0;
	if (o.find_max.n)
		found = find_max(&o, progress, &r);
	else
		hp_bench_run(&o, o.rate, progress, &r);
	if (r.unreachable) {
		fprintf(stderr, "hotpath bench: target unreachable, run stopped: %s\n",
			r.unreachable_reason);
		rc = 3;
	} else {
		hp_bench_report_text(stdout, &o, &r);
		if (o.find_max.n)
			print_find_max(&o.find_max, found);
		rc = o.find_max.n && found <= 0 ? 1 : 0;
		print_violations(&o.budget, &r, stdout);
		if (hp_bench_budget_violations(&o.budget, &r) > 0)
			rc = 1;
	}
	fflush(stdout);
	int wrc = write_reports(&o, &r, found);
	hp_bench_result_fini(&r);
	hp_bench_opts_fini(&o);
	return rc ? rc : wrc;
}
