/* SPDX-License-Identifier: MIT */
/*
 * html.c - the --html report: one self-contained page (inline SVG, no
 * script, no external file) to attach to a pull request. It shows the run's
 * parameters, the summary, the budget verdicts, the per-request table, and
 * four charts: throughput and errors over time, p50/p95/p99 over time (from
 * the per-second histograms), the latency histogram, and the percentile
 * curve on the usual "nines" axis (90 %, 99 %, 99.9 % at equal steps).
 *
 * Every chart is drawn by chart(): axes with units, ticks at round values
 * (1-2-5 steps on linear axes, decades on log axes), margins wide enough
 * for the longest tick label, so nothing is clipped. Each series' polyline
 * carries data-points="N", which the chromium test reads.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report.h"
#include "core/core.h"

#define W 920		/* chart width, px */
#define H 330		/* chart height, px */
#define ML 84		/* left margin: y tick labels and the axis title */
#define MR 44		/* right margin: half the widest x tick label */
#define MT 34		/* top margin: the legend */
#define MB 52		/* bottom margin: x tick labels and the axis title */
#define HIST_BINS 48	/* latency histogram bars */
#define CURVE_NINES 5	/* percentile curve up to 99.999 % */
#define CURVE_STEPS 250 /* points on the percentile curve */

typedef const char *fmt_fn(double v, char *buf, size_t n);

struct axis {
	const char *title; /* with its unit */
	bool log;	   /* log10 scale (lo > 0) */
	double lo, hi;
	fmt_fn *fmt; /* tick labels */
};

struct series {
	const char *name;
	const char *color;
	const double *x;
	const double *y;
	size_t n;
};

/* ==== Formatting ==== */

static const char *fmt_num(double v, char *buf, size_t n)
{
	if (fabs(v) >= 1e6)
		snprintf(buf, n, "%.3gM", v / 1e6);
	else if (fabs(v) >= 1e4)
		snprintf(buf, n, "%.3gk", v / 1e3);
	else
		snprintf(buf, n, "%.4g", v);
	return buf;
}

static const char *fmt_lat(double us, char *buf, size_t n)
{
	if (us < 1000)
		snprintf(buf, n, "%.3g µs", us);
	else if (us < 1e6)
		snprintf(buf, n, "%.3g ms", us / 1e3);
	else
		snprintf(buf, n, "%.3g s", us / 1e6);
	return buf;
}

static const char *fmt_nines(double x, char *buf, size_t n)
{
	int k = (int)lround(x);
	snprintf(buf, n, "%.*f%%", k > 2 ? k - 2 : 0, 100.0 * (1 - pow(10, -k)));
	return buf;
}

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else
			fputc(*s, f);
	}
}

/* ==== Charts ==== */

static double norm(const struct axis *a, double v)
{
	if (a->log) {
		v = HP_MAX(v, a->lo);
		return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
	}
	return (v - a->lo) / (a->hi - a->lo);
}

static double sx(const struct axis *a, double v)
{
	return ML + norm(a, v) * (W - ML - MR);
}

static double sy(const struct axis *a, double v)
{
	return H - MB - norm(a, v) * (H - MB - MT);
}

