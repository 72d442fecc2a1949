/* SPDX-License-Identifier: MIT */
/*
 * opts.c - the `hotpath bench` command line: options, URLs with weights or
 * a scenario file, stage lists and the named profiles that expand to them,
 * and the usage text. Every mistake is a usage error (exit 2) that names the
 * bad argument, because a load test that silently runs with a misread option
 * produces numbers nobody should trust.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench/duration.h"
#include "bench/opts.h"
#include "bench/scenario.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/core.h"

#define MAX_HEADERS 64
#define MAX_WEIGHT 1000000

/* Collected while parsing, before the requests are built. */
struct req_parts {
	const char *method;
	const char *headers[MAX_HEADERS];
	size_t nheaders;
	char *body;
	size_t body_len;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hotpath bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\n(see `hotpath help bench`)\n", stderr);
	va_end(ap);
	return 2;
}

/* ==== Numbers and stages ==== */

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static int stage_error(char *err, size_t errlen, const char *s, const char *at, const char *why)
{
	snprintf(err, errlen, "stage list \"%s\", at character %zu: %s", s, (size_t)(at - s) + 1,
		 why);
	return -1;
}

/* One "DURATION:TARGET[c]" element at <p> (up to <end>). */
static int parse_stage(const char *s, const char *p, const char *end, struct hp_bench_stage *st,
		       int *kind, char *err, size_t errlen)
{
	const char *colon = memchr(p, ':', (size_t)(end - p));
	if (colon == NULL)
		return stage_error(err, errlen, s, p, "expected DURATION:TARGET, e.g. 10s:100");
	if (!hp_bench_parse_duration(p, (size_t)(colon - p), &st->duration_ns) ||
	    st->duration_ns == 0)
		return stage_error(err, errlen, s, p, "invalid duration (e.g. 500ms, 10s, 2m)");
	const char *v = colon + 1;
	size_t vlen = (size_t)(end - v);
	int this_kind = vlen > 0 && v[vlen - 1] == 'c' ? 1 : 0;
	vlen -= (size_t)this_kind;
	char num[32];
	char *nend;
	if (vlen == 0 || vlen >= sizeof(num) || v[0] < '0' || v[0] > '9')
		return stage_error(err, errlen, s, v,
				   "invalid target: a rate, or connections "
				   "with a 'c' suffix");
	memcpy(num, v, vlen);
	num[vlen] = '\0';
	st->target = strtod(num, &nend);
	if (*nend != '\0' || !isfinite(st->target) || st->target > 1e8)
		return stage_error(err, errlen, s, v, "invalid target number");
	if (*kind >= 0 && *kind != this_kind)
		return stage_error(err, errlen, s, v,
				   "all stages must be rates or all "
				   "connections ('c')");
	*kind = this_kind;
	return 0;
}

