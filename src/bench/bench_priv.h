/* SPDX-License-Identifier: MIT */
/*
 * bench_priv.h - what the files of the load generator share: the parsed
 * command line (opts.c), the budget language (budget.c), the engine that
 * runs one load test (engine.c) and the reports (report.c, html.c).
 *
 * Units: latencies in microseconds, times in nanoseconds on the monotonic
 * clock, rates in requests per second (double), sizes in bytes.
 */
#ifndef HP_BENCH_BENCH_PRIV_H
#define HP_BENCH_BENCH_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "core/hist.h"

#define HP_BENCH_HIST_MAX_US 3600000000ull /* 1 h */
#define HP_BENCH_HIST_DIGITS 3

/* One URL to load, with its request serialised once. */
struct hp_bench_target {
	char *url;		      /* as given, without @WEIGHT */
	char *hostport;		      /* "host:port" for the connection */
	struct sockaddr_storage addr; /* resolved hostport */
	socklen_t addrlen;
	unsigned weight; /* share of requests, >= 1 */
	char *req;	 /* the whole request: head and body */
	size_t req_len;	 /* bytes at req */
};

/* A stage ramps linearly from the previous stage's target (0 for the
 * first) to <target> over <duration_ns>, as k6 stages do. */
struct hp_bench_stage {
	uint64_t duration_ns;
	double target; /* req/s, or connections with a 'c' suffix */
};

enum hp_bench_metric {
	HP_BM_PCT, /* latency percentile (<pct>) */
	HP_BM_MIN,
	HP_BM_MEAN,
	HP_BM_MAX,
	HP_BM_STDEV,
	HP_BM_RPS,	  /* responses per second */
	HP_BM_SUCCESS,	  /* % of attempts answered 2xx or 3xx */
	HP_BM_ERROR_RATE, /* % of attempts that failed at the socket level or were 5xx */
	HP_BM_ERRORS,	  /* count of socket-level errors */
	HP_BM_HIT_RATIO,  /* % of cache-labelled responses that were hits */
};

enum hp_bench_op { HP_OP_LT, HP_OP_LE, HP_OP_GT, HP_OP_GE };

/* One clause of --assert, e.g. "p99<500ms". Latencies are held in us and
 * percentages as 0..100. */
struct hp_bench_clause {
	enum hp_bench_metric metric;
	double pct; /* HP_BM_PCT: which percentile */
	enum hp_bench_op op;
	double value;  /* bound in the metric's unit */
	char text[48]; /* the clause as written, for reports */
};

struct hp_bench_budget {
	struct hp_bench_clause *clauses;
	size_t n;
};

enum hp_bench_err {
	HP_BERR_CONNECT, /* refused, unreachable, connect timeout */
	HP_BERR_READ,	 /* reset or closed before the response completed */
	HP_BERR_WRITE,	 /* reset or EPIPE while sending */
	HP_BERR_TIMEOUT, /* no complete response within --timeout */
	HP_BERR_PARSE,	 /* malformed response or framing */
	HP_BENCH_ERR_N
};

enum hp_bench_cache { HP_BCACHE_HIT, HP_BCACHE_MISS, HP_BCACHE_STALE, HP_BCACHE_N };

/* Everything the command line says about one run. */
struct hp_bench_opts {
	unsigned conns;	      /* -c, connections in all (max over stages) */
	unsigned threads;     /* -t */
	uint64_t duration_ns; /* -d, or the sum of the stages */
	uint64_t requests;    /* -n, 0 for a timed run */
	double rate;	      /* -R, 0 for closed loop */
	uint64_t timeout_ns;  /* --timeout, per request */
	uint64_t warmup_ns;   /* --warmup, before the measured part */
	bool keepalive;
	unsigned spin_us;     /* --spin-us: poll this long before blocking (0 = never) */
	bool copy_body;	      /* --copy-body: read every body byte into user space */
	bool stages_are_conns; /* stage targets are connections, not rates */
	struct hp_bench_stage *stages;
	size_t nstages;
	struct hp_bench_target *targets;
	size_t ntargets;
	struct hp_bench_budget budget;	 /* --assert */
	struct hp_bench_budget find_max; /* --find-max */
	const char *json_path;
	const char *html_path;
	bool quiet; /* no progress line even on a terminal */
};

/* One second of the timeline, counted by completion time. */
struct hp_bench_second {
	uint64_t responses;
	uint64_t errors; /* socket errors plus 5xx */
	uint64_t bytes;
	uint64_t lat_sum_us;
	uint64_t lat_max_us;
};

struct hp_bench_cache_stats {
	uint64_t responses;
	uint64_t bytes;
	struct hp_hist lat; /* us */
};