/* Round the range outwards: linear to a 1-2-5 step, log to decades. */
static double nice_step(double span)
{
	double raw = span / 5;
	double p = pow(10, floor(log10(raw)));
	double m = raw / p;
	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void fit_axis(struct axis *a)
{
	if (a->log) {
		a->lo = pow(10, floor(log10(HP_MAX(a->lo, 1e-9))));
		a->hi = pow(10, ceil(log10(HP_MAX(a->hi, a->lo * 10))));
		if (a->hi <= a->lo)
			a->hi = a->lo * 10;
		return;
	}
	if (!(a->hi > a->lo))
		a->hi = a->lo + 1;
	double st = nice_step(a->hi - a->lo);
	a->lo = floor(a->lo / st) * st;
	a->hi = ceil(a->hi / st) * st;
}

static void tick(FILE *f, const struct axis *a, double v, bool is_x, const struct axis *other)
{
	char lab[32];
	a->fmt(v, lab, sizeof(lab));
	if (is_x)
		fprintf(f,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e3e3e3\"/>"
			"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
			sx(a, v), sx(a, v), MT, H - MB, sx(a, v), H - MB + 16, lab);
	else
		fprintf(f,
			"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>"
			"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			ML, W - MR, sy(a, v), sy(a, v), ML - 6, sy(a, v) + 4, lab);
	(void)other;
}

static void ticks(FILE *f, const struct axis *a, bool is_x)
{
	if (a->log) {
		double decades = log10(a->hi / a->lo);
		for (double d = a->lo; d <= a->hi * 1.0001; d *= 10) {
			tick(f, a, d, is_x, NULL);
			if (decades <= 2 && d * 10 <= a->hi * 1.0001) {
				tick(f, a, 2 * d, is_x, NULL);
				tick(f, a, 5 * d, is_x, NULL);
			}
		}
		return;
	}
	double st = nice_step(a->hi - a->lo);
	for (double v = a->lo; v <= a->hi + st / 1e6; v += st)
		tick(f, a, v, is_x, NULL);
}

static void legend(FILE *f, const struct series *s, size_t ns)
{
	double x = ML;
	for (size_t i = 0; i < ns; i++) {
		fprintf(f,
			"<rect x=\"%.0f\" y=\"10\" width=\"14\" height=\"4\" fill=\"%s\"/>"
			"<text x=\"%.0f\" y=\"16\">%s</text>\n",
			x, s[i].color, x + 18, s[i].name);
		x += 30 + 8.0 * (double)strlen(s[i].name);
	}
}

static void plot_series(FILE *f, const struct axis *xa, const struct axis *ya,
			const struct series *s, bool bars)
{
	if (bars) {
		fprintf(f, "<g class=\"series\" data-series=\"%s\" data-points=\"%zu\">", s->name, s->n);
		double bw = (W - ML - MR) / (double)HP_MAX(s->n, 1) * 0.9;
		for (size_t i = 0; i < s->n; i++) {
			double top = sy(ya, s->y[i]);
			fprintf(f,
				"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				"fill=\"%s\"/>",
				sx(xa, s->x[i]) - bw / 2, top, bw, H - MB - top, s->color);
		}
		fputs("</g>\n", f);
		return;
	}
	fprintf(f,
		"<polyline class=\"series\" data-series=\"%s\" data-points=\"%zu\" fill=\"none\" "
		"stroke=\"%s\" stroke-width=\"2\" points=\"",
		s->name, s->n, s->color);
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, "%.1f,%.1f ", sx(xa, s->x[i]), sy(ya, s->y[i]));
	fputs("\"/>\n", f);
}

static void chart(FILE *f, const char *id, const char *title, struct axis *xa, struct axis *ya,
		  const struct series *s, size_t ns, bool bars)
{
	fit_axis(xa);
	fit_axis(ya);
	fprintf(f,
		"<h2>%s</h2>\n<svg id=\"%s\" class=\"chart\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\" "
		"font-family=\"sans-serif\">\n",
		title, id, W, H, W, H);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fcfcfc\"/>\n", ML,
		MT, W - ML - MR, H - MB - MT);
	ticks(f, xa, true);
	ticks(f, ya, false);
	fprintf(f,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n",
		ML, MT, W - ML - MR, H - MB - MT);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		ML + (W - ML - MR) / 2, H - 10, xa->title);
	fprintf(f,
		"<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" "
		"text-anchor=\"middle\">%s</text>\n",
		MT + (H - MB - MT) / 2, MT + (H - MB - MT) / 2, ya->title);
	for (size_t i = 0; i < ns; i++)
		plot_series(f, xa, ya, &s[i], bars);
	legend(f, s, ns);
	fputs("</svg>\n", f);
}

/* ==== The four charts ==== */

