/* SPDX-License-Identifier: MIT */
/*
 * report.c - the readable summary (with a latency bar chart, the cache and
 * per-request breakdowns, budget verdicts and the generator's own CPU use)
 * and the JSON report, which carries per-second percentiles so that
 * `bench compare` can tell a change from the run's own noise.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report.h"
#include "core/core.h"

#define BAR_BINS 12
#define BAR_WIDTH 40

static const double pcts[] = {50, 75, 90, 95, 99, 99.9, 99.99};

static const char *fmt_bytes(double b, char *buf, size_t n)
{
	static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
	int u = 0;
	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	snprintf(buf, n, u ? "%.2f %s" : "%.0f %s", b, units[u]);
	return buf;
}

static void describe_model(FILE *out, const struct hp_bench_opts *o,
			   const struct hp_bench_result *r)
{
	if (r->rate > 0)
		fprintf(out, "  model      constant rate %.0f req/s", r->rate);
	else if (o->profile)
		fprintf(out, "  model      profile %s (%zu stages)", o->profile, o->nstages);
	else if (o->nstages)
		fprintf(out, "  model      %zu stages of %s", o->nstages,
			o->stages_are_conns ? "connections" : "rate");
	else
		fprintf(out, "  model      closed loop");
	fprintf(out, ", %u connections, %u thread%s, %.2f s measured%s\n", o->conns, o->threads,
		o->threads > 1 ? "s" : "", r->elapsed_s, o->keepalive ? "" : ", no keep-alive");
}

static void print_counts(FILE *out, const struct hp_bench_result *r)
{
	const struct hp_bench_stats *s = &r->st;
	char b1[32];
	char b2[32];
	fprintf(out, "  requests   %llu responses, %.1f req/s, %s read (%s/s)\n",
		(unsigned long long)s->responses, hp_bench_rps(r),
		fmt_bytes((double)s->bytes, b1, sizeof(b1)),
		fmt_bytes(r->elapsed_s > 0 ? (double)s->bytes / r->elapsed_s : 0, b2, sizeof(b2)));
	fprintf(out, "  status     2xx %llu  3xx %llu  4xx %llu  5xx %llu\n",
		(unsigned long long)s->status[2], (unsigned long long)s->status[3],
		(unsigned long long)s->status[4], (unsigned long long)s->status[5]);
	fprintf(out, "  errors    ");
	for (int i = 0; i < HP_BENCH_ERR_N; i++)
		fprintf(out, " %s %llu ", hp_bench_err_names[i], (unsigned long long)s->errors[i]);
	fprintf(out, "\n  success    %.2f %%\n", hp_bench_success_pct(r));
}

/* Two lines: extremes, then percentiles after <indent>. */
static void print_latency(FILE *out, const struct hp_hist *h, const char *indent)
{
	char a[32];
	char b[32];
	char c[32];
	char d[32];
	fprintf(out, "min %s  mean %s  stdev %s  max %s\n",
		hp_bench_fmt_us((double)hp_hist_min(h), a, sizeof(a)),
		hp_bench_fmt_us(hp_hist_mean(h), b, sizeof(b)),
		hp_bench_fmt_us(hp_hist_stdev(h), c, sizeof(c)),
		hp_bench_fmt_us((double)hp_hist_max(h), d, sizeof(d)));
	fputs(indent, out);
	for (size_t i = 0; i < HP_ARRAY_SIZE(pcts); i++)
		fprintf(out, "p%g %s  ", pcts[i],
			hp_bench_fmt_us((double)hp_hist_percentile(h, pcts[i]), a, sizeof(a)));
	fputc('\n', out);
}

/* Geometric bins from min to max; each histogram bucket goes to the bin of
 * its midpoint. */
