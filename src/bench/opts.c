/* SPDX-License-Identifier: MIT */
/*
 * opts.c - the `hotpath bench` command line: options, URLs with weights,
 * durations and stage lists, and the one-time serialisation of each URL's
 * request. Every mistake is a usage error (exit 2) that names the bad
 * argument, because a load test that silently runs with a misread option
 * produces numbers nobody should trust.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/bench.h"
#include "bench/bench_priv.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/core.h"
#include "net/net.h"

#define MAX_HEADERS 64

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

/* ==== Numbers, durations and stages ==== */

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

bool hp_bench_parse_duration(const char *s, size_t len, uint64_t *out_ns)
{
	char tmp[32];
	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	/* The configuration's rule (config.h), so a bare "30" is refused here as
	 * in files; 30 days caps what bench will run. */
	return hp_config_parse_duration_ns(tmp, out_ns) && *out_ns <= 30ull * 86400 * 1000000000;
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

/* ==== URLs and requests ==== */

/* Split "http://host[:port][/path][@weight]" into <t>; the request is built later. */
static int parse_url(const char *arg, struct hp_bench_target *t, const char **path)
{
	char *url = hp_xstrdup(arg);
	t->url = url;
	t->weight = 1;
	char *at = strrchr(url, '@');
	if (at != NULL && strchr(at, '/') == NULL) {
		unsigned long long w;
		if (!parse_uint(at + 1, 1000000, &w) || w == 0)
			return usage_error("invalid weight in \"%s\": expected URL@N with N >= 1",
					   arg);
		t->weight = (unsigned)w;
		*at = '\0';
	}
	if (strncmp(url, "https://", 8) == 0)
		return usage_error("\"%s\": https is not supported; put hotpath's plain "
				   "HTTP listener in front",
				   arg);
	if (strncmp(url, "http://", 7) != 0)
		return usage_error("invalid URL \"%s\": expected http://host[:port]/path", arg);
	const char *host = url + 7;
	const char *slash = strchr(host, '/');
	size_t hlen = slash ? (size_t)(slash - host) : strlen(host);
	*path = slash ? slash : "/";
	if (hlen == 0 || memchr(host, '@', hlen) || memchr(host, '?', hlen))
		return usage_error("invalid URL \"%s\": missing or invalid host", arg);
	const char *rb = host[0] == '[' ? memchr(host, ']', hlen) : NULL;
	const char *colon = memrchr(rb ? rb : host, ':', hlen - (size_t)((rb ? rb : host) - host));
	struct hp_buf hp = {0};
	hp_buf_append(&hp, host, hlen);
	if (colon == NULL)
		hp_buf_append_str(&hp, ":80");
	hp_buf_append(&hp, "", 1);
	t->hostport = hp.base;
	char err[128] = "";
	if (hp_net_resolve(t->hostport, &t->addr, &t->addrlen, err, sizeof(err)) < 0)
		return usage_error("invalid URL \"%s\": %s", arg, err);
	return 0;
}

static bool has_header(const struct req_parts *rp, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < rp->nheaders; i++)
		if (strncasecmp(rp->headers[i], name, n) == 0 && rp->headers[i][n] == ':')
			return true;
	return false;
}

static void build_request(struct hp_bench_target *t, const char *path, const struct req_parts *rp,
			  bool keepalive)
{
	struct hp_buf b = {0};
	const char *host = t->url + 7;
	size_t hlen = strcspn(host, "/");
	char line[64];
	hp_buf_append_str(&b, rp->method);
	hp_buf_append_str(&b, " ");
	hp_buf_append_str(&b, path);
	hp_buf_append_str(&b, " HTTP/1.1\r\n");
	if (!has_header(rp, "host")) {
		hp_buf_append_str(&b, "Host: ");
		hp_buf_append(&b, host, hlen);
		hp_buf_append_str(&b, "\r\n");
	}
	if (!has_header(rp, "user-agent"))
		hp_buf_append_str(&b, "User-Agent: hotpath-bench\r\n");
	if (!keepalive)
		hp_buf_append_str(&b, "Connection: close\r\n");
	for (size_t i = 0; i < rp->nheaders; i++) {
		hp_buf_append_str(&b, rp->headers[i]);
		hp_buf_append_str(&b, "\r\n");
	}
	if (rp->body != NULL) {
		snprintf(line, sizeof(line), "Content-Length: %zu\r\n", rp->body_len);
		hp_buf_append_str(&b, line);
	}
	hp_buf_append_str(&b, "\r\n");
	if (rp->body != NULL)
		hp_buf_append(&b, rp->body, rp->body_len);
	/* NUL-terminated for readers that print it; req_len excludes the NUL. */
	hp_buf_append(&b, "", 1);
	t->req = b.base;
	t->req_len = b.len - 1;
}

static bool valid_header(const char *h)
{
	const char *colon = strchr(h, ':');
	if (colon == NULL || colon == h || strpbrk(h, "\r\n") != NULL)
		return false;
	for (const char *p = h; p < colon; p++)
		if (*p <= ' ' || *p >= 127 || strchr("\"(),/:;<=>?@[\\]{}", *p))
			return false;
	return true;
}

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