int hp_bench_parse_stages(const char *s, struct hp_bench_stage **out, size_t *n, bool *are_conns,
			  char *err, size_t errlen)
{
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	struct hp_bench_stage *st = hp_xcalloc(cap, sizeof(*st));
	int kind = -1;
	size_t count = 0;
	const char *p = s;
	for (;;) {
		const char *end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if (parse_stage(s, p, end, &st[count], &kind, err, errlen) < 0) {
			free(st);
			return -1;
		}
		count++;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	*out = st;
	*n = count;
	*are_conns = kind == 1;
	return 0;
}

double hp_bench_stage_value(const struct hp_bench_stage *st, size_t n, uint64_t t_ns)
{
	double from = 0;
	for (size_t i = 0; i < n; i++) {
		if (t_ns < st[i].duration_ns) {
			double f = (double)t_ns / (double)st[i].duration_ns;
			return from + (st[i].target - from) * f;
		}
		t_ns -= st[i].duration_ns;
		from = st[i].target;
	}
	return from;
}

size_t hp_bench_stage_at(const struct hp_bench_stage *st, size_t n, uint64_t t_ns)
{
	for (size_t i = 0; i < n; i++) {
		if (t_ns < st[i].duration_ns)
			return i;
		t_ns -= st[i].duration_ns;
	}
	return n;
}

/* ==== Profiles ==== */

/*
 * The four test types of load-testing practice as stage shapes, in
 * fractions of the whole length and multiples of the base rate -R. Ramps
 * are stages too, so the load never jumps by more than the shape says.
 */
struct shape_step {
	double frac; /* of the total duration */
	double mult; /* target, times the base rate */
};

static const struct shape_step baseline[] = {{0.1, 1}, {0.9, 1}, {0, 0}};
static const struct shape_step stress[] = {
    {0.025, 1}, {0.2, 1}, {0.025, 2}, {0.2, 2}, {0.025, 3},
    {0.2, 3},	{0.025, 4}, {0.2, 4}, {0.1, 0}, {0, 0},
};
static const struct shape_step spike[] = {
    {0.05, 1}, {0.25, 1}, {0.02, 5}, {0.2, 5}, {0.02, 1}, {0.46, 1}, {0, 0},
};
static const struct shape_step soak[] = {{0.02, 1}, {0.96, 1}, {0.02, 0}, {0, 0}};

static const struct {
	const char *name;
	const struct shape_step *steps;
	uint64_t default_ns;
} profiles[] = {
    {"baseline", baseline, 60000000000ull},
    {"stress", stress, 300000000000ull},
    {"spike", spike, 60000000000ull},
    {"soak", soak, 1800000000000ull},
};

int hp_bench_profile_stages(const char *name, double rate, uint64_t total_ns,
			    struct hp_bench_stage **out, size_t *n)
{
	for (size_t i = 0; i < HP_ARRAY_SIZE(profiles); i++) {
		if (strcmp(name, profiles[i].name) != 0)
			continue;
		uint64_t total = total_ns ? total_ns : profiles[i].default_ns;
		size_t k = 0;
		while (profiles[i].steps[k].frac > 0)
			k++;
		struct hp_bench_stage *st = hp_xcalloc(k, sizeof(*st));
		for (size_t j = 0; j < k; j++) {
			double ns = (double)total * profiles[i].steps[j].frac;
			/* At least 1 ms: a stage of 0 ns would be a jump, not a ramp. */
			st[j].duration_ns = HP_MAX((uint64_t)llround(ns), 1000000ull);
			st[j].target = rate * profiles[i].steps[j].mult;
		}
		*out = st;
		*n = k;
		return 0;
	}
	return -1;
}

void hp_bench_stage_describe(const struct hp_bench_stage *st, size_t i, bool conns, char *buf,
			     size_t n)
{
	double from = i ? st[i - 1].target : 0;
	const char *unit = conns ? "connections" : "req/s";
	double secs = (double)st[i].duration_ns / 1e9;
	if (from == st[i].target)
		snprintf(buf, n, "hold %.0f %s for %.3gs", st[i].target, unit, secs);
	else
		snprintf(buf, n, "ramp %.0f -> %.0f %s over %.3gs", from, st[i].target, unit,
			 secs);
}

/* ==== Options ==== *//* ==== Options ==== */

static int read_body_file(const char *path, struct req_parts *rp)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return usage_error("--body-file %s: %s", path, strerror(errno));
	struct hp_buf b = {0};
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		hp_buf_append(&b, chunk, n);
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		hp_buf_fini(&b);
		return usage_error("--body-file %s: read error", path);
	}
	free(rp->body);
	rp->body_len = b.len;
	rp->body = b.base ? b.base : hp_xstrdup("");
	return 0;
}

enum {
	OPT_BODY_FILE = 256,
	OPT_TIMEOUT,
	OPT_NO_KEEPALIVE,
	OPT_SPIN_US,
	OPT_COPY_BODY,
	OPT_WARMUP,
	OPT_STAGES,
	OPT_PROFILE,
	OPT_SCENARIO,
	OPT_ASSERT,
	OPT_BUDGETS,
	OPT_FIND_MAX,
	OPT_JSON,
	OPT_HTML,
	OPT_QUIET,
};

