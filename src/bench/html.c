/* SPDX-License-Identifier: MIT */
/*
 * html.c - the --html report: one self-contained page (no scripts, no
 * external files) with two inline SVG plots, the latency percentile curve
 * on the usual "nines" axis (HdrHistogram style: 90 %, 99 %, 99.9 % ... at
 * equal steps) and responses per second over time.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench_priv.h"
#include "core/core.h"

#define W 720
#define H 300
#define PAD 50
#define NINES 5 /* the curve runs to 99.999 % */

/* A polyline in plot coordinates (x, y in [0,1]) inside the padded box. */
static void svg_open(FILE *f, const char *title, const char *xlabel, const char *ylabel)
{
	fprintf(f,
		"<h2>%s</h2>\n<svg width=\"%d\" height=\"%d\" "
		"xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">\n",
		title, W, H);
	fprintf(f,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" "
		"stroke=\"#999\"/>\n",
		PAD, 10, W - PAD - 10, H - PAD - 10);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", W / 2, H - 8,
		xlabel);
	fprintf(f,
		"<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\" "
		"text-anchor=\"middle\">%s</text>\n",
		H / 2, H / 2, ylabel);
}

static double px(double x)
{
	return PAD + x * (W - PAD - 10);
}

static double py(double y)
{
	return H - PAD - y * (H - PAD - 20);
}

static void y_ticks(FILE *f, double max, const char *unit)
{
	for (int i = 0; i <= 4; i++) {
		double y = i / 4.0;
		fprintf(f,
			"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3g%s</text>\n",
			PAD, W - 10, py(y), py(y), PAD - 4, py(y) + 4, max * y, unit);
	}
}

static void percentile_plot(FILE *f, const struct hp_hist *h)
{
	svg_open(f, "Latency by percentile", "percentile", "latency (ms)");
	double max_ms = (double)hp_hist_max(h) / 1e3;
	if (max_ms <= 0)
		max_ms = 1;
	y_ticks(f, max_ms, "");
	for (int n = 0; n <= NINES; n++) {
		double x = (double)n / NINES;
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.*f%%</text>\n",
			px(x), H - PAD + 14, n > 2 ? n - 2 : 0, 100.0 * (1 - pow(10, -n)));
	}
	fputs("<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"", f);
	for (int i = 0; i <= 200 && h->total; i++) {
		double nines = NINES * i / 200.0;
		double pct = 100.0 * (1 - pow(10, -nines));
		double ms = (double)hp_hist_percentile(h, pct) / 1e3;
		fprintf(f, "%.1f,%.1f ", px(nines / NINES), py(ms / max_ms));
	}
	fputs("\"/>\n</svg>\n", f);
}

static void rate_plot(FILE *f, const struct hp_bench_stats *s)
{
	svg_open(f, "Responses per second", "time (s)", "req/s");
	uint64_t top = 1;
	for (size_t i = 0; i < s->seconds; i++)
		top = HP_MAX(top, s->timeline[i].responses);
	y_ticks(f, (double)top, "");
	size_t n = HP_MAX(s->seconds, 2);
	for (size_t i = 0; i < n; i += (n + 9) / 10)
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%zu</text>\n",
			px((double)i / (double)(n - 1)), H - PAD + 14, i);
	fputs("<polyline fill=\"none\" stroke=\"#2471a3\" stroke-width=\"2\" points=\"", f);
	for (size_t i = 0; i < s->seconds; i++)
		fprintf(f, "%.1f,%.1f ", px((double)i / (double)(n - 1)),
			py((double)s->timeline[i].responses / (double)top));
	fputs("\"/>\n</svg>\n", f);
}

int hp_bench_report_html(const char *path, const struct hp_bench_opts *o,
			 const struct hp_bench_result *r)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>hotpath bench</title>"
	      "<style>body{font-family:sans-serif;margin:2em}pre{background:#f4f4f4;"
	      "padding:1em}</style></head><body>\n<h1>hotpath bench</h1>\n<pre>",
	      f);
	/* The summary text has no markup characters but URLs may: escape them. */
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	HP_AN(mem);
	hp_bench_report_text(mem, o, r);
	fclose(mem);
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '<')
			fputs("&lt;", f);
		else if (text[i] == '&')
			fputs("&amp;", f);
		else
			fputc(text[i], f);
	}
	free(text);
	fputs("</pre>\n", f);
	percentile_plot(f, &r->st.lat);
	rate_plot(f, &r->st);
	fputs("</body></html>\n", f);
	return fclose(f) == 0 ? 0 : -EIO;
}
