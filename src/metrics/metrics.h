/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - counters, gauges and latency histograms, exported in the
 * Prometheus text format. Every metric is a row of metrics_tbl.h.
 *
 * Each worker owns one shard and is its only writer: recording a request
 * is a few relaxed atomic loads and stores on the worker's own cache lines,
 * with no lock, no allocation and no read-modify-write another thread
 * shares. A scrape (hp_metrics_write(), on any thread) reads every shard
 * with relaxed loads and merges them, so it never stops a worker; a series
 * may be one request behind another in the same scrape, never torn.
 *
 * Per-route series are kept by route name, not by route: a shard interns
 * each name it is given into a slot that lives as long as the shard, so a
 * reload that frees the route table leaves nothing for a scrape to trip on,
 * a route that survives a reload keeps its counters, and Prometheus never
 * sees a counter go backwards. A shard tells apart at most
 * HP_METRICS_MAX_ROUTES names; later names share the slot "other", which
 * bounds the series (and the memory: ~64 KiB a name) whatever reloads do.
 * Slot 0 is "none": requests answered before a route was chosen.
 */
#ifndef HP_METRICS_METRICS_H
#define HP_METRICS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hp_buf;
struct hp_metrics_shard;

#define HP_METRICS_MAX_ROUTES 256 /* names a shard tells apart, "none" and "other" included */
#define HP_METRICS_NAME_MAX 64    /* longer route names are cut to this many bytes - 1 */
#define HP_METRICS_ROUTE_NONE 0u  /* the slot of requests without a route */

/* The method label: bounded, anything else is OTHER. */
enum hp_metrics_method {
	HP_METRICS_GET,
	HP_METRICS_HEAD,
	HP_METRICS_POST,
	HP_METRICS_PUT,
	HP_METRICS_DELETE,
	HP_METRICS_PATCH,
	HP_METRICS_OTHER,
	HP_METRICS_NMETHODS,
};

/* The cache label: how the cache took part (the X-Cache value, or none). */
enum hp_metrics_cache {
	HP_METRICS_HIT,
	HP_METRICS_MISS,
	HP_METRICS_STALE,
	HP_METRICS_COALESCED,
	HP_METRICS_REVALIDATED,
	HP_METRICS_PASS,
	HP_METRICS_NONE,
	HP_METRICS_NCACHE,
};

/* The outcome label: what a route's rate limit did to a request. NONE is
 * 0 so that a zeroed request counts nowhere; its counter is never shown. */
enum hp_metrics_limit {
	HP_METRICS_LIMIT_NONE,         /* let through at once, or no limit */
	HP_METRICS_LIMIT_REJECTED,     /* answered 429 over the rate */
	HP_METRICS_LIMIT_DELAYED,      /* served after waiting until due (delay mode) */
	HP_METRICS_LIMIT_CONCURRENCY,  /* answered 429: too many of its key in flight */
	HP_METRICS_NLIMIT,
};

/* One finished request, as the proxy's log step describes it. */
struct hp_metrics_request {
	unsigned route;                /* slot from hp_metrics_route() */
	enum hp_metrics_method method;
	int status;                    /* the response status; its class is the label */
	enum hp_metrics_cache cache;
	uint64_t duration_us;          /* head complete to response out */
	bool upstream;                 /* a response head came from upstream */
	uint64_t upstream_us;          /* request sent to response head, when upstream */
	uint64_t bytes_out;            /* response bytes given to the client */
	uint64_t compress_in;          /* body bytes this response's compressor took */
	uint64_t compress_out;         /* bytes it made of them */
	enum hp_metrics_limit limit;   /* what the route's rate limit did (NONE: nothing) */
};

/* One upstream server's figures, read by the caller when a scrape starts:
 * the table's UPSTREAM and UPSTREAM_GROUP rows. Entries of one group are
 * adjacent; a group's UPSTREAM_GROUP values are read from its first entry. */
struct hp_metrics_upstream {
	const char *group;             /* the group's name (label group) */
	const char *server;            /* the server's address (label server) */
#define HP_METRIC(field, name, type, kind, labels, help) HP_METRICS_UP_##kind(field)
#define HP_METRICS_UP_ROUTE_REQ(field)
#define HP_METRICS_UP_ROUTE_HIST(field)
#define HP_METRICS_UP_WORKER(field)
#define HP_METRICS_UP_SCRAPE(field)
#define HP_METRICS_UP_INFO(field)
#define HP_METRICS_UP_ALERT(field)
#define HP_METRICS_UP_ROUTE_LIMIT(field)
#define HP_METRICS_UP_UPSTREAM(field) double field;
#define HP_METRICS_UP_UPSTREAM_GROUP(field) double field;
#define HP_METRICS_UP_ALERT(field)
#include "metrics/metrics_tbl.h"
#undef HP_METRIC
};

/* An alert rule's state for the ALERT rows. */
struct hp_metrics_alert {
	const char *name;              /* label alert */
	bool firing;
};

/* What the caller reads when a scrape starts: the table's SCRAPE rows. */
struct hp_metrics_values {
#define HP_METRIC(field, name, type, kind, labels, help) HP_METRICS_VALUE_##kind(field)
#define HP_METRICS_VALUE_ROUTE_REQ(field)
#define HP_METRICS_VALUE_ROUTE_HIST(field)
#define HP_METRICS_VALUE_WORKER(field)
#define HP_METRICS_VALUE_INFO(field)
#define HP_METRICS_VALUE_ALERT(field)
#define HP_METRICS_VALUE_ROUTE_LIMIT(field)
#define HP_METRICS_VALUE_UPSTREAM(field)
#define HP_METRICS_VALUE_UPSTREAM_GROUP(field)
#define HP_METRICS_VALUE_SCRAPE(field) double field;
#include "metrics/metrics_tbl.h"
#undef HP_METRIC
	const char *version;           /* build_info's label */
	const struct hp_metrics_upstream *upstreams; /* borrowed; nupstreams entries */
	size_t nupstreams;
	const struct hp_metrics_alert *alerts; /* borrowed; nalerts entries */
	size_t nalerts;
};