static void timeline_charts(FILE *f, const struct hp_bench_stats *st)
{
	size_t n = st->seconds;
	double *x = hp_xcalloc(n + 1, sizeof(double));
	double *v[5];
	for (int k = 0; k < 5; k++)
		v[k] = hp_xcalloc(n + 1, sizeof(double));
	double top = 1, lo_us = 1e12, hi_us = 1;
	for (size_t i = 0; i < n; i++) {
		const struct hp_bench_second *s = &st->timeline[i];
		x[i] = (double)i + 1; /* the second ending at i+1 s */
		v[0][i] = (double)s->responses;
		v[1][i] = (double)s->errors;
		v[2][i] = (double)hp_hist_percentile(&s->lat, 50);
		v[3][i] = (double)hp_hist_percentile(&s->lat, 95);
		v[4][i] = (double)hp_hist_percentile(&s->lat, 99);
		top = HP_MAX(top, HP_MAX(v[0][i], v[1][i]));
		if (s->responses) {
			lo_us = HP_MIN(lo_us, HP_MAX(v[2][i], 1));
			hi_us = HP_MAX(hi_us, v[4][i]);
		}
	}
	struct axis xa = {"time since start of measurement (s)", false, 0, (double)HP_MAX(n, 1),
			  fmt_num};
	struct axis ya = {"responses per second (req/s)", false, 0, top * 1.05, fmt_num};
	struct series thr[] = {{"responses/s", "#2471a3", x, v[0], n},
			       {"errors/s (socket + 5xx)", "#c0392b", x, v[1], n}};
	chart(f, "chart-throughput", "Throughput and errors over time", &xa, &ya, thr, 2, false);
	struct axis xb = xa;
	struct axis yb = {"latency (log scale)", true, lo_us <= hi_us ? lo_us : 1, hi_us, fmt_lat};
	struct series lat[] = {{"p50", "#27ae60", x, v[2], n},
			       {"p95", "#e67e22", x, v[3], n},
			       {"p99", "#c0392b", x, v[4], n}};
	chart(f, "chart-latency-time", "Latency percentiles per second", &xb, &yb, lat, 3, false);
	free(x);
	for (int k = 0; k < 5; k++)
		free(v[k]);
}

/* Geometric bins from min to max; each histogram bucket goes to the bin of
 * its midpoint; bars show the share of responses. */
static void histogram_chart(FILE *f, const struct hp_hist *h)
{
	double lo = (double)HP_MAX(hp_hist_min(h), 1);
	double hi = (double)HP_MAX(hp_hist_max(h), (uint64_t)lo + 1);
	double ratio = pow(hi / lo, 1.0 / HIST_BINS);
	double x[HIST_BINS], y[HIST_BINS] = {0}, top = 1;
	struct hp_hist_iter it = {0};
	while (h->total && hp_hist_next(h, &it)) {
		double mid = HP_MAX(((double)it.lo + (double)it.hi) / 2, lo);
		int b = (int)(log(mid / lo) / log(ratio));
		b = b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b;
		y[b] += 100.0 * (double)it.count / (double)h->total;
	}
	for (int b = 0; b < HIST_BINS; b++) {
		x[b] = lo * pow(ratio, b + 0.5);
		top = HP_MAX(top, y[b]);
	}
	struct axis xa = {"latency (log scale)", true, lo, hi, fmt_lat};
	struct axis ya = {"share of responses (%)", false, 0, top * 1.05, fmt_num};
	struct series s = {"responses", "#2471a3", x, y, h->total ? HIST_BINS : 0};
	chart(f, "chart-histogram", "Latency histogram", &xa, &ya, &s, 1, true);
}

static void percentile_chart(FILE *f, const struct hp_hist *h)
{
	double x[CURVE_STEPS + 1], y[CURVE_STEPS + 1];
	size_t n = 0;
	for (int i = 0; i <= CURVE_STEPS && h->total; i++) {
		double nines = CURVE_NINES * (double)i / CURVE_STEPS;
		x[n] = nines;
		y[n++] = (double)HP_MAX(hp_hist_percentile(h, 100.0 * (1 - pow(10, -nines))), 1);
	}
	struct axis xa = {"percentile (log scale of 1 - p)", false, 0, CURVE_NINES, fmt_nines};
	struct axis ya = {"latency (log scale)", true, (double)HP_MAX(hp_hist_min(h), 1),
			  (double)HP_MAX(hp_hist_max(h), 2), fmt_lat};
	struct series s = {"latency at percentile", "#8e44ad", x, y, n};
	chart(f, "chart-percentiles", "Latency by percentile", &xa, &ya, &s, 1, false);
}

