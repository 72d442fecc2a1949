/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the counters of a load test and the figures derived from them.
 * The lowest layer of the bench: it knows nothing of options or sockets.
 *
 * Each engine thread fills its own struct hp_bench_stats with no locking,
 * and the run merges them once at the end. Besides the whole-run latency
 * histogram there is one per request name (scenario files, URL@WEIGHT) and
 * a small one per second of the timeline, so reports can draw percentiles
 * over time and `bench compare` can estimate a run's own noise.
 *
 * Definitions the budgets rely on: an attempt is a response or a
 * socket-level error; success is 2xx or 3xx over attempts; the error rate
 * counts socket errors and 5xx over attempts.
 *
 * Units: latencies in microseconds, rates in requests per second (double),
 * sizes in bytes, CPU in seconds.
 */
#ifndef HP_BENCH_STATS_H
#define HP_BENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hist.h"

#define HP_BENCH_HIST_MAX_US 3600000000ull /* 1 h */
#define HP_BENCH_HIST_DIGITS 3
/* Per-second histograms: 2 digits (1 %) keep one at 28 KiB, so an hour-long
 * soak costs ~100 MiB per thread rather than 650 MiB. */
#define HP_BENCH_SECOND_DIGITS 2

enum hp_bench_err {
	HP_BERR_CONNECT, /* refused, unreachable, connect timeout */
	HP_BERR_READ,	 /* reset or closed before the response completed */
	HP_BERR_WRITE,	 /* reset or EPIPE while sending */
	HP_BERR_TIMEOUT, /* no complete response within --timeout */
	HP_BERR_PARSE,	 /* malformed response or framing */
	HP_BENCH_ERR_N
};

enum hp_bench_cache { HP_BCACHE_HIT, HP_BCACHE_MISS, HP_BCACHE_STALE, HP_BCACHE_N };

extern const char *const hp_bench_err_names[HP_BENCH_ERR_N];
extern const char *const hp_bench_cache_names[HP_BCACHE_N];

/* One second of the timeline, counted by completion time. */
struct hp_bench_second {
	uint64_t responses;
	uint64_t errors; /* socket errors plus 5xx */
	uint64_t bytes;
	uint64_t lat_sum_us;
	uint64_t lat_max_us;
	struct hp_hist lat; /* us, HP_BENCH_SECOND_DIGITS */
};

struct hp_bench_cache_stats {
	uint64_t responses;
	uint64_t bytes;
	struct hp_hist lat; /* us */
};

/* The counters of one named request (or URL). */
struct hp_bench_req_stats {
	uint64_t responses;
	uint64_t status[6];	      /* by class, as in hp_bench_stats */
	uint64_t errors;	      /* socket-level errors */
	uint64_t cache[HP_BCACHE_N];  /* responses by cache label */
	struct hp_hist lat;	      /* us */
};

/* Counters of one thread, and after merging, of the whole run. */
struct hp_bench_stats {
	struct hp_hist lat; /* us, every response */
	uint64_t status[6]; /* by class: [2] is 2xx ... [5] is 5xx, [0] other */
	uint64_t errors[HP_BENCH_ERR_N];
	uint64_t responses;
	uint64_t bytes;	    /* response bytes read, head and body */
	uint64_t discarded; /* of those, body bytes dropped in the kernel (MSG_TRUNC) */
	uint64_t connects;  /* successful connects */
	bool cache_seen;    /* some response carried Cache-Status or X-Cache */
	struct hp_bench_cache_stats cache[HP_BCACHE_N];
	struct hp_bench_req_stats *reqs; /* nreqs entries, one per target */
	size_t nreqs;
	struct hp_bench_second *timeline;
	size_t seconds; /* entries of timeline in use (their hists initialised) */
	size_t seconds_cap;
};

/* The outcome of one run. */
struct hp_bench_result {
	struct hp_bench_stats st;
	double elapsed_s; /* measured part only */
	double rate;	  /* the constant rate asked for, 0 if none */
	double wall_s;	  /* the whole run, warm-up included */
	double cpu_s;	  /* user + system CPU of the bench process over wall_s */
	bool unreachable; /* every connect failed: ended early */
	char unreachable_reason[128];
};

/* Set up <s> for <nreqs> request names (>= 1). Allocates; pair with
 * hp_bench_stats_fini(). */
void hp_bench_stats_init(struct hp_bench_stats *s, size_t nreqs);
void hp_bench_stats_fini(struct hp_bench_stats *s);
/* Add <src> into <dst>; both were initialised with the same nreqs. */
void hp_bench_stats_merge(struct hp_bench_stats *dst, const struct hp_bench_stats *src);
/* Second <idx> of the timeline, growing it (never NULL). */
struct hp_bench_second *hp_bench_stats_second(struct hp_bench_stats *s, size_t idx);
void hp_bench_result_fini(struct hp_bench_result *r);
uint64_t hp_bench_errors_total(const struct hp_bench_stats *s);
/* Responses per second, success, error and hit percentages of a result;
 * 0 when there is nothing to divide by. */
double hp_bench_rps(const struct hp_bench_result *r);
double hp_bench_success_pct(const struct hp_bench_result *r);
double hp_bench_error_pct(const struct hp_bench_result *r);
double hp_bench_hit_pct(const struct hp_bench_result *r);
/* Percent of one core the bench process used over the whole run. */
double hp_bench_cpu_pct(const struct hp_bench_result *r);
/* Classify a response by its Cache-Status (RFC 9211, <rfc9211>) or X-Cache
 * value: an HP_BCACHE_* value, or -1 when the value says neither. */
int hp_bench_cache_class(const char *value, size_t len, bool rfc9211);
/* "812us", "12.3ms", "1.50s" into <buf> of <n> bytes; returns <buf>. */
const char *hp_bench_fmt_us(double us, char *buf, size_t n);

#endif