static const struct option long_opts[] = {
    {"connections", required_argument, NULL, 'c'},
    {"threads", required_argument, NULL, 't'},
    {"duration", required_argument, NULL, 'd'},
    {"requests", required_argument, NULL, 'n'},
    {"rate", required_argument, NULL, 'R'},
    {"method", required_argument, NULL, 'm'},
    {"header", required_argument, NULL, 'H'},
    {"body", required_argument, NULL, 'b'},
    {"body-file", required_argument, NULL, OPT_BODY_FILE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"no-keepalive", no_argument, NULL, OPT_NO_KEEPALIVE},
    {"spin-us", required_argument, NULL, OPT_SPIN_US},
    {"copy-body", no_argument, NULL, OPT_COPY_BODY},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"stages", required_argument, NULL, OPT_STAGES},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"scenario", required_argument, NULL, OPT_SCENARIO},
    {"assert", required_argument, NULL, OPT_ASSERT},
    {"budgets", required_argument, NULL, OPT_BUDGETS},
    {"find-max", required_argument, NULL, OPT_FIND_MAX},
    {"json", required_argument, NULL, OPT_JSON},
    {"html", required_argument, NULL, OPT_HTML},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Every duration option goes through here, and so through the one parser. */
static int set_duration(const char *name, const char *arg, uint64_t *out)
{
	if (!hp_bench_parse_duration(arg, strlen(arg), out) || *out == 0)
		return usage_error("%s: expected " HP_CONFIG_DURATION_HINT ", got \"%s\"", name, arg);
	return 0;
}

static int set_budget(const char *name, const char *arg, struct hp_budget *b)
{
	char err[256];
	hp_budget_fini(b);
	if (hp_budget_parse(arg, b, err, sizeof(err)) < 0)
		return usage_error("%s: %s", name, err);
	for (size_t i = 0; i < b->n; i++)
		if (b->clauses[i].metric == HP_BUDGET_CPU)
			return usage_error("%s: \"%s\": cpu is the server's, which bench does not "
					   "measure (it is for alert rules)", name, b->clauses[i].text);
	return 0;
}

static int set_count(const char *name, const char *arg, unsigned long long max,
		     unsigned long long *out)
{
	if (!parse_uint(arg, max, out) || *out == 0)
		return usage_error("%s: expected a number from 1 to %llu, got \"%s\"", name, max,
				   arg);
	return 0;
}

static int set_stages(struct hp_bench_opts *o, const char *arg)
{
	char err[256];
	free(o->stages);
	o->stages = NULL;
	if (hp_bench_parse_stages(arg, &o->stages, &o->nstages, &o->stages_are_conns, err,
				  sizeof(err)) < 0)
		return usage_error("--stages: %s", err);
	return 0;
}

static int set_rate(struct hp_bench_opts *o, const char *arg)
{
	char *end;
	o->rate = strtod(arg, &end);
	if (*arg < '0' || *arg > '9' || *end != '\0' || !(o->rate > 0) || o->rate > 1e8)
		return usage_error("-R: invalid rate \"%s\" (requests per second)", arg);
	return 0;
}

static int set_spin(struct hp_bench_opts *o, const char *arg)
{
	unsigned long long us;
	if (!parse_uint(arg, 100000, &us))
		return usage_error("--spin-us: expected microseconds from 0 to 100000, got \"%s\"",
				   arg);
	o->spin_us = (unsigned)us;
	return 0;
}