static void print_bars(FILE *out, const struct hp_hist *h)
{
	if (h->total == 0)
		return;
	double lo = (double)HP_MAX(hp_hist_min(h), 1);
	double hi = (double)HP_MAX(hp_hist_max(h), (uint64_t)lo + 1);
	double ratio = pow(hi / lo, 1.0 / BAR_BINS);
	uint64_t bins[BAR_BINS] = {0};
	uint64_t top = 1;
	struct hp_hist_iter it = {0};
	while (hp_hist_next(h, &it)) {
		double mid = HP_MAX(((double)it.lo + (double)it.hi) / 2, lo);
		int b = (int)(log(mid / lo) / log(ratio));
		b = b < 0 ? 0 : b >= BAR_BINS ? BAR_BINS - 1 : b;
		bins[b] += it.count;
		top = HP_MAX(top, bins[b]);
	}
	fputs("  latency distribution\n", out);
	for (int b = 0; b < BAR_BINS; b++) {
		char x[32];
		char y[32];
		int len = (int)((double)bins[b] * BAR_WIDTH / (double)top + 0.5);
		fprintf(out, "    %9s - %-9s |%-*.*s| %6.2f %%\n",
			hp_bench_fmt_us(lo * pow(ratio, b), x, sizeof(x)),
			hp_bench_fmt_us(lo * pow(ratio, b + 1), y, sizeof(y)), BAR_WIDTH, len,
			"########################################",
			100.0 * (double)bins[b] / (double)h->total);
	}
}

static void print_cache(FILE *out, const struct hp_bench_result *r)
{
	if (!r->st.cache_seen)
		return;
	fprintf(out, "  cache      hit ratio %.2f %%\n", hp_bench_hit_pct(r));
	for (int i = 0; i < HP_BCACHE_N; i++) {
		const struct hp_bench_cache_stats *cs = &r->st.cache[i];
		char a[32];
		char b[32];
		fprintf(out, "    %-6s %10llu  %10.1f req/s  p50 %s  p99 %s\n",
			hp_bench_cache_names[i], (unsigned long long)cs->responses,
			r->elapsed_s > 0 ? (double)cs->responses / r->elapsed_s : 0,
			hp_bench_fmt_us((double)hp_hist_percentile(&cs->lat, 50), a, sizeof(a)),
			hp_bench_fmt_us((double)hp_hist_percentile(&cs->lat, 99), b, sizeof(b)));
	}
}

/* One row per request name; only when there is more than one. */
static void print_requests(FILE *out, const struct hp_bench_opts *o,
			   const struct hp_bench_result *r)
{
	if (o->ntargets < 2)
		return;
	int w = 8;
	for (size_t i = 0; i < o->ntargets; i++)
		w = HP_MAX(w, (int)strlen(o->targets[i].name));
	w = HP_MIN(w, 40);
	fprintf(out, "  per request\n    %-*s %9s %10s %5s %5s %5s %5s %6s %9s %9s %9s %6s\n", w,
		"name", "responses", "req/s", "2xx", "3xx", "4xx", "5xx", "errors", "p50", "p95",
		"p99", "hit%");
	for (size_t i = 0; i < o->ntargets; i++) {
		const struct hp_bench_req_stats *q = &r->st.reqs[i];
		char a[32], b[32], c[32], hit[16] = "-";
		uint64_t labelled = q->cache[0] + q->cache[1] + q->cache[2];
		if (labelled)
			snprintf(hit, sizeof(hit), "%.1f",
				 100.0 * (double)q->cache[HP_BCACHE_HIT] / (double)labelled);
		fprintf(out, "    %-*.*s %9llu %10.1f %5llu %5llu %5llu %5llu %6llu %9s %9s %9s %6s\n",
			w, w, o->targets[i].name, (unsigned long long)q->responses,
			r->elapsed_s > 0 ? (double)q->responses / r->elapsed_s : 0,
			(unsigned long long)q->status[2], (unsigned long long)q->status[3],
			(unsigned long long)q->status[4], (unsigned long long)q->status[5],
			(unsigned long long)q->errors,
			hp_bench_fmt_us((double)hp_hist_percentile(&q->lat, 50), a, sizeof(a)),
			hp_bench_fmt_us((double)hp_hist_percentile(&q->lat, 95), b, sizeof(b)),
			hp_bench_fmt_us((double)hp_hist_percentile(&q->lat, 99), c, sizeof(c)), hit);
	}
}