/* Counters of one thread, and after merging, of the whole run. */
struct hp_bench_stats {
	struct hp_hist lat; /* us, every response */
	uint64_t status[6]; /* by class: [2] is 2xx ... [5] is 5xx */
	uint64_t errors[HP_BENCH_ERR_N];
	uint64_t responses;
	uint64_t bytes;	   /* response bytes read, head and body */
	uint64_t discarded; /* of those, body bytes dropped in the kernel (MSG_TRUNC) */
	uint64_t connects; /* successful connects */
	bool cache_seen;   /* some response carried Cache-Status or X-Cache */
	struct hp_bench_cache_stats cache[HP_BCACHE_N];
	struct hp_bench_second *timeline;
	size_t seconds; /* entries of timeline in use */
	size_t seconds_cap;
};

/* The outcome of one run. */
struct hp_bench_result {
	struct hp_bench_stats st;
	double elapsed_s; /* measured part only */
	double rate;	  /* the constant rate asked for, 0 if none */
	bool unreachable; /* every connect failed: ended early */
	char unreachable_reason[128];
};

/* ==== opts.c ==== */

/* Parse the command line into <o>. Returns 0; 2 after printing a usage
 * error on stderr; -1 after printing the help (-h) on stdout. <o> owns heap
 * memory either way: pair with hp_bench_opts_fini(). */
int hp_bench_opts_parse(struct hp_bench_opts *o, int argc, char **argv);
void hp_bench_opts_fini(struct hp_bench_opts *o);
/* "250ms", "10s", "2m", "1h", "1.5s", "500us"; a bare number means seconds.
 * Returns false if malformed or longer than 30 days. */
bool hp_bench_parse_duration(const char *s, size_t len, uint64_t *out_ns);
/* Parse "10s:100,30s:1000,10s:0" (rates) or "5s:10c,20s:100c" (connections).
 * Returns 0, or -1 with a message in <err> saying where it is wrong. */
int hp_bench_parse_stages(const char *s, struct hp_bench_stage **out, size_t *n, bool *are_conns,
			  char *err, size_t errlen);
/* The stage target in force <t_ns> after the start (linear ramps). */
double hp_bench_stage_value(const struct hp_bench_stage *st, size_t n, uint64_t t_ns);

/* ==== budget.c ==== */

/* Parse "p95<200ms,p99<500ms,success>=99%,rps>=1000". Returns 0, or -1 with
 * a message in <err> naming the column where it is wrong. */
int hp_bench_budget_parse(const char *s, struct hp_bench_budget *b, char *err, size_t errlen);
void hp_bench_budget_fini(struct hp_bench_budget *b);
/* The measured value of <c>'s metric in <r>, in the clause's unit. */
double hp_bench_clause_measure(const struct hp_bench_clause *c, const struct hp_bench_result *r);
bool hp_bench_clause_holds(const struct hp_bench_clause *c, const struct hp_bench_result *r);
/* Number of clauses of <b> that do not hold in <r>. */
size_t hp_bench_budget_violations(const struct hp_bench_budget *b, const struct hp_bench_result *r);

/* ==== engine.c ==== */

/* Run one load test as <o> says, with <rate> req/s (0: closed loop, or the
 * stages). Fills <r> (hp_bench_result_fini() it). <progress> prints a live
 * line on stderr. */
void hp_bench_run(const struct hp_bench_opts *o, double rate, bool progress,
		  struct hp_bench_result *r);

/* ==== stats.c ==== */

void hp_bench_stats_init(struct hp_bench_stats *s);
void hp_bench_stats_fini(struct hp_bench_stats *s);
void hp_bench_stats_merge(struct hp_bench_stats *dst, const struct hp_bench_stats *src);
struct hp_bench_second *hp_bench_stats_second(struct hp_bench_stats *s, size_t idx);
void hp_bench_result_fini(struct hp_bench_result *r);
uint64_t hp_bench_errors_total(const struct hp_bench_stats *s);
/* Responses per second, success and error percentages of a result. */
double hp_bench_rps(const struct hp_bench_result *r);
double hp_bench_success_pct(const struct hp_bench_result *r);
double hp_bench_error_pct(const struct hp_bench_result *r);
double hp_bench_hit_pct(const struct hp_bench_result *r);
/* Classify a response by its Cache-Status (RFC 9211) or X-Cache value. */
int hp_bench_cache_class(const char *value, size_t len, bool rfc9211);

/* ==== report.c, html.c ==== */

extern const char *const hp_bench_err_names[HP_BENCH_ERR_N];
extern const char *const hp_bench_cache_names[HP_BCACHE_N];
void hp_bench_report_text(FILE *out, const struct hp_bench_opts *o,
			  const struct hp_bench_result *r);
/* Write the JSON report; <found_rate> > 0 adds the --find-max outcome.
 * Returns 0 or -errno. */
int hp_bench_report_json(const char *path, const struct hp_bench_opts *o,
			 const struct hp_bench_result *r, double found_rate);
int hp_bench_report_html(const char *path, const struct hp_bench_opts *o,
			 const struct hp_bench_result *r);
/* "812us", "12.3ms", "1.50s" into <buf>. */
const char *hp_bench_fmt_us(double us, char *buf, size_t n);

#endif