/* ==== Tables ==== */

static void row(FILE *f, const char *k, const char *v)
{
	fputs("<tr><th>", f);
	put_escaped(f, k);
	fputs("</th><td>", f);
	put_escaped(f, v);
	fputs("</td></tr>\n", f);
}

static void params_table(FILE *f, const struct hp_bench_opts *o, const struct hp_bench_result *r)
{
	char b[512];
	fputs("<h2>Run parameters</h2>\n<table class=\"kv\">\n", f);
	if (o->scenario_path)
		row(f, "scenario file", o->scenario_path);
	snprintf(b, sizeof(b), "%s%s", o->targets[0].url, o->ntargets > 1 ? " (and more below)" : "");
	row(f, "target", b);
	if (r->rate > 0)
		snprintf(b, sizeof(b), "open model, constant %.0f req/s", r->rate);
	else if (o->nstages)
		snprintf(b, sizeof(b), "%s%s%s%zu stages of %s", o->profile ? "profile " : "",
			 o->profile ? o->profile : "", o->profile ? ": " : "", o->nstages,
			 o->stages_are_conns ? "connections" : "req/s");
	else
		snprintf(b, sizeof(b), "closed loop");
	row(f, "load model", b);
	size_t len = 0;
	b[0] = '\0';
	for (size_t i = 0; i < o->nstages && len < sizeof(b) - 80; i++) {
		char d[96];
		hp_bench_stage_describe(o->stages, i, o->stages_are_conns, d, sizeof(d));
		len += (size_t)snprintf(b + len, sizeof(b) - len, "%s%s", i ? "; " : "", d);
	}
	if (o->nstages)
		row(f, "stages", b);
	snprintf(b, sizeof(b), "%u connections, %u thread%s, keep-alive %s, timeout %.3gs, spin %u us",
		 o->conns, o->threads, o->threads > 1 ? "s" : "", o->keepalive ? "on" : "off",
		 (double)o->timeout_ns / 1e9, o->spin_us);
	row(f, "generator", b);
	snprintf(b, sizeof(b), "%.2f s measured (warm-up %.3gs)", r->elapsed_s,
		 (double)o->warmup_ns / 1e9);
	row(f, "duration", b);
	fputs("</table>\n", f);
}

static void summary_table(FILE *f, const struct hp_bench_opts *o, const struct hp_bench_result *r)
{
	const struct hp_hist *h = &r->st.lat;
	char b[256], p[4][32];
	fputs("<h2>Summary</h2>\n<table class=\"kv\">\n", f);
	snprintf(b, sizeof(b), "%llu responses, %.1f req/s", (unsigned long long)r->st.responses,
		 hp_bench_rps(r));
	row(f, "throughput", b);
	snprintf(b, sizeof(b), "%.2f %% success, %.2f %% errors (%llu socket errors, %llu 5xx)",
		 hp_bench_success_pct(r), hp_bench_error_pct(r),
		 (unsigned long long)hp_bench_errors_total(&r->st),
		 (unsigned long long)r->st.status[5]);
	row(f, "outcome", b);
	snprintf(b, sizeof(b), "p50 %s, p95 %s, p99 %s, max %s",
		 fmt_lat((double)hp_hist_percentile(h, 50), p[0], sizeof(p[0])),
		 fmt_lat((double)hp_hist_percentile(h, 95), p[1], sizeof(p[1])),
		 fmt_lat((double)hp_hist_percentile(h, 99), p[2], sizeof(p[2])),
		 fmt_lat((double)hp_hist_max(h), p[3], sizeof(p[3])));
	row(f, "latency", b);
	if (r->st.cache_seen) {
		snprintf(b, sizeof(b), "%.2f %% hits (%llu hit, %llu miss, %llu stale)",
			 hp_bench_hit_pct(r), (unsigned long long)r->st.cache[0].responses,
			 (unsigned long long)r->st.cache[1].responses,
			 (unsigned long long)r->st.cache[2].responses);
		row(f, "cache", b);
	}
	row(f, "generator CPU", hp_bench_bottleneck(o, r, b, sizeof(b)));
	fputs("</table>\n", f);
}