/* The options that shape the requests rather than the run. */
static int take_request_option(struct req_parts *rp, int c, const char *arg)
{
	switch (c) {
	case 'm':
		if (*arg == '\0' || strpbrk(arg, " \t\r\n"))
			return usage_error("-m: invalid method \"%s\"", arg);
		rp->method = arg;
		return 0;
	case 'H':
		if (!hp_bench_header_valid(arg))
			return usage_error("-H: expected \"Name: value\", got \"%s\"", arg);
		if (rp->nheaders == MAX_HEADERS)
			return usage_error("-H: at most %d headers", MAX_HEADERS);
		rp->headers[rp->nheaders++] = arg;
		return 0;
	case 'b':
		free(rp->body);
		rp->body = hp_xstrdup(arg);
		rp->body_len = strlen(arg);
		return 0;
	default: /* OPT_BODY_FILE */
		return read_body_file(arg, rp);
	}
}

/* One option; returns 0 or 2 (a usage error, printed). */
static int take_option(struct hp_bench_opts *o, struct req_parts *rp, int c, const char *arg)
{
	unsigned long long v = 0;
	int rc;
	switch (c) {
	case 'c':
		rc = set_count("-c", arg, 1000000, &v);
		o->conns = (unsigned)v;
		return rc;
	case 't':
		rc = set_count("-t", arg, 256, &v);
		o->threads = (unsigned)v;
		return rc;
	case 'n':
		rc = set_count("-n", arg, UINT64_MAX / 2, &v);
		o->requests = v;
		return rc;
	case 'd':
		return set_duration("-d", arg, &o->duration_ns);
	case 'R':
		return set_rate(o, arg);
	case 'm':
	case 'H':
	case 'b':
	case OPT_BODY_FILE:
		return take_request_option(rp, c, arg);
	case OPT_TIMEOUT:
		return set_duration("--timeout", arg, &o->timeout_ns);
	case OPT_NO_KEEPALIVE:
		o->keepalive = false;
		return 0;
	case OPT_SPIN_US:
		return set_spin(o, arg);
	case OPT_COPY_BODY:
		o->copy_body = true;
		return 0;
	case OPT_WARMUP:
		return set_duration("--warmup", arg, &o->warmup_ns);
	case OPT_STAGES:
		return set_stages(o, arg);
	case OPT_PROFILE:
		o->profile = arg;
		return 0;
	case OPT_SCENARIO:
		o->scenario_path = arg;
		return 0;
	case OPT_ASSERT:
		return set_budget("--assert", arg, &o->budget);
	case OPT_FIND_MAX:
		return set_budget("--find-max", arg, &o->find_max);
	case OPT_BUDGETS: {
		char err[512];
		hp_bench_rules_fini(&o->rules);
		if (hp_bench_rules_load(arg, &o->rules, err, sizeof(err)) < 0)
			return usage_error("--budgets: %s", err);
		return 0;
	}
	case OPT_JSON:
		o->json_path = arg;
		return 0;
	case OPT_HTML:
		o->html_path = arg;
		return 0;
	default: /* OPT_QUIET; getopt_long returns no other value */
		o->quiet = true;
		return 0;
	}
}

/* --profile NAME with -R: becomes stages; -d, if given, is their total. */
static int expand_profile(struct hp_bench_opts *o, uint64_t duration_given)
{
	if (o->nstages)
		return usage_error("--profile and --stages exclude each other");
	if (!(o->rate > 0))
		return usage_error("--profile %s needs -R, the base rate in req/s", o->profile);
	if (o->requests || o->find_max.n)
		return usage_error("--profile sets the duration and rates; drop -n and --find-max");
	if (hp_bench_profile_stages(o->profile, o->rate, duration_given ? o->duration_ns : 0,
				    &o->stages, &o->nstages) < 0)
		return usage_error("--profile: unknown profile \"%s\" (baseline, stress, spike, soak)",
				   o->profile);
	o->stages_are_conns = false;
	o->profile_rate = o->rate;
	o->rate = 0;
	return 0;
}

/* Stages set the duration and, in connections, the connection count. */
static int apply_stages(struct hp_bench_opts *o)
{
	double peak = 1;
	o->duration_ns = 0;
	for (size_t i = 0; i < o->nstages; i++) {
		o->duration_ns += o->stages[i].duration_ns;
		peak = HP_MAX(peak, o->stages[i].target);
	}
	/* Connection stages say how many connections; -c does not apply. */
	if (o->stages_are_conns && peak > 1000000)
		return usage_error("--stages: at most 1000000 connections");
	if (o->stages_are_conns)
		o->conns = (unsigned)ceil(peak);
	return 0;
}