/* A shard with the slot "none". Allocates (never fails); the creating
 * thread or the one it hands the shard to is its owner. */
struct hp_metrics_shard *hp_metrics_shard_create(void);
/* Free <s>; nobody may record into or scrape it any more. NULL is allowed. */
void hp_metrics_shard_destroy(struct hp_metrics_shard *s);
/* Owner only. The slot of route name <name>: the existing one, a new one
 * (allocates: call it when a route table is adopted, not per request), or
 * "other" once the shard is full. */
unsigned hp_metrics_route(struct hp_metrics_shard *s, const char *name);
/* Owner only. Count request <r>: no allocation, no lock. */
void hp_metrics_record(struct hp_metrics_shard *s, const struct hp_metrics_request *r);

/* Owner only. Count a connection closed at accept for its client's
 * limits.max_conns_per_client. */
void hp_metrics_count_conn_rejected(struct hp_metrics_shard *s);

/* Owner only. Count <n> bytes read from a client: no allocation, no lock. */
void hp_metrics_count_bytes_in(struct hp_metrics_shard *s, uint64_t n);

/* ==== Windowed figures ==== */

/* A window's figures, for one route name or all together. */
struct hp_metrics_figures {
	double seconds;                /* the span they cover (shorter after start) */
	uint64_t requests;
	uint64_t errors;               /* 5xx responses */
	uint64_t hits;                 /* cache hit, stale, coalesced or revalidated */
	uint64_t lookups;              /* hits and misses (pass and none left out) */
	double rps;                    /* requests / seconds */
	double error_rate;             /* errors / requests, 0..1; 0 without requests */
	double hit_ratio;              /* hits / lookups, 0..1; 0 without lookups */
	double p50_ms;                 /* request duration quantiles: the upper edge */
	double p95_ms;                 /* of a bucket 1/16 of its value wide at most, */
	double p99_ms;                 /* so 0 to +6.25 % above the exact value */
	double hit_p95_ms;             /* the same of cache hits alone (hit, stale) */
	double hit_p99_ms;
	double cpu_pct;                /* process CPU, percent of one CPU (all routes) */
};

struct hp_metrics_window;

/* The series of durations a window keeps per route. */
enum hp_metrics_series {
	HP_METRICS_ALL,                /* every request (request_duration) */
	HP_METRICS_HITS,               /* served from the cache alone (hit_duration) */
	HP_METRICS_NSERIES,
};

/* A ring of per-second snapshots of <n> <shards> (borrowed: they must
 * outlive the window). Allocates (never fails). */
struct hp_metrics_window *hp_metrics_window_create(struct hp_metrics_shard *const *shards,
						   size_t n);
void hp_metrics_window_destroy(struct hp_metrics_window *w);
/* One second has passed: read the shards (relaxed loads, while their
 * owners record) and keep what changed since the last tick, with the
 * process's CPU time <cpu_seconds>. One thread ticks; reads may come from
 * others (a mutex between them, never taken by a worker). */
void hp_metrics_window_tick(struct hp_metrics_window *w, double cpu_seconds);
/* Figures over the last <seconds> (60 or 300: up to 60 is kept by the
 * second, beyond by ten seconds, up to 300) for route name <route>, or
 * every route with NULL. False if no route of that name has been seen. */
bool hp_metrics_window_read(struct hp_metrics_window *w, const char *route, unsigned seconds,
			    struct hp_metrics_figures *f);
/* The <pct> percentile of <series>' durations over the same span, in us
 * (the bucket's upper edge, as p50_ms and the others); 0 without data. */
double hp_metrics_window_quantile_us(struct hp_metrics_window *w, const char *route,
				     unsigned seconds, enum hp_metrics_series series, double pct);
/* Up to <max> route names seen so far, in first-seen order; they live as
 * long as <w>. Returns how many. */
size_t hp_metrics_window_names(struct hp_metrics_window *w, const char **names, size_t max);

/* Fill the process_* fields of <v> from /proc and getrusage (Linux). */
void hp_metrics_read_process(struct hp_metrics_values *v);
/* Any thread, while the owners record: append the exposition (text format
 * 0.0.4) of the <n> <shards>, merged by route name, and of <v>, to <out>. */
void hp_metrics_write(struct hp_metrics_shard *const *shards, size_t n,
		      const struct hp_metrics_values *v, struct hp_buf *out);
/* Any thread, while the owners record: the rate-limit outcomes of route
 * name <name> summed over the <n> <shards> into <out> (zeros when the name
 * is unknown), for /status. */
void hp_metrics_route_limits(struct hp_metrics_shard *const *shards, size_t n, const char *name,
			     uint64_t out[HP_METRICS_NLIMIT]);
/* The Markdown table of every metric, as docs/metrics.md holds it; free()
 * the result. */
char *hp_metrics_doc(void);
/* The process's start, in seconds since the epoch (/proc/self/stat: to a
 * clock tick); 0 if unknown. */
double hp_metrics_process_start_time(void);

#endif