static void budget_table(FILE *f, const struct hp_budget *bd, const struct hp_bench_result *r)
{
	if (bd->n == 0)
		return;
	fputs("<h2>Budget</h2>\n<table id=\"budget\">\n<tr><th></th><th>clause</th>"
	      "<th>measured</th></tr>\n",
	      f);
	for (size_t i = 0; i < bd->n; i++) {
		const struct hp_budget_clause *c = &bd->clauses[i];
		bool ok = hp_bench_clause_holds(c, r);
		char v[32];
		hp_bench_clause_fmt(c, hp_bench_clause_measure(c, r), v, sizeof(v));
		fprintf(f, "<tr class=\"%s\"><td>%s</td><td>", ok ? "pass" : "fail",
			ok ? "✓ pass" : "✗ fail");
		put_escaped(f, c->text);
		fprintf(f, "</td><td>%s</td></tr>\n", v);
	}
	fputs("</table>\n", f);
}

static void requests_table(FILE *f, const struct hp_bench_opts *o, const struct hp_bench_result *r)
{
	fputs("<h2>Per request</h2>\n<table id=\"requests\">\n<tr><th>name</th><th>weight</th>"
	      "<th>responses</th><th>req/s</th><th>2xx</th><th>3xx</th><th>4xx</th><th>5xx</th>"
	      "<th>errors</th><th>p50</th><th>p95</th><th>p99</th><th>hit ratio</th></tr>\n",
	      f);
	for (size_t i = 0; i < o->ntargets; i++) {
		const struct hp_bench_req_stats *q = &r->st.reqs[i];
		char p[3][32], hit[16] = "–";
		uint64_t labelled = q->cache[0] + q->cache[1] + q->cache[2];
		if (labelled)
			snprintf(hit, sizeof(hit), "%.1f %%",
				 100.0 * (double)q->cache[HP_BCACHE_HIT] / (double)labelled);
		fputs("<tr><td>", f);
		put_escaped(f, o->targets[i].name);
		fprintf(f,
			"</td><td>%u</td><td>%llu</td><td>%.1f</td><td>%llu</td><td>%llu</td>"
			"<td>%llu</td><td>%llu</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td>"
			"<td>%s</td></tr>\n",
			o->targets[i].weight, (unsigned long long)q->responses,
			r->elapsed_s > 0 ? (double)q->responses / r->elapsed_s : 0,
			(unsigned long long)q->status[2], (unsigned long long)q->status[3],
			(unsigned long long)q->status[4], (unsigned long long)q->status[5],
			(unsigned long long)q->errors,
			fmt_lat((double)hp_hist_percentile(&q->lat, 50), p[0], sizeof(p[0])),
			fmt_lat((double)hp_hist_percentile(&q->lat, 95), p[1], sizeof(p[1])),
			fmt_lat((double)hp_hist_percentile(&q->lat, 99), p[2], sizeof(p[2])), hit);
	}
	fputs("</table>\n", f);
}

int hp_bench_report_html(const char *path, const struct hp_bench_opts *o,
			 const struct hp_bench_result *r)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<title>hotpath bench report</title><style>"
	      "body{font-family:sans-serif;margin:24px;max-width:960px;color:#222}"
	      "h1{font-size:22px}h2{font-size:17px;margin:22px 0 6px}"
	      "table{border-collapse:collapse;font-size:13px}"
	      "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}"
	      "#requests td{text-align:right}#requests td:first-child{text-align:left}"
	      "table.kv th{background:#f3f3f3;width:130px}"
	      "tr.pass td:first-child{color:#1e8449}tr.fail td:first-child{color:#c0392b;"
	      "font-weight:bold}svg{display:block}"
	      "</style></head><body>\n<h1>hotpath bench report</h1>\n",
	      f);
	params_table(f, o, r);
	summary_table(f, o, r);
	budget_table(f, &o->budget, r);
	requests_table(f, o, r);
	timeline_charts(f, &r->st);
	histogram_chart(f, &r->st.lat);
	percentile_chart(f, &r->st.lat);
	fputs("</body></html>\n", f);
	return fclose(f) == 0 ? 0 : -EIO;
}