/*
 * A thread of the generator near a full core cannot have waited on the
 * server, so its figures are a floor for the server, not a measurement.
 * Below that, in the open model a run that kept its rate was paced by the
 * rate asked; otherwise the generator was waiting on the server.
 */
const char *hp_bench_bottleneck(const struct hp_bench_opts *o, const struct hp_bench_result *r,
				char *buf, size_t n)
{
	double pct = hp_bench_cpu_pct(r);
	double per_thread = pct / (o->threads ? o->threads : 1);
	const char *why;
	if (per_thread >= 85)
		why = "the generator may be the bottleneck (add -t, or run it on another machine)";
	else if (o->spin_us > 0)
		why = "includes --spin-us polling, so it overstates the work done";
	else if (r->rate > 0)
		why = hp_bench_rps(r) >= 0.95 * r->rate
			  ? "the rate asked for set the pace"
			  : "the server could not keep up with the rate asked";
	else if (o->nstages && !o->stages_are_conns)
		why = "the stages set the pace (see the timeline for where the server lagged)";
	else
		why = "the server (or the network) set the pace";
	snprintf(buf, n, "bench used %.0f%% of a core over %u thread%s: %s", pct, o->threads,
		 o->threads > 1 ? "s" : "", why);
	return buf;
}

void hp_bench_report_budget(FILE *out, const char *title, const struct hp_budget *b,
			    const struct hp_bench_result *r)
{
	if (b->n == 0)
		return;
	fprintf(out, "  %s\n", title);
	for (size_t i = 0; i < b->n; i++) {
		const struct hp_budget_clause *c = &b->clauses[i];
		char v[32];
		bool ok = hp_bench_clause_holds(c, r);
		hp_bench_clause_fmt(c, hp_bench_clause_measure(c, r), v, sizeof(v));
		fprintf(out, "    %s %-24s measured %s\n", ok ? "\u2713" : "\u2717", c->text, v);
	}
}

void hp_bench_report_text(FILE *out, const struct hp_bench_opts *o, const struct hp_bench_result *r)
{
	if (o->scenario_path)
		fprintf(out, "hotpath bench --scenario %s (%zu requests)", o->scenario_path,
			o->ntargets);
	else
		fprintf(out, "hotpath bench %s", o->targets[0].url);
	if (o->ntargets > 1 && !o->scenario_path)
		fprintf(out, " and %zu more URL%s", o->ntargets - 1, o->ntargets > 2 ? "s" : "");
	fputc('\n', out);
	describe_model(out, o, r);
	print_counts(out, r);
	fputs("  latency    ", out);
	print_latency(out, &r->st.lat, "             ");
	print_cache(out, r);
	print_requests(out, o, r);
	print_bars(out, &r->st.lat);
	char cpu[256];
	fprintf(out, "  cpu        %s\n", hp_bench_bottleneck(o, r, cpu, sizeof(cpu)));
}

/* ==== JSON ==== */

static json_t *latency_json(const struct hp_hist *h)
{
	json_t *j = json_pack("{s:I, s:I, s:f, s:f, s:I}", "count", (json_int_t)h->total, "min",
			      (json_int_t)hp_hist_min(h), "mean", hp_hist_mean(h), "stdev",
			      hp_hist_stdev(h), "max", (json_int_t)hp_hist_max(h));
	for (size_t i = 0; i < HP_ARRAY_SIZE(pcts); i++) {
		char key[16];
		snprintf(key, sizeof(key), "p%g", pcts[i]);
		json_object_set_new(j, key,
				    json_integer((json_int_t)hp_hist_percentile(h, pcts[i])));
	}
	return j;
}

/* The percentile curve (HdrHistogram style: 0, 50, 75, 87.5 ... %), for plots. */
static json_t *curve_json(const struct hp_hist *h)
{
	json_t *a = json_array();
	for (int k = 0; k <= 20 && h->total; k++) {
		double pct = 100.0 * (1.0 - pow(0.5, k));
		json_array_append_new(
		    a, json_pack("[f, I]", pct, (json_int_t)hp_hist_percentile(h, pct)));
	}
	if (h->total)
		json_array_append_new(a, json_pack("[f, I]", 100.0, (json_int_t)hp_hist_max(h)));
	return a;
}