/* Combinations that cannot mean anything. */
static int check_combination(struct hp_bench_opts *o, uint64_t duration_given)
{
	if (o->ntargets == 0)
		return usage_error("no URL given (or --scenario FILE)");
	if (duration_given && o->requests)
		return usage_error("-d and -n exclude each other");
	if (o->profile) {
		int rc = expand_profile(o, duration_given);
		if (rc != 0)
			return rc;
	} else if (o->nstages && (duration_given || o->requests)) {
		return usage_error("--stages sets the duration; drop -d and -n");
	}
	if (o->nstages && o->rate > 0)
		return usage_error("--stages and -R exclude each other");
	if (o->find_max.n && (o->rate > 0 || o->nstages || o->requests))
		return usage_error("--find-max chooses the rate itself; drop -R, -n and --stages");
	if (o->nstages && apply_stages(o) != 0)
		return 2;
	if (o->threads > o->conns)
		o->threads = o->conns;
	return 0;
}

static void opts_defaults(struct hp_bench_opts *o)
{
	*o = (struct hp_bench_opts){
	    .conns = 10,
	    .threads = 1,
	    .duration_ns = 10000000000ull,
	    .timeout_ns = 10000000000ull,
	    .keepalive = true,
	    /* No spinning by default: it burns a core whenever the generator
	     * waits, which on a shared machine is CPU taken from the server
	     * under test (bench/results/bench-vs-wrk-2026-12-04-*.md). */
	    .spin_us = 0,
	};
}

/* "URL" or "URL@WEIGHT" into <t>. */
static int take_url(const char *arg, const struct hp_bench_req_spec *spec,
		    struct hp_bench_target *t)
{
	char *url = hp_xstrdup(arg);
	unsigned long long w = 1;
	char *at = strrchr(url, '@');
	if (at != NULL && strchr(at, '/') == NULL) {
		if (!parse_uint(at + 1, MAX_WEIGHT, &w) || w == 0) {
			free(url);
			return usage_error("invalid weight in \"%s\": expected URL@N with N >= 1",
					   arg);
		}
		*at = '\0';
	}
	char err[256];
	int rc = hp_bench_target_init(t, NULL, url, spec, err, sizeof(err));
	free(url);
	if (rc < 0)
		return usage_error("%s", err);
	t->weight = (unsigned)w;
	return 0;
}