/* ==== Options ==== */

enum {
	OPT_BODY_FILE = 256,
	OPT_TIMEOUT,
	OPT_NO_KEEPALIVE,
	OPT_SPIN_US,
	OPT_COPY_BODY,
	OPT_WARMUP,
	OPT_STAGES,
	OPT_ASSERT,
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
    {"assert", required_argument, NULL, OPT_ASSERT},
    {"find-max", required_argument, NULL, OPT_FIND_MAX},
    {"json", required_argument, NULL, OPT_JSON},
    {"html", required_argument, NULL, OPT_HTML},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int set_duration(const char *name, const char *arg, uint64_t *out)
{
	if (!hp_bench_parse_duration(arg, strlen(arg), out) || *out == 0)
		return usage_error("%s: expected " HP_CONFIG_DURATION_HINT ", got \"%s\"", name, arg);
	return 0;
}

static int set_budget(const char *name, const char *arg, struct hp_bench_budget *b)
{
	char err[256];
	hp_bench_budget_fini(b);
	if (hp_bench_budget_parse(arg, b, err, sizeof(err)) < 0)
		return usage_error("%s: %s", name, err);
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

/* One option; returns 0 or the exit code of a usage error. */
static int take_option(struct hp_bench_opts *o, struct req_parts *rp, int c, const char *arg)
{
	unsigned long long v;
	int rc = 0;
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
		if (*arg == '\0' || strpbrk(arg, " \t\r\n"))
			return usage_error("-m: invalid method \"%s\"", arg);
		rp->method = arg;
		return 0;
	case 'H':
		if (!valid_header(arg))
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
	case OPT_BODY_FILE:
		return read_body_file(arg, rp);
	case OPT_TIMEOUT:
		return set_duration("--timeout", arg, &o->timeout_ns);
	case OPT_NO_KEEPALIVE:
		o->keepalive = false;
		return 0;
	case OPT_SPIN_US: {
		unsigned long long us;
		if (!parse_uint(arg, 100000, &us))
			return usage_error("--spin-us: expected microseconds from 0 to 100000, got \"%s\"",
					   arg);
		o->spin_us = (unsigned)us;
		return 0;
	}
	case OPT_COPY_BODY:
		o->copy_body = true;
		return 0;
	case OPT_WARMUP:
		return set_duration("--warmup", arg, &o->warmup_ns);
	case OPT_STAGES:
		return set_stages(o, arg);
	case OPT_ASSERT:
		return set_budget("--assert", arg, &o->budget);
	case OPT_FIND_MAX:
		return set_budget("--find-max", arg, &o->find_max);
	case OPT_JSON:
		o->json_path = arg;
		return 0;
	case OPT_HTML:
		o->html_path = arg;
		return 0;
	case OPT_QUIET:
		o->quiet = true;
		return 0;
	default:
		return 2;
	}
}

/* Combinations that cannot mean anything. */
static int check_combination(struct hp_bench_opts *o, uint64_t duration_given)
{
	if (o->ntargets == 0)
		return usage_error("no URL given");
	if (duration_given && o->requests)
		return usage_error("-d and -n exclude each other");
	if (o->nstages && (duration_given || o->requests))
		return usage_error("--stages sets the duration; drop -d and -n");
	if (o->nstages && o->rate > 0)
		return usage_error("--stages and -R exclude each other");
	if (o->find_max.n && (o->rate > 0 || o->nstages || o->requests))
		return usage_error("--find-max chooses the rate itself; drop -R, -n and --stages");
	if (o->nstages) {
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
	}
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
	    .spin_us = 50,
	};
}

static int take_urls(struct hp_bench_opts *o, int first, int argc, char **argv,
		     const struct req_parts *rp)
{
	o->ntargets = 0;
	o->targets = hp_xcalloc((size_t)(argc - first) + 1, sizeof(*o->targets));
	for (int i = first; i < argc; i++) {
		struct hp_bench_target *t = &o->targets[o->ntargets++];
		const char *path = "/";
		int rc = parse_url(argv[i], t, &path);
		if (rc != 0)
			return rc;
		build_request(t, path, rp, o->keepalive);
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
			hp_bench_usage(stdout);
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
	if (rc == 0 && rp.body != NULL && strcmp(rp.method, "GET") == 0)
		rp.method = "POST";
	if (rc == 0)
		rc = take_urls(o, optind, argc, argv, &rp);
	if (rc == 0)
		rc = check_combination(o, duration_given);
	free(rp.body);
	return rc;
}

void hp_bench_opts_fini(struct hp_bench_opts *o)
{
	for (size_t i = 0; i < o->ntargets; i++) {
		free(o->targets[i].url);
		free(o->targets[i].hostport);
		free(o->targets[i].req);
	}
	free(o->targets);
	free(o->stages);
	hp_bench_budget_fini(&o->budget);
	hp_bench_budget_fini(&o->find_max);
	*o = (struct hp_bench_opts){0};
}