static json_t *timeline_json(const struct hp_bench_stats *s)
{
	json_t *a = json_array();
	for (size_t i = 0; i < s->seconds; i++) {
		const struct hp_bench_second *t = &s->timeline[i];
		json_array_append_new(
		    a, json_pack("{s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I}", "second",
				 (json_int_t)i, "responses", (json_int_t)t->responses, "errors",
				 (json_int_t)t->errors, "bytes", (json_int_t)t->bytes, "mean_us",
				 t->responses ? (double)t->lat_sum_us / (double)t->responses : 0.0,
				 "max_us", (json_int_t)t->lat_max_us, "p50_us",
				 (json_int_t)hp_hist_percentile(&t->lat, 50), "p95_us",
				 (json_int_t)hp_hist_percentile(&t->lat, 95), "p99_us",
				 (json_int_t)hp_hist_percentile(&t->lat, 99)));
	}
	return a;
}

static json_t *cache_json(const struct hp_bench_result *r)
{
	json_t *j = json_object();
	json_object_set_new(j, "hit_ratio_pct", json_real(hp_bench_hit_pct(r)));
	for (int i = 0; i < HP_BCACHE_N; i++) {
		const struct hp_bench_cache_stats *cs = &r->st.cache[i];
		json_object_set_new(
		    j, hp_bench_cache_names[i],
		    json_pack("{s:I, s:f, s:I, s:o}", "responses", (json_int_t)cs->responses,
			      "requests_per_s",
			      r->elapsed_s > 0 ? (double)cs->responses / r->elapsed_s : 0.0,
			      "bytes", (json_int_t)cs->bytes, "latency_us",
			      latency_json(&cs->lat)));
	}
	return j;
}

static json_t *status_json(const uint64_t *status)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "1xx", (json_int_t)status[1], "2xx",
			 (json_int_t)status[2], "3xx", (json_int_t)status[3], "4xx",
			 (json_int_t)status[4], "5xx", (json_int_t)status[5]);
}

/* Per request name: what a Locust or k6 table shows. */
static json_t *requests_json(const struct hp_bench_opts *o, const struct hp_bench_result *r)
{
	json_t *a = json_array();
	for (size_t i = 0; i < o->ntargets; i++) {
		const struct hp_bench_req_stats *q = &r->st.reqs[i];
		const struct hp_bench_target *t = &o->targets[i];
		uint64_t labelled = q->cache[0] + q->cache[1] + q->cache[2];
		json_t *j = json_pack(
		    "{s:s, s:s, s:s#, s:i, s:f, s:I, s:f, s:o, s:I, s:o}", "name", t->name, "url",
		    t->url, "method", t->req, (int)strcspn(t->req, " "), "weight", (int)t->weight,
		    "think_s", (double)t->think_ns / 1e9, "responses", (json_int_t)q->responses,
		    "requests_per_s", r->elapsed_s > 0 ? (double)q->responses / r->elapsed_s : 0.0,
		    "status", status_json(q->status), "errors", (json_int_t)q->errors, "latency_us",
		    latency_json(&q->lat));
		json_object_set_new(j, "hit_ratio_pct",
				    labelled ? json_real(100.0 * (double)q->cache[HP_BCACHE_HIT] /
							 (double)labelled)
					     : json_null());
		json_array_append_new(a, j);
	}
	return a;
}