static int take_urls(struct hp_bench_opts *o, int first, int argc, char **argv,
		     const struct req_parts *rp)
{
	struct hp_bench_req_spec spec = {
	    .method = rp->method,
	    .headers = rp->headers,
	    .nheaders = rp->nheaders,
	    .body = rp->body,
	    .body_len = rp->body_len,
	    .keepalive = o->keepalive,
	};
	o->ntargets = 0;
	o->targets = hp_xcalloc((size_t)(argc - first) + 1, sizeof(*o->targets));
	for (int i = first; i < argc; i++) {
		int rc = take_url(argv[i], &spec, &o->targets[o->ntargets++]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int take_scenario(struct hp_bench_opts *o, int first, int argc, const struct req_parts *rp)
{
	if (first < argc)
		return usage_error("--scenario names the URLs; drop the URL arguments");
	if (rp->body != NULL || strcmp(rp->method, "GET") != 0)
		return usage_error("--scenario gives each request its method and body; drop -m, -b "
				   "and --body-file (-H still applies to every request)");
	char err[512];
	if (hp_bench_scenario_load(o->scenario_path, rp->headers, rp->nheaders, o->keepalive,
				   &o->targets, &o->ntargets, err, sizeof(err)) < 0) {
		fprintf(stderr, "hotpath bench: %s\n", err);
		return 2;
	}
	return 0;
}

int hp_bench_opts_parse(struct hp_bench_opts *o, int argc, char **argv)
{
	struct req_parts rp = {.method = "GET"};
	uint64_t duration_given = 0;
	int rc = 0;
	opts_defaults(o);
	optind = 1;
	opterr = 0;
	int c;
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, "+c:t:d:n:R:m:H:b:h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			rc = -1;
		} else if (c == '?' || c == ':') {
			rc = optopt ? usage_error("unknown option or missing value: -%c", optopt)
				    : usage_error("unknown option or missing value: %s",
						  argv[optind - 1]);
		} else {
			duration_given |= c == 'd';
			rc = take_option(o, &rp, c, optarg);
		}
	}
	if (rc == 0 && o->scenario_path)
		rc = take_scenario(o, optind, argc, &rp);
	else if (rc == 0) {
		if (rp.body != NULL && strcmp(rp.method, "GET") == 0)
			rp.method = "POST";
		rc = take_urls(o, optind, argc, argv, &rp);
	}
	if (rc == 0)
		rc = check_combination(o, duration_given);
	free(rp.body);
	return rc;
}

void hp_bench_opts_fini(struct hp_bench_opts *o)
{
	for (size_t i = 0; i < o->ntargets; i++)
		hp_bench_target_fini(&o->targets[i]);
	free(o->targets);
	free(o->stages);
	hp_budget_fini(&o->budget);
	hp_budget_fini(&o->find_max);
	hp_bench_rules_fini(&o->rules);
	*o = (struct hp_bench_opts){0};
}

void hp_bench_opts_usage(FILE *out)
{
	fputs(
	    "usage: hotpath bench [options] URL [URL@WEIGHT ...]\n"
	    "       hotpath bench [options] --scenario FILE\n"
	    "       hotpath bench compare BASE.json NEW.json\n"
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
	    "      --scenario FILE   named requests from a JSON file (method, url, headers,\n"
	    "                        body, weight, think); results per request name\n"
	    "      --timeout D       per-request timeout (default 10s)\n"
	    "      --no-keepalive    one request per connection\n"
	    "      --spin-us N       poll up to N us before sleeping (default 0 = never):\n"
	    "                        saves a wake-up per round trip, burns CPU when idle\n"
	    "      --copy-body       read every body byte into memory; by default the part of a\n"
	    "                        Content-Length body past the first read is discarded in\n"
	    "                        the kernel (recv MSG_TRUNC), counted but never copied\n"
	    "      --warmup D        run D before measuring (not counted)\n"
	    "      --stages LIST     ramp linearly from target to target, e.g.\n"
	    "                        \"10s:100,30s:1000,10s:0\" (req/s) or\n"
	    "                        \"10s:50c,1m:50c\" (connections)\n"
	    "      --profile P       baseline, stress, spike or soak around the rate -R;\n"
	    "                        -d sets the total length (docs/bench.md)\n"
	    "      --assert EXPR     budget, e.g. \"p95<200ms,p99<500ms,success>=99%,rps>=1000\";\n"
	    "                        metrics pN min mean max stdev (us|ms|s), success\n"
	    "                        error_rate hit_ratio (%), rps errors\n"
	    "      --budgets FILE    check the alert rules (alerts.rules) of a hotpath\n"
	    "                        configuration on the run: budgets must hold, alert\n"
	    "                        expressions must not (docs/observability.md)\n"
	    "      --find-max EXPR   search the highest constant rate that meets EXPR\n"
	    "      --json FILE       write every figure and the timeline as JSON\n"
	    "      --html FILE       write a self-contained report page with charts\n"
	    "      --quiet           no live progress line\n"
	    "\n"
	    "URL@WEIGHT spreads requests over several URLs by weight (default 1).\n"
	    "Exit: 0 ok, 1 a budget clause failed (compare: a regression), 2 usage error,\n"
	    "3 target unreachable.\n",
	    out);
}
