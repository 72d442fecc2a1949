/* SPDX-License-Identifier: MIT */
/*
 * compare.c - `hotpath bench compare BASE.json NEW.json`, a regression
 * guard for CI.
 *
 * Each figure (req/s, p50, p95, p99, error %, hit ratio) is compared as the
 * whole-run values the reports print. Whether a change matters is judged
 * against the runs' own noise, estimated from their per-second timelines:
 * with s_a, s_b the standard deviations of the per-second values and n_a,
 * n_b the number of whole seconds, a change is flagged when
 *
 *     |new - base| > 3 * sqrt(s_a^2/n_a + s_b^2/n_b)   and   > 1 % of base
 *
 * (three standard errors of the difference of the means, the second bound
 * so that a very steady run does not flag a change nobody would act on).
 * The hit ratio has no timeline; its noise is the binomial one. A flagged
 * change in the bad direction (fewer req/s or hits, more latency or errors)
 * is a regression, and any regression makes the exit status 1.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/report.h"
#include "core/core.h"

#define SIGMAS 3.0
#define MIN_REL 0.01

enum better { HIGHER, LOWER };
enum unit { U_RATE, U_US, U_PCT };

struct figure {
	const char *label;
	const char *tl_key; /* timeline field, NULL: derived or none */
	enum better better;
	enum unit unit;
};

static const struct figure figures[] = {
    {"req/s", NULL, HIGHER, U_RATE},	{"p50", "p50_us", LOWER, U_US},
    {"p95", "p95_us", LOWER, U_US},	{"p99", "p99_us", LOWER, U_US},
    {"error %", NULL, LOWER, U_PCT},	{"hit ratio %", NULL, HIGHER, U_PCT},
};

struct run {
	const char *path;
	json_t *root;
	double samples[6][8192]; /* per figure, per whole second (the first 8192) */
	size_t n;		 /* whole seconds sampled */
};

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static double whole_value(const struct run *r, size_t f)
{
	json_t *lat = json_object_get(r->root, "latency_us");
	switch (f) {
	case 0:
		return num(r->root, "requests_per_s");
	case 1:
		return num(lat, "p50");
	case 2:
		return num(lat, "p95");
	case 3:
		return num(lat, "p99");
	case 4:
		return num(r->root, "error_pct");
	default:
		return num(json_object_get(r->root, "cache"), "hit_ratio_pct");
	}
}

/* Per-second samples; the last, partial second is left out. */
static int take_timeline(struct run *r)
{
	json_t *tl = json_object_get(r->root, "timeline");
	double elapsed = num(r->root, "elapsed_s");
	if (!json_is_array(tl) || !(elapsed >= 0)) {
		fprintf(stderr, "hotpath bench compare: %s: no \"timeline\" (not a bench --json report?)\n",
			r->path);
		return -1;
	}
	size_t whole = HP_MIN((size_t)elapsed, json_array_size(tl));
	whole = HP_MIN(whole, HP_ARRAY_SIZE(r->samples[0]));
	for (size_t i = 0; i < whole; i++) {
		json_t *s = json_array_get(tl, i);
		double resp = num(s, "responses");
		if (isnan(num(s, "p99_us"))) {
			fprintf(stderr,
				"hotpath bench compare: %s: timeline has no per-second percentiles "
				"(written by an older hotpath bench)\n",
				r->path);
			return -1;
		}
		r->samples[0][i] = resp;
		for (size_t f = 1; f <= 3; f++)
			r->samples[f][i] = num(s, figures[f].tl_key);
		r->samples[4][i] = resp > 0 ? 100.0 * num(s, "errors") / resp : 0;
	}
	r->n = whole;
	return 0;
}

/* Variance over n of the per-second samples of figure <f>: the squared
 * standard error of their mean. */
static double var_of_mean(const struct run *r, size_t f)
{
	if (f == 5) { /* binomial, from the response count */
		double p = whole_value(r, f) / 100.0;
		double n = num(r->root, "responses");
		return n > 0 ? 1e4 * p * (1 - p) / n : 0;
	}
	if (r->n < 2)
		return 0;
	double mean = 0, ss = 0;
	for (size_t i = 0; i < r->n; i++)
		mean += r->samples[f][i];
	mean /= (double)r->n;
	for (size_t i = 0; i < r->n; i++)
		ss += (r->samples[f][i] - mean) * (r->samples[f][i] - mean);
	return ss / (double)(r->n - 1) / (double)r->n;
}

static const char *fmt(enum unit u, double v, char *buf, size_t n)
{
	if (u == U_US)
		return hp_bench_fmt_us(v, buf, n);
	snprintf(buf, n, u == U_RATE ? "%.1f" : "%.2f", v);
	return buf;
}

/* One row; returns true if it is a flagged regression. */
static bool compare_figure(FILE *out, const struct run *a, const struct run *b, size_t f)
{
	const struct figure *fg = &figures[f];
	double va = whole_value(a, f), vb = whole_value(b, f);
	if (isnan(va) || isnan(vb))
		return false;
	double noise = SIGMAS * sqrt(var_of_mean(a, f) + var_of_mean(b, f));
	double d = vb - va;
	bool flagged = fabs(d) > noise && fabs(d) > MIN_REL * fabs(va) && d != 0;
	bool worse = fg->better == HIGHER ? d < 0 : d > 0;
	char x[32], y[32], z[32], ch[32];
	if (va != 0)
		snprintf(ch, sizeof(ch), "%+.1f %%", 100.0 * d / va);
	else
		snprintf(ch, sizeof(ch), "%s", d == 0 ? "0" : "new");
	fprintf(out, "  %-12s %12s %12s %10s %12s  %s\n", fg->label, fmt(fg->unit, va, x, sizeof(x)),
		fmt(fg->unit, vb, y, sizeof(y)), ch, fmt(fg->unit, noise, z, sizeof(z)),
		!flagged ? "within noise" : worse ? "REGRESSION" : "improvement");
	return flagged && worse;
}

static int load(struct run *r, const char *path)
{
	json_error_t je;
	r->path = path;
	r->root = json_load_file(path, 0, &je);
	if (r->root == NULL) {
		fprintf(stderr, "hotpath bench compare: %s:%d:%d: %s\n", path, je.line, je.column,
			je.text);
		return -1;
	}
	return take_timeline(r);
}

int hp_bench_compare_main(int argc, char **argv, FILE *out)
{
	if (argc != 3) {
		fputs("usage: hotpath bench compare BASE.json NEW.json\n", stderr);
		return 2;
	}
	static struct run a, b; /* 384 KiB of samples each: not on the stack */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	int rc = 2;
	if (load(&a, argv[1]) == 0 && load(&b, argv[2]) == 0) {
		fprintf(out, "bench compare %s (base, %zu s) -> %s (new, %zu s)\n", argv[1], a.n,
			argv[2], b.n);
		fprintf(out, "  %-12s %12s %12s %10s %12s  %s\n", "figure", "base", "new", "change",
			"noise (3se)", "verdict");
		size_t regressions = 0;
		for (size_t f = 0; f < HP_ARRAY_SIZE(figures); f++)
			regressions += compare_figure(out, &a, &b, f);
		fprintf(out, "%zu regression%s beyond noise\n", regressions,
			regressions == 1 ? "" : "s");
		rc = regressions ? 1 : 0;
	}
	json_decref(a.root);
	json_decref(b.root);
	return rc;
}