static json_t *config_json(const struct hp_bench_opts *o, const struct hp_bench_result *r)
{
	json_t *urls = json_array();
	for (size_t i = 0; i < o->ntargets; i++)
		json_array_append_new(urls, json_pack("{s:s, s:i}", "url", o->targets[i].url,
						      "weight", (int)o->targets[i].weight));
	json_t *stages = json_array();
	for (size_t i = 0; i < o->nstages; i++)
		json_array_append_new(stages, json_pack("{s:f, s:f}", "duration_s",
							(double)o->stages[i].duration_ns / 1e9,
							"target", o->stages[i].target));
	json_t *j = json_pack(
	    "{s:o, s:i, s:i, s:f, s:I, s:f, s:b, s:b, s:f, s:f, s:o, s:s, s:i}", "urls", urls,
	    "connections", (int)o->conns, "threads", (int)o->threads, "duration_s",
	    (double)o->duration_ns / 1e9, "requests", (json_int_t)o->requests, "rate", r->rate,
	    "keepalive", o->keepalive, "copy_body", o->copy_body, "timeout_s",
	    (double)o->timeout_ns / 1e9, "warmup_s", (double)o->warmup_ns / 1e9, "stages", stages,
	    "stage_unit", o->stages_are_conns ? "connections" : "requests_per_s", "spin_us",
	    (int)o->spin_us);
	json_object_set_new(j, "profile", o->profile ? json_string(o->profile) : json_null());
	json_object_set_new(j, "profile_rate", json_real(o->profile_rate));
	json_object_set_new(j, "scenario",
			    o->scenario_path ? json_string(o->scenario_path) : json_null());
	return j;
}

static json_t *budget_json(const struct hp_budget *b, const struct hp_bench_result *r)
{
	json_t *a = json_array();
	for (size_t i = 0; i < b->n; i++)
		json_array_append_new(
		    a, json_pack("{s:s, s:f, s:b}", "clause", b->clauses[i].text, "measured",
				 hp_bench_clause_measure(&b->clauses[i], r), "pass",
				 hp_bench_clause_holds(&b->clauses[i], r)));
	return a;
}

static json_t *counts_json(const struct hp_bench_stats *s)
{
	json_t *errors = json_object();
	for (int i = 0; i < HP_BENCH_ERR_N; i++)
		json_object_set_new(errors, hp_bench_err_names[i],
				    json_integer((json_int_t)s->errors[i]));
	json_object_set_new(errors, "total", json_integer((json_int_t)hp_bench_errors_total(s)));
	return json_pack("{s:o, s:o}", "status", status_json(s->status), "errors", errors);
}

int hp_bench_report_json(const char *path, const struct hp_bench_opts *o,
			 const struct hp_bench_result *r, double found_rate)
{
	const struct hp_bench_stats *s = &r->st;
	json_t *root = json_pack(
	    "{s:o, s:f, s:I, s:f, s:I, s:f, s:f, s:f, s:I, s:o, s:o, s:o}", "config",
	    config_json(o, r), "elapsed_s", r->elapsed_s, "responses", (json_int_t)s->responses,
	    "requests_per_s", hp_bench_rps(r), "bytes", (json_int_t)s->bytes, "bytes_per_s",
	    r->elapsed_s > 0 ? (double)s->bytes / r->elapsed_s : 0.0, "success_pct",
	    hp_bench_success_pct(r), "error_pct", hp_bench_error_pct(r), "connects",
	    (json_int_t)s->connects, "latency_us", latency_json(&s->lat), "percentile_curve",
	    curve_json(&s->lat), "timeline", timeline_json(s));
	HP_AN(root);
	json_t *counts = counts_json(s);
	json_object_update(root, counts);
	json_decref(counts);
	json_object_set_new(root, "body_bytes_discarded", json_integer((json_int_t)s->discarded));
	json_object_set_new(root, "requests", requests_json(o, r));
	char why[256];
	json_object_set_new(root, "cpu",
			    json_pack("{s:f, s:f, s:f, s:s}", "bench_cpu_s", r->cpu_s, "wall_s",
				      r->wall_s, "bench_cpu_pct", hp_bench_cpu_pct(r), "verdict",
				      hp_bench_bottleneck(o, r, why, sizeof(why))));
	if (s->cache_seen)
		json_object_set_new(root, "cache", cache_json(r));
	if (o->budget.n)
		json_object_set_new(root, "assert", budget_json(&o->budget, r));
	if (o->find_max.n)
		json_object_set_new(root, "find_max",
				    json_pack("{s:o, s:f}", "budget", budget_json(&o->find_max, r),
					      "rate_per_s", found_rate));
	if (r->unreachable)
		json_object_set_new(root, "unreachable", json_string(r->unreachable_reason));
	int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	json_decref(root);
	return rc == 0 ? 0 : -EIO;
}
