/* SPDX-License-Identifier: MIT */
/*
 * report.c - the readable summary (with a latency bar chart and the cache
 * breakdown) and the JSON report. Both read only the merged result, so
 * what the terminal shows and what CI parses are the same figures.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_priv.h"
#include "core/core.h"

#define BAR_BINS 12
#define BAR_WIDTH 40

const char *const hp_bench_err_names[HP_BENCH_ERR_N] = {
    "connect", "read", "write", "timeout", "parse",
};
const char *const hp_bench_cache_names[HP_BCACHE_N] = {"hit", "miss", "stale"};

static const double pcts[] = {50, 75, 90, 95, 99, 99.9, 99.99};

const char *hp_bench_fmt_us(double us, char *buf, size_t n)
{
	if (us < 1000)
		snprintf(buf, n, "%.0fus", us);
	else if (us < 1e6)
		snprintf(buf, n, "%.2fms", us / 1e3);
	else
		snprintf(buf, n, "%.2fs", us / 1e6);
	return buf;
}

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

void hp_bench_report_text(FILE *out, const struct hp_bench_opts *o, const struct hp_bench_result *r)
{
	fprintf(out, "hotpath bench %s", o->targets[0].url);
	if (o->ntargets > 1)
		fprintf(out, " and %zu more URL%s", o->ntargets - 1, o->ntargets > 2 ? "s" : "");
	fputc('\n', out);
	describe_model(out, o, r);
	print_counts(out, r);
	fputs("  latency    ", out);
	print_latency(out, &r->st.lat, "             ");
	print_cache(out, r);
	print_bars(out, &r->st.lat);
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
		    a, json_pack("{s:I, s:I, s:I, s:I, s:f, s:I}", "second", (json_int_t)i,
				 "responses", (json_int_t)t->responses, "errors",
				 (json_int_t)t->errors, "bytes", (json_int_t)t->bytes, "mean_us",
				 t->responses ? (double)t->lat_sum_us / (double)t->responses : 0.0,
				 "max_us", (json_int_t)t->lat_max_us));
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
	return json_pack(
	    "{s:o, s:i, s:i, s:f, s:I, s:f, s:b, s:b, s:f, s:f, s:o, s:s}", "urls", urls, "connections",
	    (int)o->conns, "threads", (int)o->threads, "duration_s", (double)o->duration_ns / 1e9,
	    "requests", (json_int_t)o->requests, "rate", r->rate, "keepalive", o->keepalive,
	    "copy_body", o->copy_body, "timeout_s", (double)o->timeout_ns / 1e9, "warmup_s", (double)o->warmup_ns / 1e9,
	    "stages", stages, "stage_unit", o->stages_are_conns ? "connections" : "requests_per_s");
}

static json_t *budget_json(const struct hp_bench_budget *b, const struct hp_bench_result *r)
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
	json_t *status =
	    json_pack("{s:I, s:I, s:I, s:I, s:I}", "1xx", (json_int_t)s->status[1], "2xx",
		      (json_int_t)s->status[2], "3xx", (json_int_t)s->status[3], "4xx",
		      (json_int_t)s->status[4], "5xx", (json_int_t)s->status[5]);
	return json_pack("{s:o, s:o}", "status", status, "errors", errors);
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
